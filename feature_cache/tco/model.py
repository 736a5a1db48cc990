"""The build-vs-buy arithmetic: monthly and cumulative cost, TCO, breakeven, weighted decision.

Backs story 4's result "TCO -22% at 12 months, breakeven vs. build at ~18
months" and "delivery time cut from ~6 months to 6 weeks": every figure is
computed here from the named assumptions of `inputs.yaml`, none is typed in.

Cost of option o in month m (months are 1-based; month m spans [m-1, m]):

    one_off(m) = build_hours x labor_rate x overlap([m-1, m], [0, D]) / D
    live(m)    = clamp(m - D, 0, 1)              (fraction of the month in production)
    run(m)     = live(m) x (compute + storage + egress x (1 + g)^(m-1) + labor_usd_year / 12)
    cost(m)    = one_off(m) + licence + run(m)

with D the delivery time in months (weeks x 12 / 52). This is the story's
`$/month = compute + storage + egress + labor/12`, plus the two things that
make build and buy differ in time: the one-off effort is paid while
delivering, and nothing runs (or costs infra) before go-live. Licence and
support are billed from signature, so they start in month 1.

The weighted decision scores each criterion 0-100 (higher is better):

- cost: 100 x cheapest TCO / this option's TCO (proportional, "lower is better");
- reliability: SLO uptime placed linearly between `scoring.uptime_floor_pct`
  (0) and `scoring.uptime_ceiling_pct` (100), clamped;
- time to value: 100 x (1 - D / horizon), the share of the horizon in which
  the option delivers value, clamped at 0;
- maintainability: 100 x (1 - h / `scoring.maintenance_ceiling_hours_month`),
  h = labor_usd_year / 12 / labor_rate, the operating hours per month the
  annual labor buys, clamped at 0;

and the weighted score is sum(weight_pct x score) / 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from feature_cache.tco.inputs import OptionInputs, OptionName, TcoInputs

__all__ = [
    "BREAKEVEN_SEARCH_MONTHS",
    "DEFAULT_HORIZON_MONTHS",
    "WEEKS_PER_YEAR",
    "Criterion",
    "CriterionScore",
    "Decision",
    "MonthCost",
    "OptionCost",
    "TcoResult",
    "delivery_months",
    "run_model",
]

WEEKS_PER_YEAR = 52
"""Delivery is given in weeks (the story: "6 weeks"); a month is 52/12 weeks, so 26 weeks is 6 months."""

BREAKEVEN_SEARCH_MONTHS = 60
"""Cost curves are extended to this many months (or the horizon, if longer) to
find a breakeven past the horizon; the story's is at ~18 months, and a
platform decision is rarely revisited later than five years out."""

DEFAULT_HORIZON_MONTHS = 12
"""The story's TCO horizon."""


class Criterion(StrEnum):
    """The decision criteria, in the order of the story."""

    cost = "cost"
    reliability = "reliability"
    time_to_value = "time_to_value"
    maintainability = "maintainability"


@dataclass(frozen=True)
class MonthCost:
    """What one option costs in one month, by component (USD)."""

    month: int
    one_off_usd: float
    licence_usd: float
    compute_usd: float
    storage_usd: float
    egress_usd: float
    labor_usd: float
    total_usd: float
    cumulative_usd: float


@dataclass(frozen=True)
class OptionCost:
    """One option over the horizon, plus its cumulative curve for the breakeven search."""

    option: OptionName
    label: str
    delivery_months: float
    delivery_weeks: float
    one_off_usd: float
    """build_hours x labor rate, paid during delivery."""
    months: tuple[MonthCost, ...]
    """Months 1..horizon."""
    cumulative_usd: tuple[float, ...]
    """Cumulative cost at the end of months 1..max(horizon, BREAKEVEN_SEARCH_MONTHS)."""
    tco_usd: float
    """Cumulative cost at the end of the horizon."""
    run_rate_usd_month: float
    """Cost of the horizon's last month, one-off excluded: what the option costs per month once live."""
    maintenance_hours_month: float
    """labor_usd_year / 12 / labor rate: the operating effort the annual labor pays for."""

    def cumulative_at(self, month: int) -> float:
        """Cumulative cost at the end of `month` (1-based, within the extended curve)."""
        return self.cumulative_usd[month - 1]


@dataclass(frozen=True)
class CriterionScore:
    """One criterion's weight and the two options' 0-100 scores, with what they came from."""

    criterion: Criterion
    weight_pct: float
    build: float
    buy: float
    basis: str

    def score(self, option: OptionName) -> float:
        """The score of `option` on this criterion."""
        return self.build if option is OptionName.build else self.buy


