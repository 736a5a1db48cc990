"""`starlab stream ...`: run, verify, inspect the streaming path (story 3)."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path

import typer
from rich.console import Console

from starlab.settings import get_settings
from streaming.bench import THROUGHPUT_EVENTS

console = Console()
app = typer.Typer(
    help="Story 3: Kafka -> Flink SQL with exactly-once, dedup, watermarks and SLOs.", no_args_is_help=True
)


def _last_run_path() -> Path:
    return get_settings().reports_dir / "latest" / "stream" / "last-run.json"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream run --events 50000 --rate 2500\n\n"
        "  starlab stream run --events 200000 --rate 5000 --fault kill-job@0.3 --fault kill-broker@0.6\n\n"
        "  starlab stream run --fault stall@0.3:40 --freshness-alert-s 10\n\n"
        "  STARLAB_TOPOLOGY=cluster starlab stream run --events 200000 --rate 2500 "
        "--fault kill-broker@0.2 --fault kill-tm@0.45 --fault kill-jm@0.7 --seed 11"
    )
)
def run(
    events: int = typer.Option(50_000, help="Unique events to produce."),
    rate: float = typer.Option(2_500.0, help="Records per second, real time."),
    checkpoint_ms: int = typer.Option(5_000, help="Checkpoint interval: output is visible at each one."),
    guarantee: str = typer.Option("exactly-once", help="exactly-once or at-least-once for the Kafka sinks."),
    fault: list[str] = typer.Option(
        [],
        help="kill-job@F, kill-broker@F, stall@F:SECONDS; on the cluster kill-tm@F, kill-jm@F (F in 0..1).",
    ),
    seed: int = typer.Option(7, help="Generator seed: another seed, other events and other fault timing."),
    freshness_alert_s: float = typer.Option(None, help="Override the freshness alert threshold (s)."),
    record: bool = typer.Option(True, help="Record the claims in the evidence report."),
) -> None:
    """Produce live events, run the Flink job, inject faults, verify every output."""
    from streaming.alerts import run_rules
    from streaming.evidence import STORY, claims_from_run
    from streaming.scenario import Fault, RunOptions, run_stream

    alert_rules = None
    if freshness_alert_s is not None:
        # a copy of the shipped freshness alert on this run only, with seconds-long margins
        alert_rules = run_rules(
            {"FreshnessSLOBreach": {"threshold": freshness_alert_s, "for_s": 3, "keep_firing_for_s": 8}},
            warmup_s=20,
        )
    opts = RunOptions(
        events=events,
        rate=rate,
        seed=seed,
        checkpoint_interval_ms=checkpoint_ms,
        delivery_guarantee=guarantee,
        faults=[Fault.parse(f) for f in fault],
        alert_rules=alert_rules,
    )
    settings = get_settings()
    result = run_stream(settings, opts, progress=lambda m: console.print(f"· {m}"))
    summary = result.summary()
    out = _last_run_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    result.manifest.write(out.with_name("last-manifest.json"))
    console.print_json(json.dumps(summary, default=str))
    if record:
        from starlab.evidence import build_report
        from starlab.evidence import record as record_claims

        cmd = "starlab stream run " + " ".join(
            [f"--events {events}", f"--rate {rate:g}"] + [f"--fault {f}" for f in fault]
        )
        record_claims(claims_from_run(result, cmd), STORY, settings.reports_dir, topology=settings.topology)
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
    from streaming.job import FlinkJob

    console.print(FlinkJob(get_settings()).rendered_sql().text(), highlight=False, markup=False)


@app.command(epilog="Example: starlab stream reconcile   (after starlab stream run)")
def reconcile(
    examples: int = typer.Option(5, help="Drifting windows to show."),
) -> None:
    """Rebuild the batch metrics with dbt over the lake and compare every window with the stream."""
    from streaming.reconcile import reconcile as do_reconcile

    result = do_reconcile(get_settings())
    console.print_json(json.dumps(result.summary(examples)))


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream backfill --from 2026-11-22T00:00:00 --to 2026-11-23T00:00:00\n\n"
        "  starlab stream backfill            # the whole span of the last reconciliation's drift"
    )
)
def backfill(
    start: str = typer.Option(None, "--from", help="UTC start (ISO-8601), inclusive."),
    end: str = typer.Option(None, "--to", help="UTC end (ISO-8601), exclusive."),
) -> None:
    """Repair the stream's windows in [from, to) from the batch recomputation, idempotently."""
    from datetime import datetime

    from streaming.reconcile import backfill as do_backfill
    from streaming.reconcile import reconcile as do_reconcile

    settings = get_settings()

    def parse(text: str) -> datetime:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not an ISO-8601 time") from None

    before = do_reconcile(settings)
    span = (parse(start), parse(end)) if start and end else before.drift_span()
    if span is None:
        console.print("no drift: nothing to backfill")
        return
    lo, hi = span
    result = do_backfill(settings, lo, hi, run_dbt=False)
    after = do_reconcile(settings, run_dbt=False)
    console.print_json(
        json.dumps(
            {
                "window": [lo.isoformat(), hi.isoformat()],
                "drift_windows_before": before.drift_windows,
                "windows_replayed": result.windows,
                "events_replayed": result.events,
                "seconds": round(result.seconds, 2),
                "drift_windows_after": after.drift_windows,
            }
        )
    )
    if after.drift_windows:
        raise typer.Exit(1)


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream bench\n\n"
        "  starlab stream bench --events 1000000 --no-cluster --no-before-profile --no-lateness"
    )
)
def bench(
    events: int = typer.Option(THROUGHPUT_EVENTS, help="Events preloaded for the throughput runs."),
    checkpoint_ms: int = typer.Option(5_000, help="Checkpoint interval of the latency runs."),
    lateness: bool = typer.Option(True, help="Also compare 10 min and 2 min allowed lateness."),
    cluster: bool = typer.Option(
        True, "--cluster/--no-cluster", help="Also the same job on the cluster topology (up for the run)."
    ),
    before_profile: bool = typer.Option(
        True,
        "--before-profile/--no-before-profile",
        help="Also the job as it was before profiling (its RocksDB and memory changes undone), same topic.",
    ),
) -> None:
    """Throughput per core (single and cluster topology), p99 latency EO vs ALO, lateness."""
    from starlab.settings import Settings
    from streaming.bench.run import LIVE_RATE_PER_S, run_bench

    r = run_bench(
        get_settings(),
        events=events,
        checkpoint_ms=checkpoint_ms,
        progress=lambda m: console.print(f"· {m}"),
        cluster=Settings(topology="cluster") if cluster else None,
        before_profile=before_profile,
    )
    c = r.cluster
    b = r.before_profile
    before = (
        f"{b.steady_events_per_s:>10,.0f} events/s   (after / before: {r.profile_gain:.2f}x; "
        f"whole run {b.events_per_s:,.0f})"
        if b is not None and r.profile_gain is not None
        else "   not measured (--no-before-profile, or the cluster topology)"
    )
    on_cluster = (
        f"{c.steady_events_per_s:>10,.0f} events/s   ({r.cluster_events_per_s_per_core:,.0f} per core; "
        f"{c.steady_events_per_s / r.flink_steady_events_per_s:.2f}x single; whole run {c.events_per_s:,.0f})"
        if c is not None
        else "   not measured (--no-cluster)"
    )
    target_p99 = r.checkpoint_interval_ms + 2_000
    console.print(f"""
[bold]stream bench[/bold] ({r.events:,} events preloaded at {r.preload_events_per_s:,.0f}/s)
  Flink, exactly-once sinks   {r.flink_steady_events_per_s:>10,.0f} events/s   (second half of the run; \
{r.flink_events_per_s_per_core:,.0f} per core; target >= 40,000)
    whole run                 {r.flink_events_per_s:>10,.0f} events/s   (JIT warm-up included)
  same job, cluster topology  {on_cluster}
  same job, before profiling  {before}
  Python passthrough          {r.passthrough_events_per_s:>10,.0f} events/s
  ratio Flink / passthrough   {r.ratio:>10.2f}
  p99 latency exactly-once    {r.eo_p99_ms:>10,.0f} ms         (target <= {target_p99:,} = checkpoint + 2 s)
  p99 latency at-least-once   {r.alo_p99_ms:>10,.0f} ms
  backfill, dbt + replay      {r.backfill_events_per_s:>10,.0f} events/s
                              ({r.backfill_events:,} events in {r.backfill_s:.1f}s)
  7 days at {LIVE_RATE_PER_S:,}/s           {r.backfill_7d_hours:>10.1f} h
                              (story: within 6 h; linear extrapolation)""")
    from starlab.evidence import build_report, record
    from streaming.evidence import BENCH_STORY, claims_from_bench

    settings = get_settings()
    record(
        claims_from_bench(r, f"starlab stream bench --events {events}"),
        BENCH_STORY,
        settings.reports_dir,
        topology=settings.topology,
    )
    build_report(settings.reports_dir)
    if lateness:
        from streaming.bench.run import compare_lateness

        console.print("\n[bold]allowed lateness[/bold] (same seeded input; late = behind the watermark)")
        for p in compare_lateness(get_settings(), progress=lambda m: console.print(f"· {m}")):
            console.print(
                f"  {p.lateness_s // 60:>3} min: {p.late_captured:>6,} late ({p.late_pct:5.2f}%), "
                f"e2e p95 {p.e2e_p95_ms:>7,.0f} ms, windows to repair by backfill "
                f"{p.drift_windows:,}/{p.windows:,}"
            )


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream profile --label before\n\n"
        "  starlab stream profile --label after --events 2000000 --seconds 40 --out /tmp/prof"
    )
)
def profile(
    label: str = typer.Option(..., help="Name of this profile (file names, title): e.g. before, after."),
    events: int = typer.Option(
        1_500_000, min=100_000, help="Events preloaded; the job must outlast the recording."
    ),
    seconds: float = typer.Option(30, min=5, max=300, help="How long async-profiler samples the job's JVM."),
    out: Path = typer.Option(Path("docs/profiles"), help="Where <label>.html and <label>.md go."),
    conf: list[str] = typer.Option(
        [], "--conf", help="Extra Flink setting KEY=VALUE for this run (repeatable), to try a change."
    ),
) -> None:
    """CPU flame graph of the streaming job reading a preloaded topic, and its sustained rate."""
    from streaming.bench.profile import profile_stream

    pairs = []
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            console.print(f"error: --conf {item!r}: expected KEY=VALUE")
            raise typer.Exit(2)
        pairs.append((key.strip(), value.strip()))
    r = profile_stream(
        get_settings(),
        label,
        out,
        events,
        seconds,
        tuple(pairs),
        progress=lambda m: console.print(f"· {m}"),
    )
    console.print(f"\n[bold]{label}[/bold]: {r.events_per_s:,.0f} events/s; flame graph {r.profile.html}")
    for c in r.profile.summary.categories:
        console.print(f"  {c.name:<28} {c.pct:5.1f}%")
    console.print(f"summary: {r.markdown}")


