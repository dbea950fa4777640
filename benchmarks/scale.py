"""The scale run (``python -m benchmarks --only scale``): the Fake Store DAG from the API to the marts under the
real scheduler, against the sum of its parts done by hand on the same data, at 10^5, 10^6 and 10^7 carts.

For each size, in databases and a lake of its own (all dropped or removed afterwards):

1. **The DAG.** The sandbox serves N carts (users and products grow with them). ``fakestore_ingest`` is
   triggered over REST with ``full_refresh`` on the native services (scheduler, LocalExecutor, triggerer),
   with the dbt group in ``COSMOS_EXECUTION_MODE=watcher`` (one ``dbt build``, a task per node that starts and
   ends in the triggerer: ``dags/elt_dags/watcher.py``). Its wall time is the run's, start to end, from the
   metadata database; each task's time comes from its task instance. A sampler reads the peak RSS
   (``VmHWM``) of every task process (``airflow worker -- <task instance id>``) while it runs.
2. **The parts by hand.** A streaming download of each endpoint to a file (``/carts``, ``/products``,
   ``/users``); ``psql \\copy`` of the loader's bytes for each batch (serialized beforehand from the DAG's lake
   objects, as the loader sends them) into the bronze tables of a second database created from sql/init; one
   ``dbt build`` of the group's selection there. The sum of the three is the reference.

Both warehouses must end with the same number of rows in every mart. The memory of extraction and of the
loader is also measured as the load benchmark measures it, in a child process of its own (``wait4``), without
Airflow's own footprint.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg
import requests

from benchmarks.common import drop_databases, prepare_database, run_dbt
from benchmarks.cosmos import (
    copy_project,
    cosmos_environment,
    group_selection,
    marts_fingerprint,
    own_task,
    prepare_airflow_database,
    services,
)
from benchmarks.tasks import write_copy_rows
from python_scripts.ingest.bronze import BRONZE_COPY_COLUMNS
from python_scripts.ingest.lake import lake_from_url
from python_scripts.ingest.manifest import Manifest
from python_scripts.ops.sandboxing import sandbox
from python_scripts.ops.summary import format_table
from python_scripts.settings import get_settings
from python_scripts.sources import bronze_table_name, get_source

SIZES, QUICK_SIZES = (100_000, 1_000_000, 10_000_000), (1_000, 10_000)
RUN_DAG, SOURCE = "fakestore_ingest", "fakestore"
LOGICAL_DATE = "2025-01-30T00:00:00Z"
RUN_TIMEOUT = 4 * 3600
TARGETS = {"vs_parts": 1.5, "rss_growth": 0.20, "rss_mb": 300.0, "loader_vs_copy": 0.9}
TASK_PROCESS = re.compile(rb"^airflow worker -- ([0-9a-f-]{36})")


# --- peak memory of the task processes ------------------------------------------------------------------


class TaskMemory:
    """Samples the peak RSS (``VmHWM``, which only grows) of every Airflow task process, by task instance id."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak_mb: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TaskMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    self._read(proc)

    def _read(self, proc: Path) -> None:
        try:
            match = TASK_PROCESS.match((proc / "cmdline").read_bytes())
            if match:
                status = (proc / "status").read_text()
        except OSError:
            return
        if match:
            kilobytes = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
            ti_id = match.group(1).decode()
            self.peak_mb[ti_id] = max(self.peak_mb.get(ti_id, 0.0), kilobytes / 1024)


# --- the DAG under the scheduler ------------------------------------------------------------------------


def dag_run_figures(env: dict[str, str], memory: dict[str, float]) -> dict[str, Any]:
    """The latest run of the DAG: its wall time, and each task instance's seconds and peak RSS."""
    settings = get_settings(env)
    with psycopg.connect(settings.postgres.url(settings.airflow_db)) as conn:
        run_id, state, started, ended = conn.execute(
            "SELECT run_id, state, start_date, end_date FROM dag_run WHERE dag_id = %s ORDER BY id DESC LIMIT 1",
            (RUN_DAG,),
        ).fetchone()
        rows = conn.execute(
            "SELECT id::text, task_id, map_index, state, start_date, end_date FROM task_instance"
            " WHERE dag_id = %s AND run_id = %s ORDER BY start_date",
            (RUN_DAG, run_id),
        ).fetchall()
    if state != "success":
        failed = sorted(task for _, task, _, task_state, _, _ in rows if task_state not in {"success", "skipped"})
        raise RuntimeError(f"{RUN_DAG} ended {state}: {failed}")
    tasks = {}
    for ti_id, task_id, map_index, _, start, end in rows:
        name = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        tasks[name] = {"seconds": (end - start).total_seconds(), "peak_rss_mb": memory.get(ti_id)}
    group = [(start, end) for _, task_id, _, _, start, end in rows if task_id.startswith("transform.")]
    return {
        "seconds": (ended - started).total_seconds(),
        "transform_seconds": (max(end for _, end in group) - min(start for start, _ in group)).total_seconds(),
        "tasks": tasks,
    }


