"""
### Fake Store ingest

Daily snapshot of the Fake Store API into the warehouse.

* **extract** (one mapped task per entity): streams `/products`, `/users` (full snapshots) and `/carts`
  (the run's data interval as `startdate`/`enddate`, or the whole history with the `full_history` param)
  through JSON Schema validation into the lake: `raw/fakestore/<entity>/YYYY/MM/DD/<batch>.json.gz`, with
  invalid records beside it under `rejected/`.
* **load** (one mapped task per entity): replaces the interval's batch in `bronze.fakestore_<entity>` with
  COPY in one transaction, quarantines rejects in `audit.rejected_records`, reconciles
  extracted = loaded + rejected and records the run in `audit.ingestion_runs`.

* **transform** (Cosmos task group): every dbt node downstream of the Fake Store sources: source
  freshness, staging views, the SCD2 snapshots, core dims and facts, marts, each followed by its tests.

Reruns of the same logical date overwrite the same lake objects and the same bronze batch, and leave
core and marts unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from common.dbt import dbt_task_group

SOURCE = "fakestore"
ENTITIES = ["products", "users", "carts"]


@dag(
    dag_id="fakestore_ingest",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # snapshots must see the intervals in order
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    params={
        "full_history": Param(
            False, type="boolean", description="Extract every cart, not only the data interval (first load)."
        )
    },
    tags=["fakestore", "ingest", "bronze", "dbt"],
    doc_md=__doc__,
)
def fakestore_ingest():
    @task(map_index_template="{{ entity }}")
    def extract(entity: str) -> dict:
        from python_scripts.pipeline import extract_to_lake

        context = get_current_context()
        context["entity"] = entity
        return extract_to_lake(
            SOURCE,
            entity,
            context["data_interval_start"],
            context["data_interval_end"],
            full_history=context["params"]["full_history"] or None,
        )

    @task(map_index_template="{{ entity }}")
    def load(manifest: dict) -> dict:
        from python_scripts.pipeline import load_from_lake

        get_current_context()["entity"] = manifest["entity"]
        return load_from_lake(manifest)

    loaded = load.expand(manifest=extract.expand(entity=ENTITIES))
    loaded >> dbt_task_group("transform", select=[f"source:{SOURCE}.{entity}+" for entity in ENTITIES])


fakestore_ingest()
