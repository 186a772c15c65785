"""The local backend: the local inventory's 0600 store, refused on every other network."""

import os

import pytest
from ansible.errors import AnsibleError

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local


@pytest.fixture
def store(tmp_path):
    path = str(tmp_path / "state" / "secrets.json")
    local.write(path, {"deployer_mnemonic": "local words", "pricing": {"api": {"key": "local-api-value"}}})
    return path


def test_reads_names_and_keys_on_the_local_network(secret_lookup, store):
    assert secret_lookup("deployer_mnemonic", store=store, network="local") == ["local words"]
    assert secret_lookup({"name": "pricing", "key": "api.key"}, store=store, network="local") == ["local-api-value"]


@pytest.mark.parametrize("network", ["mainnet", "testnet", None])
def test_refused_off_the_local_network(secret_lookup, store, network):
    options = dict(store=store) if network is None else dict(store=store, network=network)
    with pytest.raises(AnsibleError, match="serves the local inventory only") as error:
        secret_lookup("deployer_mnemonic", on_missing="skip", on_denied="skip", **options)
    assert "local words" not in str(error.value)


def test_missing_name_and_missing_store(secret_lookup, store, tmp_path):
    with pytest.raises(AnsibleError, match="is not in the local store"):
        secret_lookup("keeper_mnemonic", store=store, network="local")
    assert secret_lookup(["keeper_mnemonic", "deployer_mnemonic"], store=store, network="local",
                         on_missing="skip") == ["local words"]
    with pytest.raises(AnsibleError, match="does not exist"):
        secret_lookup("deployer_mnemonic", store=str(tmp_path / "none.json"), network="local")


def test_open_store_is_refused(secret_lookup, store):
    os.chmod(store, 0o644)
    with pytest.raises(AnsibleError, match="0600") as error:
        secret_lookup("deployer_mnemonic", store=store, network="local", on_missing="skip")
    assert "local words" not in str(error.value)
