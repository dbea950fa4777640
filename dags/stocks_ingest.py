"""
### Stocks ingest

Daily prices from Alpha Vantage (`TIME_SERIES_DAILY`, compact: the latest 100 trading days) for the
tickers in `STOCK_TICKERS` (comma-separated).

* **extract** (one mapped task per ticker, in the pool `alphavantage` of one slot, so requests never
  overlap and stay inside the free tier's burst limit): key from the Airflow connection `alphavantage`
  or `ALPHAVANTAGE_API_KEY`, masked in the logs. The API reports errors with HTTP 200: `Information` /
  `Note` (throttling) is asked again a few times and then fails the task for Airflow to retry later;
  `Error Message` for a bad symbol is quarantined; none of them is ever taken for an empty day.
* **load**: one batch per ticker into `bronze.alphavantage_daily_prices` (one row per ticker and day).
* **publish_bronze**: the Asset event of `bronze.alphavantage_daily_prices`.
* **transform**: `stg_alphavantage__daily_prices` → `int_alphavantage__daily_prices` (the newest batch per
  ticker and day) → `fct_stock_prices_daily` (incremental merge on ticker and date, so history outlives the
  API's 100-day window) → `mart_stock_performance`.
"""

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable
from common.ingest import ingest_dag

ingest_dag(
    "stocks_ingest",
    "alphavantage",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    doc_md=__doc__,
    tags=["ingest", "bronze", "dbt"],
    extract_pool="alphavantage",
)