@dataclass(frozen=True)
class Decision:
    """The weighted scores and the option they favour (None on an exact tie)."""

    criteria: tuple[CriterionScore, ...]
    weighted_build: float
    weighted_buy: float
    winner: OptionName | None

    @property
    def margin(self) -> float:
        """How many weighted points the winner leads by."""
        return abs(self.weighted_buy - self.weighted_build)


@dataclass(frozen=True)
class TcoResult:
    """The model's outputs for one set of inputs and one horizon."""

    horizon_months: int
    build: OptionCost
    buy: OptionCost
    saving_usd: float
    """TCO(build) - TCO(buy) at the horizon; positive means buying costs less."""
    saving_pct: float | None
    """saving_usd / TCO(build) x 100 (the story's "-22% TCO" is 22 here); None if build costs 0."""
    breakeven_month: int | None
    """First whole month at whose end the option that started dearer is no longer dearer."""
    breakeven_month_exact: float | None
    """The same crossing, interpolated linearly inside that month."""
    cheaper_after_breakeven: OptionName | None
    """The option that is cheaper from the breakeven on (None: the curves never cross)."""
    decision: Decision

    def option(self, name: OptionName) -> OptionCost:
        """The cost of option `name`."""
        return self.build if name is OptionName.build else self.buy

    def saving_pct_at(self, month: int) -> float | None:
        """Like `saving_pct`, at the end of any month of the extended curves."""
        build = self.build.cumulative_at(month)
        if build == 0:
            return None
        return (build - self.buy.cumulative_at(month)) / build * 100


def delivery_months(option: OptionInputs) -> float:
    """Delivery time in months from the option's weeks."""
    # x 12 / 52 rather than / (52 / 12): 26 weeks is exactly 6.0, not 5.999...
    return option.delivery_weeks.value * 12 / WEEKS_PER_YEAR


def _clamp01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _cost_curve(
    name: OptionName, option: OptionInputs, labor_rate_usd_hour: float, horizon_months: int
) -> OptionCost:
    d_months = delivery_months(option)
    one_off_usd = option.build_hours.value * labor_rate_usd_hour
    growth = 1 + option.egress_growth_pct_month.value / 100
    months: list[MonthCost] = []
    cumulative: list[float] = []
    total_so_far = 0.0
    run_rate = 0.0
    for m in range(1, max(horizon_months, BREAKEVEN_SEARCH_MONTHS) + 1):
        if d_months == 0:
            # Nothing to wait for: any one-off effort is paid in month 1.
            one_off = one_off_usd if m == 1 else 0.0
        else:
            overlap_months = max(0.0, min(float(m), d_months) - (m - 1))
            one_off = one_off_usd * overlap_months / d_months
        live = _clamp01(m - d_months)
        compute = live * option.compute_usd_month.value
        storage = live * option.storage_usd_month.value
        # Egress grows with data volume on the calendar, live or not; it is
        # only paid once the option serves.
        egress = live * option.egress_usd_month.value * growth ** (m - 1)
        labor = live * option.labor_usd_year.value / 12
        licence = option.licence_usd_month.value
        total = one_off + licence + compute + storage + egress + labor
        total_so_far += total
        cumulative.append(total_so_far)
        if m <= horizon_months:
            months.append(
                MonthCost(
                    month=m,
                    one_off_usd=one_off,
                    licence_usd=licence,
                    compute_usd=compute,
                    storage_usd=storage,
                    egress_usd=egress,
                    labor_usd=labor,
                    total_usd=total,
                    cumulative_usd=total_so_far,
                )
            )
            run_rate = total - one_off
    return OptionCost(
        option=name,
        label=option.label,
        delivery_months=d_months,
        delivery_weeks=option.delivery_weeks.value,
        one_off_usd=one_off_usd,
        months=tuple(months),
        cumulative_usd=tuple(cumulative),
        tco_usd=cumulative[horizon_months - 1],
        run_rate_usd_month=run_rate,
        maintenance_hours_month=option.labor_usd_year.value / 12 / labor_rate_usd_hour,
    )


