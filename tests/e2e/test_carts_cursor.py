"""Scheduled runs of ``fakestore_ingest`` against carts dated years before the DAG's start, as the real API's are.

The sandbox serves carts dated from 2020 and no cart before its day (a live API). A fresh warehouse, then four
daily runs as the scheduler makes them (``airflow dags test``, no params): the first is the carts' first load and
takes the whole history by itself; the next finds no new carts and still succeeds (an empty delta is fresh); the
two after it find some and add only those. No cart is lost or duplicated in bronze, staging or the facts, and
each run asked the API for the window its extraction state gave it. Then the last day again with the DAG's
``full_refresh`` param: every cart asked for and loaded again, the facts still one row per cart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from python_scripts.ingest.lake import batch_id_for
from python_scripts.sandbox import FakeStore, FakeStoreConfig
from tests.support.pipeline import live_fakestore

pytestmark = pytest.mark.e2e

DAY = timedelta(days=1)
RELATIONS = ("bronze.fakestore_carts", "staging.stg_fakestore__carts", "core.fct_carts")
# 900 carts from 2020-01-01 to 2025-03-01: one about every two days, so some days have none.
OLD_CARTS = FakeStoreConfig(seed=7, carts=900, start_date=date(2020, 1, 1), days=1886)


def carts_dated(start: date | None, end: date) -> list[int]:
    """Ids of the carts the sandbox holds dated in [start, end), from its generator (not through the pipeline)."""
    return [cart["id"] for cart in FakeStore(OLD_CARTS).carts(start, end)]


def run_dates() -> list[date]:
    """Four consecutive logical dates in 2025: the first load, a day without carts, then two days with some."""
    day = date(2025, 1, 5)
    while carts_dated(day, day + DAY) or not carts_dated(day + DAY, day + 2 * DAY):
        day += DAY
        assert day < date(2025, 2, 20), "the sandbox data has no day without carts followed by one with some"
    return [day + n * DAY for n in range(4)]


@pytest.fixture(scope="module")
def runs(dag_env, wh) -> dict:
    wh.reset()
    dates = run_dates()
    # One dbt build per group: this module is about extraction; the per-node rendering is tested elsewhere.
    env = {**dag_env, "DBT_TASK_GRANULARITY": "group"}
    state: dict = {"dates": dates, "bronze": [], "cursor": []}
    with live_fakestore(env, OLD_CARTS) as live:
        live.api.clear_requests()
        for day in dates:
            live.run(day.isoformat())  # raises unless the run succeeded
            state["bronze"].append(
                wh.execute(
                    "SELECT batch_id, (payload->>'id')::int FROM bronze.fakestore_carts ORDER BY 1, record_no"
                ).fetchall()
            )
            state["cursor"].append(
                wh.execute(
                    "SELECT cursor_value FROM audit.extraction_state WHERE source = 'fakestore' AND entity = 'carts'"
                ).fetchone()[0]
            )
        state["requests"] = [r["params"] for r in live.api.requests() if r["path"] == "/carts"]
        state["ids"] = {relation: cart_ids(wh, relation) for relation in RELATIONS}

        live.api.clear_requests()
        live.run(dates[-1].isoformat(), full_refresh=True)
        state["refresh_requests"] = [r["params"] for r in live.api.requests() if r["path"] == "/carts"]
        state["refreshed_batch"] = wh.execute(
            "SELECT (payload->>'id')::int FROM bronze.fakestore_carts WHERE batch_id = %s ORDER BY record_no",
            (batch_id_for(midnight(dates[-1]) - DAY, midnight(dates[-1])),),
        ).fetchall()
        state["facts_after_refresh"] = cart_ids(wh, "core.fct_carts")
    return state


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def cart_ids(wh, relation: str) -> list[int]:
    column = "(payload->>'id')::int" if relation.startswith("bronze") else "cart_id"
    return [row[0] for row in wh.execute(f"SELECT {column} FROM {relation} ORDER BY 1").fetchall()]  # noqa: S608


def batch_ids(rows) -> dict[str, list[int]]:
    batches: dict[str, list[int]] = {}
    for batch_id, cart_id in rows:
        batches.setdefault(batch_id, []).append(cart_id)
    return batches


def test_the_first_scheduled_run_loads_every_cart_of_the_history(runs):
    first = runs["dates"][0]
    (ids,) = batch_ids(runs["bronze"][0]).values()
    assert ids == carts_dated(None, first)
    assert min(FakeStore(OLD_CARTS).carts(None, first), key=lambda c: c["date"])["date"] < "2021-01-01"
    assert len(ids) > 800


def test_each_later_run_adds_only_the_carts_of_its_interval(runs):
    dates = runs["dates"]
    for n in range(1, 4):
        new = [cart_id for batch_id, cart_id in runs["bronze"][n] if (batch_id, cart_id) not in runs["bronze"][n - 1]]
        assert new == carts_dated(dates[n - 1], dates[n])
    assert carts_dated(dates[0], dates[1]) == []
    assert carts_dated(dates[1], dates[2]) != []


def test_the_api_was_asked_for_the_whole_history_then_from_the_cursor(runs):
    dates = runs["dates"]
    expected = [{}] + [{"startdate": f"{dates[n - 1]}", "enddate": f"{dates[n]}"} for n in range(1, 4)]
    assert runs["requests"] == expected


def test_the_cursor_follows_the_loads(runs):
    assert [cursor.date() for cursor in runs["cursor"]] == runs["dates"]
    assert all(isinstance(cursor, datetime) for cursor in runs["cursor"])


def test_no_cart_is_lost_or_duplicated_in_bronze_staging_or_the_facts(runs):
    expected = carts_dated(None, runs["dates"][-1])
    for relation in RELATIONS:
        assert runs["ids"][relation] == expected, relation


def test_the_full_refresh_param_asks_for_every_cart_again(runs):
    everything = carts_dated(None, runs["dates"][-1])
    assert runs["refresh_requests"] == [{}]
    assert [cart_id for (cart_id,) in runs["refreshed_batch"]] == everything
    assert runs["facts_after_refresh"] == everything
