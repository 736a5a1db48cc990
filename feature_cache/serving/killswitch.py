"""The kill switch of design B: raise TTLs and stop on-demand calls, tripped by hand or by the guardrail.

Backs the 004 story's "Trigger kill-switch to increase TTLs and reduce
on-demand calls" and its launch guardrail "kill-switch ... auto-rollback if
p95 > 250 ms or failure rate > 0.5%": the guardrail trips it by itself, an
operator trips or releases it through `/admin/killswitch`, and every change
is kept in `history` (what `/admin/state` shows).

State machine (two states):

    OFF --trip(admin|guardrail)--> ON --release(admin)--> OFF

- Tripping while ON changes nothing (the first reason stays; the attempt is
  counted in `ignored`).
- Only an operator releases: the guardrail trips but never releases, even
  when its window is healthy again, because the p95 it watches is the one
  the kill switch itself brought down; undoing a rollback is a decision.

In-process, not a Redis key: the app runs one worker, the guardrail that
trips it lives in the same process, and the serving path reads it with no
round trip. With several workers the state would move to one Redis key read
in the request's pipeline (no extra round trip either); the class would
keep this interface.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from feature_cache.errors import FeatureCacheError

__all__ = ["KillSwitch", "KillSwitchEvent", "KillSwitchSource", "KillSwitchState"]


class KillSwitchSource(StrEnum):
    ADMIN = "admin"
    GUARDRAIL = "guardrail"


@dataclass(frozen=True)
class KillSwitchEvent:
    at: float
    """Unix seconds."""
    on: bool
    source: KillSwitchSource
    reason: str


class KillSwitchEventOut(BaseModel):
    at: float
    on: bool
    source: KillSwitchSource
    reason: str


class KillSwitchState(BaseModel):
    """What `/admin/state` shows of the kill switch."""

    on: bool
    since: float | None
    source: KillSwitchSource | None
    reason: str | None
    trips: int
    ignored: int
    history: list[KillSwitchEventOut]


class KillSwitch:
    """OFF/ON with the reason and origin of the last change; clock injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.history: list[KillSwitchEvent] = []
        self.ignored = 0

    @property
    def on(self) -> bool:
        return bool(self.history) and self.history[-1].on

    @property
    def trips(self) -> int:
        return sum(1 for e in self.history if e.on)

    def trip(self, source: KillSwitchSource, reason: str) -> bool:
        """Turn on; False (and counted) if it already was."""
        if self.on:
            self.ignored += 1
            return False
        self.history.append(KillSwitchEvent(self._clock(), True, source, reason))
        return True

    def release(self, source: KillSwitchSource, reason: str) -> bool:
        """Turn off (operators only); False if it was off."""
        if source is not KillSwitchSource.ADMIN:
            raise FeatureCacheError("only an operator releases the kill switch")
        if not self.on:
            return False
        self.history.append(KillSwitchEvent(self._clock(), False, source, reason))
        return True

    def state(self) -> KillSwitchState:
        last = self.history[-1] if self.history else None
        return KillSwitchState(
            on=self.on,
            since=last.at if last else None,
            source=last.source if last else None,
            reason=last.reason if last else None,
            trips=self.trips,
            ignored=self.ignored,
            history=[
                KillSwitchEventOut(at=e.at, on=e.on, source=e.source, reason=e.reason) for e in self.history
            ],
        )
