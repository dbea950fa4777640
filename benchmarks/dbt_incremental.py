"""``python -m benchmarks.dbt_incremental [--quick] [--carts N]``: the incremental facts and marts against a
full refresh of the same models, after a daily delta of 1% of the carts.

The sandbox serves N carts over 100 days (1% a day). The pipeline loads the first 99 days as one batch, with
the products, users and orders of that interval, and dbt builds everything. The delta is the next day's batch:
its 1% new carts, plus 0.01% older carts the sandbox moved into that day (changed versions that leave their
old mart groups), with new product and user snapshots (one price and one city changed) and a new orders batch.
After the delta's snapshots and dimensions are built (not timed), the facts and marts run incrementally
(timed), their content is checksummed, they are rebuilt with ``--full-refresh`` (timed) and checksummed
again: both must be identical.

Timings are dbt's own (run_results.json): the run proper, its models on dbt's threads, without dbt's start-up
and parsing (the wall time of each ``dbt run`` shows them), and each model's. The target: the incremental run
takes at most 15% of the full refresh, with identical results. The benchmark drops and re-creates its own
database (``--database``, default ``bench_dbt``) from sql/init and writes
``benchmarks/results/dbt-incremental-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import requests

from benchmarks.common import RESULTS_DIR, machine, prepare_database, progress, run_dbt
from benchmarks.report import targets_table
from python_scripts.derived import derived_environment
from python_scripts.ingest.pipeline import ingest
from python_scripts.ops.sandboxing import SANDBOX_URL_VARIABLES, sandbox
from python_scripts.ops.summary import format_table
from python_scripts.settings import PROJECT_ROOT, get_settings
from python_scripts.warehouse.checksum import table_checksum

FULL_CARTS, QUICK_CARTS = 1_000_000, 10_000
START, DAYS = date(2025, 1, 1), 100
MOVED_SHARE = 0.0001  # older carts moved into the delta's day
TARGET = 0.15
GROWTH = 12  # ten times the carts: a full refresh at most 12 times as long
# What is timed: the incremental models and the tables built beside them from the facts.
MODELS = (
    "int_fakestore__carts",
    # a view over int_fakestore__carts: its full refresh drops the view, which must be rebuilt before the facts
    "int_fakestore__cart_items",
    "dim_date",
    "fct_cart_items",
    "fct_carts",
    "fct_product_sales_daily",
    "int_orders__orders",
    "fct_orders",
    "mart_sales_overview",
    "mart_product_performance",
    "mart_customer_activity",
    "mart_order_status",
)
LAYERS = {"mart_": "marts", "int_": "intermediate"}
VIEWS = {"int_fakestore__cart_items"}  # nothing stored: the lines are checked in fct_cart_items
CHECKED = tuple(
    f"{next((schema for prefix, schema in LAYERS.items() if model.startswith(prefix)), 'core')}.{model}"
    for model in MODELS
    if model not in VIEWS
)
# The untimed builds leave data tests out: they scan whole tables and are not what is compared.
NO_TESTS = ("--exclude-resource-type", "test")
UPSTREAM = ("--select", "source:fakestore+", "source:orders+", "--exclude", *MODELS)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.dbt_incremental",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CARTS:,} carts instead of {FULL_CARTS:,}")
    parser.add_argument("--carts", type=int, help="any number of carts")
    parser.add_argument("--database", default="bench_dbt", help="the benchmark's own database (%(default)s)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes (%(default)s)")
    return parser.parse_args(argv)


def day(offset: int) -> datetime:
    return datetime.combine(START + timedelta(days=offset), datetime.min.time(), UTC)


class Dbt:
    """The dbt CLI on the benchmark database, with one target folder (partial parsing between runs)."""

    def __init__(self, env: dict[str, str], target: Path):
        self.env, self.target = env, target

    def __call__(self, *args: str) -> dict[str, Any]:
        """Run dbt; return its wall seconds, the seconds of its run proper (models in parallel on dbt's threads,
        start-up and parsing left out) and each model's own seconds."""
        wall = run_dbt((*args, "--target-path", str(self.target)), PROJECT_ROOT / "dbt_project", self.env)
        run_results = json.loads((self.target / "run_results.json").read_text())
        runs = run_results["results"]
        models = {
            r["unique_id"].split(".")[-1]: {
                "seconds": r["execution_time"],
                "rows": r["adapter_response"].get("rows_affected"),
            }
            for r in runs
            if r["unique_id"].startswith("model.")
        }
        return {"wall_seconds": wall, "seconds": run_results["elapsed_time"], "models": models}


