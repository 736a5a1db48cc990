"""Cache admission control: an on-demand answer is written back only for a key that proved hot.

Backs the 004 story's regression fix "Convert cache policy from LRU to LFU +
admission control to reduce churn": without admission, every miss of a
one-off user writes its on-demand answer (two hashes) that nobody reads
again, and under a memory cap each write evicts something that somebody
would have read.

Rule: a key is admitted on its `min_sightings`-th miss (default 2: "seen
twice") within the window. Kept as two generations of counters (TinyLFU's
"doorkeeper" idea, without the Bloom filter): `current` and `previous`, each
`window_s` long; a sighting is remembered for between one and two windows,
and a generation that reaches `max_keys` entries rotates early, so memory
is bounded whatever the key space.

In-process, not a Redis counter: the decision is on the miss path, which
already pays for the on-demand call; an INCR + EXPIRE would add a round
trip (or a write) per miss, for a counter whose only job is to be roughly
right. With several workers a key needs up to k + 1 sightings to be admitted
everywhere; for a heuristic that only defers a write, that is acceptable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import BaseModel

__all__ = ["Doorkeeper", "DoorkeeperState"]


class DoorkeeperState(BaseModel):
    enabled: bool
    admitted: int
    rejected: int
    tracked_keys: int
    window_s: float
    min_sightings: int


class Doorkeeper:
    """`admit(key)` -> True once the key has been seen `min_sightings` times within the window."""

    def __init__(
        self,
        window_s: float = 60.0,
        min_sightings: int = 2,
        max_keys: int = 200_000,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.min_sightings = min_sightings
        self.max_keys = max_keys
        self.enabled = enabled
        self._clock = clock
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}
        self._started = clock()
        self.admitted = 0
        self.rejected = 0

    def _rotate(self, now: float) -> None:
        age = now - self._started
        if age >= 2 * self.window_s:
            self._previous, self._current, self._started = {}, {}, now
        elif age >= self.window_s or len(self._current) >= self.max_keys:
            self._previous, self._current, self._started = self._current, {}, now

    def sightings(self, key: str) -> int:
        return self._current.get(key, 0) + self._previous.get(key, 0)

    def admit(self, key: str) -> bool:
        """Record one sighting of `key`; True if it may be cached now. Disabled: always True."""
        if not self.enabled:
            self.admitted += 1
            return True
        self._rotate(self._clock())
        self._current[key] = self._current.get(key, 0) + 1
        ok = self.sightings(key) >= self.min_sightings
        if ok:
            self.admitted += 1
        else:
            self.rejected += 1
        return ok

    def state(self) -> DoorkeeperState:
        return DoorkeeperState(
            enabled=self.enabled,
            admitted=self.admitted,
            rejected=self.rejected,
            tracked_keys=len(self._current) + len(self._previous),
            window_s=self.window_s,
            min_sightings=self.min_sightings,
        )
