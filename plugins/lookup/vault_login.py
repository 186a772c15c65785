# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: vault_login
short_description: Log in to Vault with AppRole once, for every later secret lookup of the run
description:
  - Logs in with AppRole and returns the client token, so the run logs in once instead of once per task.
  - Keep the token in C(tonsurance_vault_token) with a C(no_log) task; P(tonsurance.deploy.secret#lookup)
    reads that variable, and with C(vault_auth=approle) logs in again only if the token lapses.
  - The token stays in memory. Set it with M(ansible.builtin.set_fact), never with C(cacheable=true).
version_added: 0.2.0
extends_documentation_fragment:
  - tonsurance.deploy.secrets.vault_lookup
options:
  timeout:
    description: Seconds to wait for Vault.
    type: int
    default: 30
notes:
  - The token lives as long as the AppRole's token TTL; lookups log in again when it lapses.
"""

EXAMPLES = r"""
- name: Log in to Vault once for the run
  ansible.builtin.set_fact:
    tonsurance_vault_token: "{{ lookup('tonsurance.deploy.vault_login') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One Vault client token.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import vault
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.errors import SecretError
from ansible_collections.tonsurance.deploy.plugins.plugin_utils import lookup_options

display = Display()

OPTION_NAMES = ("vault_url", "vault_namespace", "vault_role_id", "vault_secret_id", "vault_approle_mount_point",
                "vault_ca_cert", "vault_validate_certs", "timeout")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        conn = lookup_options.options(self, OPTION_NAMES)
        conn["vault_auth"] = "approle"
        display.vvv(f"vault_login: AppRole login at {conn['vault_url']}")
        try:
            return [vault.session(conn).client.token]
        except SecretError as exc:
            raise AnsibleLookupError(f"vault_login: {exc}") from exc
