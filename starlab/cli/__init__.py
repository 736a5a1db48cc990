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

import typer
from rich.console import Console
from rich.table import Table

from starlab.cli import observe
from starlab.cli.lake import app as lake_app
from starlab.errors import StarlabError
from starlab.settings import get_settings
from starlab.story import registered

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
    epilog="Examples:\n\n  starlab demo\n\n  starlab demo stream --events 50000\n\n  starlab demo rankings"
    "\n\n  starlab demo stream --topology cluster"
)
def demo(
    story: str = typer.Argument("all", help=_demo_story_help()),
    events: int = typer.Option(20_000, help="Unique events the foundation and stream steps generate."),
    topology: TopologyChoice = typer.Option(
        None, "--topology", help="Run on this topology (as `starlab --topology X demo`); claims record it."
    ),
) -> None:
    """Run every registered story end to end on generated data and write the evidence report."""
    from starlab.demo import run_demo

    _use_topology(topology)

    run_demo(get_settings(), story, events=events, progress=_progress)


@app.command(epilog="Example: starlab report")
def report() -> None:
    """Rebuild reports/latest/evidence.{json,md,html} from the recorded claims."""
    from starlab.evidence import build_report

    paths = build_report(get_settings().reports_dir)
    console.print(f"wrote {paths}")


def main() -> None:
    """Entry point: user errors are one line on stderr, never a traceback."""
    # Click handles usage errors and exits itself; our own errors arrive here.
    try:
        app()
    except StarlabError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
