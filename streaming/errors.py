"""Errors of the streaming story (story 3), rooted in the kernel's `StarlabError`.

Callers branch on the class: a `StreamTransientError` is worth a retry (the
job did not catch up in time on a busy machine), everything else is
terminal. Verification results (lost, duplicated, drifting windows) are not
exceptions: they are data in `VerifyReport` and `Reconciliation`.
"""

from __future__ import annotations

from starlab.errors import ConfigError, StarlabError, TransientError


class StreamError(StarlabError):
    """Root of the streaming story's errors; terminal unless it is a `StreamTransientError`."""


class StreamTransientError(StreamError, TransientError):
    """May pass on retry: the job is still catching up, the broker is restarting."""


class StreamConfigError(StreamError, ConfigError):
    """A fault spec, SLO rules file or option is invalid; the message names it."""


class JobError(StreamError):
    """The Flink job could not start, died, or ended without finishing."""


class CatchUpTimeout(StreamTransientError):
    """The job did not consume the produced records within the run's catch-up timeout."""


class FaultInjectionError(StreamError):
    """A scripted fault (kill, stall) could not be applied, so the run proves nothing."""


class ReconcileError(StreamError):
    """dbt failed to build the batch side, or a backfill window is invalid."""


class BenchError(StreamError):
    """A benchmark could not measure what it was asked to (too few events, no output)."""


__all__ = [
    "BenchError",
    "CatchUpTimeout",
    "FaultInjectionError",
    "JobError",
    "ReconcileError",
    "StreamConfigError",
    "StreamError",
    "StreamTransientError",
]
