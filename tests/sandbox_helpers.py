"""Python-level access to a sandbox chain for tests: funded wallets, deploys, raw messages."""

import os

from pytoniq_core import begin_cell
from pytoniq_core.crypto.keys import mnemonic_new

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, deploy, protocol
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.deployer import Deployer, OutMessage
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.sandbox import SandboxChain

from conftest import ARTIFACTS

TON = 10**9


async def funded_wallet(chain, amount=10_000 * TON, version="v5r1"):
    wallet = await Deployer(chain, " ".join(mnemonic_new(24)), version, "local", poll_interval=0).open()
    chain.credit(wallet.address, amount)
    await wallet.activate(10)
    return wallet


def open_chain(path):
    return SandboxChain(os.path.join(path, "chain.json")).open()


async def deploy_one(chain, wallet, name, init, label=None, amount=50_000_000):
    target = protocol.build(ARTIFACTS, name, init, label)
    await deploy.ensure(chain, wallet, [target], network="local", amount_nanoton=amount, batch_size=1,
                        wait_timeout=10, check_mode=False)
    return target


async def send_body(wallet, dest, body, value=100_000_000):
    """Send one internal message and return the destination's data hash before and after."""
    await wallet.send([OutMessage(dest, value, body=body)], 10)


async def data_hash(chain, address):
    account, _last_tx = await chain.raw_get_account_state(address)
    return account.storage.state.state_init.data.hash.hex()


def raw(address):
    return addresses.raw(address)


def op(code, query_id=0):
    return begin_cell().store_uint(code, 32).store_uint(query_id, 64)
