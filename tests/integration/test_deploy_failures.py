"""What a deploy must refuse or survive: drift, bounces, crashes in the middle, bad input."""

import base64
import json
import os
import signal
import subprocess
import time

import psutil
from pytoniq_core import Cell
from pytoniq_core.tlb.account import ShardAccount

from conftest import ARTIFACTS, BIN, REPO, ansible_env, chain_stats, local_mnemonic, module, playbook

SMALL = 4


def deployed(workdir, shard_count=SMALL):
    result = playbook(workdir, shard_count=shard_count)
    assert result.rc == 0, result.proc.stdout[-3000:]
    return result


def record(workdir):
    directory = os.path.join(workdir, "deployments")
    (name,) = [n for n in os.listdir(directory) if n.startswith("local-")][:1]
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return {entry["label"]: entry for entry in json.load(handle)["contracts"]}


def module_args(workdir, **extra):
    args = {
        "network": "local",
        "sandbox_state": os.path.join(workdir, "state", "chain.json"),
        "artifacts_dir": ARTIFACTS,
        "deployer_mnemonic": local_mnemonic(workdir),
        "deployer_wallet": "highload_v3",
    }
    args.update(extra)
    return args


def replace_code(workdir, address_raw, artifact):
    """Give an account other code in place, as an upgrade done behind the collection's back would."""
    path = os.path.join(workdir, "state", "chain.json")
    with open(path, encoding="utf-8") as handle:
        state = json.load(handle)
    with open(os.path.join(ARTIFACTS, f"{artifact}.json"), encoding="utf-8") as handle:
        other = Cell.one_from_boc(base64.b64decode(json.load(handle)["code_boc_base64"]))
    cell = Cell.one_from_boc(base64.b64decode(state["accounts"][address_raw]))
    shard_account = ShardAccount.deserialize(cell.begin_parse())
    shard_account.account.storage.state.state_init.code = other
    state["accounts"][address_raw] = base64.b64encode(shard_account.serialize().to_boc()).decode()
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    return other.hash.hex()


def test_other_code_at_an_expected_address_fails_and_sends_nothing(workdir):
    deployed(workdir)
    oracle = record(workdir)["PricingOracle"]
    other_hash = replace_code(workdir, oracle["address_raw"], "PolicyShard")
    before = chain_stats(workdir)

    result = playbook(workdir, shard_count=SMALL)

    assert result.rc != 0
    (failure,) = result.failures()
    assert oracle["address"] in failure["msg"]
    assert oracle["code_hash"] in failure["msg"] and other_hash in failure["msg"]
    assert chain_stats(workdir) == before


def test_bounced_deploy_is_a_failure(workdir):
    deployed(workdir)
    # 1000 nanoton cannot buy the gas to run the contract: the deploy message bounces.
    result = module("ton_contract", module_args(
        workdir, name="PricingOracle", amount_nanoton=1000,
        init={"admin": "0:" + "11" * 32, "keeper": "0:" + "22" * 32}))
    assert result.get("failed"), result
    assert "did not activate PricingOracle" in result["msg"]
    after = module("ton_contract_info", {"network": "local", "sandbox_state": module_args(workdir)["sandbox_state"],
                                         "address": result["msg"].split(" at ")[1].split(" ")[0]})
    assert after["status"] in ("nonexist", "uninit")


def test_check_mode_reports_address_action_and_cost_without_sending(workdir):
    deployed(workdir)
    before = chain_stats(workdir)
    result = module("ton_contract", module_args(
        workdir, name="PricingOracle", init={"admin": "0:" + "33" * 32, "keeper": "0:" + "44" * 32}),
        check_mode=True, diff=True)
    assert result["changed"] and result["action"] == "would_deploy"
    assert result["address"].startswith("k")
    assert result["spent_nanoton"] > result["value_nanoton"] == 50_000_000
    assert result["diff"]["before"]["status"] == "nonexist" and result["diff"]["after"]["status"] == "active"
    assert result["messages_sent"] == 0
    assert chain_stats(workdir) == before


def test_bad_address_is_named_and_nothing_is_sent(workdir):
    deployed(workdir)
    before = chain_stats(workdir)
    result = module("ton_contract", module_args(
        workdir, name="PricingOracle", init={"admin": "EQnot-an-address", "keeper": "0:" + "44" * 32}))
    assert result.get("failed") and "EQnot-an-address" in result["msg"] and "oracle admin" in result["msg"]
    assert chain_stats(workdir) == before


def test_invalid_mnemonic_fails_without_echoing_it(workdir):
    deployed(workdir)
    words = "abandon " * 23 + "wrongword"
    result = module("ton_contract", module_args(
        workdir, name="PricingOracle", deployer_mnemonic=words,
        init={"admin": "0:" + "55" * 32, "keeper": "0:" + "44" * 32}))
    assert result.get("failed")
    assert "wrongword" not in json.dumps(result)


def kill_tree(pid):
    """SIGKILL the run and every process under it: Ansible's workers leave the process group."""
    root = psutil.Process(pid)
    processes = root.children(recursive=True) + [root]
    for process in processes:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


