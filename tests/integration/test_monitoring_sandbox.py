"""The exporter and the monitoring role against a sandbox deployment whose contract state is known.

One small deploy (4 shards) is shared by the module. After it, admin messages set the vault's
capital and coverage and the oracle's rate, and a buyer creates policies; every exported value is
then checked exactly against what was sent and against independent get-method reads.
"""

import glob
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import provision
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import (
    QUERY_ID_BITS, Deployer, OutMessage, query_id_from)
from pytoniq_core import Address

from conftest import REPO, local_mnemonic, module, playbook, run
from monitoring_support import MONITORING, Prometheus, free_port, tool
from sandbox_helpers import TON, funded_wallet, op, open_chain, send_body

OP_UPDATE_RATE = 0x7B1F2E01
OP_RECORD_CAPITAL = 0x7B1F4001
OP_SET_PAUSED_VAULT = 0x7B1F4003
OP_CREATE_POLICY = 0x7B1F7002
EXPORTER = os.path.join(REPO, "scripts", "tonsurance_exporter.py")
POLICIES = 3


class Deployment:
    def __init__(self, workdir, first):
        self.workdir = workdir
        self.first = first
        self.state = os.path.join(workdir, "state")
        self.records = os.path.join(workdir, "deployments")
        self.monitoring = os.path.join(self.state, "monitoring")
        (path,) = glob.glob(os.path.join(self.records, "local-*.json"))
        with open(path, encoding="utf-8") as handle:
            self.address = {e["contract"]: Address(e["address_raw"]) for e in json.load(handle)["contracts"]
                            if e["contract"] not in ("PolicyShard", "TrancheToken")}
        self.update_window = None

    def admin_send(self, contract, body):
        """Send an admin message from the local deployer wallet (admin and keeper of the local contracts)."""
        chain = open_chain(self.state)
        try:
            admin = run(Deployer(chain, local_mnemonic(self.workdir), "highload_v3", "local", poll_interval=0).open())
            query_id = query_id_from(secrets.randbelow(1 << QUERY_ID_BITS))
            run(admin.send([OutMessage(self.address[contract], 100_000_000, body=body)], 10, query_id=query_id))
        finally:
            chain.close()

    def get(self, contract, method):
        chain = open_chain(self.state)
        try:
            return run(chain.run_get_method(self.address[contract], method, []))[0]
        finally:
            chain.close()

    def metrics_args(self, **extra):
        args = dict(network="local", provider="sandbox", sandbox_state=os.path.join(self.state, "chain.json"),
                    records_dir=self.records)
        args.update(extra)
        return args


def capital(capital_ton, coverage_ton):
    return op(OP_RECORD_CAPITAL).store_coins(capital_ton * TON).store_coins(coverage_ton * TON).end_cell()


def pause(flag):
    return op(OP_SET_PAUSED_VAULT).store_int(-1 if flag else 0, 1).end_cell()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("monitored"))
    first = playbook(workdir, shard_count=4)
    assert first.rc == 0, first.proc.stdout[-3000:] + first.proc.stderr[-3000:]
    deployed = Deployment(workdir, first)

    deployed.admin_send("MultiTrancheVault", capital(1000, 250))
    before = int(time.time())
    deployed.admin_send("PricingOracle", op(OP_UPDATE_RATE).store_uint(1, 8).store_uint(2, 8).store_uint(3, 8)
                        .store_uint(80, 32).end_cell())
    deployed.update_window = (before, int(time.time()) + 1)
    chain = open_chain(deployed.state)
    try:
        buyer = run(funded_wallet(chain))
        for _policy in range(POLICIES):
            run(send_body(buyer, deployed.address["PolicyFactory"], op(OP_CREATE_POLICY).store_coins(5 * TON)
                          .end_cell(), value=TON))
    finally:
        chain.close()
    return deployed


def samples_of(text):
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(dict(network="local", **labels).items())))]


def assert_known_state(samples, deployed):
    assert value(samples, "vault_total_capital") == 1000.0
    assert value(samples, "vault_total_coverage_sold") == 250.0
    assert value(samples, "vault_utilization_ratio") == 0.25
    assert value(samples, "policy_creation_total") == POLICIES
    assert value(samples, "policy_routed_total") == POLICIES
    low, high = deployed.update_window
    assert low <= value(samples, "pricing_oracle_last_update_timestamp") <= high
    assert value(samples, "tonsurance_contract_paused", contract="MultiTrancheVault") == 0
    for contract in ("MultiTrancheVault", "PricingOracle", "PolicyFactory", "PolicyRouter"):
        assert value(samples, "tonsurance_exporter_read_success", contract=contract) == 1


