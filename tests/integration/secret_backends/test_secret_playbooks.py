"""Playbook runs: the mainnet preflight's rotation and separation gates, and one Vault login per run."""

import datetime
import json
import os
import subprocess

import pytest
from pytoniq_core.crypto.keys import mnemonic_new

from conftest import BIN, REPO, ansible_env, playbook

from .conftest import aws_client, aws_env, ensure_approle, vault_client

HERE = os.path.dirname(os.path.abspath(__file__))
ADDRESS = "0:" + "ab" * 32


@pytest.fixture(scope="module")
def networks(moto):
    """The mainnet and testnet inventories' secrets, created under their own names in moto."""
    client = aws_client(moto)
    for net in ("mainnet", "testnet"):
        client.create_secret(Name=f"tonsurance/{net}/deployer-mnemonic", SecretString=" ".join(mnemonic_new(24)))
        client.create_secret(Name=f"tonsurance/{net}/keeper-mnemonic", SecretString=" ".join(mnemonic_new(24)))
        client.create_secret(Name=f"tonsurance/{net}/postgres", SecretString=json.dumps({"password": f"{net}-pg"}))
        client.create_secret(Name=f"tonsurance/{net}/external-api-keys",
                             SecretString=json.dumps({"pricing": f"{net}-pricing"}))
        client.create_secret(Name=f"tonsurance/{net}/record-encryption-key", SecretBinary=os.urandom(32))
    twin = client.get_secret_value(SecretId="tonsurance/mainnet/deployer-mnemonic")["SecretString"]
    client.create_secret(Name="tonsurance/testnet/deployer-twin", SecretString=twin)
    return moto


def preflight(workdir, moto, *args, peer=None, **extra):
    config = os.path.join(workdir, "mainnet-global.config.json")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("{}")
    variables = dict(confirm_network="mainnet", tonsurance_lite_config=config, tonsurance_admin_address=ADDRESS,
                     tonsurance_keeper_address=ADDRESS, tonsurance_aws_endpoint_url=moto["endpoint"])
    if peer is not None:
        path = os.path.join(workdir, "testnet-vars.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(peer, handle)
        variables["tonsurance_separation_peer_vars"] = path
    variables.update(extra)
    return playbook(workdir, "--tags", "preflight", *args, inventory="mainnet", extra_vars=variables,
                    env=aws_env(moto))


def failure_text(run):
    return " ".join(str(f.get("msg", "")) for f in run.failures()) + run.proc.stderr[-2000:]


def test_fresh_separate_mainnet_passes_in_check_mode_a_real_run_and_again(networks, workdir):
    for args in (("--check",), (), ()):
        run = preflight(workdir, networks, *args)
        assert run.rc == 0, failure_text(run) + run.proc.stdout[-3000:]
        assert run.stats["changed"] == 0 and run.stats["failures"] == 0
    rotation = run.task_results("Check how old every secret is")[0]
    labels = {entry["label"]: entry for entry in rotation["secrets"]}
    assert set(labels) == {"deployer_mnemonic", "keeper_mnemonic", "database_password", "pricing_api_key",
                           "record_encryption_key"}
    assert all(entry["status"] == "ok" for entry in labels.values())
    separation = run.task_results("Find secrets and wallet keys")[0]
    assert separation["shared_references"] == [] and separation["shared_keys"] == []
    assert set(separation["public_keys"]["testnet"]) == {"deployer_mnemonic", "keeper_mnemonic"}


def test_overdue_wallets_fail_mainnet_by_name(networks, workdir):
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=45)).date().isoformat()
    run = preflight(workdir, networks, preflight_secret_rotation_as_of=later)
    assert run.rc != 0
    text = failure_text(run)
    assert "secrets out of rotation on mainnet" in text
    assert "deployer_mnemonic (aws secret tonsurance/mainnet/deployer-mnemonic) is overdue" in text
    assert "keeper_mnemonic" in text and "pricing_api_key" not in text


def test_tighter_inventory_limit_fails_an_api_key(networks, workdir):
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=20)).date().isoformat()
    run = preflight(workdir, networks, preflight_secret_rotation_as_of=later,
                    tonsurance_secret_max_age_days={"wallet": 30, "api_key": 10})
    assert run.rc != 0
    text = failure_text(run)
    assert "pricing_api_key" in text and "deployer_mnemonic" not in text


