"""One Airflow metadata database, one sandbox and one lake shared by every end-to-end test."""

from __future__ import annotations

import os

import pytest
import requests

from python_scripts.local_run import airflow, airflow_environment, run_dag, sandbox
from tests.conftest import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB, TestWarehouse

SANDBOX_ARGS = ("--seed", "7", "--carts", "240", "--start-date", "2025-01-01", "--days", "20")


@pytest.fixture(scope="session")
def e2e_env(pg_server, tmp_path_factory) -> dict[str, str]:
    base = {
        **os.environ,
        "WAREHOUSE_DB": TEST_WAREHOUSE_DB,
        "AIRFLOW_DB": TEST_AIRFLOW_DB,
        "LAKE_URL": str(tmp_path_factory.mktemp("e2e_lake")),
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow_home")),
        "HTTP_BACKOFF_FACTOR": "0.05",
    }
    env = airflow_environment(base)
    airflow("db", "migrate", env=env, quiet=True)
    return env


@pytest.fixture(scope="session")
def sandbox_url(e2e_env) -> str:
    with sandbox(e2e_env, SANDBOX_ARGS) as url:
        yield url


@pytest.fixture(scope="session")
def dag_env(e2e_env, sandbox_url) -> dict[str, str]:
    return {**e2e_env, "FAKESTORE_BASE_URL": sandbox_url}


@pytest.fixture(scope="session")
def run(dag_env):
    """Run a DAG through ``airflow dags test`` against the test warehouse and the sandbox."""

    def _run(dag_id: str, logical_date: str, **conf) -> None:
        run_dag(dag_id, logical_date, dag_env, conf=conf or None)

    return _run


@pytest.fixture(scope="session")
def wh(e2e_env):
    warehouse = TestWarehouse()
    yield warehouse
    warehouse.close()


class SandboxClient:
    """Reads what the sandbox serves, independently of the pipeline, and drives its test controls."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **params) -> list | dict:
        response = self.http.get(self.base_url + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def override(self, entity: str, record_id: int, patch: dict) -> None:
        body = {"source": "fakestore", "entity": entity, "id": record_id, "patch": patch}
        self.http.post(self.base_url + "/__sandbox/overrides", json=body, timeout=10).raise_for_status()

    def clear_overrides(self) -> None:
        self.http.delete(self.base_url + "/__sandbox/overrides", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def api(sandbox_url) -> SandboxClient:
    return SandboxClient(sandbox_url)
