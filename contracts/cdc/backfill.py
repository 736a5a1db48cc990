"""CDC-based backfill of items v2's new fields from the deprecated one (story 1).

Story 1: "Built CDC-based backfill for deprecated fields." After items v2's
expand migration, rows written before it have `category_group` and
`category_name` NULL. This backfill fills them from the change log: it
replays Debezium's topic of the items table (`<prefix>.public.items`) from
offset 0, keeps the last `category` each item had, and writes the derived
v2 fields back through the app database, so the fill reaches every
consumer (Avro topic, lake, warehouse) through CDC like any other change.

Why the change log and not `SELECT category FROM items`: the log still has
the deprecated field once the contract phase has dropped it (a backfill that
runs late still works), and the replay reads Kafka, not the app's primary
(one keyed UPDATE batch is all the app database sees).

Idempotent: only NULL new fields are written (a value set by the v2
dual-write is never overwritten), so a second run updates nothing; the
result carries a row-level digest of the table before and after to prove it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from psycopg.rows import TupleRow

from contracts.cdc.taxonomy import split_category
from starlab.appdb import connect
from starlab.cdc import parse_change
from starlab.kafka_io import read_all
from starlab.settings import Settings

LEGACY_COLUMN = "category"


@dataclass(frozen=True)
class BackfillResult:
    topic: str
    rows_scanned: int
    """Change events replayed from the log (snapshot reads, inserts, updates, deletes)."""
    keys_with_value: int
    """Items whose last logged state has a `category` (deleted items excluded)."""
    rows_updated: int
    nulls_before: int
    """Rows with a NULL category_group or category_name before the run."""
    nulls_after: int
    """Rows still NULL: no value in the log to fill them from (e.g. inserted NULL by a v1 writer
    after the log was replayed)."""
    digest_before: str
    digest_after: str
    """md5 over every row's md5, in key order: equal means the run changed nothing."""
    elapsed_s: float

    @property
    def changed_table(self) -> bool:
        return self.digest_before != self.digest_after

    @property
    def rows_per_s(self) -> float:
        return self.rows_scanned / self.elapsed_s if self.elapsed_s > 0 else 0.0


def table_digest(conn: psycopg.Connection[TupleRow]) -> str:
    """Row-level digest of `items`: any changed value, added or removed row changes it."""
    row = conn.execute(
        b"SELECT coalesce(md5(string_agg(md5(t::text), '' ORDER BY t.item_id)), '') FROM items t"
    ).fetchone()
    return str(row[0]) if row else ""


def _nulls(conn: psycopg.Connection[TupleRow]) -> int:
    row = conn.execute(
        b"SELECT count(*) FROM items WHERE category_group IS NULL OR category_name IS NULL"
    ).fetchone()
    return int(row[0]) if row else 0


def replay_legacy_values(settings: Settings, topic: str) -> tuple[dict[str, str], int]:
    """Last `category` per item_id from the change log, and how many events were read."""
    last: dict[str, str] = {}
    scanned = 0
    for msg in read_all(settings, topic, idle_timeout_s=2.0):
        ev = parse_change(msg.key(), msg.value())
        if ev is None:  # tombstone after a delete: the delete event was handled
            continue
        scanned += 1
        item_id = str(ev.key["item_id"])
        if ev.is_delete or ev.after is None:
            last.pop(item_id, None)
            continue
        legacy = ev.after.get(LEGACY_COLUMN)
        if isinstance(legacy, str):
            last[item_id] = legacy
    return last, scanned


def backfill_items_category(settings: Settings) -> BackfillResult:
    """Fill items.category_group/category_name where NULL, from the replayed change log."""
    t0 = time.monotonic()
    topic = f"{settings.cdc_topic_prefix}.public.items"
    values, scanned = replay_legacy_values(settings, topic)
    with connect(settings) as conn:
        nulls_before = _nulls(conn)
        digest_before = table_digest(conn)
        conn.commit()
        with conn.transaction():
            conn.execute(
                b"CREATE TEMP TABLE backfill_items (item_id text PRIMARY KEY,"
                b" category_group text NOT NULL, category_name text NOT NULL) ON COMMIT DROP"
            )
            with conn.cursor() as cur, cur.copy(b"COPY backfill_items FROM STDIN") as copy:
                for item_id, legacy in values.items():
                    v2 = split_category(legacy)
                    copy.write_row((item_id, v2.category_group, v2.category_name))
            # Only NULLs are filled: what the v2 dual-write set stays as it is.
            cur = conn.execute(
                b"UPDATE items i SET"
                b" category_group = coalesce(i.category_group, b.category_group),"
                b" category_name = coalesce(i.category_name, b.category_name)"
                b" FROM backfill_items b"
                b" WHERE i.item_id = b.item_id AND (i.category_group IS NULL OR i.category_name IS NULL)"
            )
            updated = cur.rowcount
        nulls_after = _nulls(conn)
        digest_after = table_digest(conn)
        conn.commit()
    return BackfillResult(
        topic=topic,
        rows_scanned=scanned,
        keys_with_value=len(values),
        rows_updated=updated,
        nulls_before=nulls_before,
        nulls_after=nulls_after,
        digest_before=digest_before,
        digest_after=digest_after,
        elapsed_s=time.monotonic() - t0,
    )
