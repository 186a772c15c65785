#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_protocol
short_description: Deploy the whole Tonsurance contract set in few sends, with an exact plan and safe resume
description:
  - Derives every contract of the set offline (PricingOracle, one TrancheToken per tranche,
    MultiTrancheVault, PolicyRouter, O(shard_count) PolicyShards, PolicyFactory) and reads each account once.
  - Refuses drift (an active account with other code) before anything is sent.
  - Sizes each missing contract's value from its measured deploy fees and its storage over
    O(storage_horizon_days) at the network's current storage prices, plus O(funding_margin_pct).
  - Emulates the real sends on a copy of the current accounts (the sandbox itself, or the deployer's and
    targets' states read through the lite provider) and fails when the deployer cannot pay the plan.
  - Sends the plan in batches of up to O(messages_per_external) deploy messages, each batch one external
    message and one confirmation wait. With the C(highload_v3) wallet each batch carries a query id derived
    from the deployment and the batch, so a batch is never paid twice, whatever was interrupted.
  - Proves every contract, not a sample, by running its get-methods on the account states just read.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  deployer_mnemonic:
    description:
      - The 24 words of the deployer wallet, from a secret lookup. Required unless nothing needs sending.
    type: str
  deployer_wallet:
    description:
      - Deployer wallet contract. C(highload_v3) sends up to 500 messages per external message with query ids;
        C(v5r1) up to 255 per external, C(v4r2) 4.
    type: str
    default: highload_v3
    choices: [v4r2, v5r1, highload_v3]
  artifacts_dir:
    description: Directory holding the compiled contract artifacts.
    type: path
    required: true
  admin:
    description: Admin address of every contract (on mainnet, the multisig).
    type: str
    required: true
  keeper:
    description: Keeper address of the PricingOracle.
    type: str
    required: true
  shard_count:
    description: Number of PolicyShards.
    type: int
    required: true
  hedge_bps:
    description: Oracle hedge cost as a share of the base premium, in basis points.
    type: int
    default: 2000
  tranches:
    description: Tranches of the vault, each with C(id), C(symbol), C(apy_min_bps), C(apy_max_bps), C(curve), C(allocation_bps).
    type: list
    elements: dict
    required: true
  token_content_base:
    description: Base URI of the tranche tokens' off-chain metadata; the token's symbol in lower case and C(.json) follow.
    type: str
    required: true
  storage_horizon_days:
    description: Days of storage each contract is funded for, at the network's current storage prices.
    type: int
    default: 365
  funding_margin_pct:
    description: Margin added to each contract's measured needs, in percent.
    type: int
    default: 20
  messages_per_external:
    description: Deploy messages per external message (capped by the wallet).
    type: int
    default: 500
  deployment_attempt:
    description:
      - Part of the deployment identifier from which highload query ids derive. Raise it only after a batch
        was processed but some of its contracts did not activate, to send those contracts again.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    details:
      - Check mode emulates the real sends on a copy of the accounts and reports each contract's address, value
        and fees, and the total; nothing is sent.
  diff_mode:
    support: none
notes:
  - Values are sized from the storage prices in force now; a later price change is not foreseen.
  - On a live network the spend is read from the deployer's balance once the batch is processed; the
    emulated plan is the authoritative figure.
  - With C(v4r2) or C(v5r1) there are no query ids; a resumed run relies on re-reading every target and the
    wallet's seqno, which also never pays twice but may wait once more.
"""

EXAMPLES = r"""
- name: Plan the testnet deployment and its exact cost
  tonsurance.deploy.ton_protocol:
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/deployer') }}"
    admin: kQCrY-J3tpjuJp8HTis_og0PWg7FjZ0VHbwuBSL2HZ8iGC9o
    keeper: kQDeB1eoVmW1839lh6U8Fnz1Va6eEHYmGqmN4h3IW-N-jgDg
    shard_count: 16
    token_content_base: https://tonsurance.io/jettons/
    tranches:
      - {id: 1, symbol: SURE-BTC, apy_min_bps: 400, apy_max_bps: 400, curve: 0, allocation_bps: 10000}
  check_mode: true

- name: Deploy the local set
  tonsurance.deploy.ton_protocol:
    network: local
    sandbox_state: .state/local/chain.json
    artifacts_dir: "{{ playbook_dir }}/../contracts/build"
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'deployer_mnemonic') }}"
    admin: "{{ tonsurance_admin }}"
    keeper: "{{ tonsurance_keeper }}"
    shard_count: 256
    token_content_base: https://tonsurance.io/jettons/
    tranches: "{{ contracts_tranches }}"
