"""Each mainnet gate stops a run with its name; all of them passing lets the deploy through.

The gates run on the local sandbox here (mainnet_gates_enabled forces them), with the SignerSet test
contract standing in for the multisig admin.
"""

import datetime
import glob
import json
import os

from conftest import ARTIFACTS, local_mnemonic, playbook, run
from sandbox_helpers import open_chain
from test_operations import signer_set

GATES = {"mainnet_gates_enabled": True, "tonsurance_database_deploy": True}


def failures(result):
    return json.dumps(result.failures())


def prepare(workdir):
    result = playbook(workdir, "--tags", "preflight", shard_count=4)
    assert result.rc == 0, result.proc.stdout[-2000:]


def multisig_admin(workdir, threshold=3, signers=5):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer

    chain = open_chain(os.path.join(workdir, "state"))
    try:
        wallet = run(Deployer(chain, local_mnemonic(workdir), "highload_v3", "local").open())
        return signer_set(chain, wallet, threshold, [f"0:{i:02x}" + "ee" * 31 for i in range(signers)])
    finally:
        chain.close()


def soaked_testnet_record(workdir, days=8, code_hashes=None):
    hashes = code_hashes or {}
    for path in glob.glob(os.path.join(ARTIFACTS, "*.json")):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        hashes.setdefault(document["name"], document["code_hash_hex"])
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days)
    directory = os.path.join(workdir, "deployments")
    os.makedirs(directory, exist_ok=True)
    record = {"network": "testnet", "generated_at": when.isoformat(timespec="seconds"), "commit": "abc",
              "contracts": [{"label": name, "contract": name, "address": "kQ", "address_raw": "0:00",
                             "code_hash": code} for name, code in hashes.items()]}
    with open(os.path.join(directory, f"testnet-{when:%Y%m%d}.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)


def gated(workdir, **extra):
    return playbook(workdir, "--tags", "preflight,gates", shard_count=4, extra_vars=dict(GATES, **extra))


def test_gate_multisig_admin_stops_a_wallet_admin(workdir):
    prepare(workdir)
    result = gated(workdir)
    assert result.rc != 0 and "gate multisig-admin failed" in failures(result)
    assert "not in the multisig allowlist" in failures(result)


def test_gate_multisig_admin_stops_too_few_signers(workdir):
    prepare(workdir)
    admin, code_hash = multisig_admin(workdir, threshold=2, signers=4)
    result = gated(workdir, tonsurance_admin_address=admin, tonsurance_multisig_code_hashes=[code_hash])
    assert result.rc != 0 and "needs 2 approvals" in failures(result) and "has 4 signers" in failures(result)


def test_gate_deployer_balance(workdir):
    prepare(workdir)
    admin, code_hash = multisig_admin(workdir)
    result = gated(workdir, tonsurance_admin_address=admin, tonsurance_multisig_code_hashes=[code_hash],
                   mainnet_gates_min_deployer_nanoton=10**20)
    assert result.rc != 0 and "gate deployer-balance failed" in failures(result)


def test_gate_testnet_soak_wants_old_enough_same_code(workdir):
    prepare(workdir)
    admin, code_hash = multisig_admin(workdir)
    common = dict(tonsurance_admin_address=admin, tonsurance_multisig_code_hashes=[code_hash])
    assert "gate testnet-soak failed" in failures(gated(workdir, **common))
    soaked_testnet_record(workdir, days=3)
    assert "gate testnet-soak failed" in failures(gated(workdir, **common))
    soaked_testnet_record(workdir, days=9, code_hashes={"PolicyShard": "00" * 32})
    assert "gate testnet-soak failed" in failures(gated(workdir, **common))


def test_gate_verified_backup_then_all_gates_open_let_the_deploy_through(workdir):
    prepare(workdir)
    admin, code_hash = multisig_admin(workdir)
    soaked_testnet_record(workdir, days=8)
    common = dict(tonsurance_admin_address=admin, tonsurance_multisig_code_hashes=[code_hash])
    assert "gate verified-backup failed" in failures(gated(workdir, **common))
    backup = playbook(workdir, shard_count=4, name="backup.yml")
    assert backup.rc == 0, backup.proc.stdout[-2000:]
    result = playbook(workdir, shard_count=4, extra_vars=dict(
        GATES, tonsurance_admin_address=admin, tonsurance_multisig_code_hashes=[code_hash]))
    assert result.rc == 0, failures(result)
    assert result.task_results("Gate testnet-soak")[0].get("msg", "").startswith("gate testnet-soak:")
