"""Errors of the rankings story, rooted in the kernel's `StarlabError` (printed as one line).

Backs story 2's "change failure rate 0%": every way a publish can stop
before users see a bad version has its own exception, and none of them moves
the live flag or the serving pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlab.errors import StarlabError, TransientError


class FailedCheck(Protocol):
    """What the gate's `CheckResult` offers an error message (a Protocol, so no import cycle)."""

    @property
    def source(self) -> str: ...

    @property
    def name(self) -> str: ...

    def describe(self) -> str: ...


class RankingsError(StarlabError):
    """Root of the rankings story's errors; terminal unless it is a `RankingsTransientError`."""


class RankingsTransientError(RankingsError, TransientError):
    """Worth a retry: the warehouse is locked by another writer, Redis is restarting."""


class InputsNotReady(RankingsTransientError):
    """The lake has no data for the interval yet, or it is older than the freshness bound.

    Transient on purpose: an orchestrator retries it until the data lands.
    """


class BuildInProgress(RankingsError):
    """Another publish holds the build lease (one writer per DuckDB file)."""


class DQGateError(RankingsError):
    """The DQ gate refused a build: the flag is not flipped, the live version keeps serving.

    `failures` are the failed checks with their observed values; the message
    lists them so the one-line CLI error already says what to fix.
    """

    def __init__(self, build_id: str, failures: Sequence[FailedCheck]) -> None:
        self.build_id = build_id
        self.failures = list(failures)
        listed = "; ".join(f.describe() for f in self.failures)
        super().__init__(f"DQ gate refused build {build_id}, live version unchanged: {listed}")


class FlipRefused(RankingsError):
    """The flag changed since the build started, or the candidate is older than the live version."""


class StaleCandidate(FlipRefused):
    """The candidate ranks an older date than the live version: skipping it is correct, not a failure."""


class BadRecord(RankingsError):
    """A record this story wrote (the flag, its history, a candidate passed between tasks) does not
    read back: a retry reads the same bytes, so it is terminal."""


class RollbackUnavailable(RankingsError):
    """Nothing intact to roll back to (no previous version, or its table was rebuilt since)."""
