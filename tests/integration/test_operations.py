"""Operations on a deployed set: oracle rates, test policies, factory re-pointing, multisig orders."""

import base64
import json
import os

import pytest
from pytoniq_core import Address, Cell, HashMap, begin_cell

from conftest import REPO, local_mnemonic, module, playbook, run
from sandbox_helpers import open_chain

SHARDS = 4


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("ops"))
    result = playbook(workdir, shard_count=SHARDS)
    assert result.rc == 0, result.proc.stdout[-3000:]
    directory = os.path.join(workdir, "deployments")
    (name,) = os.listdir(directory)
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        record = {c["label"]: c for c in json.load(handle)["contracts"]}
    return workdir, record


def deploy_contract(workdir, name, init):
    """Deploy one more contract of the protocol, from the compiled artifacts, with the local deployer's
    wallet (`init(wallet_address)` gives its init values); returns its raw address."""
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import deploy, protocol
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer

    chain = open_chain(os.path.join(workdir, "state"))
    try:
        wallet = run(Deployer(chain, local_mnemonic(workdir), "highload_v3", "local").open())
        target = protocol.build(os.path.join(REPO, "contracts", "build"), name,
                                init(wallet.address.to_str(is_user_friendly=False)))
        run(deploy.ensure(chain, wallet, [target], network="local", amount_nanoton=10**8, batch_size=1,
                          wait_timeout=10, check_mode=False))
    finally:
        chain.close()
    return target.address.to_str(is_user_friendly=False)


@pytest.fixture(scope="module")
def spare_router(deployed):
    """A second PolicyRouter on the deployed chain (twice the shards), to point a factory at."""
    workdir, _record = deployed
    return deploy_contract(workdir, "PolicyRouter", lambda wallet: {"admin": wallet, "shard_count": 2 * SHARDS})


def chain_args(workdir, **extra):
    args = {"network": "local", "sandbox_state": os.path.join(workdir, "state", "chain.json")}
    args.update(extra)
    return args


def wallet_args(workdir, **extra):
    return chain_args(workdir, deployer_mnemonic=local_mnemonic(workdir), **extra)


def test_oracle_rate_is_set_once_and_quotes_add_up(deployed):
    workdir, record = deployed
    oracle = record["PricingOracle"]["address"]
    rate = dict(oracle=oracle, coverage_type=1, chain=0, stablecoin=0, rate_bps=80)
    check = module("ton_oracle_rate", wallet_args(workdir, **rate), check_mode=True, diff=True)
    assert check["changed"] and check["diff"]["after"]["rate_bps"] == 80 and check["rate_before"] == -1
    first = module("ton_oracle_rate", wallet_args(workdir, **rate))
    assert first["changed"] and first["last_update"] > 0
    second = module("ton_oracle_rate", wallet_args(workdir, **rate))
    assert not second["changed"]
    quote = module("ton_contract_info", chain_args(workdir, address=oracle, get_methods=[
        {"name": "get_premium_quote", "args": [1, 0, 0, 10**9, 90]}]))
    base, hedge, total = quote["values"]["get_premium_quote(1,0,0,1000000000,90)"]
    assert total == base + hedge and base == 10**9 * 80 * 90 // (10000 * 365)


def test_oracle_rate_refuses_a_wallet_that_is_not_the_keeper(deployed):
    from pytoniq_core.crypto.keys import mnemonic_new

    workdir, record = deployed
    result = module("ton_oracle_rate", chain_args(workdir, oracle=record["PricingOracle"]["address"],
                                                  coverage_type=2, chain=0, stablecoin=0, rate_bps=5,
                                                  deployer_mnemonic=" ".join(mnemonic_new(24))))
    assert result.get("failed") and "is not the keeper" in result["msg"]


def test_smoke_policy_follows_the_policy_to_its_shard(deployed):
    workdir, record = deployed
    factory = record["PolicyFactory"]["address"]
    planned = module("ton_policy_smoke", wallet_args(workdir, factory=factory), check_mode=True)
    first = module("ton_policy_smoke", wallet_args(workdir, factory=factory))
    assert not first.get("failed"), first.get("msg")
    assert first["policy_id"] == planned["policy_id"]
    assert first["shard_id"] == first["policy_id"] % SHARDS
    assert first["shard"] == record[f"PolicyShard[{first['shard_id']}]"]["address"]
    second = module("ton_policy_smoke", wallet_args(workdir, factory=factory))
    assert second["policy_id"] == first["policy_id"] + 1


def test_smoke_policy_is_refused_on_mainnet(deployed):
    workdir, record = deployed
    result = module("ton_policy_smoke", wallet_args(workdir, network="mainnet", factory="0:" + "11" * 32))
    assert result.get("failed") and "refused on mainnet" in result["msg"]


