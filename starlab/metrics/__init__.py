"""Metric formulas of the stories, as small pure functions (no I/O, no services).

Every measured value in the evidence report goes through one of these, so a
story's claim ("loss 0.03%", "p95 180 ms", "0.995^4 = 0.980") and starlab's
measurement use the same definition. Modules:

- `formulas`: freshness, loss / duplicate / unique / failure / hit rates,
  fan-out and cached availability, error budget, SLO conformance, burn rate,
  relative change (story 000's "Quick formulas", story 004's "Key formulas").
- `latency`: numpy-compatible percentiles and `LatencySummary`.
- `cost`: cost per run, monthly TCO, per-request call cost, breakeven.

Zero or empty denominators raise `MetricError` (never a silent 0).
"""

from starlab.metrics.cost import (
    DAYS_PER_MONTH,
    ComputePrices,
    breakeven_month,
    cost_per_run_usd,
    monthly_cost_usd,
    monthly_from_daily_usd,
    request_cost_usd_per_day,
    tco_usd,
)
from starlab.metrics.errors import MetricError
from starlab.metrics.formulas import (
    all_succeed_probability,
    burn_rate,
    cached_availability,
    duplicate_rate,
    error_budget,
    event_loss_rate,
    failure_rate,
    fanout_availability,
    freshness_s,
    freshness_s_of,
    hit_rate,
    reduction,
    relative_change,
    slo_conformance,
    unique_ratio,
    weighted_latency,
)
from starlab.metrics.latency import LatencySummary, PercentileMethod, p50, p95, p99, percentile

__all__ = [
    "DAYS_PER_MONTH",
    "ComputePrices",
    "LatencySummary",
    "MetricError",
    "PercentileMethod",
    "all_succeed_probability",
    "breakeven_month",
    "burn_rate",
    "cached_availability",
    "cost_per_run_usd",
    "duplicate_rate",
    "error_budget",
    "event_loss_rate",
    "failure_rate",
    "fanout_availability",
    "freshness_s",
    "freshness_s_of",
    "hit_rate",
    "monthly_cost_usd",
    "monthly_from_daily_usd",
    "p50",
    "p95",
    "p99",
    "percentile",
    "reduction",
    "relative_change",
    "request_cost_usd_per_day",
    "slo_conformance",
    "tco_usd",
    "unique_ratio",
    "weighted_latency",
]
