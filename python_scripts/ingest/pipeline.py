"""Ingestion of one source entity for one data interval: extract → validate → land, then load → audit.

The two halves meet in the lake, so each can be retried on its own and nothing large passes between
Airflow tasks: ``extract_to_lake`` returns a small manifest that ``load_from_lake`` takes.

CLI: ``python -m python_scripts.ingest.pipeline fakestore carts --start 2025-01-01 [--end 2025-01-02]``,
``python -m python_scripts.ingest.pipeline openweather observations --start 2025-01-01T10:00 --partition London,GB``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import queue
import struct
import sys
import time
from collections.abc import Container, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from python_scripts.ingest import audit
from python_scripts.ingest.http import Quarantined, Request, SourceThrottled, build_session, open_response
from python_scripts.ingest.lake import (
    RAW,
    REJECTED,
    batch_id_for,
    iter_lines,
    lake_from_url,
    object_key,
    open_lines_reader,
    open_lines_writer,
)
from python_scripts.ingest.validate import DuplicateKeys, RecordValidator, Rejection
from python_scripts.settings import Settings, get_settings
from python_scripts.sources import Call, Entity, get_source, partition_slug
from python_scripts.warehouse.db import connect

log = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 5000
# The bronze columns a load writes, in the order of its COPY rows; loaded_at takes its default.
BRONZE_COPY_COLUMNS = (
    "batch_id",
    "lake_uri",
    "interval_start",
    "interval_end",
    "extracted_at",
    "record_no",
    "record_hash",
    "payload",
)


class ReconciliationError(RuntimeError):
    """Counts do not add up (extracted ≠ loaded + rejected); the load is rolled back."""


@dataclass(frozen=True)
class Manifest:
    """What one extraction landed: the handover from extract to load (JSON-serialisable for XCom)."""

    source: str
    entity: str
    batch_id: str
    interval_start: str
    interval_end: str
    raw_key: str
    rejected_key: str
    raw_uri: str
    extracted: int
    valid: int
    rejected: int
    partition: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def run_key(self) -> audit.RunKey:
        return audit.RunKey(
            self.source,
            self.entity,
            self.batch_id,
            datetime.fromisoformat(self.interval_start),
            datetime.fromisoformat(self.interval_end),
        )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _envelope_line(**fields) -> bytes:
    return orjson.dumps({"envelope": fields}) + b"\n"


def _fetch(session, request: Request, spec: Entity, settings: Settings) -> Iterator[Any]:
    """The records (and quarantined parts) of one request; a throttled request is asked again a few
    times, waiting longer each time, before the throttling fails the extraction."""
    timeout = (settings.http_connect_timeout, settings.http_read_timeout)
    attempt = 0
    while True:
        produced = False
        try:
            with open_response(session, request, timeout, spec.pass_statuses) as response:
                for item in spec.reader(response, request):
                    produced = True
                    yield item
            return
        except SourceThrottled as exc:
            if produced or attempt >= settings.http_throttle_retries:
                raise
            wait = settings.http_throttle_wait * 2**attempt
            attempt += 1
            retries = settings.http_throttle_retries
            log.warning("throttled, asking again in %.1f s (%d/%d): %s", wait, attempt, retries, exc)
            time.sleep(wait)


def extract_to_lake(
    source_name: str,
    entity: str,
    interval_start: datetime,
    interval_end: datetime,
    *,
    partition: str | None = None,
    full_history: bool | None = None,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Stream one entity (one partition of it, such as a city) from its API through validation into the
    lake; return the manifest as a dict.

    The raw object holds every record as received (one JSON document per line after an envelope line);
    the rejected object beside it holds each invalid record with its path and reason. Both are written
    on every run, so a rerun of the interval replaces both. ``api_key`` overrides the key from the settings.
    """
    settings = settings or get_settings()
    source = get_source(source_name)
    spec = source.entity(entity)
    start, end = _utc(interval_start), _utc(interval_end)
    if full_history is None:
        full_history = settings.fakestore_carts_full_history
    batch_id = batch_id_for(start, end)
    if partition:
        batch_id += "_" + partition_slug(partition)
    key = audit.RunKey(source_name, entity, batch_id, start, end)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    raw_key = object_key(RAW, source_name, entity, start, batch_id, settings.lake_compression)
    rejected_key = object_key(REJECTED, source_name, entity, start, batch_id, settings.lake_compression)
    validator = RecordValidator.for_entity(source_name, entity)
    duplicates = DuplicateKeys(spec.key)
    call = Call(start, end, settings, partition=partition, full_history=full_history and spec.windowed)
    requests = source.requests(entity, call, api_key)

    with connect(settings, settings.loader_role, "elt-extract") as conn:
        run_id = audit.start_run(conn, key, "extract")
        extracted = rejected = 0
        try:
            extracted_at = datetime.now(UTC).isoformat()
            envelope = _envelope_line(
                source=source_name,
                entity=entity,
                partition=partition,
                batch_id=batch_id,
                interval_start=start.isoformat(),
                interval_end=end.isoformat(),
                extracted_at=extracted_at,
                request_urls=[request.describe() for request in requests],
            )
            with (
                build_session(settings) as session,
                open_lines_writer(lake, raw_key) as raw,
                open_lines_writer(lake, rejected_key) as quarantine,
            ):
                raw.write(envelope)
                quarantine.write(envelope)
                for request in requests:
                    for item in _fetch(session, request, spec, settings):
                        extracted += 1
                        if isinstance(item, Quarantined):
                            record, problem = item.record, Rejection(item.path, item.reason)
                            line = orjson.dumps(record)
                        else:
                            record, line = item, orjson.dumps(item)
                            problem = validator.check(record, line) or duplicates.check(record, extracted)
                        raw.write(line + b"\n")
                        if problem is not None:
                            rejected += 1
                            log.warning("record %d quarantined: %s at %s", extracted, problem.reason, problem.path)
                            quarantine.write(
                                orjson.dumps(
                                    {
                                        "record_no": extracted,
                                        "path": problem.path,
                                        "reason": problem.reason,
                                        "record": record,
                                    }
                                )
                                + b"\n"
                            )
        except BaseException as exc:
            audit.record_failure(conn, run_id, exc, extracted=extracted)
            raise
        manifest = Manifest(
            source=source_name,
            entity=entity,
            batch_id=batch_id,
            interval_start=start.isoformat(),
            interval_end=end.isoformat(),
            raw_key=raw_key,
            rejected_key=rejected_key,
            raw_uri=lake.uri(raw_key),
            extracted=extracted,
            valid=extracted - rejected,
            rejected=rejected,
            partition=partition,
        )
        audit.finish_run(
            conn,
            run_id,
            "success",
            extracted=extracted,
            valid=manifest.valid,
            rejected=rejected,
            lake_uri=manifest.raw_uri,
        )
    return manifest.to_dict()


