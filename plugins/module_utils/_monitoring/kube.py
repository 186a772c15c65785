"""The cluster target: ConfigMaps for the rules and dashboards, and the exporter's Deployment and Service.

manifests() is pure: the same sources give the same objects, each stamped with the sha256 of its own
content. apply() compares that stamp with the one on the live object, so an unchanged object is
left alone whatever defaults the API server added to it.
"""

import copy
import hashlib
import json

from .errors import ProvisionError

HASH_ANNOTATION = "tonsurance.io/content-sha256"
CONFIG_MOUNT = "/etc/tonsurance/exporter"
RULES_CONFIGMAP = "tonsurance-alert-rules"
DASHBOARDS_CONFIGMAP = "tonsurance-dashboards"
EXPORTER_NAME = "tonsurance-exporter"


def _labels(component, network, extra=None):
    labels = {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": "tonsurance",
        "app.kubernetes.io/managed-by": "tonsurance.deploy",
        "tonsurance.io/network": network,
    }
    labels.update(extra or {})
    return labels


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _stamp(obj):
    obj["metadata"].setdefault("annotations", {})[HASH_ANNOTATION] = _digest(obj)
    return obj


def configmap(name, namespace, data, labels, annotations=None):
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)}


def exporter_objects(network, namespace, image, port, record_text, lite_config_text):
    config = configmap(f"{EXPORTER_NAME}-config", namespace,
                       {"record.json": record_text, "global.config.json": lite_config_text},
                       _labels(EXPORTER_NAME, network))
    selector = {"app.kubernetes.io/name": EXPORTER_NAME, "tonsurance.io/network": network}
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    probe = {"tcpSocket": {"port": "metrics"}, "periodSeconds": 20, "failureThreshold": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": EXPORTER_NAME, "namespace": namespace, "labels": _labels(EXPORTER_NAME, network)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": _labels(EXPORTER_NAME, network),
                    # A new record or liteserver list rolls the pod.
                    "annotations": dict(scrape, **{"tonsurance.io/config-sha256": _digest(config["data"])}),
                },
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "exporter",
                        "image": image,
                        "args": [
                            "--network", network, "--provider", "lite",
                            "--lite-config", f"{CONFIG_MOUNT}/global.config.json",
                            "--record", f"{CONFIG_MOUNT}/record.json",
                            "--listen", f"0.0.0.0:{port}",
                        ],
                        "ports": [{"name": "metrics", "containerPort": port, "protocol": "TCP"}],
                        "readinessProbe": dict(probe),
                        "livenessProbe": dict(probe, initialDelaySeconds=30),
                        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}],
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": config["metadata"]["name"]}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": EXPORTER_NAME, "namespace": namespace, "labels": _labels(EXPORTER_NAME, network),
                     "annotations": scrape},
        "spec": {"selector": selector, "ports": [{"name": "metrics", "port": port, "targetPort": "metrics"}]},
    }
    return [config, deployment, service]


def manifests(network, namespace, rules, dashboards, exporter_image=None, exporter_port=9464, record_text=None,
              lite_config_text=None):
    """Every object of the cluster target, in apply order, each stamped with its content hash."""
    objects = [
        configmap(RULES_CONFIGMAP, namespace, rules,
                  _labels(RULES_CONFIGMAP, network, {"prometheus_rule": "1"})),
        # Grafana's dashboard sidecar loads every ConfigMap labelled grafana_dashboard into the named folder.
        configmap(DASHBOARDS_CONFIGMAP, namespace, dashboards,
                  _labels(DASHBOARDS_CONFIGMAP, network, {"grafana_dashboard": "1"}), {"grafana_folder": "Tonsurance"}),
    ]
    if exporter_image:
        if not record_text or not lite_config_text:
            raise ProvisionError(f"the exporter on {network} needs a deployment record and a liteserver config")
        objects.extend(exporter_objects(network, namespace, exporter_image, exporter_port, record_text,
                                        lite_config_text))
    return [_stamp(obj) for obj in objects]


# kind -> (API class, read, create, update); ConfigMaps are replaced so that a removed key goes away,
# the others are patched so that fields the server owns (a Service's clusterIP) stay.
CALLS = {
    "ConfigMap": ("CoreV1Api", "read_namespaced_config_map", "create_namespaced_config_map",
                  "replace_namespaced_config_map"),
    "Service": ("CoreV1Api", "read_namespaced_service", "create_namespaced_service", "patch_namespaced_service"),
    "Deployment": ("AppsV1Api", "read_namespaced_deployment", "create_namespaced_deployment",
                   "patch_namespaced_deployment"),
}


def connect(kubeconfig=None, context=None):
    """An ApiClient from the kubeconfig file (or the default one), or the in-cluster service account."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    try:
        if kubeconfig or context:
            return config.new_client_from_config(config_file=kubeconfig or None, context=context or None)
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except ConfigException:
            return config.new_client_from_config()
    except (ConfigException, OSError) as exc:
        raise ProvisionError(f"cannot load the Kubernetes configuration ({kubeconfig or 'default'}): {exc}") from exc


def _data_of(live):
    return dict(getattr(live, "data", None) or {})


def apply(api_client, objects, check_mode):
    """[(kind, name, action, before data, after data)]; action is created, updated or unchanged."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    report = []
    for obj in objects:
        kind, name, namespace = obj["kind"], obj["metadata"]["name"], obj["metadata"]["namespace"]
        api_name, read, create, update = CALLS[kind]
        api = getattr(client, api_name)(api_client)
        where = f"{kind} {namespace}/{name}"
        try:
            live = getattr(api, read)(name, namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise ProvisionError(f"cannot read {where}: {exc.status} {exc.reason}") from exc
            live = None
        except (HTTPError, OSError) as exc:
            raise ProvisionError(f"cannot read {where}: the API server did not answer ({type(exc).__name__})") from exc
        if live is None:
            action, before = "created", None
        else:
            stamp = (live.metadata.annotations or {}).get(HASH_ANNOTATION)
            action = "unchanged" if stamp == obj["metadata"]["annotations"][HASH_ANNOTATION] else "updated"
            before = _data_of(live) if kind == "ConfigMap" else None
        if not check_mode and action != "unchanged":
            body = copy.deepcopy(obj)
            try:
                if action == "created":
                    getattr(api, create)(namespace, body)
                else:
                    if kind == "ConfigMap":
                        body["metadata"]["resourceVersion"] = live.metadata.resource_version
                    getattr(api, update)(name, namespace, body)
            except ApiException as exc:
                raise ProvisionError(f"cannot {'create' if action == 'created' else 'update'} {where}: "
                                     f"{exc.status} {exc.reason}") from exc
            except (HTTPError, OSError) as exc:
                raise ProvisionError(f"cannot {'create' if action == 'created' else 'update'} {where}: "
                                     f"the API server did not answer ({type(exc).__name__})") from exc
        report.append((kind, name, action, before, obj.get("data")))
    return report
