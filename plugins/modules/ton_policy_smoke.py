#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_policy_smoke
short_description: Create a test policy through the PolicyFactory and follow it to its shard
description:
  - Sends C(create_policy) to the factory from the deployer wallet, waits, and proves the whole path (the
    factory numbered the policy, the router routed it to shard (policy id mod shard count), and that shard
    recorded it).
  - Refused on mainnet. Every run creates a new policy, so the task always reports a change.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  factory:
    description: PolicyFactory address.
    type: str
    required: true
  coverage_nanoton:
    description: Coverage of the test policy.
    type: int
    default: 1000000000
  deployer_mnemonic:
    description: Words of the wallet paying for the test policy, from a secret lookup.
    type: str
    required: true
  deployer_wallet:
    description: Paying wallet contract.
    type: str
    default: highload_v3
    choices: [v4r2, v5r1, highload_v3]
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the factory and reports the policy id it would create.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Create a test policy on testnet
  tonsurance.deploy.ton_policy_smoke:
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    factory: "{{ record.factory }}"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/deployer') }}"
"""

RETURN = r"""
policy_id:
  description: Id of the test policy.
  returned: always
  type: int
  sample: 7
shard_id:
  description: Shard that recorded it.
  returned: always
  type: int
  sample: 7
shard:
  description: Address of that shard.
  returned: always
  type: str
  sample: kQApQaugqO6g9-dvUcIy87Ux56g8fbvx5XkjVkMv-TLENeaW
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, ops


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        factory=dict(type="str", required=True),
        coverage_nanoton=dict(type="int", default=10**9),
        deployer_mnemonic=dict(type="str", required=True, no_log=True),
        deployer_wallet=dict(type="str", default="highload_v3", choices=["v4r2", "v5r1", "highload_v3"]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    network = params["network"]

    if network == "mainnet":
        module.fail_json(msg="ton_policy_smoke creates real policies; it is refused on mainnet")
    try:
        factory = addresses.parse(params["factory"], "factory address")
        ops.create_policy_body(params["coverage_nanoton"])
    except common.TonError as exc:
        module.fail_json(msg=str(exc))

    async def work(provider):
        policy_id = (await provider.run_get_method(factory, "get_policies_created", []))[0]
        router = await ops.first_address(provider, factory, "get_router")
        shard_id = (await provider.run_get_method(router, "get_shard_for_policy", [policy_id]))[0]
        shard = await ops.first_address(provider, router, "get_shard_address", [shard_id])
        outcome = {"policy_id": policy_id, "shard_id": shard_id, "shard": addresses.friendly(shard, network)}
        if module.check_mode:
            return outcome
        deployer = await common.make_deployer(provider, params).open()
        # The policy id goes in as the query id: each test policy is its own message.
        body = ops.create_policy_body(params["coverage_nanoton"], query_id=policy_id)

        async def recorded():
            try:
                return (await provider.run_get_method(shard, "get_last_policy_id", []))[0] == policy_id and (
                    await provider.run_get_method(factory, "get_policies_created", []))[0] > policy_id
            except common.TonError:
                return False

        await ops.send_and_confirm(deployer, factory, body, ops.CREATE_POLICY_VALUE, params["wait_timeout"],
                                   recorded, f"test policy {policy_id} through {addresses.friendly(factory, network)}",
                                   context=policy_id)
        return outcome

    outcome = common.run(module, work)
    module.exit_json(changed=True, **outcome)


if __name__ == "__main__":
    main()
