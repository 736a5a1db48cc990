"""`starlab lake`: the events table's snapshots, files and maintenance (the lake is the kernel's)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from starlab.settings import get_settings

console = Console()

app = typer.Typer(
    help="The lake's Iceberg events table: state, snapshots, maintenance, schema evolution.",
    no_args_is_help=True,
)


@app.command(
    epilog="Examples:\n\n  starlab lake status\n\n  starlab lake status --snapshot 5617349080519744125"
)
def status(
    snapshot: int = typer.Option(None, help="Read the table as of this snapshot id (time travel)."),
) -> None:
    """Rows, live data files, partitions and kept snapshots of the events table."""
    from starlab.lake.events import events_state

    state = events_state(get_settings(), snapshot)
    console.print(state.summary())
    if state.committed_at is not None:
        console.print(f"committed at {state.committed_at:%Y-%m-%d %H:%M:%S} UTC")


@app.command(epilog="Example: starlab lake snapshots --last 10")
def snapshots(last: int = typer.Option(20, min=1, help="Show the newest N snapshots.")) -> None:
    """The table's history: one snapshot per commit (a stream checkpoint, a batch, a compaction)."""
    from starlab.lake.events import ensure_events_table

    table = ensure_events_table(get_settings())
    out = Table("snapshot", "committed (UTC)", "operation", "added files", "added rows", "by")
    for snap in table.snapshots()[-last:]:
        summary = snap.summary
        extra = summary.additional_properties if summary is not None else {}
        by = (
            f"flink checkpoint {extra['flink.max-committed-checkpoint-id']}"
            if "flink.max-committed-checkpoint-id" in extra
            else extra.get("starlab.batch-id", "")
        )
        out.add_row(
            str(snap.snapshot_id),
            datetime.fromtimestamp(snap.timestamp_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
            summary.operation.value if summary is not None else "",
            extra.get("added-data-files", "0"),
            extra.get("added-records", "0"),
            by,
        )
    console.print(out)


@app.command(
    epilog=(
        "Examples:\n\n  starlab lake maintain\n\n"
        "  starlab lake maintain --no-expire --target-file-mb 64\n\n"
        "  starlab lake maintain --expire-older-than-s 0 --retain-last 1"
    )
)
def maintain(
    compact: bool = typer.Option(True, help="Rewrite small files into files of the target size."),
    target_file_mb: int = typer.Option(128, min=1, help="Target size of a compacted file."),
    expire: bool = typer.Option(True, help="Expire old snapshots and delete files only they reference."),
    expire_older_than_s: float = typer.Option(86_400.0, min=0, help="Keep snapshots younger than this."),
    retain_last: int = typer.Option(20, min=1, help="Keep at least this many snapshots."),
) -> None:
    """Compact the stream's small files and expire old snapshots (what the lake_maintenance DAG runs)."""
    from starlab.lake.maintenance import MaintenanceOptions, maintain

    options = MaintenanceOptions(
        compact=compact,
        target_file_mb=target_file_mb,
        expire=expire,
        expire_older_than_s=expire_older_than_s,
        retain_last=retain_last,
    )
    with console.status("maintaining the events table (Iceberg's Flink actions)..."):
        result = maintain(get_settings(), options)
    for line in result.lines():
        console.print(line)


@app.command(epilog="Example: starlab lake evolve engagement-event-v2.avsc")
def evolve(
    schema: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A newer Avro version of the event."
    ),
) -> None:
    """Add the optional fields of a newer event contract to the table (metadata only, no rewrite)."""
    import json

    from starlab.lake.errors import LakeConfigError
    from starlab.lake.events import evolve_to_contract

    try:
        text = schema.read_text()
        json.loads(text)
    except (OSError, ValueError) as exc:
        raise LakeConfigError(f"{schema}: not a readable JSON Avro schema: {exc}") from None
    result = evolve_to_contract(get_settings(), text)
    if not result.added:
        console.print("the table already has every field of this contract")
        return
    console.print(
        f"added {', '.join(result.added)} (schema {result.schema_id_before} -> {result.schema_id_after}); "
        f"data files rewritten: {'yes' if result.rewrote_data else 'none'}"
    )


__all__ = ["app"]
