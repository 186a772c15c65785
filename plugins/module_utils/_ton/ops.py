"""Operations on deployed contracts: message bodies, admin sends, and orders for multisig signers.

Each operation observes first and sends only when the chain differs from what is asked. When the
admin is not the deployer (a multisig on mainnet), nothing is sent: the operation is written as an
order for the signers to propose and approve.
"""

import base64
import hashlib
import json
import os
import tempfile

# Importable without pytoniq-core, for ansible-test's import check; the modules that use these
# operations check the chain libraries (common.require_libs) before calling anything here.
try:
    from pytoniq_core import HashMap, begin_cell
except ImportError:
    pass

from . import addresses
from .deployer import OutMessage, query_id_from
from .errors import ConfigError, DeployFailedError

OP_UPDATE_RATE = 0x7B1F2E01
OP_SET_ROUTER = 0x7B1F7001
OP_CREATE_POLICY = 0x7B1F7002
ADMIN_OP_VALUE = 50_000_000
CREATE_POLICY_VALUE = 200_000_000


def set_router_body(router, query_id=0):
    return begin_cell().store_uint(OP_SET_ROUTER, 32).store_uint(query_id, 64).store_address(
        addresses.parse(router, "router")).end_cell()


def update_rate_body(coverage_type, chain, stablecoin, rate_bps, query_id=0):
    for name, value, bits in (("coverage_type", coverage_type, 8), ("chain", chain, 8),
                              ("stablecoin", stablecoin, 8), ("rate_bps", rate_bps, 32)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
            raise ConfigError(f"{name} must be an integer in [0, {(1 << bits) - 1}], got {value!r}")
    return (begin_cell().store_uint(OP_UPDATE_RATE, 32).store_uint(query_id, 64).store_uint(coverage_type, 8)
            .store_uint(chain, 8).store_uint(stablecoin, 8).store_uint(rate_bps, 32).end_cell())


def create_policy_body(coverage_nanoton, query_id=0):
    if not isinstance(coverage_nanoton, int) or coverage_nanoton < 0:
        raise ConfigError(f"coverage must be a non-negative integer of nanotons, got {coverage_nanoton!r}")
    return begin_cell().store_uint(OP_CREATE_POLICY, 32).store_uint(query_id, 64).store_coins(
        coverage_nanoton).end_cell()


async def first_address(provider, address, method, args=None):
    stack = await provider.run_get_method(address, method, list(args or []))
    return stack[0].load_address()


async def send_and_confirm(deployer, dest, body, value, wait_timeout, confirmed, what, context=""):
    """Send one message from the deployer; wait until `confirmed()` holds; fail naming `what`.

    `context` is the observed state the message changes (the router before, the last update time).
    With a highload deployer the query id derives from destination, body and context: a retry of the
    same change cannot be paid twice, while a later change back to an earlier value is a new query.
    """
    message = OutMessage(addresses.parse(dest), value, body=body)
    query_id = _query_id(dest, body, context) if deployer.uses_query_ids else None
    await deployer.send([message], wait_timeout, query_id=query_id, settled=confirmed)
    if not await confirmed():
        raise DeployFailedError(f"{what}: the message was processed but the contract did not change (bounced?)")


def _query_id(dest, body, context):
    digest = hashlib.sha256(body.hash + addresses.parse(dest).hash_part + str(context).encode()).digest()
    return query_id_from(int.from_bytes(digest[:4], "big"))


def write_order(directory, name, network, dest, value, body, summary):
    """Write what multisig signers need: the message to propose, and a readable account of it."""
    os.makedirs(directory, exist_ok=True)
    order = {
        "network": network,
        "destination": addresses.friendly(dest, network),
        "destination_raw": addresses.raw(dest),
        "value_nanoton": value,
        "bounce": True,
        "body_boc_base64": base64.b64encode(body.to_boc()).decode(),
        "body_hash": body.hash.hex(),
        "summary": summary,
    }
    path = os.path.join(directory, f"{name}.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            if json.load(handle) == order:
                return path, False
    fd, tmp = tempfile.mkstemp(prefix=".order-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(order, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path, True


def parse_signers(cell):
    """Addresses in a multisig's signer dictionary (HashmapE 8 MsgAddressInt)."""
    if cell is None:
        return []
    table = HashMap.parse(cell.begin_parse(), 8, value_deserializer=lambda s: s.load_address())
    return [table[key] for key in sorted(table or {})]
