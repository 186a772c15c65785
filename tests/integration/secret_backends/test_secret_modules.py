"""secret_rotation_info and secret_separation_info, run as Ansible runs modules."""

import datetime
import json

import pytest
from pytoniq_core.crypto.keys import mnemonic_new

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local

from conftest import module

from .conftest import aws_client, vault_client


@pytest.fixture(scope="module")
def aged(moto, openbao):
    """Secrets written now in both backends, and an identity that may read dates only."""
    client = aws_client(moto)
    client.create_secret(Name="tonsurance/rot/deployer", SecretString="w")
    client.create_secret(Name="tonsurance/rot/api", SecretString=json.dumps({"key": "k"}))
    client.put_secret_value(SecretId="tonsurance/rot/api", SecretString=json.dumps({"key": "k2"}))
    root = vault_client(openbao)
    root.secrets.kv.v2.create_or_update_secret("tonsurance/rot/postgres", {"password": "p"})
    root.secrets.kv.v2.create_or_update_secret("tonsurance/rot/postgres", {"password": "p2"})
    root.sys.create_or_update_policy("rot-none", 'path "secret/data/nothing" { capabilities = ["read"] }')
    none = root.auth.token.create(policies=["rot-none"], ttl="1h")["auth"]["client_token"]
    return dict(moto=moto, openbao=openbao, vault_none=none)


def rotation_args(aged, who="admin", **extra):
    moto, openbao = aged["moto"], aged["openbao"]
    key_id, secret = moto[who]
    args = dict(
        secrets=[
            dict(label="deployer_mnemonic", backend="aws", name="tonsurance/rot/deployer", kind="wallet"),
            dict(label="pricing_api_key", backend="aws", name="tonsurance/rot/api", key="key", kind="api_key"),
            dict(label="database_password", backend="vault", path="tonsurance/rot/postgres", kind="database_password"),
        ],
        aws_endpoint_url=moto["endpoint"], aws_region=moto["region"], aws_access_key_id=key_id,
        aws_secret_access_key=secret, vault_url=openbao["url"], vault_token=openbao["token"],
    )
    args.update(extra)
    return args


def by_label(result):
    return {entry["label"]: entry for entry in result["secrets"]}


def test_fresh_secrets_pass_in_check_mode_a_real_run_and_again(aged):
    for check_mode in (True, False, False):
        result = module("secret_rotation_info", rotation_args(aged), check_mode=check_mode)
        assert not result.get("failed"), result
        assert result["changed"] is False
        assert result["overdue"] == [] and result["unreadable"] == [] and result["due_soon"] == []
        entries = by_label(result)
        assert entries["deployer_mnemonic"]["max_age_days"] == 30
        assert entries["database_password"]["max_age_days"] == 90
        assert all(e["status"] == "ok" and e["age_days"] < 1 for e in entries.values())


def test_ages_match_an_independent_read_of_the_backends(aged):
    result = by_label(module("secret_rotation_info", rotation_args(aged)))
    versions = aws_client(aged["moto"]).list_secret_version_ids(SecretId="tonsurance/rot/api")["Versions"]
    current = [v for v in versions if "AWSCURRENT" in v["VersionStages"]][0]["CreatedDate"]
    reported = datetime.datetime.fromisoformat(result["pricing_api_key"]["last_changed"])
    assert abs((reported - current).total_seconds()) <= 1  # one side is kept to whole seconds
    meta = vault_client(aged["openbao"]).secrets.kv.v2.read_secret_metadata("tonsurance/rot/postgres")["data"]
    created = meta["versions"][str(meta["current_version"])]["created_time"]
    assert result["database_password"]["last_changed"].startswith(created[:19])


def test_overdue_wallet_is_named_when_judged_in_the_future(aged):
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=45)).isoformat()
    result = module("secret_rotation_info", rotation_args(aged, as_of=later))
    assert result["overdue"] == ["deployer_mnemonic"]
    assert by_label(result)["pricing_api_key"]["status"] == "ok"
    tighter = module("secret_rotation_info", rotation_args(aged, as_of=later, max_age_days={"api_key": 40}))
    assert sorted(tighter["overdue"]) == ["deployer_mnemonic", "pricing_api_key"]
    soon = module("secret_rotation_info", rotation_args(aged, as_of=later, max_age_days={"api_key": 50}))
    assert soon["due_soon"] == ["pricing_api_key"]


