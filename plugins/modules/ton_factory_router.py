#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_factory_router
short_description: Point the PolicyFactory at a PolicyRouter, or write the order for multisig signers
description:
  - Reads the factory's router. When it is already O(router), nothing happens.
  - When the deployer wallet is the factory's admin, sends the admin-only C(set_router) message, waits, and
    re-reads the factory to prove the change.
  - When the admin is another contract (a multisig on mainnet), sends nothing and writes an order under
    O(order_dir) with the message to propose (destination, value, body BoC) and a readable summary.
  - Before it sends or writes anything, and in check mode too, reads the account at O(router), which must be active
    and, when O(router_code_hash) is given, run that code. A router that is not on this chain (a record of an
    earlier chain, say) or is another contract fails the task and leaves the factory as it was.
  - Used by the contract rollback to return the factory to the previous deployment's router.
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
  router:
    description: PolicyRouter address the factory must use.
    type: str
    required: true
  router_code_hash:
    description:
      - Hex SHA-256 of the code the account at O(router) must run, as the deployment record lists it for
        its PolicyRouter. When omitted, the router need only be an active account.
    type: str
  deployer_mnemonic:
    description: Deployer wallet words, from a secret lookup; needed only when the deployer is the admin.
    type: str
  deployer_wallet:
    description: Deployer wallet contract.
    type: str
    default: highload_v3
    choices: [v4r2, v5r1, highload_v3]
  order_dir:
    description: Directory for orders to multisig signers.
    type: path
    required: true
notes:
  - The router check proves that the account is active and runs the PolicyRouter code of O(router_code_hash). It
    does not compare the router's admin or shard count with the release it came from; the contract rollback
    takes the address and the code hash from the same deployment record.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: See whether the factory would go back to the previous router
  tonsurance.deploy.ton_factory_router:
    network: local
    sandbox_state: .state/local/chain.json
    factory: "{{ current.factory }}"
    router: "{{ previous.router }}"
    router_code_hash: "{{ previous.router_code_hash }}"
    order_dir: deployments/orders
  check_mode: true
"""

RETURN = r"""
action:
  description:
    - C(none), C(sent), C(order_written), C(order_pending) (the same order is already written and the factory
      has not changed yet), or the check-mode forms C(would_send) and C(would_write_order).
  returned: always
  type: str
  sample: sent
router_before:
  description: Router the factory used before the task (raw form).
  returned: always
  type: str
  sample: "0:6270039f6072031f68ca3a3b2fe11775c0f5d8452b15b39cb33c2f09953383c3"
order:
  description: Path of the order written for the signers.
  returned: when the admin is not the deployer
  type: str
  sample: deployments/orders/mainnet-factory-router.json
summary:
  description: What the order asks the signers to approve, in words.
  returned: when the admin is not the deployer and not in check mode
  type: str
  sample: "On mainnet, the admin EQB... asks PolicyFactory EQC... to route new policies to PolicyRouter EQD... instead of EQE..."
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, deploy, ops


STATUS_WORDS = {"nonexist": "does not exist", "uninit": "holds no code", "frozen": "is frozen"}


def require_router(state, router, code_hash, network):
    """Refuse a router account that is not active, or that runs code other than code_hash."""
    where = f"PolicyRouter {addresses.friendly(router, network)}"
    if state["status"] != "active":
        status = STATUS_WORDS.get(state["status"], f"is {state['status']}")
        raise common.TonError(f"{where} {status} on {network} (is its record from an earlier chain?); "
                              "the factory is left on its router")
    if code_hash and state["code_hash"] != code_hash:
        raise common.TonError(f"{where} runs code {state['code_hash']}, not the PolicyRouter code {code_hash}; "
                              "the factory is left on its router")


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        factory=dict(type="str", required=True),
        router=dict(type="str", required=True),
        router_code_hash=dict(type="str"),
        deployer_mnemonic=dict(type="str", no_log=True),
        deployer_wallet=dict(type="str", default="highload_v3", choices=["v4r2", "v5r1", "highload_v3"]),
        order_dir=dict(type="path", required=True),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    network = params["network"]

    try:
        factory = addresses.parse(params["factory"], "factory address")
        router = addresses.parse(params["router"], "router address")
    except common.TonError as exc:
        module.fail_json(msg=str(exc))
    # Omitted, the router need only be active; given, even as an empty string, it must be a hash.
    code_hash = None if params["router_code_hash"] is None else params["router_code_hash"].lower()
    if code_hash is not None and not re.fullmatch(r"[0-9a-f]{64}", code_hash):
        module.fail_json(msg=f"router_code_hash {params['router_code_hash']!r} is not 64 hex digits")

    async def work(provider):
        before = await ops.first_address(provider, factory, "get_router")
        admin = await ops.first_address(provider, factory, "get_admin")
        outcome = {"router_before": addresses.raw(before), "action": "none"}
        if addresses.same(before, router):
            return outcome
        require_router(await deploy.observe(provider, router), router, code_hash, network)
        body = ops.set_router_body(router)
        deployer = None
        if params.get("deployer_mnemonic"):
            deployer = await common.make_deployer(provider, params).open()
        if deployer is not None and addresses.same(deployer.address, admin):
            if module.check_mode:
                outcome["action"] = "would_send"
                return outcome

            async def switched():
                return addresses.same(await ops.first_address(provider, factory, "get_router"), router)

            await ops.send_and_confirm(deployer, factory, body, ops.ADMIN_OP_VALUE, params["wait_timeout"], switched,
                                       f"set_router on factory {addresses.friendly(factory, network)}",
                                       context=addresses.raw(before))
            outcome["action"] = "sent"
            return outcome
        summary = (f"On {network}, the admin {addresses.friendly(admin, network)} asks PolicyFactory "
                   f"{addresses.friendly(factory, network)} to route new policies to PolicyRouter "
                   f"{addresses.friendly(router, network)} instead of {addresses.friendly(before, network)}.")
        if module.check_mode:
            outcome["action"] = "would_write_order"
            return outcome
        path, written = ops.write_order(params["order_dir"], f"{network}-factory-router", network, factory,
                                        ops.ADMIN_OP_VALUE, body, summary)
        outcome.update(action="order_written" if written else "order_pending", order=path, summary=summary)
        return outcome

    outcome = common.run(module, work)

    # An order already written and still pending is not a change; the signers have not acted yet.
    result = dict(changed=outcome["action"] not in ("none", "order_pending"), **outcome)
    if module._diff:
        result["diff"] = dict(before={"router": outcome["router_before"]},
                              after={"router": addresses.raw(router) if outcome["action"] != "none"
                                     else outcome["router_before"]})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
