"""`starlab contracts backfill`: fill items v2's new fields from the CDC change log (story 1)."""

from __future__ import annotations

import typer
from rich.console import Console

from starlab.settings import get_settings

console = Console()

EPILOG = (
    "Examples:\n\n"
    "  starlab contracts backfill            # after the items v2 expand migration\n\n"
    "  starlab contracts backfill && starlab contracts backfill   # the second run changes nothing"
)


def backfill() -> None:
    """Replay the items change log from offset 0 and fill category_group/category_name where NULL."""
    from contracts.cdc import apply_items_v2_expand, backfill_items_category
    from starlab.appdb import connect

    settings = get_settings()
    with connect(settings) as conn:
        migrated = apply_items_v2_expand(conn)
        conn.commit()
    r = backfill_items_category(settings)
    console.print(
        f"expand migration: {migrated}\n"
        f"replayed {r.rows_scanned:,} changes from {r.topic} in {r.elapsed_s:.1f}s ({r.rows_per_s:,.0f}/s); "
        f"filled {r.rows_updated} rows; rows with a NULL new field {r.nulls_before} -> {r.nulls_after}; "
        f"table {'changed' if r.changed_table else 'unchanged (idempotent)'}"
    )
    if r.nulls_after:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("backfill", epilog=EPILOG)(backfill)


__all__ = ["backfill", "register"]
