"""The `starlab` command line: the stack, the generator, the demo, the report, and each story's group.

The story groups are not named here: every story registered under the
`starlab.stories` entry point (`starlab.story`) adds its Typer group under its
own name, so adding a story never edits the kernel.
"""

from __future__ import annotations

import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from starlab.cli import observe
from starlab.cli.lake import app as lake_app
from starlab.errors import StarlabError
from starlab.settings import get_settings
from starlab.story import registered

if TYPE_CHECKING:
    from starlab.evidence import BuiltReport

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    name="starlab",
    help="Runnable miniatures of the data-engineering systems in the stories.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


class TopologyChoice(StrEnum):
    single = "single"
    cluster = "cluster"


@app.callback(epilog="Example: starlab --topology cluster up   |   STARLAB_TOPOLOGY=cluster starlab status")
def root(
    topology: TopologyChoice = typer.Option(
        None,
        "--topology",
        help="single (one process per system) or cluster (3 KRaft nodes, a Flink session cluster, "
        "Redis Cluster); default: STARLAB_TOPOLOGY, else single.",
    ),
) -> None:
    """Runnable miniatures of the data-engineering systems in the stories."""
    _use_topology(topology)


def _use_topology(topology: TopologyChoice | None) -> None:
    if topology is not None:
        # Every later step reads the settings (and child processes the variable).
        os.environ["STARLAB_TOPOLOGY"] = topology.value
        get_settings.cache_clear()


def _add_story_groups() -> None:
    for story in registered():
        group = story.load_cli()
        if group is not None:
            app.add_typer(group, name=story.name, help=story.title)


_add_story_groups()
app.add_typer(lake_app, name="lake")
app.command(epilog="Examples: starlab dashboards   |   starlab dashboards stream --since 10m --window 15s")(
    observe.dashboards
)
app.command(epilog="Example: starlab alerts --since 30m")(observe.alerts)


def _progress(msg: str) -> None:
    console.print(f"[dim]·[/dim] {msg}")


@app.command(epilog="Example: starlab up   |   starlab up kafka redis   |   starlab --topology cluster up")
def up(
    component: list[str] = typer.Argument(
        None,
        help="Components to start (kafka, schema-registry, redis, postgres, connect, flink, airflow, "
        "lag-exporter, redis-exporter, postgres-exporter, alert-receiver, alertmanager, prometheus; "
        "on the cluster topology kafka-1..3, redis-1..3, flink-jobmanager, flink-taskmanager-1..2, ...); "
        "all if none. What a component needs starts with it.",
    ),
) -> None:
    """Start the local stack (idempotent) and wait until each part is healthy."""
    from starlab.stack import manager

    t0 = time.monotonic()
    manager.up(get_settings(), component, progress=_progress)
    _print_status()
    console.print(f"[green]stack up[/green] in {time.monotonic() - t0:.1f}s")


@app.command(epilog="Example: starlab down")
def down(
    component: list[str] = typer.Argument(None, help="Components to stop; all if none."),
) -> None:
    """Stop the local stack, both topologies; no process of it is left running."""
    from starlab.stack import manager

    stopped = manager.down(get_settings(), component, progress=_progress)
    console.print(f"[green]stopped[/green] {', '.join(stopped) or 'nothing was running'}")


def _print_status() -> bool:
    from starlab.stack import manager

    table = Table(title="starlab stack")
    for col in ("component", "address", "health", "pid", "detail"):
        table.add_column(col)
    all_ok = True
    for h in manager.status(get_settings()):
        all_ok &= h.healthy
        mark = "[green]healthy[/green]" if h.healthy else "[red]down[/red]"
        table.add_row(h.name, h.address, mark, str(h.pid or ""), h.detail)
    console.print(table)
    return all_ok


@app.command(epilog="Example: starlab status")
def status() -> None:
    """Show each component, its address and its health (exit 1 if any is down)."""
    if not _print_status():
        raise typer.Exit(1)


class Sink(StrEnum):
    files = "files"
    kafka = "kafka"
    both = "both"


