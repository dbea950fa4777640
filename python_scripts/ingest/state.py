"""Extraction state: the window each batch of a windowed entity asked for, and the cursor those windows make.

A windowed entity (Fake Store's carts) is asked only for the records dated in a window. The load of each of
its batches records the batch's window in ``audit.extraction_windows``, in the transaction that loads the
batch, so the state moves only with a complete load. An entity's cursor is the latest end of its windows
(the view ``audit.extraction_state``): every record dated before it has been asked for and loaded.

The window of the next extraction (``plan_window``):

* a full refresh asks for the whole history;
* a rerun of a loaded batch asks again for the window it was loaded with, so it reproduces the batch;
* with no state yet (the entity's first load) the whole history;
* an interval that ends at or before the cursor (a backfill) asks for that interval: the cursor stays;
* otherwise from the cursor, less the lookback for records that arrive dated late, to the interval's end.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from python_scripts.sources.base import Window


def plan_window(
    interval_start: datetime,
    interval_end: datetime,
    *,
    recorded: Window | None,
    cursor: datetime | None,
    full_refresh: bool = False,
    lookback: timedelta = timedelta(0),
) -> Window:
    """The window of one extraction of a windowed entity (see the module docstring for the rules)."""
    if full_refresh:
        return Window(None, interval_end)
    if recorded is not None:
        return recorded
    if cursor is None:
        return Window(None, interval_end)
    if interval_end <= cursor:
        return Window(interval_start, interval_end)
    return Window(min(interval_start, cursor - lookback), interval_end)


def read_state(
    conn: psycopg.Connection, source: str, entity: str, batch_id: str
) -> tuple[Window | None, datetime | None]:
    """The window this batch was last loaded with (None if never), and the entity's cursor (None: no state)."""
    row = conn.execute(
        """
        SELECT
            (SELECT array[window_start, window_end] FROM audit.extraction_windows
             WHERE source = %(source)s AND entity = %(entity)s AND batch_id = %(batch_id)s),
            (SELECT max(window_end) FROM audit.extraction_windows
             WHERE source = %(source)s AND entity = %(entity)s)
        """,
        {"source": source, "entity": entity, "batch_id": batch_id},
    ).fetchone()
    recorded, cursor = row
    return (Window(recorded[0], recorded[1]) if recorded else None), cursor


def record_window(conn: psycopg.Connection, source: str, entity: str, batch_id: str, window: Window) -> None:
    """Record (or replace) the window of a batch; call it inside the transaction that loads the batch."""
    conn.execute(
        """
        INSERT INTO audit.extraction_windows (source, entity, batch_id, window_start, window_end)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (source, entity, batch_id) DO UPDATE
        SET window_start = excluded.window_start, window_end = excluded.window_end, loaded_at = clock_timestamp()
        """,
        (source, entity, batch_id, window.start, window.end),
    )
