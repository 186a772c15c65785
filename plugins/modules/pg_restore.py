#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_restore
short_description: Restore a verified backup over a database, after a safety backup of it
description:
  - Restores the backup O(backup_id) from O(store) into O(database), replacing it.
  - Refuses, before touching anything, a backup that has not passed
    M(tonsurance.deploy.pg_backup_verify), whose object is missing or has another size than its manifest,
    and any run whose O(confirm) is not the database name.
  - Restores into a new staging database first (one transaction, committed only when the stream's
    checksum and completeness check out) and compares every table's row count with the manifest. A
    corrupt or short backup therefore never reaches the database.
  - Then takes a safety backup of the current database into the same store (and verifies it), and swaps
    the staging database in by renaming both in one transaction. The replaced database is dropped unless
    O(keep_previous) is set.
  - Dumps carry no owners or privileges, so the restored objects belong to the login role (or O(owner));
    no role of the source server needs to exist.
  - The restored database is marked with the backup id; running the task again with the same id reports
    no change rather than destroying what was written since, unless O(force) is set.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.postgres
  - tonsurance.deploy.postgres.STORE
  - tonsurance.deploy.attributes
options:
  backup_id:
    description: Backup to restore (see M(tonsurance.deploy.pg_backup_info)).
    type: str
    required: true
  confirm:
    description: Must equal O(database). Pass it explicitly, for example C(-e confirm_restore=tonsurance).
    type: str
    required: true
  safety_backup:
    description: Back up the current database before replacing it.
    type: bool
    default: true
  safety_backup_verify:
    description: Verify the safety backup before replacing the database.
    type: bool
    default: true
  keep_previous:
    description: Keep the replaced database as C(<database>_before_<UTC time>) instead of dropping it.
    type: bool
    default: false
  terminate_sessions:
    description: Terminate other sessions on the database before the swap; otherwise open sessions fail the task.
    type: bool
    default: false
  force:
    description: Restore even when the database was already restored from this backup.
    type: bool
    default: false
  maintenance_db:
    description: Database to connect to while creating, renaming and dropping databases.
    type: str
    default: postgres
  owner:
    description: Role that owns the restored database and objects. Default is the login role.
    type: str
attributes:
  check_mode:
    support: full
    details:
      - Checks the backup's verification, its object and the confirmation, and reports what would be done.
  diff_mode:
    support: none
notes:
  - The login role needs C(CREATEDB), ownership of the database (to rename it), and room on the server for a
    second copy of the data during the restore.
  - Database-level settings (C(ALTER DATABASE ... SET)) and grants of the replaced database are not carried
    over to the restored one.
  - Clients connected to the database must be stopped first, or O(terminate_sessions) set.
"""

EXAMPLES = r"""
- name: Check that a backup could be restored
  tonsurance.deploy.pg_restore:
    login_host: /srv/tonsurance/.state/local/pg
    login_user: tonsurance
    login_password: "{{ db_password }}"
    database: tonsurance
    store: file:///srv/tonsurance/.state/local/backups
    backup_id: tonsurance-20261203T101500Z
    confirm: "{{ confirm_restore }}"
  check_mode: true

- name: Restore mainnet from a verified backup
  tonsurance.deploy.pg_restore:
    login_host: tonsurance-mainnet.cluster-abc123.eu-central-1.rds.amazonaws.com
    login_user: tonsurance
    login_password: "{{ db_password }}"
    ssl_mode: verify-full
    database: tonsurance
    store: s3://tonsurance-mainnet-db-backups/postgres
    backup_id: "{{ backup_id }}"
    confirm: "{{ confirm_restore }}"
    terminate_sessions: true
"""

RETURN = r"""
backup_id:
  description: The backup restored.
  returned: always
  type: str
  sample: tonsurance-20261203T101500Z
safety_backup_id:
  description: Backup of the database taken just before it was replaced.
  returned: when a safety backup was taken
  type: str
  sample: tonsurance-20261203T143002Z
previous_database:
  description: Name the replaced database had during the swap (kept only with O(keep_previous)).
  returned: when a database was replaced
  type: str
  sample: tonsurance_before_20261203143040
previous_kept:
  description: Whether the replaced database was kept.
  returned: when a database was replaced
  type: bool
  sample: false
row_counts:
  description: Rows per table of the database after the restore (or, when nothing was done, of the backup).
  returned: always
  type: dict
  sample: {public.policies: 1000000, public.tranches: 6}
already_restored:
  description: True when the database was already restored from this backup and nothing was done.
  returned: always
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, stores


def argument_spec():
    return common.spec(
        common.CONNECTION_ARGS, common.STORE_ARGS,
        backup_id=dict(type="str", required=True),
        confirm=dict(type="str", required=True, no_log=False),
        safety_backup=dict(type="bool", default=True),
        safety_backup_verify=dict(type="bool", default=True),
        keep_previous=dict(type="bool", default=False),
        terminate_sessions=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
        maintenance_db=dict(type="str", default="postgres"),
        owner=dict(type="str"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    target = common.Target(params)
    result = dict(changed=False, backup_id=params["backup_id"], already_restored=False)
    if params["confirm"] != target.database:
        module.fail_json(msg=f"restore of backup {params['backup_id']} over database {target.database} needs "
                             f"confirm set to {target.database}; nothing was touched", **result)

    try:
        store = stores.open_store(params["store"], params)
        manifest = backups.load_manifest(store, params["backup_id"])
        backups.check_restorable(store, manifest)
        restorer = backups.Restorer(target, store, params["maintenance_db"], params["owner"],
                                    params["terminate_sessions"], params["keep_previous"])
        before = restorer.observe()
        if before["restored_from"] == manifest["backup_id"] and not params["force"]:
            result.update(already_restored=True, row_counts=manifest["row_counts"])
            module.exit_json(**result)
        if module.check_mode:
            result.update(changed=True, row_counts=manifest["row_counts"],
                          would_take_safety_backup=before["exists"] and params["safety_backup"])
            module.exit_json(**result)

        staging = restorer.stage(manifest)
        try:
            if before["exists"] and params["safety_backup"]:
                safety = backups.create_backup(target, store, f"before-restore-of-{manifest['backup_id']}")
                result["safety_backup_id"] = safety["backup_id"]
                if params["safety_backup_verify"]:
                    backups.verify_backup(target, store, safety)
        except BaseException:
            restorer.discard(staging)
            raise
        outcome = restorer.swap(staging, manifest)
    except common.PgError as exc:
        common.fail(module, exc, **result)

    result.update(changed=True, previous_database=outcome["previous_database"],
                  previous_kept=outcome["previous_kept"], row_counts=outcome["row_counts"])
    if outcome["row_counts"] != manifest["row_counts"]:
        module.fail_json(msg=f"database {target.database} was restored from {manifest['backup_id']} but its row "
                             "counts differ from the backup's; something wrote to it during the swap", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
