"""The backend role as an operator runs it: its templates, the deployment record, the emulated cluster
and a real Prometheus. Also: the local deploy skips the backend in one line when no cluster is set."""

import glob
import json
import os
import subprocess

from pytoniq_core import Address

from backend_fixtures import image, record_file
from conftest import BIN, REPO, PlaybookResult, ansible_env, playbook

NAMESPACE = "tonsurance-testnet"
SERVICES = ["ocaml-backend", "api-v2", "websocket-v2", "pricing-keeper", "bridge-health-keeper"]
REPLICAS = {"ocaml-backend": 4, "api-v2": 5, "websocket-v2": 2, "pricing-keeper": 1, "bridge-health-keeper": 1}
V1, V2 = "1.0.0", "1.1.0"
GATE_SERIES = [(NAMESPACE, service, version, "healthy") for service in SERVICES for version in (V1, V2)]
GATE_SERIES.append((NAMESPACE, "api-v2", "1.2.0-errors", "errors"))
SECRETS = {"tonsurance-database": ["url"], "tonsurance-api": ["session-secret"],
           "tonsurance-keeper-wallet": ["mnemonic"], "tonsurance-price-feeds": ["api-key"],
           "tonsurance-bridge-rpc": ["token"]}

PLAY = """\
- name: Deploy the Tonsurance backend
  hosts: tonsurance
  gather_facts: false
  roles:
    - role: tonsurance.deploy.backend
"""
INVENTORY = """\
tonsurance:
  hosts:
    deployer:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


def address(byte):
    return Address("0:" + byte * 32).to_str(is_user_friendly=True, is_bounceable=True, is_test_only=True)


def contracts(oracle):
    entries = [("PricingOracle", oracle), ("MultiTrancheVault", address("c3")), ("PolicyRouter", address("d4")),
               ("PolicyFactory", address("e5"))]
    return [{"label": label, "contract": label, "address": where,
             "address_raw": f"0:{Address(where).hash_part.hex()}", "code_hash": "00" * 32} for label, where in entries]


class Operator:
    def __init__(self, workdir, kubeconfig, prometheus):
        self.workdir = workdir
        self.records = os.path.join(workdir, "deployments")
        self.play = os.path.join(workdir, "backend.yml")
        self.inventory = os.path.join(workdir, "hosts.yml")
        with open(self.play, "w", encoding="utf-8") as handle:
            handle.write(PLAY)
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write(INVENTORY)
        self.variables = {
            "tonsurance_network": "testnet",
            "tonsurance_kubeconfig": kubeconfig,
            "tonsurance_prometheus_url": prometheus.url,
            "tonsurance_backend_replicas": REPLICAS,
            "tonsurance_rollout_hold_seconds": 0,
            "tonsurance_rollout_steps": [40, 100],
            "backend_prometheus_eval_time": prometheus.eval_time,
            "backend_record_directory": self.records,
            "backend_poll_interval": 0.05,
            "backend_wait_timeout": 60,
        }

    def run(self, tags, *args, **extra):
        variables = dict(self.variables, tonsurance_image_tags=tags, **extra)
        cmd = [os.path.join(BIN, "ansible-playbook"), self.play, "-i", self.inventory, "-e", json.dumps(variables),
               *args]
        proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=600,
                              check=False)
        start = proc.stdout.find("{")
        return PlaybookResult(proc, json.loads(proc.stdout[start:]) if start >= 0 else {})

    def record(self):
        paths = sorted(glob.glob(os.path.join(self.records, "testnet-*.json")))
        with open(paths[-1], encoding="utf-8") as handle:
            return json.load(handle)


def tags(version, **overrides):
    return dict({service: version for service in SERVICES}, **overrides)


def env_of(kube, name):
    container = kube.deployment(NAMESPACE, name)["spec"]["template"]["spec"]["containers"][0]
    return {entry["name"]: entry.get("value", entry.get("valueFrom")) for entry in container["env"]}


def test_role_deploys_rolls_out_records_and_repoints_the_keepers(tmp_path, kubeconfig, prometheus, kube):
    kube.namespace(NAMESPACE)
    for name, keys in SECRETS.items():
        kube.secret(NAMESPACE, name, keys)
    operator = Operator(str(tmp_path), kubeconfig, prometheus)
    record_file(operator.records, "testnet", contracts(address("a1")))

    check = operator.run(tags(V1), "--check", "--diff")
    assert check.rc == 0, check.proc.stdout[-3000:]
    assert check.stats["changed"] > 0
    assert all(kube.deployment(NAMESPACE, name) is None for name in SERVICES), "check mode must create nothing"
    assert "backend" not in operator.record()

    first = operator.run(tags(V1))
    assert first.rc == 0, first.proc.stdout[-3000:]
    for name in SERVICES:
        assert kube.images(NAMESPACE, name) == {image(name, V1): REPLICAS[name]}
        deployment = kube.deployment(NAMESPACE, name)
        assert deployment["spec"]["selector"]["matchLabels"]["tonsurance.io/track"] == "stable"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"] and container["livenessProbe"] and container["resources"]["limits"]
        assert kube.service(NAMESPACE, name)["spec"]["selector"] == {"app.kubernetes.io/name": name}
    keeper_env = env_of(kube, "pricing-keeper")
    assert keeper_env["ORACLE_ADDRESS"] == address("a1") and keeper_env["NETWORK"] == "testnet"
    assert keeper_env["KEEPER_MNEMONIC"] == {"secretKeyRef": {"name": "tonsurance-keeper-wallet", "key": "mnemonic"}}
    services = operator.record()["backend"]["services"]
    assert services["api-v2"] == {"image": image("api-v2", V1), "previous_image": None, "paused_at": None,
                                  "rollout_image": None}
    assert operator.record()["contract_count"] == 4, "the contracts of the record are kept"

    second = operator.run(tags(V1))
    assert second.rc == 0 and second.stats["changed"] == 0, second.proc.stdout[-3000:]

    # A release: new images for every service, and a redeployed oracle in the record.
    record_file(operator.records, "testnet", contracts(address("b2")), extra={"backend": operator.record()["backend"]})
    upgrade = operator.run(tags(V2))
    assert upgrade.rc == 0, upgrade.proc.stdout[-3000:]
    for name in SERVICES:
        assert [r["action"] for r in upgrade.task_results(f"Roll out {name}")] == ["completed"]
        assert kube.images(NAMESPACE, name) == {image(name, V2): REPLICAS[name]}
        assert operator.record()["backend"]["services"][name]["previous_image"] == image(name, V1)
        assert env_of(kube, name)["ORACLE_ADDRESS"] == address("b2")
    for keeper in ("pricing-keeper", "bridge-health-keeper"):
        for pod in kube.pods(NAMESPACE, **{"app.kubernetes.io/name": keeper}):
            assert {"name": "ORACLE_ADDRESS", "value": address("b2")} in pod["spec"]["containers"][0]["env"]

    broken = operator.run(tags(V2, **{"api-v2": "1.2.0-errors"}))
    assert broken.rc != 0
    assert [r["changed"] for r in broken.task_results("Apply the namespace")] == [False]
    failure = broken.failures()[0]
    assert "api-v2" in failure["msg"] and "error rate 4.00% above 1.00%" in failure["msg"]
    assert [r["action"] for r in broken.task_results("Roll out ocaml-backend")] == ["none"]
    assert not broken.task_results("Roll out websocket-v2"), "a failed rollout stops the services after it"
    assert kube.images(NAMESPACE, "api-v2") == {image("api-v2", V2): REPLICAS["api-v2"]}
    assert operator.record()["backend"]["services"]["api-v2"]["image"] == image("api-v2", V2)


def test_local_deploy_skips_the_backend_in_one_line(workdir):
    result = playbook(workdir, "--tags", "backend")
    assert result.rc == 0, result.proc.stdout[-3000:]
    said = [r.get("msg") for r in result.task_results("Say that there is no cluster")]
    assert said == ["backend: no Kubernetes cluster configured for local; skipping"]
    assert result.stats["changed"] == 0 and result.stats["failures"] == 0
    assert not result.task_results("Apply the namespace")


def test_mainnet_backend_refuses_without_confirmation(tmp_path, kubeconfig, prometheus, kube):
    operator = Operator(str(tmp_path), kubeconfig, prometheus)
    result = operator.run(tags(V1), tonsurance_network="mainnet")
    assert result.rc != 0
    assert "confirm_network=mainnet" in json.dumps(result.failures())
    assert kube.deployment("tonsurance-mainnet", "api-v2") is None
