"""Plots of the TCO model: the sensitivity tornado and the cumulative cost curves.

Backs story 4's "sensitivity analysis of the TCO model" (the tornado: which
assumption moves the 12-month saving most) and "breakeven vs. build at ~18
months" (the two cumulative curves and where they cross). Figures are built
with `matplotlib.figure.Figure` on the Agg canvas, never pyplot, so they
render on a machine without a display and leave no global state behind.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from feature_cache.tco.model import TcoResult
from feature_cache.tco.sensitivity import Sensitivity

__all__ = ["CURVES_PNG", "TORNADO_PNG", "cost_curves_figure", "save_figure", "tornado_figure"]

TORNADO_PNG = "4-feature-store-tco-tornado.png"
CURVES_PNG = "4-feature-store-tco-curves.png"
"""File names start with the story id so the evidence report files them under story 4."""

_DPI = 120
_BAR_HEIGHT_IN = 0.32
"""Figure height per tornado row, in inches: 21 rows stay readable on one page."""
_LOW_COLOR, _HIGH_COLOR = "#4c72b0", "#dd8452"


def tornado_figure(sensitivity: Sensitivity) -> Figure:
    """Horizontal bars of the saving under each input's low and high value, widest on top."""
    rows = list(reversed(sensitivity.rows))  # barh draws bottom-up; widest row on top
    base = sensitivity.base
    base_k = base.saving_usd / 1000
    fig = Figure(figsize=(10, 1.6 + _BAR_HEIGHT_IN * len(rows)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ys = range(len(rows))
    for y, row in zip(ys, rows, strict=True):
        for outcome, color in ((row.low, _LOW_COLOR), (row.high, _HIGH_COLOR)):
            delta_k = outcome.delta_saving_usd / 1000
            ax.barh(y, delta_k, left=base_k, color=color, height=0.7)
            if delta_k:
                ha = "left" if delta_k > 0 else "right"
                ax.text(base_k + delta_k, y, f" {outcome.setting} ", va="center", ha=ha, fontsize=7)
        if row.swing_usd == 0:
            # Zero swing (uptime moves only a score; 20% of 0 is 0): say so rather than draw nothing.
            ax.text(base_k, y, "  no effect on the saving", va="center", ha="left", fontsize=7, color="grey")
    ax.axvline(base_k, color="black", linewidth=1)
    ax.set_yticks(list(ys), [f"{r.key} ({r.base_text})" for r in rows], fontsize=8)
    ax.set_xlabel(f"{base.horizon_months}-month TCO saving of buy vs build (k USD)")
    flips = (
        "; some input flips the decision" if sensitivity.any_flip else "; no single input flips the decision"
    )
    ax.set_title(
        f"Sensitivity, one input at a time (base saving {base_k:,.0f}k USD = "
        f"{base.saving_pct or 0:.1f}%{flips})",
        fontsize=10,
    )
    ax.legend(
        handles=[Patch(color=_LOW_COLOR, label="low side"), Patch(color=_HIGH_COLOR, label="high side")],
        loc="lower right",
        fontsize=8,
    )
    # Room for the setting labels at both ends of the widest bars.
    lo, hi = ax.get_xlim()
    pad = (hi - lo) * 0.08
    ax.set_xlim(lo - pad, hi + pad)
    fig.tight_layout()
    return fig


def cost_curves_figure(result: TcoResult) -> Figure:
    """Cumulative cost of both options by month, the horizon and the breakeven marked."""
    months = max(result.horizon_months, (result.breakeven_month or 0) + 6)
    months = min(months, len(result.build.cumulative_usd))
    xs = list(range(1, months + 1))
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for option in (result.build, result.buy):
        ax.plot(xs, [v / 1000 for v in option.cumulative_usd[:months]], marker=".", label=option.label)
    ax.axvline(
        result.horizon_months, color="grey", linestyle=":", label=f"horizon ({result.horizon_months} mo)"
    )
    if result.breakeven_month_exact is not None:
        ax.axvline(
            result.breakeven_month_exact,
            color="black",
            linestyle="--",
            label=f"breakeven ({result.breakeven_month_exact:.1f} mo)",
        )
    ax.set_xlabel("month")
    ax.set_ylabel("cumulative cost (k USD)")
    ax.set_title("Cumulative cost, build vs buy (modelled from inputs.yaml)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, directory: Path, name: str) -> Path:
    """Write `fig` as PNG to `directory/name` (directory created) and return the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    fig.savefig(path, format="png", dpi=_DPI)
    return path
