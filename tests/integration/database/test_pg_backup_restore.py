"""pg_backup, pg_backup_verify, pg_backup_info and pg_restore against PostgreSQL and moto's S3."""

import hashlib
import json
import os

import pytest

from conftest import module

from .db_fixtures import MIGRATIONS, connect, fingerprints, gunzip, populate


@pytest.fixture
def populated(database):
    """A database at the current schema with rows in every table."""
    migrated = module("pg_migrate", dict(database, migrations_dir=MIGRATIONS))
    assert not migrated.get("failed"), migrated
    with connect(database) as conn:
        populate(conn)
    return database


def s3_object(client, bucket, key):
    return client.get_object(Bucket=bucket, Key=f"postgres/{key}")["Body"].read()


def backup(options, **extra):
    result = module("pg_backup", dict(options, **extra))
    assert not result.get("failed"), result
    return result


def test_backup_streams_to_s3_with_checksum_row_counts_and_metadata(populated, s3):
    client, bucket, store = s3
    args = dict(populated, **store, label="scheduled")

    check = module("pg_backup", args, check_mode=True)
    assert check["changed"] is True and check["backup_id"] is None
    assert "public.policies" in check["tables"]
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0, "check mode must not upload"

    taken = backup(populated, **store, label="scheduled")
    backup_id = taken["backup_id"]
    assert backup_id.startswith(populated["database"] + "-")
    assert taken["changed"] is True and taken["backup"]["verified"] is False

    # Independent read-back through boto3: checksum, size, whole dump, metadata, manifest.
    data = s3_object(client, bucket, f"{backup_id}.sql.gz")
    manifest = json.loads(s3_object(client, bucket, f"{backup_id}.json"))
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"] == taken["backup"]["sha256"]
    assert len(data) == manifest["size_bytes"]
    dump = gunzip(data)
    assert len(dump) == manifest["raw_size_bytes"]
    assert b"-- PostgreSQL database dump complete" in dump[-4096:]
    assert b"OWNER TO" not in dump and b"GRANT " not in dump, "dumps carry no owners or privileges"
    head = client.head_object(Bucket=bucket, Key=f"postgres/{backup_id}.sql.gz")
    assert head["Metadata"]["database"] == populated["database"]
    assert head["Metadata"]["server-version"] == manifest["server_version"]
    with connect(populated) as conn:
        for table, count in manifest["row_counts"].items():
            schema, name = table.split(".")
            assert conn.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0] == count
    assert manifest["row_counts"]["public.policies"] == 3000
    assert manifest["label"] == "scheduled" and manifest["verification"] is None

    # Verify: check mode proves nothing and records nothing; the real run restores into a scratch database.
    verify_args = dict(populated, **store, backup_id=backup_id)
    assert module("pg_backup_verify", verify_args, check_mode=True)["changed"] is True
    assert json.loads(s3_object(client, bucket, f"{backup_id}.json"))["verification"] is None
    verified = module("pg_backup_verify", verify_args)
    assert not verified.get("failed"), verified
    assert verified["verified"] is True and verified["verification"]["status"] == "passed"
    assert all(verified["verification"]["checks"].values())
    recorded = json.loads(s3_object(client, bucket, f"{backup_id}.json"))["verification"]
    assert recorded["status"] == "passed" and recorded["rows"] == sum(manifest["row_counts"].values())
    with connect(populated, "postgres") as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                            [populated["database"] + "_verify_%"]).fetchall()
    assert left == [], "the scratch database must be dropped"
    again = module("pg_backup_verify", verify_args)
    assert again["changed"] is False and again["verified"] is True

    # With max_age, a fresh verified backup is reused: a second run takes nothing.
    reused = backup(populated, **store, max_age=3600)
    assert reused["changed"] is False and reused["reused"] is True and reused["backup_id"] == backup_id
    listed = module("pg_backup_info", dict(store, database=populated["database"]))
    assert [b["backup_id"] for b in listed["backups"]] == [backup_id]
    assert listed["latest_verified"] == backup_id
    assert "testing" not in json.dumps(listed), "credentials never appear in results"


