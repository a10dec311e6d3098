"""In-process rate limits (token buckets per grant and service) and the per-subject
verification counter that keeps 核验 from being used as an oracle (NX-14, NX-38).

Limits are per process; the daily quota, which must hold across processes and restarts,
is counted in the statistics table instead (see ``guard``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from datetime import date


class TokenBuckets:
    """One bucket per key: ``per_minute`` tokens, refilled continuously."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str, per_minute: int, *, now: float | None = None) -> int:
        """Take a token; 0 when allowed, else the seconds to wait (at least 1)."""
        if per_minute <= 0:
            return 60
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, at = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._buckets.move_to_end(key)
                while len(self._buckets) > self._max_keys:
                    self._buckets.popitem(last=False)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / rate))


class DailyCounter:
    """Counts per key within one day (reset when the day changes)."""

    def __init__(self) -> None:
        self._day: date | None = None
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, key: str, day: date, limit: int) -> bool:
        """Count one for ``key``; False (and not counted) once ``limit`` is reached."""
        with self._lock:
            if day != self._day:
                self._day, self._counts = day, {}
            n = self._counts.get(key, 0)
            if n >= limit:
                return False
            self._counts[key] = n + 1
            return True


class InFlight:
    """Authorised calls not yet committed, per grant (added to the persisted count when
    the quota is checked, so concurrent calls cannot overrun it within a process)."""

    def __init__(self) -> None:
        self._n: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(self, grant_id: str, committed: int, quota: int) -> bool:
        with self._lock:
            n = self._n.get(grant_id, 0)
            if committed + n >= quota:
                return False
            self._n[grant_id] = n + 1
            return True

    def release(self, grant_id: str) -> None:
        with self._lock:
            n = self._n.get(grant_id, 0) - 1
            if n > 0:
                self._n[grant_id] = n
            else:
                self._n.pop(grant_id, None)
