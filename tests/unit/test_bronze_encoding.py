"""The pure encoders of a load: COPY's text escaping and the binary COPY rows of bronze, decoded here by the
rules of PostgreSQL's documented binary COPY format (header, per-row field count, length-prefixed fields,
trailer) and checked field by field."""

from __future__ import annotations

import hashlib
import struct
from datetime import UTC, datetime, timedelta

import pytest

from python_scripts.ingest.bronze import BRONZE_COPY_COLUMNS, bronze_copy_chunks, bronze_copy_prefix, copy_text

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
ENVELOPE = {
    "interval_start": "2025-01-15T00:00:00+00:00",
    "interval_end": "2025-01-16T00:00:00+00:00",
    "extracted_at": "2025-01-16T00:05:30.250000+00:00",
}
PREFIX = bronze_copy_prefix("20250115T000000Z_20250116T000000Z", "file:///lake/raw/x.json.gz", ENVELOPE)


def decode(data: bytes) -> list[list[bytes | None]]:
    """The rows of a whole binary COPY stream, each a list of raw field values (None for NULL)."""
    assert data.startswith(SIGNATURE)
    flags, extension = struct.unpack_from(">ii", data, len(SIGNATURE))
    assert (flags, extension) == (0, 0)
    offset, rows = len(SIGNATURE) + 8, []
    while True:
        (count,) = struct.unpack_from(">h", data, offset)
        offset += 2
        if count == -1:
            assert offset == len(data), "bytes after the trailer"
            return rows
        fields = []
        for _ in range(count):
            (length,) = struct.unpack_from(">i", data, offset)
            offset += 4
            fields.append(None if length == -1 else data[offset : offset + length])
            offset += max(length, 0)
        rows.append(fields)


def timestamp(value: bytes) -> datetime:
    (micros,) = struct.unpack(">q", value)
    return datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def rows_of(lines: list[bytes], **kwargs) -> list[dict]:
    data = b"".join(chunk for *_, chunk in bronze_copy_chunks(lines, PREFIX, **kwargs))
    return [dict(zip(BRONZE_COPY_COLUMNS, fields, strict=True)) for fields in decode(data)]


def test_each_field_of_a_row_decodes_to_its_column():
    line = b'{"id": 1, "title": "caf\xc3\xa9\\ttab"}'
    (row,) = rows_of([line])
    assert row["batch_id"] == b"20250115T000000Z_20250116T000000Z"
    assert row["lake_uri"] == b"file:///lake/raw/x.json.gz"
    assert timestamp(row["interval_start"]) == datetime(2025, 1, 15, tzinfo=UTC)
    assert timestamp(row["interval_end"]) == datetime(2025, 1, 16, tzinfo=UTC)
    assert timestamp(row["extracted_at"]) == datetime(2025, 1, 16, 0, 5, 30, 250000, tzinfo=UTC)
    assert struct.unpack(">i", row["record_no"]) == (1,)
    assert row["record_hash"] == hashlib.md5(line, usedforsecurity=False).hexdigest().encode()
    assert row["payload"] == b"\x01" + line  # jsonb: version 1, then the JSON text as it was received


def test_record_numbers_count_every_line_and_skipped_ones_leave_gaps():
    lines = [b'{"n": %d}' % n for n in range(1, 8)]
    rows = rows_of(lines, skip={2, 5})
    assert [struct.unpack(">i", row["record_no"])[0] for row in rows] == [1, 3, 4, 6, 7]
    assert [row["payload"][1:] for row in rows] == [lines[n - 1] for n in (1, 3, 4, 6, 7)]


@pytest.mark.parametrize(("lines", "chunk_rows"), [(0, 3), (1, 3), (3, 3), (7, 3), (7, 1)])
def test_chunks_hold_chunk_rows_each_and_the_stream_is_whole(lines, chunk_rows):
    data = [b'{"n": %d}' % n for n in range(lines)]
    chunks = list(bronze_copy_chunks(data, PREFIX, chunk_rows=chunk_rows))
    assert [rows for _, rows, _ in chunks[:-1]] == [chunk_rows] * (lines // chunk_rows)
    assert sum(rows for _, rows, _ in chunks) == lines
    assert chunks[-1][0] == lines  # records read, the skipped ones included
    assert chunks[0][2].startswith(SIGNATURE)
    assert chunks[-1][2].endswith(struct.pack(">h", -1))
    assert len(decode(b"".join(chunk for *_, chunk in chunks))) == lines


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", b"plain"),
        ("tab\there", b"tab\\there"),
        ("new\nline\r", b"new\\nline\\r"),
        ("back\\slash", b"back\\\\slash"),
        (b"\\N", b"\\\\N"),  # a literal backslash-N is data, never COPY's NULL marker
        ("café", "café".encode()),
    ],
)
def test_copy_text_escapes_what_the_text_format_reads_as_syntax(value, expected):
    assert copy_text(value) == expected
