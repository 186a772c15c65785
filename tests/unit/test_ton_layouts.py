import pytest

from pytoniq_core import Address

from conftest import ARTIFACTS
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, artifacts, layouts, protocol
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import ConfigError

ADMIN = "0:" + "11" * 32
KEEPER = "0:" + "22" * 32


def test_address_depends_on_every_init_field():
    first = protocol.build(ARTIFACTS, "PricingOracle", {"admin": ADMIN, "keeper": KEEPER})
    same = protocol.build(ARTIFACTS, "PricingOracle", {"admin": ADMIN, "keeper": KEEPER})
    other_keeper = protocol.build(ARTIFACTS, "PricingOracle", {"admin": ADMIN, "keeper": ADMIN})
    other_hedge = protocol.build(ARTIFACTS, "PricingOracle", {"admin": ADMIN, "keeper": KEEPER, "hedge_bps": 1})
    assert first.address == same.address
    assert len({first.address.hash_part, other_keeper.address.hash_part, other_hedge.address.hash_part}) == 3


def test_user_friendly_and_raw_forms_derive_the_same_address():
    friendly = Address(ADMIN).to_str(is_test_only=True)
    a = protocol.build(ARTIFACTS, "PricingOracle", {"admin": ADMIN, "keeper": KEEPER})
    b = protocol.build(ARTIFACTS, "PricingOracle", {"admin": friendly, "keeper": KEEPER})
    assert a.address == b.address


def test_shard_addresses_are_distinct_and_tied_to_the_router():
    router, shards = protocol.shards(ARTIFACTS, ADMIN, 256, 0, 256)
    assert len({s.address.hash_part for s in shards}) == 256
    router2, shards2 = protocol.shards(ARTIFACTS, ADMIN, 16, 0, 16)
    assert router.address != router2.address
    assert shards[0].address != shards2[0].address


def test_shard_range_is_cut_at_shard_count_and_checked():
    _router, shards = protocol.shards(ARTIFACTS, ADMIN, 16, 10, 10)
    assert [int(s.label[12:-1]) for s in shards] == list(range(10, 16))
    with pytest.raises(ConfigError, match="outside"):
        protocol.shards(ARTIFACTS, ADMIN, 16, 16, 10)


@pytest.mark.parametrize("init, message", [
    ({"admin": ADMIN}, "missing keeper"),
    ({"admin": "nope", "keeper": KEEPER}, "'nope' is not a TON address"),
    ({"admin": ADMIN, "keeper": KEEPER, "hedge_bps": 10001}, "at most 10000"),
])
def test_oracle_init_errors_name_the_field(init, message):
    with pytest.raises(ConfigError, match=message):
        protocol.build(ARTIFACTS, "PricingOracle", init)


def test_vault_refuses_allocations_that_do_not_add_up():
    tranches = [{"id": 1, "token": ADMIN, "apy_min_bps": 1, "apy_max_bps": 2, "curve": 0, "allocation_bps": 9000}]
    with pytest.raises(ConfigError, match="10000"):
        protocol.build(ARTIFACTS, "MultiTrancheVault", {"admin": ADMIN, "tranches": tranches})


def test_vault_refuses_inverted_apy_range():
    tranches = [{"id": 1, "token": ADMIN, "apy_min_bps": 5, "apy_max_bps": 2, "curve": 0, "allocation_bps": 10000}]
    with pytest.raises(ConfigError, match="apy_min_bps 5 exceeds"):
        protocol.build(ARTIFACTS, "MultiTrancheVault", {"admin": ADMIN, "tranches": tranches})


def test_unknown_contract_is_refused():
    with pytest.raises(ConfigError, match="unknown contract 'Nope'"):
        protocol.build(ARTIFACTS, "Nope", {})


def test_snake_content_spans_cells_for_long_uris():
    cell = layouts.snake_text(0x01, "x" * 300)
    assert cell.begin_parse().load_bytes(1) == b"\x01"
    assert len(cell.refs) == 1 and len(cell.refs[0].refs) == 1


