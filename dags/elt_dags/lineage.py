"""OpenLineage from the ingest tasks: the datasets an extraction or a load read and wrote (named in
``python_scripts.lineage``), attached to the task's own run with the provider's ``emit_dataset_lineage``.

Airflow's OpenLineage listener sends each task's START, COMPLETE or FAIL (with the error) by itself; a TaskFlow task
has no extractor that knows its datasets, so the task reports them in a RUNNING event of the same run. With no
transport set the provider is off, and this returns before building anything.
"""

from __future__ import annotations

from collections.abc import Callable

Datasets = tuple[list, list]


def report(datasets: Callable[[], Datasets]) -> None:
    """Emit the task's inputs and outputs, ``datasets()``, when OpenLineage is on."""
    from airflow.providers.openlineage.conf import is_disabled

    if is_disabled():
        return
    from airflow.providers.openlineage.api import emit_dataset_lineage

    inputs, outputs = datasets()
    emit_dataset_lineage(inputs=inputs, outputs=outputs)


def join_dbt_datasets() -> None:
    """Make the dbt events of Cosmos join the rest of the graph, when OpenLineage is on.

    openlineage-integration-common's dbt processor, which Cosmos runs after each dbt command, has two gaps here
    (both worth fixing upstream, where this goes away):

    * it names a source's dataset ``database.schema.<name>``, the source table's dbt name, where the table is
      ``<identifier>`` (``bronze.fakestore_carts`` for the source table ``fakestore.carts``), so the dbt events
      would not meet the bronze tables the loads write; models get their alias right;
    * it takes a node's inputs from its ``model.`` and ``source.`` parents only, so a model built on a snapshot
      (``dim_products`` on ``snp_fakestore__products``) has no input, and the graph stops at the snapshot;
    * its column lineage parses the compiled SQL without the tables' columns, so it cannot see through
      ``select * from {{ ref(...) }}`` in a CTE, the way every model here starts, and finds none.

    This wraps the processor's dataset naming to use a source's identifier, shows it a snapshot parent as a
    model parent (the same manifest node, so the same dataset name), and replaces its column lineage with
    ``python_scripts.lineage.column_lineage_facet``, which reads the columns from the warehouse. Lineage never
    fails a task: a query it cannot parse gets no column lineage and a warning, as in the processor.
    """
    from airflow.providers.openlineage.conf import is_disabled

    if is_disabled():
        return
    from openlineage.common.provider.dbt.processor import DbtArtifactProcessor, DbtRunContext

    if getattr(DbtArtifactProcessor, "joins_dbt_datasets", False):
        return
    extract_dataset_data, parse_execution = (
        DbtArtifactProcessor.extract_dataset_data,
        DbtArtifactProcessor.parse_execution,
    )

    def named_by_identifier(self, node, assertions, has_facets=False):
        namespace, name, facets, input_facets = extract_dataset_data(self, node, assertions, has_facets)
        metadata = node.metadata_node
        if node.type == "source" and metadata.get("identifier"):
            name = self._format_dataset_name(metadata["database"], metadata["schema"], metadata["identifier"])
        return namespace, name, facets, input_facets

    def with_snapshot_parents(self, context, nodes):
        alias = {node: f"model.{node}" for node in nodes if node.startswith("snapshot.")}
        parent_map = {child: [alias.get(parent, parent) for parent in parents]
                      for child, parents in context.manifest["parent_map"].items()}  # fmt: skip
        nodes = {**nodes, **{alias[node]: nodes[node] for node in alias}}
        manifest = {**context.manifest, "parent_map": parent_map}
        return parse_execution(self, DbtRunContext(manifest, context.run_results, context.catalog), nodes)

    def with_the_tables_columns(self, namespace, compiled_sql):
        from python_scripts.lineage import column_lineage_facet  # sqlglot, when a dbt task ends: not at parse
        from python_scripts.settings import get_settings

        try:
            return column_lineage_facet(namespace, compiled_sql, get_settings())
        except Exception as exc:  # lineage is best effort, never the task's failure
            self.logger.warning("no column lineage for this model: %s", exc)
            return None

    DbtArtifactProcessor.extract_dataset_data = named_by_identifier
    DbtArtifactProcessor.parse_execution = with_snapshot_parents
    DbtArtifactProcessor.get_column_lineage = with_the_tables_columns
    DbtArtifactProcessor.joins_dbt_datasets = True
