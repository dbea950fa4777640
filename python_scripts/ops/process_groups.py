"""Background services of this machine as process groups, tracked by PID files in one folder.

Each service starts as the leader of a new session (so of a new process group) with its output in
``<folder>/<name>.log`` and its PID in ``<folder>/<name>.pid``; stopping sends SIGTERM to every group, SIGKILL
after a grace period, and waits until no process of any group is left. Used by the native Airflow services
(python_scripts/ops/airflow_services.py) and the native metrics (python_scripts/ops/monitoring.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from python_scripts.settings import PROJECT_ROOT


def spawn(name: str, argv: list[str], env: dict[str, str], folder: Path) -> int:
    """Start ``argv`` as the leader of a new session, logging to ``<folder>/<name>.log``; return its PID."""
    with open(folder / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            argv, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    (folder / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. A zombie does not count: the leader, if it is our own
    child, is reaped here; other zombies wait for their parent."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    proc = Path("/proc")
    if not proc.is_dir():  # no procfs: ask the kernel, counting zombies as alive
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, …
            return True
    return False


def running(folder: Path) -> dict[str, int]:
    """Process groups started in ``folder`` that still have a process, by service name."""
    groups = {}
    for pid_file in sorted(folder.glob("*.pid")) if folder.is_dir() else []:
        pgid = int(pid_file.read_text())
        if group_alive(pgid):
            groups[pid_file.stem] = pgid
    return groups


def stop(folder: Path, grace: float = 30) -> list[str]:
    """SIGTERM every process group started in ``folder``, SIGKILL what is left after ``grace`` seconds; return
    the names of the groups that had to be killed."""
    groups = running(folder)
    for pgid in groups.values():
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(map(group_alive, groups.values())) and time.monotonic() < deadline:
        time.sleep(0.1)
    killed = [name for name, pgid in groups.items() if group_alive(pgid)]
    for name in killed:
        os.killpg(groups[name], signal.SIGKILL)
    while any(map(group_alive, groups.values())):
        time.sleep(0.1)
    for pid_file in folder.glob("*.pid"):
        pid_file.unlink()
    return killed


def report(command: str, folder: Path) -> None:
    """The CLI's ``stop`` and ``status``: stop the groups or list them, and say what was done."""
    groups = running(folder)
    if command == "stop":
        killed = stop(folder)
        print(f"stopped {', '.join(groups) or 'nothing'}" + (f" (killed: {', '.join(killed)})" if killed else ""))
        return
    for name, pgid in groups.items():
        print(f"{name:18} process group {pgid}")
    if not groups:
        print("not running")
