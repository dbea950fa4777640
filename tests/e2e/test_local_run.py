"""`make run` (python_scripts.ops.local_run) tells the truth: a date it cannot run is refused before anything is
created, every DAG runs although one fails, and it ends with a status line per DAG and a non-zero exit when a run
failed or created no task instances."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from python_scripts.ops.airflow_cli import AirflowCommandError, run_dag
from python_scripts.ops.local_run import logical_date, run_one
from python_scripts.settings import PROJECT_ROOT, get_settings

pytestmark = pytest.mark.e2e


def local_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "python_scripts.ops.local_run", *args]
    return subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize(
    ("date", "reason"),
    [
        ("30/01/2025", "is not a date"),
        ("2024-06-19", "is before the DAGs' first data interval (2025-01-01)"),
        (f"{datetime.now(UTC) + timedelta(days=2):%Y-%m-%d}", "is in the future"),
    ],
)
def test_a_date_it_cannot_run_is_refused_in_one_line_before_anything_is_created(e2e_env, tmp_path, date, reason):
    airflow_db = "airflow_refused_date_check"
    env = {**e2e_env, "AIRFLOW_DB": airflow_db, "AIRFLOW_HOME": str(tmp_path)}
    result = local_run(env, "--date", date)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: DATE={date!r} {reason}" + result.stderr.split(reason, 1)[1].strip()
    ]
    admin = get_settings(env).postgres.url("postgres")
    with psycopg.connect(admin) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (airflow_db,)).fetchone() is None
    assert list(tmp_path.iterdir()) == []


def test_a_run_that_creates_no_task_instance_is_a_failure(dag_env):
    before_start = datetime(2024, 6, 19, tzinfo=UTC)
    outcome = run_one("platform_health", before_start, dag_env)
    assert outcome.states == {}
    assert not outcome.succeeded
    assert "no task instances" in outcome.line()


def test_one_misconfigured_source_fails_alone_and_the_exit_says_so(e2e_env, wh):
    """The Fake Store API unreachable, the orders feed from the sandbox: both DAGs run, the summary names the
    failed extraction with its first error, the audit trail has it, and the exit is non-zero."""
    wh.reset()
    env = {**e2e_env, "FAKESTORE_BASE_URL": "http://127.0.0.1:9", "HTTP_MAX_RETRIES": "0", "TASK_RETRY_DELAY": "0"}
    started = datetime.now(UTC)
    result = local_run(env, "--date", "2025-01-20", "--dag", "fakestore_ingest", "--dag", "orders_batch")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    # Progress while the DAGs run: a line per try of a task, as it ends.
    progress = [line.split() for line in result.stdout.splitlines() if line.startswith("    ")]
    assert progress[0][0].startswith("extract[")  # the three extractions fail in whichever order
    assert progress[0][1] == "up_for_retry"
    assert ["extract[0]", "failed"] in [line[:2] for line in progress]
    assert ["publish_bronze", "success"] in [line[:2] for line in progress]
    statuses = result.stdout.split("\nDAG runs\n", 1)[1].splitlines()
    assert statuses[0].split()[:2] == ["fakestore_ingest", "FAILED"]
    assert "extract[0]" in statuses[0]
    assert "Error: " in statuses[1]
    assert statuses[2].split()[:2] == ["orders_batch", "success"]
    failed = wh.execute(
        "SELECT count(*) FROM audit.ingestion_runs"
        " WHERE source = 'fakestore' AND stage = 'extract' AND status = 'failed'"
    ).fetchone()[0]
    assert failed >= 3  # one per entity at least, every try recorded
    assert wh.execute("SELECT count(*) FROM bronze.orders_orders").fetchone()[0] > 0
    # The runs look like real runs in the UI: started when they started, not at their logical date.
    settings = get_settings(env)
    with psycopg.connect(settings.postgres.url(settings.airflow_db)) as conn:
        runs = conn.execute(
            "SELECT dag_id, start_date, end_date FROM dag_run WHERE logical_date = %s"
            " AND dag_id IN ('fakestore_ingest', 'orders_batch') ORDER BY dag_id",
            (datetime(2025, 1, 20, tzinfo=UTC),),
        ).fetchall()
    assert [dag_id for dag_id, *_ in runs] == ["fakestore_ingest", "orders_batch"]
    for dag_id, start, end in runs:
        assert started - timedelta(seconds=5) <= start <= end <= datetime.now(UTC), dag_id


def test_the_logical_date_is_utc_whatever_form_it_takes():
    now = datetime(2025, 3, 1, tzinfo=UTC)
    assert logical_date("2025-01-30", now) == datetime(2025, 1, 30, tzinfo=UTC)
    assert logical_date("2025-01-30T05:00:00+02:00", now) == datetime(2025, 1, 30, 3, tzinfo=UTC)


def test_a_missing_key_fails_the_extraction_at_once_and_is_audited(dag_env, wh):
    """A retry cannot bring a key: the extract tasks fail on their first try (Airflow's retries are skipped), and
    each failure reaches the audit trail although no request was made."""
    wh.reset()
    env = {**dag_env, "OPENWEATHER_API_KEY": "", "WEATHER_CITIES": "London,GB;Tokyo,JP"}
    date = datetime(2025, 1, 22, 7, tzinfo=UTC)
    with pytest.raises(AirflowCommandError):
        run_dag("weather_ingest", date.isoformat(), env)
    settings = get_settings(env)
    with psycopg.connect(settings.postgres.url(settings.airflow_db)) as conn:
        tries = conn.execute(
            "SELECT ti.map_index, ti.state, ti.try_number FROM task_instance AS ti JOIN dag_run AS dr"
            " ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id"
            " WHERE dr.dag_id = 'weather_ingest' AND dr.logical_date = %s AND ti.task_id = 'extract'"
            " ORDER BY ti.map_index",
            (date,),
        ).fetchall()
    assert tries == [(0, "failed", 1), (1, "failed", 1)]
    errors = wh.execute(
        "SELECT error FROM audit.ingestion_runs WHERE source = 'openweather' AND status = 'failed' ORDER BY run_id"
    ).fetchall()
    assert [error.split(":", 1)[0] for (error,) in errors] == ["CredentialsError", "CredentialsError"]
    assert all("no API key: set OPENWEATHER_API_KEY" in error for (error,) in errors)
