"""Typer command `starlab contracts replay` (wired by contracts/cli.py through `register`).

Backs story 1's results: it plays the scripted quarter (contracts/replay/quarter.yaml)
without and with the gate and prints both arms' breakages, failed runs,
retries, runtime variance, pages and friction. Exit codes: 0 the replay ran
(whatever it measured), 2 bad input (the script, in one line) or a stack
that cannot run it.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from starlab.errors import StarlabError

err = Console(stderr=True, highlight=False, soft_wrap=True)

REPLAY_EPILOG = (
    "Examples:\n\n"
    "  starlab contracts replay\n\n"
    "  starlab contracts replay --arm with --format json\n\n"
    "  starlab contracts replay --script my-quarter.yaml --keep --no-plot"
)


class ArmChoice(StrEnum):
    BOTH = "both"
    WITHOUT = "without"
    WITH = "with"


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"


def replay(
    script: Path | None = typer.Option(
        None, "--script", help="Replay script (YAML); default contracts/replay/quarter.yaml."
    ),
    arm: ArmChoice = typer.Option(ArmChoice.BOTH, "--arm", help="both (default), without or with the gate."),
    output_format: OutputFormat = typer.Option(
        OutputFormat.HUMAN, "--format", help="human (default) or json, printed to stdout."
    ),
    plot: bool = typer.Option(
        True, "--plot/--no-plot", help="Write the breakages bar chart to <reports>/latest/plots/."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Keep each arm's repository, data and logs under <home>/replay/ for inspection."
    ),
) -> None:
    """Replay a quarter of upstream changes without and with the contract gate; real DAG runs per day."""
    from contracts.replay.model import Arm
    from contracts.replay.plot import plot_breakages
    from contracts.replay.report import render_human
    from contracts.replay.run import run_replay
    from contracts.settings import ContractsSettings
    from starlab.settings import get_settings

    arms = {
        ArmChoice.BOTH: (Arm.WITHOUT_GATE, Arm.WITH_GATE),
        ArmChoice.WITHOUT: (Arm.WITHOUT_GATE,),
        ArmChoice.WITH: (Arm.WITH_GATE,),
    }[arm]
    settings = get_settings()
    quiet = output_format is OutputFormat.JSON
    try:
        result = run_replay(
            settings,
            ContractsSettings(),
            script=script,
            arms=arms,
            keep=keep,
            progress=(lambda _m: None) if quiet else (lambda m: err.print(m, markup=False)),
        )
    except StarlabError as exc:
        err.print(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", markup=False)
        raise typer.Exit(2) from None
    if plot:
        path = plot_breakages(result, settings.reports_dir)
        if not quiet:
            err.print(f"plot: {path}", markup=False)
    typer.echo(result.model_dump_json(indent=2) if quiet else render_human(result))


def register(app: typer.Typer) -> None:
    """Add `replay` to a Typer group (the `contracts` group)."""
    app.command("replay", epilog=REPLAY_EPILOG)(replay)


__all__ = ["REPLAY_EPILOG", "ArmChoice", "OutputFormat", "register", "replay"]
