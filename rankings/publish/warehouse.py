"""Reads of the built tables for the gate and the cache, and the `marts.rankings_live` view.

Backs story 2's DQ gate (the Great Expectations suite validates DataFrames
read here) and the warm cache (the top-N payload is read here once, right
after the gate, so neither the flip, the warm-up, a rollback nor the API ever
needs the warehouse again).

DuckDB allows one writing process per file, and a reader in another process
cannot open the file while a writer holds it. Every function here opens the
file for the shortest possible time, and lock conflicts surface as
`RankingsTransientError` so callers (Airflow retries, the CLI) can wait.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from rankings.errors import RankingsError, RankingsTransientError
from rankings.publish.state import Color
from starlab.lake.events import events_sql
from starlab.settings import Settings

if TYPE_CHECKING:
    from rankings.serving.cache import CachePayload

ITEM_FIELDS = (
    "item_id",
    "category",
    "rank_overall",
    "rank_in_category",
    "score",
    "smoothed_ctr",
    "recency_hours",
    "impressions",
    "clicks",
)
"""What one ranked item carries in the cache and the API response."""


@dataclass(frozen=True)
class LakeStats:
    """The inputs check's view of the lake, read without the warehouse's lock."""

    parts: int
    """Data files of the events table's current snapshot."""
    max_ingested_at: datetime | None
    rows_on_date: int
    items: int


@contextmanager
def connect(warehouse: Path, *, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection; a held lock becomes a transient (retryable) error."""
    if read_only and not warehouse.exists():
        raise RankingsError(f"the warehouse {warehouse} does not exist yet: run a build first")
    try:
        con = duckdb.connect(str(warehouse), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise RankingsTransientError(
                f"the warehouse {warehouse} is locked by another process (a dbt build?): {exc}"
            ) from None
        raise
    try:
        con.execute("set TimeZone = 'UTC'")
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, color: Color) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
        [f"rankings_{color.value}"],
    ).fetchone()
    return bool(row and row[0])


@dataclass
class BuiltTable:
    """What the gate and the cache need from one color's table."""

    color: Color
    frame: pd.DataFrame
    """The whole table, plus `is_served_date` and `_key` (ranking_date|item_id) for the gate."""
    served_date: date | None
    item_ids: list[str]
    max_ingested_at: datetime | None

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def served_rows(self) -> int:
        return int(self.frame["is_served_date"].sum()) if len(self.frame) else 0


def load_built_table(warehouse: Path, color: Color, as_of_date: date | None = None) -> BuiltTable:
    """Read a color's table (small: items x ranking dates) and the item dimension's keys."""
    with connect(warehouse) as con:
        if not table_exists(con, color):
            raise RankingsError(f"{color.table} does not exist in {warehouse}")
        frame = con.execute(f"select * from {color.table}").df()
        items = [r[0] for r in con.execute("select item_id from staging.stg_items").fetchall()]
    if len(frame):
        frame["ranking_date"] = pd.to_datetime(frame["ranking_date"]).dt.date
        served = as_of_date or max(frame["ranking_date"])
        newest = pd.to_datetime(frame["source_max_ingested_at"]).max()
        max_ingested = None if pd.isna(newest) else newest.to_pydatetime().replace(tzinfo=UTC)
    else:
        served, max_ingested = None, None
    frame["is_served_date"] = frame["ranking_date"] == served if len(frame) else pd.Series(dtype=bool)
    frame["_key"] = frame["ranking_date"].astype(str) + "|" + frame["item_id"].astype(str)
    return BuiltTable(color, frame, served, items, max_ingested)


def _item_json(row: dict[str, Any]) -> str:
    out: dict[str, Any] = {}
    for name in ITEM_FIELDS:
        value = row[name]
        if isinstance(value, float):
            value = round(value, 9)  # stable text across runs; well below any score gap that matters
        elif hasattr(value, "item"):
            value = value.item()  # numpy scalar -> Python
        out[name] = value
    return json.dumps(out, separators=(",", ":"), allow_nan=False)


def cache_payload(table: BuiltTable, top_n: int) -> CachePayload:
    """Top-N of the served date, overall and per category, each item as pre-serialized JSON.

    Serialized once here so the API concatenates bytes instead of encoding
    JSON on every request (the constant-endpoint comparison of item 6).
    """
    if table.served_date is None:
        raise RankingsError(f"{table.color.table} is empty: nothing to serve")
    day = table.frame[table.frame["is_served_date"]]
    lists: dict[str, list[str]] = {
        "overall": [_item_json(r) for r in day.nsmallest(top_n, "rank_overall").to_dict("records")]
    }
    for category, group in sorted(day.groupby("category", dropna=True), key=lambda kv: str(kv[0])):
        lists[f"cat:{category}"] = [
            _item_json(r) for r in group.nsmallest(top_n, "rank_in_category").to_dict("records")
        ]
    return {
        "ranking_date": table.served_date.isoformat(),
        "categories": sorted(k.removeprefix("cat:") for k in lists if k.startswith("cat:")),
        "lists": lists,
    }


def sync_live_view(warehouse: Path, color: Color) -> None:
    """Point `marts.rankings_live` (what dashboards read) at `color`'s table.

    Needs the write lock; callers treat a lock conflict as "view not synced
    yet" (the API is unaffected, it reads Redis) and the next publish or
    rollback re-syncs it from the flag.
    """
    with connect(warehouse, read_only=False) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace view marts.rankings_live as select * from {color.table}")


def live_view_color(warehouse: Path) -> Color | None:
    """Which table `marts.rankings_live` reads, from the view's SQL; None if absent."""
    with connect(warehouse) as con:
        row = con.execute(
            "select sql from duckdb_views() where schema_name = 'marts' and view_name = 'rankings_live'"
        ).fetchone()
    if not row:
        return None
    for color in Color:
        if f"rankings_{color.value}" in row[0]:
            return color
    return None


def lake_stats(settings: Settings, event_date: date | None = None) -> LakeStats:
    """Inputs check without the warehouse: newest ingest, rows of a date, item dimension size.

    Reads the events table's current snapshot (its data files) with an
    in-memory DuckDB, so it neither needs nor blocks the warehouse's write lock.
    """
    items = settings.lake_dir / "dims" / "items.parquet"
    sql, state = events_sql(settings)
    if not state.files:
        return LakeStats(parts=0, max_ingested_at=None, rows_on_date=0, items=0)
    parts = state.files
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        newest = con.execute(f"select max(ingest_ts) from ({sql})").fetchone()
        rows_on_date = 0
        if event_date is not None:
            res = con.execute(f"select count(*) from ({sql}) where event_date = ?", [event_date]).fetchone()
            rows_on_date = int(res[0]) if res else 0
        n_items = 0
        if items.exists():
            res = con.execute(f"select count(*) from read_parquet('{items}')").fetchone()
            n_items = int(res[0]) if res else 0
    finally:
        con.close()
    newest_ts = newest[0] if newest else None
    return LakeStats(
        parts=len(parts),
        max_ingested_at=newest_ts.replace(tzinfo=UTC) if newest_ts is not None else None,
        rows_on_date=rows_on_date,
        items=n_items,
    )


__all__ = [
    "ITEM_FIELDS",
    "BuiltTable",
    "LakeStats",
    "cache_payload",
    "connect",
    "lake_stats",
    "live_view_color",
    "load_built_table",
    "sync_live_view",
    "table_exists",
]
