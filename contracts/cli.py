"""`starlab contracts ...`: story 1's commands (schema compatibility, the CI gate, CDC backfill, replay).

Each command lives with the code it runs and is registered here, so this
module stays the one place that lists the story's commands.
"""

from __future__ import annotations

import typer

from contracts.cdc.command import register as register_backfill
from contracts.compat import COMPAT_EPILOG, compat
from contracts.gate.command import register as register_gate
from contracts.replay.command import register as register_replay

app = typer.Typer(
    help="Story 1: versioned Avro subjects, dbt model contracts, the CI gate, CDC backfill.",
    no_args_is_help=True,
)
app.command("compat", epilog=COMPAT_EPILOG)(compat)
register_gate(app)
register_backfill(app)
register_replay(app)

__all__ = ["app"]
