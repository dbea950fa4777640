"""Lineage: the OpenLineage datasets an extraction and a load read and write, named as the OpenLineage spec names
them (its "Naming" document), so that the events of a run join Cosmos' dbt events into one graph:

* an API endpoint: namespace ``scheme://host[:port]``, name its path; never the query, which can hold a key;
* a lake object: namespace ``file`` and its absolute path, or ``s3://<bucket>`` and its key;
* a warehouse table: namespace ``postgres://host:port`` and name ``database.schema.table``, as Cosmos names the
  dbt sources and models from the same server.

Plain functions over the manifest and the load's result; the DAG side emits what they return (elt_dags.lineage).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import output_statistics_output_dataset, schema_dataset

from python_scripts.ingest.bronze import BRONZE_COLUMNS
from python_scripts.ingest.lake import lake_from_url
from python_scripts.settings import Settings
from python_scripts.sources import bronze_table_parts, get_source

Datasets = tuple[list[InputDataset], list[OutputDataset]]


def api_endpoint(url: str) -> tuple[str, str]:
    """``(namespace, name)`` of an API endpoint: scheme and authority (without user info), and the path."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return f"{parts.scheme}://{host}", parts.path or "/"


def lake_object(uri: str) -> tuple[str, str]:
    """``(namespace, name)`` of a lake object from its URI (``file:///…`` or ``s3://bucket/key``)."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return "file", unquote(parts.path)
    return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")


def warehouse_table(settings: Settings, schema: str, table: str) -> tuple[str, str]:
    pg = settings.postgres
    return f"postgres://{pg.host}:{pg.port}", f"{settings.warehouse_db}.{schema}.{table}"


def _rows(count: int) -> dict:
    return {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=count)}


def extract_lineage(manifest: dict, settings: Settings) -> Datasets:
    """An extraction reads its endpoint and writes the raw object (every record) and the rejected object (the
    quarantined ones), each with its record count."""
    source = get_source(manifest["source"])
    endpoint = settings.source(source.name).base_url.rstrip("/") + source.entity(manifest["entity"]).path
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    outputs = [
        OutputDataset(*lake_object(manifest["raw_uri"]), outputFacets=_rows(manifest["extracted"])),
        OutputDataset(*lake_object(lake.uri(manifest["rejected_key"])), outputFacets=_rows(manifest["rejected"])),
    ]
    return [InputDataset(*api_endpoint(endpoint))], outputs


def load_lineage(result: dict, settings: Settings) -> Datasets:
    """A load reads the raw object and writes its bronze table (the loaded rows, the table's schema)."""
    fields = [schema_dataset.SchemaDatasetFacetFields(name=name, type=kind) for name, kind in BRONZE_COLUMNS]
    table = OutputDataset(
        *warehouse_table(settings, *bronze_table_parts(result["source"], result["entity"])),
        facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)},
        outputFacets=_rows(result["loaded"]),
    )
    return [InputDataset(*lake_object(result["raw_uri"]))], [table]
