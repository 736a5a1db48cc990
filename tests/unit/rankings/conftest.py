"""Fixtures of the rankings unit tests: built tables as DataFrames, a fake dbt, an in-memory cache.

No process is started: dbt is replaced by a function that writes the table
a build would produce into a DuckDB file (DuckDB is in-process), and Redis by
`FakeCache`, which keeps the same compare-and-set contract as the Lua script.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from rankings.errors import FlipRefused, RankingsError
from rankings.serving.cache import WarmResult
from rankings.settings import RankingsSettings
from starlab.dbt import DbtRun, NodeResult
from starlab.settings import Settings

CATEGORIES = ("news", "sports", "music")
SERVED = date(2026, 3, 10)


def rankings_frame(items: int = 60, dates: int = 3, served: date = SERVED) -> pd.DataFrame:
    """A well-formed rankings table: `items` items on each of `dates` days ending on `served`."""
    rows = []
    ingested = datetime(2026, 3, 10, 23, 30)
    for d in range(dates):
        day = served - timedelta(days=dates - 1 - d)
        scored = sorted(((0.2 - i * 0.001, f"i{i:05d}") for i in range(items)), reverse=True)
        per_cat: dict[str, int] = {}
        for rank, (score, item) in enumerate(scored, 1):
            cat = CATEGORIES[int(item[1:]) % len(CATEGORIES)]
            per_cat[cat] = per_cat.get(cat, 0) + 1
            rows.append(
                {
                    "ranking_date": day,
                    "item_id": item,
                    "category": cat,
                    "rank_overall": rank,
                    "rank_in_category": per_cat[cat],
                    "score": score,
                    "smoothed_ctr": score * 2,
                    "prior_ctr": 0.1,
                    "recency_hours": 12.0,
                    "decay_factor": 0.5,
                    "impressions": 100,
                    "clicks": 10,
                    "likes": 3,
                    "shares": 1,
                    "last_event_at": datetime(day.year, day.month, day.day, 12),
                    "as_of_at": datetime(day.year, day.month, day.day) + timedelta(days=1),
                    "source_max_ingested_at": ingested,
                    "dbt_invocation_id": "test",
                }
            )
    return pd.DataFrame(rows)


def write_build(warehouse: Path, color: str, frame: pd.DataFrame, items: int = 60) -> None:
    """What a successful `dbt build` leaves behind: the color's table and the item dimension."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists staging")
        con.register("frame", frame)
        con.execute(f"create or replace table marts.rankings_{color} as select * from frame")
        con.execute(
            "create or replace table staging.stg_items as "
            f"select 'i' || lpad(cast(n as varchar), 5, '0') as item_id from range({items}) t(n)"
        )


def dbt_result(
    ok: bool = True, failing_test: str = "relationships_rankings_item_id", rows: int = 3
) -> DbtRun:
    nodes = [
        NodeResult("model.starlab.int_item_engagement_daily", "success", 0.4, None, None),
        NodeResult("model.starlab.rankings", "success", 0.2, None, None),
        NodeResult("test.starlab.not_null_rankings_item_id.abc", "pass", 0.01, 0, None),
    ]
    if not ok:
        nodes.append(
            NodeResult(f"test.starlab.{failing_test}.def", "fail", 0.01, rows, f"Got {rows} results")
        )
    return DbtRun(args=["dbt", "build"], returncode=0 if ok else 1, wall_s=1.0, output="", nodes=nodes)


@dataclass
class FakeDbt:
    """Replaces the publisher's `run_dbt`: each call writes the next queued frame as the build."""

    warehouse: Path
    queue: list[tuple[pd.DataFrame | None, DbtRun]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def push(self, frame: pd.DataFrame | None, run: DbtRun | None = None) -> None:
        self.queue.append((frame, run or dbt_result()))

    def __call__(self, command: list[str], settings: Settings, **kw: Any) -> DbtRun:
        self.calls.append({"command": command, **kw})
        frame, run = self.queue.pop(0)
        if frame is not None:
            write_build(self.warehouse, kw["variables"]["target_color"], frame)
        return run


class FakeCache:
    """In-memory stand-in for `RankingsCache` with the same pointer compare-and-set contract."""

    def __init__(self) -> None:
        self.versions: dict[str, dict[str, Any]] = {}
        self.ttl: dict[str, int] = {}
        self.pointer: str | None = None
        self.moves: list[tuple[str | None, str]] = []

    def warm(self, build_id: str, payload: dict[str, Any], ttl_s: int) -> WarmResult:
        self.versions[build_id] = payload
        self.ttl[build_id] = ttl_s
        items = sum(len(v) for v in payload["lists"].values())
        return WarmResult(build_id, len(payload["lists"]), items, 0.0)

    def move_pointer(self, expected: str | None, new: str, replaced_ttl_s: int) -> str | None:
        if self.pointer != expected:
            if self.pointer == new:
                return None
            raise FlipRefused(f"pointer is {self.pointer}, expected {expected}")
        if new not in self.versions:
            raise RankingsError(f"{new} not warm")
        old, self.pointer = self.pointer, new
        self.ttl[new] = -1
        if old and old != new:  # as MOVE_LUA: re-pointing to the same build expires nothing
            self.ttl[old] = replaced_ttl_s
        self.moves.append((old, new))
        return old

    def live_build(self) -> str | None:
        return self.pointer

    def has_version(self, build_id: str) -> bool:
        return build_id in self.versions

    def version_ttl_s(self, build_id: str) -> int:
        return self.ttl.get(build_id, -2)


@dataclass
class Env:
    settings: Settings
    cfg: RankingsSettings
    dbt: FakeDbt
    cache: FakeCache
    make_publisher: Callable[..., Any]
    served: date = SERVED

    # helpers as methods: with --import-mode=importlib a test cannot import conftest
    def frame(self, **kw: Any) -> pd.DataFrame:
        return rankings_frame(**kw)

    def dbt_result(self, **kw: Any) -> DbtRun:
        return dbt_result(**kw)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    from rankings.publish import publisher as publish

    settings = Settings(data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", home=tmp_path / "home")
    cfg = RankingsSettings(key_prefix="unit")
    fake_dbt = FakeDbt(settings.warehouse_path)
    monkeypatch.setattr(publish, "run_dbt", fake_dbt)
    cache = FakeCache()

    def make_publisher(owner: str | None = None) -> publish.Publisher:
        return publish.Publisher(settings, cfg, owner=owner, cache=cache)  # type: ignore[arg-type]

    return Env(settings, cfg, fake_dbt, cache, make_publisher)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)