def checksums(url: str) -> dict[str, list]:
    """Rows and an md5 of every row (all columns) of each checked relation."""
    with psycopg.connect(url) as conn:
        return {table: list(table_checksum(conn, table, exclude=())) for table in CHECKED}


def move_carts_into_the_delta(base_url: str, carts: int) -> int:
    """Move the first carts of the day before the delta's day into it (a sandbox override each)."""
    http = requests.Session()
    day_before = http.get(
        f"{base_url}/carts",
        params={"startdate": f"{day(DAYS - 2):%Y-%m-%d}", "enddate": f"{day(DAYS - 1):%Y-%m-%d}"},
        timeout=600,
    ).json()
    moved = day_before[: max(1, int(carts * MOVED_SHARE))]
    for cart in moved:
        patch = {"date": f"{day(DAYS - 1):%Y-%m-%d}" + cart["date"][10:]}
        body = {"source": "fakestore", "entity": "carts", "id": cart["id"], "patch": patch}
        http.post(f"{base_url}/__sandbox/overrides", json=body, timeout=10).raise_for_status()
    return len(moved)


def change_a_price_and_a_city(base_url: str) -> None:
    http = requests.Session()
    product = http.get(f"{base_url}/products/1", timeout=10).json()
    for entity, record_id, patch in (
        ("products", 1, {"price": round(product["price"] + 10, 2)}),
        ("users", 1, {"address": {"city": "Oslo"}}),
    ):
        body = {"source": "fakestore", "entity": entity, "id": record_id, "patch": patch}
        http.post(f"{base_url}/__sandbox/overrides", json=body, timeout=10).raise_for_status()


def load_interval(settings, start: datetime, end: datetime) -> None:
    for source, entity in (("fakestore", "products"), ("fakestore", "users"), ("fakestore", "carts")):
        ingest(source, entity, start, end, settings=settings)
    ingest("orders", "orders", start, end, settings=settings)


def bench(carts: int, env: dict[str, str], work_dir: Path) -> dict[str, Any]:
    dbt = Dbt(env, work_dir / "dbt_target")
    result: dict[str, Any] = {"carts": carts}
    with sandbox(env, ("--carts", str(carts), "--start-date", START.isoformat(), "--days", str(DAYS))) as url:
        settings = get_settings({**env, **dict.fromkeys(SANDBOX_URL_VARIABLES, url)})
        progress(f"{carts:,} carts: loading days 1-{DAYS - 1}")
        load_interval(settings, day(0), day(DAYS - 1))
        progress("first dbt build")
        result["first_build"] = dbt("build", *NO_TESTS, "--select", "source:fakestore+", "source:orders+")
        result["moved_carts"] = move_carts_into_the_delta(url, carts)
        change_a_price_and_a_city(url)
        progress(f"loading day {DAYS} (the delta)")
        load_interval(settings, day(DAYS - 1), day(DAYS))
    with psycopg.connect(settings.warehouse_url) as conn:
        result["bronze_carts"], result["delta_carts"] = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE interval_start = %s) FROM bronze.fakestore_carts",
            (day(DAYS - 1),),
        ).fetchone()
    progress("snapshots and dimensions of the delta (not timed)")
    dbt("build", *NO_TESTS, *UPSTREAM)
    progress("incremental run")
    result["incremental"] = dbt("run", "--select", *MODELS)
    incremental = checksums(settings.warehouse_url)
    progress("full refresh")
    result["full_refresh"] = dbt("run", "--full-refresh", "--select", *MODELS)
    full_refresh = checksums(settings.warehouse_url)
    result["identical"] = incremental == full_refresh
    result["differing"] = sorted(table for table in full_refresh if incremental[table] != full_refresh[table])
    # Row counts only: digests would read as secrets in a versioned result file.
    result["rows"] = {table: rows for table, (rows, _) in full_refresh.items()}
    result["ratio"] = result["incremental"]["seconds"] / result["full_refresh"]["seconds"]
    return result


