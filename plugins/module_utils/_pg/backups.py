"""Backups: `pg_dump | gzip` streamed with a sha256 into a store, proven by a scratch restore.

A backup is two objects in the store: `<id>.sql.gz` (plain-format pg_dump, gzip) and `<id>.json`, its
manifest (database, server version, time, size, checksum, per-table row counts, and the result of its
verification). The row counts are read in the very snapshot pg_dump exports from, so they describe
exactly what the dump holds. Dumps carry no owners and no privileges, so they restore on a server
that lacks the source's roles.
"""

import datetime
import getpass
import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import zlib

from .connection import describe, psycopg, row_counts, sql
from .errors import (
    BackupError,
    BackupNotFoundError,
    RestoreError,
    RestoreRefusedError,
    StoreError,
    VerifyError,
)

FORMAT = "plain-sql+gzip"
DUMP_COMPLETE = b"-- PostgreSQL database dump complete"
TAIL = 4096
CHUNK = 1024 * 1024
ID_RE = re.compile(r"^(?P<database>.+)-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?$")
MAX_IDENT = 63


def object_key(backup_id):
    return f"{backup_id}.sql.gz"


def manifest_key(backup_id):
    return f"{backup_id}.json"


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def operator():
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry for the uid in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


# Reading the store ----------------------------------------------------------------------------

def _sort_key(backup_id):
    match = ID_RE.match(backup_id)
    if not match:
        return ("", 0, backup_id)
    return (match.group("stamp"), int(match.group("n") or 0), backup_id)


def backup_ids(store, database=None):
    """Ids of the backups in the store (those with a manifest), oldest first."""
    ids = []
    for key in store.keys():
        if "/" in key or not key.endswith(".json"):
            continue
        backup_id = key[: -len(".json")]
        match = ID_RE.match(backup_id)
        if not match or (database and match.group("database") != database):
            continue
        ids.append(backup_id)
    return sorted(ids, key=_sort_key)


def load_manifest(store, backup_id):
    manifest = store.get_json(manifest_key(backup_id))
    if manifest is None:
        raise BackupNotFoundError(f"backup {backup_id} has no manifest in {store.url}")
    if manifest.get("backup_id") != backup_id:
        raise StoreError(f"backup {backup_id}: its manifest in {store.url} names another backup")
    return manifest


def latest(store, database, verified=False, max_age=None):
    """Newest backup of `database` (optionally only verified ones, or younger than max_age seconds)."""
    for backup_id in reversed(backup_ids(store, database)):
        manifest = store.get_json(manifest_key(backup_id))
        if not manifest or manifest.get("database") != database:
            continue
        if max_age is not None and age_seconds(manifest) > max_age:
            return None
        if verified and not is_verified(manifest):
            continue
        return manifest
    return None


def is_verified(manifest):
    return (manifest.get("verification") or {}).get("status") == "passed"


def age_seconds(manifest):
    created = datetime.datetime.fromisoformat(manifest["created_at"])
    return (now_utc() - created).total_seconds()


def summary(manifest):
    """What results show of a manifest (everything but the row counts)."""
    keys = ("backup_id", "database", "created_at", "label", "size_bytes", "raw_size_bytes", "sha256",
            "server_version", "location", "duration_s")
    entry = {k: manifest.get(k) for k in keys}
    entry["tables"] = len(manifest.get("row_counts") or {})
    entry["rows"] = sum((manifest.get("row_counts") or {}).values())
    verification = manifest.get("verification") or {}
    entry["verified"] = is_verified(manifest)
    entry["verification_status"] = verification.get("status", "unverified")
    entry["verified_at"] = verification.get("at")
    return entry


# Taking a backup ------------------------------------------------------------------------------

def _new_id(store, database, moment):
    base = f"{database}-{moment:%Y%m%dT%H%M%SZ}"
    candidate, n = base, 0
    while store.exists(manifest_key(candidate)) or store.exists(object_key(candidate)):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _stderr_summary(handle, limit=300):
    handle.seek(0)
    text = handle.read().decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "ERROR" in line or "FATAL" in line or "error" in line:
            return line[:limit]
    return (lines[0][:limit] if lines else "no message")


