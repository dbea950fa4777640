"""Record validation against one JSON Schema file per source entity.

The common path asks the compiled ``jsonschema-rs`` validator a yes/no question; only records that fail
pay for ``jsonschema``'s most relevant error, which becomes the quarantine reason and path.
"""

from __future__ import annotations

import json
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


@dataclass(frozen=True)
class _JsonText:
    """The JSON text of an unhashable key, never equal to a key that is a string."""

    text: str


class DuplicateKeys:
    """Remembers the key of every valid record of one batch and rejects a record that repeats one.

    A repeat is quarantined (not dropped) so that loaded + quarantined still equals extracted, and
    bronze holds each key once per batch.
    """

    def __init__(self, fields: tuple[str, ...]):
        self.fields = fields
        self._first: dict[Any, int] = {}

    def check(self, record: Any, record_no: int) -> Rejection | None:
        if not self.fields or not isinstance(record, dict):
            return None
        values = tuple(map(record.get, self.fields))
        # A one-field key is kept bare: a dict of numbers or strings is not tracked by the garbage collector,
        # whereas one of tuples is walked by every full collection, quadratic over a batch of 10^6 records.
        key = values[0] if len(values) == 1 else values
        try:
            first = self._first.setdefault(key, record_no)
        except TypeError:  # an unhashable value (the schema should have refused it): compare its JSON text
            first = self._first.setdefault(_JsonText(json.dumps(values, sort_keys=True, default=str)), record_no)
        if first == record_no:
            return None
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self.fields, values, strict=True))
        return Rejection(f"$.{self.fields[0]}", f"duplicate key {shown}: first seen at record {first} of the batch")


def schema_path(source: str, entity: str) -> Path:
    return SCHEMA_DIR / source / f"{entity}.schema.json"


@cache
def _validator_for(source: str, entity: str) -> RecordValidator:
    path = schema_path(source, entity)
    if not path.is_file():
        raise FileNotFoundError(f"no JSON Schema for {source}/{entity} at {path}")
    return RecordValidator(json.loads(path.read_text(encoding="utf-8")))
