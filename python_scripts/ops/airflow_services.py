"""Airflow's services on this machine, without Docker: ``make airflow`` / ``make airflow-stop``.

``python -m python_scripts.ops.airflow_services start [--port 8080]`` migrates the metadata database, starts the
sandbox API for every source without a base URL, then ``api-server``, ``scheduler``, ``dag-processor`` and
``triggerer`` (LocalExecutor), each in its own session and process group, and waits until the API answers.
``start --celery`` switches to the CeleryExecutor (broker ``CELERY_BROKER_URL``, default the local Redis;
results in the metadata database) and adds a Celery worker: the scale-out path, where more workers on more
machines take tasks from the same queue. ``stop`` sends SIGTERM to each process group (SIGKILL after a grace
period) and waits until no process of any group is left; ``status`` lists them. PIDs, logs and the URL live in
``$AIRFLOW_HOME/run``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import requests

from python_scripts.ops import process_groups
from python_scripts.ops.airflow_cli import VENV_BIN, airflow_environment, prepare_airflow
from python_scripts.ops.sandboxing import sandbox_variables, sources_without_url
from python_scripts.settings import load_or_exit

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
ADMIN_USER = "admin"


def run_dir(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / "run"


def celery_environment(env: dict[str, str]) -> dict[str, str]:
    """The CeleryExecutor with a Redis broker and the metadata database as result backend."""
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "db+postgresql://", 1)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": env.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": metadata,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": env.get("AIRFLOW__CELERY__WORKER_CONCURRENCY") or "2",
    }


def service_environment(env: dict[str, str], port: int) -> dict[str, str]:
    """What the services need beyond the shared Airflow environment: where the API is, and who may log in."""
    return {
        **env,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file(env)),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }


def running(env: dict[str, str]) -> dict[str, int]:
    """The Airflow services (and their sandbox) that still run, by name."""
    return process_groups.running(run_dir(env))


def _start_sandbox(env: dict[str, str], folder: Path) -> dict[str, str]:
    """A background sandbox for every source without a base URL; return the variables pointing at it."""
    missing = sources_without_url(env)
    if not missing:
        return {}
    url_file = folder / "sandbox.url"
    url_file.unlink(missing_ok=True)
    argv = [str(VENV_BIN / "python"), "-m", "python_scripts.sandbox", "--port", "0", "--port-file", str(url_file)]
    process_groups.spawn("sandbox", argv, env, folder)
    deadline = time.monotonic() + 30
    while not url_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not start; see {folder / 'sandbox.log'}")
        time.sleep(0.1)
    url = url_file.read_text().strip()
    return sandbox_variables(env, missing, url)


def wait_healthy(base_url: str, timeout: float = 180) -> dict:
    """Poll the API's health endpoint until the metadata database and the scheduler report healthy."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
            states = {part: (health.get(part) or {}).get("status") for part in ("metadatabase", "scheduler")}
            if set(states.values()) == {"healthy"}:
                return health
            last = str(states)
        except (requests.RequestException, ValueError) as exc:
            last = type(exc).__name__
        time.sleep(1)
    raise RuntimeError(f"Airflow at {base_url} is not healthy after {timeout:.0f} s ({last})")


def start(env: dict[str, str], port: int, celery: bool = False) -> str:
    if running(env):
        raise RuntimeError(f"already running: {running(env)}; run `make airflow-stop` first")
    folder = run_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.pid"):
        stale.unlink()
    prepare_airflow(env)
    env = service_environment({**env, **_start_sandbox(env, folder)}, port)
    commands = {name: [name] for name in SERVICES}
    commands["api-server"] += ["--port", str(port), "--host", "127.0.0.1"]
    if celery:
        env.update(celery_environment(env))
        commands["celery-worker"] = ["celery", "worker", "--concurrency", env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]]
    base_url = f"http://127.0.0.1:{port}"
    try:
        for name, command in commands.items():
            process_groups.spawn(name, [str(VENV_BIN / "airflow"), *command], env, folder)
        wait_healthy(base_url)
    except BaseException:
        stop(env)
        raise
    (folder / "url").write_text(base_url)
    return base_url


def stop(env: dict[str, str], grace: float = 30) -> list[str]:
    """Stop the services (see python_scripts.ops.process_groups.stop); return the names that had to be killed."""
    return process_groups.stop(run_dir(env), grace)


def password_file(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json"


def admin_password(env: dict[str, str]) -> str:
    """The admin password the API server generated on its first start (kept in ``password_file``)."""
    return json.loads(password_file(env).read_text())[ADMIN_USER]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--port", type=int, help="default: AIRFLOW_PORT")
    parser.add_argument("--celery", action="store_true", help="CeleryExecutor and a Celery worker (Redis broker)")
    args = parser.parse_args(argv)
    settings = load_or_exit(check_lake=args.command == "start")
    env = airflow_environment()
    if args.command == "start":
        url = start(env, args.port or settings.airflow_port, celery=args.celery)
        print(f"Airflow UI   {url}  (user {ADMIN_USER}, password {admin_password(env)}, kept in {password_file(env)})")
        print(f"logs         {run_dir(env)}/*.log;  stop with: make airflow-stop")
    else:
        process_groups.report(args.command, run_dir(env))
    return 0


if __name__ == "__main__":
    sys.exit(main())
