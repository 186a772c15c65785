"""The tree holds no secret that the committed detect-secrets baseline does not know."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "scripts", "check_secrets.py")


def scan():
    return subprocess.run([sys.executable, SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.skipif(not os.path.exists(os.path.join(REPO, ".git")), reason="needs a git checkout")
def test_tree_has_no_new_secret():
    result = scan()
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitignore_keeps_env_files_out():
    with open(os.path.join(REPO, ".gitignore"), encoding="utf-8") as handle:
        patterns = handle.read().split()
    assert {".env", ".env.*", ".state/"} <= set(patterns)
