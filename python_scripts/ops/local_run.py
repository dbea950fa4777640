"""Run the platform once on this machine: sandbox where no source URL is set, the DAGs through
``airflow dags test``, then a summary of what landed and what the marts hold.

``python -m python_scripts.ops.local_run [--date 2025-01-30] [--dag fakestore_ingest]``

Each DAG runs with the settings and no params, as the scheduler runs it: what it extracts follows the
extraction state (the whole history of a windowed entity on its first load, see ``ingest.state``).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from python_scripts.ops.airflow_cli import (
    AirflowCommandError,
    airflow_environment,
    correct_run_dates,
    first_error,
    prepare_airflow,
    run_dag,
    task_states,
)
from python_scripts.ops.sandboxing import set_sandbox_clock, sources_or_sandbox
from python_scripts.settings import get_settings, load_or_exit
from python_scripts.sources import SOURCES
from python_scripts.sources.base import START_DATE

# Every ingest DAG, then the upkeep DAG that reads what they loaded.
DEFAULT_DAGS = (*(source.dag.dag_id for source in SOURCES.values()), "platform_health")


@dataclass(frozen=True)
class DagOutcome:
    dag_id: str
    seconds: float
    states: dict[str, str]
    error: str | None = None

    @property
    def failed_tasks(self) -> list[str]:
        return [task for task, state in self.states.items() if state == "failed"]

    @property
    def succeeded(self) -> bool:
        finished = {"success", "skipped"}
        return bool(self.states) and set(self.states.values()) <= finished and self.error is None

    def line(self) -> str:
        """One status line: the DAG, how it ended, and for a failure the tasks and the first error."""
        if self.succeeded:
            return f"  {self.dag_id:<18} success  {len(self.states)} tasks, {self.seconds:.0f} s"
        if not self.states:
            why = "no task instances were created (a logical date before the DAG's start?)"
        else:
            why = f"failed tasks: {', '.join(self.failed_tasks) or 'none (the run did not finish)'}"
        return f"  {self.dag_id:<18} FAILED   {why}" + (f"\n  {'':<18}          {self.error}" if self.error else "")


def logical_date(text: str, now: datetime | None = None) -> datetime:
    """``--date`` (``YYYY-MM-DD`` or an ISO instant, UTC) as the DAG runs' logical date; a ValueError in one line
    when it is not a date, before the DAGs' first interval or in the future."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"DATE={text!r} is not a date: use YYYY-MM-DD (or an ISO instant, UTC)") from None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value < START_DATE:
        raise ValueError(f"DATE={text!r} is before the DAGs' first data interval ({START_DATE:%Y-%m-%d})")
    if value > (now or datetime.now(UTC)):
        raise ValueError(f"DATE={text!r} is in the future: a run loads the interval that ends at its date")
    return value


class TaskProgress:
    """Reads ``airflow dags test``'s log as it comes and prints a line each time a task ends a try."""

    STARTED = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=(-?\d+)")
    ENDED = re.compile(r"Task instance state updated\b.*\bnew_state=(\w+)")

    def __init__(self):
        self.task: str | None = None
        self.started = 0.0

    def __call__(self, line: str) -> None:
        started = self.STARTED.search(line)
        if started:
            task, index = started.groups()
            self.task, self.started = (task if index == "-1" else f"{task}[{index}]"), time.monotonic()
            return
        ended = self.ENDED.search(line)
        if ended and self.task:
            print(f"    {self.task:<58} {ended.group(1):<13} {time.monotonic() - self.started:5.1f} s", flush=True)
            self.task = None


def run_one(dag_id: str, date: datetime, env: dict[str, str]) -> DagOutcome:
    """One DAG run through ``airflow dags test``, task by task, then what its task instances say."""
    started, started_at = time.monotonic(), datetime.now(UTC)
    print(f"running {dag_id} for {date:%Y-%m-%dT%H:%M:%SZ} …", flush=True)
    error = None
    try:
        run_dag(dag_id, date.isoformat(), env, on_line=TaskProgress())
    except AirflowCommandError as exc:
        error = first_error(exc.output) or str(exc).splitlines()[0]
    correct_run_dates(env, dag_id, date, started_at)
    outcome = DagOutcome(dag_id, time.monotonic() - started, task_states(env, dag_id, date), error)
    print(outcome.line(), flush=True)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", default="2025-01-30", help="logical date of the run (default: %(default)s)")
    parser.add_argument("--dag", action="append", help="DAG id to run (repeatable; default: all)")
    args = parser.parse_args(argv)
    try:
        date = logical_date(args.date)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    load_or_exit(check_lake=True)
    env = airflow_environment()
    print("preparing Airflow metadata database …", flush=True)
    prepare_airflow(env)
    with sources_or_sandbox(env) as run_env:
        set_sandbox_clock(run_env, date.isoformat())
        outcomes = [run_one(dag_id, date, run_env) for dag_id in args.dag or DEFAULT_DAGS]
    from python_scripts.ops.summary import print_summary

    print_summary(get_settings())
    print("\nDAG runs\n" + "\n".join(outcome.line() for outcome in outcomes))
    return 0 if all(outcome.succeeded for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
