"""The error every metric formula raises on input it cannot turn into a number.

A formula that silently returned 0 for "0 events produced" would let the
evidence report print a passing "loss rate 0%" for a run that never ran, so
impossible or empty inputs raise `MetricError` instead (a `StarlabError`, so the
CLI prints it as one line).
"""

from __future__ import annotations

from starlab.errors import StarlabError


class MetricError(StarlabError, ValueError):
    """A formula got input it cannot measure (empty, zero total, out of range).

    Also a `ValueError`, so callers that already guard numeric code with
    `except ValueError` keep working.
    """


__all__ = ["MetricError"]
