"""One-at-a-time sensitivity of the TCO saving and of the decision.

Backs story 4's follow-up "sensitivity analysis of the TCO model (e.g.,
labor rate +-20%, egress growth)": each input is moved alone, the model is
run again, and the row says how far the horizon's saving (buy vs build)
moved and whether the weighted decision or the cheaper option flipped.

What moves, and how:
- "labor": the hourly rate and both options' annual labor together, +-20%
  (the price of engineering time, the story's "labor rate +-20%");
- "egress growth": both options' monthly growth at 0% and at twice the base;
- every other number of `shared` and `options` alone: +-20%, except each
  option's egress growth (0% / 2x, as above) and SLO uptime, whose +-20%
  applies to the downtime (100 - uptime), since 99.9% x 1.2 is no uptime.
Weights and scoring scales are not varied: they define the yardstick the
stakeholders agreed on, not an estimate, and moving one weight alone would
break their sum of 100.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel

from feature_cache.tco.inputs import Assumption, GrowthPct, OptionName, TcoInputs, UptimePct
from feature_cache.tco.model import DEFAULT_HORIZON_MONTHS, TcoResult, run_model

__all__ = [
    "DEFAULT_VARIATION_PCT",
    "Outcome",
    "Perturbation",
    "Sensitivity",
    "SensitivityRow",
    "perturbations",
    "run_sensitivity",
]

DEFAULT_VARIATION_PCT = 20.0
"""The story's +-20% band."""

_SECTIONS = ("shared", "options")
"""Where the estimates live; `weights` and `scoring` are the yardstick (see the docstring)."""

Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Perturbation:
    """One input moved down and up; `low`/`high` are complete inputs to run."""

    key: str
    """Dotted field path, or a group name ("labor", "egress growth")."""
    low_text: str
    high_text: str
    base_text: str
    low: TcoInputs
    high: TcoInputs


@dataclass(frozen=True)
class Outcome:
    """The model's answer under one side of a perturbation, against the base run."""

    setting: str
    saving_usd: float
    saving_pct: float | None
    delta_saving_usd: float
    """saving_usd - base saving_usd: how much more (positive) buying saves."""
    build_tco_usd: float
    buy_tco_usd: float
    breakeven_month_exact: float | None
    winner: OptionName | None
    decision_flips: bool
    """The weighted decision differs from the base run's."""
    cost_leader_flips: bool
    """The option that is cheaper at the horizon differs from the base run's."""
    decision_margin: float
    """Weighted score of buy minus build: how far this side is from a flip (0)."""


@dataclass(frozen=True)
class SensitivityRow:
    """One input's low and high outcome."""

    key: str
    base_text: str
    low: Outcome
    high: Outcome

    @property
    def swing_usd(self) -> float:
        """Width of the tornado bar: |high delta - low delta|."""
        return abs(self.high.delta_saving_usd - self.low.delta_saving_usd)

    @property
    def flips(self) -> bool:
        """Either side flips the weighted decision."""
        return self.low.decision_flips or self.high.decision_flips


@dataclass(frozen=True)
class Sensitivity:
    """All rows, widest swing first, and the base run they are measured against."""

    base: TcoResult
    variation_pct: float
    rows: tuple[SensitivityRow, ...]

    @property
    def any_flip(self) -> bool:
        """Some single input, moved alone, flips the decision."""
        return any(r.flips for r in self.rows)


# --- building perturbed inputs -----------------------------------------------


def _get(model: BaseModel, path: Path_) -> Assumption:
    node: object = model
    for part in path:
        node = getattr(node, part)
    if not isinstance(node, Assumption):
        raise TypeError(f"{'.'.join(path)} is not an assumption")
    return node


def _set(model: BaseModel, path: Path_, value: float) -> BaseModel:
    # Frozen models: copy each level on the way down. `model_copy` does not
    # validate, which is intended: a perturbed value is ours, not the user's.
    head, *rest = path
    child = getattr(model, head)
    if rest:
        return model.model_copy(update={head: _set(child, tuple(rest), value)})
    return model.model_copy(update={head: child.model_copy(update={"value": value})})


def _with(inputs: TcoInputs, changes: dict[Path_, float]) -> TcoInputs:
    out: BaseModel = inputs
    for path, value in changes.items():
        out = _set(out, path, value)
    assert isinstance(out, TcoInputs)
    return out


