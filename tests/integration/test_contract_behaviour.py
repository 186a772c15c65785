"""The contracts themselves, run on the sandbox chain: access control, arithmetic, routing."""

import pytest

from pytoniq_core import Address

from conftest import run
from sandbox_helpers import TON, data_hash, deploy_one, funded_wallet, op, open_chain, raw, send_body

OP_UPDATE_RATE = 0x7B1F2E01
OP_SET_KEEPER = 0x7B1F2E02
OP_SET_HEDGE = 0x7B1F2E03
OP_SET_CURVE = 0x7B1F4002
OP_SET_PAUSED_VAULT = 0x7B1F4003
OP_ROUTE = 0x7B1F6001
OP_SET_ROUTER = 0x7B1F7001
OP_CREATE_POLICY = 0x7B1F7002
OP_RECORD_POLICY = 0x7B1F5001


@pytest.fixture
def env(tmp_path):
    chain = open_chain(str(tmp_path))
    admin = run(funded_wallet(chain))
    stranger = run(funded_wallet(chain))
    yield chain, admin, stranger
    chain.close()


def oracle_with_rate(chain, admin, rate_bps=80, hedge_bps=2000):
    async def go():
        oracle = await deploy_one(chain, admin, "PricingOracle",
                                  {"admin": raw(admin.address), "keeper": raw(admin.address), "hedge_bps": hedge_bps})
        body = op(OP_UPDATE_RATE).store_uint(1, 8).store_uint(2, 8).store_uint(3, 8).store_uint(rate_bps, 32)
        await send_body(admin, oracle.address, body.end_cell())
        return oracle
    return run(go())


def test_oracle_keeper_updates_rate_and_last_update(env):
    chain, admin, _stranger = env
    oracle = oracle_with_rate(chain, admin, rate_bps=80)
    assert run(chain.run_get_method(oracle.address, "get_rate", [1, 2, 3])) == [80]
    assert run(chain.run_get_method(oracle.address, "get_rate", [9, 9, 9])) == [-1]
    assert run(chain.run_get_method(oracle.address, "get_last_update", []))[0] > 0


@pytest.mark.parametrize("amount,days", [(1_000_000_000, 30), (1_000_000_000, 90), (123_456_789_012, 365), (7, 1),
                                         (10**30, 3650)])
def test_premium_quote_arithmetic(env, amount, days):
    chain, admin, _stranger = env
    oracle = oracle_with_rate(chain, admin, rate_bps=80, hedge_bps=2000)
    base, hedge, total = run(chain.run_get_method(oracle.address, "get_premium_quote", [1, 2, 3, amount, days]))
    expected_base = amount * 80 * days // (10000 * 365)
    assert base == expected_base
    assert hedge == expected_base * 2000 // 10000
    assert total == base + hedge


def test_premium_quote_known_figures(env):
    chain, admin, _stranger = env
    oracle = oracle_with_rate(chain, admin, rate_bps=80, hedge_bps=2000)
    quote = run(chain.run_get_method(oracle.address, "get_premium_quote", [1, 2, 3, 1_000_000_000, 90]))
    assert quote == [1972602, 394520, 2367122]


def test_premium_quote_refuses_missing_rate_and_bad_days(env):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import GetMethodError

    chain, admin, _stranger = env
    oracle = oracle_with_rate(chain, admin)
    with pytest.raises(GetMethodError) as missing:
        run(chain.run_get_method(oracle.address, "get_premium_quote", [4, 4, 4, 10**9, 30]))
    assert missing.value.exit_code == 404
    with pytest.raises(GetMethodError) as bad_days:
        run(chain.run_get_method(oracle.address, "get_premium_quote", [1, 2, 3, 10**9, 0]))
    assert bad_days.value.exit_code == 400


def test_oracle_admin_and_keeper_ops_reject_strangers(env):
    chain, admin, stranger = env
    oracle = oracle_with_rate(chain, admin)
    before = run(data_hash(chain, oracle.address))
    run(send_body(stranger, oracle.address, op(OP_SET_KEEPER).store_address(stranger.address).end_cell()))
    run(send_body(stranger, oracle.address, op(OP_SET_HEDGE).store_uint(9000, 16).end_cell()))
    rate = op(OP_UPDATE_RATE).store_uint(1, 8).store_uint(2, 8).store_uint(3, 8).store_uint(9999, 32)
    run(send_body(stranger, oracle.address, rate.end_cell()))
    assert run(data_hash(chain, oracle.address)) == before
    assert chain.journal[-2]["aborted"], "the stranger's message must abort (and bounce)"
    # The admin can do what the stranger could not.
    run(send_body(admin, oracle.address, op(OP_SET_HEDGE).store_uint(1500, 16).end_cell()))
    assert run(chain.run_get_method(oracle.address, "get_hedge_bps", [])) == [1500]