@app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab generate --events 10000                 # raw log + lake + manifest\n\n"
        "  starlab generate --events 200000 --sink kafka   # through the edge producer\n\n"
        "  starlab generate --late-rate 0.05 --seed 42"
    )
)
def generate(
    events: int = typer.Option(10_000, help="Unique valid events (duplicates/malformed on top)."),
    seed: int = typer.Option(7, help="Random seed: same seed, same data."),
    rate: float = typer.Option(5.0, help="Events per second of simulated event time."),
    users: int = typer.Option(2_000, help="Distinct users."),
    items: int = typer.Option(300, help="Distinct items."),
    duplicate_rate: float = typer.Option(0.02, help="Fraction of events re-sent by a client retry."),
    out_of_order_rate: float = typer.Option(0.05, help="Fraction 30 s-8 min behind (within lateness)."),
    late_rate: float = typer.Option(0.01, help="Fraction 15-40 min behind (beyond 10 min lateness)."),
    malformed_rate: float = typer.Option(0.005, help="Fraction of records that break the contract."),
    sink: Sink = typer.Option(Sink.files, help="files: raw log + lake; kafka: edge producer; both."),
    run: str = typer.Option("", help="Run name (folder under data/raw); default seed-events."),
) -> None:
    """Generate engagement events with known defects and a ground-truth manifest."""
    from starlab.events.files import write_dimensions
    from starlab.events.generator import Generator, GeneratorConfig
    from starlab.lake.events import generate_to_files

    settings = get_settings()
    cfg = GeneratorConfig(
        seed=seed,
        events=events,
        users=users,
        items=items,
        rate_per_s=rate,
        duplicate_rate=duplicate_rate,
        out_of_order_rate=out_of_order_rate,
        late_rate=late_rate,
        malformed_rate=malformed_rate,
    )
    run = run or f"seed{seed}-{events}"
    gen = Generator(cfg)
    t0 = time.monotonic()
    if sink in (Sink.files, Sink.both):
        run_dir = generate_to_files(gen, settings, run)
        console.print(
            f"wrote {run_dir}/events.jsonl, manifest.json, the lake's events table and dims "
            f"under {settings.lake_dir}"
        )
        raws = (line.rstrip(b"\n") for line in (run_dir / "events.jsonl").open("rb"))
    else:
        run_dir = settings.data_dir / "raw" / run
        raws = (e.raw for e in gen.emissions())
    if sink in (Sink.kafka, Sink.both):
        from prometheus_client import CollectorRegistry

        from starlab.events.producer import EdgeProducer, ProducerCollector
        from starlab.observability.targets import serve_metrics

        with EdgeProducer(settings) as producer:
            registry = CollectorRegistry()
            registry.register(ProducerCollector(producer))
            endpoint = serve_metrics(settings, "producer", registry=registry)  # Prometheus scrapes the run
            try:
                for n, raw in enumerate(raws, 1):
                    producer.send(raw)
                    if n % 50_000 == 0:
                        _progress(f"{n:,} records sent")
            finally:
                endpoint.close()
        stats = producer.stats
        gen.manifest.write(run_dir / "manifest.json")
        write_dimensions(gen.items, gen.users, settings.lake_dir)
        console.print(
            f"kafka: {stats.accepted:,} to {settings.events_topic}, {stats.dead_lettered:,} to "
            f"{settings.dlq_topic} {dict(stats.dlq_reasons)}, delivery failures {stats.delivery_failures}"
        )
        if stats.delivery_failures:
            raise StarlabError(
                f"{stats.delivery_failures} records failed delivery: {dict(stats.failure_errors)}"
            )
    summary = gen.manifest.summary()
    console.print(
        "generated "
        + ", ".join(f"{k} {v:,}" for k, v in summary.items())
        + f" in {time.monotonic() - t0:.1f}s; manifest {run_dir / 'manifest.json'}"
    )


def _demo_story_help() -> str:
    listed = "; ".join(f"{s.name} ({s.title})" for s in registered() if s.demo)
    return f"Which story to run: all, or one of the registered stories, in demo order: {listed}."


@app.command(
    epilog="Examples:\n\n  starlab demo\n\n  starlab demo stream --scale 2.5\n\n  starlab demo rankings"
    "\n\n  starlab demo stream --events 50000\n\n  starlab demo stream --topology cluster"
)
def demo(
    story: str = typer.Argument("all", help=_demo_story_help()),
    scale: float = typer.Option(
        1.0, "--scale", help="Size of the data: 1 is 20,000 unique events, 0.5 half that, 5 five times."
    ),
    events: int | None = typer.Option(
        None, help="Unique events the foundation and stream steps generate (overrides --scale)."
    ),
    topology: TopologyChoice = typer.Option(
        None, "--topology", help="Run on this topology (as `starlab --topology X demo`); claims record it."
    ),
) -> None:
    """Run every registered story end to end on generated data and write the evidence report.

    Shows a progress bar per story (elapsed against the last run's time) and ends
    with every claim beside its measurement and the time per story.
    """
    from starlab.cli.demo_view import RichDemoView, claims_table, timings_table
    from starlab.demo import events_for_scale, run_demo

    _use_topology(topology)
    view = RichDemoView(console)
    try:
        result = run_demo(get_settings(), story, events=events or events_for_scale(scale), observer=view)
    finally:
        view.close()
    console.print(claims_table(result))
    console.print(timings_table(result.runs, result.seconds))
    console.print(f"evidence report: {result.report.md_path}; open {result.report.html_path} in a browser")
    _print_star(result.report)
    if result.problems:
        raise StarlabError("demo failed: " + "; ".join(result.problems))


