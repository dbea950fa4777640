"""The handover from extract to load: what one extraction landed, small enough for XCom."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from python_scripts.ingest import audit


@dataclass(frozen=True)
class Manifest:
    """What one extraction landed: the handover from extract to load (JSON-serialisable for XCom)."""

    source: str
    entity: str
    batch_id: str
    interval_start: str
    interval_end: str
    raw_key: str
    rejected_key: str
    raw_uri: str
    extracted: int
    valid: int
    rejected: int
    partition: str | None = None
    window: dict | None = None  # a windowed entity's: what it asked for (ingest.state.Window.to_dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def counts(self) -> dict:
        """What the audit trail records of the batch: its counts and its raw object."""
        return {"extracted": self.extracted, "valid": self.valid, "rejected": self.rejected, "lake_uri": self.raw_uri}

    def run_key(self) -> audit.RunKey:
        return audit.RunKey(
            self.source,
            self.entity,
            self.batch_id,
            datetime.fromisoformat(self.interval_start),
            datetime.fromisoformat(self.interval_end),
        )


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
