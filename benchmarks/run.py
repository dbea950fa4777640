"""``python -m benchmarks [--quick] [--only load|extract|dbt|cosmos|scale] [--sizes N ...] [--profile]``

For each size (carts; users and products follow, as the sandbox derives them) it starts the sandbox in a
process of its own, extracts every cart into a temporary lake with the project's extraction, measures the
validation alone over the landed records, then loads the same landed batch into the same empty bronze table
with each contender, in turn: the project's loader, a raw COPY of the rows the loader sends (serialized
beforehand), psycopg2's execute_values and pandas' to_sql(method="multi"). Every measurement runs in a child
process (benchmarks/tasks.py), so its peak RSS is its own.

The benchmark drops and re-creates its own database (``--database``, default ``bench_warehouse``) from
sql/init; it never touches the warehouse of the settings. The dbt benchmark (benchmarks/dbt_incremental.py:
incremental facts and marts against a full refresh after a 1% delta, at 10^6 and 10^7 carts in the full run,
``--dbt-sizes``) runs in a database of its own (``--dbt-database``, default ``bench_dbt``). The Cosmos
benchmark (benchmarks/cosmos.py) runs after the sizes, in the same database and its own Airflow metadata
database (``--airflow-database``, default ``bench_airflow``). The scale run (benchmarks/scale.py: the Fake Store
DAG under the scheduler against the sum of its parts by hand, at 10^5, 10^6 and 10^7 carts,
``--scale-sizes``) comes last, in databases of its own, dropped when it ends. It prints the tables and every
target, writes the figures to ``benchmarks/results/<timestamp>.json`` and draws the chart
(``docs/img/benchmarks.png`` for the full sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from benchmarks import cosmos, dbt_incremental, report, scale
from benchmarks.common import RESULTS_DIR, drop_databases, machine, prepare_database, progress
from benchmarks.tasks import LOAD_CONTENDERS, SOURCE, write_copy_rows
from python_scripts.ingest.bronze import bronze_table
from python_scripts.ingest.manifest import Manifest
from python_scripts.ops.sandboxing import sandbox
from python_scripts.settings import PROJECT_ROOT, Settings, get_settings

PARTS = ("extract", "load", "dbt", "cosmos", "scale")
FULL_SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
DBT_SIZES = (1_000_000, 10_000_000)  # the full run's dbt part: the incremental run, and the growth between them
INTERVAL = {"interval_start": "2025-01-30T00:00:00+00:00", "interval_end": "2025-01-31T00:00:00+00:00"}
DOCS_CHART = PROJECT_ROOT / "docs" / "img" / "benchmarks.png"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help=f"CI-sized run: {', '.join(map(str, QUICK_SIZES))} carts")
    parser.add_argument("--sizes", type=int, nargs="+", help=f"numbers of carts (default {FULL_SIZES})")
    parser.add_argument("--only", choices=PARTS, help="run one benchmark (extraction lands the data)")
    parser.add_argument(
        "--scale-sizes",
        type=int,
        nargs="+",
        help=f"scale run's carts (default {scale.SIZES})",
    )
    parser.add_argument(
        "--dbt-sizes",
        type=int,
        nargs="+",
        help=f"dbt part's carts (default {DBT_SIZES} for the full run, else the largest of the sizes)",
    )
    parser.add_argument("--database", default="bench_warehouse", help="the benchmark's own database (%(default)s)")
    parser.add_argument("--dbt-database", default="bench_dbt", help="dbt: its own database (%(default)s)")
    parser.add_argument("--airflow-database", default="bench_airflow", help="Cosmos: its Airflow DB (%(default)s)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes (%(default)s)")
    parser.add_argument("--chart", type=Path, help=f"PNG path (default {DOCS_CHART} for the full sizes)")
    parser.add_argument("--profile", action="store_true", help="write a pyinstrument profile of every task")
    return parser.parse_args(argv)


def run_task(task: str, args: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Run one benchmark task in a child process; its JSON result plus the child's peak RSS in MB."""
    command = [sys.executable, "-m", "benchmarks.tasks", task, json.dumps(args)]
    process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE)
    with process.stdout:
        output = process.stdout.read()
    # wait4 rather than wait(): the child's own resource usage, not the running total of all children.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"benchmark task {task!r} failed with exit code {process.returncode}")
    return {**json.loads(output), "peak_rss_mb": usage.ru_maxrss / 1024}


