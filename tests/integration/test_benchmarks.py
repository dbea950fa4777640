"""``python -m benchmarks`` end to end at a tiny size: every contender loads the whole landed batch into the
benchmark's own database, and the run leaves its figures and chart where it was told."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from benchmarks import cosmos
from benchmarks.tasks import LOAD_CONTENDERS
from python_scripts.ops.airflow_cli import airflow_environment
from python_scripts.settings import PROJECT_ROOT
from python_scripts.sources import SOURCES
from tests.support.warehouse import TEST_WAREHOUSE_DB

BENCH_DB = f"{TEST_WAREHOUSE_DB}_bench"


@pytest.fixture
def bench_db(pg_server):
    yield BENCH_DB
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))


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
