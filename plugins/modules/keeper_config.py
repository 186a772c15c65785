#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: keeper_config
short_description: Point the keepers at the contract addresses of the deployment record
description:
  - Sets the contract address env entries (for example C(ORACLE_ADDRESS)) of each keeper's container to
    the addresses given, on the keeper's Deployment and on its canary track if one exists, then waits
    until the keepers run with them.
  - Addresses are compared as (workchain, hash), so the raw and the user-friendly form of one contract
    are the same address. A keeper already pointing at the right contracts is left alone, and the task
    then reports no change. Other env entries are kept as they are.
version_added: 0.2.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.kubernetes
  - tonsurance.deploy.attributes
options:
  keepers:
    description: Names of the keeper Deployments (and of their containers).
    type: list
    elements: str
    default: [pricing-keeper, bridge-health-keeper]
  addresses:
    description:
      - Env name to contract address, usually built from the deployment record, for example
        C(ORACLE_ADDRESS) to the PricingOracle's address.
    type: dict
    required: true
  wait:
    description: Wait until changed keepers run their pods again.
    type: bool
    default: true
  wait_timeout:
    description: Seconds each keeper may take to become ready.
    type: int
    default: 600
  poll_interval:
    description: Seconds between two looks at a Deployment while waiting.
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Changing an address restarts the keeper's pods (an ordinary rolling update, not a gated rollout).
"""

EXAMPLES = r"""
- name: Show which keepers would be repointed
  tonsurance.deploy.keeper_config:
    kubeconfig: /etc/tonsurance/kubeconfig
    namespace: tonsurance-testnet
    addresses:
      ORACLE_ADDRESS: kQAcqWCmVd4KyEl9yIZ6Iqn4aWn7g-3DImGzwX5W_XKtlW43
  check_mode: true

- name: Point the keepers at the oracle and vault of the record
  tonsurance.deploy.keeper_config:
    kubeconfig: /etc/tonsurance/kubeconfig
    namespace: tonsurance-testnet
    addresses:
      ORACLE_ADDRESS: kQAcqWCmVd4KyEl9yIZ6Iqn4aWn7g-3DImGzwX5W_XKtlW43
      VAULT_ADDRESS: kQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XgjaB
"""

RETURN = r"""
keepers:
  description: Each keeper Deployment with the addresses it had and has.
  returned: always
  type: list
  elements: dict
  sample: [{"deployment": "pricing-keeper", "changed": true,
            "before": {"ORACLE_ADDRESS": "kQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XgjaB"},
            "after": {"ORACLE_ADDRESS": "kQAcqWCmVd4KyEl9yIZ6Iqn4aWn7g-3DImGzwX5W_XKtlW43"}}]
waited_seconds:
  description: Seconds waited for each changed keeper.
  returned: always
  type: dict
  sample: {"pricing-keeper": 12.4}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s import common
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.errors import K8sError
from ansible_collections.tonsurance.deploy.plugins.module_utils._k8s.keepers import KeeperConfig


def argument_spec():
    spec = dict(common.CLUSTER_ARGS, **common.WAIT_ARGS)
    spec.update(
        keepers=dict(type="list", elements="str", default=["pricing-keeper", "bridge-health-keeper"]),
        addresses=dict(type="dict", required=True),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    addresses = {str(k): str(v) for k, v in params["addresses"].items()}

    cluster = common.open_cluster(module)

    config = None
    try:
        config = KeeperConfig(cluster, params["namespace"], params["keepers"], addresses, params["wait"],
                              params["wait_timeout"], params["poll_interval"])
        result = config.run(check_mode=module.check_mode)
    except K8sError as exc:
        module.fail_json(msg=f"namespace {params['namespace']}: keepers: {exc}",
                         changed=bool(config and config.writes))
    finally:
        cluster.close()

    if module._diff:
        result["diff"] = dict(before={k["deployment"]: k["before"] for k in result["keepers"]},
                              after={k["deployment"]: k["after"] for k in result["keepers"]})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
