"""The secret lookup against moto's Secrets Manager server, with IAM enforced."""

import json

import pytest
from ansible.errors import AnsibleError

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import cache

from .conftest import aws_client


@pytest.fixture(scope="module")
def sm(moto):
    client = aws_client(moto)
    client.create_secret(Name="tonsurance/test/deployer-mnemonic", SecretString="first words")
    client.put_secret_value(SecretId="tonsurance/test/deployer-mnemonic", SecretString="second words")
    current = client.describe_secret(SecretId="tonsurance/test/deployer-mnemonic")["VersionIdsToStages"]
    client.create_secret(Name="tonsurance/test/postgres", SecretString=json.dumps(
        {"db": {"primary": {"password": "pg-value"}}, "api.key": "dotted-value", "hosts": ["a", "b"]}))
    client.create_secret(Name="tonsurance/test/encryption-key", SecretBinary=b"\x00\x01\xfe\xff")
    client.create_secret(Name="tonsurance/test/binary-json", SecretBinary=json.dumps({"k": "bin-json"}).encode())
    client.create_secret(Name="tonsurance/test/retired", SecretString="old")
    client.delete_secret(SecretId="tonsurance/test/retired", RecoveryWindowInDays=7)
    aws_client(moto, region="us-east-1").create_secret(Name="tonsurance/test/regional", SecretString="us-value")
    first_version = [v for v, stages in current.items() if "AWSPREVIOUS" in stages][0]
    return dict(moto=moto, first_version=first_version)


def conn(moto, who="admin", **extra):
    key_id, secret = moto[who]
    options = dict(backend="aws", aws_endpoint_url=moto["endpoint"], aws_region=moto["region"],
                   aws_access_key_id=key_id, aws_secret_access_key=secret)
    options.update(extra)
    return options


def test_secret_string_whole_and_by_keys(secret_lookup, sm):
    moto = sm["moto"]
    assert secret_lookup("tonsurance/test/deployer-mnemonic", **conn(moto)) == ["second words"]
    assert secret_lookup("tonsurance/test/postgres", key="db.primary.password", **conn(moto)) == ["pg-value"]
    assert secret_lookup({"name": "tonsurance/test/postgres", "key": ["api.key"]}, **conn(moto)) == ["dotted-value"]
    assert secret_lookup({"name": "tonsurance/test/postgres", "key": "hosts.0"}, **conn(moto)) == ["a"]
    whole = secret_lookup("tonsurance/test/postgres", **conn(moto))[0]
    assert json.loads(whole)["db"]["primary"]["password"] == "pg-value"


def test_version_stage_and_version_id(secret_lookup, sm):
    moto = sm["moto"]
    assert secret_lookup("tonsurance/test/deployer-mnemonic", version_stage="AWSPREVIOUS",
                         **conn(moto)) == ["first words"]
    assert secret_lookup({"name": "tonsurance/test/deployer-mnemonic", "version_id": sm["first_version"]},
                         **conn(moto)) == ["first words"]
    with pytest.raises(AnsibleError, match="stage AWSPENDING: does not exist"):
        secret_lookup("tonsurance/test/deployer-mnemonic", version_stage="AWSPENDING", **conn(moto))


def test_binary_secret_as_base64_text_and_json(secret_lookup, sm):
    moto = sm["moto"]
    assert secret_lookup("tonsurance/test/encryption-key", **conn(moto)) == ["AAH+/w=="]
    with pytest.raises(AnsibleError, match="not UTF-8"):
        secret_lookup("tonsurance/test/encryption-key", binary="text", **conn(moto))
    assert secret_lookup({"name": "tonsurance/test/binary-json", "binary": "text", "key": "k"},
                         **conn(moto)) == ["bin-json"]


def test_region_option_and_reference_override(secret_lookup, sm):
    moto = sm["moto"]
    assert secret_lookup("tonsurance/test/regional", **conn(moto, aws_region="us-east-1")) == ["us-value"]
    assert secret_lookup({"name": "tonsurance/test/regional", "region": "us-east-1"}, **conn(moto)) == ["us-value"]
    with pytest.raises(AnsibleError, match="does not exist"):
        secret_lookup("tonsurance/test/regional", **conn(moto))


def test_profile_from_shared_files(secret_lookup, sm, tmp_path, monkeypatch):
    moto = sm["moto"]
    key_id, secret = moto["admin"]
    (tmp_path / "credentials").write_text(
        f"[tonsurance-test]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n")
    (tmp_path / "config").write_text(f"[profile tonsurance-test]\nregion = {moto['region']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    options = dict(backend="aws", aws_endpoint_url=moto["endpoint"])
    assert secret_lookup("tonsurance/test/deployer-mnemonic", aws_profile="tonsurance-test",
                         **options) == ["second words"]
    with pytest.raises(AnsibleError, match="profile does not exist"):
        secret_lookup("tonsurance/test/deployer-mnemonic", aws_profile="nobody", **options)


@pytest.mark.parametrize("on_missing", ["error", "warn", "skip"])
def test_missing_and_scheduled_for_deletion(secret_lookup, sm, on_missing):
    moto = sm["moto"]
    terms = ["tonsurance/test/absent", "tonsurance/test/retired", "tonsurance/test/deployer-mnemonic"]
    if on_missing == "error":
        with pytest.raises(AnsibleError, match="aws secret tonsurance/test/absent: does not exist"):
            secret_lookup(terms, on_missing=on_missing, **conn(moto))
        with pytest.raises(AnsibleError, match="retired: is scheduled for deletion"):
            secret_lookup("tonsurance/test/retired", on_missing=on_missing, **conn(moto))
    else:
        assert secret_lookup(terms, on_missing=on_missing, **conn(moto)) == ["second words"]


@pytest.mark.parametrize("on_denied", ["error", "warn", "skip"])
def test_iam_denial(secret_lookup, sm, on_denied):
    moto = sm["moto"]
    options = conn(moto, who="auditor", on_denied=on_denied)
    if on_denied == "error":
        with pytest.raises(AnsibleError, match="access denied to read the secret value") as error:
            secret_lookup("tonsurance/test/deployer-mnemonic", **options)
        assert "second words" not in str(error.value)
    else:
        assert secret_lookup("tonsurance/test/deployer-mnemonic", **options) == []


def test_bad_credentials_are_an_auth_failure_whatever_on_denied_says(secret_lookup, sm):
    moto = sm["moto"]
    options = conn(moto, on_denied="skip")
    options.update(aws_access_key_id="AKIDUNKNOWN", aws_secret_access_key="wrong")  # pragma: allowlist secret
    with pytest.raises(AnsibleError, match="refused the credentials") as error:
        secret_lookup("tonsurance/test/deployer-mnemonic", **options)
    assert "wrong" not in str(error.value)


def test_one_client_per_connection_options(secret_lookup, sm):
    moto = sm["moto"]
    for _round in range(3):
        secret_lookup(["tonsurance/test/deployer-mnemonic", "tonsurance/test/postgres"], **conn(moto))
    assert len([k for k in cache._CLIENTS if k[0] == "aws"]) == 1
    secret_lookup("tonsurance/test/regional", **conn(moto, aws_region="us-east-1"))
    assert len([k for k in cache._CLIENTS if k[0] == "aws"]) == 2


def test_unreachable_endpoint_is_named(secret_lookup, sm):
    options = conn(sm["moto"], aws_endpoint_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(AnsibleError, match="cannot reach Secrets Manager"):
        secret_lookup("tonsurance/test/deployer-mnemonic", **options)
