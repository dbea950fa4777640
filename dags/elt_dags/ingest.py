"""One shape for every ingest DAG: extract ▸ load per part, publish the bronze Assets, then transform.

``extract`` and ``load`` are mapped over the source's parts (entities, or one per city / ticker), so a
failing part retries on its own and the others carry on. ``publish_bronze`` emits one Asset event per
bronze table with the batches it received. ``transform`` is the Cosmos task group of every dbt node
downstream of the source, so each run ends with staging, core and marts built for its data interval.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task

from elt_dags.dbt import dbt_task_group
from elt_dags.defaults import default_args
from elt_dags.lineage import report
from python_scripts.derived import DBT_DOCS_PATH, DBT_DOCS_SLUG
from python_scripts.settings import get_settings, secret_values
from python_scripts.sources import Source, bronze_table_name, bronze_table_parts

log = logging.getLogger(__name__)


def bronze_asset(source: str, entity: str) -> Asset:
    """The Asset of a bronze table, named like the table and addressed like OpenLineage does."""
    settings = get_settings()
    pg = settings.postgres
    schema, table = bronze_table_parts(source, entity)
    return Asset(
        name=bronze_table_name(source, entity),
        uri=f"postgres://{pg.host}:{pg.port}/{settings.warehouse_db}/{schema}/{table}",
        group="bronze",
    )


def source_api_key(source: Source) -> str | None:
    """The source's API key: the password of the Airflow connection named like the source, else its setting.
    Masked in every task log from here on, with every other secret of the settings."""
    if not source.api_key_param:
        return None
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException
    from airflow.sdk.log import mask_secret

    settings = get_settings()
    for secret in secret_values(settings):
        mask_secret(secret)
    try:
        key = BaseHook.get_connection(source.name).password
    except AirflowNotFoundException:
        key = None
    configured = settings.source(source.name).api_key
    key = key or (configured.get_secret_value() if configured else None)
    if key:
        mask_secret(key)
    return key


def dbt_docs_links(source: Source) -> str:
    """A doc_md paragraph linking each of the source's tables to its page (and lineage) in the dbt docs that
    Cosmos' plugin serves from the API server."""
    from airflow.sdk.configuration import conf

    base = urlsplit(conf.get("api", "base_url", fallback="")).path.rstrip("/") + DBT_DOCS_PATH
    links = ", ".join(
        f"[{source.name}.{entity}]({base}#!/source/source.{DBT_DOCS_SLUG}.{source.name}.{entity})"
        for entity in source.entity_names
    )
    return f"\n\n**dbt docs and lineage** of the sources: {links}.\n"


def _part_label(part: dict[str, str]) -> str:
    return part.get("partition") or part["entity"]


def dag_params(source: Source) -> dict[str, Param]:
    """``full_refresh`` for a source with windowed entities: their whole history instead of from the cursor."""
    if not any(entity.windowed for entity in source.entities):
        return {}
    description = "Ask for the whole history of the windowed entities, not from their cursor (a re-extraction)."
    return {"full_refresh": Param(False, type="boolean", description=description)}


def ingest_dag(source: Source):
    """Build the ingest DAG of one source (see the module docstring)."""
    parts = source.parts(get_settings())
    assets = {entity: bronze_asset(source.name, entity) for entity in source.entity_names}

    @dag(
        dag_id=source.dag.dag_id,
        schedule=CronDataIntervalTimetable(source.dag.cron, timezone="UTC"),
        start_date=source.dag.start_date,
        catchup=False,
        max_active_runs=1,  # snapshots and incremental models must see the intervals in order
        default_args=default_args(),
        params=dag_params(source),
        tags=[source.name, "ingest", "bronze", "dbt"],
        doc_md=source.doc + dbt_docs_links(source),
    )
    def ingest():
        @task(map_index_template="{{ part_label }}", pool=source.dag.extract_pool or "default_pool")
        def extract(part: dict[str, str]) -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from python_scripts.ingest.extract import extract_to_lake
            from python_scripts.ingest.http import CredentialsError
            from python_scripts.lineage import extract_lineage

            context = get_current_context()
            context["part_label"] = _part_label(part)
            try:
                manifest = extract_to_lake(
                    source.name,
                    part["entity"],
                    context["data_interval_start"],
                    context["data_interval_end"],
                    partition=part.get("partition"),
                    full_refresh=bool(context["params"].get("full_refresh")),
                    api_key=source_api_key(source),
                )
            except CredentialsError as exc:  # a missing or refused key: a retry would fail the same way
                raise AirflowFailException(str(exc)) from exc
            report(lambda: extract_lineage(manifest, get_settings()))
            return manifest

        @task(map_index_template="{{ part_label }}")
        def load(manifest: dict) -> dict:
            from python_scripts.ingest.load import load_from_lake
            from python_scripts.lineage import load_lineage

            get_current_context()["part_label"] = manifest.get("partition") or manifest["entity"]
            result = load_from_lake(manifest)
            report(lambda: load_lineage(result, get_settings()))
            return result

        @task(outlets=list(assets.values()))
        def publish_bronze(results: list[dict]) -> dict[str, dict]:
            """One Asset event per bronze table, carrying the batches, loaded and quarantined counts."""
            from python_scripts.ingest.load import summarize_loads

            summary = summarize_loads(results)
            outlet_events = get_current_context()["outlet_events"]
            for entity, entry in summary.items():
                outlet_events[assets[entity]].extra = entry
                if entry["rejected"]:
                    count = entry["rejected"]
                    log.warning("%s.%s: %d quarantined, see audit.rejected_records", source.name, entity, count)
            return summary

        published = publish_bronze(load.expand(manifest=extract.expand(part=parts)))
        published >> dbt_task_group(
            "transform", select=[f"source:{source.name}.{entity}+" for entity in source.entity_names]
        )

    return ingest()
