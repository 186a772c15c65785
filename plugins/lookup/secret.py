# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: secret
short_description: Fetch a secret at run time without writing it anywhere
description:
  - Returns the value of each named secret, held in memory only.
  - This version has the C(local) backend, a 0600 JSON file under the local inventory's state directory.
    It is refused when O(network=mainnet).
version_added: 0.1.0
options:
  _terms:
    description: Names of the secrets to fetch.
    required: true
  backend:
    description: Where the secret lives.
    type: str
    default: local
    choices: [local]
  store:
    description: Path of the local store file.
    type: path
    default: .state/local/secrets.json
  network:
    description: Network of the run; the local backend is refused on mainnet.
    type: str
    default: local
notes:
  - Cloud backends (AWS Secrets Manager, Vault KV v2) are not in this version; a reference to them fails clearly.
"""

EXAMPLES = r"""
- name: Use the local deployer key of the embedded chain
  ansible.builtin.debug:
    msg: "{{ lookup('tonsurance.deploy.secret', 'deployer_mnemonic', store='.state/local/secrets.json') | length > 0 }}"
"""

RETURN = r"""
_raw:
  description: The secret values, in the order of the terms.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        backend = self.get_option("backend")
        network = self.get_option("network")
        if backend == "local" and network == "mainnet":
            raise AnsibleLookupError("the local secret backend is refused on mainnet")
        store_path = self.get_option("store")
        try:
            store = local.read(store_path)
        except local.SecretStoreError as exc:
            raise AnsibleLookupError(str(exc)) from None
        values = []
        for term in terms:
            if term not in store:
                raise AnsibleLookupError(f"secret {term!r} is not in the local store {store_path}")
            values.append(store[term])
        return values
