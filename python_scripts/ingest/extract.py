"""Extraction: stream one source entity (or one partition of it) from its API through validation into the lake.

The raw object keeps every record as received; the rejected object beside it keeps each invalid record with the
reason. The manifest returned is what the load takes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from python_scripts.ingest import audit
from python_scripts.ingest.http import Quarantined, Request, SourceThrottled, build_session, open_response
from python_scripts.ingest.lake import RAW, REJECTED, batch_id_for, lake_from_url, object_key, open_lines_writer
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
    start, end = utc(interval_start), utc(interval_end)
    if full_history is None:
        full_history = settings.source(source_name).full_history
    batch_id = batch_id_for(start, end)
    if partition:
        batch_id += "_" + partition_slug(partition)
    key = audit.RunKey(source_name, entity, batch_id, start, end)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    raw_key = object_key(RAW, source_name, entity, start, batch_id, settings.lake_compression)
    rejected_key = object_key(REJECTED, source_name, entity, start, batch_id, settings.lake_compression)
    validator = RecordValidator.for_entity(source_name, entity)
    duplicates = DuplicateKeys(spec.key)
    config = settings.source(source_name)
    call = Call(start, end, config, partition=partition, full_history=full_history and spec.windowed)
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
