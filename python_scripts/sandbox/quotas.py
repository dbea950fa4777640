"""Request quotas of the keyed APIs: calls per sliding window, calls per day, minimum spacing.

Each counts per API key and is safe to use from several threads; a limit of 0 never refuses. Windows and
spacing are measured on the monotonic clock (real time, whatever the sandbox clock says); days are the
caller's (the sandbox clock's UTC date), so moving the clock to the next day renews a daily quota.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Hashable


class Quota:
    """The base of every quota: a lock, a clock and ``reset``."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._monotonic = monotonic

    def reset(self) -> None:
        raise NotImplementedError


class WindowQuota(Quota):
    """At most ``limit`` accepted calls per key in any ``seconds`` long window; refused calls do not count."""

    def __init__(self, limit: int, seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(monotonic)
        self.limit, self.seconds = limit, seconds
        self._calls: defaultdict[Hashable, deque[float]] = defaultdict(deque)

    def allow(self, key: Hashable) -> bool:
        if not self.limit:
            return True
        now = self._monotonic()
        with self._lock:
            calls = self._calls[key]
            while calls and calls[0] <= now - self.seconds:
                calls.popleft()
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


class DailyQuota(Quota):
    """At most ``limit`` accepted calls per key and day; refused calls do not count."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._calls: dict[tuple[Hashable, Hashable], int] = {}

    def allow(self, key: Hashable, day: Hashable) -> bool:
        if not self.limit:
            return True
        with self._lock:
            used = self._calls.get((key, day), 0)
            if used >= self.limit:
                return False
            self._calls[(key, day)] = used + 1
            return True

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


class SpacingQuota(Quota):
    """Calls of one key at least ``seconds`` apart, counted from the last accepted call."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(monotonic)
        self.seconds = seconds
        self._last: dict[Hashable, float] = {}

    def allow(self, key: Hashable) -> bool:
        if not self.seconds:
            return True
        now = self._monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.seconds:
                return False
            self._last[key] = now
            return True

    def reset(self) -> None:
        with self._lock:
            self._last.clear()
