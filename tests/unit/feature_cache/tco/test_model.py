"""The TCO arithmetic on a case checked by hand, the breakeven, the weights and the story's defaults.

Backs story 4's "TCO -22% at 12 months, breakeven vs. build at ~18 months":
the expected numbers below are worked out in the comments from the inputs
in conftest.py, not taken from the code.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from feature_cache.tco.inputs import OptionName, TcoInputs, load_inputs
from feature_cache.tco.model import Criterion, run_model

Inputs = Callable[..., TcoInputs]


def test_monthly_and_cumulative_cost_by_hand(small_inputs: Inputs) -> None:
    r = run_model(small_inputs(), horizon_months=4)
    # build: 60 h x 100 USD/h = 6,000 one-off over 3 months (13 weeks) = 2,000/month;
    # live from month 4: 1,000 compute + 100 storage + 100 x 1.1^3 egress + 12,000/12 labor.
    month4_build = 1000 + 100 + 100 * 1.1**3 + 1000
    assert [m.total_usd for m in r.build.months] == pytest.approx([2000, 2000, 2000, month4_build])
    assert month4_build == pytest.approx(2233.1)
    assert r.build.tco_usd == pytest.approx(8233.1)
    # buy: 15 h x 100 = 1,500 over 1.5 months (6.5 weeks): 1,000 in month 1, 500 in month 2;
    # licence 500 from month 1; run 200 + 0 + 100 + 2,400/12 = 500 once live,
    # half of it in month 2 (live from 1.5).
    assert [m.one_off_usd for m in r.buy.months] == pytest.approx([1000, 500, 0, 0])
    assert [m.total_usd for m in r.buy.months] == pytest.approx([1500, 1250, 1000, 1000])
    assert [m.cumulative_usd for m in r.buy.months] == pytest.approx([1500, 2750, 3750, 4750])
    assert r.buy.tco_usd == pytest.approx(4750)
    assert r.saving_usd == pytest.approx(8233.1 - 4750)
    assert r.saving_pct == pytest.approx((8233.1 - 4750) / 8233.1 * 100)
    assert r.build.run_rate_usd_month == pytest.approx(2233.1)
    assert r.buy.run_rate_usd_month == pytest.approx(1000)  # licence + run, no one-off
    assert r.build.delivery_months == 3.0 and r.buy.delivery_months == 1.5
    assert r.build.maintenance_hours_month == pytest.approx(10)  # 12,000 / 12 / 100
    assert r.buy.maintenance_hours_month == pytest.approx(2)


def test_weighted_scores_by_hand(small_inputs: Inputs) -> None:
    d = run_model(small_inputs(), horizon_months=4).decision
    scores = {s.criterion: (s.weight_pct, s.build, s.buy) for s in d.criteria}
    cost_build = 100 * 4750 / 8233.1  # cheapest / own
    assert scores[Criterion.cost] == pytest.approx((40, cost_build, 100))
    # uptime 99.5 and 99.9 on a 99 -> 0, 100 -> 100 line
    assert scores[Criterion.reliability] == pytest.approx((30, 50, 90))
    # 100 x (1 - delivery / horizon): 3 and 1.5 months of 4
    assert scores[Criterion.time_to_value] == pytest.approx((20, 25, 62.5))
    # 100 x (1 - hours / 100): 10 and 2 hours a month
    assert scores[Criterion.maintainability] == pytest.approx((10, 90, 98))
    assert d.weighted_build == pytest.approx((40 * cost_build + 30 * 50 + 20 * 25 + 10 * 90) / 100)
    assert d.weighted_buy == pytest.approx((40 * 100 + 30 * 90 + 20 * 62.5 + 10 * 98) / 100)
    assert d.winner is OptionName.buy


def test_scores_are_clamped_to_0_100(small_inputs: Inputs) -> None:
    # 26 weeks = 6 months of a 4-month horizon; 240,000/12/100 = 200 h a month, twice the ceiling.
    r = run_model(small_inputs(build={"delivery_weeks": 26, "labor_usd_year": 240000}), horizon_months=4)
    scores = {s.criterion: s for s in r.decision.criteria}
    assert scores[Criterion.time_to_value].build == 0
    assert scores[Criterion.maintainability].build == 0  # 200 h/month > 100 h ceiling


# Breakeven cases: one-off and run costs chosen so the cumulative curves are
# straight lines. build: 100 h x 100 = 10,000 in month 1 (delivered at once),
# then 1,000 a month; buy: 3,000 a month licence. diff = 10,000 - 2,000 m.
_ZERO = {
    "compute_usd_month": 0,
    "storage_usd_month": 0,
    "egress_usd_month": 0,
    "egress_growth_pct_month": 0,
    "licence_usd_month": 0,
    "labor_usd_year": 0,
    "build_hours": 0,
    "delivery_weeks": 0,
}


def _crossing(small_inputs: Inputs, build_hours: float) -> TcoInputs:
    return small_inputs(
        build={**_ZERO, "build_hours": build_hours, "compute_usd_month": 1000},
        buy={**_ZERO, "licence_usd_month": 3000},
    )


def test_breakeven_on_a_month_end(small_inputs: Inputs) -> None:
    r = run_model(_crossing(small_inputs, build_hours=100), horizon_months=4)
    # month 4: build 14,000 vs buy 12,000; month 5: 15,000 = 15,000
    assert r.build.tco_usd == pytest.approx(14000) and r.buy.tco_usd == pytest.approx(12000)
    assert r.breakeven_month == 5
    assert r.breakeven_month_exact == pytest.approx(5.0)
    assert r.cheaper_after_breakeven is OptionName.build


def test_breakeven_inside_a_month_is_interpolated(small_inputs: Inputs) -> None:
    r = run_model(_crossing(small_inputs, build_hours=110), horizon_months=12)
    # diff = 11,000 - 2,000 m: +1,000 at month 5, -1,000 at month 6
    assert r.breakeven_month == 6
    assert r.breakeven_month_exact == pytest.approx(5.5)
    # at 12 months build is already cheaper: 23,000 vs 36,000
    assert r.saving_usd == pytest.approx(23000 - 36000)


def test_breakeven_when_buy_catches_up(small_inputs: Inputs) -> None:
    inputs = small_inputs(
        build={**_ZERO, "licence_usd_month": 3000},
        buy={**_ZERO, "build_hours": 100, "compute_usd_month": 1000},
    )
    r = run_model(inputs, horizon_months=4)
    assert r.breakeven_month == 5
    assert r.cheaper_after_breakeven is OptionName.buy


def test_no_breakeven_when_one_option_always_costs_less(small_inputs: Inputs) -> None:
    inputs = small_inputs(
        build={**_ZERO, "compute_usd_month": 1000},
        buy={**_ZERO, "licence_usd_month": 500},
    )
    r = run_model(inputs, horizon_months=12)
    assert r.breakeven_month is None and r.breakeven_month_exact is None
    assert r.cheaper_after_breakeven is None


def test_weights_decide(small_inputs: Inputs) -> None:
    # Build costs less at 12 months (23,000 vs 36,000); buy keeps the better uptime.
    build_cheaper = {**_ZERO, "build_hours": 110, "compute_usd_month": 1000}
    buy_dearer = {**_ZERO, "licence_usd_month": 3000}
    only_cost = {"cost": 100, "reliability": 0, "time_to_value": 0, "maintainability": 0}
    only_reliability = {"cost": 0, "reliability": 100, "time_to_value": 0, "maintainability": 0}
    by_cost = run_model(small_inputs(build=build_cheaper, buy=buy_dearer, weights=only_cost), 12)
    by_reliability = run_model(
        small_inputs(build=build_cheaper, buy=buy_dearer, weights=only_reliability), 12
    )
    assert by_cost.decision.winner is OptionName.build
    assert by_cost.decision.weighted_build == pytest.approx(100)
    assert by_reliability.decision.winner is OptionName.buy
    assert by_reliability.decision.weighted_buy == pytest.approx(90)


def test_horizon_must_be_positive(small_inputs: Inputs) -> None:
    with pytest.raises(ValueError, match="horizon_months"):
        run_model(small_inputs(), horizon_months=0)


def test_story_defaults_reproduce_the_story_figures() -> None:
    r = run_model(load_inputs(), horizon_months=12)
    # story: buy -22% TCO at 12 months, build cheaper from ~18 months, buy recommended
    assert r.saving_pct is not None and 20 <= r.saving_pct <= 24
    assert r.breakeven_month_exact is not None and 16 <= r.breakeven_month_exact <= 20
    assert r.cheaper_after_breakeven is OptionName.build
    assert r.decision.winner is OptionName.buy
    assert r.build.delivery_months == pytest.approx(6.0)  # 26 weeks
    assert r.buy.delivery_weeks == 6
    # the saving is computed: a dearer licence moves it
    assert r.saving_pct_at(12) == pytest.approx(r.saving_pct)