def empty_bronze(settings: Settings) -> None:
    """Empty the bronze table and the audit tables, and flush the previous step's writes to disk (the server's
    and the lake's), so that no contender pays for what ran before it."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("TRUNCATE {}, audit.rejected_records, audit.ingestion_runs").format(bronze_table(SOURCE, "carts"))
        )
        admin.execute("CHECKPOINT")
    os.sync()


def count_bronze(settings: Settings) -> int:
    with psycopg.connect(settings.warehouse_url, autocommit=True) as admin:
        query = sql.SQL("SELECT count(DISTINCT record_no) FROM {}").format(bronze_table(SOURCE, "carts"))
        return admin.execute(query).fetchone()[0]


def bench_size(carts: int, parts: tuple[str, ...], env: dict[str, str], work_dir: Path) -> dict[str, Any]:
    """Every measurement at one size."""
    settings = get_settings(env)
    task_args = {"carts": carts, **INTERVAL}
    progress(f"{carts:,} carts: extracting")
    with sandbox(env, ("--carts", str(carts))) as url:
        extraction = run_task("extract", task_args, {**env, "FAKESTORE_BASE_URL": url})
    task_args["manifest"] = manifest = extraction.pop("manifest")
    size: dict[str, Any] = {"carts": carts, "records": extraction["records"]}
    if "extract" in parts:
        progress(f"{carts:,} carts: validation alone")
        size["extract"], size["validate"] = extraction, run_task("validate", task_args, env)
    if "load" in parts:
        rows_file = work_dir / "bronze-rows.copy"
        size["payload_mb"] = write_copy_rows(settings, Manifest(**manifest), rows_file) / 1e6
        size["load"] = {}
        for name in LOAD_CONTENDERS:
            progress(f"{carts:,} carts: bronze load by {name}")
            empty_bronze(settings)
            size["load"][name] = run_task(name, {**task_args, "rows_file": str(rows_file)}, env)
            loaded = count_bronze(settings)
            if loaded != size["records"]:
                raise RuntimeError(f"{name} loaded {loaded} rows, expected {size['records']}")
        rows_file.unlink()
    report.add_rates(size)
    return size


def refuse_user_databases(args: argparse.Namespace) -> str | None:
    """Why the chosen databases must not be used: the user's own warehouse or Airflow database."""
    user_settings = get_settings()
    for option, database in (("--database", args.database), ("--dbt-database", args.dbt_database)):
        if database == user_settings.warehouse_db:
            return f"refusing to benchmark in the warehouse {database!r}: pick another {option}"
    if args.airflow_database == user_settings.airflow_db:
        return f"refusing to use the Airflow database {args.airflow_database!r}: pick another"
    return None


def print_results(results: dict[str, Any], parts: tuple[str, ...]) -> None:
    machine_info = results["machine"]
    print(
        f"\n{machine_info['cpu']}, {machine_info['cores']} cores, {machine_info['memory_gb']} GB, "
        f"PostgreSQL {machine_info['postgresql']}, Python {machine_info['python']}; load average "
        f"{results['load_average']['start']:.2f} -> {results['load_average']['end']:.2f}; lake "
        f"{results['lake_compression']}; {results['seconds']:.0f} s\n"
    )
    if "load" in parts:
        print("Bronze load of the same landed batch (MB/s of landed JSON)\n")
        print(report.load_table(results["sizes"]) + "\n")
    if "extract" in parts:
        print("Extraction: HTTP stream -> parse -> validate -> lake (validation measured alone as well)\n")
        print(report.extraction_table(results["sizes"]) + "\n")
    for result in results.get("dbt", ()):
        print(f"dbt at {result['carts']:,} carts: the incremental facts and marts after a 1% delta against a full "
              "refresh (dbt's own timings)\n")  # fmt: skip
        print(dbt_incremental.delta_line(result) + "\n")
        print(dbt_incremental.models_table(result) + "\n")
    if "cosmos" in results:
        print("Cosmos: parse of each DAG file in a fresh interpreter (median), by what renders the dbt group\n")
        print(cosmos.parse_table(results["cosmos"]) + "\n")
        print(f"Cosmos: the {cosmos.RUN_DAG} transform group against one dbt build of the same selection\n")
        print(cosmos.run_table(results["cosmos"]) + "\n")
    if "scale" in results:
        print(f"Scale: {scale.RUN_DAG} under the scheduler (watcher) against the parts by hand on the same data\n")
        print(scale.table(results["scale"]) + "\n")
    print(report.targets_table(results["targets"]) + "\n")


