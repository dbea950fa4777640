"""The Airflow UI in headless Chromium (Debian's package: Playwright cannot download its own browser here):
log in through the simple auth manager's form and look at a DAG run in the grid. Shared by the tests of the
native services and of the Docker stack."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from python_scripts.settings import PROJECT_ROOT

# Kept after the session for a look at what the browser saw (the folder is not versioned).
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
# Upper bound of every browser wait, in milliseconds.
UI_TIMEOUT = 30_000


@contextmanager
def browser_page() -> Iterator[Page]:
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


def log_in(page: Page, base_url: str, user: str, password: str) -> None:
    # Not logged in, the UI sends the browser to the simple auth manager's login form (/auth/login?next=/).
    page.goto(base_url)
    expect(page).to_have_url(re.compile(r"/auth/login"), timeout=UI_TIMEOUT)
    page.locator("input[name=username]").fill(user)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("nav-sidebar")).to_be_visible(timeout=UI_TIMEOUT)
    expect(page).not_to_have_url(re.compile(r"/auth/login"), timeout=UI_TIMEOUT)


def expect_successful_run_in_grid(page: Page, base_url: str, dag_id: str, run_id: str, task_ids: tuple[str, ...]):
    """The run's page: the grid (the default view) beside the run's details, every task with its state."""
    page.goto(f"{base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
    header = page.get_by_test_id("header-card")
    expect(header).to_contain_text(run_id, timeout=UI_TIMEOUT)
    expect(header.get_by_test_id("state-badge")).to_have_text("Success", timeout=UI_TIMEOUT)
    for task_id in task_ids:
        # The task's name in the grid's left column, and its cell in the run's column.
        expect(page.get_by_test_id(f"task-{task_id}")).to_contain_text(task_id, timeout=UI_TIMEOUT)
        cell = page.get_by_test_id(f"grid-{run_id}-{task_id}")
        expect(cell.get_by_test_id("task-state-badge")).to_be_visible(timeout=UI_TIMEOUT)
    expect(page.get_by_test_id("error-alert")).to_have_count(0, timeout=UI_TIMEOUT)


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=path, full_page=True, timeout=UI_TIMEOUT)
    return path
