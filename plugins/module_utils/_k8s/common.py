"""Options and the module edge shared by the Kubernetes modules (the modules themselves stay thin)."""

from .client import IMPORT_ERROR, connect
from .errors import K8sError

CLUSTER_ARGS = dict(
    kubeconfig=dict(type="path"),
    context=dict(type="str"),
    namespace=dict(type="str", required=True),
    request_timeout=dict(type="int", default=30),
)

# How the modules that change objects wait for the cluster to settle.
WAIT_ARGS = dict(
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
    poll_interval=dict(type="float", default=2.0),
)


def require_libs(module):
    if IMPORT_ERROR:
        module.fail_json(msg="the tonsurance.deploy Kubernetes modules need the kubernetes Python client "
                             "on the module's Python", exception=IMPORT_ERROR)


def open_cluster(module):
    """Connect with the module's cluster options; a failure names the kubeconfig and context, never a token."""
    params = module.params
    try:
        return connect(params.get("kubeconfig"), params.get("context"), params.get("request_timeout") or 30)
    except K8sError as exc:
        module.fail_json(msg=f"namespace {params['namespace']}: {exc}")
