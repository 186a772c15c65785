"""Deploy a whole contract set in as few sends and waits as the deployer wallet allows.

1. Observe every target once; refuse drift before anything is sent.
2. Size each missing contract's value by emulating its deploy on a copy of the chain.
3. Emulate the real batches on a fresh copy: the plan, its per-contract fees and its total.
4. Check mode stops there. A real run sends each batch that still has missing contracts, with a
   query id derived from the deployment and the batch, and waits once per batch.
5. Re-read every target and prove it by get-methods run on the states just read.
"""

from . import addresses, funding, plan
from .deploy import _classify
from .deployer import OutMessage
from .errors import ConfigError, DeployFailedError, GetMethodError, TonError, WaitTimeoutError
from .sandbox import SandboxChain, run_local_get_method

PROBE_NANOTON = 1_000_000_000


class Observed:
    def __init__(self, account, shard_account):
        self.account = account
        self.shard_account = shard_account

    @property
    def summary(self):
        account = self.account
        if account is None:
            return {"status": "nonexist", "balance_nanoton": 0, "code_hash": None, "last_transaction": None}
        state = account.storage.state
        status = {"account_active": "active", "account_frozen": "frozen"}.get(state.type_, "uninit")
        return {
            "status": status,
            "balance_nanoton": account.storage.balance.grams,
            "code_hash": state.state_init.code.hash.hex() if status == "active" else None,
            "last_transaction": self.shard_account.last_trans_hash.hex() if self.shard_account else None,
        }


class Reader:
    """Reads accounts through a provider and counts the round trips."""

    def __init__(self, provider):
        self.provider = provider
        self.round_trips = 0

    async def read(self, address):
        self.round_trips += 1
        account, shard_account = await self.provider.raw_get_account_state(address)
        return Observed(account, shard_account)

    async def read_all(self, targets):
        return {addresses.raw(t.address): await self.read(t.address) for t in targets}


async def _copy_of_chain(provider, reader, deployer, targets):
    fork = getattr(provider, "fork", None)
    if fork is not None:
        return fork()
    states = {deployer.address: (await reader.read(deployer.address)).shard_account}
    for target in targets:
        states[target.address] = (await reader.read(target.address)).shard_account
    reader.round_trips += 1
    return SandboxChain.snapshot(states, await provider.config_cell())


def _batches(targets, size):
    return [targets[i:i + size] for i in range(0, len(targets), size)]


async def _emulate(copy, deployer, batches, missing_labels, values, wait_timeout, ids):
    """Send the batches on a copy of the chain; return per-target after-states and the total spend."""
    sender = await deployer.rebind(copy).open()
    spent_total = 0
    per_target = {}
    for index, batch in enumerate(batches):
        todo = [t for t in batch if t.label in missing_labels]
        if not todo:
            continue
        messages = [OutMessage(t.address, values[t.label], t.state_init) for t in todo]
        spent = await sender.send(messages, wait_timeout, query_id=ids[index])
        spent_total += spent or 0
        wallet_fees = (spent or 0) - sum(values[t.label] for t in todo)
        for position, target in enumerate(todo):
            state = (await copy.raw_get_account_state(target.address))
            per_target[target.label] = (Observed(*state), wallet_fees, len(todo), position)
    return per_target, spent_total


