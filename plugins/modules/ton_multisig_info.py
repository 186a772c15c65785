#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_multisig_info
short_description: Read a multisig admin and judge it against the mainnet admin policy
description:
  - Reads the account at O(address) and its C(get_multisig_data) (next order seqno, threshold, signers,
    proposers), and reports whether it meets the policy (active, code hash in O(allowed_code_hashes),
    threshold at least O(min_threshold), at least O(min_signers) signers).
  - Read-only; the preflight fails on a policy miss, naming each problem.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  address:
    description: Address of the admin contract.
    type: str
    required: true
  allowed_code_hashes:
    description: Code hashes (hex) of the multisig contracts the operators trust.
    type: list
    elements: str
    required: true
  min_threshold:
    description: Fewest approvals an order may need.
    type: int
    default: 3
  min_signers:
    description: Fewest signers the multisig may have.
    type: int
    default: 5
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Judge the mainnet admin
  tonsurance.deploy.ton_multisig_info:
    network: mainnet
    provider: lite
    lite_config: /etc/tonsurance/mainnet-global.config.json
    address: EQD4c0Ldqxb0z_Jz9IkHPC9hEogEmskbJEKsNq45HMtqHJWn
    allowed_code_hashes: ["730fe02e4b1c2c38c991c08a24167bf88ba2b638ba104f9585a5a35a9592f008"]
  register: admin_multisig
"""

RETURN = r"""
status:
  description: Account status.
  returned: always
  type: str
  sample: active
code_hash:
  description: Code hash of the admin contract, when active.
  returned: always
  type: str
  sample: 730fe02e4b1c2c38c991c08a24167bf88ba2b638ba104f9585a5a35a9592f008
threshold:
  description: Approvals an order needs.
  returned: when the contract answers get_multisig_data
  type: int
  sample: 3
signers:
  description: Signer addresses in the network's form.
  returned: when the contract answers get_multisig_data
  type: list
  elements: str
  sample: [EQBWTD-vDNc7OoxWNn7R_VywZlvxunSmXKT9D5pb2jFHE7JI]
meets_policy:
  description: Whether every rule of the policy holds.
  returned: always
  type: bool
  sample: true
problems:
  description: Each rule that does not hold, in words.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, deploy, ops
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import GetMethodError


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        address=dict(type="str", required=True),
        allowed_code_hashes=dict(type="list", elements="str", required=True),
        min_threshold=dict(type="int", default=3),
        min_signers=dict(type="int", default=5),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    try:
        address = addresses.parse(params["address"], "admin address")
    except common.TonError as exc:
        module.fail_json(msg=str(exc))
    allowed = {h.lower().strip() for h in params["allowed_code_hashes"]}
    network = params["network"]

    async def work(provider):
        state = await deploy.observe(provider, address)
        data = None
        if state["status"] == "active":
            try:
                data = await provider.run_get_method(address, "get_multisig_data", [])
            except GetMethodError:
                data = None
        return state, data

    state, data = common.run(module, work)

    where = addresses.friendly(address, network)
    problems = []
    result = dict(changed=False, status=state["status"], code_hash=state["code_hash"])
    if state["status"] != "active":
        problems.append(f"admin {where} is not an active contract ({state['status']})")
    elif state["code_hash"] not in allowed:
        problems.append(f"admin {where} runs code {state['code_hash']}, which is not in the multisig allowlist")
    if state["status"] == "active" and data is None:
        problems.append(f"admin {where} does not answer get_multisig_data")
    if data is not None:
        signers = [addresses.friendly(s, network) for s in ops.parse_signers(data[2])]
        result.update(threshold=data[1], signers=signers, next_order_seqno=data[0])
        if data[1] < params["min_threshold"]:
            problems.append(f"admin {where} needs {data[1]} approvals; the policy asks for at least "
                            f"{params['min_threshold']}")
        if len(signers) < params["min_signers"]:
            problems.append(f"admin {where} has {len(signers)} signers; the policy asks for at least "
                            f"{params['min_signers']}")
    result.update(meets_policy=not problems, problems=problems)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