def test_interrupted_shard_deployment_resumes_with_only_what_is_missing(workdir):
    shard_count, batch = 64, 4
    variables = {
        "tonsurance_state_dir": os.path.join(workdir, "state"),
        "deployment_record_directory": os.path.join(workdir, "deployments"),
        "tonsurance_shard_count": shard_count,
        "tonsurance_shard_batch_size": batch,
        "contracts_strategy": "per_contract",
        "tonsurance_audit_log": os.path.join(workdir, "audit.jsonl"),
        "tonsurance_database_deploy": False,
    }
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "deploy.yml"),
           "-i", os.path.join(REPO, "inventories", "local"), "-e", json.dumps(variables)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=ansible_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    # Wallet activation, nine core contracts, then a few shard batches: kill in the middle of the shards.
    deadline = time.monotonic() + 300
    killed_at = None
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            sent = chain_stats(workdir)["external_messages"]
        except (OSError, ValueError, KeyError):
            sent = 0
        if sent >= 1 + 9 + 3:
            kill_tree(proc.pid)
            killed_at = sent
            break
        time.sleep(0.05)
    proc.wait()
    assert killed_at is not None, "the run ended before it could be interrupted"
    interrupted = chain_stats(workdir)["external_messages"]
    assert interrupted - 10 < shard_count // batch, "the kill came after the last shard batch"

    resumed = playbook(workdir, shard_count=shard_count,
                       extra_vars={"tonsurance_shard_batch_size": batch, "contracts_strategy": "per_contract"})
    assert resumed.rc == 0, resumed.proc.stdout[-3000:]
    shard_results = resumed.task_results("Deploy PolicyShards")
    deployed_now = sum(r["deployed"] for r in shard_results)
    shards_before = (interrupted - 10) * batch
    assert deployed_now == shard_count - shards_before
    entries = record(workdir)
    assert sum(1 for label in entries if label.startswith("PolicyShard[")) == shard_count
    # Every missing contract went out once: one external per batch that still had work, one for the factory.
    sends = sum(r.get("messages_sent", 0) for r in resumed.task_results("Deploy"))
    assert sends == len([r for r in shard_results if r["deployed"]]) + 1
    assert chain_stats(workdir)["external_messages"] == interrupted + sends


def test_failure_after_a_send_reports_that_something_changed(workdir):
    deployed(workdir)
    before = chain_stats(workdir)
    result = module("ton_contract", module_args(
        workdir, name="PricingOracle", amount_nanoton=1000,
        init={"admin": "0:" + "66" * 32, "keeper": "0:" + "22" * 32}))
    assert result.get("failed") and result["changed"] and result["messages_sent"] == 1
    assert chain_stats(workdir)["external_messages"] == before["external_messages"] + 1


def test_missing_deployer_key_on_a_used_chain_is_refused(workdir):
    deployed(workdir)
    os.unlink(os.path.join(workdir, "state", "secrets.json"))
    before = chain_stats(workdir)
    result = playbook(workdir, shard_count=SMALL)
    assert result.rc != 0
    assert "refusing to mint a new deployer" in json.dumps(result.failures())
    assert chain_stats(workdir) == before


def test_damaged_chain_state_is_named(workdir):
    deployed(workdir)
    path = os.path.join(workdir, "state", "chain.json")
    with open(path, encoding="utf-8") as handle:
        state = json.load(handle)
    state["accounts"][next(iter(state["accounts"]))] = "aGVsbG8="
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(state, handle)
    result = module("ton_contract_info", {"network": "local", "sandbox_state": path, "address": "0:" + "11" * 32})
    assert result.get("failed") and path in result["msg"] and "holds no readable BoC" in result["msg"]


def test_shards_without_their_router_are_not_sent(workdir):
    deployed(workdir)
    before = chain_stats(workdir)
    result = module("ton_policy_shards", module_args(workdir, admin="0:" + "77" * 32, shard_count=8, first=0,
                                                     count=4))
    assert result.get("failed") and "PolicyRouter" in result["msg"] and "deploy it first" in result["msg"]
    assert chain_stats(workdir) == before


def test_two_first_runs_at_once_deploy_one_set(workdir):
    procs = []
    for _run in range(2):
        variables = {"tonsurance_state_dir": os.path.join(workdir, "state"),
                     "deployment_record_directory": os.path.join(workdir, "deployments"),
                     "tonsurance_audit_log": os.path.join(workdir, "audit.jsonl"),
                     "tonsurance_database_deploy": False,
                     "tonsurance_shard_count": SMALL}
        cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", "deploy.yml"),
               "-i", os.path.join(REPO, "inventories", "local"), "-e", json.dumps(variables)]
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=ansible_env(), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    with open(os.path.join(workdir, "state", "chain.json"), encoding="utf-8") as handle:
        accounts = json.load(handle)["accounts"]
    # One deployer wallet and one set: oracle, 6 tokens, vault, router, 4 shards, factory.
    assert len(accounts) == 1 + 1 + 6 + 1 + 1 + SMALL + 1
