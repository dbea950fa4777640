"""Loading: replace one landed batch in its bronze table (and its rejects in the audit trail) in one transaction.

The lake objects stream into COPY; the counts are reconciled (extracted = loaded + rejected) before the commit.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import orjson
from psycopg import sql

from python_scripts.ingest import audit, state
from python_scripts.ingest.bronze import (
    QueuedCopyWriter,
    bronze_copy_chunks,
    bronze_copy_prefix,
    bronze_copy_sql,
    bronze_table,
    copy_text,
    ensure_bronze_table,
)
from python_scripts.ingest.lake import iter_lines, lake_from_url, open_lines_reader
from python_scripts.ingest.manifest import Manifest
from python_scripts.settings import Settings, get_settings
from python_scripts.sources import bronze_table_name, bronze_table_parts
from python_scripts.warehouse.db import connect


class ReconciliationError(RuntimeError):
    """Counts do not add up (extracted ≠ loaded + rejected), or an object is not the batch it should hold; the
    load is rolled back."""


class LakeObjectError(RuntimeError):
    """A lake object the manifest names is missing or unreadable (a truncated or corrupt gzip); the load is rolled
    back."""


def load_from_lake(manifest_dict: dict, *, settings: Settings | None = None, replay: bool = False) -> dict:
    """Replace the manifest's batch in bronze (and its rejects in audit) in one transaction; ``replay`` marks the
    audit row of a load from the lake that no extraction preceded.

    Streams the lake objects into COPY; reconciles extracted = loaded + rejected before committing,
    otherwise raises ReconciliationError and leaves bronze as it was. A windowed entity's window is recorded
    in the same transaction, so its cursor advances only with a complete load.
    """
    settings = settings or get_settings()
    manifest = Manifest(**manifest_dict)
    lake = lake_from_url(settings.lake_url, settings.s3_endpoint_url)
    table = bronze_table(manifest.source, manifest.entity)
    lock_name = bronze_table_name(manifest.source, manifest.entity)

    with connect(settings, settings.loader_role, "elt-load") as conn:
        run_id = audit.start_run(conn, manifest.run_key(), "load", replay=replay)
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock_name,))
                ensure_bronze_table(conn, manifest.source, manifest.entity)
                conn.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(table), (manifest.batch_id,))
                conn.execute(
                    "DELETE FROM audit.rejected_records WHERE source = %s AND entity = %s AND batch_id = %s",
                    (manifest.source, manifest.entity, manifest.batch_id),
                )
                with _reading(lake, manifest.rejected_key):
                    rejected_nos = _copy_rejects(conn, lake, manifest)
                with _reading(lake, manifest.raw_key):
                    raw_count, loaded = _copy_bronze(conn, lake, manifest, table, rejected_nos)
                _reconcile(manifest, raw_count, loaded, len(rejected_nos))
                if manifest.window is not None:  # the cursor moves with the batch, or not at all
                    window = state.Window.from_dict(manifest.window)
                    state.record_window(conn, manifest.source, manifest.entity, manifest.batch_id, window)
        except BaseException as exc:
            audit.record_failure(conn, run_id, exc, **manifest.counts())
            raise
        audit.finish_run(conn, run_id, "success", **{**manifest.counts(), "rejected": len(rejected_nos)}, loaded=loaded)
        _refresh_statistics(conn, table, bronze_table_parts(manifest.source, manifest.entity), loaded)
    return {**manifest.to_dict(), "loaded": loaded, "table": lock_name}


def _refresh_statistics(conn, table: sql.Composable, parts: tuple[str, str], loaded: int) -> None:
    """ANALYZE the bronze table when the batch is a tenth of what it held or more (autovacuum's own threshold),
    now rather than after the dbt run that follows reads it: its first batch, or a backfill. The table is
    looked up by its schema and name as they are, whatever characters they hold."""
    (tuples,) = conn.execute(
        "SELECT c.reltuples FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        parts,
    ).fetchone()
    if tuples < 0 or loaded >= 0.1 * tuples:
        conn.execute(sql.SQL("ANALYZE {}").format(table))


def summarize_loads(results: list[dict]) -> dict[str, dict]:
    """Per entity, the batches that the loads (``load_from_lake`` results) replaced and their loaded and
    quarantined counts."""
    summary: dict[str, dict] = {}
    for result in results:
        entry = summary.setdefault(result["entity"], {"batches": [], "loaded": 0, "rejected": 0})
        entry["batches"].append(result["batch_id"])
        entry["loaded"] += result["loaded"]
        entry["rejected"] += result["rejected"]
    return summary


@contextmanager
def _reading(lake, key: str) -> Iterator[None]:
    """Name the object in any failure to read it: missing, or a truncated or corrupt compressed stream."""
    try:
        yield
    except (FileNotFoundError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise LakeObjectError(f"lake object {lake.uri(key)} is missing or unreadable: {exc}") from exc
    except Exception as exc:
        if type(exc).__name__ == "NoSuchKey":  # boto3's, raised by get_object
            raise LakeObjectError(f"lake object {lake.uri(key)} is missing: {exc}") from exc
        raise


def _read_envelope(lines, manifest: Manifest, key: str) -> dict:
    """The object's envelope line, which must describe the manifest's batch."""
    try:
        envelope = orjson.loads(next(lines))["envelope"]
    except (StopIteration, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise ReconciliationError(f"lake object {key} has no envelope line") from exc
    expected = {
        "source": manifest.source,
        "entity": manifest.entity,
        "batch_id": manifest.batch_id,
        "interval_start": manifest.interval_start,
        "interval_end": manifest.interval_end,
    }
    wrong = {name: envelope.get(name) for name, value in expected.items() if envelope.get(name) != value}
    if wrong:
        found = ", ".join(f"{name} {value!r}" for name, value in wrong.items())
        raise ReconciliationError(
            f"lake object {key} does not hold the batch its key names: its envelope has {found}, "
            f"expected batch {manifest.batch_id!r} of {manifest.source}/{manifest.entity}"
        )
    return envelope


def _copy_rejects(conn, lake, manifest: Manifest) -> set[int]:
    """COPY the quarantined records into audit.rejected_records; return their record numbers."""
    rejected_nos: set[int] = set()
    uri = copy_text(lake.uri(manifest.rejected_key))
    prefix = b"\t".join(copy_text(v) for v in (manifest.source, manifest.entity, manifest.batch_id))
    copy_sql = (
        "COPY audit.rejected_records (source, entity, batch_id, lake_uri, record_no, reason, path, "
        "payload, raw_text) FROM STDIN"
    )
    with (
        open_lines_reader(lake, manifest.rejected_key) as stream,
        conn.cursor() as cur,
        cur.copy(copy_sql) as copy,
    ):
        lines = iter_lines(stream)
        _read_envelope(lines, manifest, manifest.rejected_key)
        for line in lines:
            entry = orjson.loads(line)
            rejected_nos.add(entry["record_no"])
            record = orjson.dumps(entry["record"])
            # jsonb cannot hold U+0000: keep such records as text instead of failing the load.
            payload, raw_text = (b"\\N", copy_text(record)) if b"\\u0000" in record else (copy_text(record), b"\\N")
            copy.write(
                b"\t".join(
                    (
                        prefix,
                        uri,
                        str(entry["record_no"]).encode(),
                        copy_text(entry["reason"]),
                        copy_text(entry["path"]),
                        payload,
                        raw_text,
                    )
                )
                + b"\n"
            )
    return rejected_nos


def _copy_bronze(conn, lake, manifest: Manifest, table, rejected_nos: set[int]) -> tuple[int, int]:
    """Stream the raw object into the bronze table with COPY, skipping quarantined records."""
    raw_count = loaded = 0
    with (
        open_lines_reader(lake, manifest.raw_key) as stream,
        conn.cursor() as cur,
        cur.copy(bronze_copy_sql(table), writer=QueuedCopyWriter(cur)) as copy,
    ):
        lines = iter_lines(stream)
        envelope = _read_envelope(lines, manifest, manifest.raw_key)
        prefix = bronze_copy_prefix(manifest.batch_id, lake.uri(manifest.raw_key), envelope)
        for chunk in bronze_copy_chunks(lines, prefix, rejected_nos):
            raw_count, rows, data = chunk
            copy.write(data)
            loaded += rows
    return raw_count, loaded


def _reconcile(manifest: Manifest, raw_count: int, loaded: int, rejected: int) -> None:
    problems = []
    if raw_count != manifest.extracted:
        problems.append(f"the raw object holds {raw_count} records but extraction counted {manifest.extracted}")
    if rejected != manifest.rejected:
        problems.append(f"the rejected object holds {rejected} records but validation counted {manifest.rejected}")
    if loaded + rejected != manifest.extracted:
        problems.append(f"loaded {loaded} + rejected {rejected} != extracted {manifest.extracted}")
    if problems:
        raise ReconciliationError(
            f"{manifest.source}/{manifest.entity} batch {manifest.batch_id}: " + "; ".join(problems)
        )