def used_databases(args: argparse.Namespace, parts: tuple[str, ...]) -> list[str]:
    """The databases the run's parts created (the warehouse one always, for the extraction's and the Cosmos
    part's bronze)."""
    used = [args.database]
    if "dbt" in parts:
        used.append(args.dbt_database)
    if {"cosmos", "scale"} & set(parts):
        used.append(args.airflow_database)
    return used


def part_dir(tmp: str | Path, part: str) -> Path:
    """A part's own folder in the run's temporary one: the Cosmos and scale parts each copy the dbt project and
    keep an Airflow home, which must not meet in one full run."""
    folder = Path(tmp) / part
    folder.mkdir()
    return folder


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    parts = (args.only,) if args.only else PARTS
    refusal = refuse_user_databases(args)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    chart_path = args.chart or (DOCS_CHART if tuple(sizes) == FULL_SIZES else args.results_dir / f"{stamp}.png")
    with tempfile.TemporaryDirectory(prefix="elt-bench-") as tmp:
        env = {**os.environ, "WAREHOUSE_DB": args.database, "LAKE_URL": str(Path(tmp) / "lake")}
        if args.profile:
            env["BENCH_PROFILE"] = str(args.results_dir / f"{stamp}-profiles")
            Path(env["BENCH_PROFILE"]).mkdir(parents=True, exist_ok=True)
        settings = get_settings(env)
        prepare_database(settings)
        results: dict[str, Any] = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv),
            "machine": machine(settings),
            "load_average": {"start": os.getloadavg()[0]},
            "lake_compression": settings.lake_compression,
            "sizes": [],
        }
        started = time.monotonic()
        for carts in sizes if {"extract", "load"} & set(parts) else ():
            results["sizes"].append(bench_size(carts, parts, env, Path(tmp)))
        if "dbt" in parts:
            results["dbt"] = []
            for carts in args.dbt_sizes or (DBT_SIZES if tuple(sizes) == FULL_SIZES else (max(sizes),)):
                progress(f"dbt: incremental against a full refresh at {carts:,} carts")
                results["dbt"].append(dbt_incremental.bench_in_database(carts, env, args.dbt_database, Path(tmp)))
        if "cosmos" in parts:
            prepare_database(settings)  # the sizes' bronze rows would otherwise be part of every dbt build
            results["cosmos"] = cosmos.bench(env, args.airflow_database, args.quick, part_dir(tmp, "cosmos"), progress)
        if "scale" in parts:
            scale_sizes = tuple(args.scale_sizes or (scale.QUICK_SIZES if args.quick else scale.SIZES))
            results["scale"] = scale.bench(env, args.airflow_database, scale_sizes, part_dir(tmp, "scale"), progress)
        results["load_average"]["end"] = os.getloadavg()[0]
        results["seconds"] = round(time.monotonic() - started, 1)
        drop_databases(settings, used_databases(args, parts))
    results["targets"] = report.targets(results["sizes"])
    if "dbt" in results:
        results["targets"] += dbt_incremental.targets(results["dbt"])
    if "cosmos" in results:
        results["targets"] += cosmos.targets(results["cosmos"])
    if "scale" in results:
        results["targets"] += scale.targets(results["scale"])

    print_results(results, parts)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.results_dir / f"{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {json_path}")
    if results["sizes"]:
        report.chart(results, chart_path)
        print(f"chart:   {chart_path}")
    return 0
