"""The bronze layer: table names and DDL, and the COPY wire format a load streams into them.

Every bronze table has the same shape: one row per valid record of a batch, its JSON payload as jsonb, the
batch's lake object and interval, and ``(batch_id, record_no)`` as key.
"""

from __future__ import annotations

import hashlib
import queue
import struct
from collections.abc import Container, Iterable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from python_scripts.ingest.manifest import utc
from python_scripts.settings import Settings, get_settings
from python_scripts.sources import SOURCES, bronze_table_name, bronze_table_parts
from python_scripts.warehouse.db import connect

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


def bronze_table(source: str, entity: str) -> sql.Composed:
    """The bronze table of a source entity for a query: the (constant) schema, then the table name quoted."""
    schema, table = bronze_table_parts(source, entity)
    return sql.SQL("{}.{}").format(sql.SQL(schema), sql.Identifier(table))


# Every bronze table's columns and types, all NOT NULL; loaded_at defaults to the load's transaction time.
BRONZE_COLUMNS = (
    ("batch_id", "text"),
    ("record_no", "integer"),
    ("record_hash", "text"),
    ("payload", "jsonb"),
    ("lake_uri", "text"),
    ("interval_start", "timestamptz"),
    ("interval_end", "timestamptz"),
    ("extracted_at", "timestamptz"),
    ("loaded_at", "timestamptz"),
)
_BRONZE_DEFAULTS = {"loaded_at": " DEFAULT now()"}
_BRONZE_DDL = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    + "".join(f"{name} {kind} NOT NULL{_BRONZE_DEFAULTS.get(name, '')}, " for name, kind in BRONZE_COLUMNS)
    + "PRIMARY KEY (batch_id, record_no))"
)
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
    settings = settings or get_settings()
    created = []
    with connect(settings, settings.loader_role, "elt-db-init") as conn:
        for source in SOURCES.values():
            for entity in source.entity_names:
                ensure_bronze_table(conn, source.name, entity)
                created.append(bronze_table_name(source.name, entity))
    return created


def copy_text(value: str | bytes) -> bytes:
    """Escape one value for COPY's text format."""
    data = value.encode() if isinstance(value, str) else value
    return data.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


class QueuedCopyWriter(QueuedLibpqWriter):
    """psycopg's queued COPY writer: a thread sends each chunk to the server while this one reads and encodes
    the next, so the client's work overlaps the server's instead of adding to it. With a short queue: the
    client outpaces the server, and psycopg's default of 1,024 chunks would hold most of a batch in memory."""

    def __init__(self, cursor: psycopg.Cursor, queued_chunks: int = 4):
        super().__init__(cursor)
        self._queue = queue.Queue(maxsize=queued_chunks)


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
    return struct.pack(">iq", 8, (utc(datetime.fromisoformat(value)) - _POSTGRES_EPOCH) // timedelta(microseconds=1))


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
