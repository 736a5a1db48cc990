"""Input data for story 2's measurements: recent generated history, and 10M+ events fast.

Backs the freshness claim ("65-90 minutes", < 2 h) and item 6's cost ratio at
>= 10 million events:

- `generate_recent`: the kernel's seeded generator (duplicates, late and
  out-of-order events, malformed records dropped as the edge would), shifted so
  the newest ingest time is `end` (default: now). The generator's default
  start is 2026-01-01, which would make "now - newest ingest" meaningless.
  About 100k events/s, fine up to a few million.
- `synthesize_lake`: 10M events in seconds, written by DuckDB as Parquet in
  the events table's schema (naive UTC timestamps, `event_date` inside each
  file), then committed to the Iceberg table as they are (`add_data_files`,
  one snapshot, no rewrite), with ~2% retried copies (same event_id, later
  ingest) and ~1% late events (15-40 min). It trades the generator's
  per-event realism (sessions, platform habits) for speed; the dbt models
  read only the columns it fills the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from starlab.events.files import write_dimensions
from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.model import Event
from starlab.lake.events import add_data_files, bulk_dir, events_sql, write_lake_events
from starlab.settings import Settings

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Generated:
    rows: int
    unique_events: int
    first_event_at: datetime
    newest_ingest_at: datetime
    part: str


def generate_recent(
    settings: Settings,
    events: int,
    *,
    days: float = 14.0,
    end: datetime | None = None,
    seed: int = 7,
    items: int = 300,
    part: str = "recent",
    write_dims: bool = True,
) -> Generated:
    """Generate `events` unique events spread over `days` whose newest ingest is `end`.

    Event ids get `part` as a prefix (`<part>:e7-000000001`): the demo's
    stream writes the same generator's ids (`e7-...`) into the same lake, and
    staging's `unique(event_id)` test would see one id on two dates. The seed
    stays the project's default (7), so items, their categories and their
    latent quality (what `rankings.bench.deferral` measures against) are the same
    as in the dimension the stream's run wrote; `write_dims=False` keeps it.
    """
    end = end or datetime.now(UTC)
    span_ms = int(days * DAY_MS)
    cfg = GeneratorConfig(
        seed=seed,
        events=events,
        items=items,
        start_ms=int(end.timestamp() * 1000) - span_ms,
        rate_per_s=events / (span_ms / 1000),
    )
    gen = Generator(cfg)
    valid = [e.event for e in gen.emissions() if e.event is not None]
    # Retries and malformed records stretch the emission clock by a few
    # percent: shift everything so the newest ingest lands exactly on `end`.
    shift = int(end.timestamp() * 1000) - max(e.ingest_ts for e in valid)
    shifted = [
        Event(
            **{
                **e.to_record(),
                "event_id": f"{part}:{e.event_id}",
                "event_ts": e.event_ts + shift,
                "ingest_ts": e.ingest_ts + shift,
            }
        )
        for e in valid
    ]
    rows = write_lake_events(shifted, settings, batch_id=part)
    lake_dir = settings.lake_dir
    if write_dims or not (lake_dir / "dims" / "items.parquet").exists():
        write_dimensions(gen.items, gen.users, lake_dir)
    return Generated(
        rows=rows,
        unique_events=len(gen.manifest.unique_ids),
        first_event_at=datetime.fromtimestamp(min(e.event_ts for e in shifted) / 1000, UTC),
        newest_ingest_at=datetime.fromtimestamp(max(e.ingest_ts for e in shifted) / 1000, UTC),
        part=part,
    )


CATEGORIES = ("news", "sports", "music", "gaming", "food", "travel", "tech", "fashion")


def write_synth_dimensions(lake_dir: Path, items: int, users: int, con: duckdb.DuckDBPyConnection) -> None:
    dims = lake_dir / "dims"
    dims.mkdir(parents=True, exist_ok=True)
    cats = "[" + ", ".join(f"'{c}'" for c in CATEGORIES) + "]"
    con.execute(
        f"""copy (
            select 'i' || lpad(cast(n as varchar), 5, '0') as item_id,
                   {cats}[cast(1 + (hash(n * 7919) % {len(CATEGORIES)}) as bigint)] as category,
                   timestamptz '2025-01-01 00:00:00+00' as created_at
            from range({items}) t(n)
        ) to '{dims / "items.parquet"}' (format parquet)"""
    )
    con.execute(
        f"""copy (
            select 'u' || lpad(cast(n as varchar), 6, '0') as user_id,
                   'US' as country,
                   timestamptz '2024-01-01 00:00:00+00' as signup_at,
                   ['ios', 'android', 'web'][cast(1 + (n % 3) as bigint)] as home_platform
            from range({users}) t(n)
        ) to '{dims / "users.parquet"}' (format parquet)"""
    )


def synthesize_lake(
    settings: Settings,
    events: int,
    *,
    start: date,
    days: int,
    tag: str,
    items: int = 5_000,
    users: int = 200_000,
    ingest_after: datetime | None = None,
    seed: float = 0.42,
    write_dims: bool = True,
) -> int:
    """Write `events` unique events over `days` days from `start` (+2% retried copies); returns rows.

    Event times are spread evenly over the days; ingest time is event time
    plus 0-3 s, or 15-40 min for 1% (late beyond the 10-minute lateness).
    `ingest_after` lifts every ingest time above it, like a new day landing
    after the history was built. Items follow a power law (hot head, long
    tail) and each item has a latent click propensity.
    """
    lake_dir = settings.lake_dir
    events_dir = bulk_dir(settings, tag)
    start_ms = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp() * 1000)
    span_ms = days * DAY_MS
    floor_ms = int(ingest_after.timestamp() * 1000) if ingest_after else 0
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        con.execute(f"select setseed({seed})")
        if write_dims:
            write_synth_dimensions(lake_dir, items, users, con)
        con.execute(
            f"""
            create temp table ev as
            with base as (
                select
                    n,
                    {start_ms} + cast(n * ({span_ms} / {events}::double) as bigint) as event_ms,
                    cast(floor(pow(random(), 2.2) * {items}) as integer) as item_no,
                    cast(floor(pow(random(), 1.6) * {users}) as integer) as user_no,
                    random() as r_type,
                    random() as r_delay,
                    random() as r_late
                from range({events}) t(n)
            ),
            typed as (
                select
                    *,
                    0.5 + cast(hash(item_no) % 1000 as integer) / 1000.0 as quality,
                    case when r_late < 0.01 then 900000 + cast(r_delay * 1500000 as bigint)
                         else cast(r_delay * 3000 as bigint) end as delay_ms
                from base
            )
            select
                '{tag}-' || cast(n as varchar) as event_id,
                'u' || lpad(cast(user_no as varchar), 6, '0') as user_id,
                'i' || lpad(cast(item_no as varchar), 5, '0') as item_id,
                case when r_type < 0.10 * quality then 'click'
                     when r_type < 0.13 * quality then 'like'
                     when r_type < 0.13 * quality + 0.008 then 'share'
                     else 'impression' end as event_type,
                event_ms,
                greatest(event_ms + delay_ms, {floor_ms} + (n % 1000)) as ingest_ms,
                ['ios', 'android', 'web'][cast(1 + (user_no % 3) as bigint)] as platform,
                's' || cast(user_no as varchar) || '-' || cast(event_ms // 1800000 as varchar) as session_id,
                case when r_type >= 0.13 * quality + 0.008 then 200 + cast(r_delay * 29800 as integer) end
                    as dwell_ms
            from typed
            """
        )
        con.execute(
            f"""
            copy (
                with rows as (
                    select * from ev
                    union all
                    -- client retries: same event, ingested 1-400 s later
                    select * replace (ingest_ms + 1000 + cast(hash(event_id) % 399000 as bigint) as ingest_ms)
                    from ev where hash(event_id) % 50 = 0
                )
                -- the table's types: naive UTC timestamps (microseconds), the UTC date
                select
                    event_id, user_id, item_id, event_type,
                    epoch_ms(event_ms) as event_ts,
                    epoch_ms(ingest_ms) as ingest_ts,
                    platform, session_id, cast(dwell_ms as integer) as dwell_ms,
                    cast(epoch_ms(event_ms) as date) as event_date
                from rows
            ) to '{events_dir}' (
                format parquet, compression zstd, partition_by (event_date),
                write_partition_columns true, filename_pattern 'part-{tag}-{{i}}',
                overwrite_or_ignore true
            )
            """
        )
        add_data_files(settings, sorted(events_dir.rglob("*.parquet")))
        res = con.execute(
            "select count(*) + count(*) filter (where hash(event_id) % 50 = 0) from ev"
        ).fetchone()
        return int(res[0]) if res else 0
    finally:
        con.close()


def newest_ingest(settings: Settings) -> datetime:
    """The newest ingest time in the events table's current snapshot (naive UTC in the table)."""
    sql, state = events_sql(settings)
    con = duckdb.connect()
    try:
        res = con.execute(f"select max(ingest_ts) from ({sql})").fetchone()
    finally:
        con.close()
    if not res or res[0] is None:
        raise ValueError(f"the lake's events table is empty ({state.table})")
    return res[0].replace(tzinfo=UTC)


def day_after(newest: datetime) -> date:
    return (newest + timedelta(days=1)).date()


__all__ = ["Generated", "generate_recent", "newest_ingest", "synthesize_lake", "write_synth_dimensions"]
