"""Separation of networks: no secret shared by mainnet and testnet, no wallet key shared either."""

from .errors import SecretConfigError


def shared_references(mainnet, testnet):
    """Pairs of (mainnet label, testnet label, what) that point at the same secret."""
    seen = {}
    for label, ref in testnet:
        seen.setdefault(ref.identity(), []).append(label)
    shared = []
    for label, ref in mainnet:
        for peer in seen.get(ref.identity(), []):
            shared.append(dict(mainnet=label, testnet=peer, secret=ref.describe()))
    return shared


def public_key(label, mnemonic):
    """Hex public key of a TON mnemonic; the words never reach an error."""
    from pytoniq_core.crypto.keys import mnemonic_is_valid, mnemonic_to_private_key

    words = mnemonic.split() if isinstance(mnemonic, str) else list(mnemonic or [])
    if not words or not mnemonic_is_valid(words):
        raise SecretConfigError(label, "is not a valid 24-word TON mnemonic")
    public, _private = mnemonic_to_private_key(words)
    return public.hex()


def shared_keys(mainnet, testnet):
    """Public keys derived on both networks: (mainnet label, testnet label, public key)."""
    testnet_keys = {}
    for label, mnemonic in testnet.items():
        testnet_keys.setdefault(public_key(f"testnet {label}", mnemonic), []).append(label)
    keys = {"mainnet": {}, "testnet": {}}
    for label, mnemonic in mainnet.items():
        keys["mainnet"][label] = public_key(f"mainnet {label}", mnemonic)
    for key, labels in testnet_keys.items():
        for label in labels:
            keys["testnet"][label] = key
    shared = [dict(mainnet=label, testnet=peer, public_key=key)
              for label, key in keys["mainnet"].items() for peer in testnet_keys.get(key, [])]
    return shared, keys