def run_dag(env: dict[str, str]) -> dict[str, Any]:
    """The DAG triggered over REST on the native services, with the watcher's one build for the dbt group."""
    env = {**env, "COSMOS_EXECUTION_MODE": "watcher", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with services(env) as client, TaskMemory() as memory:
        client.wait_for_task(RUN_DAG, own_task(env))
        client.run_dag(RUN_DAG, LOGICAL_DATE, conf={"full_refresh": True}, timeout=RUN_TIMEOUT)
    return dag_run_figures(env, memory.peak_mb)


# --- the parts by hand ----------------------------------------------------------------------------------


def download(url: str, path: Path) -> float:
    """Stream one endpoint's response to a file; its seconds."""
    started = time.perf_counter()
    with requests.get(url, stream=True, timeout=600) as response, path.open("wb") as out:
        response.raise_for_status()
        for block in response.iter_content(1 << 20):
            out.write(block)
    return time.perf_counter() - started


def lake_manifests(env: dict[str, str]) -> Iterator[Manifest]:
    """The manifests of the batches the DAG landed."""
    settings = get_settings(env)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    for key in lake.keys(f"manifests/{SOURCE}/"):
        with lake.reader(key) as handle:
            yield Manifest(**orjson.loads(handle.read()))


def psql_copy(env: dict[str, str], manifest: Manifest, rows_file: Path) -> float:
    """``psql \\copy`` of the loader's bytes into the batch's bronze table; its seconds."""
    settings = get_settings(env)
    columns = ", ".join(BRONZE_COPY_COLUMNS)
    table = bronze_table_name(manifest.source, manifest.entity)
    command = f"\\copy {table} ({columns}) FROM '{rows_file}' WITH (FORMAT binary)"
    started = time.perf_counter()
    subprocess.run(["psql", settings.warehouse_url, "-v", "ON_ERROR_STOP=1", "-qc", command], check=True, env=env)
    return time.perf_counter() - started


def run_parts(env: dict[str, str], parts_env: dict[str, str], base_url: str, work_dir: Path) -> dict[str, Any]:
    """Download, ``\\copy`` and one ``dbt build``, each timed; the parts' warehouse is ``parts_env``'s."""
    downloads = {
        entity: download(f"{base_url}{get_source(SOURCE).entity(entity).path}", work_dir / f"{entity}.json")
        for entity in get_source(SOURCE).entity_names
    }
    for entity in downloads:
        (work_dir / f"{entity}.json").unlink()
    prepare_database(get_settings(parts_env))
    copies: dict[str, float] = {}
    rows_file = work_dir / "bronze-rows.copy"
    for manifest in lake_manifests(env):
        write_copy_rows(get_settings(env), manifest, rows_file)
        copies[manifest.entity] = copies.get(manifest.entity, 0.0) + psql_copy(parts_env, manifest, rows_file)
        rows_file.unlink()
    analyze(parts_env)  # as the DAG's load does after a large batch
    warm_partial_parse(parts_env)
    build = run_dbt(("build", "--select", *group_selection()), parts_env["DBT_PROJECT_DIR"], parts_env)
    seconds = sum(downloads.values()) + sum(copies.values()) + build
    return {"download": downloads, "copy": copies, "dbt_build": build, "seconds": seconds}


def warm_partial_parse(env: dict[str, str]) -> None:
    """Parse the project for this warehouse (not timed): dbt reuses a partial parse only for the connection it
    was made with, as ``make manifest``'s serves the tasks of a deployment."""
    run_dbt(("parse",), env["DBT_PROJECT_DIR"], env)


def analyze(env: dict[str, str]) -> None:
    settings = get_settings(env)
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def mart_rows(env: dict[str, str]) -> dict[str, int]:
    """Rows of each mart, from the fingerprint the Cosmos benchmark compares marts by."""
    return {table: rows for table, (rows, _) in marts_fingerprint(env).items()}


# --- one size -------------------------------------------------------------------------------------------


@contextmanager
def scale_databases(env: dict[str, str], airflow_db: str, carts: int, work_dir: Path) -> Iterator[tuple[dict, dict]]:
    """The DAG's environment and the parts' (their own warehouses, one Airflow database, one lake), removed on
    exit whatever happens."""
    lake = work_dir / f"lake-{carts}"
    dag_env, parts_env = (
        cosmos_environment({**env, "WAREHOUSE_DB": database, "LAKE_URL": str(lake)}, airflow_db, work_dir)
        for database in ("bench_scale", "bench_scale_parts")
    )
    try:
        yield dag_env, parts_env
    finally:
        settings = get_settings(dag_env)
        drop_databases(settings, ["bench_scale", "bench_scale_parts", settings.airflow_db])
        shutil.rmtree(lake, ignore_errors=True)


def scale_size(
    carts: int, env: dict[str, str], airflow_db: str, work_dir: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    with scale_databases(env, airflow_db, carts, work_dir) as (dag_env, parts_env):
        prepare_database(get_settings(dag_env))
        prepare_airflow_database(dag_env)
        with sandbox(dag_env, ("--carts", str(carts))) as url:
            progress(f"scale: {carts:,} carts, {RUN_DAG} on the scheduler")
            dag_env, parts_env = ({**e, "FAKESTORE_BASE_URL": url} for e in (dag_env, parts_env))
            warm_partial_parse(dag_env)
            dag = run_dag(dag_env)
            progress(f"scale: {carts:,} carts, the parts by hand")
            parts = run_parts(dag_env, parts_env, url, work_dir)
        dag_marts, parts_marts = mart_rows(dag_env), mart_rows(parts_env)
    loads = [task for task in dag["tasks"] if task.startswith("load[")]
    return {
        "carts": carts,
        "dag": dag,
        "parts": parts,
        "vs_parts": dag["seconds"] / parts["seconds"],
        "transform_vs_dbt_build": dag["transform_seconds"] / parts["dbt_build"],
        "loader_vs_copy": sum(parts["copy"].values()) / sum(dag["tasks"][task]["seconds"] for task in loads),
        "same_mart_rows": dag_marts == parts_marts,
        "mart_rows": dag_marts,
    }


def bench(env: dict[str, str], airflow_db: str, sizes: tuple[int, ...], work_dir: Path, progress) -> dict[str, Any]:
    """Every size in turn; the dbt project is copied and parsed once, as in the Cosmos benchmark."""
    copy_project(cosmos_environment(env, airflow_db, work_dir))
    return {"sizes": [scale_size(carts, env, airflow_db, work_dir, progress) for carts in sizes]}


# --- report ---------------------------------------------------------------------------------------------


def _slowest(tasks: dict[str, dict], prefix: str, field: str) -> float:
    return max((task[field] or 0.0) for name, task in tasks.items() if name.startswith(prefix))


def table(scale: dict[str, Any]) -> str:
    rows = []
    for size in scale["sizes"]:
        dag, parts, tasks = size["dag"], size["parts"], size["dag"]["tasks"]
        rows.append(
            (
                f"{size['carts']:,}",
                f"{dag['seconds']:.1f}",
                f"{_slowest(tasks, 'extract[', 'seconds'):.1f}",
                f"{_slowest(tasks, 'load[', 'seconds'):.1f}",
                f"{dag['transform_seconds']:.1f}",
                f"{sum(parts['download'].values()):.1f}",
                f"{sum(parts['copy'].values()):.1f}",
                f"{parts['dbt_build']:.1f}",
                f"{parts['seconds']:.1f}",
                f"{size['vs_parts']:.2f}",
                f"{size['transform_vs_dbt_build']:.2f}",
                f"{_slowest(tasks, 'extract[', 'peak_rss_mb'):.0f} / {_slowest(tasks, 'load[', 'peak_rss_mb'):.0f}",
                "yes" if size["same_mart_rows"] else "NO",
            )
        )
    headers = ["carts", "DAG s", "extract s", "load s", "dbt group s", "download s", "\\copy s", "dbt build s",
               "parts s", "x parts", "group x build", "peak RSS MB extract / load", "same marts"]  # fmt: skip
    return format_table(headers, rows)


def targets(scale: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's scale targets, at the largest size measured (stated for 10^7 carts); the memory growth from
    the smallest size to the largest; the dbt group against one build at 10^6 carts when it was measured."""
    sizes = scale["sizes"]
    small, large = sizes[0], sizes[-1]
    found = [
        {
            "target": f"API to marts under the scheduler <= 1.5 x the parts by hand ({large['carts']:,} carts)",
            "measured": f"{large['vs_parts']:.2f} x",
            "met": large["vs_parts"] <= TARGETS["vs_parts"] and large["same_mart_rows"],
        },
        {
            "target": f"loader >= 0.9 x psql \\copy ({large['carts']:,} carts)",
            "measured": f"{large['loader_vs_copy']:.2f} x",
            "met": large["loader_vs_copy"] >= TARGETS["loader_vs_copy"],
        },
    ]
    for stage in ("extract", "load"):
        low, high = (_slowest(size["dag"]["tasks"], f"{stage}[", "peak_rss_mb") for size in (small, large))
        growth = high / low - 1
        found.append(
            {
                "target": f"peak RSS of {stage} within 20% from {small['carts']:,} to {large['carts']:,} carts, "
                "under 300 MB",
                "measured": f"{low:.0f} -> {high:.0f} MB ({growth:+.0%})",
                "met": growth <= TARGETS["rss_growth"] and high < TARGETS["rss_mb"],
            }
        )
    for size in sizes:
        if size["carts"] == 1_000_000:
            found.append(
                {
                    "target": "dbt group, a task per node, <= 1.3 x one dbt build (1,000,000 carts)",
                    "measured": f"{size['transform_vs_dbt_build']:.2f} x",
                    "met": size["transform_vs_dbt_build"] <= 1.3,
                }
            )
    return found
