#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_deployer_info
short_description: Read the deployer wallet behind a mnemonic - address, status and balance
description:
  - Derives the wallet address from the mnemonic and the wallet version and reads the account.
  - Read-only. The mainnet preflight uses it to require a funded deployer.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  deployer_mnemonic:
    description: The 24 words, from a secret lookup.
    type: str
    required: true
  deployer_wallet:
    description: Wallet contract version.
    type: str
    default: highload_v3
    choices: [v4r2, v5r1, highload_v3]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the mainnet deployer
  tonsurance.deploy.ton_deployer_info:
    network: mainnet
    provider: lite
    lite_config: /etc/tonsurance/mainnet-global.config.json
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/mainnet/deployer-mnemonic') }}"
  register: deployer
"""

RETURN = r"""
address:
  description: Wallet address, non-bounceable, in the network's form.
  returned: always
  type: str
  sample: UQBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0XgtxE
status:
  description: Account status.
  returned: always
  type: str
  sample: active
balance_nanoton:
  description: Balance.
  returned: always
  type: int
  sample: 250000000000
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        deployer_mnemonic=dict(type="str", required=True, no_log=True),
        deployer_wallet=dict(type="str", default="highload_v3", choices=["v4r2", "v5r1", "highload_v3"]),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)

    async def work(provider):
        deployer = await common.make_deployer(provider, module.params).open()
        state = await deployer.state()
        return {"address": deployer.address_str(), "address_raw": addresses.raw(deployer.address),
                "status": {"uninitialized": "uninit"}.get(state.state.type_, state.state.type_),
                "balance_nanoton": state.balance}

    module.exit_json(changed=False, **common.run(module, work))


if __name__ == "__main__":
    main()
