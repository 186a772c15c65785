"""Comparing rendered manifests with live objects, and the merge patches that reconcile them.

Writes are JSON merge patches (RFC 7386): every API server implements them the same way for
every kind, built-in or not. The price is that a merge patch cannot tell "absent from the
manifest" from "never set by us", so the manifest we applied last is kept in an annotation and
keys that disappeared from it are removed explicitly (the way client-side apply works).
"""

import copy
import json
import re

from .errors import ConfigError

LAST_APPLIED = "tonsurance.io/last-applied"
TRACK_LABEL = "tonsurance.io/track"
VERSION_LABEL = "app.kubernetes.io/version"
NAME_LABEL = "app.kubernetes.io/name"

APPLY_KINDS = ("ServiceAccount", "ConfigMap", "Service", "Deployment")
# Env names that hold credentials; such entries must reference a Secret, never carry the value.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|MNEMONIC|PRIVATE_KEY|API_KEY|CREDENTIAL|DATABASE_URL|DSN", re.I)


def validate(manifest, namespace):
    """Check one rendered manifest and return a copy placed in the namespace."""
    if not isinstance(manifest, dict):
        raise ConfigError("a manifest is not a mapping")
    kind = manifest.get("kind")
    name = (manifest.get("metadata") or {}).get("name")
    if kind == "Secret":
        raise ConfigError(f"Secret {name} is in the manifests; Secrets are referenced by name, never applied "
                          f"from here, so their values never pass through a run")
    if kind not in APPLY_KINDS:
        raise ConfigError(f"{kind} {name} cannot be applied; supported kinds: {', '.join(APPLY_KINDS)}")
    if not name or not manifest.get("apiVersion"):
        raise ConfigError(f"a {kind} manifest lacks apiVersion or metadata.name")
    declared = manifest["metadata"].get("namespace")
    if declared and declared != namespace:
        raise ConfigError(f"{kind} {name} declares namespace {declared}, but the run targets {namespace}")
    document = _without_nulls(manifest)
    document["metadata"]["namespace"] = namespace
    literal = literal_secrets(document)
    if literal:
        raise ConfigError(f"{kind} {name}: env {', '.join(literal)} carries a literal value; reference a "
                          f"Kubernetes Secret (valueFrom.secretKeyRef) instead")
    return document


