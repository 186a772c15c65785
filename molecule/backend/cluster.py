"""The stand-ins of the backend scenario: an API server, its controller, and the gate Prometheus.

    python cluster.py start DIR --namespace NS --service NAME... --version TAG...
    python cluster.py stop DIR

`start` launches one detached process that serves kmock's emulated Kubernetes API with the tests'
simulated Deployment controller (tests/backend_cluster.py) and runs a real Prometheus over healthy
HTTP series backfilled for every service and version given (tests/backend_metrics.py). It returns
once both answer, having written DIR/kubeconfig and DIR/cluster.json (the two URLs and the time the
gates are evaluated at). `stop` ends that process, which stops Prometheus first, and waits until
both are gone. Nothing outside molecule/ and tests/ knows about any of this.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests")
START_TIMEOUT = 120
STOP_TIMEOUT = 30


def paths(directory):
    return {
        "pid": os.path.join(directory, "cluster.pid"),
        "state": os.path.join(directory, "cluster.json"),
        "log": os.path.join(directory, "cluster.log"),
        "kubeconfig": os.path.join(directory, "kubeconfig"),
        "prometheus": os.path.join(directory, "prometheus"),
    }


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (state, parent, process group, ...), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid):
    """True while the process exists and is not a zombie waiting for a parent to reap it."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def read_pid(path):
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def write_json(path, document):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    os.replace(temporary, path)


def serve(args):
    """The detached process: both servers until SIGTERM, then Prometheus and the API server stopped."""
    sys.path.insert(0, TESTS)
    from backend_cluster import Cluster
    from backend_metrics import PrometheusServer

    where = paths(args.directory)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())

    os.makedirs(where["prometheus"], exist_ok=True)
    series = [(args.namespace, service, version, "healthy") for service in args.service for version in args.version]
    cluster = Cluster().start()
    prometheus = PrometheusServer(where["prometheus"], series)
    try:
        prometheus.start()
        cluster.kubeconfig(where["kubeconfig"])
        write_json(where["state"], {
            "api_url": cluster.url,
            "prometheus_url": prometheus.url,
            "prometheus_eval_time": prometheus.eval_time,
            "pid": os.getpid(),
            "prometheus_pid": prometheus.proc.pid,
        })
        print(f"serving {cluster.url} and Prometheus on {prometheus.url}", flush=True)
        stopping.wait()
    finally:
        prometheus.stop()
        cluster.stop()
        if os.path.exists(where["state"]):
            os.unlink(where["state"])
        print("stopped", flush=True)
    return 0


def start(args):
    where = paths(args.directory)
    os.makedirs(args.directory, exist_ok=True)
    running = read_pid(where["pid"])
    if running and alive(running):
        print(f"already running as process {running}; stop it first", file=sys.stderr)
        return 1
    for stale in (where["state"], where["pid"]):
        if os.path.exists(stale):
            os.unlink(stale)
    command = [sys.executable, os.path.abspath(__file__), "serve", args.directory, "--namespace", args.namespace]
    command += [item for service in args.service for item in ("--service", service)]
    command += [item for version in args.version for item in ("--version", version)]
    with open(where["log"], "ab") as log:
        # A session of its own: the servers outlive this command and the Ansible task that ran it, and
        # `stop` can end the process group as a whole should the orderly stop hang.
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True)
    with open(where["pid"], "w", encoding="ascii") as handle:
        handle.write(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if os.path.exists(where["state"]):
            with open(where["state"], encoding="utf-8") as handle:
                print(handle.read())
            return 0
        if process.poll() is not None:
            break
        time.sleep(0.2)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with open(where["log"], encoding="utf-8", errors="replace") as handle:
        print(f"the stand-in cluster did not start; its log ends:\n{handle.read()[-3000:]}", file=sys.stderr)
    return 1


def group_members(pgid):
    """Live processes of the process group pgid (the detached process and what it started)."""
    members = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        fields = stat_fields(entry)
        if fields is not None and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def stop(args):
    """End the detached process, then whatever of its group outlived it (its Prometheus, should it
    have been killed without the chance to stop it)."""
    where = paths(args.directory)
    pid = read_pid(where["pid"])
    if pid is None:
        print("not running")
        return 0
    was_running = alive(pid)
    if was_running:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    orphans = group_members(pid)
    if orphans:
        signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while group_members(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The orderly stop hung: end the whole session.
        signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    left = group_members(pid)
    if left:
        print(f"processes {left} of {args.directory} outlived SIGKILL", file=sys.stderr)
        return 1
    os.unlink(where["pid"])
    print("stopped" if was_running else f"not running; stopped {len(orphans)} process(es) it left behind")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["start", "stop", "serve"])
    parser.add_argument("directory", help="where the kubeconfig, the state file, the log and the TSDB go")
    parser.add_argument("--namespace", default="tonsurance-local", help="namespace label of the gate series")
    parser.add_argument("--service", action="append", default=[], help="a service with gate series")
    parser.add_argument("--version", action="append", default=[], help="a version with gate series")
    args = parser.parse_args(argv)
    args.directory = os.path.abspath(args.directory)
    return {"start": start, "stop": stop, "serve": serve}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
