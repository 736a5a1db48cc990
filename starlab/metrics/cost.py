"""Cost formulas: per-run compute cost, monthly TCO, per-request call cost, breakeven.

Backs story 000's "Cost per run" quick formula and "$/job" tip, story 3's
"net cost -18%", story 4's TCO model ("$/month = compute + storage + egress +
labor/12", "TCO -22% at 12 months, breakeven vs. build at ~18 months") and
story 004's "8M req/day x 4 calls x $1e-5 per call ~ $320/day -> ~$9.6k/month".

All amounts are US dollars (`_usd`), durations hours or months as named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from starlab.metrics.errors import MetricError

__all__ = [
    "DAYS_PER_MONTH",
    "ComputePrices",
    "breakeven_month",
    "cost_per_run_usd",
    "monthly_cost_usd",
    "monthly_from_daily_usd",
    "request_cost_usd_per_day",
    "tco_usd",
]

DAYS_PER_MONTH = 30
"""Story 004 turns $320/day into "~$9.6k/month": a 30-day month."""


def _amount(name: str, value: float) -> float:
    x = float(value)
    if not math.isfinite(x) or x < 0:
        raise MetricError(f"{name} must be a finite amount >= 0, got {value!r}")
    return x


@dataclass(frozen=True, slots=True)
class ComputePrices:
    """Unit prices of compute, the `$/vCPU_hr` and `$/GB_hr` of the cost formula."""

    vcpu_hour_usd: float
    """Price of one vCPU for one hour."""
    memory_gb_hour_usd: float
    """Price of one GB of memory for one hour."""

    def __post_init__(self) -> None:
        _amount("vcpu_hour_usd", self.vcpu_hour_usd)
        _amount("memory_gb_hour_usd", self.memory_gb_hour_usd)


def cost_per_run_usd(
    vcpu_hours: float,
    memory_gb_hours: float,
    prices: ComputePrices,
    storage_usd: float = 0.0,
    egress_usd: float = 0.0,
) -> float:
    """`vCPU_hours x $/vCPU_hr + memory_GB_hours x $/GB_hr + storage + egress`.

    Story 000 QF: "Cost per run = (vCPU_hours x $/vCPU_hr) + (memory_GB_hours x
    $/GB_hr) + storage + egress". The tip's "$/job = (compute_hours x $/hour) +
    storage + egress" is the same call with `memory_gb_hours=0`.
    """
    return (
        _amount("vcpu_hours", vcpu_hours) * prices.vcpu_hour_usd
        + _amount("memory_gb_hours", memory_gb_hours) * prices.memory_gb_hour_usd
        + _amount("storage_usd", storage_usd)
        + _amount("egress_usd", egress_usd)
    )


def monthly_cost_usd(
    compute_usd: float, storage_usd: float, egress_usd: float, labor_usd_per_year: float
) -> float:
    """Story 4's TCO line: `$/month = compute + storage + egress + labor/12`.

    compute, storage and egress are per month; labor is the 12-month labor
    cost (the story's "12-month horizon, engineering hours"), spread evenly.
    """
    return (
        _amount("compute_usd", compute_usd)
        + _amount("storage_usd", storage_usd)
        + _amount("egress_usd", egress_usd)
        + _amount("labor_usd_per_year", labor_usd_per_year) / 12.0
    )


def request_cost_usd_per_day(
    requests_per_day: float, calls_per_request: float, cost_per_call_usd: float
) -> float:
    """`requests/day x calls/request x cost/call`.

    Story 004: "8M req/day x 4 calls x $1e-5 per call compute ~ $320/day" and
    "Cost modeling: requests/day x calls/request x cost/call + fixed cache
    cost". Note the story's Design B "5% on-demand calls ~ $16/day" only holds
    with 4 calls per miss (8M x 0.05 x 4 x 1e-5); one call per miss is $4/day.
    """
    return (
        _amount("requests_per_day", requests_per_day)
        * _amount("calls_per_request", calls_per_request)
        * _amount("cost_per_call_usd", cost_per_call_usd)
    )


def monthly_from_daily_usd(daily_usd: float, days_per_month: int = DAYS_PER_MONTH) -> float:
    """`daily x days_per_month` (30 by default, as story 004's $320/day -> $9.6k/month)."""
    if days_per_month <= 0:
        raise MetricError(f"days_per_month must be > 0, got {days_per_month}")
    return _amount("daily_usd", daily_usd) * days_per_month


def tco_usd(upfront_usd: float, monthly_usd: float, months: float) -> float:
    """Total cost of ownership over `months`: `upfront + monthly x months`.

    Story 4: "TCO -22% at 12 months" compares two of these at months=12.
    """
    return _amount("upfront_usd", upfront_usd) + _amount("monthly_usd", monthly_usd) * _amount(
        "months", months
    )


def breakeven_month(
    upfront_a_usd: float, monthly_a_usd: float, upfront_b_usd: float, monthly_b_usd: float
) -> float | None:
    """Month at which option A's and B's cumulative costs are equal, or None.

    Story 4: "breakeven vs. build at ~18 months": build has the larger upfront
    cost and the lower run rate, so it catches up with buy at some month m
    where `upfront_a + m x monthly_a = upfront_b + m x monthly_b`. Returns None
    if the lines never cross at m >= 0 (equal run rates, or the cheaper
    option is cheaper from day one and stays so).
    """
    ua, ma = _amount("upfront_a_usd", upfront_a_usd), _amount("monthly_a_usd", monthly_a_usd)
    ub, mb = _amount("upfront_b_usd", upfront_b_usd), _amount("monthly_b_usd", monthly_b_usd)
    if ma == mb:
        return 0.0 if ua == ub else None
    m = (ub - ua) / (ma - mb)
    return m if m >= 0 else None