def _breakeven(build: OptionCost, buy: OptionCost) -> tuple[int | None, float | None, OptionName | None]:
    """The first month the option that started cheaper loses its lead.

    diff(m) = cum_build(m) - cum_buy(m): positive while buying is cheaper.
    The leader is whoever is cheaper at the first month the curves differ;
    the breakeven is the first later month at which diff reaches 0 or the
    other sign, interpolated linearly between the two month ends.
    """
    diffs = [b - y for b, y in zip(build.cumulative_usd, buy.cumulative_usd, strict=True)]
    start = next((i for i, d in enumerate(diffs) if d != 0), None)
    if start is None:
        return None, None, None
    leader_sign = math.copysign(1.0, diffs[start])
    for i in range(start + 1, len(diffs)):
        if diffs[i] * leader_sign <= 0:
            # diffs[i] is the end of month i + 1, diffs[i - 1] the end of month i;
            # prev has the leader's sign, so prev != cur and the fraction is in (0, 1].
            prev, cur = diffs[i - 1], diffs[i]
            exact = i + prev / (prev - cur)
            catcher = OptionName.build if leader_sign > 0 else OptionName.buy
            return i + 1, exact, catcher
    return None, None, None


def _decision(inputs: TcoInputs, build: OptionCost, buy: OptionCost, horizon_months: int) -> Decision:
    costs = {OptionName.build: build, OptionName.buy: buy}
    cheapest = min(c.tco_usd for c in costs.values())
    scoring = inputs.scoring
    floor, ceiling = scoring.uptime_floor_pct.value, scoring.uptime_ceiling_pct.value
    hours_ceiling = scoring.maintenance_ceiling_hours_month.value

    def cost_score(o: OptionName) -> float:
        tco = costs[o].tco_usd
        return 100.0 if tco == 0 else 100 * cheapest / tco

    def reliability(o: OptionName) -> float:
        return 100 * _clamp01((inputs.options.get(o).slo_uptime_pct.value - floor) / (ceiling - floor))

    def time_to_value(o: OptionName) -> float:
        return 100 * _clamp01(1 - costs[o].delivery_months / horizon_months)

    def maintainability(o: OptionName) -> float:
        return 100 * _clamp01(1 - costs[o].maintenance_hours_month / hours_ceiling)

    def uptime(o: OptionName) -> float:
        return inputs.options.get(o).slo_uptime_pct.value

    rules = {
        Criterion.cost: (
            cost_score,
            f"{horizon_months}-month TCO {build.tco_usd:,.0f} vs {buy.tco_usd:,.0f} USD; "
            "100 x cheapest / own",
        ),
        Criterion.reliability: (
            reliability,
            f"SLO uptime {uptime(OptionName.build):g}% vs {uptime(OptionName.buy):g}%; "
            f"linear {floor:g}% -> 0, {ceiling:g}% -> 100",
        ),
        Criterion.time_to_value: (
            time_to_value,
            f"delivery {build.delivery_months:.1f} vs {buy.delivery_months:.1f} months; "
            f"100 x (1 - delivery / {horizon_months})",
        ),
        Criterion.maintainability: (
            maintainability,
            f"operating {build.maintenance_hours_month:.0f} vs {buy.maintenance_hours_month:.0f} h/month; "
            f"100 x (1 - hours / {hours_ceiling:g})",
        ),
    }
    weights = dict(inputs.weights.items())
    criteria = tuple(
        CriterionScore(
            criterion=c,
            weight_pct=weights[c.value].value,
            build=fn(OptionName.build),
            buy=fn(OptionName.buy),
            basis=basis,
        )
        for c, (fn, basis) in rules.items()
    )
    weighted_build = sum(s.weight_pct * s.build for s in criteria) / 100
    weighted_buy = sum(s.weight_pct * s.buy for s in criteria) / 100
    if weighted_buy > weighted_build:
        winner: OptionName | None = OptionName.buy
    elif weighted_build > weighted_buy:
        winner = OptionName.build
    else:
        winner = None
    return Decision(criteria, weighted_build, weighted_buy, winner)


def run_model(inputs: TcoInputs, horizon_months: int = DEFAULT_HORIZON_MONTHS) -> TcoResult:
    """Cost curves, TCO at the horizon, saving, breakeven and the weighted decision."""
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1, got {horizon_months}")
    rate = inputs.shared.labor_rate_usd_hour.value
    build = _cost_curve(OptionName.build, inputs.options.build, rate, horizon_months)
    buy = _cost_curve(OptionName.buy, inputs.options.buy, rate, horizon_months)
    saving_usd = build.tco_usd - buy.tco_usd
    month, exact, cheaper = _breakeven(build, buy)
    return TcoResult(
        horizon_months=horizon_months,
        build=build,
        buy=buy,
        saving_usd=saving_usd,
        saving_pct=None if build.tco_usd == 0 else saving_usd / build.tco_usd * 100,
        breakeven_month=month,
        breakeven_month_exact=exact,
        cheaper_after_breakeven=cheaper,
        decision=_decision(inputs, build, buy, horizon_months),
    )
