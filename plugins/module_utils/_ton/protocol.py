"""The Tonsurance contract set: what each contract is built from and how it is proven on chain.

A target couples an artifact with its initial data (hence its address) and the get-method checks
that prove the deployed account is the one intended: admin, links, ids, counts.
"""

import re

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import Cell, Slice
except ImportError:
    pass

from . import addresses, artifacts, layouts
from .errors import ConfigError

CONTRACTS = ("PricingOracle", "TrancheToken", "MultiTrancheVault", "PolicyRouter", "PolicyShard", "PolicyFactory")


class Check:
    """One get-method call and the value it must return (an address, an int, or a code hash)."""

    def __init__(self, method, expected, args=None, index=0, kind="int"):
        self.method = method
        self.expected = expected
        self.args = list(args or [])
        self.index = index
        self.kind = kind

    def describe(self):
        args = f"({', '.join(str(a) for a in self.args)})" if self.args else "()"
        return f"{self.method}{args}[{self.index}]"

    def matches(self, stack):
        try:
            value = stack[self.index]
        except IndexError:
            return False, None
        if self.kind == "address":
            actual = to_address(value)
            return actual is not None and addresses.same(actual, self.expected), addresses.raw(actual) if actual else None
        if self.kind == "cell_hash":
            actual = value.hash.hex() if isinstance(value, Cell) else None
            return actual == self.expected, actual
        return value == self.expected, value


def to_address(value):
    try:
        if isinstance(value, Cell):
            value = value.begin_parse()
        if isinstance(value, Slice):
            return value.preload_address()
    except Exception:
        return None
    return None


class Target:
    def __init__(self, name, label, code, code_hash, data, checks):
        self.name = name
        self.label = label
        self.code = code
        self.code_hash = code_hash
        self.data = data
        self.state_init = layouts.state_init(code, data)
        self.address = layouts.address_of(code, data)
        self.checks = checks


def integer(value, what):
    """An integer option, refusing bools, fractions and text that is not a whole number."""
    if isinstance(value, bool):
        raise ConfigError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise ConfigError(f"{what} must be an integer, got {value!r}")


def text(value, what):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _require(init, keys, name):
    missing = [k for k in keys if init.get(k) in (None, "")]
    if missing:
        raise ConfigError(f"{name} init is missing {', '.join(missing)}")


