"""`starlab features precompute ...`: run, materialize and measure the streaming precompute.

Backs the "command that reproduces it" of story 004's streaming
materialization claims (feature freshness, event -> Redis latency,
materializer throughput). The lead mounts the group with
`app.add_typer(precompute_app, name="precompute")`; this module does not
create the `features` group.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict

import typer
from rich.console import Console

from starlab.settings import get_settings

__all__ = ["precompute_app"]

console = Console()
precompute_app = typer.Typer(
    help="Story 004: Flink SQL precomputes per-user features; a materializer fills Redis and the history.",
    no_args_is_help=True,
)


@precompute_app.command(epilog="Example: starlab features precompute sql")
def sql() -> None:
    """Print the feature job's Flink SQL, rendered with the current settings."""
    from feature_cache.precompute.job import FeatureJob
    from feature_cache.precompute.settings import get_precompute_settings

    text = FeatureJob(get_settings(), get_precompute_settings()).rendered_sql().text()
    console.print(text, highlight=False, markup=False)


@precompute_app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab features precompute run                 # until Ctrl-C\n\n"
        "  starlab features precompute run --seconds 120   # job and materializer for 2 minutes"
    )
)
def run(
    seconds: float = typer.Option(0, min=0, help="Stop after this many seconds; 0 runs until Ctrl-C."),
) -> None:
    """Run the feature job on the events topic and materialize its output into Redis and the history."""
    from prometheus_client import CollectorRegistry

    from feature_cache.precompute.job import FeatureJob
    from feature_cache.precompute.materializer import Materializer, MaterializerCollector
    from feature_cache.precompute.settings import get_precompute_settings
    from starlab.observability.targets import serve_metrics

    settings, cfg = get_settings(), get_precompute_settings()
    job = FeatureJob(settings, cfg)
    stop = threading.Event()
    try:
        job.start()
        job.wait_ready()
        console.print(f"feature job running; materializing {cfg.topic} into Redis ({cfg.key_prefix}:*)")
        if seconds:
            threading.Timer(seconds, stop.set).start()
        with Materializer(settings, cfg) as m:
            registry = CollectorRegistry()
            registry.register(MaterializerCollector(m))
            endpoint = serve_metrics(settings, "materializer", registry=registry)
            try:
                stats = m.run(stop=stop)
            finally:
                endpoint.close()
    except KeyboardInterrupt:
        stop.set()
        return
    finally:
        job.stop()
    console.print_json(json.dumps(asdict(stats) | {"records_per_s": round(stats.records_per_s, 1)}))


@precompute_app.command(
    epilog=(
        "Examples:\n\n"
        "  starlab features precompute measure\n\n"
        "  starlab features precompute measure --seconds 120 --rate 300 --no-drain"
    )
)
def measure(
    seconds: float = typer.Option(60.0, min=5, help="Real-time length of the live event stream."),
    rate: float = typer.Option(200.0, min=1, help="Events per second (sized for 2 shared cores)."),
    users: int = typer.Option(300, min=1, help="Distinct users in the stream."),
    drain: bool = typer.Option(True, "--drain/--no-drain", help="Re-materialize the topic for throughput."),
) -> None:
    """Live run on topics of its own: freshness, event -> Redis latency, materializer throughput."""
    from feature_cache.precompute.measure import MeasureOptions, measure_precompute
    from feature_cache.precompute.settings import get_precompute_settings

    result = measure_precompute(
        get_settings(),
        get_precompute_settings(),
        MeasureOptions(seconds=seconds, rate_per_s=rate, users=users, drain=drain),
        progress=lambda m: console.print(f"[dim]· {m}[/dim]"),
    )
    console.print_json(json.dumps(asdict(result), default=str))