def _assumption_paths(model: BaseModel, prefix: Path_ = ()) -> Iterator[Path_]:
    for name in type(model).model_fields:
        child = getattr(model, name)
        if isinstance(child, Assumption):
            yield (*prefix, name)
        elif isinstance(child, BaseModel):
            yield from _assumption_paths(child, (*prefix, name))


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def perturbations(inputs: TcoInputs, variation_pct: float = DEFAULT_VARIATION_PCT) -> list[Perturbation]:
    """Every one-at-a-time change the analysis runs, grouped rows first."""
    f = variation_pct / 100
    down, up = f"-{variation_pct:g}%", f"+{variation_pct:g}%"
    paths = [p for s in _SECTIONS for p in _assumption_paths(getattr(inputs, s), (s,))]
    value: Callable[[Path_], float] = lambda p: _get(inputs, p).value  # noqa: E731

    labor = [p for p in paths if p[-1] in ("labor_rate_usd_hour", "labor_usd_year")]
    growth = [p for p in paths if isinstance(_get(inputs, p), GrowthPct)]
    out = [
        Perturbation(
            key="labor",
            low_text=down,
            high_text=up,
            base_text=" / ".join(_fmt(value(p)) for p in labor),
            low=_with(inputs, {p: value(p) * (1 - f) for p in labor}),
            high=_with(inputs, {p: value(p) * (1 + f) for p in labor}),
        ),
        Perturbation(
            key="egress growth",
            low_text="0%/month",
            high_text="2x",
            base_text=" / ".join(f"{value(p):g}" for p in growth) + " %/month",
            low=_with(inputs, dict.fromkeys(growth, 0.0)),
            high=_with(inputs, {p: value(p) * 2 for p in growth}),
        ),
    ]
    for p in paths:
        a, v = _get(inputs, p), value(p)
        key = ".".join(p)
        if isinstance(a, GrowthPct):
            out.append(
                Perturbation(
                    key, "0%/month", "2x", _fmt(v), _with(inputs, {p: 0.0}), _with(inputs, {p: v * 2})
                )
            )
        elif isinstance(a, UptimePct):
            downtime = 100 - v
            out.append(
                Perturbation(
                    key,
                    f"downtime {up}",
                    f"downtime {down}",
                    _fmt(v),
                    _with(inputs, {p: 100 - downtime * (1 + f)}),
                    _with(inputs, {p: 100 - downtime * (1 - f)}),
                )
            )
        else:
            out.append(
                Perturbation(
                    key, down, up, _fmt(v), _with(inputs, {p: v * (1 - f)}), _with(inputs, {p: v * (1 + f)})
                )
            )
    return out


# --- running ------------------------------------------------------------------


def _outcome(setting: str, result: TcoResult, base: TcoResult) -> Outcome:
    def leader(r: TcoResult) -> int:
        return (r.saving_usd > 0) - (r.saving_usd < 0)

    return Outcome(
        setting=setting,
        saving_usd=result.saving_usd,
        saving_pct=result.saving_pct,
        delta_saving_usd=result.saving_usd - base.saving_usd,
        build_tco_usd=result.build.tco_usd,
        buy_tco_usd=result.buy.tco_usd,
        breakeven_month_exact=result.breakeven_month_exact,
        winner=result.decision.winner,
        decision_flips=result.decision.winner != base.decision.winner,
        cost_leader_flips=leader(result) != leader(base),
        decision_margin=result.decision.weighted_buy - result.decision.weighted_build,
    )


def run_sensitivity(
    inputs: TcoInputs,
    horizon_months: int = DEFAULT_HORIZON_MONTHS,
    variation_pct: float = DEFAULT_VARIATION_PCT,
) -> Sensitivity:
    """Run the base model and every perturbation; rows sorted by swing, widest first."""
    base = run_model(inputs, horizon_months)
    rows = [
        SensitivityRow(
            key=p.key,
            base_text=p.base_text,
            low=_outcome(p.low_text, run_model(p.low, horizon_months), base),
            high=_outcome(p.high_text, run_model(p.high, horizon_months), base),
        )
        for p in perturbations(inputs, variation_pct)
    ]
    # Stable sort: equal swings keep the declared order (groups first).
    rows.sort(key=lambda r: -r.swing_usd)
    return Sensitivity(base=base, variation_pct=variation_pct, rows=tuple(rows))
