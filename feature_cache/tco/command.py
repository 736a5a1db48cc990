"""`starlab features tco`: the build-vs-buy TCO model, its sensitivity and its decision.

Backs story 4's "built a TCO model ... presented results and risks" and its
follow-up on sensitivity. The lead registers the command in the `features`
group with `register(app)` (or `app.command(name="tco", epilog=EPILOG)(tco)`);
this module creates no Typer app of its own. Bad input exits 2 with one line
on stderr naming the file, the field and the problem, and no traceback.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from feature_cache.errors import FeatureCacheConfigError
from feature_cache.tco.inputs import DEFAULT_INPUTS_PATH, load_inputs
from feature_cache.tco.model import DEFAULT_HORIZON_MONTHS
from feature_cache.tco.sensitivity import run_sensitivity

__all__ = ["EPILOG", "EXIT_BAD_INPUT", "OutputFormat", "register", "tco"]

EXIT_BAD_INPUT = 2
"""Same code click uses for a bad option: the input was wrong, not the model."""

MAX_HORIZON_MONTHS = 120
"""Ten years; past that a monthly cost model says more about its assumptions than the options."""

EPILOG = (
    "Examples:\n\n"
    "  starlab features tco                                  # the story's inputs, 12 months\n\n"
    "  starlab features tco --horizon-months 24              # past the ~18-month breakeven\n\n"
    "  starlab features tco --inputs my_inputs.yaml --out-dir /tmp/tco\n\n"
    "  starlab features tco --format json | jq .result.saving_pct"
)


class OutputFormat(StrEnum):
    """How the result is printed (files are written either way)."""

    table = "table"
    json = "json"


def _display(path: Path) -> str:
    # The default file is shown relative to the repo so claims and JSON do not
    # carry this machine's absolute path.
    try:
        return str(path.resolve().relative_to(DEFAULT_INPUTS_PATH.parents[2]))
    except ValueError:
        return str(path)


def tco(
    inputs: Path = typer.Option(
        DEFAULT_INPUTS_PATH,
        "--inputs",
        help="YAML file of named assumptions ({value, why} per input); default: the story's.",
        dir_okay=False,
        show_default="feature_cache/tco/inputs.yaml",
    ),
    horizon_months: int = typer.Option(
        DEFAULT_HORIZON_MONTHS,
        "--horizon-months",
        min=1,
        max=MAX_HORIZON_MONTHS,
        help="Months the TCO, the saving and the time-to-value score are taken over (story: 12).",
    ),
    out_dir: Path | None = typer.Option(
        None,
        "--out-dir",
        help="Directory for the JSON result and the PNGs; default: the evidence report's latest/ and plots/.",
        file_okay=False,
    ),
    format: OutputFormat = typer.Option(
        OutputFormat.table, "--format", help="table: rich tables on stdout; json: the JSON result on stdout."
    ),
) -> None:
    """Build vs buy for the feature store: cost by month, TCO, breakeven, weighted decision, sensitivity."""
    # matplotlib (through the report) loads only when the command runs, not for `starlab --help`
    from feature_cache.tco.report import render, result_document, write_outputs

    try:
        model_inputs = load_inputs(inputs)
    except FeatureCacheConfigError as exc:
        # One line, not a rich panel: a rich console would wrap it at the terminal width.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    sensitivity = run_sensitivity(model_inputs, horizon_months)
    inputs_file = _display(inputs)
    if out_dir is None:
        from starlab.evidence import latest_dir, plots_dir  # reads settings: only when needed

        data_dir, png_dir = latest_dir(), plots_dir()
    else:
        data_dir = png_dir = out_dir
    written = write_outputs(sensitivity, inputs_file, data_dir, png_dir)
    if format is OutputFormat.json:
        typer.echo(json.dumps(result_document(sensitivity, inputs_file), indent=2))
        return
    console = Console()
    render(console, sensitivity, inputs_file)
    console.print(f"wrote {written.result_json}, {written.tornado_png}, {written.curves_png}")


def register(app: typer.Typer) -> None:
    """Add `tco` to a Typer group (the `features` group) with its examples."""
    app.command(name="tco", epilog=EPILOG)(tco)
