"""`dbt build` from the shell (profiles.yml reads the environment) on bronze loaded from the sandbox."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime

import pytest

from python_scripts.local_run import airflow_environment
from python_scripts.pipeline import ingest
from python_scripts.sandbox import FakeStoreConfig, serve_in_thread
from python_scripts.settings import PROJECT_ROOT
from tests.warehouse import TEST_WAREHOUSE_DB, TestWarehouse

DBT_DIR = PROJECT_ROOT / "dbt_project"
INTERVAL = (datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 1, 11, tzinfo=UTC))


@pytest.fixture(scope="module")
def built(pg_server, tmp_path_factory):
    target = tmp_path_factory.mktemp("dbt_target")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_DB", TEST_WAREHOUSE_DB)
        mp.setenv("LAKE_URL", str(tmp_path_factory.mktemp("dbt_lake")))
        TestWarehouse().reset()
        with serve_in_thread(FakeStoreConfig(seed=3, carts=150, start_date=date(2025, 1, 1), days=10)) as url:
            mp.setenv("FAKESTORE_BASE_URL", url)
            for entity in ("products", "users", "carts"):
                ingest("fakestore", entity, *INTERVAL, full_history=True)
        result = subprocess.run(
            [str(PROJECT_ROOT / ".venv" / "bin" / "dbt"), "build", "--target-path", str(target)],
            cwd=DBT_DIR,
            env=airflow_environment(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    return result, json.loads((target / "run_results.json").read_text())


def test_dbt_build_succeeds(built):
    result, _ = built
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_node_passed_and_every_kind_ran(built):
    _, run_results = built
    statuses = {r["unique_id"]: r["status"] for r in run_results["results"]}
    assert set(statuses.values()) <= {"success", "pass"}, {
        k: v for k, v in statuses.items() if v not in {"success", "pass"}
    }
    assert {uid.split(".")[0] for uid in statuses} >= {"model", "snapshot", "test"}
    assert sum(uid.startswith("test.") for uid in statuses) >= 40