def test_reference_shared_with_testnet_is_refused(networks, workdir):
    peer = dict(tonsurance_deployer_secret=dict(backend="aws", name="tonsurance/testnet/deployer-mnemonic"),
                tonsurance_secrets=dict(pricing_api_key=dict(backend="aws", name="tonsurance/mainnet/external-api-keys",
                                                             key="pricing", kind="api_key")))
    run = preflight(workdir, networks, peer=peer)
    assert run.rc != 0
    text = failure_text(run)
    assert ("mainnet pricing_api_key and testnet pricing_api_key both use aws secret "
            "tonsurance/mainnet/external-api-keys") in " ".join(text.split())


def test_testnet_deployer_with_the_mainnet_mnemonic_is_refused(networks, workdir):
    peer = dict(tonsurance_deployer_secret=dict(backend="aws", name="tonsurance/testnet/deployer-twin"))
    run = preflight(workdir, networks, peer=peer)
    assert run.rc != 0
    text = " ".join(failure_text(run).split())
    assert "mainnet deployer_mnemonic and testnet deployer_mnemonic derive the same wallet key" in text
    twin = aws_client(networks).get_secret_value(SecretId="tonsurance/testnet/deployer-twin")["SecretString"]
    assert " ".join(twin.split()[:3]) not in run.proc.stdout + run.proc.stderr


def run_login_once(openbao, secret_id, *args):
    env = ansible_env(dict(VAULT_ADDR=openbao["url"], TONSURANCE_VAULT_ROLE_ID=openbao["role_id"],
                           TONSURANCE_VAULT_SECRET_ID=secret_id, ANSIBLE_STDOUT_CALLBACK="default"))
    env.pop("VAULT_TOKEN", None)
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(HERE, "login_once.yml"),
           "-i", os.path.join(REPO, "inventories", "local"), "-e", "tonsurance_vault_auth=approle", *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def approle(openbao):
    root = vault_client(openbao)
    root.secrets.kv.v2.create_or_update_secret("tonsurance/once/api", {"key": "once-value"})
    root.sys.create_or_update_policy("once-read", 'path "secret/*" { capabilities = ["read"] }')
    ensure_approle(root)
    root.auth.approle.create_or_update_approle("once", token_policies=["once-read"], token_ttl="10m")
    role_id = root.auth.approle.read_role_id("once")["data"]["role_id"]

    def single_use():
        answer = root.adapter.post("/v1/auth/approle/role/once/secret-id", json={"num_uses": 1})
        return answer["data"]["secret_id"]

    return dict(openbao, role_id=role_id, single_use=single_use)


def test_one_vault_login_serves_every_task_of_the_run(approle):
    run = run_login_once(approle, approle["single_use"]())
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "failed=0" in run.stdout


def test_without_the_shared_login_each_task_would_log_in_again(approle):
    # The control: the same run without the login step needs a login per task, and the
    # single-use secret id refuses the second.
    run = run_login_once(approle, approle["single_use"](), "--skip-tags", "login")
    assert run.returncode != 0
    assert "AppRole login refused" in run.stdout + run.stderr


def test_vault_options_given_as_templates_are_rendered_before_use(approle):
    # The Vault address only through an inventory-style variable that is itself a template: both
    # lookups must see the address, not the braces. (The rotation module takes its address as an
    # argument, so its tasks are left out.)
    extra = json.dumps({"vault_base": approle["url"], "tonsurance_vault_url": "{{ vault_base }}"})
    env = ansible_env(dict(TONSURANCE_VAULT_ROLE_ID=approle["role_id"],
                           TONSURANCE_VAULT_SECRET_ID=approle["single_use"](), ANSIBLE_STDOUT_CALLBACK="default"))
    for name in ("VAULT_ADDR", "BAO_ADDR", "VAULT_TOKEN"):
        env.pop(name, None)
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(HERE, "login_once.yml"),
           "-i", os.path.join(REPO, "inventories", "local"), "-e", "tonsurance_vault_auth=approle", "-e", extra,
           "--skip-tags", "rotation"]
    run = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "failed=0" in run.stdout
