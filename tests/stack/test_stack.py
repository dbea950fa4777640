"""The Docker stack as its users run it: `make up` from a clone, DAG runs triggered over the REST API, the
marts, the lake bucket and the warehouse's roles checked from the host through the published ports, the UI in
Chromium, then `make down` / `make up` (data kept) and `make clean` (data gone).

The tests run in file order and share one stack (starting it costs about two minutes).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg
import pytest
import requests
from psycopg import sql

from python_scripts.ingest.lake import RAW, batch_id_for, object_key
from python_scripts.sources import SOURCES
from python_scripts.warehouse.checksum import table_checksum
from tests.stack.harness import AIRFLOW_IMAGE, Stack, timed
from tests.support.airflow_ui import browser_page, expect_successful_run_in_grid, log_in, screenshot
from tests.support.marts import sales_overview_from_api, sales_overview_from_mart

pytestmark = pytest.mark.stack

LOGICAL_DATE = "2025-01-15T00:00:00Z"
INTERVAL = (datetime(2025, 1, 14, tzinfo=UTC), datetime(2025, 1, 15, tzinfo=UTC))
FIRST_LOAD: dict[str, str] = {}  # the carts' first load asks for the whole history (no startdate/enddate)
DAGS = {"fakestore_ingest": "fakestore", "orders_batch": "orders"}
MARTS = ("marts.mart_sales_overview", "marts.mart_product_performance", "marts.mart_customer_activity",
         "marts.mart_order_status")  # fmt: skip


def test_up_without_a_terminal_names_each_missing_secret_and_starts_nothing(stack: Stack):
    result = stack.make("up", timeout=120)
    assert result.returncode != 0
    for name in ("POSTGRES_PASSWORD", "S3_SECRET_ACCESS_KEY", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"):
        assert name in result.stderr, result.stderr
    assert "make secrets" in result.stderr
    assert stack.compose("ps", "--all", "--quiet").stdout.strip() == ""


def test_make_secrets_fills_every_secret_once_and_keeps_what_is_set(stack: Stack):
    env_file = stack.root / ".env"
    env_file.write_text(env_file.read_text() + "POSTGRES_PASSWORD=chosen-by-the-user\n")
    first = stack.make("secrets")
    assert first.returncode == 0, first.stderr
    assert "Generated random values" in first.stdout
    values = stack.settings
    assert values["POSTGRES_PASSWORD"] == "chosen-by-the-user"  # pragma: allowlist secret
    assert len(values["S3_SECRET_ACCESS_KEY"]) >= 32
    again = stack.make("secrets")
    assert again.returncode == 0
    assert "Generated" not in again.stdout
    assert stack.settings == values
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


@pytest.fixture(scope="module")
def running(stack: Stack) -> Stack:
    """`make up` after a build of the project image (timed apart: the first build is cold)."""
    with timed("project image build (cold, on the stand-in bases)"):
        built = stack.compose("build", check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    with timed("make up until every service is healthy (image built)"):
        result = stack.make("up")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    stack.up_output = result.stdout
    return stack


def test_make_up_prints_the_urls_and_the_admin_password(running: Stack):
    assert running.url("AIRFLOW_HOST_PORT").replace("127.0.0.1", "localhost") in running.up_output
    assert running.settings["AIRFLOW_ADMIN_PASSWORD"] in running.up_output


def test_every_service_is_healthy_and_every_one_shot_succeeded(running: Stack):
    services = {s["Service"]: s for s in running.services()}
    assert {"postgres", "s3", "lake-init", "sandbox", "airflow-init", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer"} <= set(services)  # fmt: skip
    for name, service in services.items():
        if name.endswith("-init"):
            assert (service["State"], service["ExitCode"]) == ("exited", 0), name
        else:
            assert (service["State"], service["Health"]) == ("running", "healthy"), name
    assert all(s["Image"] == AIRFLOW_IMAGE for n, s in services.items() if n.startswith("airflow-"))


@pytest.fixture(scope="module")
def dag_runs(running: Stack) -> dict[str, dict]:
    client = running.airflow()
    runs = {}
    for dag_id in DAGS:
        with timed(f"{dag_id} run in containers (trigger to success)"):
            runs[dag_id] = client.run_dag(dag_id, LOGICAL_DATE, timeout=900)
    return runs


@pytest.mark.parametrize("dag_id", DAGS)
def test_the_dags_triggered_over_rest_succeed(dag_runs, dag_id):
    run = dag_runs[dag_id]
    failed = {key: state for key, state in run["task_states"].items() if state != "success"}
    assert run["state"] == "success", failed
    assert run["data_interval_start"].startswith("2025-01-14")


def test_the_marts_hold_what_the_sandbox_serves(running: Stack, dag_runs):
    api = running.sandbox()
    with running.connect() as conn:
        assert sales_overview_from_mart(conn) == sales_overview_from_api(api, FIRST_LOAD) != {}
        batch = batch_id_for(*INTERVAL)
        orders = conn.execute("SELECT count(*) FROM bronze.orders_orders WHERE batch_id = %s", (batch,)).fetchone()[0]
        assert orders == len(api.get("/orders", as_of=LOGICAL_DATE, size=100)) > 0
        assert conn.execute("SELECT sum(orders) FROM marts.mart_order_status").fetchone()[0] == orders


def lake_keys(stack: Stack) -> dict[str, int]:
    bucket = stack.settings.get("LAKE_BUCKET", "elt-lake")
    pages = stack.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="lake/")
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


def test_the_raw_objects_are_in_the_bucket_under_the_documented_keys(running: Stack, dag_runs):
    keys = lake_keys(running)
    batch = batch_id_for(*INTERVAL)
    for source in DAGS.values():
        for entity in SOURCES[source].entity_names:
            key = "lake/" + object_key(RAW, source, entity, INTERVAL[0], batch)
            assert keys.get(key, 0) > 0, f"{key} missing from {sorted(keys)}"
    versioning = running.s3().get_bucket_versioning(Bucket=running.settings.get("LAKE_BUCKET", "elt-lake"))
    assert versioning.get("Status") == "Enabled"


def test_bi_reader_reads_the_marts_and_is_denied_bronze(running: Stack, dag_runs):
    with running.connect("bi_reader", "BI_READER_PASSWORD") as conn:
        for mart in MARTS:
            conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(*mart.split("."))))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM bronze.fakestore_carts LIMIT 1")


def test_the_lake_replay_dag_reloads_orders_from_the_bucket(running: Stack, dag_runs):
    """The lake_replay DAG in the containers: the orders batch reloaded from the S3 server's objects, and the
    warehouse as it was (dbt run in the Airflow image by the replay itself)."""
    relations = ("bronze.orders_orders", "marts.mart_order_status")
    with running.connect() as conn:
        before = {table: table_checksum(conn, table) for table in relations}
    conf = {"source": "orders", "entity": "", "start": "2025-01-14", "end": "2025-01-15"}
    with timed("lake_replay of one orders batch in containers"):
        run = running.airflow().run_dag("lake_replay", "2025-01-20T00:00:00Z", conf=conf, timeout=600)
    assert run["state"] == "success", run["task_states"]
    with running.connect() as conn:
        assert {table: table_checksum(conn, table) for table in relations} == before
        replays = conn.execute("SELECT count(*) FROM audit.ingestion_runs WHERE replay AND status = 'success'")
        assert replays.fetchone()[0] == 1


def test_the_ui_on_the_published_port_shows_the_run(running: Stack, dag_runs):
    run = dag_runs["fakestore_ingest"]
    with browser_page() as page:
        try:
            log_in(page, running.url("AIRFLOW_HOST_PORT"), "admin", running.settings["AIRFLOW_ADMIN_PASSWORD"])
            expect_successful_run_in_grid(
                page, running.url("AIRFLOW_HOST_PORT"), "fakestore_ingest", run["dag_run_id"], ("extract", "load")
            )
        finally:
            screenshot(page, "stack_airflow_grid.png")


def test_a_task_that_finds_the_s3_server_down_fails_cleanly_and_its_retry_succeeds(running: Stack, dag_runs):
    """S3 is stopped before the run: extract cannot land its raw object and fails; S3 comes back during the retry
    delay, the retry lands the object and the load reads it whole. Bronze then holds exactly the batch the feed
    serves for the interval: no partial object was loaded. (orders_batch: the smallest DAG that lands an object.)"""
    client, dag_id = running.airflow(), "orders_batch"
    interval = (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 16, tzinfo=UTC))
    running.compose("stop", "s3")
    try:
        run_id = client.trigger(dag_id, "2025-01-16T00:00:00Z")
        deadline = time.monotonic() + 300
        while not any(t["state"] == "up_for_retry" for t in client.task_instances(dag_id, run_id)):
            assert time.monotonic() < deadline, "no task failed while S3 was down"
            time.sleep(2)
    finally:
        running.compose("start", "s3")
    run = client.wait_for_run(dag_id, run_id, timeout=900)
    assert run["state"] == "success", run["task_states"]
    retried = {t["task_id"] for t in run["task_instances"] if t["try_number"] > 1}
    assert "extract" in retried
    orders = running.sandbox().get("/orders", as_of="2025-01-16T00:00:00Z", size=100)
    with running.connect() as conn:
        loaded = conn.execute(
            "SELECT count(*) FROM bronze.orders_orders WHERE batch_id = %s", (batch_id_for(*interval),)
        ).fetchone()[0]
    assert loaded == len(orders) > 0


def test_down_then_up_keeps_the_warehouse_and_the_lake(running: Stack, dag_runs):
    with running.connect() as conn:
        before = {table: table_checksum(conn, table) for table in MARTS}
    objects = lake_keys(running)
    with timed("make down"):
        down = running.make("down", timeout=300)
    assert down.returncode == 0, down.stderr
    assert running.compose("ps", "--quiet").stdout.strip() == ""
    with timed("project image build (cached)"):
        running.compose("build")
    with timed("make up again (image built, volumes kept)"):
        up = running.make("up")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-5000:]
    with running.connect() as conn:
        assert {table: table_checksum(conn, table) for table in MARTS} == before
    assert lake_keys(running) == objects


def test_the_celery_profile_runs_orders_batch_on_a_worker(running: Stack, dag_runs):
    with timed("make up with the celery profile (CeleryExecutor)"):
        up = running.make("up", COMPOSE_PROFILES="celery", AIRFLOW_EXECUTOR="CeleryExecutor")
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-5000:]
    services = {s["Service"]: s for s in running.services()}
    for name in ("redis", "airflow-worker", "flower"):
        assert (services[name]["State"], services[name]["Health"]) == ("running", "healthy"), name
    worker = running.compose("exec", "-T", "airflow-worker", "hostname").stdout.strip()
    with timed("orders_batch run on the Celery worker"):
        run = running.airflow().run_dag("orders_batch", "2025-01-17T00:00:00Z", timeout=900)
    assert run["state"] == "success", run["task_states"]
    # Empty operators are marked done by the scheduler without running anywhere; every other task ran on the worker.
    ran = [t for t in run["task_instances"] if t["state"] == "success" and t["operator"] != "EmptyOperator"]
    assert ran
    assert {t["hostname"] for t in ran} == {worker}, [(t["task_id"], t["operator"], t["hostname"]) for t in ran]


def test_prometheus_scrapes_the_pipeline_health_of_the_stack(running: Stack, dag_runs):
    """The monitoring profile's Prometheus and PostgreSQL exporter (stand-ins from Debian's packages where no
    registry is reached; Grafana and the StatsD exporter have none, so they are left out with --no-deps) scrape
    the health views that platform_health (re)creates: the rows loaded per source equal the audit trail's."""
    health = running.airflow().run_dag("platform_health", LOGICAL_DATE, timeout=600)
    assert health["state"] == "success", health["task_states"]
    started = running.compose(
        "--profile", "monitoring", "up", "--detach", "--no-deps", "--wait", "postgres-exporter", "prometheus",
        check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr[-3000:]
    url, query = running.url("PROMETHEUS_HOST_PORT") + "/api/v1/query", {"query": "elt_source_rows_loaded_total"}
    deadline, expected, scraped = time.monotonic() + 120, {}, None
    while (scraped != expected or not expected) and time.monotonic() < deadline:
        time.sleep(3)
        # Read again each time: a scheduled run may load more while Prometheus catches up.
        with running.connect() as conn:
            # Each batch once, by its latest successful load (lake_replay reloaded one above).
            audit = conn.execute(
                "SELECT source, entity, sum(loaded_count) FROM ("
                " SELECT DISTINCT ON (source, entity, batch_id) source, entity, loaded_count"
                " FROM audit.ingestion_runs WHERE stage = 'load' AND status = 'success'"
                " ORDER BY source, entity, batch_id, run_id DESC) AS batches GROUP BY source, entity"
            ).fetchall()
        expected = {(source, entity): float(total) for source, entity, total in audit}
        answer = requests.get(url, params=query, timeout=10)
        result = answer.json()["data"]["result"] if answer.ok else []
        scraped = {(r["metric"]["source"], r["metric"]["entity"]): float(r["value"][1]) for r in result}
    assert ("fakestore", "carts") in expected
    assert scraped == expected


def test_clean_removes_the_containers_and_the_volumes(running: Stack):
    assert running.volumes(), "the stack has no volumes to remove"
    result = running.make("clean", timeout=300)
    assert result.returncode == 0, result.stderr
    assert running.compose("ps", "--all", "--quiet").stdout.strip() == ""
    assert running.volumes() == []


def test_up_names_a_service_that_never_gets_healthy_and_stops_what_started(running: Stack):
    """An S3 image that cannot serve (Redis' runs no `mini`): make up fails within the wait, names the service with
    its last log lines, and brings the half-started stack down."""
    result = running.make("up", timeout=600, S3_IMAGE="redis:7.2-bookworm", STACK_WAIT_TIMEOUT="30")
    assert result.returncode != 0
    named = next(line for line in result.stderr.splitlines() if "did not become healthy" in line)
    assert "s3 (" in named, result.stderr[-3000:]
    assert "last 40 log lines of s3" in result.stderr
    assert [s for s in running.services() if s["State"] == "running"] == []
