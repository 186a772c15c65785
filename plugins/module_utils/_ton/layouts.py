"""Initial data (c4) of each Tonsurance contract, bit for bit as the FunC sources read it.

A contract's address is the hash of its StateInit, so these builders decide every address the
collection deploys to. The PolicyRouter rebuilds the shard layout on chain; the two must agree.
"""

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import Address, Builder, HashMap, StateInit, begin_cell
except ImportError:
    pass

from . import addresses
from .errors import ConfigError

# Tranche id, token symbol, APY floor and cap (basis points), curve kind, share of capital (bp).
# Curve kinds: 0 flat, 1 logarithmic, 2 linear, 3 sigmoidal, 4 quadratic, 5 exponential.
TRANCHES = (
    (1, "SURE-BTC", 400, 400, 0, 2500),
    (2, "SURE-SNR", 650, 800, 1, 2000),
    (3, "SURE-MEZZ", 900, 1500, 2, 1800),
    (4, "SURE-JNR", 1250, 1600, 3, 1500),
    (5, "SURE-JNR+", 1600, 2200, 4, 1200),
    (6, "SURE-EQT", 1500, 2500, 5, 1000),
)


CURVES = {0: "flat", 1: "logarithmic", 2: "linear", 3: "sigmoidal", 4: "quadratic", 5: "exponential"}
MAX_APY_BPS = 10000


def state_init(code, data):
    return StateInit(code=code, data=data)


def address_of(code, data, workchain=0):
    return Address((workchain, state_init(code, data).serialize().hash))


def _addr(value, what):
    return addresses.parse(value, what)


def _uint(value, bits, what):
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << bits:
        raise ConfigError(f"{what} must be an integer in [0, {(1 << bits) - 1}], got {value!r}")
    return value


def pricing_oracle(admin, keeper, hedge_bps=2000):
    _uint(hedge_bps, 16, "hedge_bps")
    if hedge_bps > 10000:
        raise ConfigError(f"hedge_bps must be at most 10000, got {hedge_bps}")
    return (
        begin_cell()
        .store_address(_addr(admin, "oracle admin"))
        .store_address(_addr(keeper, "oracle keeper"))
        .store_uint(0, 32)
        .store_uint(hedge_bps, 16)
        .store_dict(None)
        .end_cell()
    )


def snake_text(prefix, text):
    """TEP-64 off-chain content: a prefix byte, then the URI in snake format."""
    payload = bytes([prefix]) + text.encode()
    chunks = [payload[i:i + 127] for i in range(0, len(payload), 127)]
    cell = None
    for chunk in reversed(chunks):
        builder = begin_cell().store_bytes(chunk)
        if cell is not None:
            builder.store_ref(cell)
        cell = builder.end_cell()
    return cell


def tranche_token(admin, tranche_id, content_uri, wallet_code):
    _uint(tranche_id, 8, "tranche_id")
    return (
        begin_cell()
        .store_coins(0)
        .store_address(_addr(admin, "token admin"))
        .store_uint(tranche_id, 8)
        .store_ref(snake_text(0x01, content_uri))
        .store_ref(wallet_code)
        .end_cell()
    )


def tranche_wallet(owner, master, wallet_code):
    return (
        begin_cell()
        .store_coins(0)
        .store_address(_addr(owner, "wallet owner"))
        .store_address(_addr(master, "wallet master"))
        .store_ref(wallet_code)
        .end_cell()
    )


def _tranche_value(value, builder: "Builder"):
    token, apy_min, apy_max, curve, allocation = value
    builder.store_address(token).store_uint(apy_min, 16).store_uint(apy_max, 16)
    builder.store_uint(curve, 8).store_uint(allocation, 16)


def multi_tranche_vault(admin, tranches):
    """tranches: iterable of (tranche_id, token_address, apy_min_bps, apy_max_bps, curve, allocation_bps)."""
    table = HashMap(8, value_serializer=_tranche_value)
    total_allocation = 0
    seen = set()
    for tranche_id, token, apy_min, apy_max, curve, allocation in tranches:
        if tranche_id in seen:
            raise ConfigError(f"tranche id {tranche_id} appears twice")
        seen.add(tranche_id)
        if curve not in CURVES:
            raise ConfigError(f"tranche {tranche_id} curve {curve} is not one of {sorted(CURVES)}")
        if apy_max > MAX_APY_BPS:
            raise ConfigError(f"tranche {tranche_id} apy_max_bps {apy_max} exceeds {MAX_APY_BPS}")
        _uint(tranche_id, 8, "tranche_id")
        _uint(apy_min, 16, f"tranche {tranche_id} apy_min_bps")
        _uint(apy_max, 16, f"tranche {tranche_id} apy_max_bps")
        _uint(curve, 8, f"tranche {tranche_id} curve")
        _uint(allocation, 16, f"tranche {tranche_id} allocation_bps")
        if apy_min > apy_max:
            raise ConfigError(f"tranche {tranche_id}: apy_min_bps {apy_min} exceeds apy_max_bps {apy_max}")
        total_allocation += allocation
        table.set_int_key(tranche_id, (_addr(token, f"tranche {tranche_id} token"), apy_min, apy_max, curve, allocation))
    if total_allocation != 10000:
        raise ConfigError(f"tranche allocations must add up to 10000 bp, got {total_allocation}")
    return (
        begin_cell()
        .store_address(_addr(admin, "vault admin"))
        .store_bit_int(0)
        .store_coins(0)
        .store_coins(0)
        .store_dict(table.serialize())
        .end_cell()
    )


def policy_shard(shard_id, router, admin):
    _uint(shard_id, 16, "shard_id")
    return (
        begin_cell()
        .store_uint(shard_id, 16)
        .store_address(_addr(router, "shard router"))
        .store_address(_addr(admin, "shard admin"))
        .store_uint(0, 32)
        .store_coins(0)
        .store_uint(0, 64)
        .end_cell()
    )


def policy_router(admin, shard_count, shard_code):
    _uint(shard_count, 16, "shard_count")
    if shard_count == 0:
        raise ConfigError("shard_count must be at least 1")
    return (
        begin_cell()
        .store_address(_addr(admin, "router admin"))
        .store_bit_int(0)
        .store_uint(shard_count, 16)
        .store_uint(0, 64)
        .store_ref(shard_code)
        .end_cell()
    )


def policy_factory(admin, router, oracle, vault):
    links = begin_cell().store_address(_addr(oracle, "factory oracle")).store_address(_addr(vault, "factory vault"))
    return (
        begin_cell()
        .store_address(_addr(admin, "factory admin"))
        .store_address(_addr(router, "factory router"))
        .store_uint(0, 64)
        .store_ref(links.end_cell())
        .end_cell()
    )
