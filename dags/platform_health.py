"""
### Platform health

Daily upkeep of what people watch the platform with:

* **health_views**: the pipeline-health views over the audit trail, `marts.mart_pipeline_runs` and
  `marts.mart_source_freshness`, read by the KPI report and the Prometheus exporter as `bi_reader`. They are
  views, so they are live between runs; this only (re)creates them.
* **dbt_docs**: `dbt docs generate` with the warehouse's catalog into `DBT_DOCS_DIR`, the folder the UI
  serves under *Browse > dbt docs*.
"""

from airflow.sdk import dag
from elt_dags.dbt import dbt_docs_task, dbt_task_group
from elt_dags.defaults import default_args

from python_scripts.sources.base import START_DATE


@dag(
    dag_id="platform_health",
    schedule="@daily",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["dbt", "monitoring", "docs"],
    doc_md=__doc__,
)
def platform_health():
    dbt_task_group("health_views", select=["source:audit.ingestion_runs+"]) >> dbt_docs_task()


platform_health()
