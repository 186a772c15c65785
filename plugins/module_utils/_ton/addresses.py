"""Address parsing and printing.

Addresses are compared as (workchain, hash) pairs, never as strings, and printed in the form the
network expects: bounceable user-friendly, with the testnet-only flag everywhere but mainnet.
"""

from pytoniq_core import Address

from .errors import ConfigError


def parse(value, what="address"):
    """Parse a raw or user-friendly address; fail naming the value that is not one."""
    if isinstance(value, Address):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} is empty or not a string")
    try:
        return Address(value.strip())
    except Exception as exc:  # pytoniq raises bare exceptions for malformed input
        raise ConfigError(f"{what} {value!r} is not a TON address") from exc


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
