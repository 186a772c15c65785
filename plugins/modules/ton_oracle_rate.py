#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_oracle_rate
short_description: Set a premium rate on the PricingOracle from its keeper wallet
description:
  - Reads the rate for (coverage type, chain, stablecoin). When it already equals O(rate_bps) and the last
    update is younger than O(max_age_seconds), nothing is sent.
  - Otherwise sends the keeper-only C(update_rate) from the deployer wallet, which must be the oracle's keeper,
    waits, and re-reads the rate.
  - Seeds rates on the local chain and refreshes them in smoke tests; production rates come from the
    pricing keeper service.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  oracle:
    description: PricingOracle address.
    type: str
    required: true
  coverage_type:
    description: Coverage type id (0-255).
    type: int
    required: true
  chain:
    description: Chain id (0-255).
    type: int
    required: true
  stablecoin:
    description: Stablecoin id (0-255).
    type: int
    required: true
  rate_bps:
    description: Annual premium rate in basis points.
    type: int
    required: true
  max_age_seconds:
    description: Refresh the rate when the oracle's last update is older than this, even if the value matches.
    type: int
    default: 0
  deployer_mnemonic:
    description: Words of the keeper wallet, from a secret lookup.
    type: str
    required: true
  deployer_wallet:
    description: Keeper wallet contract.
    type: str
    default: highload_v3
    choices: [v4r2, v5r1, highload_v3]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - With O(max_age_seconds=0) the age is ignored and the task is idempotent on the value alone.
"""

EXAMPLES = r"""
- name: Seed the local oracle with a rate
  tonsurance.deploy.ton_oracle_rate:
    network: local
    sandbox_state: .state/local/chain.json
    oracle: "{{ oracle_address }}"
    coverage_type: 1
    chain: 0
    stablecoin: 0
    rate_bps: 80
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'deployer_mnemonic') }}"
"""

RETURN = r"""
rate_before:
  description: Rate before the task (-1 when none was set).
  returned: always
  type: int
  sample: -1
last_update:
  description: Unix time of the oracle's last update after the task.
  returned: always
  type: int
  sample: 1796400000
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, ops


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        oracle=dict(type="str", required=True),
        coverage_type=dict(type="int", required=True),
        chain=dict(type="int", required=True),
        stablecoin=dict(type="int", required=True),
        rate_bps=dict(type="int", required=True),
        max_age_seconds=dict(type="int", default=0),
        deployer_mnemonic=dict(type="str", required=True, no_log=True),
        deployer_wallet=dict(type="str", default="highload_v3", choices=["v4r2", "v5r1", "highload_v3"]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params
    key = [params["coverage_type"], params["chain"], params["stablecoin"]]

    try:
        oracle = addresses.parse(params["oracle"], "oracle address")
        body = ops.update_rate_body(*key, params["rate_bps"])
    except common.TonError as exc:
        module.fail_json(msg=str(exc))

    async def work(provider):
        rate = (await provider.run_get_method(oracle, "get_rate", key))[0]
        last = (await provider.run_get_method(oracle, "get_last_update", []))[0]
        stale = params["max_age_seconds"] > 0 and time.time() - last > params["max_age_seconds"]
        outcome = {"rate_before": rate, "last_update": last, "changed": False}
        if rate == params["rate_bps"] and not stale:
            return outcome
        deployer = await common.make_deployer(provider, params).open()
        keeper = await ops.first_address(provider, oracle, "get_keeper")
        if not addresses.same(keeper, deployer.address):
            raise common.ConfigError(
                f"the wallet given is not the keeper of oracle {addresses.friendly(oracle, params['network'])}; "
                f"its keeper is {addresses.friendly(keeper, params['network'])}")
        outcome["changed"] = True
        if module.check_mode:
            return outcome

        async def updated():
            return ((await provider.run_get_method(oracle, "get_rate", key))[0] == params["rate_bps"]
                    and (await provider.run_get_method(oracle, "get_last_update", []))[0] > last)

        await ops.send_and_confirm(deployer, oracle, body, ops.ADMIN_OP_VALUE, params["wait_timeout"], updated,
                                   f"update_rate on oracle {addresses.friendly(oracle, params['network'])}",
                                   context=f"{rate}:{last}")
        outcome["last_update"] = (await provider.run_get_method(oracle, "get_last_update", []))[0]
        return outcome

    outcome = common.run(module, work)
    result = dict(outcome)
    if module._diff:
        result["diff"] = dict(before={"rate_bps": outcome["rate_before"]},
                              after={"rate_bps": params["rate_bps"] if outcome["changed"] else outcome["rate_before"]})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
