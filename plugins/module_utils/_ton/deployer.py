"""The deployer wallet: signs batches of internal messages and waits for the chain to act.

Never fire and forget: every send waits until the chain shows it was processed (the seqno moved
past the one signed, or the highload query id is marked processed), with a monotonic deadline,
and reports how much the wallet's balance dropped.

With the highload v3 wallet every send carries a query id chosen by the caller. The wallet refuses a
query id it has already processed, and `send` asks before signing, so sending the same batch twice
(after a crash, a timeout, a second run) can never pay twice.
"""

import asyncio
import time

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq import HighloadWalletV3, WalletV4R2, WalletV5R1
    from pytoniq_core import Cell, StateInit
    from pytoniq_core.crypto.keys import mnemonic_is_valid
except ImportError:
    pass

from . import addresses
from .errors import ConfigError, WaitTimeoutError

NETWORK_GLOBAL_ID = {"mainnet": -239, "testnet": -3, "local": -3}
# Highload v3 chains action lists through messages to itself; 500 keeps one external's work well
# inside the action-phase limits while covering the mainnet-shape set in one send.
MAX_MESSAGES = {"v4r2": 4, "v5r1": 255, "highload_v3": 500}
QUERY_ID_BITS = 23
# Highload v3 rejects created_at in the future; sign a little in the past, as its authors advise.
CREATED_AT_SLACK = 30
HIGHLOAD_TIMEOUT = 3600
# A highload v3 query id is a 13-bit shift and a 10-bit bit number; the wallet marks bit numbers in a
# 1023-bit cell, so 1023 itself is not a usable bit number.
BIT_NUMBER_LIMIT = 1023


def query_id_from(value):
    """Map any integer onto a query id the highload v3 wallet accepts."""
    value %= 1 << QUERY_ID_BITS
    return (value >> 10) << 10 | ((value & 1023) % BIT_NUMBER_LIMIT)


# Pay transfer fees separately from the value and ignore errors in the action phase, so one bad
# message never blocks the wallet's seqno.
SEND_MODE = 3


class OutMessage:
    def __init__(self, dest, value, state_init=None, body=None, bounce=True):
        self.dest = dest
        self.value = value
        self.state_init = state_init
        self.body = body if body is not None else Cell.empty()
        self.bounce = bounce


