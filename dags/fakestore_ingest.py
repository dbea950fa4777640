"""
### Fake Store ingest

Daily snapshot of the Fake Store API (products, users, carts) into the warehouse.

* **extract** (one mapped task per entity): streams `/products`, `/users` (full snapshots) and `/carts`
  (the run's data interval as `startdate`/`enddate`, or the whole history with the `full_history` param)
  through JSON Schema validation into the lake: `raw/fakestore/<entity>/YYYY/MM/DD/<batch>.json.gz`, with
  invalid records beside it under `rejected/`.
* **load** (one mapped task per entity): replaces the interval's batch in `bronze.fakestore_<entity>` with
  COPY in one transaction, quarantines rejects in `audit.rejected_records`, reconciles
  extracted = loaded + rejected and records the run in `audit.ingestion_runs`.
* **publish_bronze**: one Asset event per bronze table (`bronze.fakestore_*`).
* **transform** (Cosmos task group): every dbt node downstream of the Fake Store sources: source
  freshness, staging views, the current versions (intermediate), the SCD2 snapshots, core dims and facts,
  marts, each built together with its tests.

Reruns of the same logical date overwrite the same lake objects and the same bronze batch, and leave
core and marts unchanged.
"""

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable
from common.ingest import ingest_dag

ingest_dag(
    "fakestore_ingest",
    "fakestore",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    doc_md=__doc__,
    tags=["ingest", "bronze", "dbt"],
)