def bronze_table(source: str, entity: str) -> sql.Composed:
    return sql.SQL("bronze.{}").format(sql.Identifier(f"{source}_{entity}"))


_BRONZE_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    batch_id       text        NOT NULL,
    record_no      integer     NOT NULL,
    record_hash    text        NOT NULL,
    payload        jsonb       NOT NULL,
    lake_uri       text        NOT NULL,
    interval_start timestamptz NOT NULL,
    interval_end   timestamptz NOT NULL,
    extracted_at   timestamptz NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, record_no)
)
"""
# Incremental dbt models read the versions loaded since their last run: an index, not a scan of all of bronze.
_BRONZE_LOADED_AT_INDEX = "CREATE INDEX IF NOT EXISTS {index} ON {table} (loaded_at)"


def ensure_bronze_table(conn: psycopg.Connection, source: str, entity: str) -> sql.Composed:
    """Create the bronze table of a source entity and its index where missing; return the table's name."""
    table = bronze_table(source, entity)
    conn.execute(sql.SQL(_BRONZE_DDL).format(table=table))
    index = sql.Identifier(f"{source}_{entity}_loaded_at_idx")
    conn.execute(sql.SQL(_BRONZE_LOADED_AT_INDEX).format(index=index, table=table))
    return table


def create_bronze_tables(settings: Settings | None = None) -> list[str]:
    """Create the bronze table of every registered source entity (as the loader), so that dbt's staging
    views exist before a source's first load. Loads create their table too; this is idempotent."""
    from python_scripts.sources import SOURCES

    settings = settings or get_settings()
    created = []
    with connect(settings, settings.loader_role, "elt-db-init") as conn:
        for source in SOURCES.values():
            for entity in source.entities:
                ensure_bronze_table(conn, source.name, entity)
                created.append(f"bronze.{source.name}_{entity}")
    return created


