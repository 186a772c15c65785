"""ton_protocol: the whole set in few sends, an exact plan, and exactly-once under crashes."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import psutil
import pytest

from conftest import ARTIFACTS, COLLECTIONS, REPO, module, run
from sandbox_helpers import open_chain

from tests_data import ADMIN, KEEPER, TRANCHES


def prepare(workdir, fund_nanoton=10**15):
    result = module("ton_sandbox", {"state_dir": os.path.join(workdir, "state"), "deployer_wallet": "highload_v3",
                                    "fund_nanoton": fund_nanoton, "min_balance_nanoton": fund_nanoton})
    assert not result.get("failed"), result
    return result


def protocol_args(workdir, **extra):
    with open(os.path.join(workdir, "state", "secrets.json"), encoding="utf-8") as handle:
        mnemonic = json.load(handle)["deployer_mnemonic"]
    args = {
        "network": "local", "sandbox_state": os.path.join(workdir, "state", "chain.json"),
        "artifacts_dir": ARTIFACTS, "deployer_mnemonic": mnemonic, "deployer_wallet": "highload_v3",
        "admin": ADMIN, "keeper": KEEPER, "shard_count": 32, "tranches": TRANCHES,
        "token_content_base": "https://tonsurance.io/jettons/",
    }
    args.update(extra)
    return args


def deployer_balance(workdir, address_raw):
    chain = open_chain(os.path.join(workdir, "state"))
    try:
        return run(chain.get_account_state(address_raw)).balance
    finally:
        chain.close()


def balances(workdir, contracts):
    chain = open_chain(os.path.join(workdir, "state"))
    try:
        return {c["label"]: run(chain.get_account_state(c["address_raw"])).balance for c in contracts}
    finally:
        chain.close()


def stats(workdir):
    with open(os.path.join(workdir, "state", "chain.json"), encoding="utf-8") as handle:
        return json.load(handle)["stats"]


def test_mainnet_shape_set_needs_one_send_and_one_wait(workdir):
    prepare(workdir)
    result = module("ton_protocol", protocol_args(workdir, shard_count=256))
    assert not result.get("failed"), result.get("msg")
    assert len(result["contracts"]) == 266
    assert result["messages_sent"] == 1 and result["confirmation_waits"] == 1
    assert result["spent_nanoton"] < 80 * 10**9
    # Every contract is proven, shards included: code hash by the read, then its get-method checks.
    assert result["verified_checks"] >= 266 * 3

    again = module("ton_protocol", protocol_args(workdir, shard_count=256))
    assert not again["changed"] and again["messages_sent"] == 0 and again["spent_nanoton"] == 0


def test_check_mode_plan_lists_every_contract_and_matches_the_real_spend(workdir):
    sandbox = prepare(workdir)
    before_stats = stats(workdir)
    plan = module("ton_protocol", protocol_args(workdir), check_mode=True)
    assert not plan.get("failed"), plan.get("msg")
    assert stats(workdir) == before_stats
    assert {c["action"] for c in plan["contracts"]} == {"would_deploy"}
    assert all(c["value_nanoton"] > c["storage_reserve_nanoton"] > 0 for c in plan["contracts"])
    assert plan["planned_spend_nanoton"] == sum(c["spent_nanoton"] for c in plan["contracts"])

    before = deployer_balance(workdir, sandbox["deployer_address_raw"])
    real = module("ton_protocol", protocol_args(workdir))
    spent = before - deployer_balance(workdir, sandbox["deployer_address_raw"])
    assert abs(spent - plan["planned_spend_nanoton"]) <= plan["planned_spend_nanoton"] / 100
    assert [c["value_nanoton"] for c in real["contracts"]] == [c["value_nanoton"] for c in plan["contracts"]]


def test_longer_horizon_funds_more_storage(workdir):
    prepare(workdir)
    year = module("ton_protocol", protocol_args(workdir), check_mode=True)
    decade = module("ton_protocol", protocol_args(workdir, storage_horizon_days=3650), check_mode=True)
    for short, long in zip(year["contracts"], decade["contracts"]):
        assert long["storage_reserve_nanoton"] > 9 * short["storage_reserve_nanoton"]
        assert long["value_nanoton"] >= short["value_nanoton"]


def test_plan_fails_when_the_deployer_cannot_pay(workdir):
    prepare(workdir, fund_nanoton=5 * 10**8)
    before_stats = stats(workdir)
    result = module("ton_protocol", protocol_args(workdir), check_mode=True)
    assert result.get("failed") and "the plan spends" in result["msg"] and "holds" in result["msg"]
    real = module("ton_protocol", protocol_args(workdir))
    assert real.get("failed") and "the plan spends" in real["msg"]
    assert stats(workdir) == before_stats


class LiveLike:
    """The sandbox seen through the calls a live network answers: no fork, no synchronous settling."""

    settles_synchronously = True

    def __init__(self, chain):
        self._chain = chain
        self.now = chain.now

    async def start_up(self):
        return None

    async def close_all(self):
        return None

    async def raw_get_account_state(self, address, block=None):
        return await self._chain.raw_get_account_state(address)

    async def get_account_state(self, address):
        return await self._chain.get_account_state(address)

    async def run_get_method(self, address, method, stack, block=None):
        return await self._chain.run_get_method(address, method, stack)

    async def raw_send_message(self, message):
        return await self._chain.raw_send_message(message)

    async def config_cell(self):
        return await self._chain.config_cell()


def test_plan_from_account_snapshots_matches_the_sandbox_plan(workdir):
    """The lite path: plan on states read one by one, as from liteservers, not on a fork."""
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import bulk, plan as plans
    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer

    prepare(workdir)
    args = protocol_args(workdir)
    targets = plans.build(ARTIFACTS, ADMIN, KEEPER, 32, TRANCHES, args["token_content_base"])
    chain = open_chain(os.path.join(workdir, "state"))
    try:
        async def go(provider):
            deployer = await Deployer(provider, args["deployer_mnemonic"], "highload_v3", "local").open()
            return await bulk.deploy_set(provider, deployer, targets, network="local", horizon_days=365,
                                         margin_pct=20, messages_per_external=500, wait_timeout=10,
                                         check_mode=True)
        on_fork = run(go(chain))
        on_snapshot = run(go(LiveLike(chain)))
    finally:
        chain.close()
    assert on_snapshot["planned_spend_nanoton"] == pytest.approx(on_fork["planned_spend_nanoton"], rel=1e-4)
    assert [c["value_nanoton"] for c in on_snapshot["contracts"]] == [c["value_nanoton"] for c in on_fork["contracts"]]


def _run_module_until(args, deadline_s):
    """Start ton_protocol as Ansible would and SIGKILL it after deadline_s seconds (if still running)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.Popen([sys.executable, os.path.join(REPO, "plugins", "modules", "ton_protocol.py"), handle.name],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=deadline_s)
        killed = False
    except subprocess.TimeoutExpired:
        psutil.Process(proc.pid).kill()
        proc.wait()
        killed = True
    os.unlink(handle.name)
    return killed


