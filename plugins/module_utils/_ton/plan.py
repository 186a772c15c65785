"""The whole Tonsurance contract set as one ordered list of targets, derived offline.

Every address follows from code and initial data alone, so the set has no on-chain dependencies:
the vault knows the token addresses, the factory the router's, before anything is deployed.
"""

import hashlib

from . import addresses, protocol
from .deployer import query_id_from
from .errors import ConfigError


def tranche_rows(tranches):
    rows = []
    seen = set()
    for entry in tranches:
        try:
            tranche_id, symbol = int(entry["id"]), str(entry["symbol"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"tranche entry {entry!r} needs an integer id and a symbol") from exc
        if tranche_id in seen:
            raise ConfigError(f"tranche id {tranche_id} appears twice")
        seen.add(tranche_id)
        rows.append(dict(entry, id=tranche_id, symbol=symbol))
    if not rows:
        raise ConfigError("at least one tranche is needed")
    return rows


def build(artifacts_dir, admin, keeper, shard_count, tranches, content_base, hedge_bps=2000):
    """Targets in deploy order: oracle, tokens, vault, router, shards, factory."""
    cache = {}
    rows = tranche_rows(tranches)
    oracle = protocol.build(artifacts_dir, "PricingOracle",
                            {"admin": admin, "keeper": keeper, "hedge_bps": hedge_bps}, "PricingOracle", cache)
    tokens = [
        protocol.build(artifacts_dir, "TrancheToken", {
            "admin": admin, "tranche_id": row["id"], "content_uri": f"{content_base}{row['symbol'].lower()}.json",
        }, row["symbol"], cache)
        for row in rows
    ]
    vault_rows = [dict(row, token=addresses.raw(token.address)) for row, token in zip(rows, tokens)]
    vault = protocol.build(artifacts_dir, "MultiTrancheVault", {"admin": admin, "tranches": vault_rows},
                           "MultiTrancheVault", cache)
    router, shards = protocol.shards(artifacts_dir, admin, shard_count, 0, shard_count, cache)
    factory = protocol.build(artifacts_dir, "PolicyFactory", {
        "admin": admin, "router": addresses.raw(router.address), "oracle": addresses.raw(oracle.address),
        "vault": addresses.raw(vault.address),
    }, "PolicyFactory", cache)
    return [oracle, *tokens, vault, router, *shards, factory]


def deployment_id(network, targets, attempt=0):
    """Stable identifier of a deployment: the network, every target's address, the attempt number."""
    digest = hashlib.sha256(f"{network}:{attempt}".encode())
    for target in targets:
        digest.update(target.address.hash_part)
    return digest.hexdigest()


def query_id(deployment, batch_index, bits=23):
    """The highload query id of one batch of a deployment."""
    digest = hashlib.sha256(f"{deployment}:{batch_index}".encode()).digest()
    return query_id_from(int.from_bytes(digest[:4], "big") % (1 << bits))
