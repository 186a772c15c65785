# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: audit
type: notification
short_description: Append one JSON line per run to the deployment audit log
description:
  - At the end of every playbook run, successful or not, appends a line to the audit log with the time, the
    playbook, the network, the operator (the AWX user when AWX runs the job), the contracts of the run, the
    approvers, the git commit, whether it ran in check mode (C(--check), which sends and writes nothing) and the
    outcome (with the failed tasks, if any).
  - The log defaults to C(deployments/audit.jsonl) beside the playbooks; C(tonsurance_audit_log) moves it.
  - Approvers come from the C(approvers) variable (a list or a comma-separated string).
  - Values of variables are never written, only the names listed above; secrets cannot reach the log.
version_added: 0.1.0
requirements:
  - enable in ansible.cfg with C(callbacks_enabled = tonsurance.deploy.audit)
"""

import datetime
import getpass
import json
import os
import subprocess

from ansible import context
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "tonsurance.deploy.audit"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.playbook = None
        self.play = None
        self.failed_tasks = []

    def v2_playbook_on_start(self, playbook):
        self.playbook = playbook._file_name

    def v2_playbook_on_play_start(self, play):
        self.play = play

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            self.failed_tasks.append(f"{result._host.get_name()}: {result._task.get_name()}")

    def v2_runner_on_unreachable(self, result):
        self.failed_tasks.append(f"{result._host.get_name()}: {result._task.get_name()} (unreachable)")

    def _variables(self):
        if self.play is None:
            return {}, {}
        manager = self.play.get_variable_manager()
        hosts = self.play.get_variable_manager()._inventory.get_hosts(self.play.hosts) if manager else []
        host_vars = manager.get_vars(play=self.play, host=hosts[0]) if hosts else {}
        return host_vars, getattr(manager, "extra_vars", {}) or {}

    def v2_playbook_on_stats(self, stats):
        try:
            host_vars, extra = self._variables()
        except Exception:  # the audit must never hide the run's own outcome
            host_vars, extra = {}, {}
        failed = any(stats.summarize(h)["failures"] or stats.summarize(h)["unreachable"] for h in stats.processed)
        path = host_vars.get("tonsurance_audit_log") or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(self.playbook or "."))), "deployments", "audit.jsonl")
        entry = {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "playbook": os.path.basename(self.playbook or ""),
            "network": _plain(host_vars.get("tonsurance_network")),
            "operator": _operator(extra),
            "approvers": _approvers(extra.get("approvers", host_vars.get("approvers"))),
            "contracts": _contracts(host_vars.get("contracts_deployed")),
            "commit": _commit(os.path.dirname(os.path.abspath(self.playbook or "."))),
            "check_mode": bool(context.CLIARGS.get("check", False)),
            "outcome": "failed" if failed else "success",
            "failed_tasks": self.failed_tasks,
        }
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, sort_keys=True) + "\n")
        except OSError as exc:
            self._display.warning(f"audit: could not append to {path}: {exc}")


def _plain(value):
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _operator(extra):
    for key in ("awx_user_name", "tower_user_name"):
        if extra.get(key):
            return f"awx:{extra[key]}"
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _approvers(value):
    if not value:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _contracts(entries):
    """Label, address and code hash of each contract the run handled (never anything else)."""
    if not isinstance(entries, list):
        return []
    keep = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("label") and entry.get("address"):
            keep.append({"label": str(entry["label"]), "address": str(entry["address"]),
                         "code_hash": str(entry.get("code_hash", "")), "action": str(entry.get("action", ""))})
    return keep


def _commit(directory):
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