"""

RETURN = r"""
contracts:
  description: Every contract of the set.
  returned: always
  type: list
  elements: dict
  sample:
    - label: PricingOracle
      contract: PricingOracle
      address: kQAcqWCmVd4KyEl9yIZ6Iqn4aWn7g-3DImGzwX5W_XKtlW43
      address_raw: "0:1ca960a655de0ac8497dc8867a22a9f86969fb83edc32261b3c17e56fd72ad95"
      code_hash: 5be8c2a448674f1fb6531333f1c69be19e3ba8b14ff625f706606b00a0280232
      action: deployed
      value_nanoton: 12000000
      storage_reserve_nanoton: 1893001
      fees_nanoton: 8114001
      spent_nanoton: 12120001
      transaction: 8f4c0f2e6f8d7b1a3c5e7f9012345678abcdef0123456789abcdef0123456789
planned_spend_nanoton:
  description: What the emulated plan spends from the deployer (0 when nothing is missing).
  returned: always
  type: int
  sample: 3120000000
spent_nanoton:
  description: What the deployer spent (in check mode, the planned figure).
  returned: always
  type: int
  sample: 3120000000
messages_sent:
  description: External messages sent to the chain.
  returned: always
  type: int
  sample: 1
confirmation_waits:
  description: Sequential waits for the chain to confirm a send.
  returned: always
  type: int
  sample: 1
round_trips:
  description: Account reads made through the provider.
  returned: always
  type: int
  sample: 533
verified_checks:
  description: Get-method checks that passed.
  returned: always
  type: int
  sample: 1104
batches:
  description: One entry per batch sent (or found sent by an earlier run).
  returned: always
  type: list
  elements: dict
  sample: [{batch: 1, of: 1, query_id: 4711, contracts: 266, resumed: false}]
deployment_id:
  description: Identifier of the deployment from which query ids derive.
  returned: always
  type: str
  sample: 3f7a0c1e9b2d4c6a8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import bulk, plan


def argument_spec():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        deployer_mnemonic=dict(type="str", no_log=True),
        deployer_wallet=dict(type="str", default="highload_v3", choices=["v4r2", "v5r1", "highload_v3"]),
        artifacts_dir=dict(type="path", required=True),
        admin=dict(type="str", required=True),
        keeper=dict(type="str", required=True),
        shard_count=dict(type="int", required=True),
        hedge_bps=dict(type="int", default=2000),
        tranches=dict(type="list", elements="dict", required=True),
        token_content_base=dict(type="str", required=True, no_log=False),
        storage_horizon_days=dict(type="int", default=365),
        funding_margin_pct=dict(type="int", default=20),
        messages_per_external=dict(type="int", default=500),
        deployment_attempt=dict(type="int", default=0),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    for name in ("storage_horizon_days", "messages_per_external"):
        if params[name] < 1:
            module.fail_json(msg=f"{name} must be at least 1, got {params[name]}")
    if params["funding_margin_pct"] < 0:
        module.fail_json(msg=f"funding_margin_pct must not be negative, got {params['funding_margin_pct']}")
    try:
        targets = plan.build(params["artifacts_dir"], params["admin"], params["keeper"], params["shard_count"],
                             params["tranches"], params["token_content_base"], params["hedge_bps"])
    except common.TonError as exc:
        module.fail_json(msg=f"contract set for {params['network']}: {exc}")

    async def work(provider):
        deployer = None
        if params.get("deployer_mnemonic"):
            deployer = await common.make_deployer(provider, params).open()
        return await bulk.deploy_set(
            provider, deployer, targets, network=params["network"], horizon_days=params["storage_horizon_days"],
            margin_pct=params["funding_margin_pct"], messages_per_external=params["messages_per_external"],
            wait_timeout=params["wait_timeout"], check_mode=module.check_mode, attempt=params["deployment_attempt"],
        )

    outcome = common.run(module, work)

    module.exit_json(
        changed=outcome["changed"],
        contracts=outcome["contracts"],
        planned_spend_nanoton=outcome["planned_spend_nanoton"],
        spent_nanoton=outcome["spent_nanoton"],
        messages_sent=outcome["externals"],
        confirmation_waits=outcome["waits"],
        round_trips=outcome["round_trips"],
        verified_checks=outcome["verified_checks"],
        batches=outcome["batches"],
        deployment_id=outcome["deployment_id"],
    )


if __name__ == "__main__":
    main()
