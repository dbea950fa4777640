"""
### Orders batch

Each run takes one batch of the orders feed (`ORDERS_BATCH_SIZE` orders as of the end of the data
interval, each with the batch's `updated_at`) through the same extract → lake → load path.

* Bronze `bronze.orders_orders` is append-only across runs: every batch stays, so the history of each
  order is kept; rerunning a logical date replaces only that date's batch.
* **transform**: `stg_orders__orders` (every version) → `int_orders__orders` (one row per order, its latest
  version) → `fct_orders` → `mart_order_status`.
"""

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable
from common.ingest import ingest_dag

ingest_dag(
    "orders_batch",
    "orders",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    doc_md=__doc__,
    tags=["ingest", "bronze", "dbt"],
)