def chain_digest(deployed):
    with open(os.path.join(deployed.state, "chain.json"), "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_deploy_ends_by_printing_a_scrape_of_the_local_chain(deployment):
    (shown,) = deployment.first.task_results("Show the scrape")
    text = shown["msg"]
    samples = samples_of(text + "\n")
    # At the end of the deploy nothing was recorded or sold yet, and every contract answered.
    assert value(samples, "vault_total_capital") == 0.0
    assert value(samples, "policy_creation_total") == 0
    assert value(samples, "tonsurance_exporter_read_success", contract="PolicyRouter") == 1


def test_metrics_info_reports_the_known_state_exactly(deployment):
    before = chain_digest(deployment)
    checked = module("ton_metrics_info", deployment.metrics_args(), check_mode=True)
    assert checked.get("failed") is not True, checked
    real = module("ton_metrics_info", deployment.metrics_args())
    again = module("ton_metrics_info", deployment.metrics_args())
    assert chain_digest(deployment) == before, "a scrape must never write the chain"

    for result in (checked, real, again):
        assert result["changed"] is False and result["failures"] == {}
        assert result["record"].startswith(deployment.records)
        assert_known_state(samples_of(result["scrape"]), deployment)
    assert real["values"] == again["values"]
    # The same values read independently, straight from the get-methods.
    assert real["values"]["vault_total_capital"] * TON == deployment.get("MultiTrancheVault", "get_total_capital")
    assert real["values"]["vault_total_coverage_sold"] * TON == deployment.get("MultiTrancheVault",
                                                                               "get_coverage_sold")
    assert real["values"]["vault_utilization_ratio"] * 10000 == deployment.get("MultiTrancheVault",
                                                                               "get_utilization_bps")
    assert real["values"]["pricing_oracle_last_update_timestamp"] == deployment.get("PricingOracle", "get_last_update")
    assert real["values"]["policy_creation_total"] == deployment.get("PolicyFactory", "get_policies_created")


def test_exporter_script_once_prints_the_same_state(deployment):
    proc = subprocess.run([sys.executable, EXPORTER, "--network", "local", "--sandbox-state",
                           os.path.join(deployment.state, "chain.json"), "--records-dir", deployment.records, "--once"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert_known_state(samples_of(proc.stdout), deployment)


def test_metrics_info_names_contracts_it_cannot_read(deployment, tmp_path):
    """A record from another chain: every contract is reported unreadable, by name."""
    failed = module("ton_metrics_info", deployment.metrics_args(sandbox_state=str(tmp_path / "other.json")))
    assert failed["failed"]
    assert "MultiTrancheVault at 0:" in failed["msg"] and "is not an active account" in failed["msg"]
    tolerated = module("ton_metrics_info", deployment.metrics_args(sandbox_state=str(tmp_path / "other.json"),
                                                                   fail_on_read_error=False))
    assert not tolerated.get("failed") and set(tolerated["failures"]) == {
        "MultiTrancheVault", "PricingOracle", "PolicyFactory", "PolicyRouter"}
    samples = samples_of(tolerated["scrape"])
    assert value(samples, "tonsurance_exporter_read_success", contract="PricingOracle") == 0
    assert not any(name == "vault_total_capital" for name, _labels in samples)


def test_metrics_info_without_a_record(tmp_path):
    args = dict(network="local", sandbox_state=str(tmp_path / "chain.json"), records_dir=str(tmp_path))
    failed = module("ton_metrics_info", args)
    assert failed["failed"] and "no deployment record local-<YYYYMMDD>.json" in failed["msg"]
    quiet = module("ton_metrics_info", dict(args, require_record=False), check_mode=True)
    assert not quiet.get("failed") and quiet["scrape"] == "" and "deploy first" in quiet["msg"]


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def wait_for(what, probe, timeout=90):
    """Poll until probe() returns a truthy value; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except OSError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    pytest.fail(f"{what} did not happen; last answer: {last!r}")


def instant(prometheus, expr):
    status, body = prometheus.get("/api/v1/query", query=expr)
    assert status == 200, body
    return body["data"]["result"]


def test_prometheus_scrapes_the_exporter_and_a_pause_on_chain_fires_an_alert(deployment, tmp_path):
    port = free_port()
    exporter = subprocess.Popen([sys.executable, EXPORTER, "--network", "local", "--sandbox-state",
                                 os.path.join(deployment.state, "chain.json"), "--records-dir", deployment.records,
                                 "--listen", f"127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    prometheus = None
    try:
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        assert_known_state(samples_of(wait_for("the exporter serving /metrics", lambda: fetch(metrics_url))),
                           deployment)

        # The configuration the role renders, pointed at this exporter, with fast intervals.
        base = str(tmp_path)
        bundle = provision.render(MONITORING, "local", base, f"127.0.0.1:{port}", "1s", "1s")
        provision.apply_files(base, provision.plan_files(base, bundle))
        prometheus = Prometheus(str(tmp_path)).start(config=os.path.join(base, "prometheus", "prometheus.yml"))
        scraped = wait_for("Prometheus storing the vault's capital",
                           lambda: instant(prometheus, 'vault_total_capital{network="local"}'))
        assert float(scraped[0]["value"][1]) == 1000.0
        assert scraped[0]["metric"]["job"] == "tonsurance-exporter"
        assert float(instant(prometheus, 'up{job="tonsurance-exporter"}')[0]["value"][1]) == 1
        assert not instant(prometheus, 'ALERTS{alertname="CircuitBreakerTriggered"}')

        deployment.admin_send("MultiTrancheVault", pause(True))
        deployment.admin_send("MultiTrancheVault", capital(0, 5))
        # Every scrape reads the chain afresh: the exporter shows the new state at once.
        samples = samples_of(fetch(metrics_url))
        assert value(samples, "tonsurance_contract_paused", contract="MultiTrancheVault") == 1
        assert value(samples, "vault_utilization_ratio") == float("inf")
        firing = wait_for("CircuitBreakerTriggered firing", lambda: instant(
            prometheus, 'ALERTS{alertname="CircuitBreakerTriggered",alertstate="firing"}'))
        assert firing[0]["metric"]["contract"] == "MultiTrancheVault"
        assert firing[0]["metric"]["severity"] == "critical"
        pending = wait_for("VaultInsolvencyRisk pending on coverage without capital", lambda: instant(
            prometheus, 'ALERTS{alertname="VaultInsolvencyRisk"}'))
        assert pending[0]["metric"]["network"] == "local"
    finally:
        deployment.admin_send("MultiTrancheVault", pause(False))
        deployment.admin_send("MultiTrancheVault", capital(1000, 250))
        if prometheus is not None:
            prometheus.stop()
        exporter.send_signal(signal.SIGTERM)
        try:
            rc = exporter.wait(timeout=30)
        except subprocess.TimeoutExpired:
            exporter.kill()
            raise
    assert rc == 0, exporter.stderr.read()


def monitoring_playbook(deployment, *args):
    result = playbook(deployment.workdir, *args, shard_count=4, name="monitoring.yml")
    assert result.rc == 0, result.proc.stdout[-3000:] + result.proc.stderr[-3000:]
    return result


def tree(directory):
    found = {}
    for root, _subfolders, names in os.walk(directory):
        for name in names:
            with open(os.path.join(root, name), "rb") as handle:
                found[os.path.relpath(os.path.join(root, name), directory)] = handle.read()
    return found


def test_role_restores_drifted_files_with_check_mode_first_and_then_changes_nothing(deployment):
    base = deployment.monitoring
    os.unlink(os.path.join(base, "grafana", "dashboards", "vault-analytics.json"))
    with open(os.path.join(base, "prometheus", "rules", "retired.yml"), "w", encoding="utf-8") as handle:
        handle.write("groups: []\n")
    with open(os.path.join(base, "prometheus", "prometheus.yml"), "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    drifted = tree(base)

    check = monitoring_playbook(deployment, "--check", "--diff")
    (planned,) = check.task_results("Provision the alert rules, dashboards and Prometheus")
    actions = {entry["path"]: entry["action"] for entry in planned["files"]}
    assert planned["changed"]
    assert actions["grafana/dashboards/vault-analytics.json"] == "created"
    assert actions["prometheus/rules/retired.yml"] == "removed"
    assert actions["prometheus/prometheus.yml"] == "updated"
    assert tree(base) == drifted, "check mode must not touch the files"

    real = monitoring_playbook(deployment)
    assert real.stats["changed"] >= 1
    # Independent read-back: the files are the shipped ones, and promtool accepts the whole configuration.
    for kind, pattern in (("prometheus/rules", "rules/*.yml"), ("grafana/dashboards", "dashboards/*.json")):
        shipped = {os.path.basename(p) for p in glob.glob(os.path.join(MONITORING, pattern))}
        assert set(os.listdir(os.path.join(base, kind))) == shipped
        for name in shipped:
            with open(os.path.join(MONITORING, os.path.dirname(pattern), name), "rb") as source:
                assert tree(base)[f"{kind}/{name}"] == source.read()
    config = os.path.join(base, "prometheus", "prometheus.yml")
    checked = subprocess.run([tool("promtool"), "check", "config", config], capture_output=True, text=True,
                             timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(glob.glob(os.path.join(MONITORING, 'rules', '*.yml')))} rule files found" in checked.stdout
    with open(config, encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["scrape_configs"][0]["job_name"] == "tonsurance-exporter"
    with open(os.path.join(base, "tonsurance-exporter-local.service"), encoding="utf-8") as handle:
        unit = handle.read()
    assert f"--sandbox-state {os.path.realpath(deployment.state)}/chain.json" in unit
    assert "--network local --provider sandbox" in unit

    second = monitoring_playbook(deployment)
    assert second.stats["changed"] == 0
    (shown,) = second.task_results("Show the scrape")
    assert_known_state(samples_of(shown["msg"] + "\n"), deployment)
