"""``COSMOS_EXECUTION_MODE=watcher`` on the native services (scheduler, LocalExecutor, triggerer): one ``dbt
build`` in the producer task, and a task per model, snapshot, source and test that starts and ends in the
triggerer (``elt_dags.watcher``).

``fakestore_ingest`` runs twice over REST: a clean day, where every dbt task succeeds, the consumers never
take a worker (never queued to the executor) and each model's log holds dbt's line for it; then a day with a
product whose category breaks ``int_fakestore__products``' accepted-values test, where that test's task fails,
every node downstream of it fails too, and the branches independent of it still succeed.
"""

from __future__ import annotations

import re

import pytest

from python_scripts.ops import airflow_services
from python_scripts.ops.airflow_rest import AirflowClient, free_port

pytestmark = pytest.mark.e2e

DAG_ID = "fakestore_ingest"
CLEAN_DAY, BROKEN_DAY = "2025-01-21T00:00:00Z", "2025-01-22T00:00:00Z"
PRODUCER = "transform.dbt_producer_watcher"
NOT_CONSUMERS = {PRODUCER, f"{PRODUCER}_done"}


@pytest.fixture(scope="module")
def client(dag_env, wh, api):
    wh.reset()
    api.set_clock(None)
    api.clear_overrides()
    env = {**dag_env, "COSMOS_EXECUTION_MODE": "watcher", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    base_url = airflow_services.start(env, free_port())
    try:
        yield AirflowClient(base_url, airflow_services.ADMIN_USER, airflow_services.admin_password(env))
    finally:
        airflow_services.stop(env)


@pytest.fixture(scope="module")
def clean_run(client) -> dict:
    return client.run_dag(DAG_ID, CLEAN_DAY, conf={"full_refresh": True})


@pytest.fixture(scope="module")
def broken_run(client, clean_run, api) -> dict:
    api.override("products", 1, {"category": "toys"})
    try:
        return client.run_dag(DAG_ID, BROKEN_DAY)
    finally:
        api.clear_overrides()


def dbt_tasks(run: dict) -> dict[str, dict]:
    return {ti["task_id"]: ti for ti in run["task_instances"] if ti["task_id"].startswith("transform.")}


def test_a_clean_day_succeeds_with_one_task_per_node(clean_run):
    tasks = dbt_tasks(clean_run)
    assert clean_run["state"] == "success", {
        task: ti["state"] for task, ti in tasks.items() if ti["state"] != "success"
    }
    assert {"transform.stg_fakestore__carts.run", "transform.snp_fakestore__products.snapshot",
            "transform.mart_sales_overview.run", "transform.mart_sales_overview.test",
            "transform.fakestore_carts_source"} <= set(tasks)  # fmt: skip
    assert all(ti["state"] == "success" for ti in tasks.values())


def test_the_consumers_start_and_end_in_the_triggerer(clean_run):
    tasks = dbt_tasks(clean_run)
    assert tasks[PRODUCER]["queued_when"] is not None  # the one dbt build ran on a worker
    on_a_worker = sorted(task for task, ti in tasks.items() if task not in NOT_CONSUMERS and ti["queued_when"])
    assert on_a_worker == []


def test_a_consumer_log_holds_dbt_s_line_for_its_model(client, clean_run):
    path = f"/dags/{DAG_ID}/dagRuns/{clean_run['dag_run_id']}/taskInstances/transform.fct_carts.run/logs/1"
    log = str(client.api("GET", path).json()["content"])
    assert re.search(r"model\.elt_platform\.fct_carts: success in the producer's dbt build \(SELECT \d+\)", log), log[
        -2000:
    ]


def test_a_failing_test_fails_its_task_and_every_node_downstream(broken_run):
    """Cosmos reports a node dbt skipped for an upstream failure as failed (so that Airflow retries it, which
    reruns the node on its own once the producer's retry is skipped): nothing downstream of the broken test
    succeeds, while the branches that do not depend on it do."""
    states = {task: ti["state"] for task, ti in dbt_tasks(broken_run).items()}
    assert broken_run["state"] == "failed"
    assert states["transform.int_fakestore__products.test"] == "failed"
    assert states[PRODUCER] == "skipped"  # its one build failed; Cosmos skips the producer's retry
    for downstream in ("snp_fakestore__products.snapshot", "dim_products.run", "mart_sales_overview.run"):
        assert states[f"transform.{downstream}"] == "failed", downstream
    for independent in ("stg_fakestore__carts.run", "int_fakestore__carts.test", "dim_users.run"):
        assert states[f"transform.{independent}"] == "success", independent
