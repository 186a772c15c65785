"""The secret lookup against a real OpenBao dev server (Vault's KV v2 API)."""

import time

import hvac
import pytest
from ansible.errors import AnsibleError

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import cache, vault

from .conftest import ensure_approle, vault_client

READ_POLICY = """
path "secret/data/tonsurance/test/*" { capabilities = ["read"] }
path "secret/metadata/tonsurance/test/*" { capabilities = ["read"] }
"""


@pytest.fixture(scope="module")
def kv(openbao):
    """Secrets, a read policy, an AppRole and a namespace on the dev server."""
    root = vault_client(openbao)
    kv2 = root.secrets.kv.v2
    kv2.create_or_update_secret("tonsurance/test/deployer", {"mnemonic": "first-value"})
    kv2.create_or_update_secret("tonsurance/test/deployer", {"mnemonic": "second-value"})
    kv2.create_or_update_secret("tonsurance/test/postgres", {"db": {"primary": {"password": "pg-value"}},
                                                             "api.key": "dotted-value", "hosts": ["a", "b"]})
    kv2.create_or_update_secret("tonsurance/test/gone", {"v": "1"})
    kv2.delete_latest_version_of_secret("tonsurance/test/gone")
    kv2.create_or_update_secret("tonsurance/other/keeper", {"mnemonic": "not-for-readers"})
    root.sys.enable_secrets_engine("kv", path="kv", options={"version": "2"})
    root.secrets.kv.v2.create_or_update_secret("app/db", {"password": "kv-mount-value"}, mount_point="kv")
    root.sys.create_or_update_policy("tonsurance-read", READ_POLICY)
    ensure_approle(root)
    root.auth.approle.create_or_update_approle("deployer", token_policies=["tonsurance-read"], token_ttl="10m")
    role_id = root.auth.approle.read_role_id("deployer")["data"]["role_id"]
    root.adapter.post("/v1/sys/namespaces/payments")
    space = vault_client(openbao, namespace="payments")
    space.sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    space.secrets.kv.v2.create_or_update_secret("tonsurance/api", {"key": "namespaced-value"})
    reader = root.auth.token.create(policies=["tonsurance-read"], ttl="1h")["auth"]["client_token"]
    return dict(root=root, role_id=role_id, reader=reader, url=openbao["url"], token=openbao["token"])


def secret_id(kv, num_uses=0):
    answer = kv["root"].adapter.post("/v1/auth/approle/role/deployer/secret-id", json={"num_uses": num_uses})
    return answer["data"]["secret_id"]


