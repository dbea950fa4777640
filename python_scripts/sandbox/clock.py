"""The sandbox clock: what "now" is for the sources whose data depends on the time of the request.

It is the configured instant (``SandboxConfig.now``), or the wall clock when none is configured, until a
test fixes another one through ``POST /__sandbox/clock``; ``DELETE`` (or ``{"now": null}``) goes back.
Instants are always timezone-aware and in UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any


def parse_instant(value: Any, name: str) -> datetime:
    """An ISO-8601 date and time with a timezone (``Z`` or an offset), in UTC; ValueError otherwise."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise ValueError(f"{name} must be an ISO-8601 date and time with a timezone, got {value!r}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO-8601 date and time with a timezone, got {value!r}") from None
    return as_utc(instant, name)


def as_utc(instant: datetime, name: str = "now") -> datetime:
    """``instant`` in UTC; ValueError when it is naive."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must carry a timezone (e.g. 2025-01-10T12:00:00Z), got {instant.isoformat()!r}")
    return instant.astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """``2025-01-10T12:00:00Z`` (with fractional seconds only when there are some)."""
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class SandboxClock:
    """The current instant of one server, safe to use from several threads."""

    def __init__(self, configured: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self.configured = None if configured is None else as_utc(configured)
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        with self._lock:
            instant = self._fixed or self.configured
        return instant or datetime.now(UTC)

    def fix(self, instant: datetime | None) -> None:
        """Make ``instant`` the current instant; None goes back to the configured one."""
        with self._lock:
            self._fixed = None if instant is None else as_utc(instant)

    def state(self) -> dict[str, Any]:
        with self._lock:
            fixed, configured = self._fixed, self.configured
        return {
            "now": format_instant(fixed or configured or datetime.now(UTC)),
            "fixed": None if fixed is None else format_instant(fixed),
            "configured": None if configured is None else format_instant(configured),
        }
