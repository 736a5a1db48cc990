"""The replay's arithmetic: p95, per-run runtime variance, retries, pages, percent changes.

Backs three of story 1's figures, computed the same way for both arms from
the DAG runs the replay recorded (real runtimes of real `dag.test()` runs,
retries and their waits included):

- "p95 DAG runtime variance dropped 35%": each run's variance is its squared
  deviation from its DAG's median runtime over the quarter, `(r - median)^2`
  in s^2; the figure is the p95 of those over the quarter's runs. A retried
  run (failed attempts plus the retry waits) sits far from the median, so
  fewer retries shrink the tail. The median, not the mean, anchors it: the
  mean would move with the very outliers being measured;
- "on-call pages fell 60%": a page is a DAG run that failed after its
  retries (Airflow alerts on the run's failure, not on each attempt);
- percent change = (with - without) / without x 100.

p95 interpolates linearly between order statistics (numpy's default), so
with a quarter's dozen runs it lies between the two largest values instead
of jumping to the maximum.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Protocol


class RunLike(Protocol):
    """What the metrics need from a recorded DAG run."""

    @property
    def dag_id(self) -> str: ...

    @property
    def runtime_s(self) -> float: ...

    @property
    def failed(self) -> bool: ...

    @property
    def retries(self) -> int: ...


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(rank), math.ceil(rank)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def p95(values: Sequence[float]) -> float | None:
    return percentile(values, 95)


def runtime_variances(runs: Iterable[RunLike]) -> list[float]:
    """Per run: (runtime - median runtime of the same DAG)^2, in s^2."""
    by_dag: dict[str, list[float]] = {}
    for r in runs:
        by_dag.setdefault(r.dag_id, []).append(r.runtime_s)
    out: list[float] = []
    for runtimes in by_dag.values():
        median = statistics.median(runtimes)
        out += [(r - median) ** 2 for r in runtimes]
    return out


def runtime_variance_p95(runs: Iterable[RunLike]) -> float | None:
    return p95(runtime_variances(runs))


def runtime_deviation_p95(runs: Iterable[RunLike]) -> float | None:
    """p95 of |runtime - median| in seconds: the same spread in a unit people read."""
    return p95([math.sqrt(v) for v in runtime_variances(runs)])


def failed_runs(runs: Iterable[RunLike]) -> int:
    return sum(1 for r in runs if r.failed)


def retries(runs: Iterable[RunLike]) -> int:
    return sum(r.retries for r in runs)


def pages(runs: Iterable[RunLike]) -> int:
    """One page per run that failed after its retries."""
    return failed_runs(runs)


def percent_change(without: float | None, with_: float | None) -> float | None:
    """(with - without) / without x 100; None when either is missing or the baseline is 0."""
    if without is None or with_ is None or without == 0:
        return None
    return (with_ - without) / without * 100


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


__all__ = [
    "RunLike",
    "failed_runs",
    "mean",
    "p95",
    "pages",
    "percent_change",
    "percentile",
    "retries",
    "runtime_deviation_p95",
    "runtime_variance_p95",
    "runtime_variances",
]