def test_whole_secret_key_nested_key_and_dotted_key(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"])
    assert secret_lookup("tonsurance/test/deployer", **conn) == [{"mnemonic": "second-value"}]
    assert secret_lookup("tonsurance/test/deployer", key="mnemonic", **conn) == ["second-value"]
    assert secret_lookup("tonsurance/test/postgres", key="db.primary.password", **conn) == ["pg-value"]
    assert secret_lookup({"path": "tonsurance/test/postgres", "key": ["api.key"]}, **conn) == ["dotted-value"]
    assert secret_lookup({"path": "tonsurance/test/postgres", "key": "hosts.1"}, **conn) == ["b"]


def test_chosen_version(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"], key="mnemonic")
    assert secret_lookup("tonsurance/test/deployer", version=1, **conn) == ["first-value"]
    assert secret_lookup({"path": "tonsurance/test/deployer", "version": 2}, **conn) == ["second-value"]
    with pytest.raises(AnsibleError, match="version 9 .*does not exist"):
        secret_lookup({"path": "tonsurance/test/deployer", "version": 9}, **conn)


@pytest.mark.parametrize("path", ["secret/data/tonsurance/test/deployer", "v1/secret/data/tonsurance/test/deployer"])
def test_pasted_api_path_resolves(secret_lookup, kv, path):
    assert secret_lookup({"backend": "vault", "path": path, "key": "mnemonic"}, vault_url=kv["url"],
                         vault_token=kv["token"]) == ["second-value"]


def test_api_path_of_another_mount_and_explicit_mount(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"], key="password")
    assert secret_lookup("kv/data/app/db", **conn) == ["kv-mount-value"]
    assert secret_lookup({"path": "app/db", "mount_point": "kv"}, **conn) == ["kv-mount-value"]
    assert secret_lookup("app/db", vault_mount_point="kv", **conn) == ["kv-mount-value"]


def test_cli_style_and_metadata_paths_fail_clearly(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"])
    with pytest.raises(AnsibleError, match="repeats the mount point"):
        secret_lookup({"path": "tonsurance/test/deployer", "mount_point": "tonsurance"}, **conn)
    with pytest.raises(AnsibleError, match="metadata path"):
        secret_lookup("secret/metadata/tonsurance/test/deployer", **conn)


def test_namespace_option_and_reference_override(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"], key="key")
    assert secret_lookup("tonsurance/api", vault_namespace="payments", **conn) == ["namespaced-value"]
    assert secret_lookup({"path": "tonsurance/api", "namespace": "payments"}, **conn) == ["namespaced-value"]
    with pytest.raises(AnsibleError, match="does not exist"):
        secret_lookup("tonsurance/api", **conn)


def test_approle_logs_in_once_for_many_terms_and_lookups(secret_lookup, kv):
    # A secret id good for one login only: a second login would be refused by the server.
    conn = dict(backend="vault", vault_url=kv["url"], vault_auth="approle", vault_role_id=kv["role_id"],
                vault_secret_id=secret_id(kv, num_uses=1), key="mnemonic")
    terms = ["tonsurance/test/deployer", {"path": "tonsurance/test/deployer", "version": 1}]
    assert secret_lookup(terms, **conn) == ["second-value", "first-value"]
    assert secret_lookup("tonsurance/test/deployer", **conn) == ["second-value"]
    assert vault.LOGINS["count"] == 1
    assert len([k for k in cache._CLIENTS if k[0] == "vault"]) == 1


def test_used_up_secret_id_is_an_auth_failure_whatever_on_denied_says(secret_lookup, kv):
    used = secret_id(kv, num_uses=1)
    kv["root"].auth.approle.login(role_id=kv["role_id"], secret_id=used, use_token=False)
    with pytest.raises(AnsibleError, match="AppRole login refused") as error:
        secret_lookup("tonsurance/test/deployer", backend="vault", vault_url=kv["url"], vault_auth="approle",
                      vault_role_id=kv["role_id"], vault_secret_id=used, on_denied="skip")
    assert used not in str(error.value)


@pytest.mark.parametrize("on_missing", ["error", "warn", "skip"])
def test_missing_secret_and_deleted_version(secret_lookup, kv, on_missing):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["reader"], on_missing=on_missing)
    terms = ["tonsurance/test/absent", "tonsurance/test/gone", "tonsurance/test/deployer"]
    if on_missing == "error":
        with pytest.raises(AnsibleError, match="secret/tonsurance/test/absent: does not exist"):
            secret_lookup(terms, **conn)
    else:
        assert secret_lookup(terms, key="mnemonic", **conn) == ["second-value"]


def test_missing_key_is_missing(secret_lookup, kv):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["token"])
    with pytest.raises(AnsibleError, match="has no key password"):
        secret_lookup("tonsurance/test/deployer", key="password", **conn)
    assert secret_lookup("tonsurance/test/deployer", key="password", on_missing="skip", **conn) == []


@pytest.mark.parametrize("on_denied", ["error", "warn", "skip"])
def test_policy_denial(secret_lookup, kv, on_denied):
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=kv["reader"], on_denied=on_denied, key="mnemonic")
    terms = ["tonsurance/other/keeper", "tonsurance/test/deployer"]
    if on_denied == "error":
        with pytest.raises(AnsibleError, match="tonsurance/other/keeper.*permission denied") as error:
            secret_lookup(terms, **conn)
        assert "not-for-readers" not in str(error.value)
    else:
        assert secret_lookup(terms, **conn) == ["second-value"]


def wait_until_refused(openbao, token):
    client = vault_client(openbao, token=token)
    for _attempt in range(200):
        try:
            client.auth.token.lookup_self()
        except hvac.exceptions.Forbidden:
            return
        time.sleep(0.1)
    raise AssertionError("the short-lived token never expired")


def test_expired_token_is_an_auth_failure(secret_lookup, kv, openbao):
    short = kv["root"].auth.token.create(policies=["tonsurance-read"], ttl="1s", renewable=False)["auth"]["client_token"]
    wait_until_refused(openbao, short)
    with pytest.raises(AnsibleError, match="invalid, expired or revoked") as error:
        secret_lookup("tonsurance/test/deployer", backend="vault", vault_url=kv["url"], vault_token=short,
                      on_denied="skip", on_missing="skip")
    assert short not in str(error.value)


def test_token_expiring_mid_run_fails_with_token_auth(secret_lookup, kv, openbao):
    short = kv["root"].auth.token.create(policies=["tonsurance-read"], ttl="2s", renewable=False)["auth"]["client_token"]
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=short, key="mnemonic")
    assert secret_lookup("tonsurance/test/deployer", **conn) == ["second-value"]
    wait_until_refused(openbao, short)
    with pytest.raises(AnsibleError, match="expired or was revoked"):
        secret_lookup("tonsurance/test/deployer", **conn)


def test_lapsed_handed_over_token_is_replaced_by_one_approle_login(secret_lookup, kv, openbao):
    short = kv["root"].auth.token.create(policies=["tonsurance-read"], ttl="1s", renewable=False)["auth"]["client_token"]
    wait_until_refused(openbao, short)
    conn = dict(backend="vault", vault_url=kv["url"], vault_token=short, vault_auth="approle",
                vault_role_id=kv["role_id"], vault_secret_id=secret_id(kv, num_uses=1), key="mnemonic")
    assert secret_lookup(["tonsurance/test/deployer"] * 2, **conn) == ["second-value"] * 2
    assert vault.LOGINS["count"] == 1


def test_no_token_and_no_address_are_configuration_errors(secret_lookup, kv, monkeypatch):
    for name in ("VAULT_TOKEN", "BAO_TOKEN", "VAULT_ADDR", "BAO_ADDR"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(AnsibleError, match="no Vault token"):
        secret_lookup("tonsurance/test/deployer", backend="vault", vault_url=kv["url"])
    with pytest.raises(AnsibleError, match="no Vault address"):
        secret_lookup("tonsurance/test/deployer", backend="vault", vault_token="x")


def test_unreachable_vault_is_named(secret_lookup):
    with pytest.raises(AnsibleError, match="cannot reach Vault"):
        secret_lookup("a", backend="vault", vault_url="http://127.0.0.1:9", vault_token="x", timeout=2)
