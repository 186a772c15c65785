"""Rotation schedule: how old each secret's value is against the runbook's limits."""

import datetime

from .errors import SecretConfigError

# The runbook's schedule, in days; inventories may tighten or loosen it per kind or per secret.
DEFAULT_MAX_AGE_DAYS = {"wallet": 30, "database_password": 90, "api_key": 90, "encryption_key": 90}
STATUSES = ("ok", "due_soon", "overdue", "missing", "denied", "unknown")


def parse_time(text):
    """A date or date-time (ISO 8601) as an aware UTC datetime; empty means now."""
    if not text:
        return datetime.datetime.now(datetime.timezone.utc)
    try:
        when = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise SecretConfigError("as_of", f"{text!r} is not an ISO 8601 date or date-time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc)


def limits(overrides):
    merged = dict(DEFAULT_MAX_AGE_DAYS)
    for kind, days in (overrides or {}).items():
        try:
            merged[kind] = float(days)
        except (TypeError, ValueError):
            raise SecretConfigError("max_age_days", f"the limit of {kind} must be a number of days") from None
    return merged


def max_age(ref, merged):
    if ref.max_age_days is not None:
        return float(ref.max_age_days)
    if not ref.kind:
        raise SecretConfigError(ref.describe(), "has no kind (wallet, database_password, api_key, "
                                                "encryption_key) and no max_age_days")
    if ref.kind not in merged:
        raise SecretConfigError(ref.describe(), f"kind {ref.kind} has no rotation limit")
    return merged[ref.kind]


def judge(changed_at, limit_days, as_of, warn_within_days):
    """(status, age in days, due date) of a value written at changed_at."""
    if changed_at is None:
        return "unknown", None, None
    if changed_at.tzinfo is None:
        changed_at = changed_at.replace(tzinfo=datetime.timezone.utc)
    age = (as_of - changed_at).total_seconds() / 86400
    due = changed_at + datetime.timedelta(days=limit_days)
    if age > limit_days:
        status = "overdue"
    elif limit_days - age <= warn_within_days:
        status = "due_soon"
    else:
        status = "ok"
    return status, age, due
