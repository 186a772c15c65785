"""rollback.yml's services type on its own emulated cluster: back to the previous images, then a no-op."""

import json
import os
import subprocess

from backend_fixtures import image, record_file
from conftest import BIN, REPO, PlaybookResult, ansible_env
from test_backend_role import GATE_SERIES as ROLE_GATE_SERIES
from test_backend_role import NAMESPACE, REPLICAS, SECRETS, SERVICES, V1, V2, Operator, address, contracts, tags

# The prometheus fixture serves the series its test module names: here the role test's.
GATE_SERIES = ROLE_GATE_SERIES

ROLLBACK_PLAY = """\
- name: Roll the Tonsurance services back
  hosts: tonsurance
  gather_facts: false
  roles:
    - role: tonsurance.deploy.rollback
"""


def test_services_rollback_returns_every_service_to_the_previous_images(tmp_path, kubeconfig, prometheus, kube):
    kube.namespace(NAMESPACE)
    for name, keys in SECRETS.items():
        kube.secret(NAMESPACE, name, keys)
    operator = Operator(str(tmp_path), kubeconfig, prometheus)
    record_file(operator.records, "testnet", contracts(address("a1")))
    assert operator.run(tags(V1)).rc == 0
    assert operator.run(tags(V2)).rc == 0
    assert all(kube.images(NAMESPACE, name) == {image(name, V2): REPLICAS[name]} for name in SERVICES)

    play = os.path.join(str(tmp_path), "rollback.yml")
    with open(play, "w", encoding="utf-8") as handle:
        handle.write(ROLLBACK_PLAY)

    def rollback():
        variables = dict(operator.variables, rollback_type="services", rollback_records_dir=operator.records,
                         tonsurance_provider="lite", tonsurance_state_dir=str(tmp_path),
                         tonsurance_deployer_secret={"backend": "local", "name": "deployer_mnemonic"})
        cmd = [os.path.join(BIN, "ansible-playbook"), play, "-i", operator.inventory, "-e", json.dumps(variables)]
        proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=600,
                              check=False)
        start = proc.stdout.find("{")
        return PlaybookResult(proc, json.loads(proc.stdout[start:]) if start >= 0 else {})

    first = rollback()
    assert first.rc == 0, first.proc.stdout[-3000:]
    for name in SERVICES:
        assert kube.images(NAMESPACE, name) == {image(name, V1): REPLICAS[name]}, name
    second = rollback()
    assert second.rc == 0 and second.stats["changed"] == 0, second.proc.stdout[-3000:]
