#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: deployment_record_info
short_description: Read the deployment records of a network
description:
  - Lists the records C(<network>-<YYYYMMDD>[.<HHMMSS>].json) in O(directory), newest first, with each one's
    age and the code hash of each kind of contract.
  - Returns the latest record and the one before it (the rollback target), each as a map from contract
    label to its entry.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.attributes
options:
  directory:
    description: Directory of the records.
    type: path
    required: true
  network:
    description: Network whose records to read.
    type: str
    required: true
  code_hashes:
    description:
      - Code hash of each kind of contract about to be deployed. With O(min_age_days), the module looks for a
        record at least that old whose code hashes are the same for every kind listed here.
    type: dict
    default: {}
  artifacts_dir:
    description:
      - Directory of compiled artifacts; their code hashes are used as O(code_hashes) when that is empty.
    type: path
  min_age_days:
    description: Age the matching record must have reached.
    type: float
    default: 0
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Read the testnet records
  tonsurance.deploy.deployment_record_info:
    directory: "{{ playbook_dir }}/../deployments"
    network: testnet
  register: testnet_records
"""

RETURN = r"""
records:
  description: Every record, newest first, with path, generated_at, age_days, commit and code hashes by contract kind.
  returned: always
  type: list
  elements: dict
  sample:
    - path: deployments/testnet-20261120.json
      generated_at: "2026-11-20T09:12:44+00:00"
      age_days: 13.3
      code_hashes: {PolicyShard: a3c8548a345375627bf9503dc862a3377c41f6bfa3f2e5acbb0eac37699def43}
latest:
  description: Entries of the newest record by label, with C(path), or an empty dict.
  returned: always
  type: dict
  sample: {path: deployments/testnet-20261203.json, contracts: {PolicyFactory: {address: kQAz0V-EcAXG6qNcnwsExZWDL3kXcTT8r7y-Kuf_kxBqlk-t}}}
previous:
  description:
    - The record before the newest whose contents differ from it, in the same shape, or an empty dict.
    - When the newest record was written by a rollback, the record that rollback went back to.
  returned: always
  type: dict
  sample: {}
soaked:
  description: Path of the oldest record old enough and running the same code as O(code_hashes), or null.
  returned: always
  type: str
  sample: deployments/testnet-20261120.json
"""

import datetime
import glob
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

NAME = re.compile(r"^(?P<network>[a-z0-9][a-z0-9_-]*)-(?P<day>\d{8})(\.(?P<time>\d{6})(-(?P<serial>\d+))?)?\.json$")


def load(path, now):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    generated = document.get("generated_at")
    try:
        when = datetime.datetime.fromisoformat(generated)
    except (TypeError, ValueError):
        when = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    hashes = {}
    for entry in document.get("contracts", []):
        hashes.setdefault(entry.get("contract") or entry.get("label"), entry.get("code_hash"))
    return {
        "path": path,
        "generated_at": when.isoformat(timespec="seconds"),
        "age_days": round((now - when).total_seconds() / 86400, 3),
        "commit": document.get("commit"),
        "code_hashes": hashes,
        "contracts": {e["label"]: e for e in document.get("contracts", []) if e.get("label")},
        "extra": {k: v for k, v in document.items()
                  if k not in ("network", "generated_at", "commit", "contracts", "contract_count")},
    }


def newness(record):
    """Sort key, oldest first. generated_at has whole seconds, so two writes in one second tie: the
    file named after the day alone is the newest of its day (the others are copies it replaced), and
    among copies of one second a higher serial was kept later."""
    match = NAME.match(os.path.basename(record["path"]))
    serial = match.group("serial") if match else None
    rank = 1 << 30 if match and match.group("time") is None else int(serial or 0)
    return record["generated_at"], rank


PRODUCT = ("PricingOracle", "TrancheToken", "MultiTrancheVault", "PolicyRouter", "PolicyShard", "PolicyFactory")


def artifact_hashes(module, directory):
    hashes = {}
    for name in PRODUCT:
        path = os.path.join(directory, f"{name}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                hashes[name] = json.load(handle)["code_hash_hex"]
        except (OSError, ValueError, KeyError) as exc:
            module.fail_json(msg=f"contract artifact {path} is unreadable: {exc}")
    return hashes


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", required=True),
            network=dict(type="str", required=True),
            code_hashes=dict(type="dict", default={}),
            artifacts_dir=dict(type="path"),
            min_age_days=dict(type="float", default=0),
        ),
        supports_check_mode=True,
    )
    params = module.params
    now = datetime.datetime.now(datetime.timezone.utc)

    records = []
    for path in glob.glob(os.path.join(params["directory"], f"{params['network']}-*.json")):
        match = NAME.match(os.path.basename(path))
        if not match or match.group("network") != params["network"]:
            continue
        try:
            records.append(load(path, now))
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"deployment record {path} is unreadable: {exc}")
    records.sort(key=newness, reverse=True)

    latest = records[0] if records else {}
    previous = {}
    # After a rollback the newest record says which record it went back to; that stays the target, so a
    # second rollback is a no-op instead of a step forward again.
    target = (latest.get("extra", {}).get("rollback") or {}).get("target") if latest else None
    for record in records[1:] if not target else []:
        if {k: v.get("address_raw") for k, v in record["contracts"].items()} != {
                k: v.get("address_raw") for k, v in latest["contracts"].items()} or record["extra"] != latest["extra"]:
            previous = record
            break

    if target:
        previous = next((r for r in records if os.path.abspath(r["path"]) == os.path.abspath(target)), {})
        if not previous:
            module.fail_json(msg=f"the latest {params['network']} record names rollback target {target}, which is gone")

    def shape(record):
        return {"path": record["path"], "contracts": record["contracts"], "extra": record["extra"]} if record else {}

    soaked = None
    if not params["code_hashes"] and params["artifacts_dir"]:
        params["code_hashes"] = artifact_hashes(module, params["artifacts_dir"])
    if params["code_hashes"]:
        for record in reversed(records):
            if record["age_days"] >= params["min_age_days"] and all(
                    record["code_hashes"].get(kind) == code for kind, code in params["code_hashes"].items()):
                soaked = record["path"]
                break

    module.exit_json(
        changed=False,
        soaked=soaked,
        records=[{k: v for k, v in r.items() if k not in ("contracts", "extra")} for r in records],
        latest=shape(latest),
        previous=shape(previous),
    )


if __name__ == "__main__":
    main()
