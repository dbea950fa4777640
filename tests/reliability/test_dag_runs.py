"""orders_batch through Airflow: its results, reruns, backfills and data-quality gates.

* One run per interval, in order, keeps one batch per run of the same hundred orders in bronze, one row per
  order from the latest batch in intermediate, and a mart equal to figures computed here from the sandbox.
* A backfill run by the scheduler with several DAG runs active at once, and the same interval rerun three
  times, end with bronze, intermediate, core and marts identical (checksums) to a single sequential run.
* A bad row that reaches bronze makes a dbt test fail, and a feed that stops sending orders fails its volume
  expectation (the source itself was checked, so it is fresh): either way the DAG run fails, the marts keep
  their previous content, and a local Slack-compatible webhook receives one alert per failed task, with no
  secret in it.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest

from python_scripts.derived import TRUST_AUTH_PASSWORD
from python_scripts.ops import airflow_services
from python_scripts.ops.airflow_cli import AirflowCommandError, airflow_environment, run_dag
from python_scripts.ops.airflow_rest import AirflowClient, free_port
from python_scripts.settings import get_settings
from python_scripts.warehouse.checksum import table_checksum
from tests.reliability.conftest import REPORT_DIR
from tests.support.pipeline import API_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "orders_batch"
# Logical dates of manual runs: each covers the day before it.
DATES = ("2025-02-02", "2025-02-03")
NEXT_DATE = "2025-02-06"
# The same intervals as a backfill (scheduled runs are stamped with the start of their interval).
BACKFILL = {"from_date": "2025-02-01T00:00:00Z", "to_date": "2025-02-02T00:00:00Z"}
RELATIONS = (
    ("bronze", "orders_orders"),
    ("intermediate", "int_orders__orders"),
    ("core", "fct_orders"),
    ("marts", "mart_order_status"),
)


def checksums(wh) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent md5 of every relation, without the volatile columns."""
    return {f"{schema}.{table}": table_checksum(wh, f"{schema}.{table}") for schema, table in RELATIONS}


TERMINAL = {"success", "failed"}


@pytest.fixture(scope="module")
def backfilled(dag_env, wh, api) -> dict:
    """The two intervals backfilled by the scheduler, up to three runs at once, from an empty warehouse.

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


@dataclass(frozen=True)
class Reference:
    """The warehouse after one run per interval, in order: checksums and the figures the tests check."""

    checksums: dict[str, tuple[int, str]]
    runs: int
    latest_as_of: str
    bronze: tuple  # rows, batches, distinct updated_at, distinct orders
    current: tuple  # rows, distinct orders, distinct updated_at, distinct batches
    current_from_latest_batch: bool
    mart: dict[tuple[str, str], tuple[int, Decimal]]


@pytest.fixture(scope="module")
def sequential(backfilled, run, wh, api) -> Reference:
    """The reference: one run per interval, in order, from an empty warehouse, through ``airflow dags test``."""
    api.set_clock(None)
    wh.reset()
    scheduled = sorted(r["data_interval_end"][:10] for r in backfilled["runs"] if r["run_type"] != "backfill")
    dates = sorted((*DATES, *scheduled))
    for logical_date in dates:
        run(DAG_ID, logical_date)
    return Reference(
        checksums=checksums(wh),
        runs=len(dates),
        latest_as_of=f"{dates[-1]}T00:00:00Z",
        bronze=wh.execute(
            "SELECT count(*), count(DISTINCT batch_id), count(DISTINCT payload->>'updated_at'),"
            " count(DISTINCT (payload->>'order_id')::int) FROM bronze.orders_orders"
        ).fetchone(),
        current=wh.execute(
            "SELECT count(*), count(DISTINCT order_id), count(DISTINCT updated_at), count(DISTINCT batch_id)"
            " FROM intermediate.int_orders__orders"
        ).fetchone(),
        current_from_latest_batch=wh.execute(
            "SELECT bool_and(batch_id = (SELECT max(batch_id) FROM bronze.orders_orders))"
            " FROM intermediate.int_orders__orders"
        ).fetchone()[0],
        mart={
            (status, currency): (orders, amount)
            for status, currency, orders, amount in wh.execute(
                "SELECT status, currency, orders, total_amount FROM marts.mart_order_status"
            )
        },
    )


def test_each_run_appends_a_batch_of_the_same_orders(sequential):
    assert sequential.bronze == (100 * sequential.runs, sequential.runs, sequential.runs, 100)


def test_the_current_orders_are_one_row_per_order_from_the_latest_batch(sequential):
    assert sequential.current == (100, 100, 1, 1)
    assert sequential.current_from_latest_batch


def test_mart_matches_the_latest_batch_served(sequential, api):
    expected: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for order in api.get("/orders", as_of=sequential.latest_as_of, size=100):
        group = expected[(order["status"], order["currency"])]
        group[0] += 1
        group[1] += Decimal(str(order["amount"]))
    assert sequential.mart == {key: tuple(value) for key, value in expected.items()}


def test_backfill_with_concurrent_runs_matches_the_sequential_run(backfilled, sequential):
    runs = backfilled["runs"]
    states = [(r["run_type"], r["state"]) for r in runs]
    assert all(state == "success" for _, state in states), states
    assert backfilled["most_running"] >= 2, "the backfill never had more than one run active at once"
    assert backfilled["checksums"] == sequential.checksums
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    summary = {
        "runs": [{k: r[k] for k in ("run_type", "state", "data_interval_start", "data_interval_end")} for r in runs],
        "most_runs_at_once": backfilled["most_running"],
        "checksums": {name: [count, digest] for name, (count, digest) in sequential.checksums.items()},
    }
    (REPORT_DIR / "backfill.json").write_text(json.dumps(summary, indent=2))


def test_rerunning_an_interval_three_times_changes_nothing(sequential, run, wh):
    for attempt in range(3):
        run(DAG_ID, DATES[1])
        assert checksums(wh) == sequential.checksums, f"rerun {attempt + 1} changed the warehouse"


def _failed_tasks(log: str) -> str:
    return "\n".join(line for line in log.splitlines() if "failed" in line.lower())[-3000:]


def _run_expecting_failure(run, logical_date: str) -> str:
    with pytest.raises(AirflowCommandError) as failure:
        run(DAG_ID, logical_date)
    return failure.value.output


# The path of a webhook URL is its credential, as in Slack's /services/T…/B…/<token>.
WEBHOOK_PATH = "/services/T0ALERTS/B0ALERTS/webhook-path-token-must-stay-secret"  # pragma: allowlist secret


@dataclass(frozen=True)
class Alerting:
    """``airflow dags test`` with failure alerts posted to a local webhook, and what that webhook received."""

    env: dict[str, str]
    webhook: object  # pytest-httpserver's HTTPServer

    def run(self, dag_id: str, logical_date: str) -> str:
        return run_dag(dag_id, logical_date, self.env)

    def alerts(self) -> list[tuple[str, dict]]:
        return [(request.get_data(as_text=True), request.get_json()) for request, _ in self.webhook.log]

    def failed_tasks(self, logical_date: str) -> set[str]:
        """Task ids of the failed task instances of the DAG's run for ``logical_date``, from the metadata database."""
        url = self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://", 1)
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT ti.task_id FROM task_instance ti JOIN dag_run dr USING (dag_id, run_id)"
                " WHERE dr.dag_id = %s AND dr.logical_date = %s AND ti.state = 'failed'",
                (DAG_ID, f"{logical_date}T00:00:00Z"),
            )
            return {task_id for (task_id,) in rows}


