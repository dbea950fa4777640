"""Scale-out: the native services under the CeleryExecutor with a Celery worker and the local Redis as broker
run a DAG to success, its tasks executed by the worker."""

from __future__ import annotations

import pytest
import redis

from python_scripts.ops import airflow_services
from python_scripts.ops.airflow_rest import AirflowClient, free_port

pytestmark = pytest.mark.e2e

BROKER = "redis://127.0.0.1:6379/11"


@pytest.fixture(scope="module")
def celery_run(dag_env, wh, api):
    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"the Celery test needs Redis on 127.0.0.1:6379 ({exc})")
    wh.reset()
    api.set_clock(None)
    env = {**dag_env, "CELERY_BROKER_URL": BROKER}
    base_url = airflow_services.start(env, free_port(), celery=True)
    try:
        groups = airflow_services.running(env)
        client = AirflowClient(base_url, airflow_services.ADMIN_USER, airflow_services.admin_password(env))
        run = client.run_dag("orders_batch", "2025-01-20T00:00:00Z")
        worker_log = (airflow_services.run_dir(env) / "celery-worker.log").read_text(errors="replace")
    finally:
        airflow_services.stop(env)
    return {"run": run, "groups": groups, "worker_log": worker_log, "left": airflow_services.running(env)}


def test_a_celery_worker_runs_beside_the_services(celery_run):
    assert "celery-worker" in celery_run["groups"]
    assert celery_run["left"] == {}


def test_the_dag_succeeds_under_the_celery_executor(celery_run, wh):
    run = celery_run["run"]
    assert run["state"] == "success", {k: v for k, v in run["task_states"].items() if v != "success"}
    # Unpausing also lets the scheduler run the latest interval; the triggered run has its own batch.
    batch = "20250119T000000Z_20250120T000000Z"
    assert wh.execute("SELECT count(*) FROM bronze.orders_orders WHERE batch_id = %s", (batch,)).fetchone()[0] == 100


def test_the_tasks_ran_on_the_celery_worker(celery_run):
    instances = celery_run["run"]["task_instances"]
    assert {t["executor"] or "" for t in instances} <= {"", "CeleryExecutor"}
    assert {t["queue"] for t in instances} == {"default"}
    log = celery_run["worker_log"]
    assert "execute_workload" in log or "execute_command" in log, log[-2000:]
    for task_id in ("extract", "load", "publish_bronze"):
        assert task_id in log, task_id
