"""The local secret store: one JSON file, mode 0600, under .state/ of the local inventory only."""

import fcntl
import json
import os
import stat
import tempfile

from .errors import SecretConfigError, SecretNotFoundError


class SecretStoreError(Exception):
    """The local store is missing, unreadable or too open; never carries a value."""


def read(path):
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise SecretStoreError(f"local secret store {path} does not exist") from exc
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise SecretStoreError(f"local secret store {path} is readable by others; expected mode 0600")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as exc:
        raise SecretStoreError(f"local secret store {path} is not valid JSON") from None if exc else None


def write(path, values):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(values, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def get_or_create(path, name, make, check_mode=False, refuse_new=None):
    """Return (value, created): the store's value for name, or a new one from make().

    The new value is written to the store unless in check mode. Outside check mode the store's lock
    file is held from the read to the write, so two first runs settle on one value. refuse_new(),
    when given, is called before a value is made and may raise to refuse it.
    """
    lock = None
    if not check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        store = read(path) if os.path.exists(path) else {}
        if store.get(name):
            return store[name], False
        if refuse_new:
            refuse_new()
        value = make()
        if not check_mode:
            store[name] = value
            write(path, store)
        return value, True
    finally:
        if lock is not None:
            os.close(lock)


# The backend face of the store, shared with the cloud backends by the lookup and the modules.

DEFAULT_STORE = ".state/local/secrets.json"


def _check_network(ref, conn):
    network = conn.get("network")
    if network != "local":
        raise SecretConfigError(ref.describe(), f"the local backend serves the local inventory only; it is "
                                                f"refused on {network or 'an unnamed network'}")


def read_secret(ref, conn):
    _check_network(ref, conn)
    path = conn.get("store") or DEFAULT_STORE
    if not os.path.exists(path):
        raise SecretNotFoundError(ref.describe(), f"the local store {path} does not exist")
    try:
        store = read(path)
    except SecretStoreError as exc:
        raise SecretConfigError(ref.describe(), str(exc)) from None
    if not isinstance(store, dict) or ref.location not in store:
        raise SecretNotFoundError(ref.describe(), f"is not in the local store {path}")
    return store[ref.location]


def last_changed(ref, conn):
    """The local store keeps no change dates: ages are unknown, and only the local inventory uses it."""
    read_secret(ref, conn)
    return None, "the local store keeps no change dates"
