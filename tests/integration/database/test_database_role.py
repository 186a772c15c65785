"""The database role on the local inventory, through its playbooks, as an operator runs them."""

import glob
import json
import os
import shutil
import stat

import psycopg
import pytest

from pg_fixtures import stop_servers_under

from .db_fixtures import MIGRATIONS, file_checksum, private_dir, run_playbook


@pytest.fixture(scope="module")
def local_workdir():
    workdir = private_dir("dbrole")
    yield workdir
    stop_servers_under(workdir)
    shutil.rmtree(workdir, ignore_errors=True)


def state(workdir, *parts):
    return os.path.join(workdir, "state", *parts)


def password(workdir):
    with open(state(workdir, "secrets.json"), encoding="utf-8") as handle:
        return json.load(handle)["database_password"]


def manifests(workdir):
    found = {}
    for path in sorted(glob.glob(state(workdir, "backups", "*.json"))):
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        found[document["backup_id"]] = document
    return found


def connect_as_app(workdir):
    return psycopg.connect(host=state(workdir, "pg"), user="tonsurance", password=password(workdir),
                           dbname="tonsurance", autocommit=True)


def ok(result):
    assert result.rc == 0, result.proc.stdout[-4000:] + result.proc.stderr[-2000:]
    return result


def test_check_mode_on_a_fresh_state_creates_nothing(local_workdir):
    check = ok(run_playbook("migrate.yml", local_workdir, "--check", "--diff"))
    assert [r["actions"] for r in check.task_results("Ensure the embedded PostgreSQL")][0][:2] == \
        ["generate password", "initialize"]
    assert not os.path.exists(state(local_workdir, "pg", "PG_VERSION"))
    assert not os.path.exists(state(local_workdir, "secrets.json"))
    assert all(r.get("skipped") for r in check.task_results("Apply pending migrations"))


def test_first_run_starts_the_server_backs_up_verifies_and_migrates(local_workdir):
    first = ok(run_playbook("migrate.yml", local_workdir))
    assert first.stats["changed"] > 0

    # The password was generated into the 0600 local store and never printed.
    secret = password(local_workdir)
    assert stat.S_IMODE(os.stat(state(local_workdir, "secrets.json")).st_mode) == 0o600
    assert secret not in first.proc.stdout and secret not in first.proc.stderr

    # Independent reads: log in as the application role, read the ledger and the backup store.
    with connect_as_app(local_workdir) as conn:
        rows = conn.execute("SELECT version, checksum FROM tonsurance_migrations ORDER BY version").fetchall()
        assert conn.execute("SELECT current_user").fetchone()[0] == "tonsurance"
    expected = [(int(name[:3]), file_checksum(os.path.join(MIGRATIONS, name))) for name in sorted(os.listdir(MIGRATIONS))]
    assert rows == expected
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host=state(local_workdir, "pg"), user="tonsurance", password="not-the-password",
                        dbname="tonsurance").close()
    found = manifests(local_workdir)
    assert len(found) == 1
    (taken,) = list(found.values())
    assert taken["label"] == "deploy" and taken["verification"]["status"] == "passed"
    assert "public.tonsurance_migrations" not in taken["row_counts"], "the backup precedes the migrations"
    assert stat.S_IMODE(os.stat(state(local_workdir, "backups", taken["object"])).st_mode) == 0o600


def test_second_run_changes_nothing(local_workdir):
    before = manifests(local_workdir)
    second = ok(run_playbook("migrate.yml", local_workdir))
    assert second.stats["changed"] == 0
    assert manifests(local_workdir) == before, "a verified backup of the day is reused"
    assert second.task_results("Apply pending migrations")[0]["applied"] == []


def test_scheduled_backup_is_taken_verified_and_reused_within_its_age(local_workdir):
    before = set(manifests(local_workdir))
    scheduled = ok(run_playbook("backup.yml", local_workdir))
    assert scheduled.stats["changed"] == 2
    new = set(manifests(local_workdir)) - before
    assert len(new) == 1
    taken = manifests(local_workdir)[new.pop()]
    assert taken["label"] == "scheduled" and taken["verification"]["status"] == "passed"
    assert taken["row_counts"]["public.tranches"] == 6

    again = ok(run_playbook("backup.yml", local_workdir, extra_vars={"database_scheduled_max_age": 3600}))
    assert again.stats["changed"] == 0
    assert len(manifests(local_workdir)) == len(before) + 1


def test_restore_playbook_requires_confirmation_then_restores(local_workdir):
    latest = sorted(manifests(local_workdir).values(), key=lambda m: m["created_at"])[-1]
    with connect_as_app(local_workdir) as conn:
        conn.execute("DELETE FROM tranches WHERE tranche_id > 3")

    refused = run_playbook("restore.yml", local_workdir, extra_vars={"backup_id": latest["backup_id"]})
    assert refused.rc != 0
    assert "confirm_restore=tonsurance" in json.dumps(refused.failures())

    variables = {"backup_id": latest["backup_id"], "confirm_restore": "tonsurance"}
    restored = ok(run_playbook("restore.yml", local_workdir, extra_vars=variables))
    assert restored.stats["changed"] == 1
    with connect_as_app(local_workdir) as conn:
        assert conn.execute("SELECT count(*) FROM tranches").fetchone()[0] == 6
        assert conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database "
                            "WHERE datname = 'tonsurance'").fetchone()[0] == "tonsurance"
    again = ok(run_playbook("restore.yml", local_workdir, extra_vars=variables))
    assert again.stats["changed"] == 0
