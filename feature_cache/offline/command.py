"""`starlab features pit`: the point-in-time run of story 4, as a Typer command function.

Backs the "command that reproduces it" of story 4's "0% leakage on 3
labeled datasets" and "backfill speed (rows/sec)" claims. The lead wires it
into the `features` group with `register(app)` (or
`app.command("pit", epilog=PIT_EPILOG)(pit)`); this module does not create
the group. Exit codes: 0 when starlab's join leaked nothing, kept every
spine row and chose the right version everywhere; 1 when the check found a
problem; bad input exits 2 through Typer.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from starlab.settings import get_settings

__all__ = ["PIT_EPILOG", "pit", "register"]

console = Console()

PIT_EPILOG = (
    "Examples:\n\n"
    "  starlab features pit                      # 3 datasets; starlab, Feast default, Feast filtered\n\n"
    "  starlab features pit --no-feast           # starlab's join and the leakage check only (seconds)\n\n"
    "  starlab features pit --online-bench       # also Feast get_online_features vs redis-py HMGET\n\n"
    "  starlab features pit --backfill-rows 0 --json-out /tmp/pit.json"
)


def pit(
    feast: bool = typer.Option(
        True,
        "--feast/--no-feast",
        help="Run Feast 0.67 in its own venv on the same data (builds the venv once).",
    ),
    online_bench: bool = typer.Option(
        False,
        "--online-bench/--no-online-bench",
        help="Time Feast get_online_features vs redis-py HMGET (1 user x 10 features) on a private "
        "redis-server started on a free port and stopped afterwards.",
    ),
    online_calls: int = typer.Option(2000, min=100, max=100_000, help="Timed calls per online reader."),
    backfill_rows: int = typer.Option(
        200_000, min=0, max=20_000_000, help="Rows appended to measure backfill speed; 0 skips it."
    ),
    work_dir: Path = typer.Option(
        None, help="Where datasets, DuckDB files and Feast exports go; default <data_dir>/features/pit."
    ),
    json_out: Path = typer.Option(None, help="Report file; default <reports_dir>/features/pit.json."),
    feast_venv: Path = typer.Option(None, help="Feast's virtual environment; default <home>/venvs/feast."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
) -> None:
    """Point-in-time training sets on 3 labeled datasets: starlab's join, leakage check, Feast beside it."""
    from feature_cache.offline.feast_compare import Engine, default_feast_venv
    from feature_cache.offline.pit import feast_findings, pit_table, run_pit, write_report

    settings = get_settings()
    work = work_dir or settings.data_dir / "features" / "pit"
    out = json_out or settings.reports_dir / "features" / "pit.json"
    venv = feast_venv or default_feast_venv(settings.home)
    quiet = as_json

    def progress(msg: str) -> None:
        if not quiet:
            console.print(f"[dim]{msg}[/dim]")

    report = run_pit(
        work,
        feast=feast,
        feast_venv=venv if (feast or online_bench) else None,
        online_bench=online_bench,
        online_calls=online_calls,
        backfill_rows=backfill_rows,
        progress=progress,
    )
    write_report(report, out)
    if as_json:
        console.print_json(out.read_text())
    else:
        # The table has 13 columns; a pipe or CI log gets 80 columns by default and
        # would squeeze them to ellipses, so it is printed at least 160 wide.
        Console(width=max(console.width, 160)).print(pit_table(report))
        for line in feast_findings(report):
            console.print(f"- {line}")
        if report.feast is not None:
            f = report.feast
            console.print(
                f"Feast {f.feast_version}: get_historical_features has {f.param_name!r}: "
                f"{f.param_in_signature} (default {f.param_default}); file/dask offline store supports it: "
                f"{f.dask_store_supports_param}"
            )
        elif report.feast_note:
            console.print(f"Feast: {report.feast_note}")
        if report.backfill is not None:
            b = report.backfill
            console.print(
                f"backfill: {b.rows} rows in {b.seconds:.2f} s = {b.rows_per_s:,.0f} rows/s (Arrow batches "
                f"of {b.batch_rows}); from FeatureVersion objects {b.dataclass_rows_per_s:,.0f} rows/s"
            )
        if report.online is not None:
            o = report.online
            console.print(
                f"online read, 1 user x {o.features} features, {o.feast.calls} calls: Feast p50/p95 "
                f"{o.feast.p50_us:.0f}/{o.feast.p95_us:.0f} us (CPU {o.feast.cpu_us_per_call:.0f} us/call); "
                f"redis-py HMGET {o.redis_hmget.p50_us:.0f}/{o.redis_hmget.p95_us:.0f} us "
                f"(CPU {o.redis_hmget.cpu_us_per_call:.0f} us/call)"
            )
        elif report.online_note:
            console.print(f"online read: {report.online_note}")
        console.print(f"report: {out}")
    starlab = [e for d in report.datasets for e in d.engines if e.engine == Engine.STARLAB]
    failed = [e for e in starlab if e.leaks or e.wrong_values or e.missing_rows or e.value_errors]
    if failed:
        if not as_json:
            names = ", ".join(e.dataset for e in failed)
            console.print(f"[red]starlab's join failed the check on: {names}[/red]")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `pit` to the `features` Typer group."""
    app.command("pit", epilog=PIT_EPILOG)(pit)
