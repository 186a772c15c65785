"""Secret references: where a secret lives, never what it is.

A reference is what inventories hold (a dict, or a plain name with the backend given elsewhere). It
may carry a key inside a JSON value, a version, and connection overrides such as a region or a Vault
namespace, but never a credential: references live in git.
"""

import re

from .errors import SecretConfigError

BACKENDS = ("aws", "vault", "local")
KINDS = ("wallet", "database_password", "api_key", "encryption_key")

# Reference field -> the connection option it overrides.
CONNECTION_FIELDS = {
    "region": "aws_region",
    "profile": "aws_profile",
    "endpoint_url": "aws_endpoint_url",
    "url": "vault_url",
    "namespace": "vault_namespace",
    "store": "store",
}
FIELDS = {
    "backend", "name", "path", "key", "mount_point", "version", "version_stage", "version_id",
    "binary", "kind", "max_age_days", "label",
} | set(CONNECTION_FIELDS)
CREDENTIAL_HINTS = ("token", "secret_id", "role_id", "password", "access_key", "secret_key")

_ARN = re.compile(r"^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:(?P<name>.+?)(?:-[A-Za-z0-9]{6})?$")


class Reference:
    """One resolved reference: backend, location and selectors; connection overrides apart."""

    def __init__(self, backend, location, key=None, mount_point=None, version=None, version_stage=None,
                 version_id=None, binary="base64", kind=None, max_age_days=None, label=None, overrides=None):
        self.backend = backend
        self.location = location
        self.key = key
        self.mount_point = mount_point
        self.version = version
        self.version_stage = version_stage
        self.version_id = version_id
        self.binary = binary
        self.kind = kind
        self.max_age_days = max_age_days
        self.label = label
        self.overrides = overrides or {}

    def describe(self):
        """How errors and results name the secret: backend and location, never a value."""
        if self.backend == "aws":
            text = f"aws secret {self.location}"
            if self.version_id:
                text += f" version {self.version_id}"
            elif self.version_stage:
                text += f" stage {self.version_stage}"
        elif self.backend == "vault":
            namespace = self.overrides.get("vault_namespace")
            text = f"vault {'namespace ' + namespace + ' ' if namespace else ''}{self.mount_point}/{self.location}"
            if self.version:
                text += f" version {self.version}"
        else:
            text = f"local secret {self.location}"
        if self.key:
            text += f" key {'.'.join(self.key)}"
        return text

    def identity(self):
        """What makes two references the same secret, whatever key, version or endpoint they pick."""
        if self.backend == "aws":
            match = _ARN.match(self.location)
            return ("aws", match.group("name") if match else self.location)
        if self.backend == "vault":
            return ("vault", (self.overrides.get("vault_namespace") or "").strip("/"), self.mount_point,
                    self.location)
        return ("local", self.overrides.get("store") or "", self.location)


def split_key(key):
    """A key is 'a.b.c' or a list of parts (for parts that hold dots)."""
    if key is None or key == "" or key == []:
        return None
    if isinstance(key, str):
        parts = key.split(".")
    elif isinstance(key, (list, tuple)):
        parts = [str(part) for part in key]
    else:
        raise SecretConfigError("secret reference", f"key must be a string or a list, not {type(key).__name__}")
    if any(part == "" for part in parts):
        raise SecretConfigError("secret reference", f"key {key!r} has an empty part")
    return tuple(parts)


def vault_path(path, mount_point, mount_given):
    """Return (mount_point, path) for KV v2, accepting a path pasted from the API or the UI."""
    where = f"vault path {path}"
    cleaned = path.strip().strip("/")
    if cleaned.startswith("v1/"):
        cleaned = cleaned[3:]
    head, _slash, rest = cleaned.partition("/")
    if head == mount_point and rest.startswith("metadata/"):
        raise SecretConfigError(where, f"is a KV v2 metadata path; give the secret's path under mount "
                                       f"{mount_point} without '{mount_point}/metadata/'")
    if head == mount_point and rest.startswith("data/"):
        cleaned = rest[len("data/"):]
    elif not mount_given and rest.startswith("data/") and rest != "data/":
        # A full API path such as kv/data/app/db names its own mount when none was given.
        mount_point, cleaned = head, rest[len("data/"):]
    if not cleaned:
        raise SecretConfigError(where, "names no secret below the mount point")
    return mount_point, cleaned


def parse(term, options):
    """Build a Reference from a lookup term (a name or a dict) over the lookup's options."""
    if isinstance(term, str):
        term = {"name": term}
    if not isinstance(term, dict):
        raise SecretConfigError("secret reference", f"must be a name or a dict, not {type(term).__name__}")
    unknown = sorted(set(term) - FIELDS)
    if unknown:
        credential = [k for k in unknown if any(hint in k for hint in CREDENTIAL_HINTS)]
        if credential:
            raise SecretConfigError("secret reference", f"field {credential[0]} looks like a credential; "
                                    "credentials belong in the connection options, never in a reference")
        raise SecretConfigError("secret reference", f"unknown field {unknown[0]}; known: {', '.join(sorted(FIELDS))}")

    backend = term.get("backend") or options.get("backend") or "local"
    if backend not in BACKENDS:
        raise SecretConfigError("secret reference", f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    location = term.get("path") or term.get("name")
    if not location or not isinstance(location, str):
        raise SecretConfigError(f"{backend} secret reference", "needs a name (or path)")

    key = split_key(term["key"] if "key" in term else options.get("key"))
    overrides = {option: term[field] for field, option in CONNECTION_FIELDS.items() if term.get(field)}
    kind = term.get("kind")
    if kind is not None and kind not in KINDS:
        raise SecretConfigError(f"{backend} secret {location}", f"kind {kind!r} is not one of {', '.join(KINDS)}")

    mount_point = None
    version = None
    if backend == "vault":
        mount_given = term.get("mount_point") or options.get("vault_mount_point")
        mount_point, location = vault_path(location, (mount_given or "secret").strip("/"), bool(mount_given))
        version = term.get("version", options.get("version"))
        if version is not None:
            try:
                version = int(version)
            except (TypeError, ValueError):
                raise SecretConfigError(f"vault {mount_point}/{location}", "version must be an integer") from None
            if version < 1:
                raise SecretConfigError(f"vault {mount_point}/{location}", "version must be 1 or more")

    version_stage = version_id = None
    if backend == "aws":
        version_id = term.get("version_id", options.get("version_id"))
        version_stage = term.get("version_stage", options.get("version_stage"))
        if version_id and version_stage:
            raise SecretConfigError(f"aws secret {location}", "give version_id or version_stage, not both")

    binary = term.get("binary") or options.get("binary") or "base64"
    if binary not in ("base64", "text"):
        raise SecretConfigError(f"{backend} secret {location}", "binary must be base64 or text")

    return Reference(backend, location, key=key, mount_point=mount_point, version=version,
                     version_stage=version_stage, version_id=version_id, binary=binary, kind=kind,
                     max_age_days=term.get("max_age_days"), label=term.get("label"), overrides=overrides)
