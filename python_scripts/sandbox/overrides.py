"""Per-record patches that tests apply to generated data while the server runs."""

from __future__ import annotations

import copy
import threading
from typing import Any


def deep_merge(record: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge ``patch`` into ``record`` in place: nested objects merge, any other value replaces."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(record.get(key), dict):
            deep_merge(record[key], value)
        else:
            record[key] = copy.deepcopy(value)
    return record


class Overrides:
    """Thread-safe store of patches keyed by (source, entity, id); patches to one record accumulate."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._patches: dict[tuple[str, str, int], dict[str, Any]] = {}

    def add(self, source: str, entity: str, record_id: int, patch: dict[str, Any]) -> dict[str, Any]:
        """Deep-merge ``patch`` into the record's patch and return the accumulated patch."""
        if "id" in patch:
            raise ValueError("a patch cannot change the record id")
        with self._lock:
            merged = deep_merge(self._patches.get((source, entity, record_id), {}), patch)
            self._patches[(source, entity, record_id)] = merged
            return copy.deepcopy(merged)

    def ids(self, source: str, entity: str) -> frozenset[int]:
        """Ids of the records of one entity that have a patch."""
        with self._lock:
            return frozenset(i for s, e, i in self._patches if (s, e) == (source, entity))

    def apply(self, source: str, entity: str, record: dict[str, Any]) -> dict[str, Any]:
        """Return ``record`` with its patch merged in (the record itself is modified)."""
        with self._lock:
            patch = copy.deepcopy(self._patches.get((source, entity, record["id"])))
        return deep_merge(record, patch) if patch else record

    def listing(self) -> list[dict[str, Any]]:
        """All patches, ordered by source, entity and id."""
        with self._lock:
            return [
                {"source": s, "entity": e, "id": i, "patch": copy.deepcopy(p)}
                for (s, e, i), p in sorted(self._patches.items())
            ]

    def clear(self) -> None:
        with self._lock:
            self._patches.clear()
