"""Rebuild from the lake: reload a source's bronze batches from their raw objects (``ingest.replay``), then build
the dbt models downstream of it, without calling any API. ``make replay`` and the ``lake_replay`` DAG run this.

``python -m python_scripts.ops.replay --source fakestore [--entity carts] --start 2025-01-10 --end 2025-01-13``

The SCD2 snapshots record a change when they run, dated by the batch it came from, so they are built after each
data interval's batches, in order, as the scheduled runs built them; the rest of the models are keyed on the
data and are built once at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from python_scripts.derived import derived_environment
from python_scripts.ingest.lake import lake_from_url
from python_scripts.ingest.load import LakeObjectError, ReconciliationError, load_from_lake
from python_scripts.ingest.replay import ReplayError, plan_replay
from python_scripts.settings import Settings, load_or_exit
from python_scripts.sources import get_source
from python_scripts.transform.runner import run_dbt


def _dbt_environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, **derived_environment(settings)}


def _snapshots_downstream(selection: list[str], env: dict[str, str]) -> list[str]:
    listed = run_dbt(
        "ls", "--resource-type", "snapshot", "--output", "name", "--quiet", "--select", *selection, env=env
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def replay_from_lake(
    source: str,
    entities: list[str] | None,
    start: datetime,
    end: datetime,
    *,
    settings: Settings,
    transform: bool = True,
    on_line: Callable[[str], None] = print,
) -> list[dict]:
    """Reload the batches of the source's entities (default: all) whose data interval starts in ``[start, end)``
    and, with ``transform``, build the dbt models downstream of them; return the loads' results."""
    if end <= start:
        raise ReplayError(f"the end {end.isoformat()} is not after the start {start.isoformat()}")
    entities = entities or get_source(source).entity_names
    for entity in entities:
        get_source(source).entity(entity)  # KeyError naming the known entities
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    intervals = plan_replay(lake, source, entities, start, end)
    selection = [f"source:{source}.{entity}+" for entity in entities]
    env = _dbt_environment(settings)
    snapshots = _snapshots_downstream(selection, env) if transform else []
    results = []
    for interval in intervals:
        for manifest in interval.manifests:
            result = load_from_lake(manifest, settings=settings, replay=True)
            on_line(f"replayed {result['table']} batch {result['batch_id']}: {result['loaded']} loaded, "
                    f"{result['rejected']} quarantined, from {result['raw_uri']}")  # fmt: skip
            results.append(result)
        if snapshots:
            run_dbt("build", "--select", *(f"+{name}" for name in snapshots), env=env)
            on_line(f"  snapshots {', '.join(snapshots)} as of {interval.end.isoformat()}")
    if transform:
        run_dbt("build", "--select", *selection, env=env)
        on_line(f"built every dbt node downstream of {', '.join(selection)}")
    return results


def parse_instant(value: str) -> datetime:
    """A date or an ISO-8601 instant, as UTC (a date or a naive instant is taken as UTC)."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the source to replay, such as fakestore")
    parser.add_argument("--entity", action="append", help="an entity of it (repeatable; default: all)")
    parser.add_argument("--start", required=True, type=parse_instant, help="first interval start to replay (UTC)")
    parser.add_argument("--end", required=True, type=parse_instant, help="replay intervals starting before this (UTC)")
    parser.add_argument("--no-transform", action="store_true", help="reload bronze only, build no dbt model")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error(f"--end {args.end.isoformat()} is not after --start {args.start.isoformat()}")
    settings = load_or_exit(check_lake=True)
    try:
        results = replay_from_lake(
            args.source, args.entity, args.start, args.end, settings=settings, transform=not args.no_transform
        )
    except (ReplayError, LakeObjectError, ReconciliationError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"replayed {len(results)} batches, {sum(r['loaded'] for r in results)} records loaded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
