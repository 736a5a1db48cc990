"""Fixtures of the DAG tests of story 2: the real Redis of the stack, isolated per module.

Each module gets its own data dir (lake + DuckDB warehouse + flag) and its
own Redis key prefix, so tests never touch the demo's keys on the shared
Redis, and removes its keys at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from rankings.config import RankingsSettings
from starlab.settings import Settings


@dataclass
class RankingsEnv:
    settings: Settings
    cfg: RankingsSettings
    root: Path


@pytest.fixture(scope="module")
def rk(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RankingsEnv]:
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
