import os

import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local


def test_store_is_written_0600_and_read_back(tmp_path):
    path = str(tmp_path / "s" / "secrets.json")
    local.write(path, {"k": "marker-value"})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert local.read(path) == {"k": "marker-value"}


def test_open_store_is_refused_without_showing_values(tmp_path):
    path = str(tmp_path / "secrets.json")
    local.write(path, {"k": "marker-value"})
    os.chmod(path, 0o644)
    with pytest.raises(local.SecretStoreError) as error:
        local.read(path)
    assert "0600" in str(error.value) and "marker-value" not in str(error.value)


def test_missing_store_is_named(tmp_path):
    with pytest.raises(local.SecretStoreError, match="does not exist"):
        local.read(str(tmp_path / "absent.json"))
