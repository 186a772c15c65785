"""pg_migrate against a real PostgreSQL: apply once, markers, line endings, concurrency, failures."""

import hashlib
import os
import time

from conftest import module

from .db_fixtures import MIGRATIONS, connect, file_checksum, finish_module, schema_snapshot, start_module


def write(directory, files):
    os.makedirs(directory, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode()
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(data)
    return str(directory)


def ledger(options):
    with connect(options) as conn:
        if not conn.execute("SELECT to_regclass('public.tonsurance_migrations')").fetchone()[0]:
            return []
        return conn.execute("SELECT version, name, checksum FROM tonsurance_migrations ORDER BY 1").fetchall()


def test_migrations_apply_once_and_a_second_run_changes_nothing(database):
    args = dict(database, migrations_dir=MIGRATIONS)

    check = module("pg_migrate", args, check_mode=True, diff=True)
    assert not check.get("failed"), check
    assert check["changed"] is True
    assert [p["file"] for p in check["pending"]] == [
        "001_initial_schema.sql", "002_add_multi_dimensional_coverage.sql",
        "003_add_blockchain_event_log.sql", "004_add_dynamic_pricing.sql"]
    assert "0004 add_dynamic_pricing" in check["diff"]["after"]
    assert ledger(database) == [], "check mode must not create the ledger"

    real = module("pg_migrate", args)
    assert not real.get("failed"), real
    assert real["changed"] is True and real["current_version"] == 4
    assert [a["version"] for a in real["applied"]] == [1, 2, 3, 4]
    assert any("plain table" in n or "hypertable" in n for n in real["notices"])

    # Independent read-back: the ledger holds each file once with the checksum of its text.
    rows = ledger(database)
    assert [(version, name) for version, name, _checksum in rows] == [
        (1, "initial_schema"), (2, "add_multi_dimensional_coverage"), (3, "add_blockchain_event_log"),
        (4, "add_dynamic_pricing")]
    for (version, _recorded_name, checksum), name in zip(rows, sorted(os.listdir(MIGRATIONS))):
        assert checksum == file_checksum(os.path.join(MIGRATIONS, name))
    with connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM tranches").fetchone()[0] == 6
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"policies", "lp_deposits", "coverage_types", "chains", "stablecoins", "blockchain_events",
                "pricing_oracle_updates", "product_exposure"} <= tables
        applied_by = conn.execute("SELECT DISTINCT applied_by FROM tonsurance_migrations").fetchall()
        assert len(applied_by) == 1 and "@" in applied_by[0][0]

    again = module("pg_migrate", dict(args, verify_queries=[
        {"name": "tranches seeded", "query": "SELECT count(*) = 6 FROM tranches"},
        {"name": "future table", "query": "SELECT false", "min_version": 99}]))
    assert not again.get("failed"), again
    assert again["changed"] is False and again["applied"] == [] and again["pending"] == []
    assert again["verification"][0] == {"name": "tranches seeded", "passed": True}
    assert again["verification"][1]["passed"] is None
    assert ledger(database) == rows


def test_concurrently_file_runs_outside_a_transaction_with_its_marker(database, tmp_path):
    directory = write(tmp_path / "m", {
        "001_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL);\n"
                            "INSERT INTO accounts SELECT i, 'o' || i FROM generate_series(1, 500) i;\n",
        "002_index_owner.sql": "-- tonsurance:no-transaction\n"
                               "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_owner_idx ON accounts (owner);\n"
                               "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_owner_id_idx ON accounts (owner, id);\n",
    })
    args = dict(database, migrations_dir=directory)

    check = module("pg_migrate", args, check_mode=True)
    assert [(p["version"], p["transactional"]) for p in check["pending"]] == [(1, True), (2, False)]

    real = module("pg_migrate", args)
    assert not real.get("failed"), real
    assert [a["statements"] for a in real["applied"]] == [2, 2]
    with connect(database) as conn:
        valid = conn.execute(
            """SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                WHERE c.relname LIKE 'accounts_owner%' ORDER BY 1""").fetchall()
    assert valid == [("accounts_owner_id_idx", True), ("accounts_owner_idx", True)]
    assert [version for version, _name, _checksum in ledger(database)] == [1, 2]
    assert module("pg_migrate", args)["changed"] is False


def test_concurrently_without_the_marker_fails_naming_file_line_and_fix(database, tmp_path):
    directory = write(tmp_path / "m", {
        "001_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text);\n",
        "002_index_owner.sql": "-- adds an index\n\nCREATE INDEX CONCURRENTLY accounts_owner_idx ON accounts (owner);\n",
    })
    failed = module("pg_migrate", dict(database, migrations_dir=directory))
    assert failed.get("failed")
    assert "002_index_owner.sql failed at line 3" in failed["msg"]
    assert "tonsurance:no-transaction" in failed["msg"]
    assert failed["failed_file"] == "002_index_owner.sql" and failed["failed_line"] == 3
    assert [version for version, _name, _checksum in ledger(database)] == [1]


def test_bom_and_crlf_files_apply_and_keep_their_checksum(database, tmp_path):
    texts = {
        "001_holders.sql": "-- holders\nCREATE TABLE holders (\n    address text PRIMARY KEY\n);\n",
        "002_holder_notes.sql": "ALTER TABLE holders ADD COLUMN note text DEFAULT 'it''s fine';\n",
    }
    windows = {name: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode() for name, text in texts.items()}
    args = dict(database, migrations_dir=write(tmp_path / "crlf", windows))

    applied = module("pg_migrate", args)
    assert not applied.get("failed"), applied
    rows = ledger(database)
    assert [checksum for _version, _name, checksum in rows] == [hashlib.sha256(t.encode()).hexdigest() for t in texts.values()]

    # The same migrations checked out with LF endings and no BOM are the same migrations.
    unix = dict(args, migrations_dir=write(tmp_path / "lf", texts))
    assert module("pg_migrate", unix, check_mode=True)["pending"] == []
    again = module("pg_migrate", unix)
    assert again["changed"] is False and not again.get("failed")
    assert module("pg_migrate", args)["changed"] is False
    with connect(database) as conn:
        assert conn.execute("SELECT column_default FROM information_schema.columns "
                            "WHERE table_name = 'holders' AND column_name = 'note'").fetchone()[0] \
            == "'it''s fine'::text"