def build(artifacts_dir, name, init, label=None, _cache=None):
    """Build the target for artifact `name` with layout parameters `init`."""
    cache = _cache if _cache is not None else {}

    def art(artifact_name):
        if artifact_name not in cache:
            cache[artifact_name] = artifacts.load(artifacts_dir, artifact_name)
        return cache[artifact_name]

    if name not in CONTRACTS:
        raise ConfigError(f"unknown contract {name!r}; expected one of {', '.join(CONTRACTS)}")
    if not isinstance(init or {}, dict):
        raise ConfigError(f"{name} init must be a mapping, got {type(init).__name__}")
    init = dict(init or {})
    code = art(name)
    if name == "PricingOracle":
        _require(init, ("admin", "keeper"), name)
        hedge = integer(init.get("hedge_bps", 2000), f"{name} hedge_bps")
        data = layouts.pricing_oracle(init["admin"], init["keeper"], hedge)
        checks = [
            Check("get_admin", init["admin"], kind="address"),
            Check("get_keeper", init["keeper"], kind="address"),
            Check("get_hedge_bps", hedge),
        ]
    elif name == "TrancheToken":
        _require(init, ("admin", "tranche_id", "content_uri"), name)
        wallet = art("TrancheWallet")
        tranche_id = integer(init["tranche_id"], f"{name} tranche_id")
        data = layouts.tranche_token(init["admin"], tranche_id, text(init["content_uri"], f"{name} content_uri"),
                                     wallet.code)
        checks = [
            Check("get_jetton_data", init["admin"], index=2, kind="address"),
            Check("get_jetton_data", wallet.code_hash, index=4, kind="cell_hash"),
            Check("get_tranche_id", tranche_id),
        ]
    elif name == "MultiTrancheVault":
        _require(init, ("admin", "tranches"), name)
        rows = []
        tokens = init.get("tokens") or {}
        if not isinstance(tokens, dict):
            raise ConfigError(f"{name} tokens must map tranche ids to token addresses")
        tokens = {str(k): v for k, v in tokens.items()}
        if not isinstance(init["tranches"], list):
            raise ConfigError(f"{name} tranches must be a list")
        for position, entry in enumerate(init["tranches"]):
            where = f"{name} tranche {position}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where} must be a mapping, got {entry!r}")
            try:
                tranche_id = integer(entry["id"], f"{where} id")
                token = entry.get("token") or tokens[str(tranche_id)]
                rows.append((
                    tranche_id, token,
                    *(integer(entry[key], f"{where} {key}")
                      for key in ("apy_min_bps", "apy_max_bps", "curve", "allocation_bps")),
                ))
            except KeyError as exc:
                raise ConfigError(f"{where} lacks {exc.args[0]}") from exc
        data = layouts.multi_tranche_vault(init["admin"], rows)
        checks = [Check("get_admin", init["admin"], kind="address"), Check("get_tranche_count", len(rows))]
        for tranche_id, token, apy_min, apy_max, curve, allocation in rows:
            checks += [
                Check("get_tranche", token, args=[tranche_id], index=0, kind="address"),
                Check("get_tranche", apy_min, args=[tranche_id], index=1),
                Check("get_tranche", apy_max, args=[tranche_id], index=2),
                Check("get_tranche", curve, args=[tranche_id], index=3),
                Check("get_tranche", allocation, args=[tranche_id], index=4),
            ]
    elif name == "PolicyRouter":
        _require(init, ("admin", "shard_count"), name)
        shard = art("PolicyShard")
        shard_count = integer(init["shard_count"], f"{name} shard_count")
        data = layouts.policy_router(init["admin"], shard_count, shard.code)
        checks = [
            Check("get_admin", init["admin"], kind="address"),
            Check("get_shard_count", shard_count),
            Check("get_shard_code_hash", int(shard.code_hash, 16)),
        ]
    elif name == "PolicyShard":
        _require(init, ("shard_id", "router", "admin"), name)
        shard_id = integer(init["shard_id"], f"{name} shard_id")
        data = layouts.policy_shard(shard_id, init["router"], init["admin"])
        checks = [
            Check("get_shard_id", shard_id),
            Check("get_router", init["router"], kind="address"),
            Check("get_admin", init["admin"], kind="address"),
        ]
    else:
        _require(init, ("admin", "router", "oracle", "vault"), name)
        data = layouts.policy_factory(init["admin"], init["router"], init["oracle"], init["vault"])
        checks = [
            Check("get_admin", init["admin"], kind="address"),
            Check("get_router", init["router"], kind="address"),
            Check("get_oracle", init["oracle"], kind="address"),
            Check("get_vault", init["vault"], kind="address"),
        ]
    return Target(name, label or name, code.code, code.code_hash, data, checks)


def shards(artifacts_dir, admin, shard_count, first, count, _cache=None):
    """The router target and the shard targets [first, first + count)."""
    cache = _cache if _cache is not None else {}
    shard_count = integer(shard_count, "shard_count")
    router = build(artifacts_dir, "PolicyRouter", {"admin": admin, "shard_count": shard_count}, "PolicyRouter", cache)
    last = min(first + count, shard_count)
    if first < 0 or first >= shard_count:
        raise ConfigError(f"shard range start {first} is outside [0, {shard_count})")
    targets = []
    for shard_id in range(first, last):
        target = build(
            artifacts_dir, "PolicyShard", {"shard_id": shard_id, "router": addresses.raw(router.address), "admin": admin},
            f"PolicyShard[{shard_id}]", cache,
        )
        # The router must derive the same address on chain; a layout mismatch shows up here.
        target.checks.append(RouterCheck(router.address, shard_id, target.address))
        targets.append(target)
    return router, targets


class RouterCheck(Check):
    """Ask the router where shard i lives; it must be where we deployed it."""

    def __init__(self, router_address, shard_id, expected):
        super().__init__("get_shard_address", expected, args=[shard_id], kind="address")
        self.on = router_address
