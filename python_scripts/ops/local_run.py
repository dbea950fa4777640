"""Run the platform once on this machine: sandbox where no source URL is set, the DAGs through
``airflow dags test``, then a summary of what landed and what the marts hold.

``python -m python_scripts.ops.local_run [--date 2025-01-30] [--dag fakestore_ingest] [--incremental]``
"""

from __future__ import annotations

import argparse
import time

from python_scripts.ops.airflow_cli import airflow_environment, prepare_airflow, run_dag
from python_scripts.ops.sandboxing import set_sandbox_clock, sources_or_sandbox
from python_scripts.settings import get_settings, load_or_exit
from python_scripts.sources import SOURCES

# Every ingest DAG, then the upkeep DAG that reads what they loaded.
DEFAULT_DAGS = (*(source.dag.dag_id for source in SOURCES.values()), "platform_health")
# Sources with windowed entities take their whole history in `make run` (its one run is their first load).
FULL_HISTORY_DAGS = {source.dag.dag_id for source in SOURCES.values() if any(e.windowed for e in source.entities)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2025-01-30", help="logical date of the run (default: %(default)s)")
    parser.add_argument("--dag", action="append", help="DAG id to run (repeatable; default: all)")
    parser.add_argument("--incremental", action="store_true", help="extract carts for the interval only")
    args = parser.parse_args(argv)

    load_or_exit(check_lake=True)
    env = airflow_environment()
    print("preparing Airflow metadata database …", flush=True)
    prepare_airflow(env)
    with sources_or_sandbox(env) as run_env:
        set_sandbox_clock(run_env, f"{args.date}T00:00:00Z" if len(args.date) == 10 else args.date)
        for dag_id in args.dag or DEFAULT_DAGS:
            started = time.monotonic()
            print(f"running {dag_id} for {args.date} …", flush=True)
            conf = {"full_history": not args.incremental} if dag_id in FULL_HISTORY_DAGS else None
            run_dag(dag_id, args.date, run_env, conf=conf)
            print(f"{dag_id} succeeded in {time.monotonic() - started:.0f} s")
    from python_scripts.ops.summary import print_summary

    print_summary(get_settings())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
