"""Cosmos: what rendering the dbt project as Airflow tasks costs, when a DAG file is parsed and when it runs.

**Parse.** Each DAG file is parsed by ``DagBag`` in a fresh interpreter (``python -m benchmarks.cosmos parse``),
as the dag-processor parses it in a process of its own: the time around the file's parse (Cosmos and dbt
imports, rendering the task group) and the whole process (interpreter start and Airflow import included), with
the group rendered from the manifest, from ``dbt ls`` with Cosmos' cache turned off
(``AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS=False``) and from ``dbt ls`` with the cache warm (Cosmos keeps the
output in the Airflow Variable ``cosmos_cache__<dag>__<group>`` until the project's files change; one parse
fills it first).

**Run.** The ``transform`` group of ``fakestore_ingest`` against one ``dbt build`` of the same selection on the
same data, in a warm warehouse (every run rebuilds the same data interval on unchanged data): the group's wall
time is the span of its task instances in the metadata database. The group runs under ``airflow dags test``
(one process, one task at a time) and under the native services (scheduler, LocalExecutor with four slots,
triggerer) with ``ExecutionMode.LOCAL`` and ``ExecutionMode.WATCHER``, and with ``DBT_TASK_GRANULARITY=group``
(one freshness task and one ``dbt build`` for the group); every run must leave identical marts.

Everything runs on a copy of the dbt project, parsed afresh (so a stale ``target/manifest.json`` cannot skew
the figures), in the benchmark's warehouse and its own Airflow metadata database, both dropped and re-created.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.common import drop_databases, run_dbt
from python_scripts.derived import derived_environment
from python_scripts.ingest.pipeline import ingest
from python_scripts.ops import airflow_services
from python_scripts.ops.airflow_cli import VENV_BIN, prepare_airflow, run_dag
from python_scripts.ops.airflow_rest import AirflowClient, free_port
from python_scripts.ops.sandboxing import sources_or_sandbox
from python_scripts.ops.summary import format_table
from python_scripts.settings import PROJECT_ROOT, get_settings
from python_scripts.sources import get_source
from python_scripts.warehouse.checksum import table_checksum
from python_scripts.warehouse.init import apply_sql_init

# The ingest DAGs of every source come from one file; its parse is divided among them.
DAG_FILES = ("ingest_dags", "platform_health")
RUN_DAG, SOURCE, GROUP = "fakestore_ingest", "fakestore", "transform"
# The DAG's data interval for this logical date (daily at midnight), which the warm-up loads the same way.
LOGICAL_DATE, INTERVAL = "2025-01-30T00:00:00+00:00", ("2025-01-29T00:00:00+00:00", "2025-01-30T00:00:00+00:00")
CACHE_OFF = {"AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS": "False"}
# OpenLineage unset (every mode above it) against the provider's own off switch, and on (a catalog URL that
# nothing listens on: a parse sends no event).
LINEAGE_OFF_SWITCH = {"AIRFLOW__OPENLINEAGE__DISABLED": "true"}
LINEAGE_ON = {"OPENLINEAGE_URL": "http://127.0.0.1:9"}
PARSE_MODES = {
    "manifest": {"COSMOS_LOAD_MODE": "dbt_manifest"},
    "dbt ls uncached": {"COSMOS_LOAD_MODE": "dbt_ls", **CACHE_OFF},
    "dbt ls cached": {"COSMOS_LOAD_MODE": "dbt_ls"},
    "manifest, lineage disabled": {"COSMOS_LOAD_MODE": "dbt_manifest", **LINEAGE_OFF_SWITCH},
    "manifest, lineage on": {"COSMOS_LOAD_MODE": "dbt_manifest", **LINEAGE_ON},
}
RUN_TIMEOUT = 900
TARGETS = {"parse_seconds": 1.0, "vs_dbt_ls": 5.0, "vs_dbt_build": 1.3, "watcher_vs_dbt_build": 2.0}


# --- environment ----------------------------------------------------------------------------------------


def cosmos_environment(env: dict[str, str], airflow_db: str, work_dir: Path) -> dict[str, str]:
    """``env`` with every Airflow, Cosmos and dbt variable derived for the benchmark's databases, whatever the
    caller's shell exports: its own AIRFLOW_HOME (Cosmos' cache), its copy of the dbt project, this venv's dbt."""
    home = work_dir / "airflow"
    env = {**env, "AIRFLOW_DB": airflow_db}
    derived = derived_environment(get_settings(env), {"AIRFLOW_HOME": str(home)})
    return {
        **env,
        **derived,
        "AIRFLOW_HOME": str(home),
        "DBT_PROJECT_DIR": str(work_dir / "dbt_project"),
        # Cosmos looks for a dbt executable on the PATH even when it runs dbt in-process.
        "PATH": os.pathsep.join((str(VENV_BIN), env.get("PATH", ""))),
    }


