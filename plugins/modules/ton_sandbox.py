#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_sandbox
short_description: Ensure the embedded local TON chain and its funded deployer wallet
description:
  - Creates the sandbox chain state file (the official TON emulator over a local file) when missing.
  - Creates the local deployer key in the local secret store (mode 0600) when missing, funds the
    deployer wallet from the sandbox faucet up to O(min_balance_nanoton), and activates it.
  - For the local inventory only; it refuses any other network.
version_added: 0.1.0
options:
  state_dir:
    description: Directory of the local chain and secret store, created with mode 0700.
    type: path
    required: true
  deployer_wallet:
    description: Deployer wallet contract version.
    type: str
    default: v5r1
    choices: [v4r2, v5r1]
  min_balance_nanoton:
    description: Top the deployer up when it holds less than this.
    type: int
    default: 10000000000000
  fund_nanoton:
    description: Balance the faucet tops the deployer up to.
    type: int
    default: 1000000000000000
  network:
    description: Must be C(local).
    type: str
    default: local
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The faucet is the sandbox's own; nothing here touches a real network.
"""

EXAMPLES = r"""
- name: Show whether the local chain needs creating
  tonsurance.deploy.ton_sandbox:
    state_dir: .state/local
  check_mode: true

- name: Ensure the local chain and a funded deployer
  tonsurance.deploy.ton_sandbox:
    state_dir: .state/local
  register: sandbox
"""

RETURN = r"""
deployer_address:
  description: Deployer wallet address (non-bounceable, testnet flag).
  returned: always
  type: str
  sample: 0QBvW8Z5huBkMJYdnfAEM5JqTNkuWX3diqYENkWsIL0Xgm1E
deployer_address_raw:
  description: Deployer wallet address as workchain and hash.
  returned: always
  type: str
  sample: "0:6f5bc67986e06430961d9df00433926a4cd92e597ddd8aa6043645ac20bd1782"
balance_nanoton:
  description: Deployer balance after the task.
  returned: always
  type: int
  sample: 1000000000000000
chain_state:
  description: Path of the chain state file.
  returned: always
  type: str
  sample: .state/local/chain.json
secret_store:
  description: Path of the local secret store holding the deployer key.
  returned: always
  type: str
  sample: .state/local/secrets.json
"""

import asyncio
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local as local_secrets
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.values import protect
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from pytoniq_core.crypto.keys import mnemonic_new

    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.sandbox import SandboxChain

SECRET_NAME = "deployer_mnemonic"


def load_or_create_key(store_path, check_mode):
    """Return (mnemonic, created)."""
    store = {}
    if os.path.exists(store_path):
        store = local_secrets.read(store_path)
    if store.get(SECRET_NAME):
        return store[SECRET_NAME], False
    words = " ".join(mnemonic_new(24))
    if not check_mode:
        store[SECRET_NAME] = words
        local_secrets.write(store_path, store)
    return words, True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            deployer_wallet=dict(type="str", default="v5r1", choices=["v4r2", "v5r1"]),
            min_balance_nanoton=dict(type="int", default=10**13),
            fund_nanoton=dict(type="int", default=10**15),
            network=dict(type="str", default="local"),
        ),
        supports_check_mode=True,
    )
    common.require_libs(module)
    params = module.params

    if params["network"] != "local":
        module.fail_json(msg=f"ton_sandbox serves the local inventory only, not {params['network']}")

    state_dir = params["state_dir"]
    chain_path = os.path.join(state_dir, "chain.json")
    store_path = os.path.join(state_dir, "secrets.json")
    try:
        mnemonic, key_created = load_or_create_key(store_path, module.check_mode)
    except local_secrets.SecretStoreError as exc:
        module.fail_json(msg=str(exc))
    protect(module, mnemonic)

    async def ensure():
        chain_created = not os.path.exists(chain_path)
        chain = SandboxChain(chain_path, persist=not module.check_mode).open()
        try:
            deployer = await Deployer(chain, mnemonic, params["deployer_wallet"], "local").open()
            balance = await deployer.balance()
            funded = balance < params["min_balance_nanoton"]
            if funded:
                chain.credit(deployer.address, max(params["fund_nanoton"], params["min_balance_nanoton"]) - balance)
            activated = not await deployer.is_active()
            if activated:
                await deployer.activate(30)
            if chain_created and not module.check_mode:
                chain.save()
            return dict(
                changed=key_created or chain_created or funded or activated,
                deployer_address=deployer.address_str(),
                deployer_address_raw=addresses.raw(deployer.address),
                balance_nanoton=await deployer.balance(),
                chain_state=chain_path,
                secret_store=store_path,
            )
        finally:
            chain.close()

    try:
        result = asyncio.run(ensure())
    except common.TonError as exc:
        module.fail_json(msg=f"local sandbox in {state_dir}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
