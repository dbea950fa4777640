"""orders_batch end to end through Airflow: append-only bronze, one row per order in staging.

Three runs for three dates, then a rerun of the middle date: 300 raw rows in 3 batches with 3 batch
timestamps, 100 distinct orders, and 100 staging rows all from the latest batch, before and after the rerun.
The mart is checked against figures computed here from the sandbox's latest batch.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

DATES = ("2025-01-10", "2025-01-11", "2025-01-12")
LATEST_AS_OF = "2025-01-12T00:00:00Z"


def bronze_state(wh) -> tuple:
    return wh.execute(
        """
        SELECT count(*), count(DISTINCT batch_id), count(DISTINCT payload->>'updated_at'),
               count(DISTINCT (payload->>'order_id')::int),
               md5(string_agg(batch_id || record_no || payload::text, '|' ORDER BY batch_id, record_no))
        FROM bronze.orders_orders
        """
    ).fetchone()


def staging_state(wh) -> tuple:
    return wh.execute(
        """
        SELECT count(*), count(DISTINCT order_id), min(updated_at), max(updated_at), count(DISTINCT batch_id)
        FROM staging.stg_orders__orders_latest
        """
    ).fetchone()


@pytest.fixture(scope="module")
def pipeline(run, wh, api):
    wh.reset()
    state: dict = {}
    for logical_date in DATES:
        run("orders_batch", logical_date)
    state["bronze"] = bronze_state(wh)
    state["staging"] = staging_state(wh)
    state["latest_batch"] = wh.execute("SELECT max(batch_id) FROM bronze.orders_orders").fetchone()[0]
    state["staging_batches"] = {
        batch for (batch,) in wh.execute("SELECT DISTINCT batch_id FROM staging.stg_orders__orders_latest")
    }
    state["mart"] = {
        (status, currency): (orders, amount)
        for status, currency, orders, amount in wh.execute(
            "SELECT status, currency, orders, total_amount FROM marts.mart_order_status"
        )
    }
    run("orders_batch", DATES[1])
    state["rerun_bronze"] = bronze_state(wh)
    state["rerun_staging"] = staging_state(wh)
    return state


def test_three_runs_keep_three_batches_of_the_same_hundred_orders(pipeline):
    rows, batches, batch_timestamps, distinct_orders, _ = pipeline["bronze"]
    assert (rows, batches, batch_timestamps, distinct_orders) == (300, 3, 3, 100)


def test_staging_keeps_one_row_per_order_from_the_latest_batch(pipeline):
    rows, distinct_orders, oldest, newest, batches = pipeline["staging"]
    assert (rows, distinct_orders, batches) == (100, 100, 1)
    assert oldest == newest
    assert f"{newest:%Y-%m-%dT%H:%M:%SZ}" == LATEST_AS_OF
    assert pipeline["staging_batches"] == {pipeline["latest_batch"]}


def test_rerunning_a_date_replaces_only_that_batch(pipeline):
    assert pipeline["rerun_bronze"] == pipeline["bronze"]
    assert pipeline["rerun_staging"] == pipeline["staging"]


def test_mart_matches_the_latest_batch_served(pipeline, api):
    expected: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0)])
    for order in api.get("/orders", as_of=LATEST_AS_OF, size=100):
        group = expected[(order["status"], order["currency"])]
        group[0] += 1
        group[1] += Decimal(str(order["amount"]))
    assert pipeline["mart"] == {key: tuple(value) for key, value in expected.items()}
