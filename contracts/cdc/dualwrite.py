"""The app team's v2 writer for items: dual-writes the deprecated and the new fields.

Backs story 1's expand/contract: between expand and contract every write
sets `category` (for readers that have not moved yet) and
`category_group`/`category_name` (for those that have), so both stay true
for new rows; `backfill.py` makes them true for historical rows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from contracts.cdc.taxonomy import split_category
from starlab.appdb import MigrationResult, apply_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""Story 1's migrations of the app database (after the kernel's baseline)."""
ITEMS_V2_EXPAND = "0101_items_category_split_expand"


def apply_items_v2_expand(conn: psycopg.Connection[TupleRow]) -> MigrationResult:
    """Apply items v2's expand migration (idempotent: recorded in schema_migrations)."""
    return apply_migrations(conn, MIGRATIONS_DIR, target=ITEMS_V2_EXPAND)


def upsert_item_v2(
    conn: psycopg.Connection[TupleRow], item_id: str, category: str, created_at: datetime
) -> None:
    """Insert or update an item the v2 way: old and new fields in one statement."""
    v2 = split_category(category)
    conn.execute(
        b"INSERT INTO items (item_id, category, created_at, category_group, category_name)"
        b" VALUES (%s, %s, %s, %s, %s)"
        b" ON CONFLICT (item_id) DO UPDATE SET category = EXCLUDED.category,"
        b" created_at = EXCLUDED.created_at, category_group = EXCLUDED.category_group,"
        b" category_name = EXCLUDED.category_name",
        (item_id, v2.category_name, created_at, v2.category_group, v2.category_name),
    )