def test_malformed_and_bounced_messages_leave_state_alone(env):
    chain, admin, _stranger = env
    oracle = oracle_with_rate(chain, admin)
    before = run(data_hash(chain, oracle.address))
    truncated = op(OP_UPDATE_RATE).store_uint(1, 8).end_cell()
    run(send_body(admin, oracle.address, truncated))
    run(send_body(admin, oracle.address, op(0xDEADBEEF).end_cell()))
    assert run(data_hash(chain, oracle.address)) == before


def deploy_protocol(chain, admin, shard_count=4):
    async def go():
        admin_raw = raw(admin.address)
        oracle = await deploy_one(chain, admin, "PricingOracle", {"admin": admin_raw, "keeper": admin_raw})
        token = await deploy_one(chain, admin, "TrancheToken",
                                 {"admin": admin_raw, "tranche_id": 1, "content_uri": "x"})
        tranches = [{"id": i, "token": raw(token.address), "apy_min_bps": 100, "apy_max_bps": 200, "curve": 0,
                     "allocation_bps": 10000 if i == 1 else 0} for i in (1,)]
        vault = await deploy_one(chain, admin, "MultiTrancheVault", {"admin": admin_raw, "tranches": tranches})
        router = await deploy_one(chain, admin, "PolicyRouter", {"admin": admin_raw, "shard_count": shard_count})
        factory = await deploy_one(chain, admin, "PolicyFactory", {
            "admin": admin_raw, "router": raw(router.address), "oracle": raw(oracle.address),
            "vault": raw(vault.address)})
        return oracle, vault, router, factory
    return run(go())


def test_vault_admin_ops_and_utilization(env):
    chain, admin, stranger = env
    _oracle, vault, _router, _factory = deploy_protocol(chain, admin)
    curve = op(OP_SET_CURVE).store_uint(1, 8).store_uint(300, 16).store_uint(500, 16).store_uint(2, 8).end_cell()
    run(send_body(stranger, vault.address, curve))
    assert run(chain.run_get_method(vault.address, "get_tranche", [1]))[1:4] == [100, 200, 0]
    run(send_body(admin, vault.address, curve))
    assert run(chain.run_get_method(vault.address, "get_tranche", [1]))[1:4] == [300, 500, 2]
    capital = op(0x7B1F4001).store_coins(1000 * TON).store_coins(250 * TON).end_cell()
    run(send_body(admin, vault.address, capital))
    assert run(chain.run_get_method(vault.address, "get_utilization_bps", [])) == [2500]


def test_factory_routes_policy_to_its_shard(env):
    chain, admin, stranger = env
    _oracle, _vault, router, factory = deploy_protocol(chain, admin, shard_count=4)
    body = op(OP_CREATE_POLICY).store_coins(5 * TON).end_cell()
    for _attempt in range(3):
        run(send_body(stranger, factory.address, body, value=TON))
    # Policies 0, 1, 2 land on shards 0, 1, 2 (policy_id mod shard_count); the router deploys them on first use.
    for shard_id in range(3):
        where = run(chain.run_get_method(router.address, "get_shard_address", [shard_id]))[0].load_address()
        assert run(chain.run_get_method(where, "get_policy_count", [])) == [1]
        assert run(chain.run_get_method(where, "get_shard_id", [])) == [shard_id]
    assert run(chain.run_get_method(router.address, "get_policies_routed", [])) == [3]


def test_shard_accepts_policies_only_from_its_router(env):
    chain, admin, stranger = env
    _oracle, _vault, router, factory = deploy_protocol(chain, admin, shard_count=4)
    run(send_body(stranger, factory.address, op(OP_CREATE_POLICY).store_coins(TON).end_cell(), value=TON))
    shard = run(chain.run_get_method(router.address, "get_shard_address", [0]))[0].load_address()
    forged = op(OP_RECORD_POLICY).store_uint(77, 64).store_coins(10**6 * TON).end_cell()
    run(send_body(stranger, shard, forged))
    run(send_body(admin, shard, forged))
    assert run(chain.run_get_method(shard, "get_policy_count", [])) == [1]


def test_factory_set_router_is_admin_only(env):
    chain, admin, stranger = env
    _oracle, _vault, router, factory = deploy_protocol(chain, admin)
    other = Address("0:" + "ab" * 32)
    run(send_body(stranger, factory.address, op(OP_SET_ROUTER).store_address(other).end_cell()))
    assert run(chain.run_get_method(factory.address, "get_router", []))[0].load_address() == router.address
    run(send_body(admin, factory.address, op(OP_SET_ROUTER).store_address(other).end_cell()))
    assert run(chain.run_get_method(factory.address, "get_router", []))[0].load_address() == other


def test_router_pause_is_admin_only(env):
    chain, admin, stranger = env
    _oracle, _vault, router, _factory = deploy_protocol(chain, admin)
    pause = op(0x7B1F6002).store_uint(1, 1).end_cell()
    run(send_body(stranger, router.address, pause))
    assert run(chain.run_get_method(router.address, "get_paused", [])) == [0]
    run(send_body(admin, router.address, pause))
    assert run(chain.run_get_method(router.address, "get_paused", [])) == [-1]
