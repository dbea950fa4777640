"""Every DAG imports cleanly, carries ownership, retries and tags, and does no work at import time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from python_scripts.ops.airflow_cli import airflow_environment
from python_scripts.settings import PROJECT_ROOT

DAG_FILES = sorted((PROJECT_ROOT / "dags").glob("*.py"))

# Parse the DAG folder in a fresh interpreter whose warehouse and sources point at closed ports:
# a DAG file that connects anywhere at import time fails here.
PARSE = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    # The DAG files may read the settings and the source registry; the pipeline runs inside tasks only.
    declarative = {
        "python_scripts.settings", "python_scripts.derived", "python_scripts.ingest", "python_scripts.ingest.http"
    }
    heavy = sorted(
        m for m in sys.modules
        if m.startswith("python_scripts.") and m not in declarative and not m.startswith("python_scripts.sources")
    )
    from airflow.providers.openlineage.conf import is_disabled
    from openlineage.common.provider.dbt.processor import DbtArtifactProcessor
    print(json.dumps({
        "openlineage": {
            "disabled": is_disabled(),
            "dbt_datasets_joined": getattr(DbtArtifactProcessor, "joins_dbt_datasets", False),
        },
        "errors": {k: str(v) for k, v in bag.import_errors.items()},
        "heavy_modules": heavy,
        "files": sorted({dag.fileloc.rsplit("/", 1)[-1].removesuffix(".py") for dag in bag.dags.values()}),
        "sources": sorted({tag for dag in bag.dags.values() for tag in dag.tags}),
        "dags": {
            dag_id: {
                "owners": sorted({t.owner for t in dag.tasks}),
                "min_retries": min(t.retries for t in dag.tasks),
                "tags": sorted(dag.tags),
                "doc": bool(dag.doc_md),
                "tasks": len(dag.tasks),
                "dbt_tasks": {
                    t.task_id: sorted(t.upstream_task_ids)
                    for t in dag.tasks
                    if type(t).__module__.startswith("cosmos.")
                },
                "outlets": sorted(o.name for t in dag.tasks for o in t.outlets),
                "notified_tasks": sorted(t.task_id for t in dag.tasks if t.on_failure_callback),
            }
            for dag_id, dag in bag.dags.items()
        },
    }))
    """
)


def parse_dag_folder(home, **environ: str) -> dict:
    """The DAG folder parsed in a fresh interpreter (see PARSE), with environ on top of the settings'."""
    import json

    env = airflow_environment()
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "POSTGRES_URL": "postgresql://nobody@127.0.0.1:1/",
            "FAKESTORE_BASE_URL": "http://127.0.0.1:1",
            # No alert channel configured (empty counts as unset).
            "ALERT_SLACK_WEBHOOK_URL": "",
            "ALERT_EMAIL_TO": "",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///" + str(home / "a.db"),
            **environ,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PARSE, str(PROJECT_ROOT / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    output = (result.stdout + result.stderr).splitlines()[:-1]
    parsed["openlineage"]["log"] = [line for line in output if "openlineage" in line.lower()]
    return parsed


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    return parse_dag_folder(tmp_path_factory.mktemp("airflow_home"))


def test_there_are_dag_files():
    assert DAG_FILES


def test_no_import_errors(parsed):
    assert parsed["errors"] == {}


def test_every_file_defines_a_dag(parsed):
    assert {path.stem for path in DAG_FILES} == set(parsed["files"])


def test_owner_retries_tags_and_docs(parsed):
    for dag_id, dag in parsed["dags"].items():
        assert dag["owners"], dag_id
        assert "airflow" not in dag["owners"], dag_id
        assert dag["min_retries"] >= 1, dag_id
        assert dag["tags"], dag_id
        assert dag["doc"], dag_id


def test_without_an_alert_channel_no_task_has_a_failure_notifier(parsed):
    assert {dag_id: dag["notified_tasks"] for dag_id, dag in parsed["dags"].items() if dag["notified_tasks"]} == {}


def test_pipeline_code_is_imported_inside_tasks_not_at_parse_time(parsed):
    assert parsed["heavy_modules"] == []


def test_every_source_has_an_ingest_dag(parsed):
    from python_scripts.sources import SOURCES

    assert set(parsed["sources"]) >= set(SOURCES)
    assert {source.dag.dag_id for source in SOURCES.values()} <= set(parsed["dags"])


def test_ingest_dags_publish_one_asset_per_bronze_table(parsed):
    from python_scripts.sources import SOURCES

    outlets = {uri for dag in parsed["dags"].values() for uri in dag["outlets"]}
    expected = {f"bronze.{name}_{entity}" for name, source in SOURCES.items() for entity in source.entity_names}
    assert outlets == expected


def test_by_default_each_dbt_node_is_a_task(parsed):
    dbt_tasks = parsed["dags"]["fakestore_ingest"]["dbt_tasks"]
    assert "transform.fct_cart_items_model_build" in dbt_tasks
    assert "transform.fakestore_carts_source" in dbt_tasks
    assert len(dbt_tasks) > 10


def test_with_group_granularity_each_group_is_a_freshness_task_then_one_build(tmp_path):
    parsed = parse_dag_folder(tmp_path, DBT_TASK_GRANULARITY="group")
    assert parsed["errors"] == {}
    for dag_id, group in (("fakestore_ingest", "transform"), ("platform_health", "health_views")):
        dbt_tasks = {task: up for task, up in parsed["dags"][dag_id]["dbt_tasks"].items() if task.startswith(group)}
        assert set(dbt_tasks) == {f"{group}.source_freshness", f"{group}.dbt_build"}, dag_id
        assert dbt_tasks[f"{group}.dbt_build"] == [f"{group}.source_freshness"]


def test_a_wrong_setting_fails_the_parse_with_its_one_line(tmp_path):
    parsed = parse_dag_folder(tmp_path, HTTP_MAX_RETRIES="abc", WEATHER_CITIES="")
    assert parsed["dags"] == {}
    for error in parsed["errors"].values():
        assert "HTTP_MAX_RETRIES='abc': input should be a valid integer" in error
        assert "WEATHER_CITIES=''" in error
    assert {path.rsplit("/", 1)[-1] for path in parsed["errors"]} == {path.name for path in DAG_FILES}


def test_a_task_process_builds_only_its_own_ingest_dag(tmp_path):
    """Airflow sets the parsing context (through this variable) in the process that runs a task; the file of the
    generated ingest DAGs then builds only that DAG, not every source's Cosmos group."""
    parsed = parse_dag_folder(tmp_path, _AIRFLOW_PARSING_CONTEXT_DAG_ID="weather_ingest")
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {"weather_ingest", "platform_health", "lake_replay"}


def test_without_a_lineage_transport_openlineage_is_off_and_silent(parsed):
    assert parsed["openlineage"] == {"disabled": True, "dbt_datasets_joined": False, "log": []}


def test_with_a_catalog_url_openlineage_is_on_and_the_dbt_datasets_join_the_graph(tmp_path):
    parsed = parse_dag_folder(tmp_path, OPENLINEAGE_URL="http://127.0.0.1:1")
    assert parsed["errors"] == {}
    assert parsed["openlineage"]["disabled"] is False
    assert parsed["openlineage"]["dbt_datasets_joined"] is True
