"""The fixtures every tier uses: a real PostgreSQL test warehouse, a temporary lake and settings pointing at them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from python_scripts.settings import PostgresServer, Settings, get_settings
from tests.support.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB, TestWarehouse


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
        conn.execute("TRUNCATE audit.ingestion_runs, audit.rejected_records, audit.extraction_windows")
        yield conn