def test_multipart_upload_round_trips_through_s3(s3):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import stores

    client, bucket, options = s3
    store = stores.open_store(options["store"], options, part_size=5 * 1024 * 1024)
    payload = os.urandom(11 * 1024 * 1024 + 123)
    writer = store.writer("big.bin", {"database": "x"})
    for offset in range(0, len(payload), 1024 * 1024):
        writer.write(payload[offset:offset + 1024 * 1024])
    writer.commit()
    assert len(writer.parts) == 3
    assert b"".join(store.reader("big.bin")) == payload
    assert client.head_object(Bucket=bucket, Key="postgres/big.bin")["Metadata"] == {"database": "x"}

    aborted = store.writer("gone.bin")
    aborted.write(b"partial")
    aborted.abort()
    assert not store.exists("gone.bin")
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_truncated_backup_fails_verification_and_cannot_be_restored(populated, s3):
    client, bucket, store = s3
    backup_id = backup(populated, **store)["backup_id"]
    key = f"postgres/{backup_id}.sql.gz"
    data = s3_object(client, bucket, f"{backup_id}.sql.gz")
    client.put_object(Bucket=bucket, Key=key, Body=data[: len(data) // 2])
    with connect(populated) as conn:
        before = fingerprints(conn)

    failed = module("pg_backup_verify", dict(populated, **store, backup_id=backup_id))
    assert failed.get("failed") and failed["verified"] is False
    assert "truncated" in failed["msg"] and "checksum" in failed["msg"]
    manifest = json.loads(s3_object(client, bucket, f"{backup_id}.json"))
    assert manifest["verification"]["status"] == "failed"
    assert manifest["verification"]["checks"]["gzip_complete"] is False

    refused = module("pg_restore", dict(populated, **store, backup_id=backup_id, confirm=populated["database"]))
    assert refused.get("failed") and "not usable" in refused["msg"] and "failed" in refused["msg"]
    listed = module("pg_backup_info", dict(store, database=populated["database"]))
    assert [b["backup_id"] for b in listed["backups"]] == [backup_id], "a refused restore takes no safety backup"
    with connect(populated) as conn:
        assert fingerprints(conn) == before


def test_verified_backup_corrupted_later_is_refused_before_touching_the_database(populated, s3):
    client, bucket, store = s3
    backup_id = backup(populated, **store)["backup_id"]
    assert not module("pg_backup_verify", dict(populated, **store, backup_id=backup_id)).get("failed")
    key = f"postgres/{backup_id}.sql.gz"
    data = s3_object(client, bucket, f"{backup_id}.sql.gz")
    restore = dict(populated, **store, backup_id=backup_id, confirm=populated["database"])
    with connect(populated) as conn:
        conn.execute("DELETE FROM policies WHERE policy_id > 2000")
        before = fingerprints(conn)

    client.put_object(Bucket=bucket, Key=key, Body=data[:-10])
    shorter = module("pg_restore", restore)
    assert shorter.get("failed") and "corrupt" in shorter["msg"]

    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(flipped))
    damaged = module("pg_restore", restore)
    assert damaged.get("failed") and "untouched" in damaged["msg"]
    with connect(populated) as conn:
        assert fingerprints(conn) == before
    with connect(populated, "postgres") as conn:
        staging = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                               [populated["database"] + "_restore_%"]).fetchall()
    assert staging == []


def test_restore_brings_back_every_row(populated, s3):
    client, bucket, store = s3
    with connect(populated) as conn:
        original = fingerprints(conn)
    backup_id = backup(populated, **store)["backup_id"]
    assert not module("pg_backup_verify", dict(populated, **store, backup_id=backup_id)).get("failed")

    with connect(populated) as conn:
        conn.execute("DELETE FROM policies WHERE policy_id % 3 = 0")
        conn.execute("UPDATE lp_deposits SET amount_nanoton = amount_nanoton + 1")
        conn.execute("DROP TABLE blockchain_events")
        conn.execute("CREATE TABLE scratch_notes (note text)")
        damaged = fingerprints(conn)
    assert damaged != original

    restore = dict(populated, **store, backup_id=backup_id)
    refused = module("pg_restore", dict(restore, confirm="yes"))
    assert refused.get("failed") and f"confirm set to {populated['database']}" in refused["msg"]

    restore["confirm"] = populated["database"]
    check = module("pg_restore", restore, check_mode=True)
    assert check["changed"] is True and check["would_take_safety_backup"] is True
    with connect(populated) as conn:
        assert fingerprints(conn) == damaged, "check mode must not restore"

    restored = module("pg_restore", restore)
    assert not restored.get("failed"), restored
    assert restored["changed"] is True and restored["previous_kept"] is False
    manifest = json.loads(s3_object(client, bucket, f"{backup_id}.json"))
    assert restored["row_counts"] == manifest["row_counts"]
    with connect(populated) as conn:
        assert fingerprints(conn) == original, "every row, and only those rows, is back"

    # The state just replaced was backed up and proven first.
    safety = json.loads(s3_object(client, bucket, f"{restored['safety_backup_id']}.json"))
    assert safety["verification"]["status"] == "passed"
    assert safety["label"] == f"before-restore-of-{backup_id}"
    assert "public.scratch_notes" in safety["row_counts"]
    assert "public.blockchain_events" not in safety["row_counts"]

    again = module("pg_restore", restore)
    assert again["changed"] is False and again["already_restored"] is True


def test_restore_needs_no_role_of_the_source(populated, s3, pg_server):
    _client, _bucket, store = s3
    with connect(populated) as conn:
        conn.execute("CREATE ROLE legacy_owner NOLOGIN")
        conn.execute("CREATE ROLE legacy_reader NOLOGIN")
        conn.execute("CREATE TABLE legacy_ledger (id int PRIMARY KEY, memo text)")
        conn.execute("INSERT INTO legacy_ledger SELECT i, 'memo ' || i FROM generate_series(1, 250) i")
        conn.execute("ALTER TABLE legacy_ledger OWNER TO legacy_owner")
        conn.execute("GRANT SELECT ON legacy_ledger TO legacy_reader")
        original = fingerprints(conn)
    try:
        backup_id = backup(populated, **store)["backup_id"]
        with connect(populated) as conn:
            conn.execute("REASSIGN OWNED BY legacy_owner TO postgres")
            conn.execute("DROP OWNED BY legacy_reader")
            conn.execute("DROP ROLE legacy_owner")
            conn.execute("DROP ROLE legacy_reader")
            conn.execute("TRUNCATE legacy_ledger")
        verified = module("pg_backup_verify", dict(populated, **store, backup_id=backup_id))
        assert not verified.get("failed"), verified
        restored = module("pg_restore", dict(populated, **store, backup_id=backup_id, confirm=populated["database"],
                                             safety_backup_verify=False))
        assert not restored.get("failed"), restored
        with connect(populated) as conn:
            assert fingerprints(conn) == original
            owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'legacy_ledger'").fetchone()[0]
        assert owner == "postgres"
    finally:
        with connect(populated) as conn:
            for role in ("legacy_reader", "legacy_owner"):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                    conn.execute(f"REASSIGN OWNED BY {role} TO postgres")
                    conn.execute(f"DROP OWNED BY {role}")
                    conn.execute(f"DROP ROLE {role}")
