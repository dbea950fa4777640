"""
### Lake replay

Rebuilds bronze from the lake without calling any API: after a lost or re-created warehouse, or to reload a
range after a fix. Trigger it with its params: the **source**, optionally one **entity**, and the range of
data intervals (**start**, inclusive, and **end**, exclusive, UTC dates or instants).

* **replay**: finds the batches of that range by the manifests their extractions wrote beside the raw objects,
  reloads each through the same load as a run (COPY, quarantine, reconciliation; audit rows marked as replays,
  which do not count as checks for source freshness), in interval order, building the SCD2 snapshots after
  each interval; then builds every dbt node downstream of the source with `dbt build`.

A missing or unreadable object, or one whose envelope does not match its key, fails the task naming the object;
the batch keeps what bronze held before. The same as `make replay SOURCE=… [ENTITY=…] START=… END=…`.
"""

from airflow.sdk import Param, dag, task
from elt_dags.defaults import default_args

from python_scripts.sources import SOURCES
from python_scripts.sources.base import START_DATE


@dag(
    dag_id="lake_replay",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),  # a retry replays the same batches again: each load replaces its batch
    params={
        "source": Param("fakestore", enum=sorted(SOURCES), description="The source to replay."),
        "entity": Param("", type="string", description="One entity of it; empty for every entity."),
        "start": Param("2025-01-01", type="string", description="First data interval start (UTC), inclusive."),
        "end": Param("2025-01-02", type="string", description="Replay the intervals starting before this (UTC)."),
    },
    tags=["lake", "bronze", "dbt", "replay"],
    doc_md=__doc__,
)
def lake_replay():
    @task
    def replay(params: dict | None = None) -> dict:
        import logging

        from python_scripts.ops.replay import parse_instant, replay_from_lake
        from python_scripts.settings import get_settings

        results = replay_from_lake(
            params["source"],
            [params["entity"]] if params["entity"] else None,
            parse_instant(params["start"]),
            parse_instant(params["end"]),
            settings=get_settings(),
            on_line=logging.getLogger("lake_replay").info,
        )
        return {"batches": len(results), "loaded": sum(result["loaded"] for result in results)}

    replay()


lake_replay()
