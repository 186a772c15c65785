"""Mainnet-shape deploy two ways on fresh sandboxes, in one process: ours and the runbook's.

Ours: ton_protocol's path (highload v3 deployer, sized values, batches of up to 500, one wait per batch).
Runbook: one deploy per wallet transfer from a v4r2 wallet with a flat value, waiting after each.
Prints sequential waits, external messages, fees, spend and wall time, and the ratios.
"""

import asyncio
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import conftest  # noqa: E402,F401  (puts the collection on sys.path)
from pytoniq_core.crypto.keys import mnemonic_new  # noqa: E402

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import bulk, deploy, plan  # noqa: E402
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer  # noqa: E402
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.sandbox import SandboxChain  # noqa: E402
from tests_data import ADMIN, KEEPER, TRANCHES  # noqa: E402

SHARDS = 256
RUNBOOK_FLAT_NANOTON = 300_000_000  # about 80 TON over 266 contracts, the runbook's estimate
TON = 10**9


async def fresh(workdir, version):
    chain = SandboxChain(os.path.join(workdir, "chain.json")).open()
    deployer = await Deployer(chain, " ".join(mnemonic_new(24)), version, "local", poll_interval=0).open()
    chain.credit(deployer.address, 10_000 * TON)
    await deployer.activate(10)
    deployer.waits = deployer.externals = 0
    return chain, deployer


async def left_in_contracts(chain, targets):
    total = 0
    for target in targets:
        total += (await chain.get_account_state(target.address)).balance
    return total


async def ours(workdir, targets):
    chain, deployer = await fresh(workdir, "highload_v3")
    before = await deployer.balance()
    started = time.perf_counter()
    await bulk.deploy_set(chain, deployer, targets, network="local", horizon_days=365, margin_pct=20,
                          messages_per_external=500, wait_timeout=60, check_mode=False)
    elapsed = time.perf_counter() - started
    spent = before - await deployer.balance()
    kept = await left_in_contracts(chain, targets)
    chain.close()
    return dict(run="ours", waits=deployer.waits, externals=deployer.externals, spent=spent, fees=spent - kept,
                wall=elapsed)


async def runbook(workdir, targets):
    chain, deployer = await fresh(workdir, "v4r2")
    before = await deployer.balance()
    started = time.perf_counter()
    await deploy.ensure(chain, deployer, targets, network="local", amount_nanoton=RUNBOOK_FLAT_NANOTON,
                        batch_size=1, wait_timeout=60, check_mode=False)
    elapsed = time.perf_counter() - started
    spent = before - await deployer.balance()
    kept = await left_in_contracts(chain, targets)
    chain.close()
    return dict(run="runbook", waits=deployer.waits, externals=deployer.externals, spent=spent, fees=spent - kept,
                wall=elapsed)


def main():
    targets = plan.build(conftest.ARTIFACTS, ADMIN, KEEPER, SHARDS, TRANCHES, "https://tonsurance.io/jettons/")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        rows = [asyncio.run(ours(a, targets)), asyncio.run(runbook(b, targets))]
    print(f"mainnet-shape deploy: {len(targets)} contracts ({SHARDS} shards), fresh sandbox each")
    print(f"{'run':<9}{'waits':>7}{'externals':>11}{'fees TON':>11}{'spent TON':>11}{'wall s':>9}")
    for row in rows:
        print(f"{row['run']:<9}{row['waits']:>7}{row['externals']:>11}{row['fees'] / TON:>11.3f}"
              f"{row['spent'] / TON:>11.3f}{row['wall']:>9.2f}")
    mine, theirs = rows
    print(f"ratios runbook/ours: waits {theirs['waits'] / max(mine['waits'], 1):.0f}x, "
          f"externals {theirs['externals'] / max(mine['externals'], 1):.0f}x, fees {theirs['fees'] / mine['fees']:.2f}x, "
          f"spent {theirs['spent'] / mine['spent']:.2f}x, wall {theirs['wall'] / mine['wall']:.2f}x")
    assert mine["waits"] <= 4, "ours must need at most 4 sequential waits"
    assert mine["spent"] < 80 * TON


if __name__ == "__main__":
    main()
