"""Session servers for the secret backends: an OpenBao dev server and moto's AWS server.

Both run on 127.0.0.1 with free ports, started once for the session and stopped at its end. moto
enforces IAM after the first few calls, so denied reads are real denials.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import COLLECTIONS

BIN = os.path.dirname(sys.executable)
ROOT_TOKEN = "tonsurance-test-root"  # pragma: allowlist secret
REGION = "eu-west-1"
# Calls moto answers before it starts checking credentials: the set-up in `moto` below.
MOTO_OPEN_CALLS = 5


def _install_collection_loader():
    """Load the collection the way Ansible does, so its lookup runs in this process with its options."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if any(type(finder).__name__ == "_AnsibleCollectionFinder" for finder in sys.meta_path):
        return
    # Modules imported as a plain package before the loader would lack the collection's metadata.
    for name in [n for n in sys.modules if n == "ansible_collections" or n.startswith("ansible_collections.")]:
        del sys.modules[name]
    _AnsibleCollectionFinder(paths=[COLLECTIONS])._install()


_install_collection_loader()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, proc, log, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited early: {open(log, encoding='utf-8').read()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {deadline} s")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def openbao(tmp_path_factory):
    home = tmp_path_factory.mktemp("openbao")
    port = free_port()
    log = str(home / "bao.log")
    # HOME is private: dev mode writes its root token to ~/.vault-token. The token goes in through the
    # environment, so no process listing shows it.
    env = dict(os.environ, HOME=str(home), BAO_DEV_ROOT_TOKEN_ID=ROOT_TOKEN)
    for name in ("VAULT_ADDR", "VAULT_TOKEN", "BAO_ADDR", "BAO_TOKEN", "VAULT_NAMESPACE"):
        env.pop(name, None)
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [os.path.join(BIN, "bao"), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(home))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/v1/sys/health", proc, log)
        yield dict(url=url, token=ROOT_TOKEN)
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    import boto3

    home = tmp_path_factory.mktemp("moto")
    port = free_port()
    log = str(home / "moto.log")
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(MOTO_OPEN_CALLS))
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(home))
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/moto-api/", proc, log)
        bootstrap = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                                 aws_access_key_id="AKIDBOOTSTRAP", aws_secret_access_key="bootstrap")
        # Exactly MOTO_OPEN_CALLS calls before IAM is enforced.
        bootstrap.create_user(UserName="deployer")
        admin = bootstrap.create_access_key(UserName="deployer")["AccessKey"]
        bootstrap.put_user_policy(UserName="deployer", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        bootstrap.create_user(UserName="auditor")
        auditor = bootstrap.create_access_key(UserName="auditor")["AccessKey"]
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                           aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
        # The auditor may read dates but never values.
        iam.put_user_policy(UserName="auditor", PolicyName="metadata-only", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"]}]}))
        yield dict(endpoint=endpoint, region=REGION,
                   admin=(admin["AccessKeyId"], admin["SecretAccessKey"]),
                   auditor=(auditor["AccessKeyId"], auditor["SecretAccessKey"]))
    finally:
        stop(proc)


def aws_client(moto, who="admin", region=None):
    import boto3

    key_id, secret = moto[who]
    return boto3.client("secretsmanager", endpoint_url=moto["endpoint"], region_name=region or moto["region"],
                        aws_access_key_id=key_id, aws_secret_access_key=secret)


def aws_env(moto, who="admin"):
    """Environment for an ansible-playbook run that talks to moto as `who`."""
    key_id, secret = moto[who]
    return dict(AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=moto["region"],
                AWS_EC2_METADATA_DISABLED="true")


def vault_client(openbao, **kwargs):
    import hvac

    return hvac.Client(url=openbao["url"], token=kwargs.pop("token", openbao["token"]), **kwargs)


@pytest.fixture(scope="session")
def secret_lookup():
    """The collection's secret lookup as Ansible loads it, run in this process."""
    from ansible.plugins.loader import lookup_loader

    plugin = lookup_loader.get("tonsurance.deploy.secret")
    assert plugin is not None

    def run(terms, **options):
        return plugin.run(terms if isinstance(terms, list) else [terms], variables={}, **options)

    return run


@pytest.fixture(autouse=True)
def fresh_clients():
    """Each test starts with no cached client or login, as a new task process would."""
    from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import cache, vault

    cache.clear()
    vault.LOGINS["count"] = 0
    yield
    cache.clear()


def ensure_approle(root):
    """Enable the AppRole auth method once per server, whichever test module comes first."""
    if "approle/" not in root.sys.list_auth_methods()["data"]:
        root.sys.enable_auth_method("approle")