def _copy_text(value: str | bytes) -> bytes:
    """Escape one value for COPY's text format."""
    data = value.encode() if isinstance(value, str) else value
    return data.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def load_from_lake(manifest_dict: dict, *, settings: Settings | None = None) -> dict:
    """Replace the manifest's batch in bronze (and its rejects in audit) in one transaction.

    Streams the lake objects into COPY; reconciles extracted = loaded + rejected before committing,
    otherwise raises ReconciliationError and leaves bronze as it was.
    """
    settings = settings or get_settings()
    manifest = Manifest(**manifest_dict)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    table = bronze_table(manifest.source, manifest.entity)
    lock_name = f"bronze.{manifest.source}_{manifest.entity}"

    with connect(settings, settings.loader_role, "elt-load") as conn:
        run_id = audit.start_run(conn, manifest.run_key(), "load")
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_name,))
                ensure_bronze_table(conn, manifest.source, manifest.entity)
                conn.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(table), (manifest.batch_id,))
                conn.execute(
                    "DELETE FROM audit.rejected_records WHERE source = %s AND entity = %s AND batch_id = %s",
                    (manifest.source, manifest.entity, manifest.batch_id),
                )
                rejected_nos = _copy_rejects(conn, lake, manifest)
                raw_count, loaded = _copy_bronze(conn, lake, manifest, table, rejected_nos)
                _reconcile(manifest, raw_count, loaded, len(rejected_nos))
        except BaseException as exc:
            audit.record_failure(
                conn, run_id, exc, extracted=manifest.extracted, rejected=manifest.rejected, lake_uri=manifest.raw_uri
            )
            raise
        audit.finish_run(
            conn,
            run_id,
            "success",
            extracted=manifest.extracted,
            valid=manifest.valid,
            rejected=len(rejected_nos),
            loaded=loaded,
            lake_uri=manifest.raw_uri,
        )
    return {**manifest.to_dict(), "loaded": loaded, "table": f"{lock_name}"}


def _read_envelope(lines, manifest: Manifest, key: str) -> dict:
    try:
        envelope = orjson.loads(next(lines))["envelope"]
    except (StopIteration, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ReconciliationError(f"lake object {key} has no envelope line") from exc
    if envelope.get("batch_id") != manifest.batch_id:
        raise ReconciliationError(
            f"lake object {key} holds batch {envelope.get('batch_id')!r}, expected {manifest.batch_id!r}"
        )
    return envelope


def _copy_rejects(conn, lake, manifest: Manifest) -> set[int]:
    """COPY the quarantined records into audit.rejected_records; return their record numbers."""
    rejected_nos: set[int] = set()
    uri = _copy_text(lake.uri(manifest.rejected_key))
    prefix = b"\t".join(_copy_text(v) for v in (manifest.source, manifest.entity, manifest.batch_id))
    copy_sql = (
        "COPY audit.rejected_records (source, entity, batch_id, lake_uri, record_no, reason, path, "
        "payload, raw_text) FROM STDIN"
    )
    with (
        open_lines_reader(lake, manifest.rejected_key) as stream,
        conn.cursor() as cur,
        cur.copy(copy_sql) as copy,
    ):
        lines = iter_lines(stream)
        _read_envelope(lines, manifest, manifest.rejected_key)
        for line in lines:
            entry = orjson.loads(line)
            rejected_nos.add(entry["record_no"])
            record = orjson.dumps(entry["record"])
            # jsonb cannot hold U+0000: keep such records as text instead of failing the load.
            payload, raw_text = (b"\\N", _copy_text(record)) if b"\\u0000" in record else (_copy_text(record), b"\\N")
            copy.write(
                b"\t".join(
                    (
                        prefix,
                        uri,
                        str(entry["record_no"]).encode(),
                        _copy_text(entry["reason"]),
                        _copy_text(entry["path"]),
                        payload,
                        raw_text,
                    )
                )
                + b"\n"
            )
    return rejected_nos


class _QueuedCopyWriter(QueuedLibpqWriter):
    """psycopg's queued COPY writer: a thread sends each chunk to the server while this one reads and encodes
    the next, so the client's work overlaps the server's instead of adding to it. With a short queue: the
    client outpaces the server, and psycopg's default of 1,024 chunks would hold most of a batch in memory."""

    def __init__(self, cursor: psycopg.Cursor, queued_chunks: int = 4):
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=queued_chunks)


