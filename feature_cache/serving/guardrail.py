"""The story's auto-rollback guardrail: trip when p95 > 250 ms or failures > 0.5% over a window.

Backs the 004 story's "guardrails (kill-switch, error budget alerts,
auto-rollback if p95 > 250 ms or failure rate > 0.5%)". Design B's serving
app records every request here; when the guardrail trips it calls
`on_trip` (the lead wires it to the kill switch) and `tripped` stays True
until the window has been healthy, with margin, for `reset_hold_s`.

Pure and clock-injected: no thread, no timer. Evaluation happens on
`record()` at most every `eval_interval_s`, or on `evaluate()`.

Why a deque of recent samples and not HDR histograms: an HDR histogram
cannot forget a sample, so a sliding window needs a ring of per-slot
histograms and moves in slot-sized steps, and its values are quantised
(3 significant digits). The deque keeps the exact last `window_s` of
samples, forgets them one by one, and its p95 is an exact nearest-rank
percentile, so a test can place samples on either side of 250 ms. Its cost
is bounded: memory by `max_samples` (default 200k, about 2k req/s for 100 s
of window), and the percentile (numpy partition, O(n)) runs once per
`eval_interval_s`, not per request. The load test reports with HDR
histograms; this object only decides.

Hysteresis: trip above (250 ms, 0.5%); reset only below (200 ms, 0.25%)
held for 30 s with at least `min_samples` in the window. Without it, a p95
hovering at 250 ms would flip the kill switch back and forth.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class GuardrailConfig(BaseModel):
    """Thresholds of the guardrail; trip values are the story's, the rest ours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_s: float = Field(default=30.0, gt=0)
    """Samples older than this are forgotten."""
    p95_trip_ms: float = Field(default=250.0, gt=0)
    """Story: auto-rollback if p95 > 250 ms."""
    failure_rate_trip: float = Field(default=0.005, ge=0, le=1)
    """Story: auto-rollback if failure rate > 0.5%."""
    min_samples: int = Field(default=200, ge=1)
    """No decision on fewer samples: one failure in 20 requests is 5%, not a signal.
    At 200 samples, 0.5% is one failure; a trip needs two."""
    p95_reset_ms: float = Field(default=200.0, gt=0)
    failure_rate_reset: float = Field(default=0.0025, ge=0, le=1)
    reset_hold_s: float = Field(default=30.0, ge=0)
    """The window must stay below both reset thresholds this long before the trip clears."""
    eval_interval_s: float = Field(default=1.0, ge=0)
    """`record()` re-evaluates at most this often (0 = on every sample)."""
    max_samples: int = Field(default=200_000, ge=1)

    @model_validator(mode="after")
    def _hysteresis_below_trip(self) -> GuardrailConfig:
        if self.p95_reset_ms > self.p95_trip_ms:
            raise ValueError("p95_reset_ms must be <= p95_trip_ms (hysteresis)")
        if self.failure_rate_reset > self.failure_rate_trip:
            raise ValueError("failure_rate_reset must be <= failure_rate_trip (hysteresis)")
        return self


class TripReason(StrEnum):
    P95 = "p95"
    FAILURE_RATE = "failure_rate"


@dataclass(frozen=True)
class GuardrailVerdict:
    """One evaluation of the window."""

    at: float
    samples: int
    p95_ms: float | None
    """None when the window is empty."""
    failure_rate: float | None
    tripped: bool
    reasons: tuple[TripReason, ...]
    """Which thresholds are exceeded now (empty when healthy or too few samples)."""
    changed: bool
    """This evaluation tripped or reset the guardrail."""


@dataclass(frozen=True)
class _Sample:
    at: float
    latency_ms: float
    ok: bool


class Guardrail:
    """Sliding-window p95 and failure-rate watch with hysteresis and callbacks."""

    def __init__(
        self,
        config: GuardrailConfig | None = None,
        *,
        on_trip: Callable[[GuardrailVerdict], None] | None = None,
        on_reset: Callable[[GuardrailVerdict], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or GuardrailConfig()
        self._on_trip = on_trip
        self._on_reset = on_reset
        self._clock = clock
        self._samples: deque[_Sample] = deque(maxlen=self.config.max_samples)
        self._failures = 0
        self._tripped = False
        self._healthy_since: float | None = None
        self._last_eval = -math.inf
        self.last_verdict: GuardrailVerdict | None = None
        self.trips = 0

    @property
    def tripped(self) -> bool:
        return self._tripped

    def record(self, latency_ms: float, ok: bool) -> GuardrailVerdict | None:
        """Add one request's outcome; returns a verdict when this call evaluated the window."""
        now = self._clock()
        if len(self._samples) == self._samples.maxlen and not self._samples[0].ok:
            self._failures -= 1  # the deque is about to drop a failure
        self._samples.append(_Sample(now, latency_ms, ok))
        if not ok:
            self._failures += 1
        if now - self._last_eval >= self.config.eval_interval_s:
            return self.evaluate()
        return None

    def _expire(self, now: float) -> None:
        horizon = now - self.config.window_s
        while self._samples and self._samples[0].at <= horizon:
            if not self._samples.popleft().ok:
                self._failures -= 1

    def window_p95_ms(self) -> float | None:
        """Exact nearest-rank p95 of the latencies in the window."""
        self._expire(self._clock())
        n = len(self._samples)
        if n == 0:
            return None
        k = math.ceil(0.95 * n) - 1
        values = np.fromiter((s.latency_ms for s in self._samples), dtype=np.float64, count=n)
        return float(np.partition(values, k)[k])

    def evaluate(self) -> GuardrailVerdict:
        """Decide now: trip, stay, or (after the hold) reset; fire callbacks on a change."""
        cfg = self.config
        now = self._clock()
        self._last_eval = now
        p95 = self.window_p95_ms()
        n = len(self._samples)
        failure_rate = self._failures / n if n else None
        enough = n >= cfg.min_samples and p95 is not None and failure_rate is not None
        reasons: list[TripReason] = []
        if enough and p95 is not None and failure_rate is not None:
            if p95 > cfg.p95_trip_ms:
                reasons.append(TripReason.P95)
            if failure_rate > cfg.failure_rate_trip:
                reasons.append(TripReason.FAILURE_RATE)
        changed = False
        if not self._tripped:
            if reasons:
                self._tripped, changed = True, True
                self._healthy_since = None
                self.trips += 1
        else:
            healthy = (
                enough
                and p95 is not None
                and failure_rate is not None
                and p95 < cfg.p95_reset_ms
                and failure_rate < cfg.failure_rate_reset
            )
            if not healthy:
                self._healthy_since = None
            elif self._healthy_since is None:
                self._healthy_since = now
            if self._healthy_since is not None and now - self._healthy_since >= cfg.reset_hold_s:
                self._tripped, changed = False, True
                self._healthy_since = None
        verdict = GuardrailVerdict(now, n, p95, failure_rate, self._tripped, tuple(reasons), changed)
        self.last_verdict = verdict
        if changed:
            callback = self._on_trip if self._tripped else self._on_reset
            if callback is not None:
                callback(verdict)
        return verdict


__all__ = ["Guardrail", "GuardrailConfig", "GuardrailVerdict", "TripReason"]
