"""The native Airflow services (``make airflow``) driven through a real client: start api-server, scheduler,
dag-processor and triggerer, trigger ``fakestore_ingest`` over the REST API v2, poll it to success, check the
warehouse, stop the services, and check that no process of theirs is left."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import requests

from python_scripts import airflow_services

pytestmark = pytest.mark.e2e

LOGICAL_DATE = "2025-01-11T00:00:00Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with(marker: str) -> list[int]:
    """PIDs of this user's processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def services(dag_env, wh, api):
    wh.reset()
    api.set_clock(None)
    port = free_port()
    base_url = airflow_services.start(dag_env, port)
    groups = airflow_services.running(dag_env)
    state = {"base_url": base_url, "groups": groups, "port": port}
    try:
        yield state
    finally:
        state["killed"] = airflow_services.stop(dag_env)


@pytest.fixture(scope="module")
def client(services, dag_env) -> requests.Session:
    password = airflow_services.admin_password(dag_env)
    token = requests.post(
        f"{services['base_url']}/auth/token", json={"username": "admin", "password": password}, timeout=30
    )
    token.raise_for_status()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return session


def wait_for_dag(client, base_url: str, dag_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(f"{base_url}/api/v2/dags/{dag_id}", timeout=10).status_code == 200:
            return
        time.sleep(1)
    raise AssertionError(f"{dag_id} was not serialized by the dag-processor within {timeout} s")


@pytest.fixture(scope="module")
def dag_run(services, client) -> dict:
    base = services["base_url"]
    wait_for_dag(client, base, "fakestore_ingest")
    # The metadata database outlives test sessions: drop a run left there for the same logical date.
    old = client.get(
        f"{base}/api/v2/dags/fakestore_ingest/dagRuns",
        params={"logical_date_gte": LOGICAL_DATE, "logical_date_lte": LOGICAL_DATE},
        timeout=10,
    ).json()
    for stale in old["dag_runs"]:
        client.delete(f"{base}/api/v2/dags/fakestore_ingest/dagRuns/{stale['dag_run_id']}", timeout=30)
    client.patch(f"{base}/api/v2/dags/fakestore_ingest", json={"is_paused": False}, timeout=10).raise_for_status()
    created = client.post(
        f"{base}/api/v2/dags/fakestore_ingest/dagRuns",
        json={"logical_date": LOGICAL_DATE, "conf": {"full_history": False}},
        timeout=10,
    )
    created.raise_for_status()
    run_id = created.json()["dag_run_id"]
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        run = client.get(f"{base}/api/v2/dags/fakestore_ingest/dagRuns/{run_id}", timeout=10).json()
        if run["state"] in {"success", "failed"}:
            break
        time.sleep(3)
    tasks = client.get(f"{base}/api/v2/dags/fakestore_ingest/dagRuns/{run_id}/taskInstances", timeout=10).json()
    run["task_states"] = {(t["task_id"], t["map_index"]): t["state"] for t in tasks["task_instances"]}
    return run


def test_every_service_runs_in_its_own_process_group(services):
    assert set(services["groups"]) >= set(airflow_services.SERVICES)
    assert len(set(services["groups"].values())) == len(services["groups"])


def test_the_run_triggered_over_rest_succeeds(dag_run):
    failed = {key: state for key, state in dag_run["task_states"].items() if state != "success"}
    assert dag_run["state"] == "success", failed
    assert dag_run["data_interval_start"].startswith("2025-01-10")
    assert len(dag_run["task_states"]) > 10


def test_bronze_and_marts_are_filled(dag_run, wh, api):
    window = {"startdate": "2025-01-10", "enddate": "2025-01-11"}
    carts = wh.execute(
        "SELECT count(*) FROM bronze.fakestore_carts WHERE batch_id = '20250110T000000Z_20250111T000000Z'"
    ).fetchone()[0]
    assert carts == len(api.get("/carts", **window)) > 0
    assert wh.execute("SELECT count(*) FROM marts.mart_sales_overview").fetchone()[0] > 0


def test_stop_leaves_no_process_behind(services, dag_run, dag_env):
    # Only the services (and the task processes they fork) carry this variable, set for them at start.
    marker = f"AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:{services['port']}/"
    assert processes_with(marker)
    airflow_services.stop(dag_env)
    assert airflow_services.running(dag_env) == {}
    for pgid in services["groups"].values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pgid, 0)
    assert processes_with(marker) == []
