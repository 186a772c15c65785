"""The module edge of the database modules: argument specs, library check, errors to failures."""

from .connection import CONNECTION_ARGS, IMPORT_ERROR, STORE_ARGS, Target, require_libs
from .errors import PgError

# Re-exported: the modules take their specs, library check and target from here.
__all__ = ["CONNECTION_ARGS", "IMPORT_ERROR", "STORE_ARGS", "Target", "require_libs", "spec", "fail"]


def spec(*parts, **extra):
    merged = {}
    for part in parts:
        merged.update(part)
    merged.update(extra)
    return merged


def fail(module, exc, **result):
    """Fail the task with the exception's message (it names what, on which identifier, and why)."""
    if not isinstance(exc, PgError):
        raise exc
    module.fail_json(msg=str(exc), error=type(exc).__name__, **result)
