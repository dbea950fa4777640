"""Prometheus and the PostgreSQL exporter on this machine, without Docker: ``make metrics`` / ``make metrics-stop``.

``python -m python_scripts.ops.monitoring start`` starts ``prometheus-postgres-exporter`` (the custom queries of
monitoring/postgres-exporter/queries.yaml, reading the marts as ``bi_reader``) and ``prometheus`` (scraping
the exporter and itself, with the alert rules of monitoring/prometheus/alerts.yml), each in its own process
group on 127.0.0.1, and waits until both answer. ``stop`` ends both groups; ``status`` lists them. Config,
time series, logs and PIDs live in ``.tools/metrics``. The Docker stack has its own copies (profile
``monitoring``); the tests start a pair of their own on free ports.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import requests

from python_scripts.ops import process_groups
from python_scripts.ops.process_groups import running, spawn, stop
from python_scripts.settings import PROJECT_ROOT, Settings, load_or_exit

MONITORING_DIR = PROJECT_ROOT / "monitoring"
QUERIES_FILE = MONITORING_DIR / "postgres-exporter" / "queries.yaml"
RULES_FILE = MONITORING_DIR / "prometheus" / "alerts.yml"
STATE_DIR = PROJECT_ROOT / ".tools" / "metrics"
BI_ROLE = "bi_reader"
# Debian's names first, then the upstream release names.
BINARIES = {
    "postgres-exporter": ("prometheus-postgres-exporter", "postgres_exporter"),
    "prometheus": ("prometheus",),
}
INSTALL_HINT = (
    "install them with `sudo apt-get install --no-install-recommends prometheus prometheus-postgres-exporter` "
    "(or `make test-tools` as root)"
)


class MissingBinaries(RuntimeError):
    """Prometheus or the exporter is not installed."""


@dataclass(frozen=True)
class Endpoints:
    prometheus: str
    exporter: str


def find_binaries() -> dict[str, str]:
    """The path of each binary, by service name; raise MissingBinaries naming those not on PATH."""
    found = {name: next(filter(None, map(shutil.which, names)), None) for name, names in BINARIES.items()}
    missing = [BINARIES[name][0] for name, path in found.items() if path is None]
    if missing:
        raise MissingBinaries(f"{' and '.join(missing)} not found: {INSTALL_HINT}")
    return found


def exporter_dsn(settings: Settings) -> str:
    """The exporter's connection to the warehouse as ``bi_reader``.

    Locally the roles have no login: like python_scripts.warehouse.db (SET ROLE), the admin user connects and the
    server switches to the role at login (``options=-c role=…``), so the queries run with bi_reader's
    rights and nothing more. lib/pq wants TLS unless told otherwise; the local server has none.
    """
    query = urlencode({"sslmode": "disable", "options": f"-c role={BI_ROLE}"}, quote_via=quote)
    return f"{settings.warehouse_url}?{query}"


def prometheus_config(
    targets: Mapping[str, str], scrape_interval: str = "15s", rule_files: Iterable[Path] = (RULES_FILE,)
) -> dict:
    """A Prometheus configuration with one scrape job per target (job name → ``host:port``)."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]} for job, target in targets.items()
        ],
    }


def write_prometheus_config(path: Path, config: dict) -> Path:
    """Write ``config`` where Prometheus reads it (JSON is valid YAML, so no YAML writer is needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def wait_ready(url: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = requests.get(url, timeout=2)
            if response.ok:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s ({last})")


def start(
    settings: Settings,
    folder: Path,
    prometheus_port: int,
    exporter_port: int,
    scrape_interval: str = "15s",
    timeout: float = 30,
) -> Endpoints:
    """Start the exporter and Prometheus on 127.0.0.1 in ``folder``; return their base URLs once both answer."""
    binaries = find_binaries()
    if running(folder):
        raise RuntimeError(f"already running: {running(folder)}; stop them first")
    folder.mkdir(parents=True, exist_ok=True)
    exporter = f"127.0.0.1:{exporter_port}"
    prometheus = f"127.0.0.1:{prometheus_port}"
    config = prometheus_config({"postgres-exporter": exporter, "prometheus": prometheus}, scrape_interval)
    config_file = write_prometheus_config(folder / "prometheus.yml", config)
    commands = {
        "postgres-exporter": [
            binaries["postgres-exporter"],
            f"--web.listen-address={exporter}",
            f"--extend.query-path={QUERIES_FILE}",
            "--disable-default-metrics",
            "--disable-settings-metrics",
        ],
        "prometheus": [
            binaries["prometheus"],
            f"--config.file={config_file}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address={prometheus}",
        ],
    }
    env = {**os.environ, "DATA_SOURCE_NAME": exporter_dsn(settings)}
    endpoints = Endpoints(prometheus=f"http://{prometheus}", exporter=f"http://{exporter}")
    try:
        for name, argv in commands.items():
            spawn(name, argv, env, folder)
        wait_ready(f"{endpoints.exporter}/metrics", timeout)
        wait_ready(f"{endpoints.prometheus}/-/ready", timeout)
    except BaseException:
        stop(folder)
        raise
    return endpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--prometheus-port", type=int, help="default: PROMETHEUS_PORT")
    parser.add_argument("--exporter-port", type=int, help="default: PG_EXPORTER_PORT")
    args = parser.parse_args(argv)
    if args.command == "start":
        settings = load_or_exit()
        prometheus_port = args.prometheus_port or settings.prometheus_port
        exporter_port = args.exporter_port or settings.pg_exporter_port
        try:
            endpoints = start(settings, STATE_DIR, prometheus_port, exporter_port)
        except MissingBinaries as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"Prometheus   {endpoints.prometheus}  (try /api/v1/query?query=elt_source_rows_loaded_total)")
        print(f"exporter     {endpoints.exporter}/metrics  ({settings.warehouse_db} as {BI_ROLE})")
        print(f"logs         {STATE_DIR}/*.log;  stop with: make metrics-stop")
    else:
        process_groups.report(args.command, STATE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
