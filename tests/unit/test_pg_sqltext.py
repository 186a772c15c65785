import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import sqltext
from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.errors import MigrationFileError


def texts(sql):
    return [(s.line, s.text) for s in sqltext.split(sql)]


def test_normalize_drops_bom_and_carriage_returns_so_checksums_match():
    unix = "CREATE TABLE t (a int);\n-- done\n"
    windows = b"\xef\xbb\xbf" + unix.replace("\n", "\r\n").encode()
    assert sqltext.normalize(windows) == unix
    assert sqltext.checksum(sqltext.normalize(windows)) == sqltext.checksum(unix)


def test_normalize_names_the_file_on_bad_utf8():
    with pytest.raises(MigrationFileError, match="007_x.sql is not valid UTF-8"):
        sqltext.normalize(b"SELECT '\xff';", "007_x.sql")


def test_marker_must_be_the_first_line():
    assert sqltext.is_non_transactional("-- tonsurance:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);")
    assert sqltext.is_non_transactional("--  Tonsurance: No-Transaction  \nVACUUM t;")
    assert not sqltext.is_non_transactional("-- index\n-- tonsurance:no-transaction\nVACUUM t;")


def test_split_keeps_each_statement_with_its_first_line():
    sql = "-- header\nCREATE TABLE a (id int);\n\n/* block; comment */ INSERT INTO a\nVALUES (1);\nSELECT 1"
    assert texts(sql) == [(2, "CREATE TABLE a (id int)"), (4, "INSERT INTO a\nVALUES (1)"), (6, "SELECT 1")]


def test_split_ignores_semicolons_in_strings_identifiers_and_dollar_quotes():
    sql = (
        "INSERT INTO t VALUES ('a;b', 'it''s;', E'x\\';y');\n"
        'CREATE TABLE "odd;name" ("col;" int);\n'
        "DO $body$ BEGIN PERFORM 1; RAISE NOTICE 'x;y'; END $body$;\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$;\n"
        "SELECT $1::int, a$b$ FROM t;\n"
    )
    found = texts(sql)
    assert [line for line, _text in found] == [1, 2, 3, 4, 5]
    assert found[2][1].endswith("END $body$")


def test_split_handles_nested_block_comments():
    assert texts("/* outer /* inner; */ still; */ SELECT 1; SELECT 2;") == [(1, "SELECT 1"), (1, "SELECT 2")]


def test_split_keeps_sql_standard_function_bodies_whole():
    sql = ("CREATE OR REPLACE FUNCTION grade(x int) RETURNS text LANGUAGE sql\nBEGIN ATOMIC\n"
           "  SELECT CASE WHEN x > 1 THEN 'big' ELSE 'small' END;\nEND;\nSELECT grade(2);")
    found = texts(sql)
    assert len(found) == 2 and found[0][1].endswith("END") and found[1] == (5, "SELECT grade(2)")


@pytest.mark.parametrize("sql, what", [
    ("SELECT 'open", "unterminated string literal at line 1"),
    ("SELECT 1;\nDO $$ BEGIN", "unterminated dollar-quoted string $$ at line 2"),
    ("/* never closed", "unterminated block comment"),
    ('SELECT "x', "unterminated quoted identifier"),
])
def test_split_reports_unterminated_text_with_its_line(sql, what):
    with pytest.raises(MigrationFileError, match=what.replace("$", r"\$")):
        sqltext.split(sql, "009_bad.sql")


def test_transaction_control_statements_are_recognised():
    found = sqltext.split("BEGIN; COMMIT; START TRANSACTION; ROLLBACK; END; SELECT 1; DO $$BEGIN END$$;")
    assert [sqltext.transaction_control(s) for s in found] == [True, True, True, True, True, False, False]


class Diag:
    def __init__(self, statement_position=None, context=None):
        self.statement_position = statement_position
        self.context = context


def test_error_line_uses_the_server_position_or_the_plpgsql_line():
    sql = "SELECT 1;\n\nCREATE TABLE b (\n  id int,\n  oops oops\n);\nDO $$\nBEGIN\n  PERFORM 1/0;\nEND $$;"
    create, do = sqltext.split(sql)[1:]
    assert sqltext.error_line(create, Diag(str(create.text.index("oops oops") + 6))) == 5
    assert sqltext.error_line(create, Diag()) == 3
    assert sqltext.error_line(do, Diag(context="PL/pgSQL function inline_code_block line 3 at PERFORM")) == 9
