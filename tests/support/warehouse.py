"""The test warehouse databases: their names and an admin handle that can rebuild them from sql/init."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql

from python_scripts.settings import get_settings
from python_scripts.warehouse.init import apply_sql_init

# Overridable so that two test sessions on one server do not reset each other's databases.
TEST_WAREHOUSE_DB = os.environ.get("TEST_WAREHOUSE_DB", "warehouse_test")
TEST_AIRFLOW_DB = os.environ.get("TEST_AIRFLOW_DB", "airflow_test")


class TestWarehouse:
    """A test warehouse database: queries as admin, and ``reset()`` to drop and re-create it from sql/init."""

    __test__ = False

    def __init__(self, database: str = TEST_WAREHOUSE_DB, airflow_db: str = TEST_AIRFLOW_DB):
        self.settings = get_settings()
        self.database, self.airflow_db = database, airflow_db
        self._conn: psycopg.Connection | None = None

    @property
    def conn(self) -> psycopg.Connection:
        """The admin connection, opened anew when it was closed or lost: the crash-safety tests restart the
        server while session fixtures hold their connections."""
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("SELECT 1")
            except psycopg.OperationalError:
                self._conn.close()
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.settings.postgres.url(self.database), autocommit=True)
        return self._conn

    def execute(self, query, params=None):
        return self.conn.execute(query, params)

    def reset(self) -> None:
        self.close()
        with psycopg.connect(self.settings.postgres.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.database)))
        apply_sql_init(self.settings, self.database, self.airflow_db)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
