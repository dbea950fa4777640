"""Shared fixtures: a real PostgreSQL test warehouse, a temporary lake and settings pointing at them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from python_scripts.db_init import apply_sql_init
from python_scripts.settings import PostgresServer, Settings, get_settings

TEST_WAREHOUSE_DB = "warehouse_test"
TEST_AIRFLOW_DB = "airflow_test"


class TestWarehouse:
    """The test warehouse: queries as admin, and ``reset()`` to drop and re-create it from sql/init."""

    __test__ = False

    def __init__(self):
        self.settings = get_settings()
        self._conn: psycopg.Connection | None = None

    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.settings.postgres.url(TEST_WAREHOUSE_DB), autocommit=True)
        return self._conn

    def execute(self, query, params=None):
        return self.conn.execute(query, params)

    def reset(self) -> None:
        self.close()
        with psycopg.connect(self.settings.postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{TEST_WAREHOUSE_DB}" WITH (FORCE)')
        apply_sql_init(self.settings, TEST_WAREHOUSE_DB, TEST_AIRFLOW_DB)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


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
            conn.execute(f'DROP TABLE bronze."{table}" CASCADE')
        conn.execute("TRUNCATE audit.ingestion_runs, audit.rejected_records")
        yield conn
