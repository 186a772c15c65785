"""Exceptions raised by the TON helpers.

They carry the identifiers an operator needs (network, address, method, step) and never a key,
a mnemonic or a message body. The module edge turns them into a failure message.
"""


class TonError(Exception):
    """Base class of every chain-side error of the collection."""


class ProviderError(TonError):
    """The chain provider could not answer a call."""


class SendRejectedError(TonError):
    """An external message was not accepted by its destination."""

    def __init__(self, address, reason):
        self.address = address
        self.reason = reason
        super().__init__(f"external message to {address} was not accepted: {reason}")


# What an exit code means for our contracts (400, 401, 404, 423) and for the TVM itself.
EXIT_CODES = {
    -256: "the account is not active",
    11: "no such get-method on this contract",
    400: "bad argument",
    401: "not authorized",
    404: "not found (for example, no rate set for that key)",
    423: "paused",
}


class GetMethodError(TonError):
    """A get-method ended with a non-zero exit code or on an inactive account."""

    def __init__(self, address, method, exit_code):
        self.address = address
        self.method = method
        self.exit_code = exit_code
        meaning = EXIT_CODES.get(exit_code)
        super().__init__(
            f"get-method {method} on {address} failed with exit code {exit_code}" + (f": {meaning}" if meaning else ""))


class CodeDriftError(TonError):
    """An active account at an expected address runs different code."""

    def __init__(self, name, address, expected_hash, actual_hash):
        self.address = address
        super().__init__(
            f"{name} at {address} is active with code hash {actual_hash}, "
            f"expected {expected_hash}; refusing to touch it"
        )


class DeployFailedError(TonError):
    """A deploy message was sent but the account did not become active with the expected code."""


class WaitTimeoutError(TonError):
    """The chain did not show the effect of a send before the deadline."""


class ConfigError(TonError):
    """Bad input: unknown contract, malformed address, missing artifact, bad parameter."""
