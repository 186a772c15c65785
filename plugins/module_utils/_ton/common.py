"""Options and connection code shared by every chain module (the module edge stays thin)."""

import asyncio
import os
import traceback

IMPORT_ERROR = None
try:
    # The helpers below import these under a guard (see deployer.py); the absence shows here.
    import pytoniq  # noqa: F401 pylint: disable=unused-import
    import pytvm  # noqa: F401 pylint: disable=unused-import
    from .deployer import Deployer
    from .errors import ConfigError, TonError
    from .lite import LiteProvider
    from .sandbox import SandboxChain
except ImportError:  # the controller's Python lacks pytoniq or pytvm
    IMPORT_ERROR = traceback.format_exc()
    TonError = Exception
    ConfigError = Exception

PROVIDER_ARGS = dict(
    network=dict(type="str", required=True, choices=["local", "testnet", "mainnet"]),
    provider=dict(type="str", default="sandbox", choices=["sandbox", "lite"]),
    sandbox_state=dict(type="path"),
    lite_config=dict(type="path"),
    wait_timeout=dict(type="int", default=120),
)

DEPLOYER_ARGS = dict(
    deployer_mnemonic=dict(type="str", no_log=True),
    deployer_wallet=dict(type="str", default="v5r1", choices=["v4r2", "v5r1", "highload_v3"]),
    artifacts_dir=dict(type="path", required=True),
    amount_nanoton=dict(type="int", default=50_000_000),
)


def require_libs(module):
    if IMPORT_ERROR:
        module.fail_json(
            msg="the tonsurance.deploy chain modules need pytoniq, pytoniq-core and pytvm on the module's Python",
            exception=IMPORT_ERROR,
        )


def make_provider(params):
    if params["provider"] == "sandbox":
        if params["network"] == "mainnet":
            raise ConfigError("the sandbox provider cannot stand in for mainnet")
        if not params.get("sandbox_state"):
            raise ConfigError("provider sandbox needs sandbox_state (the chain state file)")
        if not os.path.isfile(params["sandbox_state"]):
            raise ConfigError(
                f"sandbox state {params['sandbox_state']} does not exist; tonsurance.deploy.ton_sandbox creates it")
        return SandboxChain(params["sandbox_state"])
    if not params.get("lite_config"):
        raise ConfigError(f"provider lite on {params['network']} needs lite_config (a global-config file path)")
    if not os.path.isfile(params["lite_config"]):
        raise ConfigError(f"lite_config {params['lite_config']} for {params['network']} does not exist")
    return LiteProvider(params["lite_config"], params["network"])


# Deployers made in this process, so a failure after a send can still say that something changed.
_DEPLOYERS = []


def make_deployer(provider, params):
    if not params.get("deployer_mnemonic"):
        raise ConfigError("deployer_mnemonic is required to send anything")
    deployer = Deployer(provider, params["deployer_mnemonic"], params["deployer_wallet"], params["network"],
                        poll_interval=0.5)
    _DEPLOYERS.append(deployer)
    return deployer


def messages_sent():
    return sum(d.externals for d in _DEPLOYERS)


def run(module, work):
    """Open the provider, run the coroutine factory `work(provider)`, close, turn errors into failures."""
    params = module.params
    try:
        provider = make_provider(params)
    except TonError as exc:
        module.fail_json(msg=str(exc))

    async def main():
        if isinstance(provider, SandboxChain):
            provider.open()
        try:
            await provider.start_up()
            return await work(provider)
        finally:
            await provider.close_all()
            if isinstance(provider, SandboxChain):
                provider.close()

    try:
        return asyncio.run(main())
    except TonError as exc:
        sent = messages_sent()
        # A failure after a send still changed the chain: say so, and how much was sent.
        module.fail_json(msg=str(exc), changed=sent > 0, messages_sent=sent)
