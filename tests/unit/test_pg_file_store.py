import os
import stat

import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, stores
from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.errors import ConfigError, StoreError


def test_store_urls_are_parsed_or_refused(tmp_path):
    assert isinstance(stores.open_store(f"file://{tmp_path}"), stores.FileStore)
    for url, message in (("file://relative/path", "local path"), ("s3://", "needs a bucket"),
                         ("gs://bucket/x", "only file:// and s3://"), ("file://", "must be absolute")):
        with pytest.raises(ConfigError, match=message):
            stores.open_store(url)


def test_file_writer_commits_atomically_with_private_modes(tmp_path):
    store = stores.FileStore(str(tmp_path / "backups"))
    writer = store.writer("a.sql.gz")
    writer.write(b"part one ")
    assert not store.exists("a.sql.gz"), "nothing appears under the key before commit"
    writer.write(b"part two")
    writer.commit()
    assert b"".join(store.reader("a.sql.gz", chunk=4)) == b"part one part two"
    assert stat.S_IMODE(os.stat(tmp_path / "backups").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "backups" / "a.sql.gz").st_mode) == 0o600

    aborted = store.writer("b.sql.gz")
    aborted.write(b"half")
    aborted.abort()
    assert store.keys() == ["a.sql.gz"]
    with pytest.raises(StoreError, match="does not exist"):
        list(store.reader("b.sql.gz"))


def test_backup_ids_sort_by_time_and_filter_by_database(tmp_path):
    store = stores.FileStore(str(tmp_path))
    for backup_id in ("tonsurance-20261203T101500Z-1", "tonsurance-20261203T101500Z", "tonsurance-20261202T235959Z",
                      "tonsurance_test-20261204T000000Z"):
        store.put_json(backups.manifest_key(backup_id), {"backup_id": backup_id})
    store.put_json("notes.json", {})
    assert backups.backup_ids(store, "tonsurance") == [
        "tonsurance-20261202T235959Z", "tonsurance-20261203T101500Z", "tonsurance-20261203T101500Z-1"]
    assert backups.backup_ids(store, "tonsurance_test") == ["tonsurance_test-20261204T000000Z"]


def test_an_unverified_or_resized_backup_is_not_restorable(tmp_path):
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.errors import RestoreRefusedError

    store = stores.FileStore(str(tmp_path))
    writer = store.writer("x-20261203T101500Z.sql.gz")
    writer.write(b"0123456789")
    writer.commit()
    manifest = dict(backup_id="x-20261203T101500Z", object="x-20261203T101500Z.sql.gz", size_bytes=10,
                    location="file:///x", verification=None)
    with pytest.raises(RestoreRefusedError, match="never verified"):
        backups.check_restorable(store, manifest)
    manifest["verification"] = {"status": "passed"}
    backups.check_restorable(store, manifest)
    manifest["size_bytes"] = 11
    with pytest.raises(RestoreRefusedError, match="corrupt"):
        backups.check_restorable(store, manifest)