def _without_nulls(value):
    """A copy without null values: a null in a merge patch would delete the field instead of setting it."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _pod_specs(manifest):
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "Deployment":
        yield (spec.get("template") or {}).get("spec") or {}


def secret_references(manifest):
    """(secret, key) pairs the pods of a manifest need; key None means the whole Secret."""
    found = []
    for pod in _pod_specs(manifest):
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    found.append((ref.get("name"), ref.get("key")))
            for source in container.get("envFrom") or []:
                ref = source.get("secretRef")
                if ref and not ref.get("optional"):
                    found.append((ref.get("name"), None))
        for volume in pod.get("volumes") or []:
            ref = volume.get("secret")
            if ref and not ref.get("optional"):
                found.append((ref.get("secretName"), None))
    return found


def literal_secrets(manifest):
    """Env entries whose name says secret but which carry a literal value instead of a reference."""
    bad = []
    for pod in _pod_specs(manifest):
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            for env in container.get("env") or []:
                if SECRET_NAME.search(env.get("name") or "") and "value" in env:
                    bad.append(f"{container.get('name')}/{env['name']}")
    return bad


def is_subset(desired, live):
    """True when every field of desired is present and equal in live (server defaults are ignored)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(key in live and is_subset(value, live[key]) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(desired) != len(live):
            return False
        return all(is_subset(a, b) for a, b in zip(desired, live))
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    return desired == live


def removals(last_applied, desired, live):
    """A merge patch that removes what we applied last time and no longer want (and live still has)."""
    patch = {}
    if not isinstance(last_applied, dict) or not isinstance(live, dict):
        return patch
    desired = desired if isinstance(desired, dict) else {}
    for key, before in last_applied.items():
        if key not in live:
            continue
        if key not in desired:
            patch[key] = None
        elif isinstance(before, dict) and isinstance(desired[key], dict):
            nested = removals(before, desired[key], live[key])
            if nested:
                patch[key] = nested
    return patch


def merge(base, patch):
    """Apply a merge patch to a copy of base."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def project(live, desired):
    """The part of live that desired speaks about (for a readable before/after diff)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {key: project(live[key], value) for key, value in desired.items() if key in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project(a, b) for a, b in zip(live, desired)]
    return live


def last_applied_of(live):
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def recordable(desired):
    """What the last-applied annotation keeps: the manifest without the fields the rollout owns.

    Image tags and replica counts change with every release; keeping them out of the record means
    a run that only moves images leaves the annotation, and so the object, as it was.
    """
    recorded = copy.deepcopy(desired)
    recorded.get("metadata", {}).get("annotations", {}).pop(LAST_APPLIED, None)
    if recorded.get("kind") == "Deployment":
        spec = recorded.get("spec") or {}
        spec.pop("replicas", None)
        template = spec.get("template") or {}
        ((template.get("metadata") or {}).get("labels") or {}).pop(VERSION_LABEL, None)
        for container in (template.get("spec") or {}).get("containers") or []:
            container.pop("image", None)
    return recorded


def with_last_applied(desired):
    """desired, annotated with its recordable part (compact JSON), ready to send."""
    document = copy.deepcopy(desired)
    annotations = document["metadata"].setdefault("annotations", {})
    annotations[LAST_APPLIED] = json.dumps(recordable(desired), sort_keys=True, separators=(",", ":"))
    return document


def container_of(pod_spec, name):
    for container in pod_spec.get("containers") or []:
        if container.get("name") == name:
            return container
    return None


def hand_over_rollout_fields(desired, live):
    """Keep what the gradual rollout owns on a live Deployment: replicas, images, the version label.

    A manifest renders the image a fresh install starts with; once the Deployment exists, images
    change only through the gated rollout and replica counts only through its steps.
    """
    if desired.get("kind") != "Deployment" or not live:
        return desired
    document = copy.deepcopy(desired)
    spec = document.setdefault("spec", {})
    live_spec = live.get("spec") or {}
    if "replicas" in live_spec:
        spec["replicas"] = live_spec["replicas"]
    template = spec.setdefault("template", {})
    live_template = live_spec.get("template") or {}
    live_version = ((live_template.get("metadata") or {}).get("labels") or {}).get(VERSION_LABEL)
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    if live_version is not None:
        labels[VERSION_LABEL] = live_version
    else:
        labels.pop(VERSION_LABEL, None)
    live_pod = live_template.get("spec") or {}
    for container in (template.get("spec") or {}).get("containers") or []:
        current = container_of(live_pod, container.get("name"))
        if current and current.get("image"):
            container["image"] = current["image"]
    return document


def check_immutable(desired, live):
    """Refuse changes the API server would reject anyway, with a clearer message."""
    if desired.get("kind") != "Deployment" or not live:
        return
    want = ((desired.get("spec") or {}).get("selector") or {})
    have = ((live.get("spec") or {}).get("selector") or {})
    if want and have and want != have:
        name = desired["metadata"]["name"]
        raise ConfigError(f"Deployment {name}: selector {json.dumps(want, sort_keys=True)} differs from the live "
                          f"{json.dumps(have, sort_keys=True)}; Kubernetes cannot change a selector in place")


def reconcile(desired, live):
    """Return (patch or None, after) for a live object; patch None means nothing to send."""
    desired = hand_over_rollout_fields(desired, live)
    check_immutable(desired, live)
    previous = last_applied_of(live)
    removed = removals(previous, desired, live)
    wanted = with_last_applied(desired)
    # The annotation itself is compared as data: a changed manifest always shows in it.
    if is_subset(wanted, live) and not removed:
        return None, desired
    patch = merge(removed, {k: v for k, v in wanted.items() if k not in ("apiVersion", "kind")})
    return patch, desired
