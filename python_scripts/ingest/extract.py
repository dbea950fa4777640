"""Extraction: stream one source entity (or one partition of it) from its API through validation into the lake.

The raw object keeps every record as received; the rejected object beside it keeps each invalid record with the
reason. The manifest returned is what the load takes; a copy of it is written to the lake last, for a replay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from python_scripts.ingest import audit, state
from python_scripts.ingest.http import Quarantined, Request, SourceThrottled, build_session, open_response
from python_scripts.ingest.lake import (
    RAW,
    REJECTED,
    Lake,
    batch_id_for,
    lake_from_url,
    manifest_key,
    object_key,
    open_lines_writer,
)
from python_scripts.ingest.manifest import Manifest, utc
from python_scripts.ingest.validate import DuplicateKeys, RecordValidator, Rejection
from python_scripts.settings import Settings, get_settings
from python_scripts.sources import Call, Entity, get_source, partition_slug
from python_scripts.warehouse.db import connect

log = logging.getLogger(__name__)


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


@dataclass
class _Counts:
    extracted: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class _Batch:
    """One extraction's plan: where its records come from and where they land."""

    source: str
    entity: Entity
    start: datetime
    end: datetime
    partition: str | None
    batch_id: str
    raw_key: str
    rejected_key: str
    call: Call

    def envelope(self, requests: list[Request]) -> bytes:
        return _envelope_line(
            source=self.source,
            entity=self.entity.name,
            partition=self.partition,
            batch_id=self.batch_id,
            interval_start=self.start.isoformat(),
            interval_end=self.end.isoformat(),
            window=self.call.window.to_dict() if self.call.window else None,
            extracted_at=datetime.now(UTC).isoformat(),
            request_urls=[request.describe() for request in requests],
        )

    def manifest(self, lake: Lake, counts: _Counts) -> Manifest:
        """What the extraction landed, for the load (and, in the lake beside the objects, for a replay)."""
        return Manifest(
            source=self.source,
            entity=self.entity.name,
            batch_id=self.batch_id,
            interval_start=self.start.isoformat(),
            interval_end=self.end.isoformat(),
            raw_key=self.raw_key,
            rejected_key=self.rejected_key,
            raw_uri=lake.uri(self.raw_key),
            extracted=counts.extracted,
            valid=counts.extracted - counts.rejected,
            rejected=counts.rejected,
            partition=self.partition,
            window=self.call.window.to_dict() if self.call.window else None,
        )

    def windowed(self, conn, full_refresh: bool) -> _Batch:
        """The batch with its window, for a windowed entity: planned from the extraction state (ingest.state)."""
        if not self.entity.windowed:
            return self
        recorded, cursor = state.read_state(conn, self.source, self.entity.name, self.batch_id)
        config = self.call.config
        window = state.plan_window(
            self.start,
            self.end,
            recorded=recorded,
            cursor=cursor,
            full_refresh=full_refresh or config.full_refresh,
            lookback=timedelta(days=config.lookback_days),
        )
        log.info("window of %s/%s: %s (cursor %s)", self.source, self.entity.name, window.to_dict(), cursor)
        return replace(self, call=replace(self.call, window=window))


def plan_batch(
    source_name: str,
    entity: str,
    start: datetime,
    end: datetime,
    partition: str | None,
    settings: Settings,
) -> _Batch:
    """The batch id, lake keys and call of one extraction (its requests are made from the call; a windowed
    entity's call gets its window from ``_Batch.windowed``)."""
    source, config = get_source(source_name), settings.source(source_name)
    spec = source.entity(entity)
    batch_id = batch_id_for(start, end) + (f"_{partition_slug(partition)}" if partition else "")
    compression = settings.lake_compression
    return _Batch(
        source=source_name,
        entity=spec,
        start=start,
        end=end,
        partition=partition,
        batch_id=batch_id,
        raw_key=object_key(RAW, source_name, entity, start, batch_id, compression),
        rejected_key=object_key(REJECTED, source_name, entity, start, batch_id, compression),
        call=Call(start, end, config, partition=partition),
    )


