"""Percentiles and latency summaries, computed the way numpy computes them.

Backs every p95 the stories claim: story 2's "API p95 180 ms" (< 200 ms),
story 3's "p95 end-to-end < 3 min", story 4's "p95 serving 38 ms" (< 50 ms)
and story 004's "p95 ~ 290 ms" (fan-out) vs "205 ms" (cache, SLO <= 250 ms).

Method: the default is numpy's default, `method="linear"` (Hyndman & Fan
type 7): the q-th percentile of n sorted samples x[0..n-1] sits at the
fractional index h = (n - 1) * q / 100 and is x[floor(h)] + (h - floor(h)) *
(x[floor(h) + 1] - x[floor(h)]). So p50 of [1, 2, 3, 4] is 2.5, p95 of 1..20
is 19.05. It is pure Python so story code and the kernel do not need numpy;
tests check it against `numpy.percentile`.

`NEAREST_RANK` (the smallest sample with at least q% of samples at or below
it: x[ceil(q / 100 * n) - 1]) is offered because it always returns a latency
that was actually observed, which is what load tools such as k6 print.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from fractions import Fraction

from starlab.metrics.errors import MetricError

__all__ = [
    "LatencySummary",
    "PercentileMethod",
    "p50",
    "p95",
    "p99",
    "percentile",
]


class PercentileMethod(StrEnum):
    """How a percentile between two samples is chosen."""

    LINEAR = "linear"
    """numpy's default: linear interpolation between the two closest ranks."""
    NEAREST_RANK = "nearest_rank"
    """The smallest observed sample with at least q% of samples <= it."""


def _sorted_samples(samples: Iterable[float]) -> list[float]:
    values = [float(s) for s in samples]
    if not values:
        raise MetricError("no samples: a percentile of nothing is undefined")
    if not all(math.isfinite(v) for v in values):
        # numpy would propagate NaN into every percentile; a NaN latency is a
        # measurement bug and must not reach the evidence report as a number.
        raise MetricError("samples contain NaN or infinity")
    values.sort()
    return values


def _check_q(q: float) -> float:
    qf = float(q)
    if not 0.0 <= qf <= 100.0:
        raise MetricError(f"percentile q must be in [0, 100], got {q!r}")
    return qf


def _percentile_sorted(values: list[float], q: float, method: PercentileMethod) -> float:
    n = len(values)
    if method is PercentileMethod.NEAREST_RANK:
        # Exact rational arithmetic from the decimal the caller wrote: with
        # binary floats, ceil(99.9 / 100 * 1000) is 1000, not 999.
        rank = math.ceil(Fraction(repr(q)) * n / 100)
        return values[max(rank, 1) - 1]
    h = (n - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])


def percentile(
    samples: Iterable[float], q: float, method: PercentileMethod | str = PercentileMethod.LINEAR
) -> float:
    """The q-th percentile (q in [0, 100]) of `samples`, as `numpy.percentile` does.

    Raises `MetricError` for no samples, NaN/inf samples or q outside [0, 100].
    """
    m = PercentileMethod(method)
    return _percentile_sorted(_sorted_samples(samples), _check_q(q), m)


def p50(samples: Iterable[float]) -> float:
    """Median (linear method)."""
    return percentile(samples, 50)


def p95(samples: Iterable[float]) -> float:
    """95th percentile (linear method): the stories' latency and freshness figure."""
    return percentile(samples, 95)


def p99(samples: Iterable[float]) -> float:
    """99th percentile (linear method): story 004's tail evidence."""
    return percentile(samples, 99)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """count, min, mean, p50, p95, p99, max of one set of latency samples.

    Build with `LatencySummary.from_samples(samples_ms)`; every value is in
    `unit` (milliseconds by default, the unit of starlab's load tests).
    """

    count: int
    min: float
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    unit: str = "ms"
    method: str = PercentileMethod.LINEAR.value

    @classmethod
    def from_samples(
        cls,
        samples: Iterable[float],
        unit: str = "ms",
        method: PercentileMethod | str = PercentileMethod.LINEAR,
    ) -> LatencySummary:
        """Summarise samples (sorted once). Raises `MetricError` for no or NaN samples."""
        m = PercentileMethod(method)
        values = _sorted_samples(samples)
        return cls(
            count=len(values),
            min=values[0],
            # fsum: a plain sum of 10^6 float latencies drifts in the last digits
            mean=math.fsum(values) / len(values),
            p50=_percentile_sorted(values, 50.0, m),
            p95=_percentile_sorted(values, 95.0, m),
            p99=_percentile_sorted(values, 99.0, m),
            max=values[-1],
            unit=unit,
            method=m.value,
        )

    def to_dict(self) -> dict[str, float | int | str]:
        """A JSON-ready dict (for a claim's `details`)."""
        return asdict(self)
