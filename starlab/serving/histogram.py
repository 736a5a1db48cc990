"""HDR-histogram latency recording: exact to 3 significant digits, constant memory, mergeable.

A load test of a million requests keeps a few kilobytes instead of a million
floats, and histograms from several load processes add up exactly (the
percentile of the merged histogram, not an average of percentiles). Values
are recorded in microseconds from 1 us to 60 s; `summary()` reports them in
milliseconds as a `LatencySummary` whose method says "hdr".
"""

from __future__ import annotations

import base64

from hdrh.histogram import HdrHistogram

from starlab.metrics import LatencySummary
from starlab.metrics.errors import MetricError

__all__ = ["LatencyRecorder"]

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3


class LatencyRecorder:
    """Record latencies (ns or ms in, us inside) and summarise them in ms."""

    def __init__(self, histogram: HdrHistogram | None = None) -> None:
        self.h = histogram or HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)

    def record_ns(self, ns: int) -> None:
        # Clamp: a sub-microsecond or > 60 s value is recorded at the edge, not dropped.
        self.h.record_value(min(max(ns // 1_000, LOWEST_US), HIGHEST_US))

    def record_ms(self, ms: float) -> None:
        self.record_ns(int(ms * 1_000_000))

    @property
    def count(self) -> int:
        return int(self.h.get_total_count())

    def percentile_ms(self, q: float) -> float:
        return float(self.h.get_value_at_percentile(q)) / 1_000

    def merge(self, other: LatencyRecorder) -> None:
        self.h.add(other.h)

    def summary(self) -> LatencySummary:
        if self.count == 0:
            raise MetricError("no samples: a percentile of nothing is undefined")
        return LatencySummary(
            count=self.count,
            min=self.h.get_min_value() / 1_000,
            mean=float(self.h.get_mean_value()) / 1_000,
            p50=self.percentile_ms(50),
            p95=self.percentile_ms(95),
            p99=self.percentile_ms(99),
            max=self.h.get_max_value() / 1_000,
            unit="ms",
            method="hdr",
        )

    def encode(self) -> str:
        """Compressed, base64 text: what a load process hands its parent."""
        raw = self.h.encode()
        return raw.decode("ascii") if isinstance(raw, bytes) else base64.b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> LatencyRecorder:
        return cls(HdrHistogram.decode(text.encode("ascii")))
