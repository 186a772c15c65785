"""Compile the FunC contracts in contracts/ into contracts/build/<Name>.json.

Usage:
    python scripts/compile_contracts.py           # (re)write the build JSON files
    python scripts/compile_contracts.py --check   # exit 1 if a committed code hash is stale

The compiler is the npm package pinned in contracts/package.json, run offline
through `npx --no-install`; `npm ci` is run first when node_modules is absent.
Code hashes need pytoniq_core (use the project venv); without it the hash is
recorded as null and --check compares the BoC text instead.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
CONTRACTS = [
    "PricingOracle",
    "TrancheToken",
    "TrancheWallet",
    "MultiTrancheVault",
    "PolicyShard",
    "PolicyRouter",
    "PolicyFactory",
]
# Contracts the tests deploy but the product never does: (name, source relative to contracts/, build dir).
TEST_CONTRACTS = [
    ("SignerSet", "../tests/contracts/SignerSet.fc", CONTRACTS_DIR.parent / "tests" / "contracts" / "build"),
]
INCLUDE_RE = re.compile(r'^\s*#include\s+"([^"]+)"', re.MULTILINE)


def run(cmd: list[str]) -> str:
    proc = subprocess.run(cmd, cwd=CONTRACTS_DIR, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def ensure_compiler() -> None:
    if not (CONTRACTS_DIR / "node_modules").is_dir():
        run(["npm", "ci"])


def compiler_label() -> str:
    pkg = CONTRACTS_DIR / "node_modules" / "@ton-community" / "func-js" / "package.json"
    func_js = json.loads(pkg.read_text())["version"]
    func = re.search(r"v?(\d+\.\d+\.\d+)", run(["npx", "--no-install", "func-js", "-v"]))
    return f"func-js {func_js} / func {func.group(1) if func else 'unknown'}"


def sources_of(entry: str) -> list[Path]:
    """The entry file plus everything it #includes, transitively."""
    seen: set[Path] = set()
    pending = [CONTRACTS_DIR / entry]
    while pending:
        path = pending.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        pending.extend(path.parent / inc for inc in INCLUDE_RE.findall(path.read_text()))
    return sorted(seen)


def sources_sha256(paths: list[Path]) -> str:
    # Path (relative to contracts/) and content of each source, in sorted order.
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(os.path.relpath(path, CONTRACTS_DIR)).as_posix().encode() + b"\n")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_hash(boc_base64: str) -> str | None:
    try:
        from pytoniq_core import Cell
    except ImportError:
        return None
    return Cell.one_from_boc(base64.b64decode(boc_base64)).hash.hex()


def compile_contract(name: str, out_dir: Path, compiler: str, entry: str | None = None) -> dict:
    entry = entry or f"{name}.fc"
    boc_file = out_dir / f"{name}.boc.b64"
    run(["npx", "--no-install", "func-js", entry, "--boc-base64", str(boc_file)])
    boc = boc_file.read_text().strip()
    return {
        "name": name,
        "code_boc_base64": boc,
        "code_hash_hex": code_hash(boc),
        "compiler": compiler,
        "sources_sha256": sources_sha256(sources_of(entry)),
    }


def same_code(committed: dict, fresh: dict) -> bool:
    if committed.get("code_hash_hex") and fresh["code_hash_hex"]:
        return committed["code_hash_hex"] == fresh["code_hash_hex"]
    return committed.get("code_boc_base64") == fresh["code_boc_base64"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="recompile in a temp dir and compare with the committed JSON")
    args = parser.parse_args(argv)

    ensure_compiler()
    compiler = compiler_label()
    with tempfile.TemporaryDirectory() as tmp:
        records = [(compile_contract(name, Path(tmp), compiler), BUILD_DIR) for name in CONTRACTS]
        records += [(compile_contract(name, Path(tmp), compiler, entry), build_dir)
                    for name, entry, build_dir in TEST_CONTRACTS]

    if args.check:
        stale = []
        for record, build_dir in records:
            committed = build_dir / f"{record['name']}.json"
            if not committed.is_file() or not same_code(json.loads(committed.read_text()), record):
                stale.append(record["name"])
        for name in stale:
            print(f"stale: {name} (run scripts/compile_contracts.py)")
        if not stale:
            print(f"{len(records)} contracts up to date")
        return 1 if stale else 0

    for record, build_dir in records:
        build_dir.mkdir(exist_ok=True)
        path = build_dir / f"{record['name']}.json"
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        print(f"{path.relative_to(CONTRACTS_DIR.parent)}  {record['code_hash_hex']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
