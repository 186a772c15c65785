"""Fail when the tree holds a secret that the committed baseline does not know.

Scans every file git tracks or would track (untracked but not ignored) with detect-secrets, using the
plugins and filters recorded in .secrets.baseline, and reports each new finding by file, line and
kind, never by value. Read-only: the baseline is never rewritten here.

    python scripts/check_secrets.py            # exit 1 on a new secret
    detect-secrets scan --baseline .secrets.baseline   # refresh the baseline after an audit
"""

import os
import subprocess
import sys

from detect_secrets import SecretsCollection
from detect_secrets.core import baseline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = ".secrets.baseline"


def tree_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode("utf-8").split("\0")
    return sorted({name for name in listed if name and os.path.isfile(os.path.join(ROOT, name))})


def new_findings():
    os.chdir(ROOT)
    known = baseline.load(baseline.load_from_file(BASELINE), BASELINE)
    current = SecretsCollection()
    current.scan_files(*tree_files(), num_processors=1)
    return sorted((name, secret.line_number or 0, secret.type) for name, secret in current - known)


def main():
    found = new_findings()
    for name, line, kind in found:
        print(f"{name}:{line}: {kind} not in {BASELINE}")
    if found:
        print(f"{len(found)} new secret(s). Remove them; for a false positive add '# pragma: allowlist secret' "
              f"to the line, or audit and refresh the baseline.")
        return 1
    print(f"no new secrets in {len(tree_files())} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
