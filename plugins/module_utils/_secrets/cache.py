"""Per-process cache of backend clients, keyed by the connection options that shape them.

Credentials take part in the key only as a digest. A lookup plugin and a module both run in one
process per task, so every term, loop item and lookup of a task shares one client and one login.
"""

import hashlib

_CLIENTS = {}


def key(backend, conn, plain, secret):
    digest = hashlib.sha256()
    for name in secret:
        digest.update(repr(conn.get(name)).encode("utf-8"))
        digest.update(b"\0")
    return (backend,) + tuple(conn.get(name) for name in plain) + (digest.hexdigest(),)


def get(cache_key):
    return _CLIENTS.get(cache_key)


def put(cache_key, client):
    _CLIENTS[cache_key] = client
    return client


def drop(cache_key):
    _CLIENTS.pop(cache_key, None)


def clear():
    _CLIENTS.clear()
