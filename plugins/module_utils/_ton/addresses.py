"""Address parsing and printing.

Addresses are compared as (workchain, hash) pairs, never as strings, and printed in the form the
network expects: bounceable user-friendly, with the testnet-only flag everywhere but mainnet.
"""

import re

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import Address
except ImportError:
    pass

from .errors import ConfigError

# The basechain and the masterchain are the only workchains a contract can live on today.
WORKCHAINS = (0, -1)
RAW_FORM = re.compile(r"^(-?\d+):([0-9a-fA-F]{64})$")
FRIENDLY_FORM = re.compile(r"^[A-Za-z0-9_+/-]{48}$")


def parse(value, what="address"):
    """Parse a raw or user-friendly address; fail naming the value that is not one."""
    if isinstance(value, Address):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} is empty or not a string")
    text = value.strip()
    raw_match = RAW_FORM.match(text)
    if not raw_match and not FRIENDLY_FORM.match(text):
        raise ConfigError(f"{what} {value!r} is not a TON address (raw 0:<64 hex> or 48-character friendly form)")
    if raw_match and int(raw_match.group(1)) not in WORKCHAINS:
        raise ConfigError(f"{what} {value!r} is on workchain {raw_match.group(1)}; only 0 and -1 exist")
    try:
        address = Address(text)
    except Exception as exc:  # pytoniq raises bare exceptions for malformed input
        raise ConfigError(f"{what} {value!r} is not a TON address") from exc
    if address.wc not in WORKCHAINS:
        raise ConfigError(f"{what} {value!r} is on workchain {address.wc}; only 0 and -1 exist")
    return address


def same(left, right):
    left, right = parse(left), parse(right)
    return (left.wc, left.hash_part) == (right.wc, right.hash_part)


def raw(address):
    address = parse(address)
    return f"{address.wc}:{address.hash_part.hex()}"


def friendly(address, network, bounceable=True):
    return parse(address).to_str(
        is_user_friendly=True,
        is_url_safe=True,
        is_bounceable=bounceable,
        is_test_only=network != "mainnet",
    )
