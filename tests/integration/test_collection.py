"""The collection as a package: docs render, it builds, and the committed contract code is current."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BIN, REPO, ansible_env

MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "plugins", "modules", "*.py")))


@pytest.mark.parametrize("name", MODULES)
def test_module_documentation_renders(name):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), f"tonsurance.deploy.{name}"], cwd=REPO,
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
    assert "[WARNING]" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("name", ["secret", "vault_login"])
def test_lookup_documentation_renders(name):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "lookup", f"tonsurance.deploy.{name}"], cwd=REPO,
                          env=ansible_env(), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    # The Vault connection options come from the secrets.vault_lookup fragment, with their fallbacks.
    assert "VAULT_ADDR" in proc.stdout and "tonsurance_vault_role_id" in proc.stdout
    assert "[WARNING]" not in proc.stderr, proc.stderr


def test_collection_builds(tmp_path):
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path),
                           REPO], cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    (artifact,) = glob.glob(os.path.join(str(tmp_path), "tonsurance-deploy-*.tar.gz"))
    listing = subprocess.run(["tar", "tzf", artifact], capture_output=True, text=True, check=True).stdout
    assert "contracts/build/PolicyShard.json" in listing
    assert ".state/" not in listing and ".venv/" not in listing and "node_modules" not in listing


@pytest.mark.skipif(shutil.which("npx") is None, reason="Node is needed to recompile the contracts")
def test_committed_contract_code_matches_a_fresh_compile():
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "compile_contracts.py"), "--check"],
                          cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
