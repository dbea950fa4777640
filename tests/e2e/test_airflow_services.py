"""The native Airflow services (``make airflow``) driven through a real client: start api-server, scheduler,
dag-processor and triggerer, trigger ``orders_batch`` over the REST API v2, poll it to success, check the
warehouse, log in to the UI with headless Chromium and look at the run in the grid, stop the services, and check
that no process of theirs is left."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import expect, sync_playwright

from python_scripts import airflow_services
from python_scripts.settings import PROJECT_ROOT
from tests.e2e.airflow_rest import AirflowClient, free_port

pytestmark = pytest.mark.e2e

DAG_ID = "orders_batch"
LOGICAL_DATE = "2025-01-11T00:00:00Z"
# Kept after the session for a look at what the browser saw (the folder is not versioned).
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
# Upper bound of every browser wait, in milliseconds.
UI_TIMEOUT = 30_000


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
def dag_run(services, dag_env) -> dict:
    client = AirflowClient(services["base_url"], airflow_services.ADMIN_USER, airflow_services.admin_password(dag_env))
    return client.run_dag(DAG_ID, LOGICAL_DATE)


def test_every_service_runs_in_its_own_process_group(services):
    assert set(services["groups"]) >= set(airflow_services.SERVICES)
    assert len(set(services["groups"].values())) == len(services["groups"])


def test_the_run_triggered_over_rest_succeeds(dag_run):
    failed = {key: state for key, state in dag_run["task_states"].items() if state != "success"}
    assert dag_run["state"] == "success", failed
    assert dag_run["data_interval_start"].startswith("2025-01-10")
    task_ids = {task_id for task_id, _ in dag_run["task_states"]}
    assert {"extract", "load", "publish_bronze", "transform.fct_orders_model_build"} <= task_ids


def test_bronze_and_marts_are_filled(dag_run, wh, api):
    orders = wh.execute(
        "SELECT count(*) FROM bronze.orders_orders WHERE batch_id = '20250110T000000Z_20250111T000000Z'"
    ).fetchone()[0]
    assert orders == len(api.get("/orders", as_of=LOGICAL_DATE, size=100)) > 0
    assert wh.execute("SELECT sum(orders) FROM marts.mart_order_status").fetchone()[0] == orders


@pytest.fixture
def ui_page():
    """A page of headless Chromium: Debian's package, as Playwright cannot download its own browser here."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make browser` (apt-get install --no-install-recommends chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"], timeout=UI_TIMEOUT)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT)
            page.set_default_navigation_timeout(UI_TIMEOUT)
            yield page
        finally:
            browser.close()


def test_the_ui_shows_the_run_in_the_grid(services, dag_run, dag_env, ui_page):
    base, run_id, page = services["base_url"], dag_run["dag_run_id"], ui_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        # Not logged in, the UI sends the browser to the simple auth manager's login form (/auth/login?next=/).
        page.goto(base)
        expect(page).to_have_url(re.compile(r"/auth/login"), timeout=UI_TIMEOUT)
        page.locator("input[name=username]").fill(airflow_services.ADMIN_USER)
        page.locator("input[name=password]").fill(airflow_services.admin_password(dag_env))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("nav-sidebar")).to_be_visible(timeout=UI_TIMEOUT)
        expect(page).not_to_have_url(re.compile(r"/auth/login"), timeout=UI_TIMEOUT)

        # The run's page: the grid (the default view) beside the run's details.
        page.goto(f"{base}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}")
        header = page.get_by_test_id("header-card")
        expect(header).to_contain_text(run_id, timeout=UI_TIMEOUT)
        expect(header.get_by_test_id("state-badge")).to_have_text("Success", timeout=UI_TIMEOUT)
        for task_id in ("extract", "load", "publish_bronze", "transform"):
            # The task's name in the grid's left column, and its cell in the run's column.
            expect(page.get_by_test_id(f"task-{task_id}")).to_contain_text(task_id, timeout=UI_TIMEOUT)
            cell = page.get_by_test_id(f"grid-{run_id}-{task_id}")
            expect(cell.get_by_test_id("task-state-badge")).to_be_visible(timeout=UI_TIMEOUT)
        expect(page.get_by_test_id("error-alert")).to_have_count(0, timeout=UI_TIMEOUT)
    finally:
        page.screenshot(path=ARTIFACTS / "airflow_grid.png", full_page=True, timeout=UI_TIMEOUT)


def test_stop_leaves_no_process_behind(services, dag_run, dag_env):
    # Only the services (and the task processes they fork) carry this variable, set for them at start.
    marker = f"AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:{services['port']}/"
    assert processes_with(marker)
    airflow_services.stop(dag_env)
    assert airflow_services.running(dag_env) == {}
    assert not any(airflow_services.group_alive(pgid) for pgid in services["groups"].values())
    assert processes_with(marker) == []
