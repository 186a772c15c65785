"""A local TON chain: the official emulator (pytvm's libemulator) over a state file.

Every message runs through the real transaction emulator, so signatures, seqnos, fees, storage
charges and bounces behave as on the network. Accounts live in a JSON file of ShardAccount BoCs;
writes are atomic (temporary file and rename) and an exclusive lock keeps two runs from
interleaving.
"""

import base64
import copy
import fcntl
import json
import os
import secrets
import tempfile
import time
import warnings
from collections import deque

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import Address, Cell, HashMap, begin_cell
    from pytoniq_core.tlb.account import ShardAccount, SimpleAccount
    from pytoniq_core.tlb.transaction import MessageAny
    # pytvm imports pkg_resources, whose deprecation warning would otherwise land in every module result.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    from pytvm.engine import EmulatorEngineC
    from pytvm.transaction_emulator import TransactionEmulator
    from pytvm.tvm_emulator import TvmEmulator
    from pytvm.utils import DEFAULT_CONFIG_BOC
except ImportError:
    pass

from .errors import GetMethodError, ProviderError, SendRejectedError

STATE_VERSION = 1
# Logical time advances by a fixed stride per transaction: wide enough for a transaction's
# out-messages (at most 255) and small enough to stay inside the emulator's 32-bit lt setter.
LT_STRIDE = 1000
# A chain of messages that never settles is a contract bug; stop rather than loop forever.
MAX_TRANSACTIONS_PER_SEND = 5000
GET_METHOD_GAS = 1_000_000
# pytvm ships a blockchain config from global version 2; today's networks run newer TVM versions
# (MYCODE and the other c7 parameters that highload v3 relies on arrived in version 4). The sandbox
# raises the version so contracts meet the TVM they will meet on the network.
SANDBOX_GLOBAL_VERSION = 9


def sandbox_config():
    root = Cell.one_from_boc(base64.b64decode(DEFAULT_CONFIG_BOC))
    params = HashMap.parse(root.begin_parse(), 32, value_deserializer=lambda s: s.load_ref())
    current = params[8].begin_parse()
    current.skip_bits(8 + 32)
    capabilities = current.load_uint(64)
    params[8] = begin_cell().store_uint(0xC4, 8).store_uint(SANDBOX_GLOBAL_VERSION, 32).store_uint(
        capabilities, 64).end_cell()
    table = HashMap(32, value_serializer=lambda value, builder: builder.store_ref(value))
    table.map = params
    return table.serialize()


_ENGINE = []


def _engine():
    """One loaded libemulator per process; pytvm would otherwise reload it for every emulator."""
    if not _ENGINE:
        _ENGINE.append(EmulatorEngineC.default())
    return _ENGINE[0]


def _empty_shard_account():
    account_none = begin_cell().store_bit_int(0).end_cell()
    return begin_cell().store_ref(account_none).store_uint(0, 256).store_uint(0, 64).end_cell()


def raw_key(address):
    """The (workchain, hash) form used as a key; strings are never compared."""
    if not isinstance(address, Address):
        address = Address(address)
    return f"{address.wc}:{address.hash_part.hex()}"


def run_local_get_method(account, address, method, stack, config_cell, now):
    """Run a get-method on an account state already in hand: no provider round trip."""
    where = address.to_str(is_user_friendly=False)
    if account is None or account.storage.state.type_ != "account_active":
        raise GetMethodError(where, method, -256)
    state_init = account.storage.state.state_init
    emulator = TvmEmulator(code=state_init.code, data=state_init.data, engine=_engine())
    emulator.set_gas_limit(GET_METHOD_GAS)
    emulator.set_c7(address=where, unixtime=now, balance=account.storage.balance.grams,
                    rand_seed_hex=secrets.token_hex(32), config=config_cell)
    result = emulator.run_get_method(method, list(stack or []))
    exit_code = int(result.get("vm_exit_code", 0))
    if not result.get("success", False) or exit_code not in (0, 1):
        raise GetMethodError(where, method, exit_code)
    return result["stack"]