def models_table(result: dict[str, Any]) -> str:
    rows = []
    for model in MODELS:
        incremental, full = result["incremental"]["models"][model], result["full_refresh"]["models"][model]
        rows.append(
            (
                model,
                f"{full['seconds']:.2f}",
                f"{incremental['seconds']:.2f}",
                f"{incremental['seconds'] / full['seconds']:.1%}",
                "" if incremental["rows"] is None else f"{incremental['rows']:,}",
            )
        )
    rows.append(
        (
            "the run (models in parallel)",
            f"{result['full_refresh']['seconds']:.2f}",
            f"{result['incremental']['seconds']:.2f}",
            f"{result['ratio']:.1%}",
            "",
        )
    )
    rows.append(
        (
            "wall time of `dbt run`",
            f"{result['full_refresh']['wall_seconds']:.2f}",
            f"{result['incremental']['wall_seconds']:.2f}",
            f"{result['incremental']['wall_seconds'] / result['full_refresh']['wall_seconds']:.1%}",
            "",
        )
    )
    return format_table(["model", "full refresh s", "incremental s", "ratio", "rows written"], rows)


def dbt_environment(env: dict[str, str]) -> dict[str, str]:
    """env with dbt's profile variables pointed at the benchmark database, whatever the caller's environment."""
    derived = derived_environment(get_settings(env), {})
    return {**env, **{name: value for name, value in derived.items() if name.startswith("DBT_")}}


def bench_in_database(carts: int, env: dict[str, str], database: str, work_dir: Path) -> dict[str, Any]:
    """The benchmark in its own database (dropped and re-created from sql/init) and lake under work_dir."""
    env = dbt_environment({**env, "WAREHOUSE_DB": database, "LAKE_URL": str(work_dir / "dbt-lake")})
    prepare_database(get_settings(env))
    return bench(carts, env, work_dir)


def targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The incremental run against a full refresh at the largest size; and, when the two largest sizes are ten
    times apart, how the full refresh grows between them (at most linearly, within a margin)."""
    large = results[-1]
    found = [
        {
            "target": f"dbt incremental <= {TARGET:.0%} of a full refresh at {large['carts']:,}, identical results",
            "measured": f"{large['ratio']:.1%}, identical: {'yes' if large['identical'] else 'NO'}",
            "met": large["ratio"] <= TARGET and large["identical"],
        }
    ]
    if len(results) > 1 and large["carts"] == 10 * results[-2]["carts"]:
        small = results[-2]
        growth = large["full_refresh"]["seconds"] / small["full_refresh"]["seconds"]
        found.append(
            {
                "target": f"dbt full refresh {small['carts']:,} -> {large['carts']:,} carts <= {GROWTH} x",
                "measured": f"{small['full_refresh']['seconds']:.2f} -> {large['full_refresh']['seconds']:.2f} s: "
                f"{growth:.1f} x",
                "met": growth <= GROWTH,
            }
        )
    return found


def delta_line(result: dict[str, Any]) -> str:
    return (
        f"{result['bronze_carts']:,} cart versions in bronze; the delta: {result['delta_carts']:,} carts "
        f"({result['delta_carts'] / result['carts']:.2%} of {result['carts']:,}), {result['moved_carts']} of them "
        "moved from an older day"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    carts = args.carts or (QUICK_CARTS if args.quick else FULL_CARTS)
    if args.database == get_settings().warehouse_db:
        print(f"refusing to benchmark in the warehouse {args.database!r}: pick another --database", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.dbt_incremental " + " ".join(sys.argv[1:] if argv is None else argv),
        "load_average": {"start": os.getloadavg()[0]},
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="elt-bench-dbt-") as tmp:
        result = bench_in_database(carts, dict(os.environ), args.database, Path(tmp))
    results["machine"] = machine(get_settings(dbt_environment({**os.environ, "WAREHOUSE_DB": args.database})))
    results["load_average"]["end"] = os.getloadavg()[0]
    results["seconds"] = round(time.monotonic() - started, 1)
    results["result"] = result
    results["targets"] = targets([result])

    info = results["machine"]
    print(
        f"\n{info['cpu']}, {info['cores']} cores, PostgreSQL {info['postgresql']}; load average "
        f"{results['load_average']['start']:.2f} -> {results['load_average']['end']:.2f}; {results['seconds']:.0f} s\n"
    )
    print(delta_line(result) + "\n")
    print(models_table(result) + "\n")
    print(targets_table(results["targets"]))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.results_dir / f"dbt-incremental-{stamp}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nresults: {json_path}")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
