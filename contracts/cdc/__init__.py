"""Story 1's CDC pieces: items v2 (expand/contract), its dual-write and the CDC backfill.

The CDC path itself (Debezium JSON -> Avro topics -> lake dims) is kernel
infrastructure in `starlab.cdc`; this package holds what the contracts story
decides on top of it: the v2 migration of the app team's items table, the
taxonomy it introduces, and the backfill of the new fields from the change
log (`starlab contracts backfill`).
"""

from contracts.cdc.backfill import BackfillResult, backfill_items_category, table_digest
from contracts.cdc.dualwrite import MIGRATIONS_DIR, apply_items_v2_expand, upsert_item_v2
from contracts.cdc.taxonomy import DEPRECATED_ON, REMOVAL_NOT_BEFORE, CategoryV2, split_category

__all__ = [
    "DEPRECATED_ON",
    "MIGRATIONS_DIR",
    "REMOVAL_NOT_BEFORE",
    "BackfillResult",
    "CategoryV2",
    "apply_items_v2_expand",
    "backfill_items_category",
    "split_category",
    "table_digest",
    "upsert_item_v2",
]
