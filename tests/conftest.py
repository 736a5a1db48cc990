"""Shared fixtures: settings isolated per test, and the real stack for integration tests.

Integration tests never mock the stack: the `stack` fixture uses the running
local stack (`make test` starts it) and starts it itself when it is not up,
stopping it again at the end of the session in that case.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from starlab.settings import Settings, get_settings

if TYPE_CHECKING:  # the story is imported only by the tests that use it
    from rankings.settings import RankingsSettings


@contextmanager
def _running(settings: Settings, wanted: list[str]) -> Iterator[Settings]:
    """Start what of `wanted` is not up, and stop only that again at the end."""
    from starlab.stack import manager

    health = {h.name: h for h in manager.status(settings)}
    missing = [n for n in wanted if not health[n].healthy]
    if missing:
        manager.up(settings, missing, progress=lambda m: None)
    yield settings
    if missing:
        manager.down(settings, missing, progress=lambda m: None)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    with _running(get_settings(), ["kafka", "schema-registry", "redis"]) as settings:
        yield settings


@pytest.fixture(scope="session")
def observed(stack: Settings) -> Iterator[Settings]:
    """The stack plus what watches it: Prometheus, Alertmanager, the receiver, the lag exporter."""
    with _running(stack, ["lag-exporter", "alert-receiver", "alertmanager", "prometheus"]) as settings:
        yield settings


@pytest.fixture
def isolated(stack: Settings) -> Settings:
    """Stack settings with topic names unique to this test."""
    tag = uuid.uuid4().hex[:8]
    return stack.model_copy(
        update={
            "events_topic": f"t{tag}.events",
            "dlq_topic": f"t{tag}.events.dlq",
            "late_topic": f"t{tag}.events.late",
            "metrics_topic": f"t{tag}.metrics",
        }
    )


# --- story 2 (integration and DAG tests) ---------------------------------
# Each module gets its own data dir (lake + DuckDB warehouse + flag) and its
# own Redis key prefix, so tests never touch the demo's keys on the shared
# Redis, and its keys are removed at the end.


@dataclass
class RankingsEnv:
    settings: Settings
    cfg: RankingsSettings
    root: Path


@pytest.fixture(scope="module")
def rk(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RankingsEnv]:
    from rankings.settings import RankingsSettings

    root = tmp_path_factory.mktemp("rankings")
    # duckdb_path=None: the warehouse follows the temp data dir even if STARLAB_DUCKDB_PATH is set
    settings = stack.model_copy(
        update={"data_dir": root / "data", "reports_dir": root / "reports", "duckdb_path": None}
    )
    prefix = f"t{uuid.uuid4().hex[:8]}:rankings"
    yield RankingsEnv(settings, RankingsSettings(key_prefix=prefix), root)
    client = redis.Redis.from_url(stack.redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