def _copy_bronze(conn, lake, manifest: Manifest, table, rejected_nos: set[int]) -> tuple[int, int]:
    """Stream the raw object into the bronze table with COPY, skipping quarantined records."""
    raw_count = loaded = 0
    with (
        open_lines_reader(lake, manifest.raw_key) as stream,
        conn.cursor() as cur,
        cur.copy(bronze_copy_sql(table), writer=_QueuedCopyWriter(cur)) as copy,
    ):
        lines = iter_lines(stream)
        envelope = _read_envelope(lines, manifest, manifest.raw_key)
        prefix = bronze_copy_prefix(manifest.batch_id, lake.uri(manifest.raw_key), envelope)
        for chunk in bronze_copy_chunks(lines, prefix, rejected_nos):
            raw_count, rows, data = chunk
            copy.write(data)
            loaded += rows
    return raw_count, loaded


def bronze_copy_sql(table: sql.Composable) -> sql.Composed:
    columns = sql.SQL(", ").join(map(sql.Identifier, BRONZE_COPY_COLUMNS))
    return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(table, columns)


# COPY's binary format: a header, then per row a field count and (length, value) per field, then a trailer.
# The server reads lengths instead of scanning 300 MB of text for delimiters and escapes, and takes the
# timestamps as integers: a quarter less server time per row, where the server sets the pace.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY_TRAILER = struct.pack(">h", -1)
_POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_int4_field = struct.Struct(">ii").pack
_length = struct.Struct(">i").pack
_JSONB_VERSION = b"\x01"


def _binary_text(value: str) -> bytes:
    data = value.encode()
    return _length(len(data)) + data


def _binary_timestamptz(value: str) -> bytes:
    """An ISO-8601 instant as timestamptz's binary value: microseconds since 2000-01-01 UTC."""
    return struct.pack(">iq", 8, (_utc(datetime.fromisoformat(value)) - _POSTGRES_EPOCH) // timedelta(microseconds=1))


def bronze_copy_prefix(batch_id: str, lake_uri: str, envelope: dict) -> bytes:
    """The start of every bronze row of one batch in COPY's binary format: the field count and the columns
    the rows share."""
    instants = (envelope[name] for name in ("interval_start", "interval_end", "extracted_at"))
    return (
        struct.pack(">h", len(BRONZE_COPY_COLUMNS))
        + _binary_text(batch_id)
        + _binary_text(lake_uri)
        + b"".join(map(_binary_timestamptz, instants))
    )


def bronze_copy_chunks(
    lines: Iterable[bytes], prefix: bytes, skip: Container[int] = frozenset(), chunk_rows: int = COPY_CHUNK_ROWS
) -> Iterator[tuple[int, int, bytes]]:
    """The COPY data (binary format) of the bronze rows of a raw object's record lines (numbered from 1,
    those in ``skip`` left out), as ``(records read so far, rows, data)`` chunks of ``chunk_rows`` rows;
    the first chunk starts with the format's header, the last one, after the last line, ends with its trailer.

    A few large writes keep the client's share of a load small: the server's JSONB parsing sets its pace.
    """
    md5 = hashlib.md5
    buffer: list[bytes] = [_BINARY_HEADER]
    rows = record_no = 0
    for record_no, line in enumerate(lines, start=1):
        if record_no in skip:
            continue
        # A jsonb value is a version byte and the JSON text; the md5 is 32 hex digits.
        buffer.append(
            b"%s%s\x00\x00\x00\x20%s%s%s%s"
            % (
                prefix,
                _int4_field(4, record_no),
                md5(line, usedforsecurity=False).hexdigest().encode(),
                _length(len(line) + 1),
                _JSONB_VERSION,
                line,
            )
        )
        rows += 1
        if rows == chunk_rows:
            yield record_no, rows, b"".join(buffer)
            buffer.clear()
            rows = 0
    buffer.append(_BINARY_TRAILER)
    yield record_no, rows, b"".join(buffer)


def _reconcile(manifest: Manifest, raw_count: int, loaded: int, rejected: int) -> None:
    problems = []
    if raw_count != manifest.extracted:
        problems.append(f"the raw object holds {raw_count} records but extraction counted {manifest.extracted}")
    if rejected != manifest.rejected:
        problems.append(f"the rejected object holds {rejected} records but validation counted {manifest.rejected}")
    if loaded + rejected != manifest.extracted:
        problems.append(f"loaded {loaded} + rejected {rejected} != extracted {manifest.extracted}")
    if problems:
        raise ReconciliationError(
            f"{manifest.source}/{manifest.entity} batch {manifest.batch_id}: " + "; ".join(problems)
        )


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
    parser.add_argument("--full-history", action="store_true", help="ignore the interval window (first load)")
    args = parser.parse_args(argv)
    end = args.end or args.start + timedelta(days=1)
    result = ingest(
        args.source, args.entity, args.start, end, partition=args.partition, full_history=args.full_history or None
    )
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
