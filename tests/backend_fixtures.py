"""Fixtures and helpers of the backend tests: an emulated cluster, a backfilled Prometheus, and
independent reads through the plain kubernetes client (not the collection's code).

tests/conftest.py loads this file as a plugin; `prometheus` reads its test module's GATE_SERIES.
"""

import json
import os

import pytest
from kubernetes.client.exceptions import ApiException
from kubernetes import client as k8s_client

from backend_cluster import Cluster
from backend_metrics import PrometheusServer

POLL = 0.05  # seconds between two looks of the modules while waiting, in tests


@pytest.fixture(scope="module")
def cluster():
    emulated = Cluster().start()
    yield emulated
    emulated.stop()


@pytest.fixture(scope="module")
def kubeconfig(cluster, tmp_path_factory):
    return cluster.kubeconfig(str(tmp_path_factory.mktemp("kube") / "config"))


@pytest.fixture(scope="module")
def prometheus(request, tmp_path_factory):
    server = PrometheusServer(str(tmp_path_factory.mktemp("prometheus")), request.module.GATE_SERIES).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kube(cluster):
    """A plain client for set-up and read-back."""
    configuration = k8s_client.Configuration()
    configuration.host = cluster.url
    api = k8s_client.ApiClient(configuration)
    yield Kube(api)
    api.close()


class Kube:
    def __init__(self, api):
        self.core = k8s_client.CoreV1Api(api)
        self.apps = k8s_client.AppsV1Api(api)

    @staticmethod
    def _json(response):
        return json.loads(response.data)

    def namespace(self, name):
        # The emulated cluster lives for the module: a second test finds what the first one made.
        try:
            self.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                                       _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise

    def secret(self, namespace, name, keys):
        data = {key: "c2VjcmV0" for key in keys}  # base64 of a placeholder; never a real credential
        try:
            self.core.create_namespaced_secret(namespace, {"apiVersion": "v1", "kind": "Secret",
                                                           "metadata": {"name": name}, "data": data},
                                               _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise

    def create_deployment(self, namespace, manifest):
        self.apps.create_namespaced_deployment(namespace, manifest, _preload_content=False)

    def deployment(self, namespace, name):
        try:
            return self._json(self.apps.read_namespaced_deployment(name, namespace, _preload_content=False))
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def service(self, namespace, name):
        try:
            return self._json(self.core.read_namespaced_service(name, namespace, _preload_content=False))
        except k8s_client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def pods(self, namespace, **labels):
        items = self._json(self.core.list_namespaced_pod(namespace, _preload_content=False))["items"]
        return [pod for pod in items if all(pod["metadata"]["labels"].get(k) == v for k, v in labels.items())]

    def images(self, namespace, service):
        """Ready pods of a service by image, read from the pods themselves."""
        counts = {}
        for pod in self.pods(namespace, **{"app.kubernetes.io/name": service}):
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"]["conditions"])
            if ready:
                image = pod["spec"]["containers"][0]["image"]
                counts[image] = counts.get(image, 0) + 1
        return counts


def image(service, tag, registry="registry.tonsurance.io/tonsurance"):
    return f"{registry}/{service}:{tag}"


def stable_deployment(service, tag, replicas, progress_deadline=600):
    """A stable-track Deployment in the collection's label scheme (what the role's templates render)."""
    labels = {"app.kubernetes.io/name": service, "tonsurance.io/track": "stable"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": service, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "progressDeadlineSeconds": progress_deadline,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels, **{"app.kubernetes.io/version": tag})},
                "spec": {"containers": [{"name": service, "image": image(service, tag),
                                         "ports": [{"name": "http", "containerPort": 8080}],
                                         "env": [{"name": "NETWORK", "value": "testnet"}]}]},
            },
        },
    }


def service_manifest(service):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": service},
            "spec": {"selector": {"app.kubernetes.io/name": service},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def cluster_args(kubeconfig, namespace):
    return {"kubeconfig": kubeconfig, "namespace": namespace}


def record_file(directory, network, contracts, extra=None):
    """A deployment record as the deployment_record module writes it."""
    import datetime

    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    path = os.path.join(directory, f"{network}-{now:%Y%m%d}.json")
    document = {"network": network, "generated_at": now.isoformat(timespec="seconds"), "commit": "test",
                "contracts": contracts, "contract_count": len(contracts)}
    document.update(extra or {})
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    return path
