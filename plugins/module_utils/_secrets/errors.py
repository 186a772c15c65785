"""Exceptions of the secret backends.

Each names the backend and the secret's location (never its value) and why it failed. The lookup
and the modules turn them into failures; `on_missing` and `on_denied` pick the first two out.
"""


class SecretError(Exception):
    """Base class of every secret error of the collection."""

    def __init__(self, where, why):
        self.where = where
        self.why = why
        super().__init__(f"{where}: {why}")


class SecretNotFoundError(SecretError):
    """The secret, the asked version or the asked key does not exist (or is deleted)."""


class SecretDeniedError(SecretError):
    """The backend answered, and refused this identity access to this secret."""


class SecretAuthError(SecretError):
    """The identity itself was refused: bad or expired token or credentials, failed login."""


class SecretConfigError(SecretError):
    """The reference or the connection options are wrong (or the backend is refused here)."""


class SecretBackendError(SecretError):
    """The backend could not be reached or answered something unexpected."""
