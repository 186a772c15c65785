#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_migrate
short_description: Apply the schema migrations of a directory exactly once, never half
description:
  - Applies C(NNN_name.sql) files of O(migrations_dir) in version order and records each in a ledger
    table (version, name, checksum, applied_at, applied_by, duration).
  - Each file runs in its own transaction together with its ledger row, or, with O(transaction=all), every
    pending file runs in one transaction. A failing file is rolled back, the ledger keeps no row for it,
    and the failure names the file and the line.
  - A file whose first line is C(-- tonsurance:no-transaction) runs statement by statement outside any
    transaction, for statements such as C(CREATE INDEX CONCURRENTLY). It is recorded once all its
    statements succeeded.
  - The checksum is the sha256 of the file's text without a byte-order mark and without carriage returns,
    so the same file checked out with CRLF endings keeps its checksum. An applied file whose text changed
    is refused, with both checksums, before anything runs.
  - A PostgreSQL advisory lock (per database and ledger table) keeps two runs from migrating at once; the
    later run waits for the lock, then finds nothing pending.
  - After migrating, O(verify_queries) run in a read-only transaction and must each return true.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.postgres
  - tonsurance.deploy.attributes
options:
  migrations_dir:
    description: Directory of the C(NNN_name.sql) files. Other C(.sql) names are refused; other files are ignored.
    type: path
    required: true
  transaction:
    description:
      - V(per_file) commits each file with its ledger row.
      - V(all) applies every pending file in one transaction, so a run applies all of them or none. It cannot
        include files marked no-transaction.
    type: str
    default: per_file
    choices: [per_file, all]
  target_version:
    description: Apply pending files up to this version only. Lower than the applied version fails; nothing is reverted.
    type: int
  ledger_schema:
    description: Schema of the ledger table.
    type: str
    default: public
  ledger_table:
    description: Name of the ledger table, created by the first run that applies something.
    type: str
    default: tonsurance_migrations
  lock_timeout:
    description: Seconds to wait for another migrator's advisory lock before failing.
    type: int
    default: 300
  applied_by:
    description: Who applies, recorded in the ledger. Default is the operating-system user and host of the run.
    type: str
  allow_unknown_applied:
    description: Proceed when the ledger holds versions that have no file (a checkout older than the database).
    type: bool
    default: false
  verify_queries:
    description:
      - Queries run after migrating (and in check mode when nothing is pending). Each must return one row
        whose first column is true.
      - Each entry has C(name), C(query) and optionally C(min_version), the version the database must have
        reached for the query to apply.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    details:
      - Reads the ledger, checks every checksum and lists what is pending; runs no migration and creates no ledger.
  diff_mode:
    support: full
notes:
  - Files hold plain SQL. psql meta-commands and C(COPY ... FROM stdin) are not supported, and files must not
    contain C(BEGIN)/C(COMMIT); the migrator manages transactions.
  - A no-transaction file that fails midway leaves its earlier statements applied (PostgreSQL cannot roll
    them back) and is not recorded; write such files so they can run again (C(IF NOT EXISTS)). A failed
    C(CREATE INDEX CONCURRENTLY) leaves an invalid index to drop before the next run.
  - Migrations are never reverted; a mistake is fixed by a new migration or a restore.
"""

EXAMPLES = r"""
- name: List pending migrations without applying them
  tonsurance.deploy.pg_migrate:
    login_host: /srv/tonsurance/.state/local/pg
    login_user: tonsurance
    login_password: "{{ lookup('tonsurance.deploy.secret', 'database_password', store='.state/local/secrets.json') }}"
    database: tonsurance
    migrations_dir: "{{ playbook_dir }}/../migrations"
  check_mode: true
  register: plan

- name: Apply every pending migration in one transaction, then prove the schema
  tonsurance.deploy.pg_migrate:
    login_host: tonsurance-mainnet.cluster-abc123.eu-central-1.rds.amazonaws.com
    login_user: tonsurance
    login_password: "{{ db_password }}"
    ssl_mode: verify-full
    database: tonsurance
    migrations_dir: "{{ playbook_dir }}/../migrations"
    transaction: all
    verify_queries:
      - name: six tranches seeded
        query: SELECT count(*) = 6 FROM tranches
      - name: oracle updates table present
        query: SELECT to_regclass('public.pricing_oracle_updates') IS NOT NULL
        min_version: 4
