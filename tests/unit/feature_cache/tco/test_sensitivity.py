"""Sensitivity: which inputs are moved, in which direction the saving moves, and flip detection.

Backs story 4's follow-up "sensitivity analysis of the TCO model (labor rate
+-20%, egress growth)".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from feature_cache.tco.inputs import OptionName, TcoInputs, load_inputs
from feature_cache.tco.model import run_model
from feature_cache.tco.sensitivity import Sensitivity, SensitivityRow, perturbations, run_sensitivity

Inputs = Callable[..., TcoInputs]

_OPTION_FIELDS = (
    "compute_usd_month",
    "storage_usd_month",
    "egress_usd_month",
    "egress_growth_pct_month",
    "licence_usd_month",
    "labor_usd_year",
    "build_hours",
    "delivery_weeks",
    "slo_uptime_pct",
)


def _row(s: Sensitivity, key: str) -> SensitivityRow:
    return next(r for r in s.rows if r.key == key)


def test_every_numeric_input_is_moved_once_plus_the_two_groups(small_inputs: Inputs) -> None:
    s = run_sensitivity(small_inputs(), horizon_months=4)
    expected = {"labor", "egress growth", "shared.labor_rate_usd_hour"} | {
        f"options.{o}.{f}" for o in ("build", "buy") for f in _OPTION_FIELDS
    }
    keys = [r.key for r in s.rows]
    assert sorted(keys) == sorted(expected)
    # weights and scoring scales are the yardstick, not estimates
    assert not any(k.startswith(("weights", "scoring")) for k in keys)


def test_rows_are_sorted_widest_swing_first() -> None:
    swings = [r.swing_usd for r in run_sensitivity(load_inputs()).rows]
    assert swings == sorted(swings, reverse=True)
    assert swings[0] > swings[-1]


def test_labor_plus_20_pct_by_hand(small_inputs: Inputs) -> None:
    s = run_sensitivity(small_inputs(), horizon_months=4)
    row = _row(s, "labor")
    assert (row.low.setting, row.high.setting) == ("-20%", "+20%")
    # rate 120 USD/h: build one-off 7,200; labor 14,400/yr = 1,200 in month 4:
    # 7,200 + 1,000 + 100 + 133.1 + 1,200 = 9,633.1 (base 8,233.1)
    assert row.high.build_tco_usd == pytest.approx(9633.1)
    assert row.high.build_tco_usd > s.base.build.tco_usd
    # buy: one-off 1,800 (1,200 + 600); labor 240/month once live:
    # 1,700 + 1,370 + 1,040 + 1,040 = 5,150 (base 4,750)
    assert row.high.buy_tco_usd == pytest.approx(5150)
    assert row.high.delta_saving_usd == pytest.approx((9633.1 - 5150) - (8233.1 - 4750))
    # rate 80 USD/h: build 4,800 + 1,000 + 100 + 133.1 + 800 = 6,833.1;
    # buy 1,300 + 1,130 + 960 + 960 = 4,350: the saving drops by 1,000
    assert row.low.build_tco_usd == pytest.approx(6833.1)
    assert row.low.buy_tco_usd == pytest.approx(4350)
    assert row.low.delta_saving_usd == pytest.approx(-1000)


def test_directions_on_the_story_inputs() -> None:
    s = run_sensitivity(load_inputs())
    base = s.base
    # dearer engineering time hurts the build option most: the saving of buying grows
    labor = _row(s, "labor")
    assert labor.high.build_tco_usd > base.build.tco_usd and labor.high.delta_saving_usd > 0
    # a dearer licence only raises buy's cost: the saving shrinks
    licence = _row(s, "options.buy.licence_usd_month")
    assert licence.high.buy_tco_usd > base.buy.tco_usd
    assert licence.high.build_tco_usd == pytest.approx(base.build.tco_usd)
    assert licence.high.delta_saving_usd < 0 < licence.low.delta_saving_usd
    # faster egress growth costs buy (3x the egress) more than build: the saving shrinks
    growth = _row(s, "egress growth")
    assert (growth.low.setting, growth.high.setting) == ("0%/month", "2x")
    assert growth.high.delta_saving_usd < 0 < growth.low.delta_saving_usd
    # a longer build starts its run costs later: within 12 months build costs less and
    # the saving shrinks (the delay is paid in the time-to-value score instead)
    build_weeks = _row(s, "options.build.delivery_weeks")
    assert build_weeks.high.delta_saving_usd < 0
    # uptime moves scores only, never a cost
    uptime = _row(s, "options.buy.slo_uptime_pct")
    assert uptime.swing_usd == 0
    assert uptime.low.decision_margin < uptime.high.decision_margin


def test_uptime_is_varied_through_its_downtime() -> None:
    inputs = load_inputs()
    p = next(p for p in perturbations(inputs) if p.key == "options.buy.slo_uptime_pct")
    # 99.9% uptime = 0.1% downtime; +-20% of the downtime, not of 99.9
    assert p.low.options.buy.slo_uptime_pct.value == pytest.approx(100 - 0.12)
    assert p.high.options.buy.slo_uptime_pct.value == pytest.approx(100 - 0.08)


def test_perturbations_leave_the_base_inputs_alone() -> None:
    inputs = load_inputs()
    before = run_model(inputs)
    perturbations(inputs)
    assert run_model(inputs).saving_usd == before.saving_usd


def test_decision_flip_is_detected(small_inputs: Inputs) -> None:
    # Only cost counts. build: 10,000 one-off + 1,000/month = 14,000 at 4 months;
    # buy: 3,000/month licence = 12,000. Licence +20% = 14,400: build becomes cheaper.
    zero = {
        "compute_usd_month": 0,
        "storage_usd_month": 0,
        "egress_usd_month": 0,
        "licence_usd_month": 0,
        "labor_usd_year": 0,
        "build_hours": 0,
        "delivery_weeks": 0,
    }
    inputs = small_inputs(
        build={**zero, "build_hours": 100, "compute_usd_month": 1000},
        buy={**zero, "licence_usd_month": 3000},
        weights={"cost": 100, "reliability": 0, "time_to_value": 0, "maintainability": 0},
    )
    s = run_sensitivity(inputs, horizon_months=4)
    assert s.base.decision.winner is OptionName.buy
    licence = _row(s, "options.buy.licence_usd_month")
    assert licence.high.winner is OptionName.build
    assert licence.high.decision_flips and licence.high.cost_leader_flips
    assert not licence.low.decision_flips
    assert licence.flips and s.any_flip
    # build compute +-20% (13,200 / 14,800 vs 12,000) never makes build cheaper
    compute = _row(s, "options.build.compute_usd_month")
    assert not compute.flips and not compute.high.cost_leader_flips


def test_story_inputs_flip_on_no_single_input() -> None:
    s = run_sensitivity(load_inputs())
    assert not s.any_flip
    assert all(r.low.winner is OptionName.buy and r.high.winner is OptionName.buy for r in s.rows)
