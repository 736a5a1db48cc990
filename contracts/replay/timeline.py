"""The replay's simulated calendar: quarter days, and an agenda of what happens on which day.

Backs story 1's "app team velocity unaffected; average lead time for changes
stayed at ~2 days" with lead times counted in simulated days: a pull request
is opened on its script day, lands after its review (and, when the gate
blocks it, after its fix), and the difference is its lead time. Days are
simulated; what happens on a replayed day (DAG runs, SQL, Kafka, dbt) is
real. Only days on which something is scheduled, plus the script's quiet
days, are replayed: a quiet day in between would repeat a quiet day's runs.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class Timeline:
    """Day 1 is `start`; a quarter of 13 weeks has days 1..91."""

    start: date
    days: int

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day - 1)

    def day_of(self, when: date) -> int:
        return (when - self.start).days + 1

    @property
    def end(self) -> date:
        return self.date_of(self.days)

    def following(self) -> Timeline:
        """The next quarter of the same length (the gate's quarter follows the one without it)."""
        return Timeline(self.start + timedelta(days=self.days), self.days)


class Action(StrEnum):
    """What can be scheduled; the order is the order of a day's work."""

    OPEN = "open"
    """A pull request is opened (with the gate: CI runs on its commit)."""
    FIX = "fix"
    """The author pushes the fix commit of a blocked change (with the gate: CI runs again)."""
    INCIDENT_FIX = "incident_fix"
    """A deployed change broke something: its revert and fix land (after the page)."""
    LAND = "land"
    """A change that passed review (and CI, with the gate) merges and deploys."""
    QUIET = "quiet"
    """Nothing changes; the day's DAG runs are the runtime baseline."""


ORDER = {a: i for i, a in enumerate(Action)}


@dataclass(frozen=True, order=True)
class Scheduled:
    day: int
    order: int
    seq: int
    action: Action = field(compare=False)
    change_id: str | None = field(compare=False, default=None)


class Agenda:
    """A priority queue of scheduled actions, popped a day at a time."""

    def __init__(self) -> None:
        self._heap: list[Scheduled] = []
        self._seq = itertools.count()

    def add(self, day: int, action: Action, change_id: str | None = None) -> Scheduled:
        item = Scheduled(day, ORDER[action], next(self._seq), action, change_id)
        heapq.heappush(self._heap, item)
        return item

    def next_day(self) -> int | None:
        return self._heap[0].day if self._heap else None

    def pop_day(self, day: int) -> list[Scheduled]:
        """Every action due on `day`, in the day's order (opens first, landings last)."""
        out = []
        while self._heap and self._heap[0].day == day:
            out.append(heapq.heappop(self._heap))
        return out

    def pending(self) -> list[Scheduled]:
        return sorted(self._heap)

    def __iter__(self) -> Iterator[tuple[int, list[Scheduled]]]:
        """Day by day; actions added while iterating (for a later day) are picked up."""
        while (day := self.next_day()) is not None:
            yield day, self.pop_day(day)

    def __len__(self) -> int:
        return len(self._heap)


def lead_time_days(opened_day: int, landed_day: int | None) -> int | None:
    """Days from opening the pull request to its landing in production; None if it never landed."""
    return None if landed_day is None else landed_day - opened_day


__all__ = ["ORDER", "Action", "Agenda", "Scheduled", "Timeline", "lead_time_days"]
