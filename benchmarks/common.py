"""What every benchmark shares: where results go, its own database, the machine, progress lines, the dbt CLI."""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from python_scripts.settings import PROJECT_ROOT, Settings
from python_scripts.transform.runner import run_dbt as dbt_command
from python_scripts.warehouse.init import apply_sql_init

RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"


def prepare_database(settings: Settings) -> None:
    """Drop and re-create the benchmark's database from sql/init, so every run starts from the same state."""
    drop_databases(settings, [settings.warehouse_db])
    apply_sql_init(settings, settings.warehouse_db)


def drop_databases(settings: Settings, names: list[str]) -> None:
    """Drop the benchmark's databases where they exist: before a part, and when the run ends (at 10^7 carts the
    dbt part's alone holds gigabytes)."""
    with psycopg.connect(settings.postgres.url("postgres"), autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def machine(settings: Settings) -> dict[str, Any]:
    """What the figures were measured on."""
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    cpu = platform.processor() or platform.machine()
    if cpuinfo.exists():
        cpu = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line), cpu
        )
    memory_gb = None
    if meminfo.exists():
        memory_gb = round(int(meminfo.read_text().split()[1]) / 1024**2, 1)
    with psycopg.connect(settings.warehouse_url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server.split()[0],
    }


def progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_dbt(args: tuple[str, ...], project_dir: Path | str, env: dict[str, str]) -> float:
    """Run the dbt CLI of this venv in project_dir; its wall seconds (interpreter start and parsing included).
    A failure raises with the end of dbt's output."""
    started = time.perf_counter()
    dbt_command(*args, env=env, project_dir=project_dir)
    return time.perf_counter() - started
