#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_contract
short_description: Deploy a Tonsurance contract to TON and prove it on chain
description:
  - Derives the contract address from its code and initial data, reads the account, and deploys it
    from the deployer wallet only when the account is not active.
  - An active account with the expected code hash is left alone. An active account with any other
    code hash fails the task, naming the address and both hashes, and nothing is sent.
  - Every run, deployed or not, proves the contract with its get-methods (admin, links, ids).
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.provider.DEPLOYER
  - tonsurance.deploy.attributes
options:
  name:
    description:
      - Contract artifact to deploy.
    type: str
    required: true
    choices: [PricingOracle, TrancheToken, MultiTrancheVault, PolicyRouter, PolicyShard, PolicyFactory]
  init:
    description:
      - Initial data of the contract. Keys depend on O(name).
      - V(PricingOracle) C(admin), C(keeper), C(hedge_bps).
      - V(TrancheToken) C(admin), C(tranche_id), C(content_uri).
      - V(MultiTrancheVault) C(admin) and C(tranches), a list of C(id), C(token), C(apy_min_bps),
        C(apy_max_bps), C(curve), C(allocation_bps); C(tokens) may map tranche ids to token addresses
        instead of C(token) in each entry.
      - V(PolicyRouter) C(admin), C(shard_count).
      - V(PolicyShard) C(shard_id), C(router), C(admin).
      - V(PolicyFactory) C(admin), C(router), C(oracle), C(vault).
    type: dict
    required: true
  label:
    description:
      - Name of the contract in results and in the deployment record, for example C(SURE-BTC).
    type: str
attributes:
  check_mode:
    support: full
    details:
      - On the sandbox, check mode runs the real send on an in-memory copy of the chain and reports its
        exact cost. On a live network it reports the value it would send; fees are not estimated.
  diff_mode:
    support: full
notes:
  - The deploy message bounces on failure, so a contract that refuses its deploy message is reported as
    a failure and the value returns to the deployer, less fees.
  - A frozen account at the expected address fails the task; unfreezing is left to an operator.
"""

EXAMPLES = r"""
- name: Show what deploying the oracle would do and cost
  tonsurance.deploy.ton_contract:
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/deployer') }}"
    name: PricingOracle
    init:
      admin: kQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XgjaB
      keeper: kQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI
  check_mode: true

- name: Deploy the oracle on the local sandbox
  tonsurance.deploy.ton_contract:
    network: local
    sandbox_state: .state/local/chain.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'deployer_mnemonic', backend='local') }}"
    name: PricingOracle
    init:
      admin: "{{ deployer_address }}"
      keeper: "{{ deployer_address }}"
"""

RETURN = r"""
address:
  description: Contract address in the network's own form.
  returned: always
  type: str
  sample: kQAcqWCmVd4KyEl9yIZ6Iqn4aWn7g-3DImGzwX5W_XKtlW43
address_raw:
  description: Contract address as workchain and hash.
  returned: always
  type: str
  sample: "0:1ca960a655de0ac8497dc8867a22a9f86969fb83edc32261b3c17e56fd72ad95"
code_hash:
  description: Expected (and, once deployed, observed) code hash.
  returned: always
  type: str
  sample: 5e2f3a0b9c1d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccdd
action:
  description: C(none) when already deployed, C(deployed), or C(would_deploy) in check mode.
  returned: always
  type: str
  sample: deployed
value_nanoton:
  description: Value sent with the deploy message.
  returned: always
  type: int
  sample: 50000000
spent_nanoton:
  description: What the deployer's balance dropped by for this contract (value plus its share of wallet fees).
  returned: when something was sent or emulated
  type: int
  sample: 53914400
fees_nanoton:
  description: Fees paid for this contract, in the wallet and in the contract's own deploy transaction.
  returned: when something was sent or emulated
  type: int
  sample: 3914400
transaction:
  description: Hash of the contract's last transaction (its deploy transaction right after deploying).
  returned: when something was sent
  type: str
  sample: 8f4c0f2e6f8d7b1a3c5e7f9012345678abcdef0123456789abcdef0123456789
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.values import protect

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import deploy, protocol

# Spelled out rather than taken from protocol.CONTRACTS, so the spec (and its documentation checks)
# is the same on a Python without the chain libraries; a unit test keeps the two in step.
CONTRACT_NAMES = ["PricingOracle", "TrancheToken", "MultiTrancheVault", "PolicyRouter", "PolicyShard", "PolicyFactory"]


def argument_spec():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(common.DEPLOYER_ARGS)
    spec.update(
        name=dict(type="str", required=True, choices=CONTRACT_NAMES),
        init=dict(type="dict", required=True),
        label=dict(type="str"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    # Every printed form of the mnemonic (the phrase, its words re-joined) is masked, not only the option.
    protect(module, params.get("deployer_mnemonic"))

    if params["amount_nanoton"] < 1:
        module.fail_json(msg=f"amount_nanoton must be positive, got {params['amount_nanoton']}")
    try:
        target = protocol.build(params["artifacts_dir"], params["name"], params["init"], params["label"])
    except common.TonError as exc:
        module.fail_json(msg=f"{params['label'] or params['name']}: {exc}")

    async def work(provider):
        deployer = None
        if params.get("deployer_mnemonic"):
            deployer = await common.make_deployer(provider, params).open()
        return await deploy.ensure(
            provider, deployer, [target], network=params["network"], amount_nanoton=params["amount_nanoton"],
            batch_size=1, wait_timeout=params["wait_timeout"], check_mode=module.check_mode,
        )

    outcome = common.run(module, work)

    entry = outcome["contracts"][0]
    result = dict(changed=outcome["changed"], messages_sent=outcome["externals"], confirmation_waits=outcome["waits"])
    result.update({k: v for k, v in entry.items() if k not in ("before", "after")})
    if module._diff:
        result["diff"] = dict(before=entry["before"], after=entry["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
