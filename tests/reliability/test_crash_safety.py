"""Crash safety of the bronze load: a loader killed with SIGKILL in the middle of its COPY, and the PostgreSQL
server restarted under a load, leave the batch (and the extraction window recorded with it, the cursor) exactly
as it was before; the retried load completes with
exact counts and the audit trail shows the lost attempt as failed. Two loads racing on one batch serialize on
a lock, and the primary key refuses a second copy of a record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from python_scripts.ingest.audit import ABANDONED
from python_scripts.ingest.bronze import create_bronze_tables
from python_scripts.ingest.lake import RAW, REJECTED, LocalLake, batch_id_for, object_key, open_lines_writer
from python_scripts.ingest.load import load_from_lake
from python_scripts.settings import PROJECT_ROOT, get_settings
from python_scripts.sources.base import Window
from tests.reliability.conftest import Report

pytestmark = pytest.mark.timeout(300)

START = datetime(2024, 6, 1, tzinfo=UTC)
END = datetime(2024, 6, 2, tzinfo=UTC)
BATCH = batch_id_for(START, END)
TABLE = sql.SQL("bronze.orders_orders")
BIG = 400_000  # rows: a COPY of several seconds on a 2-core machine


def _land(lake_dir: Path, rows: int, version: str, window: Window | None = None) -> dict:
    """Land a batch of synthetic orders the way extraction does; return its manifest (with the extraction window
    a windowed entity's manifest carries: the load records whatever window its manifest has)."""
    lake = LocalLake(lake_dir)
    raw_key = object_key(RAW, "orders", "orders", START, BATCH)
    rejected_key = object_key(REJECTED, "orders", "orders", START, BATCH)
    envelope = json.dumps(
        {
            "envelope": {
                "source": "orders",
                "entity": "orders",
                "batch_id": BATCH,
                "interval_start": START.isoformat(),
                "interval_end": END.isoformat(),
                "extracted_at": datetime.now(UTC).isoformat(),
            }
        }
    ).encode()
    with open_lines_writer(lake, raw_key) as raw, open_lines_writer(lake, rejected_key) as rejected:
        raw.write(envelope + b"\n")
        rejected.write(envelope + b"\n")
        line = (
            '{"order_id": %d, "customer_id": 7, "status": "shipped", "amount": 12.5, "currency": "EUR", '
            '"created_at": "2024-06-01T10:00:00Z", "updated_at": "2024-06-01T11:00:00Z", "version": "%s"}\n'
        )
        for order_id in range(1, rows + 1):
            raw.write((line % (order_id, version)).encode())
    return {
        "source": "orders",
        "entity": "orders",
        "batch_id": BATCH,
        "interval_start": START.isoformat(),
        "interval_end": END.isoformat(),
        "raw_key": raw_key,
        "rejected_key": rejected_key,
        "raw_uri": lake.uri(raw_key),
        "extracted": rows,
        "valid": rows,
        "rejected": 0,
        "window": window.to_dict() if window else None,
    }


@pytest.fixture
def crash_env(test_env, tmp_path):
    create_bronze_tables()
    admin = psycopg.connect(get_settings().warehouse_url, autocommit=True)
    admin.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(TABLE), (BATCH,))
    admin.execute("DELETE FROM audit.ingestion_runs WHERE batch_id = %s", (BATCH,))
    admin.execute("DELETE FROM audit.extraction_windows WHERE batch_id = %s", (BATCH,))
    admin.close()
    return {**os.environ, **test_env, "PYTHONPATH": str(PROJECT_ROOT)}


def _admin() -> psycopg.Connection:
    return psycopg.connect(get_settings().warehouse_url, autocommit=True)


def _batch(conn) -> tuple[int, set[str]]:
    """Rows of the batch in bronze and the versions they come from."""
    rows = conn.execute(
        sql.SQL("SELECT payload->>'version', count(*) FROM {} WHERE batch_id = %s GROUP BY 1").format(TABLE),
        (BATCH,),
    ).fetchall()
    return sum(count for _, count in rows), {version for version, _ in rows}


def _window(conn) -> Window | None:
    """The extraction window recorded with the batch."""
    row = conn.execute(
        "SELECT window_start, window_end FROM audit.extraction_windows WHERE batch_id = %s", (BATCH,)
    ).fetchone()
    return Window(*row) if row else None


def _loads(conn) -> list[tuple[str, str | None]]:
    rows = conn.execute(
        "SELECT status, error FROM audit.ingestion_runs WHERE batch_id = %s AND stage = 'load' ORDER BY run_id",
        (BATCH,),
    ).fetchall()
    return [(status, error) for status, error in rows]


def _start_loader(manifest: dict, env: dict, tmp_path: Path) -> subprocess.Popen:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    code = (
        "import json, sys; from python_scripts.ingest.load import load_from_lake; "
        "load_from_lake(json.load(open(sys.argv[1])))"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(path)], env=env, cwd=PROJECT_ROOT)


def _wait_for_copy(conn, loader: subprocess.Popen, min_tuples: int = 20_000) -> int:
    """Wait until the loader's COPY has sent ``min_tuples`` rows to the server; return how many."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert loader.poll() is None, "the loader finished before it could be interrupted"
        row = conn.execute(
            "SELECT p.tuples_processed FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)"
            " WHERE a.application_name = 'elt-load' AND p.relid = 'bronze.orders_orders'::regclass"
        ).fetchone()
        if row and row[0] >= min_tuples:
            return row[0]
        time.sleep(0.02)
    raise AssertionError("the loader's COPY never got under way")


def _wait_backend_gone(conn) -> None:
    deadline = time.monotonic() + 30
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'elt-load'").fetchone()[0]:
        assert time.monotonic() < deadline, "the killed loader's server session did not end"
        time.sleep(0.05)


def _retry_exactly(conn, manifest: dict, report: Report, fault: str, evidence: str) -> None:
    """The task's retry after the lost attempt: the whole new batch, and the lost attempt audited."""
    result = load_from_lake(manifest)
    assert result["loaded"] == BIG
    assert _batch(conn) == (BIG, {"v2"})
    assert _loads(conn) == [("success", None), ("failed", ABANDONED), ("success", None)]
    report.add(
        fault=fault,
        endpoint="bronze.orders_orders",
        outcome="previous batch intact (1,000 v1 rows); retry loaded all; lost attempt audited as abandoned",
        requests="-",
        extracted=BIG,
        loaded=result["loaded"],
        quarantined=0,
        bronze_dup_keys=0,
        evidence=evidence,
    )


