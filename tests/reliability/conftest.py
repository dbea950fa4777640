"""Fixtures of the reliability suite: the shared sandbox and test warehouse, driven one pipeline step at a time,
and a report of every fault tried (``tests/artifacts/reliability/``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from psycopg import sql

from python_scripts.ingest.lake import batch_id_for
from python_scripts.settings import PROJECT_ROOT, Settings, get_settings
from python_scripts.sources import get_source, partition_slug

REPORT_DIR = PROJECT_ROOT / "tests" / "artifacts" / "reliability"
# The data interval every fault case extracts: one day inside the sandbox's generated history.
START = datetime(2025, 1, 10, tzinfo=UTC)
END = datetime(2025, 1, 11, tzinfo=UTC)
SANDBOX_NOW = "2025-01-11T00:00:00Z"


@dataclass(frozen=True)
class Target:
    """One extraction: a source entity (and partition) for the suite's interval."""

    source: str
    entity: str
    partition: str | None = None

    @property
    def batch_id(self) -> str:
        batch = batch_id_for(START, END)
        return f"{batch}_{partition_slug(self.partition)}" if self.partition else batch

    @property
    def table(self) -> sql.Composed:
        return sql.SQL("bronze.{}").format(sql.Identifier(f"{self.source}_{self.entity}"))

    @property
    def key(self) -> tuple[str, ...]:
        return get_source(self.source).entity(self.entity).key

    def __str__(self) -> str:
        return f"{self.source}/{self.entity}" + (f" ({self.partition})" if self.partition else "")


class BatchState:
    """What the warehouse holds for one target's batch, read as admin."""

    def __init__(self, conn, target: Target):
        self.conn, self.target = conn, target

    def bronze(self) -> tuple[int, int]:
        """Rows of the batch in bronze and how many distinct keys they hold."""
        key = sql.SQL(", ").join(sql.SQL("payload->>{}").format(sql.Literal(name)) for name in self.target.key)
        query = sql.SQL("SELECT count(*), count(DISTINCT ({}, '')) FROM {} WHERE batch_id = %s").format(
            key, self.target.table
        )
        return tuple(self.conn.execute(query, (self.target.batch_id,)).fetchone())

    def rejects(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT reason FROM audit.rejected_records WHERE source = %s AND entity = %s AND batch_id = %s"
            " ORDER BY record_no",
            (self.target.source, self.target.entity, self.target.batch_id),
        ).fetchall()
        return [reason for (reason,) in rows]

    def audit(self) -> list[dict]:
        """The audit rows of the batch, oldest first."""
        cur = self.conn.execute(
            "SELECT stage, status, extracted_count, loaded_count, rejected_count, error FROM audit.ingestion_runs"
            " WHERE source = %s AND entity = %s AND batch_id = %s ORDER BY run_id",
            (self.target.source, self.target.entity, self.target.batch_id),
        )
        names = [column.name for column in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def clear(self) -> None:
        """Forget the batch: bronze rows, rejects and audit rows (so each case counts its own)."""
        source, entity, batch = self.target.source, self.target.entity, self.target.batch_id
        exists = self.conn.execute("SELECT to_regclass(%s)", (f"bronze.{source}_{entity}",)).fetchone()[0]
        if exists:
            self.conn.execute(sql.SQL("DELETE FROM {} WHERE batch_id = %s").format(self.target.table), (batch,))
        for table in ("audit.rejected_records", "audit.ingestion_runs"):
            self.conn.execute(
                sql.SQL("DELETE FROM {} WHERE source = %s AND entity = %s AND batch_id = %s").format(sql.SQL(table)),
                (source, entity, batch),
            )


@pytest.fixture(scope="session")
def reliability_env(dag_env, tmp_path_factory) -> dict[str, str]:
    """The end-to-end environment with a lake of its own and fast, bounded retries."""
    return {
        **dag_env,
        "LAKE_URL": str(tmp_path_factory.mktemp("reliability_lake")),
        "HTTP_MAX_RETRIES": "3",
        "HTTP_BACKOFF_FACTOR": "0.05",
        "HTTP_BACKOFF_MAX": "1",
        "HTTP_READ_TIMEOUT": "2",
        "HTTP_THROTTLE_RETRIES": "2",
        "HTTP_THROTTLE_WAIT": "0.2",
    }


@pytest.fixture(scope="session")
def reliability_settings(reliability_env) -> Settings:
    return get_settings(reliability_env)


@pytest.fixture
def sandbox_api(api) -> Iterator:
    """The shared sandbox at the suite's clock, with no faults or overrides before and after the test."""
    api.clear_faults()
    api.clear_overrides()
    api.clear_requests()
    api.set_clock(SANDBOX_NOW)
    yield api
    api.clear_faults()
    api.clear_overrides()


class Report:
    """Rows of the fault table, written as JSON and Markdown when the session ends."""

    COLUMNS = ("Fault", "Endpoint", "Outcome", "Requests", "Extracted", "Loaded", "Quarantined", "Bronze dup keys")

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, **row) -> None:
        self.rows.append(row)

    def write(self, directory: Path) -> None:
        if not self.rows:
            return
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "faults.json").write_text(json.dumps(self.rows, indent=2, default=str))
        lines = ["| " + " | ".join(self.COLUMNS) + " | Evidence |", "|" + "---|" * (len(self.COLUMNS) + 1)]
        for row in self.rows:
            cells = [str(row.get(name.lower().replace(" ", "_"), "")) for name in self.COLUMNS]
            evidence = str(row.get("evidence", "")).replace("|", "\\|").replace("\n", " ")
            lines.append("| " + " | ".join(cells) + f" | {evidence} |")
        (directory / "faults.md").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="session")
def fault_report() -> Iterator[Report]:
    report = Report()
    yield report
    report.write(REPORT_DIR)
