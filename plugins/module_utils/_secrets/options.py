"""Argument spec of the secret connection options, for every module that reads a backend."""

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # outside Ansible (unit tests of the helpers)
    env_fallback = None


def _env(*names):
    return dict(fallback=(env_fallback, list(names))) if env_fallback else {}


CONNECTION_SPEC = dict(
    aws_region=dict(type="str", **_env("AWS_REGION", "AWS_DEFAULT_REGION")),
    aws_profile=dict(type="str", **_env("AWS_PROFILE")),
    aws_endpoint_url=dict(type="str"),
    aws_access_key_id=dict(type="str", no_log=False),
    aws_secret_access_key=dict(type="str", no_log=True),
    aws_session_token=dict(type="str", no_log=True),
    vault_url=dict(type="str", **_env("VAULT_ADDR", "BAO_ADDR")),
    vault_namespace=dict(type="str", **_env("VAULT_NAMESPACE", "BAO_NAMESPACE")),
    vault_auth=dict(type="str", default="token", choices=["token", "approle"]),
    vault_token=dict(type="str", no_log=True, **_env("VAULT_TOKEN", "BAO_TOKEN")),
    vault_role_id=dict(type="str", no_log=False, **_env("TONSURANCE_VAULT_ROLE_ID")),
    vault_secret_id=dict(type="str", no_log=True, **_env("TONSURANCE_VAULT_SECRET_ID")),
    vault_approle_mount_point=dict(type="str", default="approle"),
    vault_mount_point=dict(type="str"),
    vault_ca_cert=dict(type="path", **_env("VAULT_CACERT")),
    vault_validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
)
