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
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_WAREHOUSE_DB)))
        apply_sql_init(self.settings, TEST_WAREHOUSE_DB, TEST_AIRFLOW_DB)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
