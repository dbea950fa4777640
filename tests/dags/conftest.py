"""The DAG folder on ``sys.path``, as Airflow puts it there for the DAG files, so that the DAG-side package
(``elt_dags``) imports in these tests as it does in a DAG file."""

import sys

from python_scripts.settings import PROJECT_ROOT

if str(PROJECT_ROOT / "dags") not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT / "dags"))
