# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secrets scenario's secret managers: an OpenBao dev server and a moto server on this machine.

Each subcommand takes the scenario's backends directory (under molecule's ephemeral directory) and
prints one JSON document for the playbook that called it. No secret value is ever printed or written
by this script: the test secrets are generated in memory and handed to the servers only, and the
verify subcommands read them back from the servers into memory to look for them.

  start DIR              start both servers on free ports, write their addresses to DIR/servers.json
  seed DIR               store the test secrets, an AppRole and an IAM identity for the runs
  stop DIR               stop the servers this directory names, remove DIR, require no process left
  capture OUT CMD...     run a command, its output going to OUT only; report its play recap
  evidence DIR           what the servers saw: AppRole logins, Vault reads, Secrets Manager calls
  deployer CHAIN STORE ADDRESS
                         whether the chain account ADDRESS holds the key of the local store's mnemonic
  leaks DIR ROOT STORE   search every file under ROOT for every test secret and the local store's
                         deployer mnemonic, naming only labels and files
"""

import base64
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BIN = os.path.dirname(sys.executable)
REGION = "eu-west-1"
# Requests moto answers before it enforces IAM: creating the administrator, its key and its policy.
MOTO_OPEN_CALLS = 3
APPROLE = "tonsurance-local"
VAULT_SECRETS = {
    "keeper_mnemonic": ("tonsurance/local/keeper", "mnemonic"),
    "pricing_api_key": ("tonsurance/local/external-api-keys", "pricing"),
}
AWS_SECRETS = {
    "database_password": ("tonsurance/local/postgres", "password"),
}
# Files that hold a credential or a secret by design; the leak search skips them (and only them).
CREDENTIAL_FILES = ("admin.json", "approle.json", "run-vars.yml", "aws-credentials", os.path.join("openbao", ".vault-token"))


def emit(document):
    sys.stdout.write(json.dumps(document, sort_keys=True) + "\n")


def fail(message):
    emit({"failed": True, "msg": message})
    sys.exit(1)


def write_private(path, text):
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            reply.read()
        return True
    except (urllib.error.URLError, OSError):
        return False


def alive(pid):
    """Whether pid is a running process (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def launch(argv, cwd, log, env):
    with open(log, "ab") as out:
        # A session of its own: the server outlives this script and the task that ran it.
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_until_answering(url, proc, log, deadline=60):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            with open(log, encoding="utf-8", errors="replace") as handle:
                raise RuntimeError(f"{url} exited early: {handle.read()[-1500:]}")
        if answers(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {deadline} s")


def clean_env(**extra):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("VAULT_", "BAO_", "AWS_", "ANSIBLE_", "MOLECULE_"))}
    env.update(extra)
    return env


def launch_openbao(where, root_token):
    home = os.path.join(where, "openbao")
    os.makedirs(home, mode=0o700)
    # Audit devices are declared in a configuration file (OpenBao refuses them through the API).
    config = os.path.join(home, "audit.hcl")
    audit_log = os.path.join(home, "audit.log")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write('audit "file" "scenario" {\n  options = {\n'
                     f'    file_path = "{audit_log}"\n    mode = "0600"\n  }}\n}}\n')
    port = free_port()
    log = os.path.join(home, "server.log")
    # HOME is the server's own: dev mode writes its root token to ~/.vault-token. The token goes in
    # through the environment, so no process listing shows it.
    proc = launch([os.path.join(BIN, "bao"), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}",
                   f"-config={config}"],
                  home, log, clean_env(HOME=home, BAO_DEV_ROOT_TOKEN_ID=root_token))
    return proc, log, {"name": "openbao", "pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}",
                       "health": "/v1/sys/health", "config": config, "audit_log": audit_log}


def launch_moto(where):
    home = os.path.join(where, "moto")
    os.makedirs(home, mode=0o700)
    port = free_port()
    log = os.path.join(home, "server.log")
    recording = os.path.join(home, "recording.jsonl")
    proc = launch([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)], home, log,
                  clean_env(INITIAL_NO_AUTH_ACTION_COUNT=str(MOTO_OPEN_CALLS), MOTO_RECORDER_FILEPATH=recording))
    return proc, log, {"name": "moto", "pid": proc.pid, "port": port, "url": f"http://127.0.0.1:{port}",
                       "health": "/moto-api/", "recording": recording}


def servers_running(where):
    path = os.path.join(where, "servers.json")
    if not os.path.exists(path):
        return None
    servers = read_json(path)
    if all(alive(entry["pid"]) and answers(entry["url"] + entry["health"]) for entry in servers["processes"]):
        return servers
    return None


