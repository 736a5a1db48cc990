"""`starlab rankings ...`: publish, roll back, inspect, serve and measure story 2's pipeline.

Backs every story-2 claim's "command that reproduces it": `run` (one
blue/green publish cycle behind the DQ gate), `rollback`, `status`, `serve`
(the ranking API) and `bench` (the measurements and the evidence claims).
Errors the user can cause are `StarlabError`s, printed by `starlab` as one
line; a refused build is an expected outcome and exits 1 with the failed
checks.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from starlab.settings import get_settings

if TYPE_CHECKING:
    from rankings.bench.run import RankingsBench
    from rankings.publish.publisher import Publisher
    from rankings.settings import RankingsSettings

console = Console()
app = typer.Typer(
    help="Story 2: incremental rankings, DQ gate, blue/green publish, warm cache and API.",
    no_args_is_help=True,
)


def _cfg() -> RankingsSettings:
    from rankings.settings import get_rankings_settings

    return get_rankings_settings()


def _publisher() -> Publisher:
    from rankings.publish.publisher import Publisher

    return Publisher(get_settings(), _cfg())


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _print_json(data: object) -> None:
    from starlab.evidence import jsonable

    console.print_json(json.dumps(jsonable(data)))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab rankings run                      # rank up to the newest date in the lake\n\n"
        "  starlab rankings run --as-of 2026-11-21   # a data interval's date (what Airflow passes)\n\n"
        "  starlab rankings run --json"
    )
)
def run(
    as_of: str = typer.Option(None, help="Ranking date to build up to (YYYY-MM-DD); default: newest."),
    allow_older: bool = typer.Option(False, help="Flip even if the live build ranks a newer date."),
    full_refresh: bool = typer.Option(
        False, help="Rebuild the idle color in full (bounded by backfill_days)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the whole cycle result as JSON."),
) -> None:
    """One publish cycle: inputs -> dbt build (idle color) -> DQ gate -> flip -> warm cache."""
    from rankings.errors import DQGateError

    try:
        out = _publisher().run_cycle(_parse_date(as_of), allow_older=allow_older, full_refresh=full_refresh)
    except DQGateError as exc:
        console.print(f"[red]refused[/red] build {exc.build_id}; the live version keeps serving:")
        for f in exc.failures:
            console.print(f"  - {f.describe()}")
        raise typer.Exit(1) from None
    if as_json:
        _print_json(out)
        return
    m = out.metrics
    console.print(
        f"[green]published[/green] {m.build_id} ({m.color}), ranking date {m.ranking_date}: "
        f"{m.served_rows} items served, {m.rows} rows; freshness at publish "
        f"{(m.freshness_at_publish_s or 0) / 60:.1f} min, duplicate rate {m.duplicate_rate}"
    )
    console.print("steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in out.timings_s.items()))
    checks = out.candidate.checks
    console.print(f"DQ gate: {sum(c.passed for c in checks)}/{len(checks)} checks passed")


@app.command(epilog="Example: starlab rankings rollback")
def rollback() -> None:
    """Serve the previous build again at once: Redis pointer, flag and `marts.rankings_live`."""
    out = _publisher().rollback()
    console.print(
        f"[yellow]rolled back[/yellow] to {out.build_id} ({out.live_color}) from "
        f"{out.rolled_back_from}; pointer moved in {out.pointer_moved_ms} ms; dashboard view "
        f"{'re-pointed' if out.view_synced else 'NOT re-pointed (warehouse busy; next publish fixes it)'}"
    )


@app.command(epilog="Examples:\n\n  starlab rankings status\n\n  starlab rankings status --json")
def status(as_json: bool = typer.Option(False, "--json", help="Print the raw status as JSON.")) -> None:
    """Live color, build ids, row counts, what Redis serves, freshness now."""
    st = _publisher().status()
    if as_json:
        _print_json(st)
        return
    serves = st.redis_pointer or st.redis_error
    console.print(
        f"live: [bold]{st.live_color}[/bold] {st.live_build_id}; Redis serves {serves}; "
        f"dashboard view -> {st.view_color}; rollback "
        f"{'available' if st.rollback_available else 'not available'}"
        + (f"; freshness now {st.freshness_now_s / 60:.1f} min" if st.freshness_now_s is not None else "")
    )
    table = Table(title="colors")
    for col in ("color", "build", "status", "ranking date", "rows", "served rows", "note"):
        table.add_column(col)
    for color, rec in st.colors.items():
        table.add_row(
            color,
            rec.build_id,
            rec.status,
            str(rec.ranking_date),
            str(rec.rows),
            str(rec.served_rows),
            (rec.reason or "")[:60],
        )
    console.print(table)
    if st.lease_build_id:
        console.print(f"build in progress: {st.lease_build_id}")


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab rankings serve                 # STARLAB_API_HOST:STARLAB_API_PORT\n\n"
        "  starlab rankings serve --port 8010\n\n"
        "  curl 'http://127.0.0.1:8000/rankings?limit=10&category=news'"
    )
)
def serve(
    host: str = typer.Option(None, help="Bind address; default STARLAB_API_HOST."),
    port: int = typer.Option(None, help="Port; default STARLAB_API_PORT."),
) -> None:
    """Serve the ranking API (FastAPI + uvicorn) from the Redis cache; Ctrl-C stops it."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "rankings.serving.api:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab rankings generate --events 200000 --days 14   # ends now\n\n"
        "  starlab rankings generate --events 2000 --days 0.04 --part arrivals1"
    )
)
def generate(
    events: int = typer.Option(200_000, help="Unique events (retries come on top)."),
    days: float = typer.Option(14.0, help="Days of event time, ending now."),
    part: str = typer.Option("recent", help="Lake file tag, also the event id prefix."),
    keep_dims: bool = typer.Option(False, help="Keep an existing item/user dimension."),
) -> None:
    """Generate engagement events whose newest ingest time is now (so freshness means something)."""
    from rankings.synth import generate_recent

    g = generate_recent(get_settings(), events, days=days, part=part, write_dims=not keep_dims)
    # rows with past ingest times are invisible to the incremental models: rebuild both colors
    _publisher().invalidate(f"generated {part} with past ingest times")
    console.print(
        f"wrote {g.rows:,} lake rows ({g.unique_events:,} events) from {g.first_event_at:%Y-%m-%d %H:%M} "
        f"to {g.newest_ingest_at:%Y-%m-%d %H:%M} UTC under {get_settings().lake_dir}; the next build "
        "of each color is a full refresh"
    )


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab rankings bench                          # everything, 10M events for the cost ratio\n\n"
        "  starlab rankings bench --perf-events 0          # serving only\n\n"
        "  starlab rankings bench --requests 50000 --no-rollback"
    )
)
def bench(
    requests: int = typer.Option(20_000, min=1_000, help="Requests of the flip-under-load run."),
    concurrency: int = typer.Option(32, min=1, help="Concurrent connections of that run."),
    perf_events: int = typer.Option(10_000_000, min=0, help="Events for incremental vs full (0 skips)."),
    inject: bool = typer.Option(True, help="Attempt an injected bad build first (must be refused)."),
    rollback: bool = typer.Option(True, help="Roll back under load, then publish again."),
    record: bool = typer.Option(True, help="Record the claims in the evidence report."),
) -> None:
    """Measure freshness, duplication, p50/p95/p99 under load with a flip, bad responses, cost ratios."""
    from rankings.bench.run import run_bench

    settings = get_settings()
    result = run_bench(
        settings,
        _cfg(),
        requests=requests,
        concurrency=concurrency,
        perf_events=perf_events,
        inject=inject,
        rollback=rollback,
        progress=lambda m: console.print(f"· {m}"),
    )
    command = f"starlab rankings bench --requests {requests} --concurrency {concurrency}"
    command += f" --perf-events {perf_events}" + ("" if inject else " --no-inject")
    command += "" if rollback else " --no-rollback"
    _report(result, command, record)


def _report(result: RankingsBench, command: str, record: bool) -> None:
    from rankings.bench.run import save_result
    from rankings.evidence import STORY, claims_from_bench
    from starlab.evidence import build_report
    from starlab.evidence import record as record_claims

    settings = get_settings()
    save_result(result, settings.reports_dir)
    claims = claims_from_bench(result, command)
    table = Table(title="story 2: claims vs measured")
    for col in ("claim", "claimed", "measured", "status"):
        table.add_column(col)
    for c in claims:
        mark = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]"}.get(str(c.status), str(c.status))
        table.add_row(c.claim, c.claimed_text(), c.measured_text(), mark)
    console.print(table)
    if result.deferral:
        console.print(
            "deferred features, Spearman rho with true item appeal: "
            + json.dumps(result.deferral.spearman_with_latent_quality)
        )
    if record:
        record_claims(claims, STORY, settings.reports_dir, topology=settings.topology)
        build_report(settings.reports_dir)
        console.print(f"claims recorded under {Path(settings.reports_dir) / 'latest'}")