def _print_star(built: BuiltReport) -> None:
    """Where the STAR scripts are, and every figure they name that this run did not measure or meet."""
    if built.star_paths:
        console.print(f"STAR scripts ({len(built.star_paths)}): {built.star_paths[0].parent}/")
    for w in built.star_warnings:
        console.print(f"[yellow]STAR[/yellow] {w}")


@app.command(
    epilog="Examples:\n\n  starlab report\n\n"
    "  starlab report --compare 20261201T090000Z-ab12cd3 latest\n\n"
    "  starlab report --compare reports/old-run/evidence.json latest --noise 0.2\n\n"
    "  starlab report --screenshot docs/img/evidence-report.png"
)
def report(
    compare: tuple[str, str] | None = typer.Option(
        None,
        "--compare",
        metavar="RUN_A RUN_B",
        help="Compare two runs instead of rebuilding: each a run id (a folder under reports/), "
        "'latest', or a path to an evidence.json or run folder. Lists claims that flipped status, "
        "figures that moved beyond --noise, claims in one run only, and environment changes.",
    ),
    noise: float = typer.Option(
        0.10, min=0.0, help="With --compare: relative change a figure may move and still be noise."
    ),
    screenshot: Path | None = typer.Option(
        None,
        help="After rebuilding, open evidence.html in headless Chromium, check it fetched nothing "
        "from the network, and save a PNG of its first screen here.",
    ),
    screenshot_height: int = typer.Option(1600, min=300, help="Height of the --screenshot in pixels."),
) -> None:
    """Rebuild reports/latest/evidence.{json,md,html} from the recorded claims and keep a copy as
    reports/<run-id>/; or, with --compare, show what changed between two runs (exit 0 even if
    claims flipped: it is a report, not a gate)."""
    from rich.markup import escape

    from starlab.evidence import build_report, compare_runs, load_run
    from starlab.evidence.compare import outcome_text, summary_line

    reports_dir = get_settings().reports_dir
    if compare is None:
        from starlab.demo import star_scripts

        built = build_report(reports_dir, star_scripts=star_scripts())
        console.print(
            f"wrote {built.json_path.parent}/evidence.{{json,md,html}} and kept run {built.run_id} "
            f"as {built.run_dir}: " + ", ".join(f"{n} {status}" for status, n in built.counts.items())
        )
        _print_star(built)
        if screenshot is not None:
            from starlab.evidence.browser import open_in_browser
            from starlab.stack import prereqs

            chromium = prereqs.debian_binary("chromium", "chromium")  # installed when missing and root
            view = open_in_browser(
                built.html_path,
                screenshot=screenshot,
                height=screenshot_height,
                full_page=False,
                chromium=chromium,
            )
            if view.remote_requests:
                raise StarlabError(f"evidence.html fetched from the network: {view.remote_requests}")
            console.print(
                f"screenshot {screenshot}: {len(view.rows)} claim rows, {len(view.images)} plots, "
                "nothing fetched from the network"
            )
        return
    # A bad ref raises EvidenceError: main() prints it as one line and exits 2.
    run_a, run_b = (load_run(ref, reports_dir) for ref in compare)
    c = compare_runs(run_a, run_b, noise=noise)
    console.print(f"[bold]A[/bold] {escape(c.a.run_id)}  \u2192  [bold]B[/bold] {escape(c.b.run_id)}")
    console.print(summary_line(c))
    for title, rows, with_change in (("flipped", c.flipped, False), ("moved beyond noise", c.moved, True)):
        if not rows:
            continue
        table = Table(title=title)
        for col in ("story", "claim", "A", "B", *(["change"] if with_change else [])):
            table.add_column(col)
        for x in rows:
            cells = [
                escape(x.story),
                escape(x.claim),
                escape(outcome_text(x.status_a, x.measured_a, x.unit)),
                escape(outcome_text(x.status_b, x.measured_b, x.unit)),
            ]
            table.add_row(*cells, *([x.change_text()] if with_change else []))
        console.print(table)
    for title, claims in (("only in A", c.only_in_a), ("only in B", c.only_in_b)):
        for claim in claims:
            console.print(f"{title}: {escape(claim.story)}: {escape(claim.claim)} ({claim.status})")
    if c.differences:
        table = Table(title="environment and params")
        for col in ("field", "A", "B"):
            table.add_column(col)
        for d in c.differences:
            table.add_row(escape(d.field), escape(d.a or "\u2014"), escape(d.b or "\u2014"))
        console.print(table)


def main() -> None:
    """Entry point: user errors are one line on stderr, never a traceback."""
    # Click handles usage errors and exits itself; our own errors arrive here.
    try:
        app()
    except StarlabError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
