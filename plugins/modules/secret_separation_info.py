#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_separation_info
short_description: Find secrets and wallet keys that mainnet shares with testnet
description:
  - Compares the secret references of mainnet with those of testnet and reports every pair that points at
    the same secret (same backend and location, whatever key, version, region or endpoint they pick).
  - Derives the public key of each wallet mnemonic given and reports every key that both networks hold,
    so a testnet run can never sign with a mainnet wallet.
  - Read-only; the mnemonics are C(no_log) and only public keys are returned.
version_added: 0.2.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.attributes
options:
  mainnet:
    description: Mainnet secret references, each with a C(label).
    type: list
    elements: dict
    default: []
  testnet:
    description: Testnet secret references, each with a C(label).
    type: list
    elements: dict
    default: []
  mainnet_mnemonics:
    description: Mainnet wallet mnemonics by label, fetched with P(tonsurance.deploy.secret#lookup).
    type: dict
    default: {}
  testnet_mnemonics:
    description: Testnet wallet mnemonics by label.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - AWS references compare by secret name (an ARN counts as its name), so one name in two accounts is
    reported too; give each network's secrets its own name.
  - Keys are compared, not addresses, so the same mnemonic behind two wallet versions is still reported.
"""

EXAMPLES = r"""
- name: Check that mainnet shares nothing with testnet
  tonsurance.deploy.secret_separation_info:
    mainnet:
      - {label: deployer_mnemonic, backend: aws, name: tonsurance/mainnet/deployer-mnemonic}
    testnet:
      - {label: deployer_mnemonic, backend: aws, name: tonsurance/testnet/deployer-mnemonic}
    mainnet_mnemonics:
      deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/mainnet/deployer-mnemonic', backend='aws') }}"
    testnet_mnemonics:
      deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/deployer-mnemonic', backend='aws') }}"
  register: separation
"""

RETURN = r"""
shared_references:
  description: Mainnet and testnet references to the same secret.
  returned: always
  type: list
  elements: dict
  sample:
    - {mainnet: deployer_mnemonic, testnet: deployer_mnemonic, secret: aws secret tonsurance/deployer}
shared_keys:
  description: Wallet keys that both networks hold.
  returned: always
  type: list
  elements: dict
  sample: []
public_keys:
  description: Public key (hex) of every mnemonic, by network and label.
  returned: always
  type: dict
  sample:
    mainnet: {deployer_mnemonic: "5f1a0c8e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a"}
    testnet: {deployer_mnemonic: "0b2d4f6a8c1e3b5d7f9a2c4e6b8d1f3a5c7e9b2d4f6a8c1e3b5d7f9a2c4e6b8d"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import reference, separation, values
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.errors import SecretError


def labelled(refs, network):
    out = []
    for term in refs:
        ref = reference.parse(term, {})
        out.append((ref.label or f"{network} {ref.describe()}", ref))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mainnet=dict(type="list", elements="dict", default=[]),
            testnet=dict(type="list", elements="dict", default=[]),
            mainnet_mnemonics=dict(type="dict", default={}, no_log=True),
            testnet_mnemonics=dict(type="dict", default={}, no_log=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    values.protect(module, params["mainnet_mnemonics"], params["testnet_mnemonics"])

    try:
        shared_refs = separation.shared_references(labelled(params["mainnet"], "mainnet"),
                                                   labelled(params["testnet"], "testnet"))
        shared_keys, keys = separation.shared_keys(params["mainnet_mnemonics"], params["testnet_mnemonics"])
    except SecretError as exc:
        module.fail_json(msg=f"secret separation: {exc}")

    module.exit_json(changed=False, shared_references=shared_refs, shared_keys=shared_keys, public_keys=keys)


if __name__ == "__main__":
    main()
