"""platform_health end to end through Airflow: the pipeline-health views created over the audit trail, and
the dbt docs generated with the warehouse's catalog into ``DBT_DOCS_DIR``. The DAG runs with
``DBT_TASK_GRANULARITY=group`` (its dbt group as one freshness task and one ``dbt build``); the ingest DAGs'
tests run the default, one task per dbt node."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from python_scripts.ingest.pipeline import ingest
from python_scripts.ops.airflow_cli import run_dag
from python_scripts.settings import get_settings

pytestmark = pytest.mark.e2e

INTERVAL = (datetime(2025, 1, 19, tzinfo=UTC), datetime(2025, 1, 20, tzinfo=UTC))
HEALTH_VIEWS = ["mart_pipeline_runs", "mart_source_freshness"]


@pytest.fixture(scope="module")
def ran(dag_env, wh, api, tmp_path_factory) -> dict:
    """One orders batch ingested into an empty warehouse, then the DAG with its own docs folder."""
    wh.reset()
    docs = tmp_path_factory.mktemp("dbt_docs")
    env = {**dag_env, "DBT_DOCS_DIR": str(docs), "DBT_TASK_GRANULARITY": "group"}
    api.clear_faults()
    loaded = ingest("orders", "orders", *INTERVAL, settings=get_settings({**env, "LAKE_URL": str(docs.parent)}))
    log = run_dag("platform_health", "2025-01-20", env)
    return {"docs": docs, "loaded": loaded["loaded"], "log": log}


def test_the_dbt_group_ran_as_one_freshness_task_and_one_build(ran):
    assert "health_views.source_freshness" in ran["log"]
    assert "health_views.dbt_build" in ran["log"]
    assert "_model_build" not in ran["log"]


def test_the_health_views_summarise_the_audit_trail(ran, wh):
    views = wh.execute("SELECT table_name FROM information_schema.views WHERE table_schema = 'marts' ORDER BY 1")
    assert [name for (name,) in views] == HEALTH_VIEWS
    attempts = wh.execute("SELECT stage, status, loaded_count FROM marts.mart_pipeline_runs ORDER BY run_id")
    assert attempts.fetchall() == [("extract", "success", None), ("load", "success", ran["loaded"])]
    freshness = wh.execute(
        "SELECT source, entity, rows_loaded_total, rows_rejected_total, seconds_since_last_success > 0"
        " FROM marts.mart_source_freshness"
    ).fetchall()
    assert freshness == [("orders", "orders", ran["loaded"], 0, True)]


def test_the_docs_carry_the_warehouse_catalog(ran):
    docs = ran["docs"]
    assert all((docs / name).stat().st_size > 0 for name in ("index.html", "manifest.json", "catalog.json"))
    node = json.loads((docs / "catalog.json").read_text())["nodes"]["model.elt_platform.mart_source_freshness"]
    assert (node["metadata"]["schema"], node["metadata"]["type"]) == ("marts", "VIEW")
    assert "seconds_since_last_success" in node["columns"]
