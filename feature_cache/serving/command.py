"""`starlab features serve`: run the feature-serving app (design A or B) in the foreground.

Backs the 004 story's serving claims as something a person can curl: the
same factory the benches start (`feature_cache.serving.app:create_app`),
under uvicorn, with the design and the dependencies chosen on the command
line. `--with-deps` also starts the four simulated dependencies on free
loopback ports (the story's social graph, embeddings, geo and abuse) and
points the app at them; otherwise pass real ones with `--deps-url`.
Options become `STARLAB_FEATURES_*` variables for the factory, which reads
them when uvicorn builds the app (never at import). `register(app)` adds the
command to the `features` group.
"""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from enum import StrEnum

import typer

__all__ = ["SERVE_EPILOG", "DesignChoice", "register", "serve"]


class DesignChoice(StrEnum):
    """`settings.Design`'s values as a CLI choice (the settings load pydantic-settings)."""

    A = "A"
    B = "B"


SERVE_EPILOG = (
    "Examples:\n\n"
    "  starlab features serve --with-deps                 # design B on :8010, simulated dependencies\n\n"
    "  starlab features serve --design A --with-deps --port 8011\n\n"
    "  starlab features serve --deps-url embeddings=http://10.0.0.5:9000 --key-prefix fc\n\n"
    "  curl -s 'localhost:8010/features/u0000042?type=digest' | jq .groups\n\n"
    "  curl -s localhost:8010/admin/state | jq .counters"
)


def _parse_urls(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise typer.BadParameter(f"{item!r}: expected NAME=http://host:port", param_hint="--deps-url")
        out[name.strip()] = url.strip()
    return out


def serve(
    design: DesignChoice = typer.Option(
        DesignChoice.B, "--design", help="A: fan-out to four services; B: Redis first."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Bind address."),
    port: int = typer.Option(
        8010, "--port", min=1, max=65535, help="Port (the shared stack's API has 8000)."
    ),
    with_deps: bool = typer.Option(False, "--with-deps", help="Start the four simulated dependencies too."),
    deps_url: list[str] = typer.Option([], "--deps-url", help="NAME=URL of a dependency (repeat)."),
    key_prefix: str | None = typer.Option(None, "--key-prefix", help="Redis key prefix (default fc)."),
    redis_url: str | None = typer.Option(None, "--redis-url", help="Redis URL (default: the stack's)."),
    scoring: bool = typer.Option(
        True, "--scoring/--no-scoring", help="Add the story's 120 ms scoring stage."
    ),
) -> None:
    """Serve GET /features/{user_id} with design A or B (OpenAPI at /docs, operations at /admin/state)."""
    import uvicorn

    urls = _parse_urls(deps_url)
    with ExitStack() as stack:
        if with_deps:
            from feature_cache.deps.fleet import DependencyFleet
            from feature_cache.settings import FeatureCacheSettings

            # No injected failures: this is for trying the API by hand.
            fleet = stack.enter_context(
                DependencyFleet(FeatureCacheSettings().fleet_config(failure_rate=0.0))
            )
            urls = {n.value: e.base_url for n, e in fleet.endpoints.items()} | urls
            typer.echo(f"dependencies: {json.dumps(urls)}", err=True)
        os.environ["STARLAB_FEATURES_DESIGN"] = design.value
        os.environ["STARLAB_FEATURES_SCORING"] = "true" if scoring else "false"
        if urls:
            os.environ["STARLAB_FEATURES_DEPS_URLS"] = json.dumps(urls)
        if key_prefix:
            os.environ["STARLAB_FEATURES_KEY_PREFIX"] = key_prefix
        if redis_url:
            os.environ["STARLAB_FEATURES_REDIS_URL"] = redis_url
        uvicorn.run(
            "feature_cache.serving.app:create_app", factory=True, host=host, port=port, log_level="info"
        )


def register(app: typer.Typer) -> None:
    """Add `serve` to a Typer group (the `features` group) with its examples."""
    app.command(name="serve", epilog=SERVE_EPILOG)(serve)
