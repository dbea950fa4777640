"""Reruns, backfills and data-quality gates of a whole DAG, through Airflow.

* A backfill run by the scheduler with several DAG runs active at once, and the same interval rerun three
  times, end with bronze, staging, core and marts identical (checksums) to a single sequential run.
* A bad row that reaches bronze makes a dbt test fail, and a source whose last load is too old fails its
  freshness check: either way the DAG run fails and the marts keep their previous content.
"""

from __future__ import annotations

import time

import pytest
from psycopg import sql

from python_scripts import airflow_services
from python_scripts.local_run import AirflowCommandError
from tests.e2e.airflow_rest import AirflowClient, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "orders_batch"
# Logical dates of manual runs: each covers the day before it.
DATES = ("2025-02-02", "2025-02-03", "2025-02-04")
NEXT_DATE = "2025-02-06"
# The same intervals as a backfill (scheduled runs are stamped with the start of their interval).
BACKFILL = {"from_date": "2025-02-01T00:00:00Z", "to_date": "2025-02-03T00:00:00Z"}
RELATIONS = (
    ("bronze", "orders_orders"),
    ("staging", "stg_orders__orders_latest"),
    ("core", "fct_orders"),
    ("marts", "mart_order_status"),
)
# Columns that record when or where something ran rather than what the data is.
VOLATILE = {"loaded_at", "extracted_at", "last_loaded_at", "lake_uri"}


