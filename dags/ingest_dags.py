"""The ingest DAG of every registered source (``python_scripts/sources/<name>.py``), one per source.

Each source module declares its DAG (id, schedule, pool) and documents it in its docstring, which the Airflow
UI shows; ``elt_dags.ingest`` gives them all the same shape: extract ▸ load per part, publish, transform.
"""

from elt_dags.ingest import ingest_dag

from python_scripts.sources import SOURCES

for source in SOURCES.values():
    ingest_dag(source)
