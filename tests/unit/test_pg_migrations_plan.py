import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import migrations
from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.errors import (
    ChecksumMismatchError,
    LedgerError,
    MigrationFileError,
)


def files(tmp_path, names):
    for name, text in names.items():
        (tmp_path / name).write_text(text)
    return migrations.discover(str(tmp_path))


def row(migration, checksum=None):
    return dict(version=migration.version, name=migration.name, checksum=checksum or migration.checksum)


def test_discover_orders_by_version_and_reads_the_marker(tmp_path):
    found = files(tmp_path, {"010_late.sql": "SELECT 1;", "002_early.sql": "-- tonsurance:no-transaction\nVACUUM;",
                             "README.md": "notes"})
    assert [(m.version, m.name, m.transactional) for m in found] == [(2, "early", False), (10, "late", True)]


@pytest.mark.parametrize("names, message", [
    ({"1_a.sql": "", "001_b.sql": ""}, "share version 1"),
    ({"add_table.sql": ""}, "not named NNN_name.sql"),
])
def test_discover_refuses_ambiguous_files(tmp_path, names, message):
    with pytest.raises(MigrationFileError, match=message):
        files(tmp_path, names)


def test_plan_lists_what_is_not_applied(tmp_path):
    found = files(tmp_path, {"001_a.sql": "A;", "002_b.sql": "B;", "003_c.sql": "C;"})
    assert migrations.plan(found, [row(found[0])]) == found[1:]
    assert migrations.plan(found, [row(found[0])], target=2) == [found[1]]
    assert migrations.plan(found, [row(m) for m in found]) == []


def test_plan_refuses_a_changed_file_naming_both_checksums(tmp_path):
    found = files(tmp_path, {"001_a.sql": "A;"})
    with pytest.raises(ChecksumMismatchError) as error:
        migrations.plan(found, [row(found[0], "0" * 64)])
    assert "001_a.sql" in str(error.value) and "0" * 64 in str(error.value) and found[0].checksum in str(error.value)


def test_plan_refuses_unknown_applied_versions_unless_allowed(tmp_path):
    found = files(tmp_path, {"001_a.sql": "A;"})
    applied = [row(found[0]), dict(version=2, name="newer", checksum="f" * 64)]
    with pytest.raises(LedgerError, match="2 \\(newer\\)"):
        migrations.plan(found, applied)
    assert migrations.plan(found, applied, allow_unknown_applied=True) == []


def test_plan_refuses_files_below_the_applied_version(tmp_path):
    found = files(tmp_path, {"001_a.sql": "A;", "002_b.sql": "B;", "003_c.sql": "C;"})
    with pytest.raises(LedgerError, match="002_b.sql would apply below the applied version 3"):
        migrations.plan(found, [row(found[0]), row(found[2])])
    with pytest.raises(LedgerError, match="never reverted"):
        migrations.plan(found, [row(m) for m in found], target=1)


def test_transaction_control_in_a_file_is_refused_with_its_line(tmp_path):
    (found,) = files(tmp_path, {"001_a.sql": "CREATE TABLE a (id int);\nCOMMIT;\n"})
    with pytest.raises(MigrationFileError, match="001_a.sql line 2: COMMIT manages a transaction"):
        found.statements
