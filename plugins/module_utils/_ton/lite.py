"""The `lite` provider: pytoniq's LiteBalancer over a global-config file named in the inventory.

The config is read from disk, never downloaded. Calls are retried a bounded number of times with
exponential backoff on timeouts and "not ready" answers; when no liteserver answers, the error
names the network and the call.
"""

import asyncio
import json
import logging

from .errors import ConfigError, GetMethodError, ProviderError

# pytoniq logs every request at INFO under its class names; keep them quiet.
for _name in ("LiteBalancer", "LiteClient", "AdnlTransport", "AdnlNode", "AdnlChannel", "sync"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class LiteProvider:
    kind = "lite"
    settles_synchronously = False

    def __init__(self, config_path, network, retries=4, backoff=1.0, timeout=10):
        self.config_path = config_path
        self.network = network
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.client = None
        self.calls = 0

    async def start_up(self):
        from pytoniq import LiteBalancer

        try:
            with open(self.config_path, encoding="utf-8") as handle:
                config = json.load(handle)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"global config {self.config_path} for {self.network} is unreadable: {exc}") from exc
        if not config.get("liteservers"):
            raise ConfigError(f"global config {self.config_path} for {self.network} lists no liteservers")
        self.client = LiteBalancer.from_config(config, trust_level=2, timeout=self.timeout)
        await self._retry("start_up", self.client.start_up)
        return self

    async def close_all(self):
        if self.client is not None:
            await self.client.close_all()

    async def _retry(self, call, func, *args):
        delay = self.backoff
        last = None
        for attempt in range(self.retries + 1):
            self.calls += 1
            try:
                return await func(*args)
            except asyncio.TimeoutError as exc:
                last = exc
            except Exception as exc:  # pytoniq raises many types; retry only the transient ones
                text = str(exc).lower()
                if "not ready" not in text and "timeout" not in text and "no alive peers" not in text:
                    raise ProviderError(f"{call} on {self.network} failed: {exc}") from exc
                last = exc
            if attempt < self.retries:
                await asyncio.sleep(delay)
                delay *= 2
        raise ProviderError(
            f"no liteserver of {self.network} answered {call} after {self.retries + 1} attempts: {last!r}"
        ) from last

    async def raw_get_account_state(self, address, block=None):
        return await self._retry("raw_get_account_state", self.client.raw_get_account_state, address)

    async def get_account_state(self, address):
        return await self._retry("get_account_state", self.client.get_account_state, address)

    async def run_get_method(self, address, method, stack, block=None):
        from pytoniq import RunGetMethodError

        try:
            return await self._retry("run_get_method", self.client.run_get_method, address, method, stack)
        except ProviderError as exc:
            if isinstance(exc.__cause__, RunGetMethodError):
                raise GetMethodError(str(address), method, exc.__cause__.exit_code) from exc
            raise

    async def config_cell(self):
        """The current blockchain config as the emulator takes it (Hashmap 32 ^Cell)."""
        if getattr(self, "_config", None) is None:
            self._config = await self._retry(
                "get_config", self.client.execute_method, "_get_config_cell", self.client.last_mc_block
            )
        return self._config

    async def raw_send_message(self, message):
        return await self._retry("raw_send_message", self.client.raw_send_message, message)
