"""Helpers of the database tests (their fixtures are in this package's conftest.py), also used by
tests/bench/bench_backup.py."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import zlib

import psycopg
from psycopg import sql

from conftest import BIN, COLLECTIONS, REPO, PlaybookResult, ansible_env

MIGRATIONS = os.path.join(REPO, "migrations")
AWS = dict(aws_access_key_id="testing", aws_secret_access_key="testing", aws_region="us-east-1")


def private_dir(prefix):
    """A directory outside pytest's shared temporary root.

    The server runs as its own user under root and needs search permission on every directory above
    its data; another pytest session on the machine resets pytest's root to mode 0700 when it starts.
    """
    return tempfile.mkdtemp(prefix=f"tonsurance-{prefix}-")


def admin_connect(server, database="postgres"):
    return psycopg.connect(host=server["host"], port=server["port"], user="postgres", dbname=database,
                           autocommit=True)


def connect(options, database=None):
    return psycopg.connect(host=options["login_host"], port=options["login_port"], user=options["login_user"],
                           dbname=database or options["database"], autocommit=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_module(name, args, check_mode=False):
    """Start a module process without waiting (for concurrency tests); finish with finish_module()."""
    payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=False)
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"ANSIBLE_MODULE_ARGS": payload}, handle)
    handle.close()
    path = os.path.join(REPO, "plugins", "modules", f"{name}.py")
    process = subprocess.Popen([sys.executable, path, handle.name], env=dict(os.environ, PYTHONPATH=COLLECTIONS),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.args_file = handle.name
    return process


def finish_module(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    os.unlink(process.args_file)
    try:
        return json.loads(stdout)
    except ValueError:
        raise AssertionError(f"module printed no JSON: {stdout[-2000:]} {stderr[-2000:]}") from None


def run_playbook(name, workdir, *args, extra_vars=None, inventory="local", timeout=600):
    """Run one of the collection's playbooks on the local inventory with a private state directory."""
    variables = {"tonsurance_state_dir": os.path.join(workdir, "state")}
    variables.update(extra_vars or {})
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, "playbooks", name),
           "-i", os.path.join(REPO, "inventories", inventory), "-e", json.dumps(variables), *args]
    proc = subprocess.run(cmd, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=timeout,
                          check=False)
    start = proc.stdout.find("{")
    document = json.loads(proc.stdout[start:]) if start >= 0 else {}
    return PlaybookResult(proc, document)


def fingerprints(conn):
    """Content hash of every user table: equal fingerprints mean equal rows."""
    tables = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1, 2").fetchall()
    found = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t")
        found[f"{schema}.{table}"] = tuple(conn.execute(query.format(sql.Identifier(schema, table))).fetchone())
    return found


def schema_snapshot(conn):
    """Tables, columns, indexes and constraints of the public schema, and the ledger's rows."""
    columns = conn.execute(
        """SELECT table_name, column_name, data_type, is_nullable, column_default
             FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2""").fetchall()
    indexes = conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1").fetchall()
    constraints = conn.execute(
        """SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""").fetchall()
    ledger = []
    if conn.execute("SELECT to_regclass('public.tonsurance_migrations')").fetchone()[0]:
        ledger = conn.execute("SELECT version, name, checksum FROM tonsurance_migrations ORDER BY 1").fetchall()
    return dict(columns=columns, indexes=indexes, constraints=constraints, ledger=ledger)


def file_checksum(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return hashlib.sha256(data.replace(b"\r", b"")).hexdigest()


def gunzip(data):
    return zlib.decompress(data, 31)


def populate(conn, policies=3000):
    """Realistic rows in every table of the migrated schema."""
    conn.execute(
        f"""INSERT INTO policies (policy_id, policyholder, coverage_type, coverage_amount_nanoton, premium_nanoton,
                                 starts_at, expires_at, shard_id, chain_id, stablecoin_id, status, premium_rate_bps)
           SELECT i, '0:' || lpad(to_hex(i), 64, '0'),
                  (ARRAY['depeg', 'smart_contract', 'oracle', 'bridge'])[1 + i % 4],
                  1000000000::numeric * (1 + i % 500), 1000000::numeric * (1 + i % 90),
                  timestamptz '2026-01-01' + i * interval '1 minute',
                  timestamptz '2026-01-01' + i * interval '1 minute' + interval '30 days',
                  i % 256, 1 + i % 9, CASE WHEN i % 4 = 0 THEN 1 + i % 9 END,
                  (ARRAY['active', 'expired', 'claimed'])[1 + i % 3], 80 + i % 400
             FROM generate_series(1, {int(policies)}) AS i""")
    conn.execute(
        """INSERT INTO lp_deposits (tranche_id, depositor, amount_nanoton, tokens_minted, tx_hash, deposited_at)
           SELECT 1 + i % 6, '0:' || lpad(to_hex(i * 7), 64, '0'), 5000000000::numeric * i, 4900000000::numeric * i,
                  'd' || lpad(to_hex(i), 63, '0'), timestamptz '2026-02-01' + i * interval '1 hour'
             FROM generate_series(1, 400) AS i""")
    conn.execute(
        """INSERT INTO blockchain_events (observed_at, chain_id, contract, event_type, tx_hash, logical_time,
                                          policy_id, payload)
           SELECT timestamptz '2026-03-01' + i * interval '1 second', 1, '0:' || lpad(to_hex(i % 17), 64, 'b'),
                  'policy_created', 'e' || lpad(to_hex(i), 63, '0'), 1000 + i, i, jsonb_build_object('n', i)
             FROM generate_series(1, 800) AS i""")
    conn.execute(
        """INSERT INTO pricing_oracle_updates (observed_at, coverage_type, chain_id, stablecoin_id, base_rate_bps,
                                               source)
           SELECT timestamptz '2026-03-01' + i * interval '5 minutes', 'depeg', 1 + i % 9, 1 + i % 9, 50 + i % 70,
                  'pricing-keeper'
             FROM generate_series(1, 300) AS i""")
    conn.execute(
        """INSERT INTO product_exposure (coverage_type, chain_id, stablecoin_id, active_policies, total_coverage_nanoton)
           SELECT coverage_type, chain_id, stablecoin_id, count(*), sum(coverage_amount_nanoton)
             FROM policies GROUP BY 1, 2, 3
           ON CONFLICT DO NOTHING""")
