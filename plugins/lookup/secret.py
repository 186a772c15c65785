# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: secret
short_description: Fetch secrets at run time from AWS Secrets Manager, Vault KV v2 or the local store
description:
  - Returns the value of each secret reference, held in memory only. Nothing is written to a file, and
    no value appears in a message or a log at any verbosity (-vvv names the secret, -vvvv adds timings).
  - Backends are C(aws) (AWS Secrets Manager through boto3), C(vault) (Vault or OpenBao KV version 2
    through hvac) and C(local) (a 0600 JSON file under the local inventory's state directory, refused
    on any network but C(local)).
  - A term is a secret name (AWS secret name or ARN, Vault path, local name), or a reference dict with
    C(backend), C(name) (or C(path)) and optionally C(key), C(mount_point), C(version), C(version_stage),
    C(version_id), C(binary), C(kind), C(max_age_days), C(label), and the connection overrides C(region),
    C(profile), C(endpoint_url), C(url), C(namespace), C(store). A field of the reference wins over the
    option of the same meaning. Credentials never go in a reference.
  - Clients are cached per process, keyed by their connection options, so every term, loop item and
    lookup of one task share one client and one Vault login. Ansible runs each task in its own
    process; for one Vault AppRole login per run, log in once with
    P(tonsurance.deploy.vault_login#lookup) and keep the token in C(tonsurance_vault_token).
version_added: 0.2.0
extends_documentation_fragment:
  - tonsurance.deploy.secrets.vault_lookup
options:
  _terms:
    description: Secret references, names or dicts.
    required: true
  backend:
    description: Backend of the terms that do not name one.
    type: str
    default: local
    choices: [aws, vault, local]
  key:
    description:
      - Return only this key of a JSON value (an AWS SecretString, a SecretBinary read as text, the Vault
        data, a local value). Nested keys are joined with dots (C(db.primary.password)); give a list
        for keys that hold dots. A list element is picked by its index.
    type: raw
  on_missing:
    description:
      - What to do when the secret, its version or its key does not exist (or is deleted).
      - C(warn) and C(skip) leave the term out of the returned list.
    type: str
    default: error
    choices: [error, warn, skip]
  on_denied:
    description:
      - What to do when the backend refuses this identity access to the secret.
      - An authentication failure (an invalid or expired token, bad credentials) is always an error.
    type: str
    default: error
    choices: [error, warn, skip]
  version_stage:
    description: AWS version stage to read, for example C(AWSPREVIOUS). Default is the current version.
    type: str
  version_id:
    description: AWS version id to read.
    type: str
  binary:
    description: How an AWS SecretBinary is returned, as base64 text or decoded as UTF-8 text.
    type: str
    default: base64
    choices: [base64, text]
  aws_region:
    description: AWS region.
    type: str
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
    vars:
      - name: tonsurance_aws_region
  aws_profile:
    description: AWS profile of the shared config files.
    type: str
    env:
      - name: AWS_PROFILE
    vars:
      - name: tonsurance_aws_profile
  aws_endpoint_url:
    description: Secrets Manager endpoint, for a VPC endpoint or a test server.
    type: str
    vars:
      - name: tonsurance_aws_endpoint_url
  aws_access_key_id:
    description: AWS access key id; by default boto3's credential chain (environment, profile, role).
    type: str
  aws_secret_access_key:
    description: AWS secret access key, with O(aws_access_key_id).
    type: str
  aws_session_token:
    description: AWS session token of temporary credentials.
    type: str
  vault_mount_point:
    description:
      - Mount point of the KV version 2 engine, for terms that do not name one; C(secret) when unset.
      - When unset, a path pasted as C(<mount>/data/<path>) names its own mount point.
    type: str
    vars:
      - name: tonsurance_vault_mount_point
  version:
    description: Vault KV version to read; default is the current one.
    type: int
  vault_auth:
    description:
      - How to authenticate to Vault. With C(approle) a given O(vault_token) is used while Vault accepts
        it, and a fresh AppRole login replaces it when it lapses.
    type: str
    default: token
    choices: [token, approle]
    vars:
      - name: tonsurance_vault_auth
  vault_token:
    description: Vault token.
    type: str
    env:
      - name: VAULT_TOKEN
      - name: BAO_TOKEN
    vars:
      - name: tonsurance_vault_token
  timeout:
    description: Seconds to wait for the backend on each call.
    type: int
    default: 30
  network:
    description: Network of the run. The local backend answers only when this is C(local).
    type: str
    vars:
      - name: tonsurance_network
  store:
    description: Path of the local store file.
    type: path
    default: .state/local/secrets.json
    vars:
      - name: tonsurance_secret_store
notes:
  - Vault paths are given without the mount point; a path pasted as C(<mount>/data/<path>) (or C(v1/...))
    resolves to the same secret, a C(<mount>/metadata/...) path fails with a message saying so.
  - Deleted or destroyed Vault versions and AWS secrets scheduled for deletion count as missing.
  - Values are held in memory by Ansible for the task that uses them. Pass them only to C(no_log) options;
    a module prints what it is given in any other option.
  - Ansible forks a process per task, so the client cache lasts for one task. Vault logins across tasks
    are shared only through P(tonsurance.deploy.vault_login#lookup).
"""

EXAMPLES = r"""
- name: Deploy with the deployer mnemonic from AWS Secrets Manager (a no_log option)
  tonsurance.deploy.ton_contract:
    name: PricingOracle
    network: testnet
    provider: lite
    lite_config: /etc/tonsurance/testnet-global.config.json
    artifacts_dir: contracts/build
    deployer_mnemonic: "{{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/deployer-mnemonic', backend='aws') }}"
    init:
      admin: "0:6f5bc67986e06430961d9df00433926a4cd92e597ddd8aa6043645ac20bd1782"
      keeper: "0:6f5bc67986e06430961d9df00433926a4cd92e597ddd8aa6043645ac20bd1782"
      hedge_bps: 2000

- name: One key of a JSON secret in Vault, in a namespace, at a chosen version
  ansible.builtin.set_fact:
    pricing_api_key: >-
      {{ lookup('tonsurance.deploy.secret',
                {'backend': 'vault', 'mount_point': 'kv', 'path': 'tonsurance/testnet/pricing',
                 'key': 'api.key', 'namespace': 'payments', 'version': 3}) }}
  no_log: true

- name: The previous AWS version, skipped with a warning when it is not there
  ansible.builtin.set_fact:
    previous_password: >-
      {{ lookup('tonsurance.deploy.secret', 'tonsurance/testnet/postgres', backend='aws',
                key='password', version_stage='AWSPREVIOUS', on_missing='warn') }}
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - The values, in the order of the terms, without the terms skipped by O(on_missing) or O(on_denied).
    - A whole SecretString as text, a SecretBinary as base64 (or text), the Vault data as a dict unless a
      key is chosen.
  type: list
  elements: raw
"""

import time

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import backends, reference
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.errors import SecretError
from ansible_collections.tonsurance.deploy.plugins.plugin_utils import lookup_options

display = Display()

OPTION_NAMES = backends.CONNECTION_OPTIONS + (
    "backend", "key", "version_stage", "version_id", "binary", "version", "vault_mount_point",
    "on_missing", "on_denied",
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        options = lookup_options.options(self, OPTION_NAMES)

        found = []
        for term in terms:
            try:
                ref = reference.parse(term, options)
            except SecretError as exc:
                raise AnsibleLookupError(f"secret: {exc}") from exc
            display.vvv(f"secret: reading {ref.describe()}")
            started = time.monotonic()
            try:
                value = backends.fetch(ref, options)
            except SecretError as exc:
                action = backends.outcome(exc, options["on_missing"], options["on_denied"])
                if action == "error":
                    raise AnsibleLookupError(f"secret: failed to fetch {exc}") from exc
                if action == "warn":
                    display.warning(f"secret: left out {exc}")
                continue
            display.vvvv(f"secret: read {ref.describe()} in {time.monotonic() - started:.3f} s")
            found.append(value)
        return found
