"""Shared fixtures: the collection on sys.path, a sandbox chain with a funded wallet, playbook runs."""

import asyncio
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".collections")
ARTIFACTS = os.path.join(REPO, "contracts", "build")
BIN = os.path.dirname(sys.executable)

if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

# The fixtures of the backend and monitoring tests, for the modules that name them as arguments (a
# conftest.py in tests/integration would take this file's place as `conftest` for every later import).
pytest_plugins = ["backend_fixtures", "monitoring_support"]


def run(coro):
    return asyncio.run(coro)


class PlaybookResult:
    def __init__(self, proc, document):
        self.proc = proc
        self.document = document

    @property
    def rc(self):
        return self.proc.returncode

    @property
    def stats(self):
        return self.document.get("stats", {}).get("deployer", {})

    def task_results(self, name_part):
        """Every host result of tasks whose name contains name_part (loop items flattened)."""
        found = []
        for play in self.document.get("plays", []):
            for task in play.get("tasks", []):
                if name_part in task["task"]["name"]:
                    result = task["hosts"].get("deployer", {})
                    found.extend(result.get("results", [result]))
        return found

    def failures(self):
        return [r for play in self.document.get("plays", []) for t in play["tasks"]
                for r in [t["hosts"].get("deployer", {})] if r.get("failed")]


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
        ANSIBLE_STDOUT_CALLBACK="test_json",
        ANSIBLE_CALLBACK_PLUGINS=os.path.join(REPO, "tests", "callback_plugins"),
        ANSIBLE_LOCAL_TEMP=os.path.join(REPO, ".state", "ansible-tmp"),
        ANSIBLE_HOME=os.path.join(REPO, ".state", "ansible-home"),
        ANSIBLE_NOCOLOR="1",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    env.update(extra or {})
    return env


def playbook(workdir, *args, shard_count=16, inventory="local", extra_vars=None, env=None, timeout=900,
             name="deploy.yml"):
    """Run one of playbooks/ against a private state directory under workdir."""
    variables = {
        "tonsurance_state_dir": os.path.join(workdir, "state"),
        "deployment_record_directory": os.path.join(workdir, "deployments"),
        "rollback_records_dir": os.path.join(workdir, "deployments"),
        "rollback_orders_dir": os.path.join(workdir, "deployments", "orders"),
        "tonsurance_audit_log": os.path.join(workdir, "audit.jsonl"),
        "tonsurance_shard_count": shard_count,
        # Most flows test the chain; the database tests and the leak test turn the database back on.
        "tonsurance_database_deploy": False,
    }
    variables.update(extra_vars or {})
    cmd = [
        os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", name),
        "-i", os.path.join(REPO, "inventories", inventory), "-e", json.dumps(variables), *args,
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(env), capture_output=True, text=True, timeout=timeout,
                          check=False)
    start = proc.stdout.find("{")
    document = json.loads(proc.stdout[start:]) if start >= 0 else {}
    return PlaybookResult(proc, document)


def chain_stats(workdir):
    with open(os.path.join(workdir, "state", "chain.json"), encoding="utf-8") as handle:
        return json.load(handle)["stats"]


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _stop_local_databases(tmp_path_factory):
    """Deploys start the local inventory's PostgreSQL under their workdir; stop them all at the end."""
    yield
    from pg_fixtures import stop_servers_under

    stop_servers_under(tmp_path_factory.getbasetemp())


def module(name, args, check_mode=False, diff=False):
    """Run one of the collection's modules the way Ansible does: a JSON argument file, JSON on stdout."""
    import tempfile

    payload = dict(args)
    payload["_ansible_check_mode"] = check_mode
    payload["_ansible_diff"] = diff
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    try:
        env = dict(os.environ, PYTHONPATH=COLLECTIONS)
        path = os.path.join(REPO, "plugins", "modules", f"{name}.py")
        proc = subprocess.run([sys.executable, path, handle.name], env=env, capture_output=True, text=True,
                              timeout=600, check=False)
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"{name} printed no JSON: {proc.stdout[-2000:]} {proc.stderr[-2000:]}") from None


def local_mnemonic(workdir):
    with open(os.path.join(workdir, "state", "secrets.json"), encoding="utf-8") as handle:
        return json.load(handle)["deployer_mnemonic"]
