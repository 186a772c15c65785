#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_backup_info
short_description: List the backups in a store with their verification status
description:
  - Reads the manifests of a backup store, newest first, so an operator can pick a backup id to restore.
  - Reads only the store; it never connects to a database.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.postgres.STORE
  - tonsurance.deploy.attributes
options:
  database:
    description: Only backups of this database.
    type: str
  backup_id:
    description: Only this backup, with its row counts.
    type: str
  limit:
    description: At most this many backups, newest first.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: List the newest mainnet backups
  tonsurance.deploy.pg_backup_info:
    store: s3://tonsurance-mainnet-db-backups/postgres
    database: tonsurance
    limit: 5
  register: found

- name: Show them
  ansible.builtin.debug:
    msg: "{{ found.backups | map(attribute='backup_id') }}"
"""

RETURN = r"""
backups:
  description: Backups, newest first, each the manifest without its row counts.
  returned: always
  type: list
  elements: dict
  sample:
    - backup_id: tonsurance-20261203T101500Z
      database: tonsurance
      created_at: "2026-12-03T10:15:00+00:00"
      size_bytes: 48213377
      sha256: 0c2f6a8e4b1d3f5a7c9e0b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a
      verified: true
      verification_status: passed
      tables: 9
      rows: 1000061
latest_verified:
  description: Id of the newest verified backup among those listed, if any.
  returned: always
  type: str
  sample: tonsurance-20261203T101500Z
row_counts:
  description: Rows per table of the backup named by O(backup_id).
  returned: when O(backup_id) is set
  type: dict
  sample: {public.policies: 1000000, public.tranches: 6}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, stores


def main():
    module = AnsibleModule(
        argument_spec=common.spec(
            common.STORE_ARGS,
            database=dict(type="str"),
            backup_id=dict(type="str"),
            limit=dict(type="int", default=20),
        ),
        supports_check_mode=True,
    )
    common.require_libs(module)
    params = module.params

    result = dict(changed=False, backups=[], latest_verified=None)
    try:
        store = stores.open_store(params["store"], params)
        if params["backup_id"]:
            manifests = [backups.load_manifest(store, params["backup_id"])]
            result["row_counts"] = manifests[0].get("row_counts") or {}
        else:
            ids = list(reversed(backups.backup_ids(store, params["database"])))[: max(params["limit"], 0)]
            manifests = [m for m in (store.get_json(backups.manifest_key(i)) for i in ids) if m]
    except common.PgError as exc:
        common.fail(module, exc, **result)

    result["backups"] = [backups.summary(m) for m in manifests]
    verified = [m["backup_id"] for m in manifests if backups.is_verified(m)]
    result["latest_verified"] = verified[0] if verified else None
    module.exit_json(**result)


if __name__ == "__main__":
    main()
