"""verify.yml, rollback.yml and the audit trail on the local inventory."""

import json
import os
import shutil

from conftest import chain_stats, local_mnemonic, module, playbook


def audit_lines(workdir):
    with open(os.path.join(workdir, "audit.jsonl"), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def local_records(workdir):
    return module("deployment_record_info", {"directory": os.path.join(workdir, "deployments"), "network": "local"})


def changed_tasks(result):
    return [t["task"]["name"] for p in result.document["plays"] for t in p["tasks"]
            if any(h.get("changed") for h in t["hosts"].values())]


def test_verify_proves_the_set_and_only_the_test_policy_changes_on_rerun(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    # The deployer's reference in its path form, which the verify role must pass whole to the lookup.
    by_path = {"tonsurance_deployer_secret": {"backend": "local", "path": "deployer_mnemonic"}}
    first = playbook(workdir, shard_count=4, name="verify.yml", extra_vars=by_path)
    assert first.rc == 0, first.proc.stdout[-3000:]
    proven = first.task_results("Prove every contract of the set")[0]
    assert len(proven["contracts"]) == 14 and proven["verified_checks"] > 14
    second = playbook(workdir, shard_count=4, name="verify.yml")
    assert second.rc == 0
    # The test policy is a deliberate write each time; nothing else changes.
    assert [name.split(" : ")[-1] for name in changed_tasks(second)] == [
        "Create a test policy and follow it to its shard"]


def test_verify_fails_naming_what_is_missing(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    result = playbook(workdir, shard_count=8, name="verify.yml")
    assert result.rc != 0
    assert "are not deployed on local" in json.dumps(result.failures()) or "deployer_mnemonic is required" in json.dumps(
        result.failures())


def test_contract_rollback_returns_the_factory_to_the_previous_router(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    lonely = playbook(workdir, shard_count=4, name="rollback.yml", extra_vars={"rollback_type": "contracts"})
    assert lonely.rc != 0 and "nothing to go back to" in json.dumps(lonely.failures())

    # A new release: twice the shards, so a new router and a new factory.
    assert playbook(workdir, shard_count=8).rc == 0
    records = local_records(workdir)
    factory = records["latest"]["contracts"]["PolicyFactory"]["address"]
    old_router = records["previous"]["contracts"]["PolicyRouter"]["address_raw"]

    first = playbook(workdir, shard_count=8, name="rollback.yml", extra_vars={"rollback_type": "contracts"})
    assert first.rc == 0, first.proc.stdout[-3000:]
    assert first.task_results("Point the current factory back")[0]["action"] == "sent"
    info = module("ton_contract_info", {"network": "local", "sandbox_state": os.path.join(workdir, "state", "chain.json"),
                                        "address": factory, "get_methods": [{"name": "get_router"}]})
    assert info["values"]["get_router"][0]["address"] == old_router

    second = playbook(workdir, shard_count=8, name="rollback.yml", extra_vars={"rollback_type": "contracts"})
    assert second.rc == 0 and second.stats["changed"] == 0


def test_audit_line_for_success_and_for_failure(workdir):
    assert playbook(workdir, shard_count=4, extra_vars={"approvers": "alice,bob"}).rc == 0
    failed = playbook(workdir, shard_count=4, extra_vars={"tonsurance_shard_batch_size": 0})
    assert failed.rc != 0
    success, failure = audit_lines(workdir)[-2:]
    assert success["outcome"] == "success" and success["network"] == "local"
    assert success["check_mode"] is False and failure["check_mode"] is False
    assert playbook(workdir, "--check", shard_count=4).rc == 0
    rehearsal = audit_lines(workdir)[-1]
    assert rehearsal["check_mode"] is True and rehearsal["outcome"] == "success"
    assert success["approvers"] == ["alice", "bob"] and len(success["contracts"]) == 14
    assert success["operator"] and success["commit"] and success["timestamp"]
    assert failure["outcome"] == "failed" and failure["failed_tasks"]
    awx = playbook(workdir, shard_count=4, extra_vars={"awx_user_name": "ops-alice"})
    assert awx.rc == 0 and audit_lines(workdir)[-1]["operator"] == "awx:ops-alice"


def test_database_rollback_restores_a_named_backup_once(workdir):
    # The references in their path form: every role must hand the whole reference to the lookup.
    with_db = {"tonsurance_database_deploy": True,
               "tonsurance_deployer_secret": {"backend": "local", "path": "deployer_mnemonic"},
               "tonsurance_db_password_secret": {"path": "database_password"}}
    deployed = playbook(workdir, shard_count=4, extra_vars=with_db)
    assert deployed.rc == 0, deployed.proc.stdout[-3000:]
    backup = playbook(workdir, shard_count=4, name="backup.yml", extra_vars=with_db)
    assert backup.rc == 0, backup.proc.stdout[-3000:]
    backup_id = [r for r in backup.task_results("Back up") if r.get("backup_id")][0]["backup_id"]

    refused = playbook(workdir, shard_count=4, name="rollback.yml",
                       extra_vars=dict(with_db, rollback_type="database", backup_id=backup_id))
    assert refused.rc != 0 and "confirm_restore" in json.dumps(refused.failures())

    args = dict(with_db, rollback_type="database", backup_id=backup_id, confirm_restore="tonsurance")
    first = playbook(workdir, shard_count=4, name="rollback.yml", extra_vars=args)
    assert first.rc == 0, first.proc.stdout[-3000:]
    assert first.stats["changed"] > 0
    second = playbook(workdir, shard_count=4, name="rollback.yml", extra_vars=args)
    assert second.rc == 0 and second.stats["changed"] == 0, second.proc.stdout[-3000:]


def test_contract_rollback_refuses_a_previous_router_that_is_not_on_this_chain(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    # The chain and its secret store are removed and made anew; the records of the first one stay.
    shutil.rmtree(os.path.join(workdir, "state"))
    assert playbook(workdir, shard_count=8).rc == 0
    chain = os.path.join(workdir, "state", "chain.json")
    records = local_records(workdir)
    factory = records["latest"]["contracts"]["PolicyFactory"]["address"]
    gone = records["previous"]["contracts"]["PolicyRouter"]["address"]
    sent = chain_stats(workdir)["external_messages"]

    for args in ([], ["--check"]):
        refused = playbook(workdir, *args, shard_count=8, name="rollback.yml", extra_vars={"rollback_type": "contracts"})
        assert refused.rc != 0
        message = json.dumps(refused.failures())
        assert f"PolicyRouter {gone} does not exist on local" in message, message
        assert local_mnemonic(workdir) not in refused.proc.stdout + refused.proc.stderr
    info = module("ton_contract_info", {"network": "local", "sandbox_state": chain, "address": factory,
                                        "get_methods": [{"name": "get_router"}]})
    assert info["values"]["get_router"][0]["address"] == records["latest"]["contracts"]["PolicyRouter"]["address_raw"]
    assert chain_stats(workdir)["external_messages"] == sent


def test_factory_router_refuses_an_account_that_runs_other_code(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    records = local_records(workdir)
    contracts = records["latest"]["contracts"]
    common = {"network": "local", "sandbox_state": os.path.join(workdir, "state", "chain.json"),
              "factory": contracts["PolicyFactory"]["address"], "order_dir": os.path.join(workdir, "orders"),
              "deployer_mnemonic": local_mnemonic(workdir)}
    sent = chain_stats(workdir)["external_messages"]
    # The vault is active but is no PolicyRouter.
    wrong = module("ton_factory_router", dict(common, router=contracts["MultiTrancheVault"]["address"],
                                              router_code_hash=contracts["PolicyRouter"]["code_hash"]))
    assert wrong.get("failed") and "not the PolicyRouter code" in wrong["msg"], wrong
    assert common["deployer_mnemonic"] not in json.dumps(wrong)
    malformed = module("ton_factory_router", dict(common, router=contracts["PolicyRouter"]["address"],
                                                  router_code_hash="xyz"))
    assert malformed.get("failed") and "router_code_hash 'xyz' is not 64 hex digits" in malformed["msg"]
    empty = module("ton_factory_router", dict(common, router=contracts["MultiTrancheVault"]["address"],
                                              router_code_hash=""))
    assert empty.get("failed") and "router_code_hash '' is not 64 hex digits" in empty["msg"], empty
    same = module("ton_factory_router", dict(common, router=contracts["PolicyRouter"]["address"],
                                             router_code_hash=contracts["PolicyRouter"]["code_hash"]))
    assert same["changed"] is False and same["action"] == "none"
    assert chain_stats(workdir)["external_messages"] == sent


def test_contract_rollback_names_a_previous_record_without_the_router_code(workdir):
    assert playbook(workdir, shard_count=4).rc == 0
    assert playbook(workdir, shard_count=8).rc == 0
    records = local_records(workdir)
    previous = records["previous"]["path"]
    with open(previous, encoding="utf-8") as handle:
        original = json.load(handle)
    sent = chain_stats(workdir)["external_messages"]
    # The code hash left out, empty or null: each would turn the router's code check off.
    for damage in ("missing", "", None):
        document = json.loads(json.dumps(original))
        for entry in document["contracts"]:
            if entry["contract"] == "PolicyRouter":
                if damage == "missing":
                    del entry["code_hash"]
                else:
                    entry["code_hash"] = damage
        with open(previous, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
        refused = playbook(workdir, shard_count=8, name="rollback.yml", extra_vars={"rollback_type": "contracts"})
        assert refused.rc != 0
        message = json.dumps(refused.failures())
        assert os.path.basename(previous) in message and "PolicyRouter address and code_hash" in message, message
    assert chain_stats(workdir)["external_messages"] == sent
