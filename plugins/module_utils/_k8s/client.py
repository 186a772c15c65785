"""A thin, dict-in dict-out client over the `kubernetes` package's transport and kubeconfig loader.

The typed API classes turn objects into models that drop and default fields; comparing what we
want with what the cluster holds needs the raw JSON, so requests go through `ApiClient` directly
with the resource paths below. Authentication, TLS, exec plugins and token refresh stay the
library's job.
"""

import json
import os
import urllib.parse

from .errors import ClusterError, ConfigError

IMPORT_ERROR = None
try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:  # the module's Python lacks the kubernetes client
    import traceback

    IMPORT_ERROR = traceback.format_exc()

# kind -> (API prefix, plural, namespaced). Only what the backend role manages or reads.
RESOURCES = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Service": ("/api/v1", "services", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Secret": ("/api/v1", "secrets", True),
    "Pod": ("/api/v1", "pods", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
}

MERGE_PATCH = "application/merge-patch+json"


def describe(kind, name, namespace=None):
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def connect(kubeconfig=None, context=None, request_timeout=30):
    """Build a Cluster from a kubeconfig (and context), or from the in-cluster service account."""
    if IMPORT_ERROR:
        raise ConfigError("the kubernetes Python client is not installed on the module's Python")
    configuration = k8s_client.Configuration()
    default = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    try:
        if kubeconfig or context or os.path.exists(default):
            path = kubeconfig or default
            if not os.path.isfile(path):
                raise ConfigError(f"kubeconfig {path} does not exist")
            k8s_config.load_kube_config(config_file=path, context=context or None,
                                        client_configuration=configuration, persist_config=False)
        else:
            k8s_config.load_incluster_config(client_configuration=configuration)
    except ConfigException as exc:
        where = f"kubeconfig {kubeconfig}" if kubeconfig else "the in-cluster configuration"
        suffix = f" (context {context})" if context else ""
        raise ConfigError(f"cannot load {where}{suffix}: {exc}") from None
    return Cluster(k8s_client.ApiClient(configuration), request_timeout=request_timeout)


def _status_reason(exc):
    """The Status message of an API error; never the body of a Secret."""
    try:
        document = json.loads(exc.body or "{}")
    except ValueError:
        document = {}
    return document.get("message") or exc.reason or "no reason given"


class Cluster:
    def __init__(self, api_client, request_timeout=30):
        self.api = api_client
        self.request_timeout = request_timeout
        self.requests = 0

    @property
    def host(self):
        return self.api.configuration.host

    def close(self):
        self.api.close()

    # Paths and transport

    def _path(self, kind, namespace=None, name=None, subresource=None):
        if kind not in RESOURCES:
            raise ConfigError(f"kind {kind} is not managed by this collection")
        prefix, plural, namespaced = RESOURCES[kind]
        parts = [prefix]
        if namespaced:
            if not namespace:
                raise ConfigError(f"{kind} {name or ''} needs a namespace")
            parts += ["namespaces", urllib.parse.quote(namespace, safe="")]
        parts.append(plural)
        if name:
            parts.append(urllib.parse.quote(name, safe=""))
        if subresource:
            parts.append(subresource)
        return "/".join(parts)

    def _call(self, action, target, method, path, query=None, body=None, content_type="application/json"):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        self.requests += 1
        try:
            request = self.api.param_serialize(method, path, query_params=query or [], header_params=headers,
                                               body=body, auth_settings=["BearerToken"])
            response = self.api.call_api(*request, _request_timeout=self.request_timeout)
            response.read()
        except ApiException as exc:
            raise ClusterError(action, target, _status_reason(exc), exc.status or None) from None
        except (TransportError, OSError) as exc:
            raise ClusterError(action, target, f"cannot reach the Kubernetes API at {self.host}: "
                                               f"{type(exc).__name__}") from None
        data = response.data or b"{}"
        if not 200 <= response.status <= 299:
            try:
                document = json.loads(data)
            except ValueError:
                document = {}
            return response.status, {"message": document.get("message") or response.reason}
        try:
            return response.status, json.loads(data)
        except ValueError:
            raise ClusterError(action, target, "the API answered with something that is not JSON") from None

    @staticmethod
    def _raise(action, target, status, document):
        raise ClusterError(action, target, document.get("message") or "no reason given", status)

    # Objects

    def get(self, kind, name, namespace=None):
        """The object as the API returns it, or None when it does not exist."""
        target = describe(kind, name, namespace)
        status, document = self._call("read", target, "GET", self._path(kind, namespace, name))
        if status == 404:
            return None
        if status >= 300:
            self._raise("read", target, status, document)
        return document

    def create(self, kind, body, namespace=None):
        name = body.get("metadata", {}).get("name")
        target = describe(kind, name, namespace)
        status, document = self._call("create", target, "POST", self._path(kind, namespace), body=body)
        if status >= 300:
            self._raise("create", target, status, document)
        return document

    def patch(self, kind, name, patch, namespace=None):
        """JSON merge patch (RFC 7386): dicts merge, lists are replaced, null removes a key."""
        target = describe(kind, name, namespace)
        status, document = self._call("patch", target, "PATCH", self._path(kind, namespace, name),
                                      body=patch, content_type=MERGE_PATCH)
        if status >= 300:
            self._raise("patch", target, status, document)
        return document

    def list(self, kind, namespace, match_labels=None):
        """Objects of a kind whose labels include match_labels (filtered here too, whatever the server did)."""
        match_labels = match_labels or {}
        query = []
        if match_labels:
            query.append(("labelSelector", ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))))
        target = f"{RESOURCES.get(kind, (None, kind))[1]} in {namespace}"
        status, document = self._call("list", target, "GET", self._path(kind, namespace), query=query)
        if status >= 300:
            self._raise("list", target, status, document)
        items = document.get("items") or []
        return [item for item in items
                if all((item.get("metadata", {}).get("labels") or {}).get(k) == v for k, v in match_labels.items())]

    def secret_keys(self, name, namespace):
        """The key names of a Secret, or None when it does not exist. Values are dropped at once."""
        document = self.get("Secret", name, namespace)
        if document is None:
            return None
        keys = set(document.get("data") or {}) | set(document.get("stringData") or {})
        document.clear()
        return keys
