"""Cold local deploy of the mainnet-shape set, then the no-op re-run, measured in one process.

Prints for each run: wall time, external messages, confirmation waits, and total fees in nanotons.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from conftest import chain_stats, playbook  # noqa: E402

SHARDS = 256


def measure(workdir, label):
    before = chain_stats(workdir)["external_messages"] if os.path.exists(os.path.join(workdir, "state")) else 0
    started = time.perf_counter()
    result = playbook(workdir, shard_count=SHARDS)
    elapsed = time.perf_counter() - started
    if result.rc != 0:
        sys.exit(f"{label} failed:\n{result.proc.stdout[-3000:]}{result.proc.stderr[-3000:]}")
    deploys = result.task_results("Deploy")
    sandbox = result.task_results("Ensure the embedded chain")
    return {
        "run": label,
        "wall_s": elapsed,
        "externals": chain_stats(workdir)["external_messages"] - before,
        "waits": sum(r.get("confirmation_waits", 0) for r in deploys) + sum(1 for r in sandbox if r.get("changed")),
        "fees_nanoton": sum(c.get("fees_nanoton", 0) for r in deploys for c in r.get("contracts", [])),
        "spent_nanoton": sum(r.get("spent_nanoton", 0) for r in deploys),
        "changed": result.stats.get("changed"),
    }


def main():
    with tempfile.TemporaryDirectory(prefix="tonsurance-bench-") as workdir:
        rows = [measure(workdir, "cold deploy"), measure(workdir, "no-op re-run")]
    header = f"{'run':<14}{'wall s':>9}{'externals':>11}{'waits':>7}{'fees nanoton':>15}{'spent nanoton':>16}{'changed':>9}"
    print(f"local deploy, {SHARDS} shards, 266 contracts")
    print(header)
    for row in rows:
        print(f"{row['run']:<14}{row['wall_s']:>9.1f}{row['externals']:>11}{row['waits']:>7}"
              f"{row['fees_nanoton']:>15}{row['spent_nanoton']:>16}{row['changed']:>9}")
    cold, noop = rows
    print(f"no-op / cold wall time: {noop['wall_s'] / cold['wall_s']:.2f}")


if __name__ == "__main__":
    main()
