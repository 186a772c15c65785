"""tests/sanity/check_ignores.py: every ansible-test ignore line carries its reason."""

import glob
import os
import subprocess
import sys

from conftest import REPO

SCRIPT = os.path.join(REPO, "tests", "sanity", "check_ignores.py")


def check(*paths):
    return subprocess.run([sys.executable, SCRIPT, *paths], capture_output=True, text=True, check=False)


def test_lines_with_a_reason_comments_and_blanks_pass(tmp_path):
    ignores = tmp_path / "ignore-2.19.txt"
    ignores.write_text("# a comment\n\n"
                       "plugins/modules/a.py validate-modules:missing-gplv3-license # reason: the header is in COPYING\n"
                       "plugins/modules/b.py pylint:too-many-branches  # reason: one flat dispatch table\n",
                       encoding="utf-8")
    proc = check(str(ignores))
    assert proc.returncode == 0 and proc.stderr == ""


def test_a_bare_line_or_an_empty_reason_is_named(tmp_path):
    ignores = tmp_path / "ignore-2.19.txt"
    ignores.write_text("plugins/modules/a.py pep8:W291\n"
                       "plugins/modules/b.py pylint:trailing-whitespace # because\n"
                       "plugins/modules/c.py compile-2.7 # reason:\n"
                       "plugins/modules/d.py shebang # reason: a script run by hand\n", encoding="utf-8")
    proc = check(str(ignores))
    assert proc.returncode == 1
    named = [line.split(": an ignore line")[0] for line in proc.stderr.splitlines()]
    assert named == [f"{ignores}:1", f"{ignores}:2", f"{ignores}:3"]
    assert "plugins/modules/a.py pep8:W291" in proc.stderr


def test_a_line_hidden_behind_a_form_feed_or_line_separator_is_named(tmp_path):
    ignores = tmp_path / "ignore-2.19.txt"
    # ansible-test splits on these too, so the second ignore would be in force without a reason.
    ignores.write_text("x.py pylint # reason: one\fy.py pylint\nz.py pep8 # reason: two\u2028w.py pep8\n",
                       encoding="utf-8")
    proc = check(str(ignores))
    assert proc.returncode == 1
    assert "'y.py pylint'" in proc.stderr and "'w.py pep8'" in proc.stderr


def test_an_unreadable_file_is_named_without_a_traceback(tmp_path):
    binary = tmp_path / "ignore-2.19.txt"
    binary.write_bytes(b"\xff\xfe not text\n")
    proc = check(str(binary), str(tmp_path / "missing.txt"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{binary}: cannot be read" in proc.stderr and "missing.txt: cannot be read" in proc.stderr


def test_the_collection_ignore_files_pass():
    paths = glob.glob(os.path.join(REPO, "tests", "sanity", "ignore-*.txt"))
    assert paths
    proc = check(*paths)
    assert proc.returncode == 0, proc.stderr