def test_factory_router_switch_is_sent_once_and_proven(deployed, spare_router):
    workdir, record = deployed
    factory = record["PolicyFactory"]["address"]
    current = record["PolicyRouter"]["address"]
    other = spare_router
    orders = os.path.join(workdir, "orders")
    args = wallet_args(workdir, factory=factory, order_dir=orders)
    # Nothing lives at this address: refused, in check mode as in a real run, before anything is sent.
    for check_mode in (True, False):
        nowhere = module("ton_factory_router", dict(args, router="0:" + "cd" * 32), check_mode=check_mode)
        assert nowhere.get("failed") and "does not exist on local" in nowhere["msg"], nowhere
    planned = module("ton_factory_router", dict(args, router=other), check_mode=True, diff=True)
    assert planned["action"] == "would_send" and planned["changed"]
    sent = module("ton_factory_router", dict(args, router=other))
    assert sent["action"] == "sent"
    again = module("ton_factory_router", dict(args, router=other))
    assert again["action"] == "none" and not again["changed"]
    back = module("ton_factory_router", dict(args, router=current))
    assert back["action"] == "sent" and not os.path.exists(orders)


def signer_set(chain, wallet, threshold, signers):
    """Deploy the multisig stand-in from tests/contracts with the given threshold and signers."""
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import deploy, protocol

    with open(os.path.join(REPO, "tests", "contracts", "build", "SignerSet.json"), encoding="utf-8") as handle:
        artifact = json.load(handle)
    code = Cell.one_from_boc(base64.b64decode(artifact["code_boc_base64"]))
    table = HashMap(8, value_serializer=lambda value, builder: builder.store_address(value))
    for index, signer in enumerate(signers):
        table.set_int_key(index, Address(signer))
    data = (begin_cell().store_uint(0, 256).store_uint(threshold, 8).store_dict(table.serialize())
            .store_dict(None).end_cell())
    target = protocol.Target("SignerSet", "SignerSet", code, code.hash.hex(), data, [])
    run(deploy.ensure(chain, wallet, [target], network="local", amount_nanoton=10**8, batch_size=1,
                      wait_timeout=10, check_mode=False))
    return target.address.to_str(is_user_friendly=False), artifact["code_hash_hex"]


def test_multisig_policy_and_orders_for_its_signers(deployed, spare_router):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer

    workdir, record = deployed
    chain = open_chain(os.path.join(workdir, "state"))
    try:
        wallet = run(Deployer(chain, local_mnemonic(workdir), "highload_v3", "local").open())
        signers = [f"0:{i:02x}" + "ee" * 31 for i in range(5)]
        good, code_hash = signer_set(chain, wallet, 3, signers)
        weak, _weak_code_hash = signer_set(chain, wallet, 2, signers[:4])
    finally:
        chain.close()

    ok = module("ton_multisig_info", chain_args(workdir, address=good, allowed_code_hashes=[code_hash]))
    assert ok["meets_policy"] and ok["threshold"] == 3 and len(ok["signers"]) == 5
    bad = module("ton_multisig_info", chain_args(workdir, address=weak, allowed_code_hashes=[code_hash]))
    assert not bad["meets_policy"] and len(bad["problems"]) == 2
    unknown = module("ton_multisig_info", chain_args(workdir, address=good, allowed_code_hashes=["00" * 32]))
    assert "not in the multisig allowlist" in unknown["problems"][0]
    wallet_admin = module("ton_multisig_info", chain_args(workdir, address=record["PricingOracle"]["address"],
                                                          allowed_code_hashes=[code_hash]))
    assert not wallet_admin["meets_policy"]

    # A factory administered by the multisig: the switch becomes an order, written once.
    factory = deploy_contract(workdir, "PolicyFactory", lambda _wallet: {
        "admin": good, "router": record["PolicyRouter"]["address_raw"],
        "oracle": record["PricingOracle"]["address_raw"], "vault": record["MultiTrancheVault"]["address_raw"]})
    orders = os.path.join(workdir, "orders")
    args = wallet_args(workdir, factory=factory, router=spare_router, order_dir=orders)
    first = module("ton_factory_router", args)
    assert first["action"] == "order_written" and first["changed"]
    with open(first["order"], encoding="utf-8") as handle:
        order = json.load(handle)
    assert order["value_nanoton"] > 0 and order["body_boc_base64"] and "route new policies" in order["summary"]
    second = module("ton_factory_router", args)
    assert second["action"] == "order_pending" and not second["changed"]
