"""The ingest DAG of every registered source (``python_scripts/sources/<name>.py``), one per source.

Each source module declares its DAG (id, schedule, pool) and documents it in its docstring, which the Airflow
UI shows; ``elt_dags.ingest`` gives them all the same shape: extract ▸ load per part, publish, transform.

A task's process parses this file only to run that task: Airflow's parsing context names the DAG then, and only
that one is built (each DAG renders its own Cosmos group), as Airflow's guide to dynamic DAG generation advises.
"""

from airflow.sdk import get_parsing_context
from elt_dags.ingest import ingest_dag

from python_scripts.sources import SOURCES

wanted = get_parsing_context().dag_id
for source in SOURCES.values():
    if wanted is None or wanted == source.dag.dag_id:
        ingest_dag(source)
