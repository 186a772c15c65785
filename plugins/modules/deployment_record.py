#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: deployment_record
short_description: Write the deployment record of a run and keep the previous one
description:
  - Writes C(<directory>/<network>-<YYYYMMDD>.json) with the contracts (addresses in the network's
    own form, code hashes, deploying transactions, fees), the git commit and any extra sections.
  - When the content is unchanged apart from its timestamp, the file is left alone and the task
    reports no change.
  - When a different record already has that name, it is kept as C(<network>-<YYYYMMDD>.<HHMMSS>.json),
    after the time it was generated, before the new one is written, and the latest record before this run is named in C(previous).
  - Sections of the latest record that this run does not give (for example the C(backend) section
    written by the backend role) are carried forward. Without O(contracts), the contracts of the latest
    record are kept and only the O(extra) sections are written.
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
    description: Network of the run.
    type: str
    required: true
  contracts:
    description:
      - Contract entries, each with at least C(label) and C(address).
      - When omitted, the contracts of the latest record of the network are kept; there must be one.
    type: list
    elements: dict
  extra:
    description:
      - Further sections of the record (image tags, migration versions); each replaces the section of that name.
    type: dict
    default: {}
  commit:
    description: Git commit of the collection that ran.
    type: str
    default: unknown
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Records hold addresses and hashes only; secrets never reach them.
"""

EXAMPLES = r"""
- name: Record the local deployment
  tonsurance.deploy.deployment_record:
    directory: "{{ playbook_dir }}/../deployments"
    network: local
    contracts: "{{ contracts_deployed }}"
    commit: "{{ lookup('ansible.builtin.pipe', 'git rev-parse HEAD') }}"
"""

RETURN = r"""
path:
  description: Path of the record.
  returned: always
  type: str
  sample: deployments/testnet-20261203.json
previous:
  description: The latest earlier record of this network (another day's, or today's replaced one), if any.
  returned: always
  type: str
  sample: deployments/testnet-20261120.json
contract_count:
  description: Number of contracts in the record.
  returned: always
  type: int
  sample: 266
"""

import datetime
import glob
import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

VOLATILE = ("generated_at",)
# Sections this module writes itself; any other section of the latest record belongs to another role.
OWN_SECTIONS = ("network", "generated_at", "commit", "contracts", "contract_count")
RESERVED = set(OWN_SECTIONS)
# What a record keeps of each contract; run-dependent fields (action, balances) stay out so that an
# unchanged deployment yields an unchanged record.
ENTRY_KEYS = ("label", "contract", "address", "address_raw", "code_hash")
DEPLOY_KEYS = ("transaction", "fees_nanoton", "spent_nanoton", "value_nanoton")


def entry_of(raw, known):
    entry = {k: raw[k] for k in ENTRY_KEYS if k in raw}
    if raw.get("transaction"):
        entry.update({k: raw[k] for k in DEPLOY_KEYS if k in raw})
    else:
        # Deployed by an earlier run: carry its deploy facts forward from the records that saw it.
        earlier = known.get((raw.get("address_raw"), raw.get("code_hash")))
        if earlier:
            entry.update({k: earlier[k] for k in DEPLOY_KEYS if k in earlier})
    return entry


def known_entries(paths):
    known = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            continue
        for entry in document.get("contracts", []):
            if entry.get("transaction"):
                known[(entry.get("address_raw"), entry.get("code_hash"))] = entry
    return known


def comparable(document):
    return {k: v for k, v in (document or {}).items() if k not in VOLATILE}


def write_atomic(path, document):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".record-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def generated_time(record, fallback):
    """When the record says it was generated; fallback when it does not say, or not readably."""
    try:
        return datetime.datetime.fromisoformat(str(record.get("generated_at")))
    except ValueError:
        return fallback


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directory=dict(type="path", required=True),
            network=dict(type="str", required=True),
            contracts=dict(type="list", elements="dict"),
            extra=dict(type="dict", default={}),
            commit=dict(type="str", default="unknown"),
        ),
        supports_check_mode=True,
    )
    params = module.params

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", params["network"] or ""):
        module.fail_json(msg=f"network {params['network']!r} is not a plain name (lower-case letters, digits, - and _)")
    reserved = sorted(set(params["extra"]) & RESERVED)
    if reserved:
        module.fail_json(msg=f"extra sections may not replace {', '.join(reserved)}")
    if os.path.exists(params["directory"]) and not os.path.isdir(params["directory"]):
        module.fail_json(msg=f"record directory {params['directory']} exists and is not a directory")
    for index, entry in enumerate(params["contracts"] or []):
        if not entry.get("label") or not entry.get("address"):
            module.fail_json(msg=f"deployment record entry {index} lacks a label or an address")
        entry["label"] = str(entry["label"])

    now = datetime.datetime.now(datetime.timezone.utc)
    params["directory"] = os.path.normpath(params["directory"])
    path = os.path.join(params["directory"], f"{params['network']}-{now:%Y%m%d}.json")
    pattern = os.path.join(params["directory"], f"{params['network']}-*.json")
    earlier = sorted(p for p in glob.glob(pattern) if os.path.abspath(p) != os.path.abspath(path))
    current = None
    if os.path.isdir(path):
        module.fail_json(msg=f"record path {path} is a directory")
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as handle:
                current = json.load(handle)
        except (OSError, ValueError):
            current = {"unreadable": True}
    previous = earlier[-1] if earlier else None

    latest = current
    if latest is None and earlier:
        try:
            with open(earlier[-1], encoding="utf-8") as handle:
                latest = json.load(handle)
        except (OSError, ValueError):
            latest = None
    raw_contracts = params["contracts"]
    if raw_contracts is None:
        if not latest or not latest.get("contracts"):
            module.fail_json(msg=f"no deployment record of {params['network']} in {params['directory']} to add "
                                 f"sections to; deploy the contracts first")
        raw_contracts = latest["contracts"]

    known = known_entries(earlier + ([path] if current else []))
    entries = [entry_of(raw, known) for raw in raw_contracts]
    document = {
        "network": params["network"],
        "generated_at": now.isoformat(timespec="seconds"),
        "commit": params["commit"],
        "contracts": sorted(entries, key=lambda c: c["label"]),
        "contract_count": len(raw_contracts),
    }
    document.update({k: v for k, v in (latest or {}).items() if k not in OWN_SECTIONS and k != "unreadable"})
    document.update(params["extra"])

    changed = comparable(current) != comparable(document)
    if changed and not module.check_mode:
        os.makedirs(params["directory"], exist_ok=True)
        if current is not None:
            stamp = f"{now:%Y%m%d}.{generated_time(current, now):%H%M%S}"
            kept = os.path.join(params["directory"], f"{params['network']}-{stamp}.json")
            serial = 1
            while os.path.exists(kept):
                # Two records generated within a second keep both, never one over the other.
                kept = os.path.join(params["directory"], f"{params['network']}-{stamp}-{serial}.json")
                serial += 1
            os.replace(path, kept)
            previous = kept
        write_atomic(path, document)

    result = dict(changed=changed, path=path, previous=previous, contract_count=len(raw_contracts))
    if module._diff and changed:
        result["diff"] = dict(
            before=json.dumps(comparable(current), indent=2, sort_keys=True) + "\n" if current else "",
            after=json.dumps(comparable(document), indent=2, sort_keys=True) + "\n",
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