"""

RETURN = r"""
pending:
  description: Migrations that were pending before this run (in check mode, what a run would apply).
  returned: always
  type: list
  elements: dict
  sample: [{version: 4, name: add_dynamic_pricing, file: 004_add_dynamic_pricing.sql, transactional: true,
            checksum: 9b1f0c4e2d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c}]
applied:
  description: Migrations applied by this run, with their duration in milliseconds and statement count.
  returned: always
  type: list
  elements: dict
  sample: [{version: 4, name: add_dynamic_pricing, file: 004_add_dynamic_pricing.sql, duration_ms: 41,
            statements: 9, transactional: true,
            checksum: 9b1f0c4e2d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c}]
current_version:
  description: Highest applied version after the run (0 when nothing is applied).
  returned: always
  type: int
  sample: 4
ledger:
  description: Ledger rows after the run.
  returned: always
  type: list
  elements: dict
  sample: [{version: 1, name: initial_schema, applied_by: "deploy@awx-1", duration_ms: 37,
            applied_at: "2026-12-03T10:15:02.114+00:00",
            checksum: 3e7a9d1c5b2f4a6e8d0c1b3a5f7e9d2c4b6a8f0e1d3c5b7a9f2e4d6c8b0a1f3e}]
lock_waited_s:
  description: Seconds spent waiting for another migrator's lock.
  returned: when not in check mode
  type: float
  sample: 0.0
notices:
  description: Server notices raised by the migrations (for example which tables became hypertables).
  returned: always
  type: list
  elements: str
  sample: ["NOTICE: blockchain_events stays a plain table: timescaledb is not available"]
verification:
  description: Outcome of each verification query.
  returned: always
  type: list
  elements: dict
  sample: [{name: six tranches seeded, passed: true}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import backups, migrations


def argument_spec():
    return common.spec(
        common.CONNECTION_ARGS,
        migrations_dir=dict(type="path", required=True),
        transaction=dict(type="str", default="per_file", choices=["per_file", "all"]),
        target_version=dict(type="int"),
        ledger_schema=dict(type="str", default="public"),
        ledger_table=dict(type="str", default="tonsurance_migrations"),
        lock_timeout=dict(type="int", default=300),
        applied_by=dict(type="str"),
        allow_unknown_applied=dict(type="bool", default=False),
        verify_queries=dict(type="list", elements="dict", default=[]),
    )


def ledger_lines(rows):
    return "".join(f"{r['version']:04d} {r['name']} {r['checksum']}\n" for r in rows)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    common.require_libs(module)
    params = module.params

    for index, entry in enumerate(params["verify_queries"]):
        if not entry.get("query"):
            module.fail_json(msg=f"verify_queries entry {index} has no query")

    target = common.Target(params)
    ledger = migrations.Ledger(params["ledger_schema"], params["ledger_table"])
    notices = []
    migrator = migrations.Migrator(
        target, ledger, params["applied_by"] or backups.operator(), lock_timeout=params["lock_timeout"],
        transaction=params["transaction"], notices=notices)
    result = dict(changed=False, pending=[], applied=[], ledger=[], notices=notices, verification=[],
                  current_version=0)

    try:
        found = migrations.discover(params["migrations_dir"])
        before, pending, applied, after = migrator.migrate(
            found, params["target_version"], params["allow_unknown_applied"], module.check_mode)
    except migrations.MigrationFailedError as exc:
        result.update(failed_file=exc.filename, failed_line=exc.line, applied_before=exc.applied_before)
        common.fail(module, exc, **result)
    except common.PgError as exc:
        common.fail(module, exc, **result)

    result.update(
        changed=bool(pending) if module.check_mode else before != after,
        pending=[m.summary() for m in pending], applied=applied, ledger=after,
        current_version=max([r["version"] for r in after] or [0]),
    )
    if not module.check_mode:
        result["lock_waited_s"] = migrator.lock_waited

    if not module.check_mode or not pending:
        try:
            result["verification"] = migrator.verify(params["verify_queries"], result["current_version"])
        except common.PgError as exc:
            common.fail(module, exc, **result)

    if module._diff:
        planned = after if not module.check_mode else before + [
            dict(version=m.version, name=m.name, checksum=m.checksum) for m in pending]
        result["diff"] = dict(before=ledger_lines(before), after=ledger_lines(planned),
                              before_header=f"{ledger.name} (before)", after_header=f"{ledger.name} (after)")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