class SandboxChain:
    """Provider over the emulator; answers the calls pytoniq's Contract and Wallet make."""

    kind = "sandbox"
    # Sends are processed before raw_send_message returns; waiting longer cannot change anything.
    settles_synchronously = True

    def __init__(self, state_path, persist=True):
        self.state_path = state_path
        self.persist = persist
        self._lock_fd = None
        self._accounts = {}
        self.now = int(time.time())
        self.lt = 1_000_000
        self.stats = {"external_messages": 0, "transactions": 0}
        self.journal = []
        self._emulator = None
        self._config_cell = sandbox_config()

    # -- lifecycle -------------------------------------------------------------------------

    def open(self):
        """Lock (when persisting) and load the state; a read-only chain just reads the last saved state."""
        if self.persist:
            directory = os.path.dirname(os.path.abspath(self.state_path))
            os.makedirs(directory, mode=0o700, exist_ok=True)
            self._lock_fd = os.open(self.state_path + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        if os.path.exists(self.state_path):
            self._load()
        return self

    def close(self):
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()

    async def start_up(self):
        return None

    async def close_all(self):
        return None

    @property
    def exists(self):
        return os.path.exists(self.state_path)

    def fork(self):
        """An in-memory copy that never writes: check mode emulates the real sends on it."""
        twin = SandboxChain(self.state_path, persist=False)
        twin._accounts = dict(self._accounts)
        twin.now, twin.lt = self.now, self.lt
        twin.stats = copy.deepcopy(self.stats)
        return twin

    def _load(self):
        try:
            with open(self.state_path, encoding="utf-8") as handle:
                state = json.load(handle)
        except (OSError, ValueError) as exc:
            raise ProviderError(f"sandbox state {self.state_path} is unreadable: {exc}") from exc
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            found = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise ProviderError(f"sandbox state {self.state_path} has unknown version {found}")
        try:
            accounts = state["accounts"]
            if not isinstance(accounts, dict):
                raise TypeError("accounts is not a mapping")
            for key, boc in accounts.items():
                try:
                    Cell.one_from_boc(base64.b64decode(boc, validate=True))
                except Exception as exc:
                    raise ValueError(f"account {key} holds no readable BoC") from exc
            self._accounts = dict(accounts)
            self.now = max(int(state["now"]), int(time.time()))
            self.lt = int(state["lt"])
            self.stats = dict(state.get("stats", self.stats))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"sandbox state {self.state_path} is damaged: {exc}") from exc

    def account_count(self):
        return len(self._accounts)

    def save(self):
        if not self.persist:
            return
        state = {
            "version": STATE_VERSION,
            "now": self.now,
            "lt": self.lt,
            "stats": self.stats,
            "accounts": self._accounts,
        }
        directory = os.path.dirname(os.path.abspath(self.state_path))
        fd, tmp = tempfile.mkstemp(prefix=".chain-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.state_path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- reads -----------------------------------------------------------------------------

    def _shard_account_cell(self, address):
        boc = self._accounts.get(raw_key(address))
        if boc is None:
            return None
        return Cell.one_from_boc(base64.b64decode(boc))

    async def raw_get_account_state(self, address, block=None):
        cell = self._shard_account_cell(address)
        if cell is None:
            return None, None
        shard_account = ShardAccount.deserialize(cell.begin_parse())
        if shard_account.account is None:
            return None, None
        return shard_account.account, shard_account

    async def get_account_state(self, address):
        if not isinstance(address, Address):
            address = Address(address)
        account = (await self.raw_get_account_state(address))[0]
        return SimpleAccount.from_raw(account, address)

    async def run_get_method(self, address, method, stack, block=None):
        if not isinstance(address, Address):
            address = Address(address)
        account = (await self.raw_get_account_state(address))[0]
        return run_local_get_method(account, address, method, stack, self._config_cell, self.now)

    async def config_cell(self):
        return self._config_cell

    @classmethod
    def snapshot(cls, shard_accounts, config_cell, now=None):
        """An in-memory chain holding copies of some live accounts, for emulating sends before making them."""
        chain = cls("<snapshot>", persist=False)
        chain._config_cell = config_cell
        chain.now = int(now or time.time())
        for address, shard_account in shard_accounts.items():
            if shard_account is not None:
                chain._accounts[raw_key(address)] = base64.b64encode(shard_account.serialize().to_boc()).decode()
        return chain

    # -- writes ----------------------------------------------------------------------------

    def _tx_emulator(self):
        if self._emulator is None:
            self._emulator = TransactionEmulator(config=self._config_cell, engine=_engine())
        return self._emulator

    def _emulate(self, message_cell, dest):
        emulator = self._tx_emulator()
        emulator.set_unixtime(self.now)
        emulator.set_lt(self.lt)
        emulator.set_rand_seed(secrets.token_hex(32))
        account = self._shard_account_cell(dest) or _empty_shard_account()
        result = emulator.emulate_transaction(account, message_cell)
        self.lt += LT_STRIDE
        return result

    async def raw_send_message(self, message):
        """Run an external message and every message it causes, then persist the new state."""
        message_cell = Cell.one_from_boc(message) if isinstance(message, (bytes, bytearray)) else message
        parsed = MessageAny.deserialize(message_cell.begin_parse())
        if not parsed.is_external:
            raise ProviderError("only external inbound messages can be sent to the chain")
        self.now = max(self.now, int(time.time()))
        dest = parsed.info.dest
        result = self._emulate(message_cell, dest)
        if not result.get("success"):
            # A liteserver refuses an external message its destination does not accept; so do we.
            raise SendRejectedError(dest.to_str(is_user_friendly=False), result.get("error", "not accepted"))
        self.stats["external_messages"] += 1
        self._apply(dest, result)
        self.save()
        return 1

    def _apply(self, dest, result):
        queue = deque()
        self._commit(dest, result, queue)
        count = 1
        while queue:
            count += 1
            if count > MAX_TRANSACTIONS_PER_SEND:
                raise ProviderError("message chain did not settle within the sandbox transaction limit")
            out_msg = queue.popleft()
            out_dest = out_msg.info.dest
            out_result = self._emulate(out_msg.serialize(), out_dest)
            if not out_result.get("success"):
                raise ProviderError(
                    f"emulator could not process a message to {out_dest.to_str(is_user_friendly=False)}: "
                    f"{out_result.get('error')}"
                )
            self._commit(out_dest, out_result, queue)

    def _commit(self, dest, result, queue):
        shard_account = result["shard_account"]
        self._accounts[raw_key(dest)] = base64.b64encode(shard_account.serialize().to_boc()).decode()
        transaction = result["transaction"]
        self.stats["transactions"] += 1
        self.journal.append(
            {
                "account": raw_key(dest),
                "hash": transaction.cell.hash.hex() if getattr(transaction, "cell", None) else None,
                "fees": transaction.total_fees.grams,
                "aborted": _aborted(transaction),
            }
        )
        for out_msg in transaction.out_msgs:
            if out_msg.is_internal:
                queue.append(out_msg)

    def credit(self, address, amount_nanoton):
        """Local faucet: deliver value in an internal message from the zero account."""
        from pytoniq_core.tlb.transaction import CurrencyCollection, InternalMsgInfo

        if not isinstance(address, Address):
            address = Address(address)
        info = InternalMsgInfo(
            True, False, False, Address("-1:" + "00" * 32), address,
            CurrencyCollection(grams=amount_nanoton, other=None), 0, 0, self.lt, self.now,
        )
        message_cell = MessageAny(info=info, init=None, body=Cell.empty()).serialize()
        self.now = max(self.now, int(time.time()))
        result = self._emulate(message_cell, address)
        if not result.get("success"):
            raise ProviderError(f"sandbox could not credit {raw_key(address)}: {result.get('error')}")
        self._apply(address, result)
        self.save()


def _aborted(transaction):
    description = transaction.description
    return bool(getattr(description, "aborted", False))
