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


def name_sources_by_identifier() -> None:
    """Name dbt sources as the tables they are, when OpenLineage is on.

    openlineage-integration-common's dbt processor (which Cosmos runs after each dbt command) names a source's
    dataset ``database.schema.<name>``, the source table's dbt name, where the table is ``<identifier>``
    (``bronze.fakestore_carts`` for the source table ``fakestore.carts``); models get their alias right. So the
    dbt events would not join the bronze tables the loads write. This wraps the processor's dataset naming to use
    a source's identifier, until the processor does so itself.
    """
    from airflow.providers.openlineage.conf import is_disabled

    if is_disabled():
        return
    from openlineage.common.provider.dbt.processor import DbtArtifactProcessor

    original = DbtArtifactProcessor.extract_dataset_data
    if getattr(original, "names_sources_by_identifier", False):
        return

    def extract_dataset_data(self, node, assertions, has_facets=False):
        namespace, name, facets, input_facets = original(self, node, assertions, has_facets)
        metadata = node.metadata_node
        if node.type == "source" and metadata.get("identifier"):
            name = self._format_dataset_name(metadata["database"], metadata["schema"], metadata["identifier"])
        return namespace, name, facets, input_facets

    extract_dataset_data.names_sources_by_identifier = True
    DbtArtifactProcessor.extract_dataset_data = extract_dataset_data
