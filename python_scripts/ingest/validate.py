"""Record validation against one JSON Schema file per source entity.

The common path asks the compiled ``jsonschema-rs`` validator a yes/no question; only records that fail
pay for ``jsonschema``'s most relevant error, which becomes the quarantine reason and path.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "sources" / "schemas"

# PostgreSQL text and jsonb cannot hold U+0000; such a record is quarantined rather than failing the COPY.
_NUL_ESCAPE = b"\\u0000"


@dataclass(frozen=True)
class Rejection:
    """Why a record was quarantined: a JSONPath into the record and a message."""

    path: str
    reason: str


class RecordValidator:
    """Validate records of one entity; ``check`` returns None for a valid record."""

    def __init__(self, schema: dict[str, Any]):
        jsonschema.Draft202012Validator.check_schema(schema)
        self._fast = jsonschema_rs.validator_for(schema)
        self._detailed = jsonschema.Draft202012Validator(schema)

    @classmethod
    def for_entity(cls, source: str, entity: str) -> RecordValidator:
        return _validator_for(source, entity)

    def check(self, record: Any, serialized: bytes | None = None) -> Rejection | None:
        if self._fast.is_valid(record):
            if serialized is not None and _NUL_ESCAPE in serialized:
                return Rejection("$", "contains a NUL character (\\u0000), which PostgreSQL cannot store")
            return None
        error = jsonschema.exceptions.best_match(self._detailed.iter_errors(record))
        if error is None:  # the two validators disagree; keep the record out and say so
            return Rejection("$", "rejected by the compiled validator")
        return Rejection(error.json_path, error.message[:1000])


Key = int | float | str | bytes  # one field's int, float or string as is; anything else as its JSON text


class DuplicateKeys:
    """Finds the records of one batch that repeat the key of an earlier one, in memory that does not grow
    with the batch.

    A repeat is quarantined (not dropped) so that loaded + quarantined still equals extracted, and bronze holds
    each key once per batch. Keys are added as the records stream by and checked a chunk at a time: within the
    chunk in a dict, against the earlier chunks in a temporary SQLite table on disk (SQLite's page cache is
    bounded), which only a batch of more than one chunk creates. ``resolve`` answers for the records added
    since its last call, so a caller holds at most one chunk of records back.
    """

    CHUNK = 20_000

    def __init__(self, fields: tuple[str, ...], chunk: int | None = None):
        self.fields = fields
        self.chunk = chunk or self.CHUNK
        self._pending: list[tuple[int, tuple, Key]] = []
        self._seen: sqlite3.Connection | None = None
        self._first_chunk: dict[Key, int] | None = None  # until a second chunk needs the table

    def add(self, record: Any, record_no: int) -> None:
        """Queue the key of a valid record (numbered from 1 in the batch)."""
        if self.fields and isinstance(record, dict):
            values = tuple(map(record.get, self.fields))
            self._pending.append((record_no, values, _key(values)))

    def resolve(self) -> dict[int, Rejection]:
        """The queued records that repeat a key, by record number, with the record that first had it."""
        first: dict[Key, int] = {}
        for record_no, _, key in self._pending:
            first.setdefault(key, record_no)
        if self._first_chunk is None:
            self._first_chunk = first
        else:
            first |= self._earlier(first)
        found = {
            record_no: self._rejection(values, first[key])
            for record_no, values, key in self._pending
            if first[key] != record_no
        }
        self._pending.clear()
        return found

    def close(self) -> None:
        if self._seen is not None:
            self._seen.close()
            self._seen = None

    def __enter__(self) -> DuplicateKeys:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _earlier(self, first: dict[Key, int]) -> dict[Key, int]:
        """The keys of ``first`` that an earlier chunk had, with their first record; records ``first``'s."""
        if self._seen is None:  # "" is a private temporary database on disk, deleted on close
            self._seen = sqlite3.connect("", isolation_level=None)
            self._seen.executescript(
                "PRAGMA temp_store = FILE; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                "CREATE TABLE seen (key PRIMARY KEY, record_no INTEGER NOT NULL) WITHOUT ROWID;"
                "CREATE TABLE chunk (key PRIMARY KEY, record_no INTEGER NOT NULL) WITHOUT ROWID;"
            )
            self._seen.executemany("INSERT INTO seen VALUES (?, ?)", self._first_chunk.items())
            self._first_chunk = {}
        db = self._seen
        db.execute("BEGIN")
        db.execute("DELETE FROM chunk")
        db.executemany("INSERT INTO chunk VALUES (?, ?)", first.items())
        earlier = dict(db.execute("SELECT key, seen.record_no FROM chunk JOIN seen USING (key)"))
        db.execute("INSERT OR IGNORE INTO seen SELECT key, record_no FROM chunk")
        db.execute("COMMIT")
        return earlier

    def _rejection(self, values: tuple, first: int) -> Rejection:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self.fields, values, strict=True))
        return Rejection(f"$.{self.fields[0]}", f"duplicate key {shown}: first seen at record {first} of the batch")


def _key(values: tuple) -> Key:
    """A key as SQLite and a dict compare it: one int (within 64 bits), float or string as is, anything else
    (several fields, null, a list) as its JSON text in bytes, which never equals a string."""
    if len(values) == 1 and type(values[0]) in (int, float, str) and not _too_big(values[0]):
        return values[0]
    return json.dumps(values, sort_keys=True, default=str).encode()


def _too_big(value: Any) -> bool:
    return type(value) is int and not -(2**63) <= value < 2**63


def schema_path(source: str, entity: str) -> Path:
    return SCHEMA_DIR / source / f"{entity}.schema.json"


@cache
def _validator_for(source: str, entity: str) -> RecordValidator:
    path = schema_path(source, entity)
    if not path.is_file():
        raise FileNotFoundError(f"no JSON Schema for {source}/{entity} at {path}")
    return RecordValidator(json.loads(path.read_text(encoding="utf-8")))