@pytest.fixture
def alerting(dag_env, httpserver) -> Alerting:
    httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")  # Slack's answer
    # The settings turn the webhook URL into the Airflow connection the notifier posts through.
    env = airflow_environment({**dag_env, "ALERT_SLACK_WEBHOOK_URL": httpserver.url_for(WEBHOOK_PATH)})
    return Alerting(env, httpserver)


def assert_one_alert_per_failed_task(alerting: Alerting, logical_date: str, log: str) -> dict[str, str]:
    """Each failed task alerted once, naming the DAG, the task, the logical date, an error and its log link, with
    no secret in the payload or the run's log; return each alert's text by task id."""
    failed = alerting.failed_tasks(logical_date)
    texts = {}
    for raw, payload in alerting.alerts():
        for secret in (API_KEY, WEBHOOK_PATH.rsplit("/", 1)[1], TRUST_AUTH_PASSWORD, get_settings().postgres.password):
            assert not secret or secret not in raw, "an alert carries a secret"
        task_id = next(task_id for task_id in failed if f"task `{task_id}`" in payload["text"])
        assert task_id not in texts, f"{task_id} alerted twice"
        texts[task_id] = payload["text"]
        assert f"DAG `{DAG_ID}`" in texts[task_id]
        assert f"logical date {logical_date}T00:00:00+00:00" in texts[task_id]
        assert re.search(r"```\w+: .+```", texts[task_id], flags=re.DOTALL), "the alert quotes no error"
        log_link = rf"<http://\S+/dags/{DAG_ID}/runs/\S+/tasks/{re.escape(task_id)}\S*\|Task log>"
        assert re.search(log_link, texts[task_id]), "the alert has no link to the task log"
    assert set(texts) == failed, f"failed: {sorted(failed)}, alerted: {sorted(texts)}"
    assert WEBHOOK_PATH.rsplit("/", 1)[1] not in log, "the webhook URL leaked into the task logs"
    return texts


def test_a_bad_row_fails_the_dbt_tests_and_the_run(alerting, wh, sequential, api):
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
        log = _run_expecting_failure(alerting.run, DATES[1])
        assert "accepted_values_int_orders__orders_status" in log, _failed_tasks(log)
        after = checksums(wh)
        for relation in ("core.fct_orders", "marts.mart_order_status"):
            assert after[relation] == sequential.checksums[relation], f"{relation} must keep its last good state"
        alerts = assert_one_alert_per_failed_task(alerting, DATES[1], log)
        alert = alerts["transform.int_orders__orders_model_build"]
        assert "accepted_values_int_orders__orders_status" in alert
    finally:
        wh.execute("DELETE FROM bronze.orders_orders WHERE batch_id = 'manual_fix'")


def test_a_feed_that_stops_sending_orders_fails_its_volume_expectation_and_the_run(alerting, wh, sequential, api):
    """The last orders arrived three days ago, and the next interval's feed answers with none. The source was
    checked, so it is fresh; the volume expectation ``orders_keep_arriving`` is what fails."""
    wh.execute("UPDATE bronze.orders_orders SET loaded_at = loaded_at - interval '3 days'")
    api.add_fault(kind="status", path="/orders", status=200, body=[], times=10)
    try:
        log = _run_expecting_failure(alerting.run, NEXT_DATE)
        assert "orders_keep_arriving" in log, _failed_tasks(log)
        after = checksums(wh)
        for relation in ("core.fct_orders", "marts.mart_order_status"):
            assert after[relation] == sequential.checksums[relation], f"{relation} must keep its last good state"
        alerts = assert_one_alert_per_failed_task(alerting, NEXT_DATE, log)
        assert set(alerts) == {"transform.stg_orders__orders_model_build"}, "freshness must pass: it was checked"
        assert "orders_keep_arriving" in alerts["transform.stg_orders__orders_model_build"]
    finally:
        api.clear_faults()
