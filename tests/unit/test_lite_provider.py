import asyncio

import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import ConfigError, ProviderError
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.lite import LiteProvider


def test_timeouts_are_retried_a_bounded_number_of_times_then_named():
    provider = LiteProvider("/nonexistent", "testnet", retries=2, backoff=0)
    attempts = []

    async def never():
        attempts.append(1)
        raise asyncio.TimeoutError()

    with pytest.raises(ProviderError, match="no liteserver of testnet answered raw_get_account_state after 3"):
        asyncio.run(provider._retry("raw_get_account_state", never))
    assert len(attempts) == 3


def test_not_ready_answers_are_retried_until_success():
    provider = LiteProvider("/nonexistent", "mainnet", retries=3, backoff=0)
    answers = iter([Exception("block is not ready"), Exception("timeout"), "ok"])

    async def flaky():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert asyncio.run(provider._retry("run_get_method", flaky)) == "ok"


def test_other_errors_fail_at_once():
    provider = LiteProvider("/nonexistent", "mainnet", retries=3, backoff=0)
    attempts = []

    async def broken():
        attempts.append(1)
        raise ValueError("bad request")

    with pytest.raises(ProviderError, match="raw_send_message on mainnet failed"):
        asyncio.run(provider._retry("raw_send_message", broken))
    assert len(attempts) == 1


def test_missing_global_config_is_named(tmp_path):
    provider = LiteProvider(str(tmp_path / "global.json"), "testnet")
    with pytest.raises(ConfigError, match="global.json for testnet is unreadable"):
        asyncio.run(provider.start_up())


def test_global_config_without_liteservers_is_refused(tmp_path):
    path = tmp_path / "global.json"
    path.write_text('{"liteservers": []}')
    with pytest.raises(ConfigError, match="lists no liteservers"):
        asyncio.run(LiteProvider(str(path), "testnet").start_up())
