"""Replay from the lake: reload bronze from the raw objects an earlier extraction landed, without calling any API.

Every extraction writes its manifest beside its objects (``manifests/<source>/<entity>/YYYY/MM/DD/<batch>.json``,
last, once the raw and rejected objects are complete). A replay finds the manifests of the data intervals that
start in a range and hands each one to the same load as a run (``load_from_lake``): COPY, quarantine,
reconciliation against the manifest's counts, the extraction window, and an audit row marked as a replay.
Batches are replayed in interval order, so what is built from them after each interval sees them as the runs did.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from python_scripts.ingest.lake import MANIFESTS, RAW, Lake, day_prefix
from python_scripts.ingest.manifest import Manifest, utc


class ReplayError(RuntimeError):
    """What the lake holds cannot be replayed as asked: no batch in the range, an object without its manifest,
    or a manifest that does not describe its key."""


@dataclass(frozen=True)
class Interval:
    """The batches of one data interval, in the order they are loaded."""

    start: datetime
    end: datetime
    manifests: tuple[dict, ...]


def _days(start: datetime, end: datetime) -> Iterator[datetime]:
    day = start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < end:
        yield day
        day += timedelta(days=1)


def _stem(key: str) -> str:
    """The batch part of a key: its file name without the extensions."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def _read_manifest(lake: Lake, key: str, source: str, entity: str) -> Manifest:
    try:
        with lake.reader(key) as handle:
            manifest = Manifest(**orjson.loads(handle.read()))
    except (ValueError, TypeError) as exc:
        raise ReplayError(f"manifest {lake.uri(key)} is unreadable: {exc}") from exc
    if (manifest.source, manifest.entity, manifest.batch_id) != (source, entity, _stem(key)):
        raise ReplayError(
            f"manifest {lake.uri(key)} describes {manifest.source}/{manifest.entity} batch {manifest.batch_id}, "
            "not the batch its key names"
        )
    return manifest


def find_batches(lake: Lake, source: str, entity: str, start: datetime, end: datetime) -> list[Manifest]:
    """The manifests of the entity's batches whose data interval starts in ``[start, end)``, by interval. A raw
    object without a manifest (an extraction that did not finish) is an error naming it: replaying around it
    would lose its records silently."""
    start, end = utc(start), utc(end)
    found: list[Manifest] = []
    for day in _days(start, end):
        manifests = {_stem(key): key for key in lake.keys(day_prefix(MANIFESTS, source, entity, day))}
        for raw_key in lake.keys(day_prefix(RAW, source, entity, day)):
            if _stem(raw_key) not in manifests:
                raise ReplayError(
                    f"lake object {lake.uri(raw_key)} has no manifest beside it: its extraction did not finish; "
                    "extract that interval again"
                )
        for key in manifests.values():
            manifest = _read_manifest(lake, key, source, entity)
            if start <= datetime.fromisoformat(manifest.interval_start) < end:
                found.append(manifest)
    return sorted(found, key=lambda m: (m.interval_start, m.interval_end, m.batch_id))


def plan_replay(lake: Lake, source: str, entities: list[str], start: datetime, end: datetime) -> list[Interval]:
    """The batches of the entities in ``[start, end)``, grouped by data interval in order; ReplayError if none."""
    manifests = [m for entity in entities for m in find_batches(lake, source, entity, start, end)]
    if not manifests:
        raise ReplayError(
            f"the lake holds no batch of {source}/{','.join(entities)} with a data interval starting in "
            f"[{start.isoformat()}, {end.isoformat()})"
        )
    manifests.sort(key=lambda m: (m.interval_start, m.interval_end, m.entity, m.batch_id))
    return [
        Interval(datetime.fromisoformat(s), datetime.fromisoformat(e), tuple(m.to_dict() for m in group))
        for (s, e), group in itertools.groupby(manifests, key=lambda m: (m.interval_start, m.interval_end))
    ]