async def deploy_set(provider, deployer, targets, *, network, horizon_days, margin_pct, messages_per_external,
                     wait_timeout, check_mode, attempt=0, progress=None):
    reader = Reader(provider)
    before = await reader.read_all(targets)
    actions = {t.label: _classify(t, before[addresses.raw(t.address)].summary, network) for t in targets}
    missing = [t for t in targets if actions[t.label] == "missing"]
    missing_labels = {t.label for t in missing}
    missing_keys = {addresses.raw(t.address) for t in missing}

    deployment = plan.deployment_id(network, targets, attempt)
    size = max(1, min(messages_per_external, deployer.max_messages if deployer else messages_per_external))
    batches = _batches(targets, size)
    ids = [plan.query_id(deployment, i) for i in range(len(batches))]

    planned = {}
    plan_spend = 0
    if missing:
        if deployer is None:
            raise ConfigError(f"deployer_mnemonic is required on {network}: {len(missing)} contract(s) are missing")
        deployer_state = (await reader.read(deployer.address)).summary
        if deployer_state["status"] != "active":
            raise DeployFailedError(
                f"deployer wallet {deployer.address_str()} on {network} is not active ({deployer_state['status']})")

        # Size: deploy every missing contract with a probe value on a copy, then measure what it used.
        probe_chain = await _copy_of_chain(provider, reader, deployer, missing)
        probe_chain.credit(deployer.address, PROBE_NANOTON * len(missing) * 2)
        probes = (await _emulate(probe_chain, deployer, batches, missing_labels,
                                 {t.label: PROBE_NANOTON for t in missing}, wait_timeout, ids))[0]
        prices = funding.storage_prices(await probe_chain.config_cell(), probe_chain.now)
        values, storage = {}, {}
        for target in missing:
            observed = probes[target.label][0]
            if observed.summary["status"] != "active":
                raise DeployFailedError(
                    f"{target.label} at {addresses.friendly(target.address, network)} does not deploy even with "
                    f"{PROBE_NANOTON} nanoton in emulation; nothing was sent")
            used = observed.account.storage_stat.used
            deploy_fees = PROBE_NANOTON - observed.summary["balance_nanoton"]
            values[target.label], storage[target.label] = funding.size_value(
                deploy_fees, used.bits, used.cells, prices, horizon_days, margin_pct)

        # Plan: the real batches with the sized values on a fresh copy.
        plan_chain = await _copy_of_chain(provider, reader, deployer, missing)
        # The copy's deployer gets what the plan needs, so the plan is complete even when the real
        # deployer is short; the comparison with the real balance comes after.
        plan_chain.credit(deployer.address, sum(values.values()) * 2 + PROBE_NANOTON)
        planned, plan_spend = await _emulate(plan_chain, deployer, batches, missing_labels, values, wait_timeout,
                                             ids)
        inactive = [t for t in missing if planned[t.label][0].summary["status"] != "active"]
        if inactive:
            raise DeployFailedError(
                f"the plan for {network} does not activate {inactive[0].label} at "
                f"{addresses.friendly(inactive[0].address, network)} in emulation; nothing was sent")
        if deployer_state["balance_nanoton"] < plan_spend:
            raise DeployFailedError(
                f"deployer wallet {deployer.address_str()} on {network} holds {deployer_state['balance_nanoton']} "
                f"nanoton; the plan spends {plan_spend}")

    sent = 0
    spent_total = 0
    after = before
    progress_log = []
    seen = {}
    if missing and not check_mode:
        for index, batch in enumerate(batches):
            todo = [t for t in batch if t.label in missing_labels]
            if not todo:
                continue

            async def all_active(todo=todo):
                # Newest first: the last message of a batch lands last, so one read usually answers "not yet".
                for target in reversed(todo):
                    key = addresses.raw(target.address)
                    if seen.get(key) is None:
                        observed = await reader.read(target.address)
                        if observed.summary["status"] != "active":
                            return False
                        seen[key] = observed
                return True

            messages = [OutMessage(t.address, values[t.label], t.state_init) for t in todo]
            externals_before = deployer.externals
            try:
                spent = await deployer.send(messages, wait_timeout, query_id=ids[index], settled=all_active)
            except WaitTimeoutError as exc:
                raise DeployFailedError(
                    f"batch {index + 1}/{len(batches)} (query id {ids[index]}) on {network}: {exc}; "
                    "run again to resume: sent batches are never paid twice") from exc
            if spent is None:
                # Sent by an earlier, interrupted run: wait for its effects instead of paying again.
                await deployer._wait(all_active, wait_timeout, f"batch {index + 1} sent earlier to land")
            sent += deployer.externals - externals_before
            spent_total += spent or 0
            progress_log.append({"batch": index + 1, "of": len(batches), "query_id": ids[index],
                                 "contracts": len(todo), "resumed": spent is None})
            if progress:
                progress(progress_log[-1])
        after = {}
        for target in targets:
            key = addresses.raw(target.address)
            after[key] = seen.get(key) or (before[key] if key not in missing_keys else await reader.read(target.address))
        failed = [t for t in missing if after[addresses.raw(t.address)].summary["status"] != "active"]
        if failed:
            names = ", ".join(f"{t.label} at {addresses.friendly(t.address, network)}" for t in failed[:5])
            raise DeployFailedError(f"deploy on {network} did not activate {names}: bounced or out of value")

    if check_mode and missing:
        # Prove the plan itself: the emulated end state must pass every check the real one will.
        states = {addresses.raw(t.address): planned[t.label][0] if t.label in planned
                  else before[addresses.raw(t.address)] for t in targets}
        config, now = await plan_chain.config_cell(), plan_chain.now
    else:
        states = after
        config, now = await _config_and_now(provider, reader)
    verified = _verify(states, targets, network, config, now)

    report = []
    for target in targets:
        key = addresses.raw(target.address)
        entry = {
            "label": target.label,
            "contract": target.name,
            "address": addresses.friendly(target.address, network),
            "address_raw": key,
            "code_hash": target.code_hash,
            "action": "none" if actions[target.label] == "present" else (
                "would_deploy" if check_mode else "deployed"),
        }
        if target.label in planned:
            observed, wallet_fees, count, position = planned[target.label]
            share = wallet_fees // count + (wallet_fees % count if position == 0 else 0)
            entry.update(value_nanoton=values[target.label], storage_reserve_nanoton=storage[target.label],
                         fees_nanoton=values[target.label] - observed.summary["balance_nanoton"] + share,
                         spent_nanoton=values[target.label] + share)
            if not check_mode:
                real = after[key].summary
                entry.update(fees_nanoton=values[target.label] - real["balance_nanoton"] + share,
                             transaction=real["last_transaction"])
        report.append(entry)
    return {
        "contracts": report,
        "changed": bool(missing),
        "planned_spend_nanoton": plan_spend,
        "spent_nanoton": plan_spend if check_mode else spent_total,
        "externals": sent,
        "waits": 0 if check_mode or deployer is None else deployer.waits,
        "round_trips": reader.round_trips,
        "verified_checks": verified,
        "batches": progress_log,
        "deployment_id": deployment,
    }


async def _config_and_now(provider, reader):
    import time

    reader.round_trips += 1
    return await provider.config_cell(), int(getattr(provider, "now", 0) or time.time())


def _verify(states, targets, network, config, now):
    """Every check of every target, run locally on the states already read."""
    failures = []
    answers = {}
    count = 0
    for target in targets:
        for check in target.checks:
            on = getattr(check, "on", target.address)
            key = (addresses.raw(on), check.method, tuple(check.args))
            if key not in answers:
                observed = states.get(addresses.raw(on))
                try:
                    answers[key] = run_local_get_method(observed.account if observed else None, on, check.method,
                                                        check.args, config, now)
                except GetMethodError as exc:
                    answers[key] = exc
            answer = answers[key]
            count += 1
            if isinstance(answer, TonError):
                failures.append(f"{target.label} {check.describe()}: exit code {answer.exit_code}")
                continue
            ok, actual = check.matches(answer)
            if not ok:
                expected = addresses.raw(check.expected) if check.kind == "address" else check.expected
                failures.append(f"{target.label} {check.describe()}: got {actual}, expected {expected}")
    if failures:
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        raise DeployFailedError(f"on-chain verification failed on {network}: {'; '.join(failures[:5])}{more}")
    return count
