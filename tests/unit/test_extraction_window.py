"""The window a windowed entity's extraction asks for, from its extraction state (``ingest.state.plan_window``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from python_scripts.ingest.state import plan_window
from python_scripts.sources.base import Window

DAY = timedelta(days=1)
MARCH_1 = datetime(2025, 3, 1, tzinfo=UTC)
INTERVAL = (MARCH_1, MARCH_1 + DAY)


def test_the_first_load_asks_for_the_whole_history():
    assert plan_window(*INTERVAL, recorded=None, cursor=None) == Window(None, MARCH_1 + DAY)


def test_the_next_run_asks_from_the_cursor_to_the_end_of_its_interval():
    assert plan_window(*INTERVAL, recorded=None, cursor=MARCH_1) == Window(MARCH_1, MARCH_1 + DAY)


def test_runs_missed_since_the_cursor_are_caught_up_by_the_next_window():
    cursor = MARCH_1 - 3 * DAY
    assert plan_window(*INTERVAL, recorded=None, cursor=cursor) == Window(cursor, MARCH_1 + DAY)


def test_the_lookback_asks_again_for_the_days_before_the_cursor():
    window = plan_window(*INTERVAL, recorded=None, cursor=MARCH_1, lookback=2 * DAY)
    assert window == Window(MARCH_1 - 2 * DAY, MARCH_1 + DAY)


def test_a_backfill_asks_for_its_own_interval():
    assert plan_window(*INTERVAL, recorded=None, cursor=MARCH_1 + 5 * DAY) == Window(*INTERVAL)


def test_a_rerun_asks_for_the_window_its_batch_was_loaded_with():
    recorded = Window(None, MARCH_1 + DAY)  # the first load, rerun after later runs moved the cursor
    assert plan_window(*INTERVAL, recorded=recorded, cursor=MARCH_1 + 5 * DAY) == recorded


def test_a_full_refresh_asks_for_the_whole_history_whatever_the_state():
    recorded = Window(MARCH_1, MARCH_1 + DAY)
    window = plan_window(*INTERVAL, recorded=recorded, cursor=MARCH_1, full_refresh=True)
    assert window == Window(None, MARCH_1 + DAY)


def test_a_window_survives_the_manifest_as_json():
    for window in (Window(None, MARCH_1), Window(MARCH_1 - DAY, MARCH_1)):
        assert Window.from_dict(window.to_dict()) == window
