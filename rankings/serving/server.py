"""Start the ranking API in its own process, configured through the `STARLAB_*` environment.

A deployment sets the same variables; the bench and the tests use this so
the server, the load and the publisher are three processes, as in production.
"""

from __future__ import annotations

from pathlib import Path

from rankings.settings import RankingsSettings
from starlab.serving.process import AppServer
from starlab.settings import Settings

API_FACTORY = "rankings.serving.api:create_app"
BENCH_FACTORY = "rankings.bench.app:create_bench_app"


def api_server(
    settings: Settings,
    cfg: RankingsSettings,
    *,
    port: int | None = None,
    factory: str = API_FACTORY,
    log_path: Path | None = None,
) -> AppServer:
    """An `AppServer` for the ranking API (not started: use it as a context manager)."""
    env = {
        "STARLAB_REDIS_URL": settings.redis_url,
        "STARLAB_RANKINGS_KEY_PREFIX": cfg.key_prefix,
        "STARLAB_RANKINGS_TOP_N": str(cfg.top_n),
        "STARLAB_RANKINGS_DEFAULT_LIMIT": str(cfg.default_limit),
    }
    return AppServer(
        factory,
        host=settings.api_host,
        port=port if port is not None else settings.api_port,
        env=env,
        log_path=log_path,
        metrics_job="rankings-api",
    )


__all__ = ["API_FACTORY", "BENCH_FACTORY", "api_server"]
