"""Lineage: the OpenLineage datasets an extraction and a load read and write, named as the OpenLineage spec names
them (its "Naming" document), so that the events of a run join Cosmos' dbt events into one graph:

* an API endpoint: namespace ``scheme://host[:port]``, name its path; never the query, which can hold a key;
* a lake object: namespace ``file`` and its absolute path, or ``s3://<bucket>`` and its key;
* a warehouse table: namespace ``postgres://host:port`` and name ``database.schema.table``, as Cosmos names the
  dbt sources and models from the same server.

And the column lineage of a dbt model: which columns of which tables each output column is computed from, read
from its compiled SQL by sqlglot's lineage with the tables' columns from the warehouse's catalog (a model's
``select *`` from a ref needs them to be expanded), as ``dbt docs generate`` reads them.

Plain functions over the manifest, the load's result and the SQL; the DAG side emits what they return
(elt_dags.lineage).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import sqlglot
from openlineage.client.event_v2 import InputDataset, OutputDataset
from openlineage.client.facet_v2 import column_lineage_dataset, output_statistics_output_dataset, schema_dataset
from sqlglot import exp
from sqlglot.lineage import lineage

from python_scripts.ingest.bronze import BRONZE_COLUMNS
from python_scripts.ingest.lake import lake_from_url
from python_scripts.settings import Settings
from python_scripts.sources import bronze_table_parts, get_source
from python_scripts.warehouse.db import connect

Datasets = tuple[list[InputDataset], list[OutputDataset]]
Columns = dict[str, dict[str, dict[str, dict[str, str]]]]  # database -> schema -> table -> column -> type
DIALECT = "postgres"


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


def column_lineage(compiled_sql: str, columns: Columns) -> dict[str, list[tuple[str, str]]]:
    """Each output column of a select, with the ``(database.schema.table, column)`` pairs it is computed from,
    through every CTE and join; ``columns`` are the columns of the tables it reads. An output computed from no
    column (``count(*)``, a literal) maps to an empty list."""
    nodes = lineage(None, compiled_sql, schema=columns, dialect=DIALECT)
    return {output: sorted(_table_columns(node)) for output, node in nodes.items()}


def _table_columns(node) -> set[tuple[str, str]]:
    """The leaves of a column's lineage: the table columns it reads."""
    leaves = (leaf for leaf in node.walk() if isinstance(leaf.expression, exp.Table))
    return {(_table_name(leaf.expression), leaf.name.rsplit(".", 1)[-1]) for leaf in leaves}


def _table_name(table: exp.Table) -> str:
    return ".".join(part.name for part in (table.args.get("catalog"), table.args.get("db"), table.this) if part)


def warehouse_columns(settings: Settings, compiled_sql: str) -> Columns:
    """The columns of the warehouse tables and views a select reads, from the warehouse's information schema."""
    tables = {(table.db, table.name) for table in sqlglot.parse_one(compiled_sql, read=DIALECT).find_all(exp.Table)}
    columns: Columns = {}
    with connect(settings, application_name="elt-platform-lineage") as conn:
        rows = conn.execute(
            "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns"
            " where (table_schema, table_name) in (select * from unnest(%s::text[], %s::text[]))"
            " order by ordinal_position",
            ([schema for schema, _ in tables], [name for _, name in tables]),
        )
        for database, schema, table, column, kind in rows:
            columns.setdefault(database, {}).setdefault(schema, {}).setdefault(table, {})[column] = kind
    return columns


def column_lineage_facet(
    namespace: str, compiled_sql: str, settings: Settings
) -> column_lineage_dataset.ColumnLineageDatasetFacet | None:
    """The ``columnLineage`` facet of a dbt model's output (its inputs in the model's own namespace), or None
    when no output column comes from a column."""
    lineage_ = column_lineage(compiled_sql, warehouse_columns(settings, compiled_sql))
    fields = {
        output: column_lineage_dataset.Fields(
            inputFields=[
                column_lineage_dataset.InputField(namespace=namespace, name=table, field=column)
                for table, column in sources
            ]
        )
        for output, sources in lineage_.items()
        if sources
    }
    return column_lineage_dataset.ColumnLineageDatasetFacet(fields=fields) if fields else None