CAPACITY_EPILOG = (
    "Examples:\n\n"
    "  starlab features memory && starlab stream capacity --measure --cluster   # measure, then write\n\n"
    "  starlab stream capacity                     # render docs/scaling.md again from the saved figures\n\n"
    "  starlab stream capacity --measure --events 500000 --write /tmp/scaling.md"
)


@app.command(epilog=CAPACITY_EPILOG)
def capacity(
    measure: bool = typer.Option(False, "--measure", help="Measure on the running stack first."),
    events: int = typer.Option(
        THROUGHPUT_EVENTS, min=100_000, help="Events preloaded for the measuring runs."
    ),
    cluster: bool = typer.Option(
        False, "--cluster", help="Also run the job on the cluster topology (started for the run if down)."
    ),
    feature_memory: Path = typer.Option(
        None, dir_okay=False, help="`starlab features memory` JSON (default: the latest report's)."
    ),
    figures: Path = typer.Option(
        Path("docs/scaling-measured.json"), dir_okay=False, help="The measured figures (written, or read)."
    ),
    write: Path = typer.Option(Path("docs/scaling.md"), dir_okay=False, help="Where the plan goes."),
) -> None:
    """A capacity plan (Kafka, Flink, Redis at 10x/100x/1000x) from figures measured on this machine."""
    from streaming.capacity import Assumptions, Measured, plans, render_markdown

    if measure:
        from starlab.evidence import latest_dir
        from starlab.settings import Settings
        from streaming.bench.capacity import load_feature_memory
        from streaming.bench.capacity import measure as run_measure
        from streaming.settings import get_stream_settings

        mem = load_feature_memory(feature_memory or latest_dir() / "4-feature-store-memory.json")
        say = lambda m: console.print(f"· {m}")  # noqa: E731
        on_cluster = Settings(topology="cluster") if cluster else None
        m = run_measure(get_settings(), get_stream_settings(), mem, events, on_cluster, say)
        m.save(figures)
        console.print(f"figures saved to {figures}")
    else:
        m = Measured.load(figures)
    a = Assumptions()
    write.parent.mkdir(parents=True, exist_ok=True)
    write.write_text(render_markdown(m, a, plans(m, a), measurements_file=str(figures)))
    console.print(
        f"{m.events_per_s_per_core:,.0f} events/s per core, {m.state_bytes_per_key:,.0f} state bytes per "
        f"key, {m.redis_bytes_per_key:,.0f} Redis bytes per feature key; wrote {write}"
    )


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab stream rfc --measure      # measure on the running stack, then cost and write\n\n"
        "  starlab stream rfc                # again from the last measurements\n\n"
        "  starlab stream rfc --measurements m.json --events-per-day 500000000 --out /tmp/rfc.md\n\n"
        "  starlab stream rfc --measurements m.json --prices my-prices.yaml"
    )
)
def rfc(
    measurements: Path = typer.Option(
        None,
        "--measurements",
        dir_okay=False,
        help="JSON of the measuring step (default: the last --measure run's, reports/latest/stream/).",
    ),
    measure: bool = typer.Option(
        False, "--measure", help="Measure first on the running stack: a stream run and the nightly batch."
    ),
    measure_events: int = typer.Option(100_000, min=1_000, help="Events the measuring run streams."),
    prices: Path = typer.Option(
        None,
        "--prices",
        dir_okay=False,
        help="Unit prices and sizing (YAML, {value, source} per number); default: streaming/rfc/prices.yaml.",
    ),
    events_per_day: int = typer.Option(
        None,
        "--events-per-day",
        min=1,
        help="Daily volume to cost the options at; default: the prices file's.",
    ),
    out: Path = typer.Option(
        Path("docs/rfc/0001-batch-to-streaming.md"), "--out", dir_okay=False, help="Where to write the RFC."
    ),
) -> None:
    """Cost the daily batch, option A and option B (modelled) from measurements, and write the RFC."""
    from streaming.errors import StreamConfigError
    from streaming.rfc.document import build_rfc, claims_lines, summary_table
    from streaming.rfc.measure import MeasurementSet
    from streaming.rfc.prices import DEFAULT_PRICES_PATH, load_prices

    prices_path = prices or DEFAULT_PRICES_PATH
    settings = get_settings()
    if measurements is None:
        from streaming.rfc.run import default_measurements_path

        measurements = default_measurements_path(settings)
    if measure:
        from streaming.rfc.run import measure as do_measure

        measured_now = do_measure(settings, events=measure_events, progress=lambda m: console.print(f"· {m}"))
        measured_now.measurements.write(measurements)
        console.print(f"wrote {measurements}")

    def shown(path: Path) -> str:
        # Paths inside the repository are written relative, so the RFC carries no machine's home.
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path)

    try:
        unit_prices = load_prices(prices_path)
        measured = MeasurementSet.read(measurements)
    except StreamConfigError as exc:
        # One line on stderr, exit 2 like a bad option: the input is wrong, not the model.
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if events_per_day is not None:
        unit_prices = unit_prices.with_events_per_day(events_per_day, "--events-per-day option")
    command = " ".join(
        ["starlab stream rfc", f"--measurements {shown(measurements)}"]
        + ([f"--prices {shown(prices_path)}"] if prices else [])
        + ([f"--events-per-day {events_per_day}"] if events_per_day else [])
    )
    comparison = build_rfc(
        measured,
        unit_prices,
        out,
        prices_file=shown(prices_path),
        measurements_file=shown(measurements),
        command=command,
    )
    console.print(summary_table(comparison))
    for line in claims_lines(comparison):
        console.print(line)
    console.print(f"wrote {out}")
