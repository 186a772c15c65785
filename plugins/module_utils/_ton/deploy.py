"""Deploy-and-prove: derive, observe, refuse drift, send what is missing, wait, re-read, verify.

Nothing is sent before every target has been observed and found either absent or exactly right,
so a drift anywhere leaves the chain untouched.
"""

from . import addresses
from . import plan as plans
from .deployer import OutMessage
from .errors import CodeDriftError, ConfigError, DeployFailedError, GetMethodError, TonError


async def observe(provider, address):
    account, shard_account = await provider.raw_get_account_state(address)
    if account is None:
        return {"status": "nonexist", "balance_nanoton": 0, "code_hash": None, "last_transaction": None}
    state = account.storage.state
    status = {"account_active": "active", "account_frozen": "frozen"}.get(state.type_, "uninit")
    code_hash = state.state_init.code.hash.hex() if status == "active" and state.state_init.code else None
    return {
        "status": status,
        "balance_nanoton": account.storage.balance.grams,
        "code_hash": code_hash,
        "last_transaction": shard_account.last_trans_hash.hex() if shard_account.last_trans_hash else None,
    }


def _classify(target, state, network):
    if state["status"] == "active":
        if state["code_hash"] != target.code_hash:
            raise CodeDriftError(target.label, addresses.friendly(target.address, network), target.code_hash,
                                 state["code_hash"])
        return "present"
    if state["status"] == "frozen":
        raise DeployFailedError(
            f"{target.label} at {addresses.friendly(target.address, network)} is frozen; "
            "unfreezing is a manual decision"
        )
    return "missing"


async def _check_deployer(deployer, needed, network):
    state = await deployer.state()
    where = deployer.address_str()
    if state.state.type_ != "active":
        raise DeployFailedError(f"deployer wallet {where} on {network} is not active ({state.state.type_})")
    if state.balance < needed:
        raise DeployFailedError(
            f"deployer wallet {where} on {network} holds {state.balance} nanoton; "
            f"the missing contracts need at least {needed} plus fees"
        )


async def verify(provider, targets, network, pending_ok=False):
    """Run every target's checks, one get-method call per distinct (address, method, args).

    With pending_ok (check mode), a check that asks another contract which is not deployed yet is
    skipped: in the real run that contract is deployed by an earlier task.
    """
    answers = {}
    failures = []
    calls = 0
    for target in targets:
        for check in target.checks:
            on = getattr(check, "on", target.address)
            key = (addresses.raw(on), check.method, tuple(check.args))
            if key not in answers:
                calls += 1
                try:
                    answers[key] = await provider.run_get_method(on, check.method, check.args)
                except GetMethodError as exc:
                    answers[key] = exc
            answer = answers[key]
            if pending_ok and isinstance(answer, GetMethodError) and answer.exit_code == -256 and not addresses.same(
                    on, target.address):
                continue
            if isinstance(answer, TonError):
                failures.append(f"{target.label} {check.describe()}: exit code {answer.exit_code}")
                continue
            ok, actual = check.matches(answer)
            if not ok:
                expected = addresses.raw(check.expected) if check.kind == "address" else check.expected
                failures.append(f"{target.label} {check.describe()}: got {actual}, expected {expected}")
    if failures:
        shown = "; ".join(failures[:5])
        more = f" (and {len(failures) - 5} more)" if len(failures) > 5 else ""
        raise DeployFailedError(f"on-chain verification failed on {network}: {shown}{more}")
    return calls


async def ensure(provider, deployer, targets, *, network, amount_nanoton, batch_size, wait_timeout, check_mode,
                 progress=None):
    """Make every target active with its expected code, then prove it; return a per-target report."""
    before = [await observe(provider, t.address) for t in targets]
    plan = [_classify(t, s, network) for t, s in zip(targets, before)]
    missing = [t for t, p in zip(targets, plan) if p == "missing"]
    if missing and deployer is None:
        raise ConfigError(f"deployer_mnemonic is required on {network}: {len(missing)} contract(s) are missing")
    if missing:
        await _check_deployer(deployer, len(missing) * amount_nanoton, network)
    group_size = max(1, min(batch_size, deployer.max_messages if deployer else batch_size))
    groups = [missing[i:i + group_size] for i in range(0, len(missing), group_size)]

    sender, chain = deployer, provider
    if check_mode and missing:
        fork = getattr(provider, "fork", None)
        # Check mode runs the same sends on a throwaway copy of the sandbox, so the cost it reports
        # is what the real run spends; a live network has no such copy.
        chain = fork() if fork else None
        sender = await deployer.rebind(chain).open() if chain is not None else None

    costs = {}
    sent_externals = 0
    for index, group in enumerate(groups):
        messages = [OutMessage(t.address, amount_nanoton, t.state_init, bounce=True) for t in group]
        if sender is None:
            spent = None
        else:
            # A highload deployer needs a query id: one derived from the group, so a rerun cannot pay twice.
            spent = await sender.send(messages, wait_timeout,
                                      query_id=plans.query_id(plans.deployment_id(network, group), 0))
            sent_externals += 1
            after = [await observe(chain, t.address) for t in group]
            failed = [(t, s) for t, s in zip(group, after) if s["status"] != "active" or s["code_hash"] != t.code_hash]
            if failed:
                names = ", ".join(f"{t.label} at {addresses.friendly(t.address, network)} ({s['status']})"
                                  for t, s in failed)
                raise DeployFailedError(
                    f"deploy on {network} did not activate {names}: the message bounced or ran out of value"
                )
            # None: an earlier run's send of this very group was processed; nothing was paid now.
            spent = spent or 0
            wallet_fees = max(0, spent - amount_nanoton * len(group))
            for position, (target, state) in enumerate(zip(group, after)):
                share = wallet_fees // len(group) + (wallet_fees % len(group) if position == 0 else 0)
                costs[target.label] = {
                    "spent_nanoton": amount_nanoton + share,
                    "fees_nanoton": amount_nanoton - state["balance_nanoton"] + share,
                    "transaction": state["last_transaction"],
                }
        if progress:
            progress(index + 1, len(groups), len(group))

    if check_mode:
        after_all = before
        if chain is not None and missing:
            after_all = [await observe(chain, t.address) for t in targets]
            await verify(chain, targets, network, pending_ok=True)
    else:
        after_all = [await observe(provider, t.address) for t in targets]
    calls = await verify(provider, targets, network) if not check_mode else 0

    report = []
    for target, state_before, state_after, action in zip(targets, before, after_all, plan):
        entry = {
            "label": target.label,
            "contract": target.name,
            "address": addresses.friendly(target.address, network),
            "address_raw": addresses.raw(target.address),
            "code_hash": target.code_hash,
            "action": "none" if action == "present" else ("would_deploy" if check_mode else "deployed"),
            "before": state_before,
            "after": state_after,
            "value_nanoton": amount_nanoton if action == "missing" else 0,
        }
        entry.update(costs.get(target.label, {}))
        report.append(entry)
    return {
        "contracts": report,
        "changed": bool(missing),
        "externals": 0 if check_mode else sent_externals,
        "waits": 0 if check_mode or sender is None else sender.waits,
        "verify_calls": calls,
        "spent_nanoton": sum(c["spent_nanoton"] for c in costs.values()),
    }
