"""Cost formulas on the stories' own numbers and hand-computed cases."""

from __future__ import annotations

import pytest

from starlab.metrics import (
    ComputePrices,
    MetricError,
    breakeven_month,
    cost_per_run_usd,
    monthly_cost_usd,
    monthly_from_daily_usd,
    relative_change,
    request_cost_usd_per_day,
    tco_usd,
)


def test_story004_fanout_cost_per_day_and_month() -> None:
    # "8M req/day x 4 calls x $1e-5 per call compute ~ $320/day -> ~$9.6k/month"
    daily = request_cost_usd_per_day(8_000_000, 4, 1e-5)
    assert daily == pytest.approx(320.0)
    assert monthly_from_daily_usd(daily) == pytest.approx(9_600.0)


def test_story004_design_b_cost_and_savings() -> None:
    # "Redis ~$1.2k/month + 5% on-demand calls ~ $16/day -> ~$1.7k/month total,
    # saving ~$7.9k/month": $16/day needs 4 calls per miss (8M x 0.05 x 4 x 1e-5).
    on_demand = request_cost_usd_per_day(8_000_000 * 0.05, 4, 1e-5)
    assert on_demand == pytest.approx(16.0)
    design_b = 1_200 + monthly_from_daily_usd(on_demand)
    assert design_b == pytest.approx(1_680.0)
    design_a = monthly_from_daily_usd(request_cost_usd_per_day(8_000_000, 4, 1e-5))
    assert design_a - design_b == pytest.approx(7_920.0)


def test_cost_per_run() -> None:
    # 10 vCPU-h x $0.04 + 40 GB-h x $0.005 + $0.50 storage + $0.25 egress = 1.35
    prices = ComputePrices(vcpu_hour_usd=0.04, memory_gb_hour_usd=0.005)
    assert cost_per_run_usd(10, 40, prices, storage_usd=0.5, egress_usd=0.25) == pytest.approx(1.35)


def test_cost_per_run_compute_only() -> None:
    prices = ComputePrices(vcpu_hour_usd=0.05, memory_gb_hour_usd=0.01)
    assert cost_per_run_usd(2, 0, prices) == pytest.approx(0.1)


def test_negative_price_raises() -> None:
    with pytest.raises(MetricError, match="vcpu_hour_usd"):
        ComputePrices(vcpu_hour_usd=-0.1, memory_gb_hour_usd=0.0)


def test_monthly_cost_labor_over_twelve() -> None:
    # 1000 + 200 + 50 + 120000 / 12 = 1250 + 10000
    assert monthly_cost_usd(1_000, 200, 50, 120_000) == pytest.approx(11_250.0)


def test_story4_tco_minus_22_and_breakeven_18_months() -> None:
    # Build: $396k upfront + $17k/month; buy: $39k/month. Chosen so that
    # 12-month TCO of buy is 22% below build and build catches up at month 18.
    build_12 = tco_usd(396_000, 17_000, 12)
    buy_12 = tco_usd(0, 39_000, 12)
    assert build_12 == 600_000
    assert buy_12 == 468_000
    assert relative_change(build_12, buy_12) == pytest.approx(-0.22)
    assert breakeven_month(396_000, 17_000, 0, 39_000) == pytest.approx(18.0)


def test_breakeven_none_when_lines_never_cross() -> None:
    assert breakeven_month(0, 10, 100, 20) is None  # A cheaper upfront and monthly
    assert breakeven_month(0, 10, 100, 10) is None  # parallel


def test_monthly_from_daily_bad_days() -> None:
    with pytest.raises(MetricError):
        monthly_from_daily_usd(10, 0)