def checksums(wh) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent md5 of every relation, without the volatile columns."""
    result = {}
    for schema, table in RELATIONS:
        columns = [
            name
            for (name,) in wh.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
                " ORDER BY ordinal_position",
                (schema, table),
            )
            if name not in VOLATILE
        ]
        assert columns, f"{schema}.{table} does not exist"
        query = sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(row_text, E'\\n' ORDER BY row_text), ''))"
            " FROM (SELECT ({})::text AS row_text FROM {}) AS rows"
        ).format(sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(schema, table))
        count, digest = wh.execute(query).fetchone()
        result[f"{schema}.{table}"] = (count, digest)
    return result


TERMINAL = {"success", "failed"}


@pytest.fixture(scope="module")
def backfilled(dag_env, wh, api) -> dict:
    """The three intervals backfilled by the scheduler, up to three runs at once, from an empty warehouse.

    Backfill runs only start while the DAG is unpaused, and unpausing also schedules the latest interval
    (catchup is off): that run goes on concurrently too, and the reference below includes its interval.
    """
    api.clear_faults()
    api.set_clock(None)
    wh.reset()
    port = free_port()
    base_url = airflow_services.start(dag_env, port)
    try:
        client = AirflowClient(base_url, airflow_services.ADMIN_USER, airflow_services.admin_password(dag_env))
        client.wait_for_dag(DAG_ID)
        # The metadata database outlives test sessions: end what an earlier session may have left.
        for stale in client.api("GET", "/backfills", params={"dag_id": DAG_ID}).json()["backfills"]:
            if stale["completed_at"] is None:
                client.api("PUT", f"/backfills/{stale['id']}/cancel")
        for stale in client.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100}).json()["dag_runs"]:
            client.api("DELETE", f"/dags/{DAG_ID}/dagRuns/{stale['dag_run_id']}")
        body = {"dag_id": DAG_ID, **BACKFILL, "max_active_runs": 3, "reprocess_behavior": "completed"}
        client.api("POST", "/backfills", json=body)
        client.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
        most_running, deadline = 0, time.monotonic() + 600
        while True:
            runs = client.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 100}).json()["dag_runs"]
            most_running = max(most_running, sum(r["state"] == "running" for r in runs))
            backfill = [r for r in runs if r["run_type"] == "backfill"]
            if len(backfill) == len(DATES) and all(r["state"] in TERMINAL for r in runs):
                break
            assert time.monotonic() < deadline, f"the backfill did not finish: {[r['state'] for r in runs]}"
            time.sleep(1)
        client.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": True})
    finally:
        airflow_services.stop(dag_env)
    return {"runs": runs, "most_running": most_running, "checksums": checksums(wh)}


@pytest.fixture(scope="module")
def sequential(backfilled, run, wh, api) -> dict:
    """The reference: one run per interval, in order, from an empty warehouse, through ``airflow dags test``."""
    api.set_clock(None)
    wh.reset()
    scheduled = sorted(r["data_interval_end"][:10] for r in backfilled["runs"] if r["run_type"] != "backfill")
    for logical_date in (*DATES, *scheduled):
        run(DAG_ID, logical_date)
    return checksums(wh)


def test_reference_run_filled_every_layer(sequential):
    assert all(count > 0 for count, _ in sequential.values()), sequential
    orders = sequential["staging.stg_orders__orders_latest"][0]
    assert sequential["bronze.orders_orders"][0] in {3 * orders, 4 * orders}  # 3 intervals, and the latest one


def test_backfill_with_concurrent_runs_matches_the_sequential_run(backfilled, sequential):
    states = [(r["run_type"], r["state"]) for r in backfilled["runs"]]
    assert all(state == "success" for _, state in states), states
    assert backfilled["most_running"] >= 2, "the backfill never had more than one run active at once"
    assert backfilled["checksums"] == sequential


def test_rerunning_an_interval_three_times_changes_nothing(sequential, run, wh):
    for attempt in range(3):
        run(DAG_ID, DATES[1])
        assert checksums(wh) == sequential, f"rerun {attempt + 1} changed the warehouse"


def _failed_tasks(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if "failed" in line.lower())[-3000:]


def _run_expecting_failure(run, logical_date: str) -> str:
    with pytest.raises(AirflowCommandError) as failure:
        run(DAG_ID, logical_date)
    return failure.value.output


def test_a_bad_row_fails_the_dbt_tests_and_the_run(run, wh, sequential, api):
    """From the reference state (the reruns above end in it): a bad row in bronze, then a rerun."""
    api.clear_faults()
    # A row that no validation would let through, written straight into bronze (a bug, a manual fix gone
    # wrong): an order in a status the business does not know, newer than any batch.
    wh.execute(
        """
        INSERT INTO bronze.orders_orders
            (batch_id, record_no, record_hash, payload, lake_uri, interval_start, interval_end, extracted_at)
        VALUES ('manual_fix', 1, 'x', '{"order_id": 1, "customer_id": 1, "status": "refunded", "amount": 1,
                "currency": "EUR", "created_at": "2025-01-01T00:00:00Z", "updated_at": "2099-01-01T00:00:00Z"}',
                'manual', now(), now(), now())
        """
    )
    try:
        log = _run_expecting_failure(run, DATES[1])
        assert "accepted_values_stg_orders__orders_latest_status" in log, _failed_tasks(log)
        after = checksums(wh)
        for relation in ("core.fct_orders", "marts.mart_order_status"):
            assert after[relation] == sequential[relation], f"{relation} must keep its last good state"
    finally:
        wh.execute("DELETE FROM bronze.orders_orders WHERE batch_id = 'manual_fix'")


def test_a_stale_source_fails_its_freshness_check_and_the_run(run, wh, sequential, api):
    """The last successful load was three days ago, and the next interval's feed answers with no orders."""
    wh.execute("UPDATE bronze.orders_orders SET loaded_at = loaded_at - interval '3 days'")
    api.add_fault(kind="status", path="/orders", status=200, body=[], times=10)
    try:
        log = _run_expecting_failure(run, NEXT_DATE)
        assert "freshness" in log.lower(), _failed_tasks(log)
        after = checksums(wh)
        for relation in ("core.fct_orders", "marts.mart_order_status"):
            assert after[relation] == sequential[relation], f"{relation} must keep its last good state"
    finally:
        api.clear_faults()
