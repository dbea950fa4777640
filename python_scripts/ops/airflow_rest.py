"""A small client of Airflow's REST API v2: log in, trigger a DAG run and follow it to its end (the end-to-end
tests and the Cosmos benchmark drive the native services with it)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime

import requests

# A busy API server (task processes on every core) now and then answers a GET with a 5xx that succeeds a
# moment later: GETs are asked again, a few times.
GET_ATTEMPTS = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowClient:
    """Logs in through ``/auth/token`` and triggers and polls DAG runs.

    ``parsed_since``: the time the services started, when their metadata database may still hold a DAG as
    another configuration serialized it (a benchmark switching settings between runs): a run is then triggered
    only once their own dag-processor has parsed the DAG, so its tasks are this configuration's."""

    def __init__(self, base_url: str, username: str, password: str, parsed_since: datetime | None = None):
        self.base_url = base_url
        self.parsed_since = parsed_since
        token = requests.post(f"{base_url}/auth/token", json={"username": username, "password": password}, timeout=30)
        token.raise_for_status()
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        for attempt in range(1, GET_ATTEMPTS + 1):
            response = self.http.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
            if method != "GET" or response.status_code < 500 or attempt == GET_ATTEMPTS:
                break
            time.sleep(2)
        response.raise_for_status()
        return response

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the dag-processor has serialized the DAG (since ``parsed_since``, when given)."""
        self._poll_until(
            f"/dags/{dag_id}",
            lambda dag: self._parsed_since_start(dag.get("last_parsed_time")),
            timeout,
            f"{dag_id} was not serialized by the dag-processor within {timeout} s",
        )

    def wait_for_task(self, dag_id: str, task_id: str, timeout: float = 120) -> None:
        """Until the serialized DAG has ``task_id``: a run created from a version another configuration
        serialized (tasks named otherwise) would not be this configuration's."""
        self._poll_until(
            f"/dags/{dag_id}/tasks",
            lambda tasks: task_id in {task["task_id"] for task in tasks["tasks"]},
            timeout,
            f"{dag_id} has no task {task_id} after {timeout} s",
        )

    def _poll_until(self, path: str, done: Callable[[dict], bool], timeout: float, failure: str) -> None:
        """GET ``path`` every second until ``done`` holds for its JSON; ``TimeoutError(failure)`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.http.get(f"{self.base_url}/api/v2{path}", timeout=10)
            if response.status_code == 200 and done(response.json()):
                return
            time.sleep(1)
        raise TimeoutError(failure)

    def _parsed_since_start(self, last_parsed_time: str | None) -> bool:
        if self.parsed_since is None:
            return True
        return last_parsed_time is not None and datetime.fromisoformat(last_parsed_time) >= self.parsed_since

    def trigger(self, dag_id: str, logical_date: str, conf: dict | None = None) -> str:
        """Unpause the DAG and trigger a run for ``logical_date``; its run id. A run left for the same date by an
        earlier session is deleted first (the metadata database outlives test sessions)."""
        self.wait_for_dag(dag_id)
        window = {"logical_date_gte": logical_date, "logical_date_lte": logical_date}
        for stale in self.api("GET", f"/dags/{dag_id}/dagRuns", params=window).json()["dag_runs"]:
            self.api("DELETE", f"/dags/{dag_id}/dagRuns/{stale['dag_run_id']}")
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        body = {"logical_date": logical_date, "conf": conf or {}}
        return self.api("POST", f"/dags/{dag_id}/dagRuns", json=body).json()["dag_run_id"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of the run, page by page (the API returns 50 at a time by default)."""
        found: list[dict] = []
        while True:
            page = self.api(
                "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100, "offset": len(found)}
            ).json()
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 420) -> dict:
        """Poll the run to an end state (or the timeout); the run's JSON with ``task_states`` and
        ``task_instances`` added."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()
            if run["state"] in {"success", "failed"} or time.monotonic() > deadline:
                break
            time.sleep(3)
        tasks = self.task_instances(dag_id, run_id)
        run["task_states"] = {(t["task_id"], t["map_index"]): t["state"] for t in tasks}
        run["task_instances"] = tasks
        return run

    def run_dag(self, dag_id: str, logical_date: str, conf: dict | None = None, timeout: float = 420) -> dict:
        """Trigger a run for ``logical_date`` and poll it to an end state (see trigger and wait_for_run)."""
        return self.wait_for_run(dag_id, self.trigger(dag_id, logical_date, conf), timeout)
