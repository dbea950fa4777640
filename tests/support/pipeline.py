"""The end-to-end stack shared by every test that runs pipelines: one Airflow metadata database, one sandbox,
one lake, and a warehouse built once by the pipeline and dbt. A pytest plugin (see tests/conftest.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest
import requests

from python_scripts.derived import derived_environment
from python_scripts.ingest.pipeline import ingest
from python_scripts.ops.airflow_cli import airflow_environment, prepare_airflow, run_dag
from python_scripts.ops.sandboxing import SANDBOX_URL_VARIABLES, sandbox
from python_scripts.sandbox import FakeStoreConfig, serve_in_thread
from python_scripts.settings import get_settings
from python_scripts.sources import SOURCES
from python_scripts.transform.runner import run_dbt
from tests.support.warehouse import TEST_AIRFLOW_DB, TEST_WAREHOUSE_DB, TestWarehouse

SANDBOX_ARGS = ("--seed", "7", "--carts", "240", "--start-date", "2025-01-01", "--days", "20")
# The Fake Store data the shared sandbox serves (SANDBOX_ARGS), for a sandbox of a test's own.
SANDBOX_FAKESTORE = FakeStoreConfig(seed=7, carts=240, start_date=date(2025, 1, 1), days=20)
# Seeded into the environment of every DAG run: the task logs, the lake and the warehouse must never show it.
API_KEY = "e2e-key-7f3a9c-must-stay-secret"  # pragma: allowlist secret
WEATHER_CITIES = ("London,GB", "Tokyo,JP", "Atlantis,XX")
STOCK_TICKERS = ("IBM", "MSFT", "NOPE")
# The interval that `built_warehouse` loads, with the sandbox's clock at its end.
BUILT_INTERVAL = (datetime(2025, 1, 14, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC))


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
    prepare_airflow(env)
    return env


@pytest.fixture(scope="session")
def sandbox_url(e2e_env) -> str:
    with sandbox(e2e_env, SANDBOX_ARGS) as url:
        yield url


@pytest.fixture(scope="session")
def dag_env(e2e_env, sandbox_url) -> dict[str, str]:
    return {
        **e2e_env,
        **dict.fromkeys(SANDBOX_URL_VARIABLES, sandbox_url),
        "OPENWEATHER_API_KEY": API_KEY,
        "ALPHAVANTAGE_API_KEY": API_KEY,
        "WEATHER_CITIES": ";".join(WEATHER_CITIES),
        "STOCK_TICKERS": ",".join(STOCK_TICKERS),
        "HTTP_THROTTLE_WAIT": "0.3",
        "TASK_RETRY_DELAY": "1",
    }


@pytest.fixture(scope="session")
def run(dag_env):
    """Run a DAG through ``airflow dags test`` against the test warehouse and the sandbox."""

    def _run(dag_id: str, logical_date: str, **conf) -> str:
        return run_dag(dag_id, logical_date, dag_env, conf=conf or None)

    return _run


@pytest.fixture(scope="session")
def dbt(dag_env, tmp_path_factory):
    """Run the dbt CLI against the test warehouse (as the DAGs do), with its own target folder."""
    target = tmp_path_factory.mktemp("dbt_target")

    def _dbt(*args: str) -> subprocess.CompletedProcess:
        return run_dbt(*args, env=dag_env, target_path=target, timeout=600)

    return _dbt


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

    def set_clock(self, now: str | None) -> None:
        self.http.post(self.base_url + "/__sandbox/clock", json={"now": now}, timeout=10).raise_for_status()

    def add_fault(self, **fault) -> None:
        self.http.post(self.base_url + "/__sandbox/faults", json=fault, timeout=10).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete(self.base_url + "/__sandbox/faults", timeout=10).raise_for_status()

    def requests(self) -> list[dict]:
        return self.get("/__sandbox/requests")

    def clear_requests(self) -> None:
        self.http.delete(self.base_url + "/__sandbox/requests", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def api(sandbox_url) -> SandboxClient:
    return SandboxClient(sandbox_url)


@dataclass
class BuiltWarehouse:
    """A warehouse of its own (``<test warehouse>_built``) filled by the pipeline without Airflow and built by one
    ``dbt build``: dbt's run results, the environment pointing at it, an admin handle and a dbt runner."""

    results: list[dict]
    env: dict[str, str]
    wh: TestWarehouse
    dbt: Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def built_warehouse(dag_env, api, tmp_path_factory) -> BuiltWarehouse:
    """Every part of every source extracted and loaded for ``BUILT_INTERVAL`` (the whole cart history), then one
    ``dbt build``, in a database no other test resets."""
    database = f"{TEST_WAREHOUSE_DB}_built"
    wh = TestWarehouse(database)
    wh.reset()
    lake = str(tmp_path_factory.mktemp("built_lake"))
    env = {**dag_env, "WAREHOUSE_DB": database, "LAKE_URL": lake}
    env.update(derived_environment(get_settings(env), {"AIRFLOW_HOME": dag_env["AIRFLOW_HOME"]}))
    target = tmp_path_factory.mktemp("built_dbt_target")

    def dbt(*args: str) -> subprocess.CompletedProcess:
        return run_dbt(*args, env=env, target_path=target, timeout=600)

    settings = get_settings(env)
    start, end = BUILT_INTERVAL
    api.clear_faults()
    api.set_clock(end.isoformat())
    try:
        for source in SOURCES.values():
            for part in source.parts(settings):
                ingest(source.name, part["entity"], start, end, partition=part.get("partition"), full_refresh=True,
                       settings=settings)  # fmt: skip
    finally:
        api.set_clock(None)
    dbt("build")
    results = json.loads((target / "run_results.json").read_text())["results"]
    yield BuiltWarehouse(results=results, env=env, wh=wh, dbt=dbt)
    wh.close()


@dataclass(frozen=True)
class LiveFakestore:
    """A Fake Store sandbox of a test's own that serves no cart before its day, as a live API (carts_until_clock),
    and the environment pointing ``fakestore_ingest`` at it. ``run`` sets its clock to the run's logical date (the
    end of the data interval: the scheduler starts a daily run then) before running the DAG."""

    api: SandboxClient
    env: dict[str, str]

    def run(self, logical_date: str, **conf) -> str:
        self.api.set_clock(f"{logical_date}T00:00:00Z")
        return run_dag("fakestore_ingest", logical_date, self.env, conf=conf or None)


@contextlib.contextmanager
def live_fakestore(dag_env: dict[str, str], config: FakeStoreConfig = SANDBOX_FAKESTORE) -> Iterator[LiveFakestore]:
    with serve_in_thread(replace(config, carts_until_clock=True)) as url:
        yield LiveFakestore(SandboxClient(url), {**dag_env, "FAKESTORE_BASE_URL": url})
