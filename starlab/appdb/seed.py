"""Seeding the app database from the generator's items and users, idempotently.

Backs story 1's CDC path with the same catalogue the rest of starlab uses:
`make_items`/`make_users` (starlab/events/generator.py) are the app team's
rows. The upsert only touches a row whose values differ, so seeding twice
writes nothing the second time and Debezium emits no change events for it
(an `ON CONFLICT DO UPDATE` without the `WHERE` would rewrite every row and
flood the change topics with no-op updates).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from psycopg.rows import TupleRow

from starlab.events.generator import GeneratorConfig, Item, User, make_items, make_users
from starlab.settings import Settings


@dataclass(frozen=True)
class SeedResult:
    items_inserted: int
    items_updated: int
    items_unchanged: int
    users_inserted: int
    users_updated: int
    users_unchanged: int

    @property
    def changed(self) -> int:
        return self.items_inserted + self.items_updated + self.users_inserted + self.users_updated


UPSERT_ITEM = b"""
INSERT INTO items (item_id, category, created_at) VALUES (%s, %s, %s)
ON CONFLICT (item_id) DO UPDATE
    SET category = EXCLUDED.category, created_at = EXCLUDED.created_at
    WHERE (items.category, items.created_at) IS DISTINCT FROM (EXCLUDED.category, EXCLUDED.created_at)
RETURNING (xmax = 0) AS inserted
"""
# xmax = 0 on the returned row: it was inserted; otherwise it was updated.
# Rows skipped by the WHERE return nothing: unchanged.

UPSERT_USER = b"""
INSERT INTO users (user_id, country, signup_at, home_platform) VALUES (%s, %s, %s, %s)
ON CONFLICT (user_id) DO UPDATE
    SET country = EXCLUDED.country, signup_at = EXCLUDED.signup_at,
        home_platform = EXCLUDED.home_platform
    WHERE (users.country, users.signup_at, users.home_platform)
        IS DISTINCT FROM (EXCLUDED.country, EXCLUDED.signup_at, EXCLUDED.home_platform)
RETURNING (xmax = 0) AS inserted
"""


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _upsert(
    conn: psycopg.Connection[TupleRow], statement: bytes, rows: Sequence[tuple[object, ...]]
) -> tuple[int, int, int]:
    if not rows:
        return 0, 0, 0
    inserted = updated = 0
    with conn.cursor() as cur:
        cur.executemany(statement, rows, returning=True)
        # One result set per row: empty when the WHERE skipped it.
        while True:
            got = cur.fetchone()
            if got is not None:
                if got[0]:
                    inserted += 1
                else:
                    updated += 1
            if not cur.nextset():
                break
    return inserted, updated, len(rows) - inserted - updated


def seed(conn: psycopg.Connection[TupleRow], items: Sequence[Item], users: Sequence[User]) -> SeedResult:
    """Upsert `items` and `users` in one transaction; returns what changed."""
    with conn.transaction():
        i = _upsert(conn, UPSERT_ITEM, [(x.item_id, x.category, _ts(x.created_at_ms)) for x in items])
        u = _upsert(
            conn,
            UPSERT_USER,
            [(x.user_id, x.country, _ts(x.signup_at_ms), x.home_platform) for x in users],
        )
    return SeedResult(*i, *u)


def seed_from_generator(conn: psycopg.Connection[TupleRow], cfg: GeneratorConfig) -> SeedResult:
    """Seed with exactly the items and users `Generator(cfg)` would write to the lake.

    `Generator.__init__` draws items, then users, from `random.Random(seed)`;
    drawing them the same way here gives the same rows without generating events.
    """
    rng = random.Random(cfg.seed)
    items = make_items(cfg, rng)
    users = make_users(cfg, rng)
    return seed(conn, items, users)


def seed_database(settings: Settings, cfg: GeneratorConfig) -> SeedResult:
    """`seed_from_generator` on a connection of its own (what a CLI command or the demo calls)."""
    from starlab.appdb.db import connect

    with connect(settings) as conn:
        result = seed_from_generator(conn, cfg)
        conn.commit()
    return result
