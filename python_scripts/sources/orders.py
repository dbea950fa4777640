"""
### Orders batch

Each run takes one batch of the orders feed (`ORDERS_BATCH_SIZE` orders as of the end of the data
interval, each with the batch's `updated_at`) through the same extract → lake → load path.

* Bronze `bronze.orders_orders` is append-only across runs: every batch stays, so the history of each
  order is kept; rerunning a logical date replaces only that date's batch.
* **transform**: `stg_orders__orders` (every version) → `int_orders__orders` (one row per order, its latest
  version) → `fct_orders` → `mart_order_status`.
"""

from __future__ import annotations

from python_scripts.settings import setting
from python_scripts.sources.base import Call, Dag, Entity, Source, SourceSettings


class OrdersSettings(SourceSettings):
    base_url: str = setting("http://127.0.0.1:8000", "ORDERS_BASE_URL", "The synthetic orders feed (the sandbox).")
    batch_size: int = setting(100, "ORDERS_BATCH_SIZE", "Orders per batch.", gt=0)


def _orders_params(call: Call) -> dict[str, str]:
    return {"as_of": f"{call.interval_end:%Y-%m-%dT%H:%M:%SZ}", "size": str(call.config.batch_size)}


SOURCE = Source(
    name="orders",
    settings=OrdersSettings,
    entities=(Entity("orders", "/orders", params=_orders_params, key=("order_id",)),),
    dag=Dag("orders_batch", cron="0 0 * * *"),
    doc=__doc__,
    sandboxed=True,
)
