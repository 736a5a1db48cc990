"""`starlab stream ...`: run, verify, inspect the streaming path (story 3)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from starlab.settings import get_settings

console = Console()
app = typer.Typer(help="Story 3: Kafka -> Flink SQL with exactly-once, dedup, watermarks and SLOs.",
                  no_args_is_help=True)


def _last_run_path() -> Path:
    return get_settings().reports_dir / "latest" / "stream" / "last-run.json"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream run --events 50000 --rate 2500\n\n"
        "  starlab stream run --events 200000 --rate 5000 --fault kill-job@0.3 --fault kill-broker@0.6\n\n"
        "  starlab stream run --fault stall@0.3:40 --freshness-alert-s 10"
    )
)
def run(
    events: int = typer.Option(50_000, help="Unique events to produce."),
    rate: float = typer.Option(2_500.0, help="Records per second, real time."),
    checkpoint_ms: int = typer.Option(5_000, help="Checkpoint interval: output is visible at each one."),
    guarantee: str = typer.Option("exactly-once", help="exactly-once or at-least-once for the Kafka sinks."),
    fault: list[str] = typer.Option([], help="kill-job@F, kill-broker@F or stall@F:SECONDS (F in 0..1)."),
    freshness_alert_s: float = typer.Option(None, help="Override the freshness alert threshold (s)."),
    record: bool = typer.Option(True, help="Record the claims in the evidence report."),
) -> None:
    """Produce live events, run the Flink job, inject faults, verify every output."""
    from streaming.evidence import STORY, claims_from_run
    from streaming.scenario import Fault, RunOptions, run_stream
    from streaming.slo import load_rules

    overrides = {}
    if freshness_alert_s is not None:
        overrides["FreshnessSLOBreach"] = {"threshold": freshness_alert_s, "for_s": 3}
    opts = RunOptions(events=events, rate=rate, checkpoint_interval_ms=checkpoint_ms,
                      delivery_guarantee=guarantee, faults=[Fault.parse(f) for f in fault],
                      rules=load_rules(overrides=overrides))
    settings = get_settings()
    result = run_stream(settings, opts, progress=lambda m: console.print(f"· {m}"))
    summary = result.summary()
    out = _last_run_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    result.manifest.write(out.with_name("last-manifest.json"))
    console.print_json(json.dumps(summary, default=str))
    if record:
        from starlab.evidence import build_report, record as record_claims

        cmd = "starlab stream run " + " ".join(
            [f"--events {events}", f"--rate {rate:g}"] + [f"--fault {f}" for f in fault])
        record_claims(claims_from_run(result, cmd), STORY, settings.reports_dir)
        build_report(settings.reports_dir)
    if not result.report.ok:
        console.print("[red]verification failed[/red]")
        raise typer.Exit(1)


@app.command(epilog="Example: starlab stream verify   (after starlab stream run)")
def verify(
    manifest: Path = typer.Option(None, help="Ground truth; default: the last run's manifest."),
) -> None:
    """Compare the outputs now in Kafka and the lake with the ground truth."""
    from starlab.events.generator import Manifest
    from streaming.verify import verify as do_verify

    path = manifest or _last_run_path().with_name("last-manifest.json")
    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist: run `starlab stream run` first")
    report = do_verify(get_settings(), Manifest.read(path))
    console.print_json(json.dumps(report.to_dict()))
    if not report.ok:
        raise typer.Exit(1)


@app.command(epilog="Example: starlab stream sql")
def sql() -> None:
    """Print the Flink SQL of the job, rendered with the current settings."""
    from streaming.flink_job import render_sql
    from streaming.job import FlinkJob

    ddl, inserts = render_sql(FlinkJob(get_settings()).config(restore=False))
    console.print(";\n\n".join(ddl + inserts) + ";", highlight=False, markup=False)