@pytest.fixture(scope="module")
def crash_report():
    report = Report()
    yield report
    from tests.reliability.conftest import REPORT_DIR

    report.write(REPORT_DIR / "crash")


def test_sigkill_in_the_middle_of_copy_leaves_the_previous_batch(crash_env, tmp_path, crash_report):
    conn = _admin()
    first, second = Window(None, END), Window(START, END + timedelta(days=1))
    load_from_lake(_land(tmp_path / "lake", 1_000, "v1", first))
    assert _batch(conn) == (1_000, {"v1"})
    assert _window(conn) == first

    manifest = _land(tmp_path / "lake", BIG, "v2", second)
    loader = _start_loader(manifest, crash_env, tmp_path)
    copied = _wait_for_copy(conn, loader)
    os.kill(loader.pid, signal.SIGKILL)
    loader.wait(timeout=30)
    _wait_backend_gone(conn)

    assert loader.returncode == -signal.SIGKILL
    assert _batch(conn) == (1_000, {"v1"}), "a killed load must leave the batch as it was"
    assert _window(conn) == first, "a killed load must not move the cursor"
    assert [status for status, _ in _loads(conn)] == ["success", "running"]

    evidence = f"killed after {copied:,} rows reached the server"
    _retry_exactly(conn, manifest, crash_report, "loader SIGKILLed mid-COPY", evidence)
    assert _window(conn) == second
    conn.close()


def _cluster() -> tuple[str, str] | None:
    """The Debian cluster (version, name) serving the tests, when this process may restart it."""
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster") or not shutil.which("pg_lsclusters"):
        return None
    settings = get_settings()
    if settings.postgres.host not in {"127.0.0.1", "localhost", "::1"}:
        return None
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
    for line in listing.stdout.splitlines():
        version, name, port, status, *_ = line.split()
        if int(port) == settings.postgres.port and status.startswith("online"):
            return version, name
    return None


def _wait_server(timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with _admin() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "PostgreSQL did not come back"
            time.sleep(0.2)


def test_server_restart_in_the_middle_of_a_load(crash_env, tmp_path, crash_report, wh):
    cluster = _cluster()
    if cluster is None:
        pytest.skip("restarting PostgreSQL needs root and a local Debian cluster (pg_ctlcluster) on the test port")
    conn = _admin()
    load_from_lake(_land(tmp_path / "lake", 1_000, "v1"))
    manifest = _land(tmp_path / "lake", BIG, "v2")
    loader = _start_loader(manifest, crash_env, tmp_path)
    copied = _wait_for_copy(conn, loader)
    conn.close()
    wh.close()
    # Immediate mode: no clean shutdown, the server recovers from its WAL on start, as after a crash.
    restart = ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "restart", "--mode", "immediate"]
    subprocess.run(restart, check=True, timeout=120, capture_output=True)
    loader.wait(timeout=60)
    _wait_server()

    assert loader.returncode != 0, "the load cannot have succeeded across a restart"
    conn = _admin()
    assert _batch(conn) == (1_000, {"v1"}), "an interrupted load must leave the batch as it was"

    evidence = f"restarted after {copied:,} rows reached the server; loader exit code {loader.returncode}"
    _retry_exactly(conn, manifest, crash_report, "PostgreSQL restarted (immediate mode) mid-COPY", evidence)
    conn.close()


def test_two_loads_racing_on_one_batch_serialize(crash_env, tmp_path, crash_report):
    manifest = _land(tmp_path / "lake", 50_000, "v1")
    holder = _admin()
    # Hold the loader's lock so that both loads are provably waiting at the same time.
    holder.execute("SELECT pg_advisory_lock(hashtext('bronze.orders_orders'))")
    results, errors = [], []

    def load() -> None:
        try:
            results.append(load_from_lake(manifest))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    waiting = 0
    while waiting < 2:
        waiting = holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()[0]
        assert time.monotonic() < deadline, f"expected both loads to wait for the lock, {waiting} did"
        time.sleep(0.05)
    holder.execute("SELECT pg_advisory_unlock(hashtext('bronze.orders_orders'))")
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert [r["loaded"] for r in results] == [50_000, 50_000]
    assert _batch(holder) == (50_000, {"v1"}), "two racing loads must leave one copy of the batch"
    assert [status for status, _ in _loads(holder)] == ["success", "success"]

    # And the constraint under the lock: bronze refuses a second copy of a record outright.
    with pytest.raises(psycopg.errors.UniqueViolation):
        holder.execute(
            sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE batch_id = %s LIMIT 1").format(TABLE, TABLE), (BATCH,)
        )
    crash_report.add(
        fault="two loads of one batch at once",
        endpoint="bronze.orders_orders",
        outcome="serialized on the batch lock; one copy of the batch",
        requests="-",
        extracted=50_000,
        loaded="50,000 (twice, replacing)",
        quarantined=0,
        bronze_dup_keys=0,
        evidence="both loads seen waiting on the advisory lock; duplicate insert → UniqueViolation",
    )
    holder.close()
