#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: k8s_backend_apply
short_description: Apply the backend's rendered manifests to its namespace
description:
  - Ensures the namespace exists (with O(namespace_labels)), checks that every Secret the pods reference
    exists with the referenced keys, then creates or patches each manifest so that the cluster holds what
    it says. Objects that already match are left alone, and the task then reports no change.
  - Accepted kinds are ServiceAccount, ConfigMap, Service and Deployment. A Secret in the manifests is
    refused, and so is an env entry named like a credential (password, token, mnemonic, database URL...)
    that carries a literal value; credentials reach pods only as references to Kubernetes Secrets.
  - Changes are sent as JSON merge patches. The manifest applied last is kept in the
    C(tonsurance.io/last-applied) annotation, so a field dropped from a manifest is removed from the
    object too; fields set by the server or by others are not touched.
  - On an existing Deployment the image of each container, the replica count and the pods'
    C(app.kubernetes.io/version) label are left as they are, since M(tonsurance.deploy.k8s_gradual_rollout)
    owns them. A new Deployment starts with the image and replica count of its manifest.
  - With O(wait=true) the task waits until every created or changed Deployment runs its pods, with the
    same readiness rule as the rollout (observedGeneration, updated and available counts, ready pods on
    the image).
version_added: 0.2.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.kubernetes
  - tonsurance.deploy.attributes
options:
  manifests:
    description: Rendered manifests, each a mapping with apiVersion, kind and metadata.name.
    type: list
    elements: dict
    required: true
  create_namespace:
    description: Create the namespace when it does not exist.
    type: bool
    default: true
  namespace_labels:
    description: Labels the namespace must carry.
    type: dict
    default: {}
  check_secrets:
    description:
      - Fail before changing anything but the namespace when a referenced Secret or key is missing.
      - Only the key names of a Secret are looked at; values are dropped as soon as they arrive.
    type: bool
    default: true
  wait:
    description: Wait for created or changed Deployments to run their pods.
    type: bool
    default: true
  wait_timeout:
    description: Seconds each Deployment may take to become ready.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two looks at a Deployment while waiting.
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the cluster and reports what would be created or updated; nothing is written.
  diff_mode:
    support: full
notes:
  - Server-side defaults (for example a container's C(terminationMessagePath)) are not compared, so a
    manifest must spell quantities the way the API server stores them (C(500m), C(256Mi)) to be seen as
    unchanged.
  - A Deployment's selector cannot change in place; such a change fails before anything is sent.
  - O(check_secrets) needs permission to get Secrets in the namespace; without it, turn the check off.
"""

EXAMPLES = r"""
- name: Show what applying the testnet backend would change
  tonsurance.deploy.k8s_backend_apply:
    kubeconfig: /etc/tonsurance/kubeconfig
    namespace: tonsurance-testnet
    manifests: "{{ backend_manifests }}"
  check_mode: true
  diff: true

- name: Apply the testnet backend
  tonsurance.deploy.k8s_backend_apply:
    kubeconfig: /etc/tonsurance/kubeconfig
    context: tonsurance-testnet
    namespace: tonsurance-testnet
    namespace_labels:
      tonsurance.io/network: testnet
    manifests: "{{ backend_manifests }}"
"""

RETURN = r"""
namespace_action:
  description: C(created), C(updated) (labels) or C(unchanged).
  returned: always
  type: str
  sample: unchanged
objects:
  description: Each object with what happened to it (C(created), C(updated), C(unchanged)).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "name": "api-v2", "action": "updated"}]
waited_seconds:
  description: Seconds waited for each created or changed Deployment.
  returned: always
  type: dict
  sample: {"api-v2": 38.5}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s import common
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.apply import Applier
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.errors import K8sError


def argument_spec():
    spec = dict(common.CLUSTER_ARGS, **common.WAIT_ARGS)
    spec.update(
        manifests=dict(type="list", elements="dict", required=True),
        create_namespace=dict(type="bool", default=True),
        namespace_labels=dict(type="dict", default={}),
        check_secrets=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    cluster = common.open_cluster(module)

    applier = Applier(cluster, params["namespace"], params["create_namespace"], params["namespace_labels"],
                      params["check_secrets"], params["wait"], params["wait_timeout"], params["poll_interval"])
    try:
        result = applier.run(params["manifests"], check_mode=module.check_mode)
    except K8sError as exc:
        module.fail_json(msg=f"namespace {params['namespace']}: {exc}", changed=applier.writes > 0)
    finally:
        cluster.close()

    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
