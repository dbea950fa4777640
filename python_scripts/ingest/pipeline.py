"""Ingestion of one source entity for one data interval in this process: extract to the lake, then load.

In Airflow the two halves are separate tasks that meet in the lake (``python_scripts.ingest.extract`` and
``python_scripts.ingest.load``); this runs them back to back, for the CLI, the tests and the benchmarks.

CLI: ``python -m python_scripts.ingest.pipeline fakestore carts --start 2025-01-01 [--end 2025-01-02]``,
``python -m python_scripts.ingest.pipeline openweather observations --start 2025-01-01T10:00 --partition London,GB``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta

from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.load import load_from_lake
from python_scripts.settings import get_settings, load_or_exit


def ingest(source: str, entity: str, start: datetime, end: datetime, **kwargs) -> dict:
    """Extract and load one entity for one interval in this process."""
    settings = kwargs.pop("settings", None) or get_settings()
    manifest = extract_to_lake(source, entity, start, end, settings=settings, **kwargs)
    return load_from_lake(manifest, settings=settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Ingest one source entity for one data interval.")
    parser.add_argument("source")
    parser.add_argument("entity")
    parser.add_argument("--start", required=True, type=datetime.fromisoformat, help="interval start (UTC)")
    parser.add_argument("--end", type=datetime.fromisoformat, help="interval end (default: start + 1 day)")
    parser.add_argument("--partition", help="the city, ticker … of a partitioned entity")
    parser.add_argument(
        "--full-refresh", action="store_true", help="ask a windowed entity for its whole history, not from its cursor"
    )
    args = parser.parse_args(argv)
    end = args.end or args.start + timedelta(days=1)
    if end <= args.start:
        parser.error(f"--end {end.isoformat()} is not after --start {args.start.isoformat()}")
    settings = load_or_exit(check_lake=True)
    result = ingest(
        args.source,
        args.entity,
        args.start,
        end,
        partition=args.partition,
        full_refresh=args.full_refresh,
        settings=settings,
    )
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