def test_killed_at_random_points_every_contract_is_deployed_once_and_paid_once(tmp_path):
    """Kill the deploy at 20+ random points, resume each time; spend must equal one clean deploy's."""
    template = str(tmp_path / "template")
    sandbox = prepare(template)
    deployer = sandbox["deployer_address_raw"]
    extra = {"messages_per_external": 10}

    clean = str(tmp_path / "clean")
    shutil.copytree(template, clean)
    started = time.monotonic()
    reference = module("ton_protocol", protocol_args(clean, **extra))
    full_run = time.monotonic() - started
    assert not reference.get("failed"), reference.get("msg")
    clean_spent = sandbox["balance_nanoton"] - deployer_balance(clean, deployer)
    clean_balances = balances(clean, reference["contracts"])

    rng = random.Random(20261203)
    points = 20
    killed_mid_run = 0
    for point in range(points):
        workdir = str(tmp_path / f"kill-{point}")
        shutil.copytree(template, workdir)
        # A few kills per run: the first lands anywhere in the run, later ones in the resumed runs.
        for _attempt in range(3):
            killed_mid_run += _run_module_until(protocol_args(workdir, **extra), rng.uniform(0.05, full_run * 1.2))
        final = module("ton_protocol", protocol_args(workdir, **extra))
        assert not final.get("failed"), final.get("msg")
        assert all(c["action"] == "none" or c.get("transaction") for c in final["contracts"])
        spent = sandbox["balance_nanoton"] - deployer_balance(workdir, deployer)
        assert spent == pytest.approx(clean_spent, rel=1e-4), f"kill point {point}: paid {spent} vs {clean_spent}"
        got = balances(workdir, reference["contracts"])
        for label, balance in clean_balances.items():
            assert got[label] == pytest.approx(balance, rel=1e-3), f"{label} funded twice or not at all"
    assert killed_mid_run >= points, "too few kills landed inside a run"