def copy_project(env: dict[str, str]) -> Path:
    """Copy the dbt project without its build output and parse it: the manifest the DAGs render from."""
    project = Path(env["DBT_PROJECT_DIR"])
    ignored = shutil.ignore_patterns("target", "logs", "dbt_packages")
    shutil.copytree(PROJECT_ROOT / "dbt_project", project, ignore=ignored)
    dbt(env, "parse")
    return project


def prepare_airflow_database(env: dict[str, str]) -> None:
    """Drop and re-create the benchmark's Airflow metadata database, then migrate it."""
    settings = get_settings(env)
    drop_databases(settings, [settings.airflow_db])
    apply_sql_init(settings)
    prepare_airflow(env)


def dbt(env: dict[str, str], *args: str) -> float:
    """The dbt CLI in the project copy; its wall seconds."""
    return run_dbt(args, env["DBT_PROJECT_DIR"], env)


# --- parse ----------------------------------------------------------------------------------------------


def parse_in_child(dag_file: str, env: dict[str, str], out: Path) -> dict[str, Any]:
    """Parse one DAG file in a fresh interpreter; the child's own figures plus the whole process's wall time."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.cosmos", "parse", str(PROJECT_ROOT / "dags" / f"{dag_file}.py"), str(out)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    process_seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"parsing {dag_file} failed:\n{result.stderr[-3000:]}")
    measured = json.loads(out.read_text())
    if measured["errors"]:
        raise RuntimeError(f"{dag_file} did not import: {measured['errors']}")
    return {**measured, "process_seconds": process_seconds}


def parse_times(env: dict[str, str], dag_files: tuple[str, ...], repeats: int, work_dir: Path) -> list[dict]:
    """Per DAG file and load mode, the median parse. A first parse fills the dbt ls cache (kept as
    ``dbt_ls_cache_miss``) and the file system's; the modes then take turns, so none gets a warmer machine.
    Every mode must render the same tasks, else the manifest is not the project's."""
    found = []
    out = work_dir / "parse.json"
    for dag_file in dag_files:
        row: dict[str, Any] = {"dag_file": f"{dag_file}.py", "modes": {}}
        row["dbt_ls_cache_miss"] = parse_in_child(dag_file, {**env, **PARSE_MODES["dbt ls cached"]}, out)
        samples: dict[str, list] = {mode: [] for mode in PARSE_MODES}
        for _ in range(repeats):
            for mode, variables in PARSE_MODES.items():
                samples[mode].append(parse_in_child(dag_file, {**env, **variables}, out))
        for mode, measured in samples.items():
            row["modes"][mode] = {
                "parse_seconds": statistics.median(sample["parse_seconds"] for sample in measured),
                "parse_seconds_per_dag": statistics.median(
                    sample["parse_seconds"] / max(sample["dags"], 1) for sample in measured
                ),
                "process_seconds": statistics.median(sample["process_seconds"] for sample in measured),
                "tasks": measured[0]["tasks"],
                "samples": measured,
            }
        tasks = {mode: measured[0]["tasks"] for mode, measured in samples.items()}
        if len(set(tasks.values())) > 1:
            raise RuntimeError(f"{dag_file}: the load modes render different numbers of tasks: {tasks}")
        modes = row["modes"]
        row["vs_dbt_ls"] = modes["dbt ls uncached"]["parse_seconds"] / modes["manifest"]["parse_seconds"]
        row["lineage"] = lineage_cost(modes)
        found.append(row)
    return found


def lineage_cost(modes: dict[str, dict]) -> dict[str, float]:
    """What OpenLineage adds to a parse: unset (the ``manifest`` mode) and on, each against the provider's off
    switch, and the noise: the spread of the off switch's own samples around their median."""
    baseline = modes["manifest, lineage disabled"]
    samples = [sample["parse_seconds"] for sample in baseline["samples"]]
    return {
        "unset_vs_disabled": modes["manifest"]["parse_seconds"] / baseline["parse_seconds"],
        "on_vs_disabled": modes["manifest, lineage on"]["parse_seconds"] / baseline["parse_seconds"],
        "noise": (max(samples) - min(samples)) / baseline["parse_seconds"],
    }


