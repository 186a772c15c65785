#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ton_contract_info
short_description: Read a TON account's status, balance, code hash and get-method results
description:
  - Read-only. Reports the account status, balance and code hash, and runs the named get-methods.
  - Integers come back as integers, addresses as raw and network-form strings, cells as their hash.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.provider
  - tonsurance.deploy.attributes
options:
  address:
    description: Account address, raw (C(0:<hex>)) or user-friendly.
    type: str
    required: true
  get_methods:
    description: Get-methods to run, each with a name and optional integer arguments.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Get-method name.
        type: str
        required: true
      args:
        description: Integer arguments, pushed in order.
        type: list
        elements: int
        default: []
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the oracle's admin and a quote
  tonsurance.deploy.ton_contract_info:
    network: local
    sandbox_state: .state/local/chain.json
    address: "{{ oracle_address }}"
    get_methods:
      - name: get_admin
      - name: get_premium_quote
        args: [1, 0, 0, 1000000000, 30]
"""

RETURN = r"""
status:
  description: C(active), C(uninit), C(frozen) or C(nonexist).
  returned: always
  type: str
  sample: active
balance_nanoton:
  description: Account balance.
  returned: always
  type: int
  sample: 48123456
code_hash:
  description: Hash of the account's code, when active.
  returned: always
  type: str
  sample: 5e2f3a0b9c1d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccdd
values:
  description: Stack of each get-method, keyed by the method name (and arguments, when given).
  returned: always
  type: dict
  sample:
    get_admin: [{address: "0:6f5bc67986e06430961d9df00433926a4cd92e597ddd8aa6043645ac20bd1782"}]
    get_premium_quote(1,0,0,1000000000,30): [1972602, 394520, 2367122]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import common

if not common.IMPORT_ERROR:
    from pytoniq_core import Cell, Slice

    from ansible_collections.tonsurance.deploy.plugins.module_utils._ton import addresses, deploy


def plain(value, network):
    """Make a stack entry JSON-friendly without losing what an operator compares."""
    if isinstance(value, (Cell, Slice)):
        cell = value if isinstance(value, Cell) else value.to_cell()
        if isinstance(value, Slice):
            try:
                address = value.preload_address()
            except Exception:
                address = None
            if address is not None:
                return {"address": addresses.raw(address), "friendly": addresses.friendly(address, network)}
        return {"cell_hash": cell.hash.hex()}
    if isinstance(value, list):
        return [plain(v, network) for v in value]
    if value is None or isinstance(value, (int, str, bool)):
        return value
    return str(value)


def main():
    spec = dict(common.PROVIDER_ARGS)
    spec.update(
        address=dict(type="str", required=True),
        get_methods=dict(
            type="list", elements="dict", default=[],
            options=dict(name=dict(type="str", required=True), args=dict(type="list", elements="int", default=[])),
        ),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    try:
        address = addresses.parse(params["address"], "address")
    except common.TonError as exc:
        module.fail_json(msg=str(exc))
    for call in params["get_methods"]:
        for arg in call["args"]:
            # TVM integers are signed 257-bit.
            if not -(1 << 256) <= arg < (1 << 256):
                module.fail_json(msg=f"argument {arg} of {call['name']} does not fit a TVM integer")

    async def work(provider):
        state = await deploy.observe(provider, address)
        results = {}
        for call in params["get_methods"]:
            key = call["name"] + (f"({','.join(str(a) for a in call['args'])})" if call["args"] else "")
            stack = await provider.run_get_method(address, call["name"], list(call["args"]))
            results[key] = [plain(v, params["network"]) for v in stack]
        return state, results

    state, results = common.run(module, work)

    module.exit_json(
        changed=False,
        status=state["status"],
        balance_nanoton=state["balance_nanoton"],
        code_hash=state["code_hash"],
        address=addresses.friendly(address, params["network"]),
        values=results,
    )


if __name__ == "__main__":
    main()
