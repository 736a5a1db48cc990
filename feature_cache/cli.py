"""`starlab features ...`: story 4's and the 004 fan-out story's commands.

Each command lives with the code it runs (`tco/`, `offline/`, ...) and is
registered here, so this module stays the one place that lists them.
"""

from __future__ import annotations

import typer

from feature_cache.bench.command import register as register_bench
from feature_cache.offline.command import register as register_pit
from feature_cache.precompute.command import precompute_app
from feature_cache.serving.command import register as register_serve
from feature_cache.tco.command import register as register_tco

app = typer.Typer(
    help="Story 4 + 004: streaming precompute into a Redis feature cache, fan-out vs cache, PIT, TCO.",
    no_args_is_help=True,
)
register_tco(app)
register_pit(app)
register_serve(app)
register_bench(app)
app.add_typer(precompute_app, name="precompute", help="The Flink SQL feature job and the Redis materializer.")

__all__ = ["app"]
