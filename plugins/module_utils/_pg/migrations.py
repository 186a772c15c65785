"""Schema migrations: the directory of NNN_name.sql files, the ledger table and the migrator.

Rules:
- Files are applied in version order; each runs in its own transaction together with its ledger row,
  or all pending files share one transaction when asked. A file whose first line is the
  no-transaction marker runs statement by statement outside any transaction (and cannot share one).
- The ledger keeps version, name, checksum (sha256 of the text without BOM and CR), applied_at,
  applied_by and duration. An applied file whose text changed is refused before anything runs.
- A session-level advisory lock, keyed by database and ledger table, keeps two migrators apart; the
  second one waits, then finds nothing pending.
"""

import hashlib
import os
import re
import time

from . import sqltext
from .connection import describe, psycopg, sql
from .errors import (
    ChecksumMismatchError,
    ConfigError,
    LedgerError,
    LockTimeoutError,
    MigrationFailedError,
    MigrationFileError,
    VerificationQueryError,
)

FILE_RE = re.compile(r"^(\d+)_([A-Za-z0-9][A-Za-z0-9_]*)\.sql$")
TRANSACTION_MODES = ("per_file", "all")
LOCK_POLL_SECONDS = 0.25


class Migration:
    def __init__(self, version, name, filename, text):
        self.version = version
        self.name = name
        self.filename = filename
        self.text = text
        self.checksum = sqltext.checksum(text)
        self.transactional = not sqltext.is_non_transactional(text)
        self._statements = None

    @property
    def statements(self):
        if self._statements is None:
            statements = sqltext.split(self.text, self.filename)
            for statement in statements:
                if sqltext.transaction_control(statement):
                    raise MigrationFileError(
                        f"migration {self.filename} line {statement.line}: {statement.keyword.upper()} manages a "
                        "transaction; remove it (the migrator wraps each file, or add the first-line marker "
                        f"'{sqltext.MARKER}' to run the file outside a transaction)")
            self._statements = statements
        return self._statements

    def summary(self):
        return dict(version=self.version, name=self.name, file=self.filename, checksum=self.checksum,
                    transactional=self.transactional)


def discover(directory):
    """Every migration of the directory, in version order."""
    if not os.path.isdir(directory):
        raise ConfigError(f"migrations directory {directory} does not exist")
    found = {}
    for filename in sorted(os.listdir(directory)):
        if not filename.endswith(".sql"):
            continue
        match = FILE_RE.match(filename)
        if not match:
            raise MigrationFileError(f"migration file {filename} in {directory} is not named NNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationFileError(
                f"migrations {found[version].filename} and {filename} in {directory} share version {version}")
        with open(os.path.join(directory, filename), "rb") as handle:
            text = sqltext.normalize(handle.read(), filename)
        found[version] = Migration(version, match.group(2), filename, text)
    return [found[v] for v in sorted(found)]


