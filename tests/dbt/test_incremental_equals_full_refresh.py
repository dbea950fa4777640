"""The incremental facts and marts equal a full refresh, row by row, after the deltas that challenge them.

From the warehouse tests/dbt builds (``built_warehouse``: the whole cart history as of 2025-01-15, the orders
of that day), the pipeline loads without Airflow:
1. a later interval (two days) in which the sandbox changed a product's price (existing carts after the
   change are re-priced), a user's city, a cart's lines and a cart's owner, and which an older cart moved
   into (so mart groups lose members), with the orders of that interval; then an incremental ``dbt build``;
2. an older interval loaded late, in which a cart changed (the newer version must stay), with its orders,
   and the later interval again (a rerun replaces its batches); then a second incremental build.
Every fact and mart is then read in full, rebuilt with ``--full-refresh`` and read again: both must be equal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg import sql

from python_scripts.ingest.pipeline import ingest
from python_scripts.settings import get_settings

LATER = (datetime(2025, 1, 15, tzinfo=UTC), datetime(2025, 1, 17, tzinfo=UTC))
OLDER = (datetime(2025, 1, 10, tzinfo=UTC), datetime(2025, 1, 11, tzinfo=UTC))
INCREMENTAL = (
    "intermediate.int_fakestore__carts",
    "core.fct_cart_items",
    "core.fct_carts",
    "core.fct_product_sales_daily",
    "marts.mart_sales_overview",
    "marts.mart_customer_activity",
    "core.fct_orders",
)
# Tables rebuilt from the incremental models on every run.
COMPARED = (*INCREMENTAL, "marts.mart_product_performance", "marts.mart_order_status")
SELECTION = ("--select", "source:fakestore+", "source:orders+")


def table_rows(wh, table: str) -> list[tuple]:
    """Every row of ``table``, all columns, ordered by all columns."""
    width = len(wh.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(sql.Identifier(*table.split(".")))).description)
    order = sql.SQL(", ").join(sql.Literal(position) for position in range(1, width + 1))
    query = sql.SQL("SELECT * FROM {} ORDER BY {}").format(sql.Identifier(*table.split(".")), order)
    return wh.execute(query).fetchall()


def merged_rows(result) -> dict[str, int]:
    """Rows written per model by a dbt invocation, from its run_results.json (read before the next one)."""
    target = Path(result.args[result.args.index("--target-path") + 1])
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: r["adapter_response"].get("rows_affected", 0)
        for r in results
        if r["unique_id"].startswith("model.")
    }


def load(settings, start: datetime, end: datetime, sources: dict[str, tuple[str, ...]]) -> None:
    for source, entities in sources.items():
        for entity in entities:
            ingest(source, entity, start, end, settings=settings)


@pytest.fixture(scope="module")
def compared(built_warehouse, api, tmp_path_factory) -> dict:
    wh, dbt = built_warehouse.wh, built_warehouse.dbt
    settings = get_settings({**built_warehouse.env, "LAKE_URL": str(tmp_path_factory.mktemp("incremental_lake"))})
    everything = {"fakestore": ("products", "users", "carts"), "orders": ("orders",)}
    relined, rehomed = api.get("/carts", startdate="2025-01-15", enddate="2025-01-17")[:2]
    # a cart of a day outside the later interval, moved into it: only its old day's item count shows the change
    moved = api.get("/carts", startdate="2025-01-12", enddate="2025-01-13")[0]
    product = relined["products"][0]["productId"]
    price = next(p["price"] for p in api.get("/products") if p["id"] == product)
    older_cart = api.get("/carts", startdate="2025-01-10", enddate="2025-01-11")[0]
    api.clear_overrides()
    try:
        api.override("products", product, {"price": price + 10})
        api.override("users", rehomed["userId"], {"address": {"city": "Oslo"}})
        api.override("carts", moved["id"], {"date": "2025-01-16" + moved["date"][10:]})
        api.override("carts", relined["id"], {"products": [{"productId": product, "quantity": 7}]})
        api.override("carts", rehomed["id"], {"userId": relined["userId"]})
        load(settings, *LATER, everything)
        first = merged_rows(dbt("build", *SELECTION))

        api.override("carts", older_cart["id"], {"products": [{"productId": product, "quantity": 9}]})
        load(settings, *OLDER, everything)
        load(settings, *LATER, everything)
        second = merged_rows(dbt("build", *SELECTION))
    finally:
        api.clear_overrides()
    incremental = {table: table_rows(wh, table) for table in COMPARED}
    batches = {
        "older_cart": wh.execute(
            "SELECT batch_id FROM intermediate.int_fakestore__carts WHERE cart_id = %s", (older_cart["id"],)
        ).fetchone()[0],
        "orders": wh.execute("SELECT array_agg(DISTINCT batch_id) FROM core.fct_orders").fetchone()[0],
    }
    dbt("run", "--full-refresh", *SELECTION)
    return {
        "incremental": incremental,
        "full_refresh": {table: table_rows(wh, table) for table in COMPARED},
        "first": first,
        "second": second,
        "batches": batches,
    }


@pytest.mark.parametrize("table", COMPARED)
def test_incremental_equals_full_refresh(compared, table):
    incremental, full = compared["incremental"][table], compared["full_refresh"][table]
    assert full, f"{table} is empty"
    assert len(incremental) == len(full)
    for got, expected in zip(incremental, full, strict=True):
        assert got == expected


def test_the_runs_followed_the_deltas(compared):
    """The models at the grain of carts and dates wrote a part of their rows, not all of them. (At this scale
    the deltas touch every customer, and every orders batch re-sends every order.)"""
    for run in ("first", "second"):
        for model in INCREMENTAL[:5]:
            written = compared[run][model.split(".")[1]]
            assert 0 < written < len(compared["full_refresh"][model]), (run, model, written)


def test_an_older_interval_loaded_late_does_not_replace_newer_versions(compared):
    """After the incremental runs (before the full refresh)."""
    later_batch = f"{LATER[0]:%Y%m%dT%H%M%SZ}_{LATER[1]:%Y%m%dT%H%M%SZ}"
    assert not compared["batches"]["older_cart"].startswith(f"{OLDER[0]:%Y%m%d}"), compared["batches"]
    assert compared["batches"]["orders"] == [later_batch]
