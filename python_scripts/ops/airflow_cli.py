"""Airflow's CLI from this virtualenv, with the environment it needs derived from the settings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg

from python_scripts.derived import derived_environment
from python_scripts.settings import PROJECT_ROOT, environment, get_settings

VENV_BIN = Path(sys.executable).parent
POOLS_FILE = PROJECT_ROOT / "airflow" / "pools.json"


def airflow_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment (default: the process's over ``.env``) plus what Airflow, Cosmos and dbt need, derived
    from the settings."""
    env = environment(environ)
    env.update(derived_environment(get_settings(env), env))
    return env


def prepare_airflow(env: dict[str, str]) -> None:
    """Create or upgrade the metadata database and the pools the DAGs use."""
    airflow("db", "migrate", env=env, quiet=True)
    airflow("pools", "import", str(POOLS_FILE), env=env, quiet=True)


class AirflowCommandError(RuntimeError):
    """An ``airflow`` CLI command failed; ``output`` holds everything it printed (when captured)."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


def airflow(*args: str, env: dict[str, str], quiet: bool = False) -> subprocess.CompletedProcess:
    """Run an ``airflow`` CLI command from this virtualenv; raise with its output when it fails."""
    result = subprocess.run(
        [str(VENV_BIN / "airflow"), *args], env=env, cwd=PROJECT_ROOT, capture_output=quiet, text=True, check=False
    )
    if result.returncode != 0:
        output = (result.stdout or "") + (result.stderr or "")
        detail = _failure_detail(output) if quiet else ""
        message = f"airflow {' '.join(args)} failed with exit code {result.returncode}\n{detail}"
        raise AirflowCommandError(message, output)
    return result


def _failure_detail(log: str, lines: int = 40) -> str:
    """The error lines of a failed command's log (which task failed and why), then its tail."""
    markers = ("error", "exception", "failed", "traceback")
    errors = [line for line in log.splitlines() if any(marker in line.lower() for marker in markers)]
    return "\n".join(errors[-lines:]) + "\n--- tail ---\n" + log[-3000:]


def first_error(output: str) -> str | None:
    """The first line of a command's output that names an exception (``SomethingError: why``), shortened."""
    for line in output.splitlines():
        match = _EXCEPTION_LINE.search(line)
        if match:
            return match.group(0)[:300]
    return None


_EXCEPTION_LINE = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Timeout|Throttled): \S.*")


def task_states(env: dict[str, str], dag_id: str, logical_date: datetime) -> dict[str, str]:
    """The state of every task instance of the DAG's run at ``logical_date`` (mapped ones as ``task[index]``),
    read from the metadata database; empty when the run created none."""
    settings = get_settings(env)
    query = """
        SELECT ti.task_id, ti.map_index, coalesce(ti.state, 'none') FROM task_instance AS ti
        JOIN dag_run AS dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id
        WHERE dr.dag_id = %s AND dr.logical_date = %s ORDER BY ti.task_id, ti.map_index
    """
    with psycopg.connect(settings.postgres.url(settings.airflow_db), connect_timeout=10) as conn:
        rows = conn.execute(query, (dag_id, logical_date)).fetchall()
    return {(task if index < 0 else f"{task}[{index}]"): state for task, index, state in rows}


def run_dag(
    dag_id: str,
    logical_date: str,
    env: dict[str, str],
    conf: dict | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """``airflow dags test`` one DAG run; return its log, or raise with the log's tail unless it succeeded.
    ``on_line`` sees each line of the log as it is written (progress)."""
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    command = [str(VENV_BIN / "airflow"), *args]
    lines: list[str] = []
    with subprocess.Popen(
        command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        for line in process.stdout or ():
            lines.append(line)
            if on_line is not None:
                on_line(line)
    output = "".join(lines)
    if process.returncode != 0:
        message = f"airflow {' '.join(args)} failed with exit code {process.returncode}\n{_failure_detail(output)}"
        raise AirflowCommandError(message, output)
    return output


def correct_run_dates(env: dict[str, str], dag_id: str, logical_date: datetime, started_at: datetime) -> None:
    """``airflow dags test`` dates its run's start at the logical date, so the UI would show a run of months:
    set the start (and queue) time to when the run really started."""
    settings = get_settings(env)
    with psycopg.connect(settings.postgres.url(settings.airflow_db), connect_timeout=10) as conn:
        conn.execute(
            "UPDATE dag_run SET start_date = %s, queued_at = coalesce(least(queued_at, %s), %s)"
            " WHERE dag_id = %s AND logical_date = %s AND start_date < %s",
            (started_at, started_at, started_at, dag_id, logical_date, started_at),
        )