def test_dates_only_identity_can_check_rotation(aged):
    result = module("secret_rotation_info", rotation_args(aged, who="auditor"))
    assert result["overdue"] == [] and result["unreadable"] == []


def test_missing_and_denied_are_reported_not_failed(aged):
    args = rotation_args(aged, vault_token=aged["vault_none"])
    args["secrets"].append(dict(label="keeper_mnemonic", backend="aws", name="tonsurance/rot/absent", kind="wallet"))
    result = module("secret_rotation_info", args)
    assert not result.get("failed"), result
    entries = by_label(result)
    assert entries["database_password"]["status"] == "denied"
    assert entries["keeper_mnemonic"]["status"] == "missing"
    assert sorted(result["unreadable"]) == ["database_password", "keeper_mnemonic"]


def test_local_ages_are_unknown_and_a_kind_is_required(aged, tmp_path):
    store = str(tmp_path / "secrets.json")
    local.write(store, {"deployer_mnemonic": "w"})
    result = module("secret_rotation_info", dict(
        secrets=[dict(label="deployer_mnemonic", backend="local", name="deployer_mnemonic", kind="wallet")],
        network="local", store=store))
    assert by_label(result)["deployer_mnemonic"]["status"] == "unknown"
    failed = module("secret_rotation_info", dict(secrets=[dict(backend="aws", name="x")]))
    assert failed["failed"] and "has no kind" in failed["msg"]


def test_expired_credentials_fail_the_check(aged):
    args = rotation_args(aged, vault_token="s.expired-or-never-was")  # pragma: allowlist secret
    result = module("secret_rotation_info", args)
    assert result["failed"] and "database_password" not in result["msg"]
    assert "Vault refused the token" in result["msg"]


WORDS_A = " ".join(mnemonic_new(24))
WORDS_B = " ".join(mnemonic_new(24))


def separation_args(**extra):
    args = dict(
        mainnet=[dict(label="deployer_mnemonic", backend="aws", name="tonsurance/mainnet/deployer-mnemonic"),
                 dict(label="database_password", backend="vault", path="tonsurance/mainnet/postgres", namespace="main")],
        testnet=[dict(label="deployer_mnemonic", backend="aws", name="tonsurance/testnet/deployer-mnemonic"),
                 dict(label="database_password", backend="vault", path="tonsurance/mainnet/postgres", namespace="test")],
        mainnet_mnemonics=dict(deployer_mnemonic=WORDS_A),
        testnet_mnemonics=dict(deployer_mnemonic=WORDS_B),
    )
    args.update(extra)
    return args


def test_separate_networks_share_nothing():
    for check_mode in (True, False, False):
        result = module("secret_separation_info", separation_args(), check_mode=check_mode)
        assert result["changed"] is False
        assert result["shared_references"] == [] and result["shared_keys"] == []
        assert len(result["public_keys"]["mainnet"]["deployer_mnemonic"]) == 64


def test_shared_reference_is_found_through_an_arn():
    testnet = [dict(label="deployer_mnemonic", backend="aws",
                    name="arn:aws:secretsmanager:eu-west-1:123456789012:secret:tonsurance/mainnet/deployer-mnemonic-Ab12Cd")]
    result = module("secret_separation_info", separation_args(testnet=testnet))
    assert result["shared_references"] == [dict(mainnet="deployer_mnemonic", testnet="deployer_mnemonic",
                                                secret="aws secret tonsurance/mainnet/deployer-mnemonic")]


def test_same_mnemonic_under_two_names_is_found_and_never_printed():
    result = module("secret_separation_info", separation_args(testnet_mnemonics=dict(deployer_mnemonic=WORDS_A)))
    assert [(s["mainnet"], s["testnet"]) for s in result["shared_keys"]] == [("deployer_mnemonic", "deployer_mnemonic")]
    text = json.dumps(result)
    assert WORDS_A not in text and " ".join(WORDS_A.split()[:3]) not in text


def test_invalid_mnemonic_is_named_without_its_words():
    result = module("secret_separation_info", separation_args(testnet_mnemonics=dict(deployer_mnemonic="not valid words")))
    assert result["failed"] and "testnet deployer_mnemonic" in result["msg"]
    assert "not valid words" not in json.dumps(result)
