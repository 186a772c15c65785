#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_policy_shards
short_description: Deploy a range of PolicyShard contracts for a PolicyRouter and prove each one
description:
  - Derives the PolicyRouter address from its admin, shard count and shard code, then derives the
    address of every shard in [O(first), O(first) + O(count)) from the shard code, its id, the router
    and the admin.
  - Deploys the shards that are not active yet, several per external message, and proves every shard
    in the range, deployed now or earlier, by its get-methods and by asking the router where it lives.
  - Run it once per batch from a loop to see progress batch by batch; an interrupted run that is started
    again deploys only what is missing.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.provider.DEPLOYER
  - tonsurance.deploy.attributes
options:
  admin:
    description: Admin address of the router and of every shard.
    type: str
    required: true
  shard_count:
    description: Total number of shards the router knows (16 on testnet, 256 on mainnet and local).
    type: int
    required: true
  first:
    description: Id of the first shard of this range.
    type: int
    default: 0
  count:
    description: Number of shards in this range; the range is cut at O(shard_count).
    type: int
    default: 10
  messages_per_send:
    description:
      - Deploy messages per external message, capped by the wallet (4 for v4r2, 255 for v5r1).
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details:
      - On the sandbox, check mode runs the real sends on an in-memory copy and reports their exact cost.
  diff_mode:
    support: none
notes:
  - The router must already be deployed for the router check to pass; deploy it with
    M(tonsurance.deploy.ton_contract) first.
"""

EXAMPLES = r"""
- name: Show which of the first ten testnet shards would be deployed
  tonsurance.deploy.ton_policy_shards:
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    admin: kQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XgjaB
    shard_count: 16
    first: 0
    count: 10
  check_mode: true

- name: Deploy local shards batch by batch
  tonsurance.deploy.ton_policy_shards:
    network: local
    sandbox_state: .state/local/chain.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'deployer_mnemonic') }}"
    admin: "{{ admin_address }}"
    shard_count: 256
    first: "{{ item }}"
    count: 10
  loop: "{{ range(0, 256, 10) | list }}"
"""

RETURN = r"""
router:
  description: Router address in the network's own form.
  returned: always
  type: str
  sample: kQBuF0lG8mIDT0DgGdDeDvcs9tKSbk0Q6lNq4o7nJ6dQ4Yg9
shards:
  description: One entry per shard of the range.
  returned: always
  type: list
  elements: dict
  sample:
    - shard_id: 0
      label: PolicyShard[0]
      contract: PolicyShard
      address: kQDk0xTfiwPuM5Pl7pO1R1j-zVYqo7zXkjVpz0I1vN3b3oTf
      address_raw: "0:e4d314df8b03ee3393e5ee93b54758fecd562aa3bcd7923569cf4235bcdddbde"
      code_hash: 9a1c9e5f8f4b6d2a1e0c3b5a7d9f1e2c4b6a8d0f1e3c5b7a9d1f3e5c7b9a1d3f
      action: deployed
      spent_nanoton: 50712000
      fees_nanoton: 712000
deployed:
  description: Number of shards deployed (or that would be, in check mode) by this task.
  returned: always
  type: int
  sample: 10
messages_sent:
  description: External messages sent to the chain by this task.
  returned: always
  type: int
  sample: 1
confirmation_waits:
  description: Times this task waited for the chain to confirm a send.
  returned: always
  type: int
  sample: 1
spent_nanoton:
  description: Total the deployer spent in this task.
  returned: always
  type: int
  sample: 507120000
verify_calls:
  description: Get-method calls made to prove the range.
  returned: always
  type: int
  sample: 40
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.values import protect

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, deploy, protocol


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(common.DEPLOYER_ARGS)
    spec.update(
        admin=dict(type="str", required=True),
        shard_count=dict(type="int", required=True),
        first=dict(type="int", default=0),
        count=dict(type="int", default=10),
        messages_per_send=dict(type="int", default=10),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    # Every printed form of the mnemonic (the phrase, its words re-joined) is masked, not only the option.
    protect(module, params.get("deployer_mnemonic"))

    if params["count"] < 1 or params["messages_per_send"] < 1:
        module.fail_json(msg="count and messages_per_send must be at least 1")
    if params["amount_nanoton"] < 1:
        module.fail_json(msg=f"amount_nanoton must be positive, got {params['amount_nanoton']}")
    try:
        router, targets = protocol.shards(
            params["artifacts_dir"], params["admin"], params["shard_count"], params["first"], params["count"]
        )
    except common.TonError as exc:
        module.fail_json(msg=f"policy shards {params['first']}..{params['first'] + params['count'] - 1}: {exc}")

    async def work(provider):
        # Shards of a router that is not there would be orphans: check before sending anything.
        router_state = await deploy.observe(provider, router.address)
        if router_state["status"] != "active" or router_state["code_hash"] != router.code_hash:
            raise common.ConfigError(
                f"PolicyRouter {addresses.friendly(router.address, params['network'])} for admin {params['admin']} "
                f"and {params['shard_count']} shards is not deployed ({router_state['status']}); deploy it first")
        deployer = None
        if params.get("deployer_mnemonic"):
            deployer = await common.make_deployer(provider, params).open()
        return await deploy.ensure(
            provider, deployer, targets, network=params["network"], amount_nanoton=params["amount_nanoton"],
            batch_size=params["messages_per_send"], wait_timeout=params["wait_timeout"],
            check_mode=module.check_mode,
        )

    outcome = common.run(module, work)

    shards = []
    for target, entry in zip(targets, outcome["contracts"]):
        item = {k: v for k, v in entry.items() if k not in ("before", "after")}
        item["shard_id"] = int(target.label.split("[")[1].rstrip("]"))
        shards.append(item)
    module.exit_json(
        changed=outcome["changed"],
        router=addresses.friendly(router.address, params["network"]),
        shards=shards,
        deployed=sum(1 for s in shards if s["action"] != "none"),
        messages_sent=outcome["externals"],
        confirmation_waits=outcome["waits"],
        spent_nanoton=outcome["spent_nanoton"],
        verify_calls=outcome["verify_calls"],
    )


if __name__ == "__main__":
    main()