class Deployer:
    def __init__(self, provider, mnemonic, version="v5r1", network="local", poll_interval=1.0):
        if version not in MAX_MESSAGES:
            raise ConfigError(f"deployer wallet version {version!r} is not one of {sorted(MAX_MESSAGES)}")
        words = mnemonic.split() if isinstance(mnemonic, str) else list(mnemonic or [])
        if not words or not mnemonic_is_valid(words):
            # The words themselves never appear in an error.
            raise ConfigError("deployer mnemonic is not a valid 24-word TON mnemonic")
        self._words = words
        self.provider = provider
        self.version = version
        self.network = network
        self.poll_interval = poll_interval
        self.wallet = None
        self.waits = 0
        self.externals = 0

    @property
    def max_messages(self):
        return MAX_MESSAGES[self.version]

    async def open(self):
        if self.version == "v5r1":
            self.wallet = await WalletV5R1.from_mnemonic(
                self.provider, self._words, network_global_id=NETWORK_GLOBAL_ID.get(self.network, -3)
            )
        elif self.version == "highload_v3":
            self.wallet = await HighloadWalletV3.from_mnemonic(self.provider, self._words, timeout=HIGHLOAD_TIMEOUT)
        else:
            self.wallet = await WalletV4R2.from_mnemonic(self.provider, self._words)
        return self

    def rebind(self, provider):
        """The same keys over another provider (a sandbox fork for check mode)."""
        return Deployer(provider, self._words, self.version, self.network, self.poll_interval)

    @property
    def address(self):
        return self.wallet.address

    async def state(self):
        account = await self.provider.get_account_state(self.wallet.address)
        return account

    async def balance(self):
        return (await self.state()).balance

    async def is_active(self):
        return (await self.state()).state.type_ == "active"

    async def activate(self, wait_timeout):
        """Deploy the wallet contract itself (its first external carries the StateInit)."""
        await self.wallet.send_init_external()
        self.externals += 1
        await self._wait(self.is_active, wait_timeout, f"deployer wallet {self.address_str()} to activate")

    def address_str(self):
        return addresses.friendly(self.wallet.address, self.network, bounceable=False)

    async def seqno(self):
        return (await self.wallet.run_get_method("seqno"))[0]

    @property
    def uses_query_ids(self):
        return self.version == "highload_v3"

    async def processed(self, query_id):
        """Whether the highload wallet has already processed this query id."""
        answer = await self.wallet.run_get_method("processed?", [query_id, 0])
        return answer[0] != 0

    async def send(self, messages, wait_timeout, query_id=None, settled=None):
        """Sign and send up to max_messages internal messages; return the wallet's balance drop.

        With a highload wallet, a query id that is already processed is not sent again: the
        call returns None and the caller waits for the effects of the earlier send.
        `settled`, when given, is an extra condition (the targets are active) folded into the
        same wait, so a batch costs one confirmation wait.
        """
        if not messages:
            return 0
        if len(messages) > self.max_messages:
            raise ConfigError(f"{len(messages)} messages exceed the {self.version} limit of {self.max_messages}")
        if self.uses_query_ids:
            return await self._send_highload(messages, wait_timeout, query_id, settled)
        seqno = await self.seqno()
        before = await self.balance()
        wallet_messages = self._wallet_messages(messages)
        valid_until = int(time.time()) + max(int(wait_timeout), 30)
        body = self.wallet.raw_create_transfer_msg(
            self.wallet.private_key, seqno, self.wallet.wallet_id, wallet_messages, valid_until=valid_until
        )
        await self.wallet.send_external(body=body)
        self.externals += 1

        async def advanced():
            return await self.seqno() > seqno and (settled is None or await settled())

        await self._wait(advanced, wait_timeout, f"deployer seqno to pass {seqno}")
        return before - await self.balance()

    def _wallet_messages(self, messages):
        built = []
        for message in messages:
            wallet_message = self.wallet.create_wallet_internal_message(
                destination=message.dest, send_mode=SEND_MODE, value=message.value, body=message.body,
                state_init=message.state_init if isinstance(message.state_init, StateInit) else None,
            )
            wallet_message.message.info.bounce = message.bounce
            built.append(wallet_message)
        return built

    async def _send_highload(self, messages, wait_timeout, query_id, settled=None):
        if query_id is None or not 0 <= query_id < 1 << QUERY_ID_BITS or query_id & 1023 >= BIT_NUMBER_LIMIT:
            raise ConfigError(f"highload sends need a query id in [0, 2^{QUERY_ID_BITS}) with a bit number below "
                              f"{BIT_NUMBER_LIMIT}, got {query_id!r}")
        if await self.processed(query_id):
            return None
        before = await self.balance()
        body = self.wallet.raw_create_transfer_msg(
            private_key=self.wallet.private_key, wallet_id=self.wallet.wallet_id,
            messages=self._wallet_messages(messages), query_id=query_id, timeout=HIGHLOAD_TIMEOUT,
            created_at=int(time.time()) - CREATED_AT_SLACK,
        )
        await self.wallet.send_external(body=body)
        self.externals += 1

        async def done():
            return await self.processed(query_id) and (settled is None or await settled())

        await self._wait(done, wait_timeout, f"highload query {query_id} to be processed")
        return before - await self.balance()

    async def _wait(self, condition, timeout, what):
        self.waits += 1
        deadline = time.monotonic() + timeout
        while True:
            if await condition():
                return
            if getattr(self.provider, "settles_synchronously", False) or time.monotonic() >= deadline:
                raise WaitTimeoutError(f"timed out after {timeout}s waiting for {what} on {self.network}")
            await asyncio.sleep(self.poll_interval)