def _client_version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30,
                              check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def create_backup(target, store, label="", compress_level=6):
    """Stream pg_dump through gzip into the store; return the manifest (written last)."""
    pg_dump = target.binary("pg_dump")
    started = now_utc()
    clock = time.monotonic()
    conn = target.connect(autocommit=False)
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        server_version = conn.execute("SHOW server_version").fetchone()[0]
        encoding = conn.execute("SHOW server_encoding").fetchone()[0]
        counts = row_counts(conn)
        backup_id = _new_id(store, target.database, started)
        metadata = {"backup-id": backup_id, "database": target.database, "server-version": server_version,
                    "created-at": started.isoformat(timespec="seconds"), "format": FORMAT}
        sha, raw_size, size, tail = _dump_into(target, store, backup_id, pg_dump, snapshot, metadata, compress_level)
    except psycopg.Error as exc:
        raise BackupError(f"backup of {target.where} failed: {describe(exc)}") from None
    finally:
        conn.close()

    manifest = dict(
        backup_id=backup_id, database=target.database, server=f"{target.host or 'local socket'}:{target.port}",
        server_version=server_version, pg_dump_version=_client_version(pg_dump), encoding=encoding,
        created_at=started.isoformat(timespec="seconds"), finished_at=now_utc().isoformat(timespec="seconds"),
        duration_s=round(time.monotonic() - clock, 3), label=label, created_by=operator(), format=FORMAT,
        object=object_key(backup_id), location=store.location(object_key(backup_id)),
        size_bytes=size, raw_size_bytes=raw_size, sha256=sha, row_counts=counts, verification=None,
    )
    store.put_json(manifest_key(backup_id), manifest)
    return manifest


def _dump_into(target, store, backup_id, pg_dump, snapshot, metadata, compress_level):
    command = [pg_dump, "--format=plain", "--no-owner", "--no-privileges", "--encoding=UTF8",
               f"--snapshot={snapshot}", "--lock-wait-timeout=60000"]
    writer = store.writer(object_key(backup_id), metadata)
    sha = hashlib.sha256()
    gzip = zlib.compressobj(compress_level, zlib.DEFLATED, 31)
    raw_size = size = 0
    tail = b""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                                       env=target.client_env())
        except OSError as exc:
            writer.abort()
            raise BackupError(f"cannot start {pg_dump}: {exc.strerror}") from None
        try:
            while True:
                block = process.stdout.read(CHUNK)
                if not block:
                    break
                raw_size += len(block)
                tail = (tail + block)[-TAIL:]
                packed = gzip.compress(block)
                if packed:
                    sha.update(packed)
                    size += len(packed)
                    writer.write(packed)
            packed = gzip.flush()
            sha.update(packed)
            size += len(packed)
            writer.write(packed)
            code = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            writer.abort()
            raise
        if code != 0:
            writer.abort()
            raise BackupError(f"pg_dump of {target.where} exited with {code}: {_stderr_summary(errors)}")
    if DUMP_COMPLETE not in tail:
        writer.abort()
        raise BackupError(f"pg_dump of {target.where} ended without its completion marker")
    writer.commit()
    return sha.hexdigest(), raw_size, size, tail


# Restoring a stream ---------------------------------------------------------------------------

class StreamChecks:
    def __init__(self, manifest):
        self.manifest = manifest
        self.sha256 = None
        self.size = 0
        self.gzip_complete = False
        self.trailing_bytes = 0
        self.dump_complete = False
        self.psql_error = None

    @property
    def checksum_ok(self):
        return self.sha256 == self.manifest.get("sha256") and self.size == self.manifest.get("size_bytes")

    def problems(self):
        found = []
        if not self.gzip_complete:
            found.append("the gzip stream is truncated or corrupt")
        elif self.trailing_bytes:
            found.append(f"{self.trailing_bytes} bytes follow the end of the gzip stream")
        if not self.checksum_ok:
            found.append(f"checksum {self.sha256} over {self.size} bytes does not match the manifest's "
                         f"{self.manifest.get('sha256')} over {self.manifest.get('size_bytes')} bytes")
        if self.gzip_complete and not self.dump_complete:
            found.append("the dump does not run to its end (no completion marker)")
        if self.psql_error:
            found.append(f"psql: {self.psql_error}")
        return found

    def as_dict(self):
        return dict(checksum=self.checksum_ok, gzip_complete=self.gzip_complete and not self.trailing_bytes,
                    dump_complete=self.dump_complete, restored=self.psql_error is None)


def scan(store, manifest):
    """Read a backup object end to end without restoring it: checksum and completeness."""
    return _stream(store, manifest, None)


def restore_stream(store, manifest, target, set_role=None):
    """Feed the backup into `target` with psql in one transaction; commit only if the stream checks out."""
    return _stream(store, manifest, target, set_role)


