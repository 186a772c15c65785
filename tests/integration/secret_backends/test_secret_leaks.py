"""The local deploy at -vvvv with --diff never shows, logs or writes a secret it handled.

Marker values are planted in the local store: the deployer mnemonic (it signs every deploy) and
API keys and a password that the preflight fetches through the lookup. Afterwards every byte the
runs printed, logged or left on disk is searched for them, except the 0600 store that holds them.
"""

import os
import secrets as pysecrets
import subprocess

import pytest
from pytoniq_core.crypto.keys import mnemonic_new, mnemonic_to_private_key

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local

from conftest import BIN, REPO, ansible_env, playbook


def markers(words, others):
    """Every form a leak could take: the phrase, runs of its words, the keys, the plain markers."""
    found = {" ".join(words), ",".join(words), '", "'.join(words[:3]), "', '".join(words[:3])}
    found |= {" ".join(words[i:i + 3]) for i in range(len(words) - 2)}
    public, private = mnemonic_to_private_key(words)
    found |= {private.hex(), private[:32].hex()}
    found |= set(others)
    return found


def scan(text, needles):
    return sorted({needle for needle in needles if needle in text})


def files_under(*roots, skip=()):
    for root in roots:
        for folder, _subfolders, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                # Regular files only: PostgreSQL's unix socket and lock live in the state directory too.
                if os.path.realpath(path) not in skip and os.path.isfile(path) and not os.path.islink(path):
                    yield path


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("leak"))
    state = os.path.join(workdir, "state")
    store = os.path.join(state, "secrets.json")
    words = mnemonic_new(24)
    api_key = "mk-api-" + pysecrets.token_hex(16)
    password = "mk-pw-" + pysecrets.token_hex(16)
    local.write(store, {"deployer_mnemonic": " ".join(words), "pricing_api_key": api_key,
                        "database": {"primary": {"password": password}}})
    catalog = {
        "pricing_api_key": {"backend": "local", "name": "pricing_api_key", "kind": "api_key"},
        "database_password": {"backend": "local", "name": "database", "key": "primary.password",
                              "kind": "database_password"},
    }
    dirs = {name: os.path.join(workdir, name) for name in ("local-tmp", "remote-tmp", "ansible-home")}
    log = os.path.join(workdir, "ansible.log")
    env = dict(ANSIBLE_LOG_PATH=log, ANSIBLE_LOCAL_TEMP=dirs["local-tmp"],
               ANSIBLE_REMOTE_TMP=dirs["remote-tmp"], ANSIBLE_HOME=dirs["ansible-home"])
    variables = {"tonsurance_state_dir": state, "deployment_record_directory": os.path.join(workdir, "deployments"),
                 "tonsurance_shard_count": 4, "tonsurance_secrets": catalog}

    # The operator's view: the default callback, cold deploy.
    import json
    first = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "deploy.yml"),
         "-i", os.path.join(REPO, "inventories", "local"), "-e", json.dumps(variables), "-vvvv", "--diff"],
        cwd=REPO, env=ansible_env(dict(env, ANSIBLE_STDOUT_CALLBACK="default")), capture_output=True, text=True,
        timeout=900, check=False)
    # Every result in full: the JSON callback, second (no-op) run.
    second = playbook(workdir, "-vvvv", "--diff", shard_count=4,
                      extra_vars={"tonsurance_secrets": catalog, "tonsurance_database_deploy": True}, env=env)
    return dict(workdir=workdir, store=store, log=log, dirs=dirs, first=first, second=second,
                needles=markers(words, [api_key, password]), words=words)


def test_runs_succeed_and_the_second_changes_nothing(leak_run):
    first, second = leak_run["first"], leak_run["second"]
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "failed=0" in first.stdout and "secret: reading local secret pricing_api_key" in first.stdout
    assert second.rc == 0 and second.stats["changed"] == 0


def test_the_markers_are_findable_where_they_belong(leak_run):
    with open(leak_run["store"], encoding="utf-8") as handle:
        text = handle.read()
    # The search works: the store itself holds the phrase and both markers.
    assert len(scan(text, leak_run["needles"])) >= 3


def test_no_output_shows_a_secret(leak_run):
    first, second = leak_run["first"], leak_run["second"]
    for name, text in (("first stdout", first.stdout), ("first stderr", first.stderr),
                       ("second stdout", second.proc.stdout), ("second stderr", second.proc.stderr)):
        assert scan(text, leak_run["needles"]) == [], name


def test_no_file_holds_a_secret(leak_run):
    workdir = leak_run["workdir"]
    checked = []
    for path in files_under(workdir, skip={os.path.realpath(leak_run["store"])}):
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
        checked.append(os.path.relpath(path, workdir))
        assert scan(text, leak_run["needles"]) == [], path
    # The log, the record and the chain state were among them.
    assert "ansible.log" in checked and any(p.startswith("deployments/") for p in checked)
    assert "state/chain.json" in checked


def test_no_module_was_written_to_disk_with_its_arguments(leak_run):
    # Pipelining sends each module and its arguments (the mnemonic among them) over a pipe; -vvvv
    # would show a PUT of an AnsiballZ file otherwise.
    first = leak_run["first"]
    assert "EXEC" in first.stdout
    assert not [line for line in first.stdout.splitlines() if "PUT " in line and "AnsiballZ" in line]
    remote = leak_run["dirs"]["remote-tmp"]
    assert not any(name.startswith("AnsiballZ") for _folder, _subfolders, names in os.walk(remote) for name in names)