def test_addresses_compare_by_workchain_and_hash():
    friendly = Address(ADMIN).to_str(is_test_only=True, is_bounceable=False)
    assert addresses.same(ADMIN, friendly)
    assert not addresses.same(ADMIN, KEEPER)
    assert addresses.friendly(ADMIN, "mainnet").startswith("E")
    assert addresses.friendly(ADMIN, "testnet").startswith("k")


def test_artifact_with_a_wrong_hash_is_refused(tmp_path):
    import json
    import shutil

    shutil.copy(f"{ARTIFACTS}/PricingOracle.json", tmp_path / "PricingOracle.json")
    document = json.loads((tmp_path / "PricingOracle.json").read_text())
    document["code_hash_hex"] = "00" * 32
    (tmp_path / "PricingOracle.json").write_text(json.dumps(document))
    with pytest.raises(ConfigError, match="inconsistent"):
        artifacts.load(str(tmp_path), "PricingOracle")
    with pytest.raises(ConfigError, match="not found"):
        artifacts.load(str(tmp_path), "PolicyShard")


@pytest.mark.parametrize("value, message", [
    ("0:abcd", "is not a TON address"),
    ("0:" + "ab" * 33, "is not a TON address"),
    ("5:" + "ab" * 32, "workchain 5"),
    ("300:" + "ab" * 32, "workchain 300"),
    ("", "empty"),
])
def test_malformed_or_impossible_addresses_are_refused(value, message):
    with pytest.raises(ConfigError, match=message):
        addresses.parse(value, "oracle admin")


@pytest.mark.parametrize("init, message", [
    ({"admin": ADMIN, "keeper": KEEPER, "hedge_bps": "abc"}, "PricingOracle hedge_bps must be an integer"),
    ({"admin": ADMIN, "keeper": KEEPER, "hedge_bps": True}, "hedge_bps must be an integer"),
    ({"admin": ADMIN, "keeper": KEEPER, "hedge_bps": 2000.9}, "hedge_bps must be an integer"),
])
def test_wrong_types_name_the_field(init, message):
    with pytest.raises(ConfigError, match=message):
        protocol.build(ARTIFACTS, "PricingOracle", init)


def test_token_content_must_be_text():
    with pytest.raises(ConfigError, match="content_uri must be a non-empty string"):
        protocol.build(ARTIFACTS, "TrancheToken", {"admin": ADMIN, "tranche_id": 1, "content_uri": 42})


@pytest.mark.parametrize("tranches, message", [
    ([{"id": 1, "token": ADMIN, "apy_min_bps": 1, "apy_max_bps": 2, "curve": 0, "allocation_bps": 5000},
      {"id": 1, "token": ADMIN, "apy_min_bps": 1, "apy_max_bps": 2, "curve": 0, "allocation_bps": 5000}],
     "appears twice"),
    ([{"id": 1, "token": ADMIN, "apy_min_bps": 1, "apy_max_bps": 2, "curve": 99, "allocation_bps": 10000}],
     "curve 99"),
    ([{"id": 1, "token": ADMIN, "apy_min_bps": 1, "apy_max_bps": 50000, "curve": 0, "allocation_bps": 10000}],
     "exceeds 10000"),
    (5, "tranches must be a list"),
    ([{"id": 1, "token": ADMIN}], "tranche 0 lacks apy_min_bps"),
])
def test_vault_tranche_errors_are_named(tranches, message):
    with pytest.raises(ConfigError, match=message):
        protocol.build(ARTIFACTS, "MultiTrancheVault", {"admin": ADMIN, "tranches": tranches})


def test_query_ids_never_use_the_bit_number_the_highload_wallet_cannot_mark():
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import plan
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import query_id_from

    assert query_id_from(1023) & 1023 != 1023 and query_id_from((5 << 10) | 1023) >> 10 == 5
    ids = {plan.query_id(f"deployment-{n}", 0) for n in range(5000)}
    assert all(0 <= q < 1 << 23 and q & 1023 != 1023 for q in ids)