def _stream(store, manifest, target, set_role=None):
    checks = StreamChecks(manifest)
    sha = hashlib.sha256()
    gunzip = zlib.decompressobj(31)
    tail = b""
    process = None
    errors = tempfile.TemporaryFile()
    if target is not None:
        command = [target.binary("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors,
                                   env=target.client_env())
    try:
        if process and set_role:
            process.stdin.write(sql.SQL("SET ROLE {};\n").format(sql.Identifier(set_role)).as_string().encode())
        corrupt = False
        for block in store.reader(manifest["object"]):
            sha.update(block)
            checks.size += len(block)
            if corrupt:
                continue
            if gunzip.eof:
                checks.trailing_bytes += len(block)
                continue
            try:
                raw = gunzip.decompress(block)
            except zlib.error:
                corrupt = True
                continue
            if gunzip.eof and gunzip.unused_data:
                checks.trailing_bytes += len(gunzip.unused_data)
            tail = (tail + raw)[-TAIL:]
            if process and raw and process.poll() is None:
                try:
                    process.stdin.write(raw)
                except BrokenPipeError:
                    pass
        checks.sha256 = sha.hexdigest()
        checks.gzip_complete = gunzip.eof and not corrupt
        checks.dump_complete = checks.gzip_complete and DUMP_COMPLETE in tail
        if process:
            sound = checks.gzip_complete and not checks.trailing_bytes and checks.checksum_ok and checks.dump_complete
            if sound and process.poll() is None:
                # Closing stdin lets psql reach the end of its input and commit.
                try:
                    process.stdin.close()
                except BrokenPipeError:
                    pass
                code = process.wait()
            else:
                # Never let psql see the end of a bad stream: killing it rolls its transaction back.
                _stop(process)
                code = process.returncode if sound else None
            if code not in (0, None):
                checks.psql_error = _stderr_summary(errors)
            elif code is None and sound:
                checks.psql_error = "psql ended early"
        return checks
    except BaseException:
        if process:
            _stop(process)
        raise
    finally:
        errors.close()


def _stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin and not process.stdin.closed:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass


# Verifying ------------------------------------------------------------------------------------

def _ident_name(base, suffix):
    return f"{base[: MAX_IDENT - len(suffix)]}{suffix}"


def _create_database(conn, name, encoding, owner=None):
    query = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
        sql.Identifier(name), sql.Literal(encoding or "UTF8"))
    if owner:
        query = query + sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    conn.execute(query)


def _drop_database(conn, name):
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _compare(expected, actual):
    differences = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want != got:
            differences.append(f"{table}: {want if want is not None else 'absent'} in the backup, "
                               f"{got if got is not None else 'absent'} restored")
    return differences


def verify_backup(target, store, manifest, keep_scratch=False):
    """Prove a backup: checksum, completeness, restore into a scratch database, per-table row counts.

    Records the outcome in the manifest. Returns the verification; raises VerifyError on failure.
    """
    clock = time.monotonic()
    scratch = _ident_name(manifest["database"], f"_verify_{secrets.token_hex(4)}")
    verification = dict(status="failed", at=now_utc().isoformat(timespec="seconds"), by=operator(),
                        scratch_database=scratch, checks={}, problems=[])
    admin = target.connect(autocommit=True)
    try:
        try:
            _create_database(admin, scratch, manifest.get("encoding"))
        except psycopg.Error as exc:
            raise VerifyError(f"backup {manifest['backup_id']}: cannot create scratch database {scratch} on "
                              f"{target.where}: {describe(exc)}") from None
        try:
            checks = restore_stream(store, manifest, target.on(scratch))
            verification["checks"] = checks.as_dict()
            verification["problems"] = checks.problems()
            if not verification["problems"]:
                restored = target.on(scratch).connect(autocommit=True)
                try:
                    counts = row_counts(restored)
                finally:
                    restored.close()
                differences = _compare(manifest.get("row_counts") or {}, counts)
                verification["checks"]["row_counts"] = not differences
                verification["problems"] = differences[:10]
                verification["rows"] = sum(counts.values())
                verification["tables"] = len(counts)
        finally:
            if not keep_scratch:
                try:
                    _drop_database(admin, scratch)
                except psycopg.Error as exc:
                    verification["problems"].append(f"scratch database {scratch} was not dropped: {describe(exc)}")
    except StoreError as exc:
        verification["problems"] = [str(exc)]
    finally:
        admin.close()

    if not verification["problems"]:
        verification["status"] = "passed"
    verification["duration_s"] = round(time.monotonic() - clock, 3)
    manifest = dict(manifest, verification=verification)
    store.put_json(manifest_key(manifest["backup_id"]), manifest)
    if verification["status"] != "passed":
        raise VerifyError(f"backup {manifest['backup_id']} failed verification: "
                          + "; ".join(verification["problems"]))
    return manifest


# Restoring ------------------------------------------------------------------------------------

RESTORED_MARK = "tonsurance.deploy restored "


def restored_from(conn, database):
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                       [database]).fetchone()
    if not row or not row[0] or not row[0].startswith(RESTORED_MARK):
        return None
    return row[0][len(RESTORED_MARK):].split(" ", 1)[0]


def database_exists(conn, database):
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is not None


