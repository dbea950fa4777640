"""The audit trail: one ``audit.ingestion_runs`` row per extract or load attempt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class RunKey:
    source: str
    entity: str
    batch_id: str
    interval_start: datetime
    interval_end: datetime


def start_run(conn: psycopg.Connection, key: RunKey, stage: str) -> int:
    row = conn.execute(
        """
        INSERT INTO audit.ingestion_runs (source, entity, batch_id, interval_start, interval_end, stage, status)
        VALUES (%s, %s, %s, %s, %s, %s, 'running')
        RETURNING run_id
        """,
        (key.source, key.entity, key.batch_id, key.interval_start, key.interval_end, stage),
    ).fetchone()
    return row[0]


def finish_run(
    conn: psycopg.Connection,
    run_id: int,
    status: str,
    *,
    extracted: int | None = None,
    valid: int | None = None,
    rejected: int | None = None,
    loaded: int | None = None,
    lake_uri: str | None = None,
    error: str | None = None,
) -> None:
    conn.execute(
        """
        UPDATE audit.ingestion_runs
        SET status = %s, extracted_count = %s, valid_count = %s, rejected_count = %s, loaded_count = %s,
            lake_uri = coalesce(%s, lake_uri), error = %s, finished_at = clock_timestamp()
        WHERE run_id = %s
        """,
        (status, extracted, valid, rejected, loaded, lake_uri, error and error[:4000], run_id),
    )
