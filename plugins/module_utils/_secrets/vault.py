"""Vault KV v2 through hvac (OpenBao speaks the same API): token or AppRole, namespaces, versions."""

import datetime

from . import cache
from .errors import (SecretAuthError, SecretBackendError, SecretConfigError, SecretDeniedError,
                     SecretNotFoundError)

try:
    import hvac
    import hvac.exceptions
    import requests.exceptions
    HAS_HVAC = True
except ImportError:
    HAS_HVAC = False

PLAIN = ("vault_url", "vault_namespace", "vault_auth", "vault_role_id", "vault_approle_mount_point",
         "vault_ca_cert", "vault_validate_certs", "timeout")
SECRET = ("vault_token", "vault_secret_id")

# How many logins this process made; the tests read it, nothing else does.
LOGINS = {"count": 0}


class Session:
    """One hvac client and its login, shared by every read of the process with the same options."""

    def __init__(self, conn):
        self.conn = conn
        self.where = f"vault {conn.get('vault_url')}"
        if conn.get("vault_namespace"):
            self.where += f" namespace {conn['vault_namespace']}"
        verify = conn.get("vault_ca_cert") or conn.get("vault_validate_certs", True)
        self.client = hvac.Client(url=conn["vault_url"], namespace=conn.get("vault_namespace") or None,
                                  verify=verify, timeout=conn.get("timeout") or 30)
        self.auth = conn.get("vault_auth") or "token"
        if self.auth not in ("token", "approle"):
            raise SecretConfigError(self.where, f"vault_auth must be token or approle, not {self.auth!r}")

    def _token_valid(self):
        try:
            self.client.auth.token.lookup_self()
            return True
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized):
            return False
        except Exception as exc:
            raise _unreachable(exc, self.where) from None

    def _approle_login(self):
        if not self.conn.get("vault_role_id") or not self.conn.get("vault_secret_id"):
            raise SecretConfigError(self.where, "AppRole auth needs vault_role_id and vault_secret_id")
        try:
            self.client.auth.approle.login(role_id=self.conn["vault_role_id"],
                                           secret_id=self.conn["vault_secret_id"],
                                           mount_point=self.conn.get("vault_approle_mount_point") or "approle")
        except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized, hvac.exceptions.InvalidRequest):
            raise SecretAuthError(self.where, "AppRole login refused (wrong, expired or used-up secret id, "
                                              "or wrong role id)") from None
        except Exception as exc:
            raise _unreachable(exc, self.where) from None
        LOGINS["count"] += 1

    def login(self):
        """Use a given token while Vault accepts it; with AppRole, log in when there is none or it lapsed."""
        if self.conn.get("vault_token"):
            self.client.token = self.conn["vault_token"]
            if self._token_valid():
                return self
            if self.auth == "token":
                raise SecretAuthError(self.where, "Vault refused the token: it is invalid, expired or revoked "
                                                  "(or lacks the default policy's lookup-self)")
        elif self.auth == "token":
            raise SecretConfigError(self.where, "no Vault token; set vault_token (or VAULT_TOKEN), or use "
                                                "vault_auth=approle")
        self._approle_login()
        return self

    def relogin_after_refusal(self):
        """After a 403: True when the token lapsed and a fresh AppRole login replaced it."""
        if self._token_valid():
            return False
        if self.auth != "approle":
            raise SecretAuthError(self.where, "Vault refused the token during the run: it expired or was revoked")
        self._approle_login()
        return True


def _unreachable(exc, where):
    if HAS_HVAC and isinstance(exc, requests.exceptions.RequestException):
        return SecretBackendError(where, "cannot reach Vault")
    if HAS_HVAC and isinstance(exc, hvac.exceptions.VaultError):
        return SecretBackendError(where, f"Vault answered with {type(exc).__name__}")
    return SecretBackendError(where, f"unexpected {type(exc).__name__}")


def session(conn):
    if not HAS_HVAC:
        raise SecretConfigError("vault backend", "needs hvac on the Python that runs the lookup or module")
    if not conn.get("vault_url"):
        raise SecretConfigError("vault backend", "no Vault address; set vault_url (or VAULT_ADDR)")
    cache_key = cache.key("vault", conn, PLAIN, SECRET)
    found = cache.get(cache_key)
    if found is not None:
        return found
    return cache.put(cache_key, Session(conn).login())


def _call(ref, conn, action, call):
    where = ref.describe()
    current = session(conn)
    for attempt in (1, 2):
        try:
            return call(current.client)
        except hvac.exceptions.InvalidPath:
            hint = ""
            if ref.location.split("/", 1)[0] == ref.mount_point:
                hint = f"; the path repeats the mount point: give it without '{ref.mount_point}/'"
            elif "/data/" in f"/{ref.location}":
                hint = "; give the mount point separately and the path without '<mount>/data/'"
            raise SecretNotFoundError(where, f"does not exist (or the version is deleted or destroyed){hint}") from None
        except hvac.exceptions.Forbidden:
            if attempt == 1 and current.relogin_after_refusal():
                continue
            raise SecretDeniedError(where, f"permission denied to {action}") from None
        except hvac.exceptions.Unauthorized:
            raise SecretAuthError(where, "Vault refused the token") from None
        except Exception as exc:
            raise _unreachable(exc, where) from None


def read(ref, conn):
    """The secret's data (a dict) at the asked version, or the current one."""
    answer = _call(ref, conn, "read the secret", lambda client: client.secrets.kv.v2.read_secret_version(
        path=ref.location, mount_point=ref.mount_point, version=ref.version, raise_on_deleted_version=True))
    return answer["data"]["data"]


def _timestamp(text):
    """Vault's RFC 3339 times carry nanoseconds; Python takes microseconds."""
    head, _dot, frac = text.rstrip("Z").partition(".")
    stamp = datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S")
    micro = int((frac + "000000")[:6]) if frac else 0
    return stamp.replace(microsecond=micro, tzinfo=datetime.timezone.utc)


def last_changed(ref, conn):
    """When the version in use was written, from the KV v2 metadata."""
    answer = _call(ref, conn, "read the secret's metadata", lambda client: client.secrets.kv.v2.read_secret_metadata(
        path=ref.location, mount_point=ref.mount_point))
    data = answer["data"]
    version = str(ref.version or data.get("current_version") or "")
    entry = (data.get("versions") or {}).get(version)
    if not entry or entry.get("destroyed") or entry.get("deletion_time"):
        raise SecretNotFoundError(ref.describe(), f"version {version or '?'} is missing, deleted or destroyed")
    return _timestamp(entry["created_time"]), "version created"
