"""Run the platform once on this machine: sandbox where no source URL is set, the DAGs through
``airflow dags test``, then a summary of what landed and what the marts hold.

``python -m python_scripts.ops.local_run [--date 2025-01-30] [--dag fakestore_ingest] [--incremental]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_scripts.settings import PROJECT_ROOT, derived_environment, environment, get_settings, load_or_exit
from python_scripts.sources import SOURCES, Source

VENV_BIN = Path(sys.executable).parent
# Every ingest DAG, then the upkeep DAG that reads what they loaded.
DEFAULT_DAGS = (*(source.dag.dag_id for source in SOURCES.values()), "platform_health")
# Sources with windowed entities take their whole history in `make run` (its one run is their first load).
FULL_HISTORY_DAGS = {source.dag.dag_id for source in SOURCES.values() if any(e.windowed for e in source.entities)}
# The base-URL variables of the sources the sandbox serves.
SANDBOX_URL_VARIABLES = [source.base_url_variable for source in SOURCES.values() if source.sandboxed]
POOLS_FILE = PROJECT_ROOT / "airflow" / "pools.json"


def airflow_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment (default: the process's over ``.env``) plus what Airflow, Cosmos and dbt need, derived
    from the settings."""
    env = environment(environ)
    env.update(derived_environment(get_settings(env), env))
    return env


@contextmanager
def sandbox(env: dict[str, str], args: tuple[str, ...] = ()) -> Iterator[str]:
    """Start the sandbox API on a free port in a child process; yield its base URL; stop it on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "url"
        process = subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "python_scripts.sandbox",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                *args,
            ],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start (exit code {process.poll()})")
                time.sleep(0.1)
            yield port_file.read_text().strip()
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def sources_or_sandbox(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Point every source whose base URL is unset at one sandbox; leave configured sources alone."""
    missing = sources_without_url(env)
    if not missing:
        yield env
        return
    with sandbox(env) as url:
        print(f"sandbox API at {url} serving: {', '.join(source.name for source in missing)}")
        yield {**env, **sandbox_variables(env, missing, url)}


def sources_without_url(env: dict[str, str]) -> list[Source]:
    """The sources the sandbox serves whose base URL ``env`` leaves unset."""
    return [source for source in SOURCES.values() if source.sandboxed and not env.get(source.base_url_variable)]


def sandbox_variables(env: dict[str, str], sources: list[Source], url: str) -> dict[str, str]:
    """The variables that point ``sources`` at the sandbox at ``url``: base URLs, and a key where one is needed
    and unset (the sandbox accepts any; the real APIs need real ones)."""
    variables = {source.base_url_variable: url for source in sources}
    for source in sources:
        if source.api_key_variable and not env.get(source.api_key_variable):
            variables[source.api_key_variable] = "sandbox-key"
    return variables


def set_sandbox_clock(env: dict[str, str], now: str | None) -> None:
    """Fix the time the sandbox serves "current" weather and the latest prices for, if a sandbox is used."""
    import requests

    urls = {env[name] for name in SANDBOX_URL_VARIABLES if env.get(name)}
    for url in urls:
        try:
            requests.post(f"{url}/__sandbox/clock", json={"now": now}, timeout=5).raise_for_status()
        except requests.RequestException:
            continue  # a real API, which has no clock to set


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


def run_dag(dag_id: str, logical_date: str, env: dict[str, str], conf: dict | None = None) -> str:
    """``airflow dags test`` one DAG run; return its log, or raise with the log's tail unless it succeeded."""
    args = ["dags", "test", dag_id, logical_date]
    if conf:
        args += ["--conf", json.dumps(conf)]
    result = airflow(*args, env=env, quiet=True)
    return result.stdout + result.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2025-01-30", help="logical date of the run (default: %(default)s)")
    parser.add_argument("--dag", action="append", help="DAG id to run (repeatable; default: all)")
    parser.add_argument("--incremental", action="store_true", help="extract carts for the interval only")
    args = parser.parse_args(argv)

    load_or_exit()
    env = airflow_environment()
    print("preparing Airflow metadata database …", flush=True)
    prepare_airflow(env)
    with sources_or_sandbox(env) as run_env:
        set_sandbox_clock(run_env, f"{args.date}T00:00:00Z" if len(args.date) == 10 else args.date)
        for dag_id in args.dag or DEFAULT_DAGS:
            started = time.monotonic()
            print(f"running {dag_id} for {args.date} …", flush=True)
            conf = {"full_history": not args.incremental} if dag_id in FULL_HISTORY_DAGS else None
            run_dag(dag_id, args.date, run_env, conf=conf)
            print(f"{dag_id} succeeded in {time.monotonic() - started:.0f} s")
    from python_scripts.ops.summary import print_summary

    print_summary(get_settings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