def cmd_start(where):
    running = servers_running(where)
    if running:
        emit({"changed": False, **running})
        return
    if os.path.exists(where):
        stop_all(where)
        shutil.rmtree(where)
    os.makedirs(where, mode=0o700)
    root_token = "root-" + secrets.token_hex(16)
    write_private(os.path.join(where, "admin.json"), json.dumps({"vault_root_token": root_token}))
    # Both start at once, and are written down before they are waited for, so stop finds them either way.
    launched = [launch_openbao(where, root_token), launch_moto(where)]
    openbao, moto = (entry for _proc, _log, entry in launched)
    servers = {
        "vault_url": openbao["url"],
        "vault_audit_log": openbao["audit_log"],
        "aws_endpoint_url": moto["url"],
        "aws_region": REGION,
        "aws_recording": moto["recording"],
        "processes": [openbao, moto],
    }
    write_private(os.path.join(where, "servers.json"), json.dumps(servers, indent=2, sort_keys=True))
    try:
        for proc, log, entry in launched:
            wait_until_answering(entry["url"] + entry["health"], proc, log)
    except RuntimeError as exc:
        for proc, _log, _entry in launched:
            if proc.poll() is None:
                terminate(proc.pid)
        fail(str(exc))
    emit({"changed": True, **servers})


def vault_admin(servers, admin):
    import hvac  # pylint: disable=import-outside-toplevel

    return hvac.Client(url=servers["vault_url"], token=admin["vault_root_token"])


def aws_client(servers, service, key_id, secret_key):
    import boto3  # pylint: disable=import-outside-toplevel

    return boto3.client(service, endpoint_url=servers["aws_endpoint_url"], region_name=servers["aws_region"],
                        aws_access_key_id=key_id, aws_secret_access_key=secret_key)


def seed_vault(servers, admin, mnemonic):
    vault = vault_admin(servers, admin)
    generated = {"keeper_mnemonic": mnemonic}
    generated["pricing_api_key"] = secrets.token_urlsafe(32)
    for label, (path, key) in VAULT_SECRETS.items():
        vault.secrets.kv.v2.create_or_update_secret(path, {key: generated[label], "note": "scenario test value"})
    policy = ('path "secret/data/tonsurance/local/*" { capabilities = ["read"] }\n'
              'path "secret/metadata/tonsurance/local/*" { capabilities = ["read"] }\n')
    vault.sys.create_or_update_policy("tonsurance-local-read", policy)
    vault.sys.enable_auth_method("approle")
    vault.auth.approle.create_or_update_approle(APPROLE, token_policies=["tonsurance-local-read"], token_ttl="10m")
    role_id = vault.auth.approle.read_role_id(APPROLE)["data"]["role_id"]
    secret_id = vault.auth.approle.generate_secret_id(APPROLE)["data"]["secret_id"]
    return {"role_id": role_id, "secret_id": secret_id}