def _land(batch: _Batch, requests: list[Request], lake: Lake, settings: Settings, counts: _Counts) -> None:
    """Stream every record of the batch's requests into the raw object, and the invalid ones (with their reason)
    into the rejected object beside it; ``counts`` follows along, so a failure knows how far it got.

    The duplicate-key check answers a chunk at a time (``DuplicateKeys``), so the records wait in ``held``, at
    most one chunk of them, before the rejected object gets the invalid ones and the repeats, in record order.
    """
    validator = RecordValidator.for_entity(batch.source, batch.entity.name)
    envelope = batch.envelope(requests)
    held: list[tuple[int, bytes, Rejection | None]] = []

    def quarantined(record_no: int, problem: Rejection) -> None:
        counts.rejected += 1
        log.warning("record %d quarantined: %s at %s", record_no, problem.reason, problem.path)

    def release() -> None:
        repeats = duplicates.resolve()
        for record_no, line, problem in held:
            if problem is None and (problem := repeats.get(record_no)) is not None:
                quarantined(record_no, problem)
            if problem is not None:
                entry = orjson.dumps({"record_no": record_no, "path": problem.path, "reason": problem.reason})
                quarantine.write(entry[:-1] + b',"record":' + line + b"}\n")
        held.clear()

    with (
        build_session(settings) as session,
        open_lines_writer(lake, batch.raw_key) as raw,
        open_lines_writer(lake, batch.rejected_key) as quarantine,
        DuplicateKeys(batch.entity.key) as duplicates,
    ):
        raw.write(envelope)
        quarantine.write(envelope)
        for request in requests:
            for item in _fetch(session, request, batch.entity, settings):
                counts.extracted += 1
                if isinstance(item, Quarantined):
                    line, problem = orjson.dumps(item.record), Rejection(item.path, item.reason)
                else:
                    line = orjson.dumps(item)
                    if (problem := validator.check(item, line)) is None:
                        duplicates.add(item, counts.extracted)
                raw.write(line + b"\n")
                if problem is not None:
                    quarantined(counts.extracted, problem)
                held.append((counts.extracted, line, problem))
                if len(held) >= duplicates.chunk:
                    release()
        release()


def extract_to_lake(
    source_name: str,
    entity: str,
    interval_start: datetime,
    interval_end: datetime,
    *,
    partition: str | None = None,
    full_refresh: bool = False,
    api_key: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Stream one entity (one partition of it, such as a city) from its API through validation into the
    lake; return the manifest as a dict.

    The raw object holds every record as received (one JSON document per line after an envelope line);
    the rejected object beside it holds each invalid record with its path and reason. Both are written
    on every run, so a rerun of the interval replaces both. ``api_key`` overrides the key from the settings;
    ``full_refresh`` asks a windowed entity for its whole history (see ingest.state).
    """
    settings = settings or get_settings()
    start, end = utc(interval_start), utc(interval_end)
    batch = plan_batch(source_name, entity, start, end, partition, settings)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    counts = _Counts()
    with connect(settings, settings.loader_role, "elt-extract") as conn:
        run_id = audit.start_run(conn, audit.RunKey(source_name, entity, batch.batch_id, start, end), "extract")
        try:  # a missing key fails here, before any request, and is audited like any other failure
            batch = batch.windowed(conn, full_refresh)
            requests = get_source(source_name).requests(entity, batch.call, api_key)
            _land(batch, requests, lake, settings, counts)
            manifest = batch.manifest(lake, counts)
            with lake.writer(manifest_key(source_name, entity, start, batch.batch_id)) as handle:  # last
                handle.write(orjson.dumps(manifest.to_dict()))
        except BaseException as exc:
            audit.record_failure(conn, run_id, exc, extracted=counts.extracted)
            raise
        audit.finish_run(conn, run_id, "success", **manifest.counts())
    return manifest.to_dict()
