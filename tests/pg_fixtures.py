"""Helpers for tests that start PostgreSQL servers: stop every server left under a directory."""

import glob
import os
import signal
import time


def stop_servers_under(root, timeout=30):
    """Fast-shut-down every PostgreSQL whose data directory lies under root (postmaster.pid names it)."""
    stopped = []
    for pid_file in glob.glob(os.path.join(str(root), "**", "postmaster.pid"), recursive=True):
        try:
            with open(pid_file, encoding="utf-8") as handle:
                pid = int(handle.readline().strip())
            os.kill(pid, signal.SIGINT)
        except (OSError, ValueError):
            continue
        stopped.append(pid)
    deadline = time.monotonic() + timeout
    for pid in stopped:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            if _zombie(pid):
                break
            time.sleep(0.1)
    return stopped


def _zombie(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(") ", 1)[1][:1] == "Z"
    except (OSError, IndexError):
        return False
