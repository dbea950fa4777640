"""Run the platform once on this machine: sandbox where no source URL is set, the DAGs through
``airflow dags test``, then a summary of what landed and what the marts hold.

``python -m python_scripts.ops.local_run [--date 2025-01-30] [--dag fakestore_ingest] [--incremental]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from python_scripts.settings import PROJECT_ROOT, derived_environment, get_settings

VENV_BIN = Path(sys.executable).parent
DEFAULT_DAGS = ("fakestore_ingest", "weather_ingest", "stocks_ingest", "orders_batch", "platform_health")
# Base URL variable → source; each one left unset is served by the sandbox.
SANDBOXED_SOURCES = {
    "FAKESTORE_BASE_URL": "fakestore",
    "OPENWEATHER_BASE_URL": "openweather",
    "ALPHAVANTAGE_BASE_URL": "alphavantage",
    "ORDERS_BASE_URL": "orders",
}
# The sandbox accepts any key; the real APIs need real ones from the environment.
SANDBOX_KEYS = {"OPENWEATHER_BASE_URL": "OPENWEATHER_API_KEY", "ALPHAVANTAGE_BASE_URL": "ALPHAVANTAGE_API_KEY"}
POOLS_FILE = PROJECT_ROOT / "airflow" / "pools.json"


def airflow_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment plus what Airflow, Cosmos and dbt need, derived from the settings."""
    env = dict(os.environ if environ is None else environ)
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
    missing = [name for name in SANDBOXED_SOURCES if not env.get(name)]
    if not missing:
        yield env
        return
    with sandbox(env) as url:
        print(f"sandbox API at {url} serving: {', '.join(SANDBOXED_SOURCES[name] for name in missing)}")
        keys = {SANDBOX_KEYS[name]: "sandbox-key" for name in missing if name in SANDBOX_KEYS}
        yield {**env, **dict.fromkeys(missing, url), **{k: v for k, v in keys.items() if not env.get(k)}}


def set_sandbox_clock(env: dict[str, str], now: str | None) -> None:
    """Fix the time the sandbox serves "current" weather and the latest prices for, if a sandbox is used."""
    import requests

    urls = {env[name] for name in SANDBOXED_SOURCES if env.get(name)}
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

    env = airflow_environment()
    print("preparing Airflow metadata database …", flush=True)
    prepare_airflow(env)
    with sources_or_sandbox(env) as run_env:
        set_sandbox_clock(run_env, f"{args.date}T00:00:00Z" if len(args.date) == 10 else args.date)
        for dag_id in args.dag or DEFAULT_DAGS:
            started = time.monotonic()
            print(f"running {dag_id} for {args.date} …", flush=True)
            conf = {"full_history": not args.incremental} if dag_id == "fakestore_ingest" else None
            run_dag(dag_id, args.date, run_env, conf=conf)
            print(f"{dag_id} succeeded in {time.monotonic() - started:.0f} s")
    from python_scripts.ops.summary import print_summary

    print_summary(get_settings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
