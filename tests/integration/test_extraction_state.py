"""The carts' extraction state against real HTTP (pytest-httpserver) and the real test warehouse: the window
each extraction asks the API for, and the cursor that only a committed load moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.load import load_from_lake

DAY = timedelta(days=1)
JAN_15 = datetime(2025, 1, 15, tzinfo=UTC)


@pytest.fixture
def carts_api(httpserver, monkeypatch):
    monkeypatch.setenv("FAKESTORE_BASE_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/carts").respond_with_json([])
    return httpserver


def asked(carts_api, start: datetime, *, load: bool = True, **kwargs) -> dict[str, str]:
    """Extract (and load) the carts of the day from ``start``; return the query the API received."""
    carts_api.clear_log()
    manifest = extract_to_lake("fakestore", "carts", start, start + DAY, **kwargs)
    if load:
        load_from_lake(manifest)
    (request,) = (request for request, _ in carts_api.log)
    return dict(request.args)


def cursor(warehouse) -> datetime | None:
    row = warehouse.execute("SELECT cursor_value FROM audit.extraction_state WHERE entity = 'carts'").fetchone()
    return row[0] if row else None


def window(day: datetime, start: datetime | None = None) -> dict[str, str]:
    return {"startdate": f"{start or day:%Y-%m-%d}", "enddate": f"{day + DAY:%Y-%m-%d}"}


def test_the_first_load_takes_the_whole_history_then_runs_go_on_from_the_cursor(warehouse, carts_api):
    assert asked(carts_api, JAN_15) == {}
    assert cursor(warehouse) == JAN_15 + DAY
    assert asked(carts_api, JAN_15 + DAY) == window(JAN_15 + DAY)
    # two days the scheduler skipped: the next run asks from the cursor
    assert asked(carts_api, JAN_15 + 4 * DAY) == window(JAN_15 + 4 * DAY, start=JAN_15 + 2 * DAY)
    assert cursor(warehouse) == JAN_15 + 5 * DAY


def test_the_lookback_asks_again_for_the_days_before_the_cursor(warehouse, carts_api, monkeypatch):
    asked(carts_api, JAN_15)
    monkeypatch.setenv("FAKESTORE_LOOKBACK_DAYS", "2")
    assert asked(carts_api, JAN_15 + DAY) == window(JAN_15 + DAY, start=JAN_15 - DAY)


def test_a_backfill_asks_for_its_interval_and_leaves_the_cursor(warehouse, carts_api):
    asked(carts_api, JAN_15)
    asked(carts_api, JAN_15 + DAY)
    assert asked(carts_api, JAN_15 - 5 * DAY) == window(JAN_15 - 5 * DAY)
    assert cursor(warehouse) == JAN_15 + 2 * DAY


def test_a_rerun_asks_for_the_window_its_batch_was_loaded_with(warehouse, carts_api):
    asked(carts_api, JAN_15)
    asked(carts_api, JAN_15 + DAY)
    assert asked(carts_api, JAN_15) == {}  # the first load, rerun: the whole history again
    assert asked(carts_api, JAN_15 + DAY) == window(JAN_15 + DAY)
    assert cursor(warehouse) == JAN_15 + 2 * DAY


def test_a_full_refresh_by_setting_or_by_param_asks_for_everything(warehouse, carts_api, monkeypatch):
    asked(carts_api, JAN_15)
    assert asked(carts_api, JAN_15 + DAY, full_refresh=True) == {}
    monkeypatch.setenv("FAKESTORE_FULL_REFRESH", "true")
    assert asked(carts_api, JAN_15 + 2 * DAY) == {}
    assert cursor(warehouse) == JAN_15 + 3 * DAY


def test_only_a_committed_load_moves_the_cursor(warehouse, carts_api):
    asked(carts_api, JAN_15)
    asked(carts_api, JAN_15 + DAY, load=False)  # extracted, never loaded
    assert cursor(warehouse) == JAN_15 + DAY
    assert asked(carts_api, JAN_15 + 2 * DAY) == window(JAN_15 + 2 * DAY, start=JAN_15 + DAY)
