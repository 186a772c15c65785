class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path of the kubeconfig file of the cluster.
      - When neither O(kubeconfig) nor O(context) is set, C($KUBECONFIG) or C(~/.kube/config) is used if it
        exists, and otherwise the in-cluster service account (for AWX execution pods).
    type: path
  context:
    description:
      - Context of the kubeconfig to use; its current context when unset.
    type: str
  namespace:
    description:
      - Namespace of the backend, one per network (C(tonsurance-testnet), C(tonsurance-mainnet)).
    type: str
    required: true
  request_timeout:
    description:
      - Seconds to wait for each answer of the Kubernetes API.
    type: int
    default: 30
"""
