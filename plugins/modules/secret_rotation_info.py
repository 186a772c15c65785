#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: secret_rotation_info
short_description: Report how old each secret is against the rotation schedule
description:
  - Reads when the value in use of each secret was written (AWS Secrets Manager, the creation date of the
    version the reference picks; Vault KV v2, the creation time of the current or chosen version) and
    compares its age with the limit of its kind.
  - The runbook's schedule is the default, in days - C(wallet) 30 (deployer and keeper mnemonics),
    C(database_password) 90, C(api_key) 90, C(encryption_key) 90. O(max_age_days) changes it per kind,
    a reference's own C(max_age_days) per secret.
  - Read-only. It reads metadata, never a secret value, so it also works for identities that may list
    dates but not read values.
version_added: 0.2.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.secrets
  - tonsurance.deploy.attributes
options:
  secrets:
    description:
      - References to check, as for P(tonsurance.deploy.secret#lookup) (C(backend), C(name) or C(path),
        C(mount_point), C(version), C(version_stage), C(version_id), connection overrides), each with
        a C(kind) or its own C(max_age_days), and a C(label) to name it in the report.
    type: list
    elements: dict
    required: true
  max_age_days:
    description: Rotation limits per kind, in days, over the runbook's defaults.
    type: dict
    default: {}
  warn_within_days:
    description: Report C(due_soon) when a secret falls due within this many days.
    type: int
    default: 7
  as_of:
    description:
      - Judge ages as of this date or date-time (ISO 8601, UTC unless it says otherwise) instead of now,
        for example the planned release day.
    type: str
  network:
    description: Network of the run; the local backend answers only when this is C(local).
    type: str
  store:
    description: Path of the local store file, for local references.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - The local backend keeps no change dates; its secrets are reported with status C(unknown).
  - An AWS secret whose versions cannot be listed falls back to the secret's last-changed date, which
    also moves when only its description or tags change.
  - Missing and denied secrets are reported, not failed; an authentication failure fails the task.
"""

EXAMPLES = r"""
- name: Report the age of the testnet secrets
  tonsurance.deploy.secret_rotation_info:
    secrets:
      - {label: deployer_mnemonic, backend: aws, name: tonsurance/testnet/deployer-mnemonic, kind: wallet}
      - {label: postgres, backend: vault, mount_point: secret, path: tonsurance/testnet/postgres,
         kind: database_password}
    aws_region: eu-west-1
    vault_url: https://vault.example.org:8200
  register: rotation

- name: Will anything be overdue on release day?
  tonsurance.deploy.secret_rotation_info:
    secrets:
      - {label: deployer_mnemonic, backend: aws, name: tonsurance/mainnet/deployer-mnemonic, kind: wallet}
    max_age_days:
      wallet: 21
    as_of: "2026-03-01"
  register: rotation
"""

RETURN = r"""
secrets:
  description: One entry per reference, in order.
  returned: always
  type: list
  elements: dict
  sample:
    - label: deployer_mnemonic
      secret: aws secret tonsurance/testnet/deployer-mnemonic
      backend: aws
      kind: wallet
      status: ok
      last_changed: "2026-01-05T09:30:00+00:00"
      date_source: version created
      age_days: 12.4
      max_age_days: 30.0
      due: "2026-02-04T09:30:00+00:00"
      reason: ""
overdue:
  description: Labels of the secrets older than their limit.
  returned: always
  type: list
  elements: str
  sample: [keeper_mnemonic]
due_soon:
  description: Labels of the secrets that fall due within O(warn_within_days).
  returned: always
  type: list
  elements: str
  sample: []
unreadable:
  description: Labels of the secrets whose age could not be read (missing, denied, or unknown).
  returned: always
  type: list
  elements: str
  sample: []
as_of:
  description: The time the ages were judged against.
  returned: always
  type: str
  sample: "2026-01-17T18:00:00+00:00"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import backends, reference, rotation
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.errors import (
    SecretDeniedError, SecretError, SecretNotFoundError)
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.options import CONNECTION_SPEC


def argument_spec():
    spec = dict(CONNECTION_SPEC)
    spec.update(
        secrets=dict(type="list", elements="dict", required=True, no_log=False),
        max_age_days=dict(type="dict", default={}),
        warn_within_days=dict(type="int", default=7),
        as_of=dict(type="str"),
        network=dict(type="str"),
        store=dict(type="path"),
    )
    return spec


def check_one(term, options, limits, as_of, warn_within_days):
    ref = reference.parse(term, options)
    limit = rotation.max_age(ref, limits)
    entry = dict(label=ref.label or ref.describe(), secret=ref.describe(), backend=ref.backend, kind=ref.kind,
                 max_age_days=limit, last_changed=None, date_source=None, age_days=None, due=None, reason="")
    try:
        changed_at, source = backends.last_changed(ref, options)
    except SecretNotFoundError as exc:
        entry.update(status="missing", reason=exc.why)
        return entry
    except SecretDeniedError as exc:
        entry.update(status="denied", reason=exc.why)
        return entry
    status, age, due = rotation.judge(changed_at, limit, as_of, warn_within_days)
    entry.update(status=status, date_source=source)
    if changed_at is not None:
        entry.update(last_changed=changed_at.isoformat(), age_days=round(age, 1), due=due.isoformat())
    else:
        entry["reason"] = source
    return entry


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params

    try:
        limits = rotation.limits(params["max_age_days"])
        as_of = rotation.parse_time(params["as_of"])
    except SecretError as exc:
        module.fail_json(msg=f"secret rotation: {exc}")

    report = []
    for term in params["secrets"]:
        try:
            report.append(check_one(term, params, limits, as_of, params["warn_within_days"]))
        except SecretError as exc:
            module.fail_json(msg=f"secret rotation: failed to check {exc}", secrets=report)

    module.exit_json(
        changed=False,
        secrets=report,
        overdue=[e["label"] for e in report if e["status"] == "overdue"],
        due_soon=[e["label"] for e in report if e["status"] == "due_soon"],
        unreadable=[e["label"] for e in report if e["status"] in ("missing", "denied", "unknown")],
        as_of=as_of.isoformat(),
    )


if __name__ == "__main__":
    main()
