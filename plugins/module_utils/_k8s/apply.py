"""Apply rendered manifests to a namespace: observe, create or patch what differs, wait, re-observe."""

import time

from .errors import ConfigError
from .manifests import APPLY_KINDS, project, reconcile, secret_references, validate, with_last_applied
from .rollout import image_of
from .waiter import wait_for


def _key(manifest):
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


class Applier:
    def __init__(self, cluster, namespace, create_namespace=True, namespace_labels=None, check_secrets=True,
                 wait=True, wait_timeout=600, poll_interval=2.0, clock=time.monotonic, sleep=time.sleep):
        self.cluster = cluster
        self.namespace = namespace
        self.create_namespace = create_namespace
        self.namespace_labels = namespace_labels or {}
        self.check_secrets = check_secrets
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self.writes = 0

    def ensure_namespace(self, check_mode):
        """Return (action, exists afterwards)."""
        live = self.cluster.get("Namespace", self.namespace)
        if live is None:
            if not self.create_namespace:
                raise ConfigError(f"namespace {self.namespace} does not exist and create_namespace is off")
            if not check_mode:
                self.writes += 1
                self.cluster.create("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                    "name": self.namespace, "labels": self.namespace_labels}})
            return "created", not check_mode
        labels = (live.get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in self.namespace_labels.items()):
            if not check_mode:
                self.writes += 1
                self.cluster.patch("Namespace", self.namespace, {"metadata": {"labels": self.namespace_labels}})
            return "updated", True
        return "unchanged", True

    def missing_secrets(self, manifests, namespace_exists):
        """'secret' or 'secret/key' for every reference the namespace cannot satisfy; values are never read out."""
        wanted = {}
        for manifest in manifests:
            for secret, key in secret_references(manifest):
                wanted.setdefault(secret, set())
                if key:
                    wanted[secret].add(key)
        missing = []
        for secret in sorted(wanted):
            keys = self.cluster.secret_keys(secret, self.namespace) if namespace_exists else None
            if keys is None:
                missing.append(secret)
            else:
                missing.extend(f"{secret}/{key}" for key in sorted(wanted[secret] - keys))
        return missing

    def run(self, manifests, check_mode=False):
        documents = [validate(manifest, self.namespace) for manifest in manifests]
        names = [_key(document) for document in documents]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ConfigError(f"manifests name {', '.join(duplicates)} more than once")
        documents.sort(key=lambda d: APPLY_KINDS.index(d["kind"]))

        namespace_action, namespace_exists = self.ensure_namespace(check_mode)
        if self.check_secrets:
            missing = self.missing_secrets(documents, namespace_exists)
            if missing:
                raise ConfigError(f"the services reference Secrets that namespace {self.namespace} does not hold: "
                                  f"{', '.join(missing)}; create them (values never pass through this collection)")

        objects, before, after, to_wait = [], {}, {}, []
        for desired in documents:
            kind, name = desired["kind"], desired["metadata"]["name"]
            live = self.cluster.get(kind, name, self.namespace) if namespace_exists else None
            if live is None:
                action = "created"
                if not check_mode:
                    self.writes += 1
                    live = self.cluster.create(kind, with_last_applied(desired), self.namespace)
                after[_key(desired)] = desired
            else:
                patch, effective = reconcile(desired, live)
                action = "unchanged" if patch is None else "updated"
                before[_key(desired)] = project(live, effective)
                after[_key(desired)] = effective
                if patch is not None and not check_mode:
                    self.writes += 1
                    live = self.cluster.patch(kind, name, patch, self.namespace)
            objects.append({"kind": kind, "name": name, "action": action})
            if kind == "Deployment" and action != "unchanged" and not check_mode:
                to_wait.append(live)

        waited = {}
        if self.wait:
            for deployment in to_wait:
                name = deployment["metadata"]["name"]
                container = deployment["spec"]["template"]["spec"]["containers"][0]["name"]
                waited[name] = wait_for(self.cluster, self.namespace, name, deployment["spec"].get("replicas", 1),
                                        image_of(deployment, container), container, self.wait_timeout,
                                        self.poll_interval, clock=self.clock, sleep=self.sleep)

        changed = namespace_action != "unchanged" or any(o["action"] != "unchanged" for o in objects)
        return {"changed": changed, "namespace_action": namespace_action, "objects": objects,
                "waited_seconds": waited, "diff": {"before": before, "after": after}}
