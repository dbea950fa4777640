"""The audit trail: one ``audit.ingestion_runs`` row per extract or load attempt.

An attempt that dies without finishing (SIGKILL, a lost connection, a server restart) leaves its row
``running``; the next attempt at the same batch and stage marks it ``failed`` as abandoned once the
server process that wrote it is gone, so the trail never shows a phantom run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg

log = logging.getLogger(__name__)

ABANDONED = "abandoned: the attempt ended without finishing (process killed, connection lost or server restarted)"


@dataclass(frozen=True)
class RunKey:
    source: str
    entity: str
    batch_id: str
    interval_start: datetime
    interval_end: datetime


def start_run(conn: psycopg.Connection, key: RunKey, stage: str, *, replay: bool = False) -> int:
    """Record a new attempt (closing abandoned ones of the same batch and stage) and return its id; ``replay``
    marks a load from the lake that no extraction preceded."""
    conn.execute(
        """
        UPDATE audit.ingestion_runs AS r
        SET status = 'failed', error = %s, finished_at = clock_timestamp()
        WHERE r.source = %s AND r.entity = %s AND r.batch_id = %s AND r.stage = %s AND r.status = 'running'
          AND NOT EXISTS (
              SELECT 1 FROM pg_stat_activity AS a
              WHERE a.pid = r.backend_pid AND a.backend_start <= r.started_at
          )
        """,
        (ABANDONED, key.source, key.entity, key.batch_id, stage),
    )
    row = conn.execute(
        """
        INSERT INTO audit.ingestion_runs
            (source, entity, batch_id, interval_start, interval_end, stage, status, backend_pid, replay)
        VALUES (%s, %s, %s, %s, %s, %s, 'running', pg_backend_pid(), %s)
        RETURNING run_id
        """,
        (key.source, key.entity, key.batch_id, key.interval_start, key.interval_end, stage, replay),
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


def record_failure(conn: psycopg.Connection, run_id: int, exc: BaseException, **counts) -> None:
    """Mark the attempt failed with the exception; if the connection itself is what failed, leave the row
    for the next attempt to close as abandoned rather than hide the original error."""
    try:
        finish_run(conn, run_id, "failed", error=f"{type(exc).__name__}: {exc}", **counts)
    except psycopg.Error as audit_error:
        log.warning("could not record the failure of audit run %s: %s", run_id, audit_error)
