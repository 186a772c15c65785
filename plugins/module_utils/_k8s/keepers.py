"""Point the keepers at the contracts of the deployment record.

Each keeper reads its contract addresses from plain env entries of its container (ORACLE_ADDRESS and
the like). Addresses are compared as (workchain, hash), never as strings, so a raw and a
user-friendly form of the same contract count as the same address.
"""

import copy
import time

from .errors import ConfigError
from .manifests import container_of
from .rollout import CANARY_SUFFIX, image_of
from .waiter import wait_for

IMPORT_ERROR = None
try:
    from pytoniq_core import Address
except ImportError:  # pragma: no cover - pytoniq-core is a dependency of the collection
    Address = None
    IMPORT_ERROR = "pytoniq-core is not installed"


def parse_address(text):
    if Address is None:
        raise ConfigError(IMPORT_ERROR)
    try:
        address = Address(text)
    except Exception:  # pytoniq-core raises plain exceptions of several kinds for malformed input
        return None
    return (address.wc, bytes(address.hash_part))


def same_address(live, wanted):
    if live is None:
        return False
    a, b = parse_address(live), parse_address(wanted)
    return a is not None and a == b


class KeeperConfig:
    def __init__(self, cluster, namespace, keepers, addresses, wait=True, wait_timeout=600, poll_interval=2.0,
                 clock=time.monotonic, sleep=time.sleep):
        for name, address in addresses.items():
            if parse_address(address) is None:
                raise ConfigError(f"{name}={address} is not a TON address")
        self.cluster = cluster
        self.namespace = namespace
        self.keepers = keepers
        self.addresses = addresses
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self.writes = 0

    def _plan(self, deployment, keeper):
        """(container name, new containers list or None, before, after) for one Deployment."""
        pod = (deployment.get("spec") or {}).get("template", {}).get("spec") or {}
        target = container_of(pod, keeper) or (pod.get("containers") or [None])[0]
        if target is None:
            raise ConfigError(f"Deployment {deployment['metadata']['name']} has no container")
        containers = copy.deepcopy(pod.get("containers") or [])
        container = next(c for c in containers if c.get("name") == target.get("name"))
        env = container.setdefault("env", [])
        current = {entry.get("name"): entry.get("value") for entry in env}
        before = {name: current.get(name) for name in self.addresses}
        changes = {name: value for name, value in self.addresses.items() if not same_address(before[name], value)}
        if not changes:
            return container["name"], None, before, before
        for entry in env:
            if entry.get("name") in changes:
                entry.pop("valueFrom", None)
                entry["value"] = changes[entry["name"]]
        env.extend({"name": name, "value": value} for name, value in sorted(changes.items())
                   if name not in current)
        return container["name"], containers, before, dict(before, **changes)

    def run(self, check_mode=False):
        results, to_wait = [], []
        for keeper in self.keepers:
            for name in (keeper, keeper + CANARY_SUFFIX):
                deployment = self.cluster.get("Deployment", name, self.namespace)
                if deployment is None:
                    if name == keeper and not check_mode:
                        raise ConfigError(f"keeper Deployment {self.namespace}/{keeper} does not exist")
                    # In check mode the apply step before this one may only have planned to create it.
                    continue
                container, containers, before, after = self._plan(deployment, keeper)
                results.append({"deployment": name, "changed": containers is not None, "before": before,
                                "after": after})
                if containers is not None and not check_mode:
                    self.writes += 1
                    patched = self.cluster.patch("Deployment", name, {"spec": {"template": {"spec": {
                        "containers": containers}}}}, self.namespace)
                    to_wait.append((patched, container))
        waited = {}
        if self.wait:
            for deployment, container in to_wait:
                name = deployment["metadata"]["name"]
                waited[name] = wait_for(self.cluster, self.namespace, name, deployment["spec"].get("replicas", 1),
                                        image_of(deployment, container), container, self.wait_timeout,
                                        self.poll_interval, clock=self.clock, sleep=self.sleep)
        return {"changed": any(r["changed"] for r in results), "keepers": results, "waited_seconds": waited}
