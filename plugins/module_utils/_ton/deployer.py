"""The deployer wallet: signs batches of internal messages and waits for the chain to act.

Never fire and forget: every send waits until the wallet's seqno has moved past the one it signed,
with a monotonic deadline, and reports how much the wallet's balance dropped.
"""

import asyncio
import time

from pytoniq import WalletV4R2, WalletV5R1
from pytoniq_core import Cell, StateInit
from pytoniq_core.crypto.keys import mnemonic_is_valid

from . import addresses
from .errors import ConfigError, WaitTimeoutError

NETWORK_GLOBAL_ID = {"mainnet": -239, "testnet": -3, "local": -3}
MAX_MESSAGES = {"v4r2": 4, "v5r1": 255}
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
        await self._wait(lambda: self.is_active(), wait_timeout, f"deployer wallet {self.address_str()} to activate")

    def address_str(self):
        return addresses.friendly(self.wallet.address, self.network, bounceable=False)

    async def seqno(self):
        return (await self.wallet.run_get_method("seqno"))[0]

    async def send(self, messages, wait_timeout):
        """Sign and send up to max_messages internal messages; return the wallet's balance drop."""
        if not messages:
            return 0
        if len(messages) > self.max_messages:
            raise ConfigError(f"{len(messages)} messages exceed the {self.version} limit of {self.max_messages}")
        seqno = await self.seqno()
        before = await self.balance()
        wallet_messages = [
            self.wallet.create_wallet_internal_message(
                destination=m.dest,
                send_mode=SEND_MODE,
                value=m.value,
                body=m.body,
                state_init=m.state_init if isinstance(m.state_init, StateInit) else None,
            )
            for m in messages
        ]
        for wallet_message, message in zip(wallet_messages, messages):
            wallet_message.message.info.bounce = message.bounce
        valid_until = int(time.time()) + max(int(wait_timeout), 30)
        body = self.wallet.raw_create_transfer_msg(
            self.wallet.private_key, seqno, self.wallet.wallet_id, wallet_messages, valid_until=valid_until
        )
        await self.wallet.send_external(body=body)
        self.externals += 1

        async def advanced():
            return await self.seqno() > seqno

        await self._wait(advanced, wait_timeout, f"deployer seqno to pass {seqno}")
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
