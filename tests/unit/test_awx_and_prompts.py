"""AWX job templates as code point at real playbooks, and nothing anywhere waits for a keyboard."""

import glob
import os

import yaml

from conftest import REPO


def test_job_templates_name_existing_playbooks_and_the_runbook_schedules():
    with open(os.path.join(REPO, "awx", "configure.yml"), encoding="utf-8") as handle:
        (play,) = yaml.safe_load(handle)
    jobs = {job["name"]: job for job in play["vars"]["awx_jobs"]}
    assert set(jobs) == {"deploy-testnet", "verify-mainnet", "backup-mainnet", "backup-testnet"}
    for job in jobs.values():
        assert os.path.isfile(os.path.join(REPO, job["playbook"])), job["playbook"]
    assert "FREQ=HOURLY;INTERVAL=6" in jobs["backup-mainnet"]["schedule"]
    assert "FREQ=DAILY" in jobs["backup-testnet"]["schedule"]
    # Mainnet runs need the confirmation; the scheduled backup carries it, nobody types it.
    assert jobs["backup-mainnet"]["extra_vars"] == {"confirm_network": "mainnet"}
    template = play["tasks"][0]["awx.awx.job_template"]
    assert not any(value is True for key, value in template.items() if key.startswith("ask_"))


def test_no_play_or_task_prompts():
    for path in glob.glob(os.path.join(REPO, "playbooks", "**", "*.yml"), recursive=True) + glob.glob(
            os.path.join(REPO, "roles", "**", "*.yml"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert "vars_prompt" not in text, path
        for document in yaml.safe_load_all(text):
            for task in document if isinstance(document, list) else []:
                if isinstance(task, dict):
                    pause = task.get("ansible.builtin.pause") or task.get("pause")
                    assert not (isinstance(pause, dict) and "prompt" in pause), path
