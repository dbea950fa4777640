"""Shared fixtures: a real PostgreSQL test warehouse, a temporary lake and settings pointing at them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from python_scripts.settings import PostgresServer, Settings, get_settings

# The shared end-to-end stack (sandbox, Airflow home, dbt runner …), started lazily by the tests that use it.
from tests.pipeline_stack import api, built_warehouse, dag_env, dbt, e2e_env, run, sandbox_url, wh  # noqa: F401
from tests.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB, TestWarehouse


@pytest.fixture(scope="session")
def pg_server() -> PostgresServer:
    warehouse = TestWarehouse()
    warehouse.reset()
    return warehouse.settings.postgres


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    path = tmp_path / "lake"
    path.mkdir()
    return path


@pytest.fixture
def test_env(monkeypatch: pytest.MonkeyPatch, pg_server: PostgresServer, lake_dir: Path) -> dict[str, str]:
    """Environment for the pipeline under test: the test warehouse, a fresh lake, fast retries."""
    values = {
        "WAREHOUSE_DB": TEST_WAREHOUSE_DB,
        "AIRFLOW_DB": TEST_AIRFLOW_DB,
        "LAKE_URL": str(lake_dir),
        "HTTP_BACKOFF_FACTOR": "0.01",
        "HTTP_MAX_RETRIES": "3",
        "HTTP_READ_TIMEOUT": "10",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def settings(test_env) -> Settings:
    return get_settings()


@pytest.fixture
def warehouse(settings: Settings):
    """An admin connection to an emptied test warehouse (bronze dropped, audit truncated)."""
    with psycopg.connect(settings.warehouse_url, autocommit=True) as conn:
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'bronze'").fetchall():
            conn.execute(sql.SQL("DROP TABLE bronze.{} CASCADE").format(sql.Identifier(table)))
        conn.execute("TRUNCATE audit.ingestion_runs, audit.rejected_records")
        yield conn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run every test that reads ``built_warehouse`` together, where the first one is collected (tests/dbt),
    before the e2e modules re-create the warehouse for their own runs."""
    readers = [item for item in items if "built_warehouse" in getattr(item, "fixturenames", ())]
    if readers:
        first, reader_ids = items.index(readers[0]), set(map(id, readers))
        rest = [item for item in items if id(item) not in reader_ids]
        items[:] = rest[:first] + readers + rest[first:]