def parse_file(path: str) -> dict[str, Any]:
    """In the child: import Airflow's DagBag (not timed as the file's parse), then parse the one file."""
    started = time.perf_counter()
    from airflow.dag_processing.dagbag import DagBag

    imported = time.perf_counter()
    bag = DagBag(dag_folder=path)
    parsed = time.perf_counter()
    return {
        "airflow_import_seconds": imported - started,
        "parse_seconds": parsed - imported,
        "tasks": sum(len(dag.tasks) for dag in bag.dags.values()),
        "dags": len(bag.dags),
        "errors": {str(file): error for file, error in bag.import_errors.items()},
    }


# --- run ------------------------------------------------------------------------------------------------


def group_selection() -> list[str]:
    """The dbt selection of the DAG's ``transform`` group (see dags/elt_dags/ingest.py)."""
    return [f"source:{SOURCE}.{entity}+" for entity in get_source(SOURCE).entity_names]


def warm_up(env: dict[str, str]) -> dict[str, float]:
    """Load the DAG's data interval into bronze and build the group's models once, so that every measured
    run rebuilds a warm warehouse on unchanged data."""
    settings = get_settings(env)
    start, end = (datetime.fromisoformat(value) for value in INTERVAL)
    for entity in get_source(SOURCE).entity_names:
        ingest(SOURCE, entity, start, end, full_refresh=True, settings=settings)
    return {"dbt_build_cold_seconds": dbt(env, "build", "--select", *group_selection())}


def group_span(env: dict[str, str]) -> dict[str, Any]:
    """The latest run's ``transform`` task instances: their span (first start to last end), summed durations,
    count and states, and the watcher producer's own duration when there is one."""
    query = """
        SELECT task_id, state, start_date, end_date FROM task_instance
        WHERE dag_id = %(dag)s AND task_id LIKE %(group)s
          AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = %(dag)s ORDER BY id DESC LIMIT 1)
    """
    settings = get_settings(env)
    with psycopg.connect(settings.postgres.url(settings.airflow_db)) as conn:
        rows = conn.execute(query, {"dag": RUN_DAG, "group": f"{GROUP}.%"}).fetchall()
    failed = sorted(task for task, state, _, _ in rows if state not in {"success", "skipped"})
    if failed:
        raise RuntimeError(f"{RUN_DAG}: task instances did not succeed: {failed}")
    durations = {task: (end - start).total_seconds() for task, _, start, end in rows}
    return {
        "seconds": (max(end for *_, end in rows) - min(start for *_, start, _ in rows)).total_seconds(),
        "task_seconds": sum(durations.values()),
        "tasks": len(rows),
        "producer_seconds": durations.get(f"{GROUP}.dbt_producer_watcher"),
    }


def marts_fingerprint(env: dict[str, str]) -> dict[str, list]:
    """Rows and an md5 over every row of each table in ``marts``, without the bronze load times (every run
    reloads the interval, so they move): what "identical marts" is checked on."""
    settings = get_settings(env)
    with psycopg.connect(settings.warehouse_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY table_name"
        ).fetchall()
        return {table: list(table_checksum(conn, f"marts.{table}")) for (table,) in tables}


def run_dags_test(env: dict[str, str]) -> dict[str, Any]:
    """The whole DAG under ``airflow dags test``: one process, one task at a time, dbt imported once."""
    run_dag(RUN_DAG, LOGICAL_DATE, env, conf={"full_refresh": True})
    return group_span(env)


@contextmanager
def services(env: dict[str, str]) -> Iterator[AirflowClient]:
    """The native services (``make airflow``) on a free port, stopped on exit; yields a logged-in REST client."""
    started = datetime.now(UTC)
    base_url = airflow_services.start(env, free_port())
    try:
        # The previous contender left the DAG serialized with its own settings (tasks per node or per group).
        yield AirflowClient(
            base_url, airflow_services.ADMIN_USER, airflow_services.admin_password(env), parsed_since=started
        )
    finally:
        airflow_services.stop(env)


def own_task(env: dict[str, str]) -> str:
    """A task of the transform group that only the configuration of ``env`` renders."""
    if env.get("DBT_TASK_GRANULARITY") == "group":
        return f"{GROUP}.dbt_build"
    if env.get("COSMOS_EXECUTION_MODE") == "watcher":
        return f"{GROUP}.dbt_producer_watcher"
    return f"{GROUP}.stg_fakestore__carts_model_build"


