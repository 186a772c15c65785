"""One face over the three backends, shared by the secret lookup and the secret modules."""

from . import aws, local, values, vault
from .errors import SecretDeniedError, SecretError, SecretNotFoundError

_BACKENDS = {"aws": aws, "vault": vault}

# Connection options the lookup and the modules share (reference fields may override some).
CONNECTION_OPTIONS = (
    "aws_region", "aws_profile", "aws_endpoint_url", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "vault_url", "vault_namespace", "vault_auth", "vault_token", "vault_role_id",
    "vault_secret_id", "vault_approle_mount_point", "vault_ca_cert", "vault_validate_certs", "timeout",
    "network", "store",
)
CREDENTIAL_OPTIONS = ("aws_secret_access_key", "aws_session_token", "vault_token", "vault_secret_id")


def connection(options, ref):
    conn = {name: options.get(name) for name in CONNECTION_OPTIONS}
    conn.update(ref.overrides)
    return conn


def fetch(ref, options):
    """The value a reference names: decoded, its key selected. Raises SecretError subclasses."""
    conn = connection(options, ref)
    if ref.backend == "local":
        raw = local.read_secret(ref, conn)
    else:
        raw = _BACKENDS[ref.backend].read(ref, conn)
    if isinstance(raw, (bytes, bytearray)):
        raw = values.decode_binary(bytes(raw), ref)
    return values.select(raw, ref)


def last_changed(ref, options):
    """(datetime or None, what the date is) of the version a reference names."""
    conn = connection(options, ref)
    if ref.backend == "local":
        return local.last_changed(ref, conn)
    return _BACKENDS[ref.backend].last_changed(ref, conn)


def outcome(error, on_missing, on_denied):
    """What to do about an error: 'error', 'warn' or 'skip'. Only missing and denied are negotiable."""
    if isinstance(error, SecretNotFoundError):
        return on_missing
    if isinstance(error, SecretDeniedError):
        return on_denied
    return "error"


__all__ = ["SecretError", "connection", "fetch", "last_changed", "outcome"]
