"""The measurements, one per child process: ``python -m benchmarks.tasks TASK '{"manifest": …}'``.

Each task reads its settings from the environment the runner prepared (the benchmark warehouse, its lake and
sandbox), times only its own work and prints one JSON object on stdout. A process of its own per measurement
lets the runner read each one's peak RSS (``wait4``) and keeps one contender's caches and garbage out of the
next one's figures. ``BENCH_PROFILE=DIR`` writes a pyinstrument profile of the task to ``DIR/<task>-<carts>.txt``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from python_scripts.ingest.bronze import (
    BRONZE_COPY_COLUMNS,
    bronze_copy_chunks,
    bronze_copy_prefix,
    bronze_copy_sql,
    bronze_table,
)
from python_scripts.ingest.extract import extract_to_lake
from python_scripts.ingest.lake import iter_lines, lake_from_url, open_lines_reader
from python_scripts.ingest.load import load_from_lake
from python_scripts.ingest.manifest import Manifest
from python_scripts.ingest.validate import DuplicateKeys, RecordValidator, schema_path
from python_scripts.settings import Settings, get_settings
from python_scripts.sources import get_source
from python_scripts.warehouse.db import connect

SOURCE, ENTITY = "fakestore", "carts"
# Rows per DataFrame / per statement for the row-by-row contenders: what a data engineer would write.
ROWS_PER_FRAME = 10_000
ROWS_PER_STATEMENT = 1000
VALIDATE_BATCH = DuplicateKeys.CHUNK
# jsonschema validates about 10,000 carts/s here: a sample gives its rate without minutes of waiting.
DETAILED_SAMPLE = 10_000


def _timed(work: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """Run ``work``; return its result with its wall and CPU seconds (this process only)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}


@contextmanager
def _landed_lines(settings: Settings, manifest: Manifest) -> Iterator[tuple[str, dict, Iterator[bytes]]]:
    """The URI of the batch's raw object, its envelope and its record lines."""
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    with open_lines_reader(lake, manifest.raw_key) as stream:
        lines = iter_lines(stream)
        yield lake.uri(manifest.raw_key), orjson.loads(next(lines))["envelope"], lines


def bronze_rows(settings: Settings, manifest: Manifest) -> Iterator[tuple]:
    """The bronze rows of the batch as Python tuples, in BRONZE_COPY_COLUMNS order, for the INSERT contenders."""
    md5 = hashlib.md5
    with _landed_lines(settings, manifest) as (uri, envelope, lines):
        instants = (envelope[name] for name in ("interval_start", "interval_end", "extracted_at"))
        shared = (manifest.batch_id, uri, *instants)
        for record_no, line in enumerate(lines, start=1):
            yield (*shared, record_no, md5(line, usedforsecurity=False).hexdigest(), line.decode())


def write_copy_rows(settings: Settings, manifest: Manifest, path: Path) -> int:
    """Write the batch's bronze rows as the loader sends them to COPY; return the JSON bytes of the records."""
    payload_bytes = 0
    with _landed_lines(settings, manifest) as (uri, envelope, lines), path.open("wb") as out:

        def counted() -> Iterator[bytes]:
            nonlocal payload_bytes
            for line in lines:
                payload_bytes += len(line) + 1
                yield line

        for _, _, data in bronze_copy_chunks(counted(), bronze_copy_prefix(manifest.batch_id, uri, envelope)):
            out.write(data)
    return payload_bytes


# --- extraction ---------------------------------------------------------------------------------------


def extract(settings: Settings, args: dict) -> dict:
    """The project's extraction of every cart: HTTP stream → ijson → validation → lake."""
    start, end = (datetime.fromisoformat(args[name]) for name in ("interval_start", "interval_end"))
    manifest, timing = _timed(lambda: extract_to_lake(SOURCE, ENTITY, start, end, full_refresh=True, settings=settings))
    return {**timing, "records": manifest["extracted"], "rejected": manifest["rejected"], "manifest": manifest}


def validate(settings: Settings, args: dict) -> dict:
    """The checks extraction makes, alone, over the landed records: the compiled validator and the
    duplicate-key check for every record (parsing is not timed), then ``jsonschema`` alone on a sample
    for comparison."""
    manifest = Manifest(**args["manifest"])
    validator = RecordValidator.for_entity(SOURCE, ENTITY)
    spent, records, sample = 0.0, 0, []
    with (
        _landed_lines(settings, manifest) as (_, _, lines),
        DuplicateKeys(get_source(SOURCE).entity(ENTITY).key) as duplicates,
    ):
        while batch := [(line, orjson.loads(line)) for line in islice(lines, VALIDATE_BATCH)]:
            started = time.perf_counter()
            for line, record in batch:
                records += 1
                if validator.check(record, line) is None:
                    duplicates.add(record, records)
            duplicates.resolve()  # as extraction does, a chunk at a time
            spent += time.perf_counter() - started
            sample = sample or [record for _, record in batch[:DETAILED_SAMPLE]]
    detailed = jsonschema.Draft202012Validator(json.loads(schema_path(SOURCE, ENTITY).read_text(encoding="utf-8")))
    _, timing = _timed(lambda: [detailed.is_valid(record) for record in sample])
    return {
        "records": records,
        "seconds": spent,
        "jsonschema_sample": len(sample),
        "jsonschema_seconds": timing["seconds"],
    }