def run_services(env: dict[str, str], execution_mode: str) -> dict[str, Any]:
    """The whole DAG triggered over REST on the scheduler with the LocalExecutor (four slots) and a triggerer."""
    # No scheduled runs: unpausing the DAG would otherwise start its latest interval too, on other data.
    env = {**env, "COSMOS_EXECUTION_MODE": execution_mode, "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    with services(env) as client:
        client.wait_for_task(RUN_DAG, own_task(env))
        run = client.run_dag(
            RUN_DAG, LOGICAL_DATE.replace("+00:00", "Z"), conf={"full_refresh": True}, timeout=RUN_TIMEOUT
        )
    if run["state"] != "success":
        raise RuntimeError(f"{RUN_DAG} with {execution_mode} ended {run['state']}")
    return group_span(env)


GROUP_GRANULARITY = {"DBT_TASK_GRANULARITY": "group"}
PER_NODE_UNDER_SCHEDULER = "WATCHER, scheduler"  # a task per node at near the cost of one build
# Each contender: how it runs the group, whether the quick run includes it.
CONTENDERS = {
    "LOCAL, dags test": (run_dags_test, True),
    "LOCAL, one build per group, dags test": (lambda env: run_dags_test({**env, **GROUP_GRANULARITY}), True),
    "LOCAL, scheduler": (lambda env: run_services(env, "local"), False),
    "LOCAL, one build per group, scheduler": (lambda env: run_services({**env, **GROUP_GRANULARITY}, "local"), False),
    PER_NODE_UNDER_SCHEDULER: (lambda env: run_services(env, "watcher"), True),
}


def run_times(env: dict[str, str], quick: bool, progress: Callable[[str], None]) -> dict[str, Any]:
    """``dbt build`` before and after the Cosmos runs (their mean is the reference), each contender once, and
    the marts after each compared with those after the first ``dbt build``."""
    selection = ("build", "--select", *group_selection())
    with sources_or_sandbox(env) as run_env:
        progress("cosmos: warm-up (load bronze, first dbt build)")
        result: dict[str, Any] = {"selection": group_selection(), **warm_up(run_env)}
        builds = [dbt(run_env, *selection)]
        reference = marts_fingerprint(run_env)
        result["contenders"] = {}
        for name, (run, in_quick) in CONTENDERS.items():
            if quick and not in_quick:
                continue
            progress(f"cosmos: {RUN_DAG} group, {name}")
            measured = run(run_env)
            marts = marts_fingerprint(run_env)
            measured["differing_marts"] = sorted(table for table in reference if marts.get(table) != reference[table])
            measured["identical_marts"] = marts == reference
            result["contenders"][name] = measured
        progress("cosmos: dbt build again")
        builds.append(dbt(run_env, *selection))
        result["freshness_seconds"] = dbt(run_env, "source", "freshness", "--select", f"source:{SOURCE}")
    # Row counts only: the digests are compared above and would read as secrets in a versioned result file.
    result["mart_rows"] = {table: rows for table, (rows, _) in reference.items()}
    result["dbt_build_seconds"] = statistics.mean(builds)
    result["dbt_build_samples"] = builds
    for measured in result["contenders"].values():
        measured["vs_dbt_build"] = measured["seconds"] / result["dbt_build_seconds"]
        # The group also checks its sources' freshness, which dbt build does not: the same work, both sides.
        measured["vs_build_and_freshness"] = measured["seconds"] / (
            result["dbt_build_seconds"] + result["freshness_seconds"]
        )
    return result


# --- the benchmark --------------------------------------------------------------------------------------


def bench(
    env: dict[str, str], airflow_db: str, quick: bool, work_dir: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Parse times, then the run comparison; the warehouse of ``env`` has just been created from sql/init."""
    env = cosmos_environment(env, airflow_db, work_dir)
    progress("cosmos: copying and parsing the dbt project, migrating the Airflow metadata database")
    copy_project(env)
    prepare_airflow_database(env)
    dag_files = DAG_FILES[:1] if quick else DAG_FILES
    progress(f"cosmos: parse times of {', '.join(dag_files)}")
    parse = parse_times(env, dag_files, 1 if quick else 3, work_dir)
    return {"airflow_db": airflow_db, "parse": parse, "run": run_times(env, quick, progress)}


def parse_table(cosmos: dict[str, Any]) -> str:
    rows = [
        (
            row["dag_file"],
            mode,
            str(measured["tasks"]),
            f"{measured['parse_seconds']:.2f}",
            f"{measured['process_seconds']:.2f}",
            f"{measured['parse_seconds'] / row['modes']['manifest']['parse_seconds']:.1f}",
        )
        for row in cosmos["parse"]
        for mode, measured in row["modes"].items()
    ]
    return format_table(["DAG file", "rendered from", "tasks", "parse s", "process s", "x manifest"], rows)


def run_table(cosmos: dict[str, Any]) -> str:
    run = cosmos["run"]
    rows = [("dbt build (CLI)", "1", f"{run['dbt_build_seconds']:.1f}", "", "1.00", "", "reference")]
    rows.append(("dbt source freshness (CLI)", "1", f"{run['freshness_seconds']:.1f}", "", "", "", ""))
    for name, measured in run["contenders"].items():
        producer = measured["producer_seconds"]
        rows.append(
            (
                f"Cosmos {name}",
                str(measured["tasks"]),
                f"{measured['seconds']:.1f}",
                f"{measured['task_seconds']:.1f}" + (f" (producer {producer:.1f})" if producer else ""),
                f"{measured['vs_dbt_build']:.2f}",
                f"{measured['vs_build_and_freshness']:.2f}",
                "yes" if measured["identical_marts"] else "NO",
            )
        )
    headers = ["transform group", "tasks", "wall s", "task s summed", "x dbt build", "x build+freshness", "same marts"]
    return format_table(headers, rows)


def targets(cosmos: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's Cosmos targets: the slowest file's parse from the manifest, the smallest gain over an uncached
    dbt ls, and each way of running the group against one dbt build (identical marts required)."""
    slowest = max(cosmos["parse"], key=lambda row: row["modes"]["manifest"]["parse_seconds_per_dag"])
    least = min(cosmos["parse"], key=lambda row: row["vs_dbt_ls"])
    manifest_seconds = slowest["modes"]["manifest"]["parse_seconds_per_dag"]
    found = [
        {
            "target": f"DAG parse <= 1 s per DAG with the manifest ({slowest['dag_file']})",
            "measured": f"{manifest_seconds:.2f} s",
            "met": manifest_seconds <= TARGETS["parse_seconds"],
        },
        {
            "target": f"manifest >= 5 x faster than uncached dbt ls ({least['dag_file']})",
            "measured": f"{least['vs_dbt_ls']:.2f} x",
            "met": least["vs_dbt_ls"] >= TARGETS["vs_dbt_ls"],
        },
    ]
    for row in cosmos["parse"]:
        cost = row["lineage"]
        found.append(
            {
                "target": f"OpenLineage unset: parse no slower than switched off, within the noise ({row['dag_file']})",
                "measured": f"{cost['unset_vs_disabled']:.3f} x the off switch (noise ±{cost['noise'] / 2:.1%}; "
                f"on: {cost['on_vs_disabled']:.3f} x)",
                # unset may be cheaper than the switch (which reads the provider's config), never dearer
                "met": cost["unset_vs_disabled"] <= 1 + max(cost["noise"], 0.02),
            }
        )
    for name, measured in cosmos["run"]["contenders"].items():
        found.append(
            {
                "target": f"Cosmos {name} <= 1.3 x one dbt build, same marts",
                "measured": f"{measured['vs_dbt_build']:.2f} x",
                "met": measured["vs_dbt_build"] <= TARGETS["vs_dbt_build"] and measured["identical_marts"],
            }
        )
    watcher = cosmos["run"]["contenders"].get(PER_NODE_UNDER_SCHEDULER)
    if watcher:
        found.append(
            {
                "target": "dbt group under the scheduler, a task per node (watcher), <= 2 x one dbt build at the "
                "sandbox's size",
                "measured": f"{watcher['vs_dbt_build']:.2f} x",
                "met": watcher["vs_dbt_build"] <= TARGETS["watcher_vs_dbt_build"] and watcher["identical_marts"],
            }
        )
    return found


def main(argv: list[str]) -> int:
    """``python -m benchmarks.cosmos parse DAG_FILE OUT_JSON``: the child of one parse measurement."""
    command, dag_file, out = argv
    if command != "parse":
        raise SystemExit(f"unknown command {command!r}")
    profile_dir = os.environ.get("BENCH_PROFILE")
    if not profile_dir:
        measured = parse_file(dag_file)
    else:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            measured = parse_file(dag_file)
        cached = "" if os.environ.get("AIRFLOW__COSMOS__ENABLE_CACHE_DBT_LS") != "False" else "-uncached"
        states = {"-lineage-on": LINEAGE_ON, "-lineage-disabled": LINEAGE_OFF_SWITCH}
        lineage = next((state for state, variables in states.items() if set(variables) <= set(os.environ)), "")
        name = f"parse-{Path(dag_file).stem}-{os.environ.get('COSMOS_LOAD_MODE')}{cached}{lineage}.txt"
        (Path(profile_dir) / name).write_text(profiler.output_text(unicode=True, show_all=False))
    Path(out).write_text(json.dumps(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
