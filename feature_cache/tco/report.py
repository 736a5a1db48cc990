"""What `starlab features tco` prints and writes: rich tables, the JSON result, the plots.

Backs story 4's "presented results and risks": the monthly and cumulative
cost of both options, the 12-month TCO and saving, the breakeven, the
weighted scores and decision, the sensitivity table, and the story's figures
beside the model's (the evidence claims). The JSON file carries the same
content for the evidence report and for scripts.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from feature_cache.tco.evidence import claims
from feature_cache.tco.model import TcoResult
from feature_cache.tco.plot import CURVES_PNG, TORNADO_PNG, cost_curves_figure, save_figure, tornado_figure
from feature_cache.tco.sensitivity import Sensitivity, SensitivityRow
from starlab.evidence.claim import jsonable

__all__ = ["RESULT_JSON", "WrittenFiles", "render", "result_document", "write_outputs"]

RESULT_JSON = "4-feature-store-tco.json"


@dataclass(frozen=True)
class WrittenFiles:
    """Where one run put its outputs."""

    result_json: Path
    tornado_png: Path
    curves_png: Path


def _usd(x: float) -> str:
    return f"{x:,.0f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}%"


def _month(x: float | None) -> str:
    return "none" if x is None else f"{x:.1f}"


def result_document(sensitivity: Sensitivity, inputs_file: str) -> dict[str, Any]:
    """The JSON form of a run: inputs file, result, sensitivity rows, claims (the file boundary)."""
    base = sensitivity.base
    rows = [{**dataclasses.asdict(r), "swing_usd": r.swing_usd, "flips": r.flips} for r in sensitivity.rows]
    document = {
        "inputs": inputs_file,
        "result": dataclasses.asdict(base),
        "sensitivity": {
            "variation_pct": sensitivity.variation_pct,
            "any_flip": sensitivity.any_flip,
            "rows": rows,
        },
        "claims": [c.to_dict() for c in claims(base, inputs_file)],
    }
    out = jsonable(document, "tco")
    assert isinstance(out, dict)
    return out


def write_outputs(
    sensitivity: Sensitivity, inputs_file: str, data_dir: Path, plots_dir: Path
) -> WrittenFiles:
    """Write the JSON result to `data_dir` and both PNGs to `plots_dir`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    result_json = data_dir / RESULT_JSON
    result_json.write_text(
        json.dumps(result_document(sensitivity, inputs_file), indent=2) + "\n", encoding="utf-8"
    )
    tornado = save_figure(tornado_figure(sensitivity), plots_dir, TORNADO_PNG)
    curves = save_figure(cost_curves_figure(sensitivity.base), plots_dir, CURVES_PNG)
    return WrittenFiles(result_json=result_json, tornado_png=tornado, curves_png=curves)


# --- tables -------------------------------------------------------------------


def _monthly_table(result: TcoResult) -> Table:
    build, buy = result.build, result.buy
    table = Table(title=f"Monthly and cumulative cost (USD), {result.horizon_months}-month horizon")
    table.add_column("month", justify="right")
    for o in (build, buy):
        table.add_column(f"{o.option.value}\nmonth", justify="right")
        table.add_column(f"{o.option.value}\ncumulative", justify="right")
    table.add_column("note")
    for b, y in zip(build.months, buy.months, strict=True):
        # The first month with run costs: the option went live during it or at its start.
        live = [o.option.value for o in (build, buy) if b.month - 1 <= o.delivery_months < b.month]
        table.add_row(
            str(b.month),
            _usd(b.total_usd),
            _usd(b.cumulative_usd),
            _usd(y.total_usd),
            _usd(y.cumulative_usd),
            " + ".join(live) + " live" if live else "",
        )
    return table


def _summary_table(result: TcoResult) -> Table:
    table = Table(title="Total cost of ownership")
    for col in (
        "option",
        "delivery",
        "one-off USD",
        "run rate USD/mo",
        f"TCO {result.horizon_months} mo USD",
    ):
        table.add_column(col, justify="left" if col == "option" else "right")
    for o in (result.build, result.buy):
        table.add_row(
            o.label,
            f"{o.delivery_weeks:g} wk ({o.delivery_months:.1f} mo)",
            _usd(o.one_off_usd),
            _usd(o.run_rate_usd_month),
            _usd(o.tco_usd),
        )
    return table