class Ledger:
    """The ledger table, schema-qualified."""

    def __init__(self, schema, table):
        self.schema = schema
        self.table = table
        self.ident = sql.Identifier(schema, table)

    @property
    def name(self):
        return f"{self.schema}.{self.table}"

    def lock_key(self, database):
        digest = hashlib.sha256(f"tonsurance.deploy/migrate/{database}/{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def exists(self, conn):
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{self.schema}"."{self.table}"']).fetchone()[0]

    def create(self, conn):
        conn.execute(sql.SQL(
            """
            CREATE TABLE IF NOT EXISTS {} (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    text NOT NULL CHECK (checksum ~ '^[0-9a-f]{{64}}$'),
                applied_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
                applied_by  text NOT NULL,
                duration_ms integer NOT NULL CHECK (duration_ms >= 0)
            )
            """).format(self.ident))

    def read(self, conn):
        if not self.exists(conn):
            return []
        rows = conn.execute(sql.SQL(
            "SELECT version, name, checksum, applied_at, applied_by, duration_ms FROM {} ORDER BY version"
        ).format(self.ident)).fetchall()
        return [dict(version=r[0], name=r[1], checksum=r[2], applied_at=r[3].isoformat(), applied_by=r[4],
                     duration_ms=r[5]) for r in rows]

    def record(self, conn, migration, applied_by, duration_ms):
        conn.execute(sql.SQL(
            "INSERT INTO {} (version, name, checksum, applied_by, duration_ms) VALUES (%s, %s, %s, %s, %s)"
        ).format(self.ident), [migration.version, migration.name, migration.checksum, applied_by, duration_ms])


def plan(migrations, applied_rows, target=None, allow_unknown_applied=False):
    """Pending migrations, after refusing drift, unknown applied versions and out-of-order files."""
    applied = {row["version"]: row for row in applied_rows}
    by_version = {m.version: m for m in migrations}

    drifted = [(by_version[v], row) for v, row in applied.items() if v in by_version
               and row["checksum"] != by_version[v].checksum]
    if drifted:
        parts = [f"{m.filename} was applied with checksum {row['checksum']} but the file now has {m.checksum}"
                 for m, row in drifted]
        raise ChecksumMismatchError(
            "refusing to migrate: applied migrations changed; " + "; ".join(parts)
            + ". Restore the applied text and add a new migration for the change")

    unknown = sorted(v for v in applied if v not in by_version)
    if unknown and not allow_unknown_applied:
        raise LedgerError(
            "refusing to migrate: the ledger holds versions with no file in the migrations directory: "
            + ", ".join(f"{v} ({applied[v]['name']})" for v in unknown)
            + "; is this checkout older than the database?")

    highest = max(applied) if applied else 0
    if target is not None and target < highest:
        raise LedgerError(f"target version {target} is below the applied version {highest}; "
                          "migrations are never reverted")
    pending = [m for m in migrations if m.version not in applied and (target is None or m.version <= target)]
    late = [m for m in pending if m.version < highest]
    if late:
        raise LedgerError(
            "refusing to migrate: " + ", ".join(m.filename for m in late)
            + f" would apply below the applied version {highest}; renumber them after it")
    return pending


class Migrator:
    def __init__(self, target, ledger, applied_by, lock_timeout=300, transaction="per_file", notices=None):
        if transaction not in TRANSACTION_MODES:
            raise ConfigError(f"transaction must be one of {', '.join(TRANSACTION_MODES)}")
        self.target = target
        self.ledger = ledger
        self.applied_by = applied_by
        self.lock_timeout = lock_timeout
        self.transaction = transaction
        self.notices = notices if notices is not None else []
        self.lock_waited = 0.0

    # The lock --------------------------------------------------------------------------------

    def _lock(self, conn):
        key = self.ledger.lock_key(self.target.database)
        started = time.monotonic()
        deadline = started + self.lock_timeout
        while True:
            if conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
                self.lock_waited = round(time.monotonic() - started, 3)
                return key
            if time.monotonic() >= deadline:
                holder = conn.execute(
                    """SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local')
                         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                        WHERE l.locktype = 'advisory' AND l.granted
                          AND l.objid = (%s::bigint & 4294967295) AND l.classid = ((%s::bigint >> 32) & 4294967295)
                        LIMIT 1""", [key, key]).fetchone()
                who = f"backend pid {holder[0]} ({holder[1] or 'no application name'}, {holder[2]})" if holder \
                    else "another session"
                raise LockTimeoutError(
                    f"migration lock on {self.target.where} is held by {who}; gave up after {self.lock_timeout} s")
            time.sleep(LOCK_POLL_SECONDS)

    # Running ---------------------------------------------------------------------------------

    def _run_statements(self, conn, migration, rolled_back, applied_before):
        for index, statement in enumerate(migration.statements):
            try:
                conn.execute(statement.text)
            except psycopg.Error as exc:
                line = sqltext.error_line(statement, exc.diag)
                hint = ""
                if getattr(exc, "sqlstate", None) == "25001":
                    hint = f"; mark the file with the first line '{sqltext.MARKER}'"
                if rolled_back:
                    what = "the file was rolled back" if self.transaction == "per_file" else \
                        "every migration of this run was rolled back"
                else:
                    what = (f"statements before it ({index} of {len(migration.statements)}) stay applied; "
                            "the file is not recorded")
                message = (f"migration {migration.filename} failed at line {line}: {describe(exc)}{hint}; "
                           f"{what} and the ledger is unchanged")
                raise MigrationFailedError(migration.filename, line, message, rolled_back, applied_before) from None

    def _apply_one(self, conn, migration, applied_before):
        started = time.monotonic()
        if migration.transactional:
            with conn.transaction():
                self._run_statements(conn, migration, True, applied_before)
                self.ledger.record(conn, migration, self.applied_by, _ms(started))
        else:
            self._run_statements(conn, migration, False, applied_before)
            self.ledger.record(conn, migration, self.applied_by, _ms(started))
        return dict(migration.summary(), duration_ms=_ms(started), statements=len(migration.statements))

    def _apply_all(self, conn, pending):
        started = time.monotonic()
        applied = []
        with conn.transaction():
            for migration in pending:
                one = time.monotonic()
                self._run_statements(conn, migration, True, [])
                self.ledger.record(conn, migration, self.applied_by, _ms(one))
                applied.append(dict(migration.summary(), duration_ms=_ms(one),
                                    statements=len(migration.statements)))
        for entry in applied:
            entry["batch_duration_ms"] = _ms(started)
        return applied

    def migrate(self, migrations, target_version=None, allow_unknown_applied=False, check_mode=False):
        """Return (before rows, pending, applied entries, after rows)."""
        for migration in migrations:
            migration.statements  # parse every file before touching the database
        conn = self.target.connect(autocommit=True)
        conn.add_notice_handler(self._notice)
        try:
            if check_mode:
                before = self.ledger.read(conn)
                pending = plan(migrations, before, target_version, allow_unknown_applied)
                return before, pending, [], before
            key = self._lock(conn)
            try:
                before = self.ledger.read(conn)
                pending = plan(migrations, before, target_version, allow_unknown_applied)
                applied = []
                if pending:
                    if self.transaction == "all":
                        blockers = [m.filename for m in pending if not m.transactional]
                        if blockers:
                            raise ConfigError(
                                "transaction=all cannot include migrations marked no-transaction: "
                                + ", ".join(blockers) + "; migrate up to the version before them first")
                    self.ledger.create(conn)
                    if self.transaction == "all":
                        applied = self._apply_all(conn, pending)
                    else:
                        for migration in pending:
                            applied.append(self._apply_one(conn, migration, [a["file"] for a in applied]))
                after = self.ledger.read(conn)
                return before, pending, applied, after
            finally:
                if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])
        finally:
            conn.close()

    def _notice(self, diag):
        if diag.message_primary:
            self.notices.append(f"{diag.severity}: {diag.message_primary}")

    # Verification ----------------------------------------------------------------------------

    def verify(self, queries, current_version):
        """Run verification queries (each must return one row whose first column is true)."""
        results = []
        if not queries:
            return results
        conn = self.target.connect(autocommit=False)
        try:
            conn.read_only = True
            for entry in queries:
                name = entry.get("name") or entry["query"][:60]
                minimum = entry.get("min_version")
                if minimum is not None and (current_version or 0) < int(minimum):
                    results.append(dict(name=name, passed=None, skipped=f"database below version {minimum}"))
                    continue
                try:
                    row = conn.execute(entry["query"]).fetchone()
                except psycopg.Error as exc:
                    conn.rollback()
                    raise VerificationQueryError(
                        f"verification query {name!r} on {self.target.where} failed: {describe(exc)}") from None
                if not row or row[0] is not True:
                    raise VerificationQueryError(
                        f"verification query {name!r} on {self.target.where} returned "
                        f"{'no row' if not row else repr(row[0])}, expected true")
                results.append(dict(name=name, passed=True))
            conn.rollback()
        finally:
            conn.close()
        return results


def _ms(started):
    return int((time.monotonic() - started) * 1000)
