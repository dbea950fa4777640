"""``python -m benchmarks`` end to end at a tiny size: every contender loads the whole landed batch into the
benchmark's own database, and the run leaves its figures and chart where it was told."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from benchmarks import cosmos, scale
from benchmarks.common import prepare_database
from benchmarks.run import INTERVAL, run_task
from benchmarks.tasks import LOAD_CONTENDERS
from python_scripts.ops.airflow_cli import airflow_environment
from python_scripts.ops.sandboxing import sandbox
from python_scripts.settings import PROJECT_ROOT, get_settings
from python_scripts.sources import SOURCES
from tests.support.warehouse import TEST_WAREHOUSE_DB

BENCH_DB = f"{TEST_WAREHOUSE_DB}_bench"


@pytest.fixture
def bench_db(pg_server):
    yield BENCH_DB
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


def database_exists(name: str) -> bool:
    with psycopg.connect(get_settings().postgres.url("postgres"), autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_load_benchmark_runs_every_contender_on_the_same_batch(bench_db, tmp_path: Path):
    chart = tmp_path / "chart.png"
    result = bench("--sizes", "300", "--only", "load", "--database", bench_db, "--results-dir", str(tmp_path),
                   "--chart", str(chart))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (results_file,) = tmp_path.glob("*.json")
    results = json.loads(results_file.read_text())
    (size,) = results["sizes"]
    assert size["carts"] == size["records"] == 300
    assert list(size["load"]) == list(LOAD_CONTENDERS)
    for measured in size["load"].values():
        assert measured["seconds"] > 0
        assert measured["peak_rss_mb"] > 10
    assert size["load"]["raw COPY"]["vs_raw_copy"] == 1
    assert "extract" not in size
    assert {target["target"].split(" x ")[0] for target in results["targets"]} == {
        "loader >= 0.85",
        "loader >= 10",
        "replay from the lake <= 1.2",
    }
    assert size["load"]["lake replay"]["rows"] == size["records"]
    assert "project loader" in result.stdout
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert not database_exists(bench_db), "the run left its database behind"


def test_the_benchmark_refuses_the_configured_warehouse(tmp_path: Path):
    result = bench("--database", os.environ.get("WAREHOUSE_DB", "warehouse"), "--results-dir", str(tmp_path))
    assert result.returncode == 2
    assert "refusing" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_cosmos_benchmark_times_one_dag_file_parse_in_a_fresh_interpreter(tmp_path: Path):
    """The parse measurement alone (the run comparison takes minutes): the child renders the Cosmos group from
    the manifest and reports its parse apart from the interpreter's start-up and Airflow's import."""
    env = airflow_environment({**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "WAREHOUSE_DB": BENCH_DB})
    measured = cosmos.parse_in_child("ingest_dags", {**env, **cosmos.PARSE_MODES["manifest"]}, tmp_path / "out")
    assert measured["errors"] == {}
    assert measured["dags"] == len(SOURCES)
    assert measured["tasks"] > 10 * len(SOURCES)  # extract, load, publish_bronze and each transform group's nodes
    assert 0 < measured["parse_seconds"] < measured["process_seconds"]
    assert measured["airflow_import_seconds"] > 0


def test_the_scale_run_reads_the_peak_memory_of_each_airflow_task_process():
    """A process titled as Airflow's task runner titles it (``airflow worker -- <task instance id>``) that
    holds 200 MB for a moment: the sampler finds it by its title and keeps its peak after it has freed it."""
    ti_id = str(uuid.uuid4())
    holder = (
        "import time, setproctitle\n"
        f"setproctitle.setproctitle('airflow worker -- {ti_id}')\n"
        "block = bytearray(200 * 1024 * 1024)\n"
        "time.sleep(1.0)\n"
        "del block\n"
        "time.sleep(0.5)\n"
    )
    with scale.TaskMemory(interval=0.05) as memory:
        subprocess.run([sys.executable, "-c", holder], check=True, timeout=30)
    assert 200 <= memory.peak_mb[ti_id] < 400


def test_extraction_memory_stays_flat_as_the_batch_grows(bench_db, pg_server, tmp_path: Path):
    """The scale run's memory target in miniature: extracting 25 times the carts (20,000 to 500,000, with
    their duplicate-key check) takes no more peak memory, within 20%, in a child process of its own."""
    env = {**os.environ, "WAREHOUSE_DB": bench_db, "LAKE_URL": str(tmp_path / "lake")}
    prepare_database(get_settings(env))
    peaks = []
    for carts in (20_000, 500_000):
        with sandbox(env, ("--carts", str(carts))) as url:
            measured = run_task("extract", {"carts": carts, **INTERVAL}, {**env, "FAKESTORE_BASE_URL": url})
        assert measured["records"] == carts
        peaks.append(measured["peak_rss_mb"])
    assert peaks[1] <= peaks[0] * 1.2, peaks
