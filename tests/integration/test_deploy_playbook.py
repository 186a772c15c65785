"""deploy.yml on the local inventory, as an operator runs it, against a private sandbox."""

import collections
import glob
import json
import os

import pytest

from conftest import ARTIFACTS, chain_stats, playbook, run
from sandbox_helpers import open_chain


def record_of(workdir):
    paths = sorted(glob.glob(os.path.join(workdir, "deployments", "local-*.json")))
    assert paths, "the run wrote no deployment record"
    with open(paths[-1], encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def full_deploy(tmp_path_factory):
    """One cold mainnet-shape deploy (256 shards) shared by the tests of this module."""
    workdir = str(tmp_path_factory.mktemp("full"))
    first = playbook(workdir, shard_count=256)
    assert first.rc == 0, first.proc.stdout[-3000:] + first.proc.stderr[-3000:]
    return workdir, first


def test_first_run_deploys_and_records_every_contract(full_deploy):
    workdir, first = full_deploy
    assert first.stats["failures"] == 0
    record = record_of(workdir)
    kinds = collections.Counter(entry["contract"] for entry in record["contracts"])
    assert kinds == {"PricingOracle": 1, "MultiTrancheVault": 1, "TrancheToken": 6, "PolicyRouter": 1,
                     "PolicyShard": 256, "PolicyFactory": 1}
    labels = {entry["label"] for entry in record["contracts"]}
    assert {"SURE-BTC", "SURE-SNR", "SURE-MEZZ", "SURE-JNR", "SURE-JNR+", "SURE-EQT"} <= labels
    for entry in record["contracts"]:
        assert entry["address"].startswith("k"), "local addresses carry the testnet-only flag"
        assert entry["transaction"] and entry["fees_nanoton"] > 0


def test_record_matches_the_chain_by_independent_reads(full_deploy):
    workdir, _result = full_deploy
    record = record_of(workdir)
    by_label = {entry["label"]: entry for entry in record["contracts"]}
    code_hashes = {}
    for path in glob.glob(os.path.join(ARTIFACTS, "*.json")):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        code_hashes[document["name"]] = document["code_hash_hex"]
    chain = open_chain(os.path.join(workdir, "state"))
    try:
        for entry in record["contracts"]:
            account, _last_tx = run(chain.raw_get_account_state(entry["address_raw"]))
            assert account is not None and account.storage.state.type_ == "account_active", entry["label"]
            assert account.storage.state.state_init.code.hash.hex() == code_hashes[entry["contract"]]
        router = by_label["PolicyRouter"]["address_raw"]
        for shard_id in range(256):
            where = run(chain.run_get_method(router, "get_shard_address", [shard_id]))[0].load_address()
            assert f"0:{where.hash_part.hex()}" == by_label[f"PolicyShard[{shard_id}]"]["address_raw"]
        vault = by_label["MultiTrancheVault"]["address_raw"]
        assert run(chain.run_get_method(vault, "get_tranche_count", [])) == [6]
        factory = by_label["PolicyFactory"]["address_raw"]
        got = run(chain.run_get_method(factory, "get_router", []))[0].load_address()
        assert f"0:{got.hash_part.hex()}" == router
    finally:
        chain.close()


def test_second_run_changes_nothing_and_sends_nothing(full_deploy):
    workdir, _result = full_deploy
    before = chain_stats(workdir)
    record_before = record_of(workdir)
    second = playbook(workdir, shard_count=256)
    assert second.rc == 0, second.proc.stdout[-3000:]
    assert second.stats["changed"] == 0
    assert chain_stats(workdir) == before, "a no-op run must not send any message"
    sent = [r.get("messages_sent", 0) for r in second.task_results("Deploy")]
    assert sum(sent) == 0
    assert record_of(workdir)["contracts"] == record_before["contracts"]


def test_check_mode_sends_nothing_and_its_cost_matches_the_real_run(workdir):
    prepared = playbook(workdir, "--tags", "preflight")
    assert prepared.rc == 0, prepared.proc.stdout[-3000:]
    chain_file = os.path.join(workdir, "state", "chain.json")
    with open(chain_file, "rb") as handle:
        chain_bytes = handle.read()

    check = playbook(workdir, "--check", "--diff")
    assert check.rc == 0, check.proc.stdout[-3000:]
    with open(chain_file, "rb") as handle:
        assert handle.read() == chain_bytes, "check mode must not touch the chain"
    assert not glob.glob(os.path.join(workdir, "deployments", "*.json")), "check mode must not write a record"
    planned = check.task_results("Deploy")
    assert all(r.get("messages_sent", 0) == 0 for r in planned)
    contracts = [c for r in planned for c in r.get("contracts", [])]
    assert len(contracts) == 1 + 6 + 1 + 1 + 16 + 1
    assert {c["action"] for c in contracts} == {"would_deploy"}
    for contract in contracts:
        assert contract["address"] and contract["value_nanoton"] > 0 and contract["fees_nanoton"] > 0
    planned_spend = sum(r.get("spent_nanoton", 0) for r in planned)

    real = playbook(workdir)
    assert real.rc == 0, real.proc.stdout[-3000:]
    real_spend = sum(r.get("spent_nanoton", 0) for r in real.task_results("Deploy"))
    assert planned_spend > 0
    assert abs(planned_spend - real_spend) <= real_spend / 100


def test_mainnet_refuses_without_confirmation(workdir):
    result = playbook(workdir, inventory="mainnet")
    assert result.rc != 0
    messages = json.dumps(result.failures())
    assert "confirm_network=mainnet" in messages


def test_mainnet_refuses_without_admin_even_when_confirmed(workdir):
    result = playbook(workdir, inventory="mainnet", extra_vars={"confirm_network": "mainnet"})
    assert result.rc != 0
    assert "tonsurance_admin_address" in json.dumps(result.failures())


def test_check_mode_on_a_fresh_machine_stops_cleanly_and_creates_nothing(workdir):
    result = playbook(workdir, "--check")
    assert result.rc == 0, result.proc.stdout[-3000:]
    assert not os.path.exists(os.path.join(workdir, "state")), "check mode must not create the chain"
    messages = json.dumps(result.task_results("Explain why a check run stops"))
    assert "does not exist yet" in messages


def test_contract_info_reads_values_and_explains_exit_codes(full_deploy):
    from conftest import module

    workdir, _result = full_deploy
    oracle = {e["label"]: e for e in record_of(workdir)["contracts"]}["PricingOracle"]
    common = {"network": "local", "sandbox_state": os.path.join(workdir, "state", "chain.json"),
              "address": oracle["address"]}
    info = module("ton_contract_info", dict(common, get_methods=[{"name": "get_hedge_bps"}]))
    assert info["status"] == "active" and info["code_hash"] == oracle["code_hash"]
    assert info["values"]["get_hedge_bps"] == [2000]
    missing_rate = module("ton_contract_info", dict(common, get_methods=[
        {"name": "get_premium_quote", "args": [1, 0, 0, 10**9, 30]}]))
    assert missing_rate.get("failed") and "exit code 404: not found" in missing_rate["msg"]
    typo = module("ton_contract_info", dict(common, sandbox_state=os.path.join(workdir, "nope", "chain.json")))
    assert typo.get("failed") and "does not exist" in typo["msg"]
    assert not os.path.exists(os.path.join(workdir, "nope"))