def test_changed_applied_file_is_refused_with_both_checksums(database, tmp_path):
    directory = write(tmp_path / "m", {"001_t.sql": "CREATE TABLE t (a int);\n"})
    args = dict(database, migrations_dir=directory)
    first = module("pg_migrate", args)
    applied_checksum = first["applied"][0]["checksum"]
    write(tmp_path / "m", {"001_t.sql": "CREATE TABLE t (a bigint);\n", "002_u.sql": "CREATE TABLE u (b int);\n"})
    for check_mode in (True, False):
        refused = module("pg_migrate", args, check_mode=check_mode)
        assert refused.get("failed")
        assert "001_t.sql" in refused["msg"] and applied_checksum in refused["msg"]
        assert file_checksum(os.path.join(directory, "001_t.sql")) in refused["msg"]
    with connect(database) as conn:
        assert conn.execute("SELECT to_regclass('public.u')").fetchone()[0] is None


def test_two_concurrent_migrators_apply_each_file_once(database, tmp_path):
    directory = write(tmp_path / "m", {
        "001_runs.sql": "CREATE TABLE runs (version int NOT NULL, backend int NOT NULL DEFAULT pg_backend_pid());\n"
                        "INSERT INTO runs (version) VALUES (1);\nSELECT pg_sleep(0.5);\n",
        "002_more.sql": "INSERT INTO runs (version) VALUES (2);\n",
        "003_more.sql": "INSERT INTO runs (version) VALUES (3);\n",
    })
    args = dict(database, migrations_dir=directory)
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.migrations import Ledger

    # Hold the migration lock so that both migrators are surely waiting on it when it is released.
    key = Ledger("public", "tonsurance_migrations").lock_key(database["database"])
    holder = connect(database)
    holder.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        runs = [start_module("pg_migrate", args) for _migrator in range(2)]
        deadline = time.monotonic() + 120
        while True:
            waiting = holder.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                                     "application_name = 'tonsurance.deploy'", [database["database"]]).fetchone()[0]
            if waiting == 2:
                break
            assert time.monotonic() < deadline, "the migrators never connected"
            assert all(r.poll() is None for r in runs), "a migrator ended before the lock was released"
            time.sleep(0.1)
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
        results = [finish_module(r) for r in runs]
    finally:
        holder.close()

    assert all(not r.get("failed") for r in results), results
    assert sorted(len(r["applied"]) for r in results) == [0, 3]
    assert sorted(r["changed"] for r in results) == [False, True]
    with connect(database) as conn:
        assert conn.execute("SELECT version FROM runs ORDER BY version").fetchall() == [(1,), (2,), (3,)]
    assert [version for version, _name, _checksum in ledger(database)] == [1, 2, 3]


def test_failing_migration_leaves_schema_and_ledger_untouched(database, tmp_path):
    directory = write(tmp_path / "m", {
        "001_base.sql": "CREATE TABLE base (id int PRIMARY KEY);\nINSERT INTO base VALUES (1), (2);\n",
    })
    args = dict(database, migrations_dir=directory)
    assert module("pg_migrate", args)["changed"] is True
    write(tmp_path / "m", {
        "002_good.sql": "ALTER TABLE base ADD COLUMN label text;\nCREATE INDEX base_label_idx ON base (label);\n",
        "003_bad.sql": "CREATE TABLE extra (id int);\n"
                       "ALTER TABLE base ADD COLUMN amount numeric;\n"
                       "\n"
                       "UPDATE base\n   SET amount = 1 / (id - id);\n"
                       "CREATE TABLE never (id int);\n",
    })
    with connect(database) as conn:
        before = schema_snapshot(conn)

    # One transaction for every pending file: the good file goes back too.
    failed = module("pg_migrate", dict(args, transaction="all"))
    assert failed.get("failed")
    assert "003_bad.sql failed at line 4" in failed["msg"] and "division by zero" in failed["msg"]
    assert "rolled back" in failed["msg"] and "ledger is unchanged" in failed["msg"]
    with connect(database) as conn:
        assert schema_snapshot(conn) == before

    # One transaction per file: the good file stays applied, the bad one leaves no trace.
    failed = module("pg_migrate", args)
    assert failed.get("failed") and failed["failed_line"] == 4 and failed["failed_file"] == "003_bad.sql"
    assert failed["applied_before"] == ["002_good.sql"]
    with connect(database) as conn:
        after = schema_snapshot(conn)
        assert conn.execute("SELECT to_regclass('public.extra'), to_regclass('public.never')").fetchone() \
            == (None, None)
    assert [version for version, _name, _checksum in after["ledger"]] == [1, 2]
    assert {c[1] for c in after["columns"] if c[0] == "base"} == {"id", "label"}


def test_syntax_error_points_at_its_line(database, tmp_path):
    directory = write(tmp_path / "m", {
        "001_broken.sql": "CREATE TABLE a (id int);\n\n/* a comment; with a semicolon */\n"
                          "CREATE TABLE b (\n    id int,\n    oops oops oops\n);\n",
    })
    failed = module("pg_migrate", dict(database, migrations_dir=directory))
    assert failed.get("failed") and failed["failed_line"] == 6, failed["msg"]
    assert ledger(database) == []
