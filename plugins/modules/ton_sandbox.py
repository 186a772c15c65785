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
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.attributes
options:
  state_dir:
    description: Directory of the local chain and secret store, created with mode 0700.
    type: path
    required: true
  deployer_wallet:
    description: Deployer wallet contract version.
    type: str
    default: v5r1
    choices: [v4r2, v5r1, highload_v3]
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
chain_created:
  description: Whether the chain did not exist before this task (in check mode, whether it would be created).
  returned: always
  type: bool
  sample: false
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


def load_or_create_key(store_path, chain_has_accounts, check_mode):
    """Return (mnemonic, created). Called with the chain lock held, so two first runs cannot race."""
    def refuse_new():
        if chain_has_accounts:
            # A new key would mean a new admin and a second contract set beside the first.
            raise local_secrets.SecretStoreError(
                f"the local chain already holds accounts but {store_path} has no deployer key; refusing to mint a "
                "new deployer. Restore the store, or remove the state directory to start the local chain over")

    return local_secrets.get_or_create(store_path, SECRET_NAME, lambda: " ".join(mnemonic_new(24)), check_mode,
                                       refuse_new)


MAX_NANOTON = 1 << 120


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            deployer_wallet=dict(type="str", default="v5r1", choices=["v4r2", "v5r1", "highload_v3"]),
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
    for name in ("min_balance_nanoton", "fund_nanoton"):
        if not 0 <= params[name] < MAX_NANOTON:
            module.fail_json(msg=f"{name} must be between 0 and 2^120 nanoton, got {params[name]}")
    state_dir = params["state_dir"]
    if os.path.exists(state_dir) and not os.path.isdir(state_dir):
        module.fail_json(msg=f"state_dir {state_dir} exists and is not a directory")

    chain_path = os.path.join(state_dir, "chain.json")
    store_path = os.path.join(state_dir, "secrets.json")

    async def ensure():
        chain_created = not os.path.exists(chain_path)
        chain = SandboxChain(chain_path, persist=not module.check_mode).open()
        try:
            mnemonic, key_created = load_or_create_key(store_path, chain.account_count() > 0, module.check_mode)
            protect(module, mnemonic)
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
                chain_created=chain_created,
            )
        finally:
            chain.close()

    try:
        result = asyncio.run(ensure())
    except (common.TonError, local_secrets.SecretStoreError) as exc:
        module.fail_json(msg=f"local sandbox in {state_dir}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
