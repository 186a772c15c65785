class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  aws_region:
    description: AWS region. Falls back to E(AWS_REGION), then to boto3's own configuration.
    type: str
  aws_profile:
    description: AWS profile of the shared config files (E(AWS_PROFILE)).
    type: str
  aws_endpoint_url:
    description: Secrets Manager endpoint, for a VPC endpoint or a test server.
    type: str
  aws_access_key_id:
    description: AWS access key id; by default boto3's credential chain (environment, profile, role).
    type: str
  aws_secret_access_key:
    description: AWS secret access key, with O(aws_access_key_id).
    type: str
  aws_session_token:
    description: AWS session token of temporary credentials.
    type: str
  vault_url:
    description: Vault address (E(VAULT_ADDR)).
    type: str
  vault_namespace:
    description: Vault namespace (E(VAULT_NAMESPACE)).
    type: str
  vault_auth:
    description:
      - How to authenticate to Vault. With C(approle), a given O(vault_token) is used while Vault accepts
        it, and an AppRole login replaces it when it lapses.
    type: str
    default: token
    choices: [token, approle]
  vault_token:
    description: Vault token (E(VAULT_TOKEN)).
    type: str
  vault_role_id:
    description: AppRole role id (E(TONSURANCE_VAULT_ROLE_ID)).
    type: str
  vault_secret_id:
    description: AppRole secret id (E(TONSURANCE_VAULT_SECRET_ID)).
    type: str
  vault_approle_mount_point:
    description: Mount point of the AppRole auth method.
    type: str
    default: approle
  vault_mount_point:
    description:
      - Mount point of the KV version 2 engine, for references that do not name one; C(secret) when unset.
      - When unset, a path pasted as C(<mount>/data/<path>) names its own mount point.
    type: str
  vault_ca_cert:
    description: CA bundle that signs the Vault server's certificate (E(VAULT_CACERT)).
    type: path
  vault_validate_certs:
    description: Check the Vault server's certificate.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a backend on each call.
    type: int
    default: 30
"""

    # The Vault connection options of the lookups, with the environment variables and inventory
    # variables they fall back to.
    VAULT_LOOKUP = r"""
options:
  vault_url:
    description: Vault address.
    type: str
    env:
      - name: VAULT_ADDR
      - name: BAO_ADDR
    vars:
      - name: tonsurance_vault_url
  vault_namespace:
    description: Vault namespace.
    type: str
    env:
      - name: VAULT_NAMESPACE
      - name: BAO_NAMESPACE
    vars:
      - name: tonsurance_vault_namespace
  vault_role_id:
    description: AppRole role id.
    type: str
    env:
      - name: TONSURANCE_VAULT_ROLE_ID
    vars:
      - name: tonsurance_vault_role_id
  vault_secret_id:
    description: AppRole secret id.
    type: str
    env:
      - name: TONSURANCE_VAULT_SECRET_ID
    vars:
      - name: tonsurance_vault_secret_id
  vault_approle_mount_point:
    description: Mount point of the AppRole auth method.
    type: str
    default: approle
    vars:
      - name: tonsurance_vault_approle_mount_point
  vault_ca_cert:
    description: CA bundle that signs the Vault server's certificate.
    type: path
    env:
      - name: VAULT_CACERT
  vault_validate_certs:
    description: Check the Vault server's certificate.
    type: bool
    default: true
"""