def seed_aws(servers):
    iam = aws_client(servers, "iam", "AKIDBOOTSTRAP", "bootstrap")
    # The MOTO_OPEN_CALLS requests moto answers without credentials; IAM holds from here on.
    iam.create_user(UserName="administrator")
    admin_key = iam.create_access_key(UserName="administrator")["AccessKey"]
    iam.put_user_policy(UserName="administrator", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    admin = (admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
    iam = aws_client(servers, "iam", *admin)
    iam.create_user(UserName="tonsurance-local")
    run_key = iam.create_access_key(UserName="tonsurance-local")["AccessKey"]
    iam.put_user_policy(UserName="tonsurance-local", PolicyName="read-secrets", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"]}]}))
    manager = aws_client(servers, "secretsmanager", *admin)
    for name, key in AWS_SECRETS.values():
        manager.create_secret(Name=name, SecretString=json.dumps(
            {"username": "tonsurance", key: "pw-" + secrets.token_urlsafe(24)}))
    return admin, (run_key["AccessKeyId"], run_key["SecretAccessKey"])


def cmd_seed(where):
    from pytoniq_core.crypto.keys import mnemonic_new  # pylint: disable=import-outside-toplevel

    if os.path.exists(os.path.join(where, "approle.json")):
        emit({"changed": False})
        return
    servers = read_json(os.path.join(where, "servers.json"))
    admin = read_json(os.path.join(where, "admin.json"))
    approle = seed_vault(servers, admin, " ".join(mnemonic_new(24)))
    aws_admin, aws_run = seed_aws(servers)
    admin.update(aws_access_key_id=aws_admin[0], aws_secret_access_key=aws_admin[1])
    write_private(os.path.join(where, "admin.json"), json.dumps(admin))
    write_private(os.path.join(where, "approle.json"), json.dumps(approle))
    # What an inventory would name for the runs (JSON is YAML): the servers and the AppRole to log in with.
    write_private(os.path.join(where, "run-vars.yml"), json.dumps({
        "tonsurance_vault_url": servers["vault_url"],
        "tonsurance_vault_role_id": approle["role_id"],
        "tonsurance_vault_secret_id": approle["secret_id"],
        "tonsurance_aws_endpoint_url": servers["aws_endpoint_url"],
        "tonsurance_aws_region": servers["aws_region"],
    }, indent=2))
    write_private(os.path.join(where, "aws-credentials"),
                  f"[default]\naws_access_key_id = {aws_run[0]}\naws_secret_access_key = {aws_run[1]}\n")
    # From here on moto records every request (not its answers): the runs' calls, never the seeding.
    request = urllib.request.Request(servers["aws_endpoint_url"] + "/moto-api/recorder/start-recording",
                                     data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()
    emit({"changed": True,
          "vault": [f"secret/{path}" for path, _key in VAULT_SECRETS.values()],
          "aws": [name for name, _key in AWS_SECRETS.values()]})


def terminate(pid, grace=15):
    os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.1)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.1)


def ours(entry):
    """Whether entry's pid still runs the server this directory started (a pid may have been reused)."""
    line = command_line(entry["pid"])
    if entry["name"] == "openbao":
        # The bao entry point replaces itself with the bundled binary; its -config path names this directory.
        return alive(entry["pid"]) and f"127.0.0.1:{entry['port']}" in line and entry["config"] in line
    return alive(entry["pid"]) and "moto_server" in line and f"-p {entry['port']}" in line


def leftovers(where, ports):
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid() and alive(int(name)):
            line = command_line(int(name))
            if (where in line and "backends.py" not in line) or any(
                    f"127.0.0.1:{port}" in line or f"-p {port}" in line for port in ports):
                found.append(f"{name}: {line.strip()}")
    return found


def stop_all(where):
    path = os.path.join(where, "servers.json")
    stopped, ports = [], []
    if os.path.exists(path):
        for entry in read_json(path)["processes"]:
            ports.append(entry["port"])
            if ours(entry):
                terminate(entry["pid"])
                stopped.append(entry["name"])
    remaining = leftovers(where, ports)
    if remaining:
        fail(f"processes of {where} still run: {remaining}")
    return stopped


def cmd_stop(where):
    if not os.path.isdir(where):
        emit({"changed": False, "stopped": []})
        return
    stopped = stop_all(where)
    shutil.rmtree(where)
    emit({"changed": True, "stopped": stopped})


RECAP = re.compile(r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
                   r"\s+failed=(?P<failed>\d+)", re.M)


def cmd_capture(out, argv):
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, check=False)
    with open(out, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    recap = {match.group("host"): {key: int(value) for key, value in match.groupdict().items() if key != "host"}
             for match in RECAP.finditer(text)}
    emit({"changed": False, "rc": proc.returncode, "recap": recap, "lines": text.count("\n"),
          "secret_reads": text.count("secret: reading ")})


def vault_evidence(servers):
    logins, reads = 0, {f"secret/data/{path}": {"approle": 0, "other": 0} for path, _key in VAULT_SECRETS.values()}
    metadata = dict.fromkeys((f"secret/metadata/{path}" for path, _key in VAULT_SECRETS.values()), 0)
    with open(servers["vault_audit_log"], encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            request, auth = entry.get("request", {}), entry.get("auth") or {}
            if entry.get("type") != "response" or entry.get("error"):
                continue
            if request.get("path") == "auth/approle/login":
                logins += 1
            elif request.get("path") in reads and request.get("operation") == "read":
                who = "approle" if (auth.get("metadata") or {}).get("role_name") == APPROLE else "other"
                reads[request["path"]][who] += 1
            elif request.get("path") in metadata and request.get("operation") == "read":
                metadata[request["path"]] += 1
    return {"approle_logins": logins, "reads": reads, "metadata_reads": metadata}


def aws_evidence(servers, run_key_id):
    calls = {}
    if not os.path.exists(servers["aws_recording"]):
        return calls
    with open(servers["aws_recording"], encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            headers = {name.lower(): value for name, value in entry["headers"].items()}
            target = headers.get("x-amz-target", "")
            if not target.startswith("secretsmanager."):
                continue
            body = base64.b64decode(entry["body"]) if entry.get("body_encoded") else (entry.get("body") or "{}")
            secret = json.loads(body).get("SecretId", "")
            identity = "run" if f"Credential={run_key_id}/" in headers.get("authorization", "") else "other"
            tally = calls.setdefault(f"{target.split('.', 1)[1]} {secret}", {"run": 0, "other": 0})
            tally[identity] += 1
    return calls


def cmd_evidence(where):
    servers = read_json(os.path.join(where, "servers.json"))
    run_key_id = re.search(r"aws_access_key_id = (\S+)", open_text(os.path.join(where, "aws-credentials"))).group(1)
    emit({"changed": False, "vault": vault_evidence(servers), "aws": aws_evidence(servers, run_key_id)})


def open_text(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def cmd_deployer(chain_path, store_path, address):
    from pytoniq_core import Cell  # pylint: disable=import-outside-toplevel
    from pytoniq_core.crypto.keys import mnemonic_to_private_key  # pylint: disable=import-outside-toplevel
    from pytoniq_core.tlb.account import ShardAccount  # pylint: disable=import-outside-toplevel

    words = read_json(store_path)["deployer_mnemonic"].split()
    public_key = mnemonic_to_private_key(words)[0]
    boc = read_json(chain_path)["accounts"][address]
    account = ShardAccount.deserialize(Cell.one_from_boc(base64.b64decode(boc)).begin_parse()).account
    state = account.storage.state
    # A highload v3 wallet's data starts with its owner's public key.
    stored = state.state_init.data.begin_parse().load_bytes(32) if state.state_init else b""
    emit({"changed": False, "status": state.type_, "public_key_matches": stored == public_key})


def needles_of(label, value):
    """Every form a leak of value could take: (secret label, form, text). A mnemonic also leaks by
    any run of three of its words, as a list, or by its private key."""
    found = [(label, "value", value)]
    words = value.split()
    if len(words) == 24:
        from pytoniq_core.crypto.keys import mnemonic_to_private_key  # pylint: disable=import-outside-toplevel

        found += [(label, f"words {start + 1}-{start + 3}", " ".join(words[start:start + 3]))
                  for start in range(len(words) - 2)]
        found.append((label, "list", '", "'.join(words[:3])))
        found.append((label, "private key", mnemonic_to_private_key(words)[1][:32].hex()))
    return found


def read_back(where):
    """The test secrets and the runs' credentials, read from where they are kept, into memory only."""
    servers = read_json(os.path.join(where, "servers.json"))
    admin = read_json(os.path.join(where, "admin.json"))
    values = {}
    vault = vault_admin(servers, admin)
    for label, (path, key) in VAULT_SECRETS.items():
        values[label] = vault.secrets.kv.v2.read_secret_version(path, raise_on_deleted_version=True)["data"]["data"][key]
    manager = aws_client(servers, "secretsmanager", admin["aws_access_key_id"], admin["aws_secret_access_key"])
    for label, (name, key) in AWS_SECRETS.items():
        values[label] = json.loads(manager.get_secret_value(SecretId=name)["SecretString"])[key]
    values["vault_secret_id"] = read_json(os.path.join(where, "approle.json"))["secret_id"]
    values["aws_secret_access_key"] = re.search(r"aws_secret_access_key = (\S+)",
                                                open_text(os.path.join(where, "aws-credentials"))).group(1)
    return values


def cmd_leaks(where, root, store):
    needles = [needle for label, value in read_back(where).items() for needle in needles_of(label, value)]
    local = needles_of("deployer_mnemonic (local store)", read_json(store)["deployer_mnemonic"])
    needles += local
    skip = {os.path.realpath(os.path.join(where, name)) for name in CREDENTIAL_FILES} | {os.path.realpath(store)}
    scanned, hits = [], {}
    for folder, _dirs, names in os.walk(root):
        for name in sorted(names):
            path = os.path.join(folder, name)
            if os.path.realpath(path) in skip or os.path.islink(path) or not os.path.isfile(path):
                continue
            text = open_text(path)
            scanned.append(os.path.relpath(path, root))
            for label, form, needle in needles:
                if needle in text:
                    hits.setdefault(f"{label} ({form})", []).append(os.path.relpath(path, root))
    # The control: the one file meant to hold the local deployer's mnemonic is found to hold it.
    control = sum(needle in open_text(store) for _label, _form, needle in local)
    emit({"changed": False, "scanned": sorted(scanned), "needles": len(needles), "hits": hits,
          "control_hits": control, "labels": sorted({label for label, _form, _needle in needles})})


def main(argv):
    if len(argv) < 3:
        fail(__doc__)
    # The first argument is a path for every subcommand: DIR, OUT or CHAIN.
    command, where = argv[1], os.path.abspath(argv[2])
    if command == "start":
        cmd_start(where)
    elif command == "seed":
        cmd_seed(where)
    elif command == "stop":
        cmd_stop(where)
    elif command == "capture" and len(argv) > 3:
        cmd_capture(where, argv[3:])
    elif command == "evidence":
        cmd_evidence(where)
    elif command == "deployer" and len(argv) == 5:
        cmd_deployer(where, os.path.abspath(argv[3]), argv[4])
    elif command == "leaks" and len(argv) == 5:
        cmd_leaks(where, os.path.abspath(argv[3]), os.path.abspath(argv[4]))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv)
