#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_backup_verify
short_description: Prove a backup by restoring it into a scratch database and comparing row counts
description:
  - Reads the backup object end to end and checks its sha256 and size against the manifest, that the gzip
    stream is whole and that the dump ran to its end (pg_dump's completion marker).
  - Meanwhile restores it with C(psql) in one transaction into a new scratch database on the same server,
    which commits only when every check above passed; then compares the row count of every table with
    the manifest, and drops the scratch database.
  - Records the outcome in the backup's manifest. Only a backup that passed can be restored by
    M(tonsurance.deploy.pg_restore).
  - A backup that already passed is not verified again unless O(reverify) is set.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.postgres
  - tonsurance.deploy.postgres.STORE
  - tonsurance.deploy.attributes
options:
  backup_id:
    description: Backup to verify. Default is the newest backup of O(database) in the store.
    type: str
  reverify:
    description: Verify again even when the backup already passed.
    type: bool
    default: false
  keep_scratch:
    description: Leave the scratch database in place for inspection (it is named in the result).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details:
      - Reports which backup would be verified; restores nothing and records nothing.
  diff_mode:
    support: none
notes:
  - The login role needs C(CREATEDB) to create the scratch database, and the server room for one more copy
    of the data while it exists.
  - Extensions used by the backed-up database must be installable by the login role on this server.
  - A scratch database left by a killed run (C(<database>_verify_<hex>)) is not cleaned up automatically.
"""

EXAMPLES = r"""
- name: Show which backup would be verified
  tonsurance.deploy.pg_backup_verify:
    login_host: /srv/tonsurance/.state/local/pg
    login_user: tonsurance
    login_password: "{{ db_password }}"
    database: tonsurance
    store: file:///srv/tonsurance/.state/local/backups
  check_mode: true

- name: Verify the backup just taken
  tonsurance.deploy.pg_backup_verify:
    login_host: tonsurance-mainnet.cluster-abc123.eu-central-1.rds.amazonaws.com
    login_user: tonsurance
    login_password: "{{ db_password }}"
    ssl_mode: verify-full
    database: tonsurance
    store: s3://tonsurance-mainnet-db-backups/postgres
    backup_id: "{{ backup.backup_id }}"
"""

RETURN = r"""
backup_id:
  description: The backup verified (or that would be).
  returned: always
  type: str
  sample: tonsurance-20261203T101500Z
verified:
  description: True when the backup passed, now or earlier.
  returned: always
  type: bool
  sample: true
verification:
  description: The verification recorded in the manifest.
  returned: when the backup was verified now or earlier
  type: dict
  sample:
    status: passed
    at: "2026-12-03T10:16:12+00:00"
    by: deploy@awx-1
    duration_s: 41.7
    scratch_database: tonsurance_verify_5f3a9c1e
    checks: {checksum: true, gzip_complete: true, dump_complete: true, restored: true, row_counts: true}
    problems: []
    tables: 9
    rows: 1000061
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, errors, stores


def argument_spec():
    return common.spec(
        common.CONNECTION_ARGS, common.STORE_ARGS,
        backup_id=dict(type="str"),
        reverify=dict(type="bool", default=False),
        keep_scratch=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    target = common.Target(params)
    result = dict(changed=False, backup_id=params["backup_id"], verified=False)
    try:
        store = stores.open_store(params["store"], params)
        if params["backup_id"]:
            manifest = backups.load_manifest(store, params["backup_id"])
        else:
            manifest = backups.latest(store, target.database)
            if manifest is None:
                raise errors.BackupNotFoundError(f"no backup of {target.database} in {store.url}")
        result["backup_id"] = manifest["backup_id"]

        if backups.is_verified(manifest) and not params["reverify"]:
            result.update(verified=True, verification=manifest["verification"])
            module.exit_json(**result)
        if module.check_mode:
            result.update(changed=True)
            module.exit_json(**result)
        manifest = backups.verify_backup(target, store, manifest, keep_scratch=params["keep_scratch"])
    except errors.VerifyError as exc:
        latest = store.get_json(backups.manifest_key(result["backup_id"])) if result["backup_id"] else None
        result.update(changed=True, verification=(latest or {}).get("verification"))
        common.fail(module, exc, **result)
    except common.PgError as exc:
        common.fail(module, exc, **result)

    result.update(changed=True, verified=True, verification=manifest["verification"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