# --- bronze load contenders -----------------------------------------------------------------------------


def load_project(settings: Settings, args: dict) -> dict:
    """The project's loader: ``load_from_lake``, audit rows and reconciliation included."""
    result, timing = _timed(lambda: load_from_lake(args["manifest"], settings=settings))
    return {**timing, "rows": result["loaded"]}


def load_replay(settings: Settings, args: dict) -> dict:
    """``make replay`` without dbt: the batch found by its manifest in the lake and loaded by the same loader."""
    from python_scripts.ops.replay import replay_from_lake

    start, end = (datetime.fromisoformat(args[name]) for name in ("interval_start", "interval_end"))
    quiet = lambda _line: None  # noqa: E731 - the benchmark prints its own progress

    (result,), timing = _timed(
        lambda: replay_from_lake(SOURCE, [ENTITY], start, end, settings=settings, transform=False, on_line=quiet)
    )
    return {**timing, "rows": result["loaded"]}


def load_copy(settings: Settings, args: dict) -> dict:
    """The physical reference: COPY of the rows the loader would send, serialized beforehand to a file."""

    def copy_file() -> None:
        with (
            connect(settings, settings.loader_role, "bench-copy") as conn,
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(bronze_copy_sql(bronze_table(SOURCE, ENTITY))) as copy,
            open(args["rows_file"], "rb") as rows,
        ):
            while block := rows.read(1 << 20):
                copy.write(block)

    return _timed(copy_file)[1]


def load_execute_values(settings: Settings, args: dict) -> dict:
    """psycopg2.extras.execute_values, 1,000 rows per INSERT, one transaction."""
    import psycopg2
    from psycopg2 import sql as sql2
    from psycopg2.extras import execute_values

    manifest = Manifest(**args["manifest"])
    insert_sql = sql2.SQL("INSERT INTO {} ({}) VALUES %s").format(
        sql2.Identifier("bronze", f"{SOURCE}_{ENTITY}"), sql2.SQL(", ").join(map(sql2.Identifier, BRONZE_COPY_COLUMNS))
    )

    def insert() -> None:
        conn = psycopg2.connect(settings.warehouse_url)
        try:
            with conn, conn.cursor() as cur:
                execute_values(cur, insert_sql, bronze_rows(settings, manifest), page_size=ROWS_PER_STATEMENT)
        finally:
            conn.close()

    return _timed(insert)[1]


def load_to_sql(settings: Settings, args: dict) -> dict:
    """pandas.DataFrame.to_sql(method="multi", chunksize=1000) through SQLAlchemy and psycopg2, one
    transaction, DataFrames of 10,000 rows so that memory stays bounded as for the loader."""
    import pandas as pd
    import sqlalchemy

    manifest = Manifest(**args["manifest"])
    engine = sqlalchemy.create_engine(settings.postgres.url(settings.warehouse_db, scheme="postgresql+psycopg2"))

    def insert() -> None:
        rows = bronze_rows(settings, manifest)
        with engine.begin() as conn:
            while frame := list(islice(rows, ROWS_PER_FRAME)):
                pd.DataFrame.from_records(frame, columns=BRONZE_COPY_COLUMNS).to_sql(
                    f"{SOURCE}_{ENTITY}",
                    conn,
                    schema="bronze",
                    if_exists="append",
                    index=False,
                    method="multi",
                    chunksize=ROWS_PER_STATEMENT,
                )

    try:
        return _timed(insert)[1]
    finally:
        engine.dispose()


TASKS: dict[str, Callable[[Settings, dict], dict]] = {
    "extract": extract,
    "validate": validate,
    "project loader": load_project,
    "lake replay": load_replay,
    "raw COPY": load_copy,
    "execute_values": load_execute_values,
    "to_sql multi": load_to_sql,
}
LOAD_CONTENDERS = ("project loader", "lake replay", "raw COPY", "execute_values", "to_sql multi")


def main(argv: list[str]) -> int:
    task, args = TASKS[argv[0]], json.loads(argv[1])
    settings = get_settings()
    profile_dir = os.environ.get("BENCH_PROFILE")
    if not profile_dir:
        result = task(settings, args)
    else:
        from pyinstrument import Profiler

        with Profiler() as profiler:
            result = task(settings, args)
        name = f"{argv[0].replace(' ', '-')}-{args.get('carts', 0)}.txt"
        (Path(profile_dir) / name).write_text(profiler.output_text(unicode=True, show_all=False))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