def check_restorable(store, manifest):
    """Refuse a backup that never passed verification or whose object is gone or resized."""
    backup_id = manifest["backup_id"]
    verification = manifest.get("verification") or {}
    if verification.get("status") != "passed":
        state = verification.get("status") or "never verified"
        reason = "; ".join(verification.get("problems") or [])
        raise RestoreRefusedError(
            f"backup {backup_id} is not usable: verification {state}" + (f" ({reason})" if reason else "")
            + "; verify it first with pg_backup_verify")
    size = store.size(manifest["object"])
    if size is None:
        raise RestoreRefusedError(f"backup {backup_id}: object {manifest['location']} is missing")
    if size != manifest.get("size_bytes"):
        raise RestoreRefusedError(
            f"backup {backup_id}: object {manifest['location']} holds {size} bytes, the manifest says "
            f"{manifest.get('size_bytes')}; it is corrupt")


class Restorer:
    def __init__(self, target, store, maintenance_db="postgres", owner=None, terminate_sessions=False,
                 keep_previous=False):
        self.target = target
        self.store = store
        self.maintenance = target.on(maintenance_db)
        self.owner = owner
        self.terminate_sessions = terminate_sessions
        self.keep_previous = keep_previous

    def observe(self):
        conn = self.maintenance.connect(autocommit=True)
        try:
            exists = database_exists(conn, self.target.database)
            return dict(exists=exists, restored_from=restored_from(conn, self.target.database) if exists else None)
        finally:
            conn.close()

    def _sessions(self, conn):
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            [self.target.database]).fetchone()[0]

    def stage(self, manifest):
        """Restore into a new staging database and check it; return its name. The target is untouched."""
        staging = _ident_name(self.target.database, f"_restore_{secrets.token_hex(4)}")
        admin = self.maintenance.connect(autocommit=True)
        staged = False
        try:
            if self.owner and not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                                [self.owner]).fetchone():
                raise RestoreRefusedError(f"restore owner role {self.owner} does not exist on {self.target.where}")
            try:
                _create_database(admin, staging, manifest.get("encoding"), self.owner)
            except psycopg.Error as exc:
                raise RestoreError(f"cannot create staging database {staging} for {self.target.where}: "
                                   f"{describe(exc)}") from None
            checks = restore_stream(self.store, manifest, self.target.on(staging), self.owner)
            problems = checks.problems()
            if problems:
                raise RestoreError(f"backup {manifest['backup_id']} cannot be restored into {self.target.where}; "
                                   "the database is untouched: " + "; ".join(problems))
            restored = self.target.on(staging).connect(autocommit=True)
            try:
                differences = _compare(manifest.get("row_counts") or {}, row_counts(restored))
            finally:
                restored.close()
            if differences:
                raise RestoreError(f"backup {manifest['backup_id']}: row counts differ once restored; "
                                   f"{self.target.where} is untouched: " + "; ".join(differences[:10]))
            staged = True
            return staging
        finally:
            if not staged:
                self._drop_quietly(admin, staging)
            admin.close()

    def discard(self, staging):
        admin = self.maintenance.connect(autocommit=True)
        try:
            self._drop_quietly(admin, staging)
        finally:
            admin.close()

    @staticmethod
    def _drop_quietly(admin, name):
        try:
            _drop_database(admin, name)
        except psycopg.Error:
            pass

    def swap(self, staging, manifest):
        """Put the staging database in the target's place in one transaction; return what was done."""
        database = self.target.database
        previous = _ident_name(database, f"_before_{now_utc():%Y%m%d%H%M%S}")
        outcome = dict(previous_database=None, previous_kept=False)
        admin = self.maintenance.connect(autocommit=True)
        swapped = False
        try:
            exists = database_exists(admin, database)
            if exists:
                sessions = self._sessions(admin)
                if sessions and not self.terminate_sessions:
                    raise RestoreRefusedError(
                        f"{self.target.where} has {sessions} open sessions; stop its clients or set "
                        "terminate_sessions; the database is untouched")
                if sessions:
                    admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = %s AND pid <> pg_backend_pid()", [database])
            mark = f"{RESTORED_MARK}{manifest['backup_id']} at {now_utc().isoformat(timespec='seconds')}"
            try:
                with admin.transaction():
                    if exists:
                        admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                            sql.Identifier(database), sql.Identifier(previous)))
                    admin.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(staging), sql.Identifier(database)))
                    admin.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                        sql.Identifier(database), sql.Literal(mark)))
            except psycopg.Error as exc:
                raise RestoreError(f"could not swap the restored database into {self.target.where}: "
                                   f"{describe(exc)}; the database is untouched") from None
            swapped = True
            if exists:
                outcome["previous_database"] = previous
                if self.keep_previous:
                    outcome["previous_kept"] = True
                else:
                    _drop_database(admin, previous)
        finally:
            if not swapped:
                self._drop_quietly(admin, staging)
            admin.close()

        conn = self.target.connect(autocommit=True)
        try:
            outcome["row_counts"] = row_counts(conn)
        finally:
            conn.close()
        return outcome