def _scores_table(result: TcoResult) -> Table:
    d = result.decision
    table = Table(title="Weighted criteria (0-100 per criterion)")
    for col in ("criterion", "weight %", "build", "buy", "basis"):
        table.add_column(col, justify="left" if col in ("criterion", "basis") else "right")
    for s in d.criteria:
        table.add_row(s.criterion.value, f"{s.weight_pct:g}", f"{s.build:.1f}", f"{s.buy:.1f}", s.basis)
    table.add_row("[bold]weighted[/bold]", "100", f"{d.weighted_build:.1f}", f"{d.weighted_buy:.1f}", "")
    return table


def _flip_text(row: SensitivityRow) -> str:
    sides = [o.setting for o in (row.low, row.high) if o.decision_flips]
    cheaper = [o.setting for o in (row.low, row.high) if o.cost_leader_flips]
    if sides:
        return "DECISION at " + ", ".join(sides)
    if cheaper:
        return "cheaper option at " + ", ".join(cheaper)
    return "no"


def _sensitivity_table(sensitivity: Sensitivity) -> Table:
    base = sensitivity.base
    table = Table(
        title=(
            f"Sensitivity of the {base.horizon_months}-month saving (base {_usd(base.saving_usd)} USD = "
            f"{_pct(base.saving_pct)}), one input at a time"
        )
    )
    table.add_column("input", overflow="fold")
    table.add_column("base", justify="right")
    table.add_column("moved (low/high)", justify="right")
    table.add_column("change low", justify="right")
    table.add_column("change high", justify="right")
    table.add_column("breakeven mo", justify="right")
    table.add_column("flips")
    for r in sensitivity.rows:
        table.add_row(
            # The YAML path without its "options." prefix: short enough for 80 columns.
            r.key.removeprefix("options."),
            r.base_text,
            f"{r.low.setting} / {r.high.setting}",
            f"{r.low.delta_saving_usd:+,.0f}",
            f"{r.high.delta_saving_usd:+,.0f}",
            f"{_month(r.low.breakeven_month_exact)}/{_month(r.high.breakeven_month_exact)}",
            _flip_text(r),
        )
    return table


def _claims_table(result: TcoResult, inputs_file: str) -> Table:
    table = Table(title="Story 4's figures beside the model (modelled from stated assumptions, not observed)")
    for col in ("claim", "story", "model", "status"):
        table.add_column(col)
    for c in claims(result, inputs_file):
        table.add_row(c.claim, c.claimed_text(), c.measured_text(), str(c.status))
    return table


def render(console: Console, sensitivity: Sensitivity, inputs_file: str) -> None:
    """Print every table of a run, then the one-paragraph answer."""
    result = sensitivity.base
    for table in (
        _monthly_table(result),
        _summary_table(result),
        _scores_table(result),
        _sensitivity_table(sensitivity),
        _claims_table(result, inputs_file),
    ):
        console.print(table)
    d = result.decision
    winner = "a tie" if d.winner is None else result.option(d.winner).label
    if result.cheaper_after_breakeven is None:
        breakeven = (
            f"the cumulative cost curves do not cross within {len(result.build.cumulative_usd)} months"
        )
    else:
        breakeven = (
            f"{result.option(result.cheaper_after_breakeven).label} is cheaper from month "
            f"{result.breakeven_month} on (curves cross at {_month(result.breakeven_month_exact)})"
        )
    pct = abs(result.saving_pct) if result.saving_pct is not None else None
    if result.saving_usd >= 0:
        tco = f"buy costs {_pct(pct)} less than build ({_usd(result.saving_usd)} USD)"
    else:
        tco = f"buy costs {_pct(pct)} more than build ({_usd(-result.saving_usd)} USD)"
    top = ", ".join(r.key for r in sensitivity.rows[:3])
    flips = "some single input flips it" if sensitivity.any_flip else "no single input moved alone flips it"
    console.print(
        f"[bold]Decision:[/bold] {winner} "
        f"({d.weighted_buy:.1f} buy vs {d.weighted_build:.1f} build, weighted). "
        f"Over {result.horizon_months} months {tco}; {breakeven}. "
        f"Largest drivers of the saving: {top}; {flips}."
    )
