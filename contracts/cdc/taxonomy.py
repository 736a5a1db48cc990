"""items v2's split of `category` into `category_group` + `category_name`.

Backs story 1's expand/contract example: the one function both the app's
dual-write and the CDC backfill use to derive the new fields from the
deprecated one, so a row written after the change and a row backfilled from
history get the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEPRECATED_ON = date(2026, 12, 1)
"""`items.category` deprecated by items v2 (see migrations/0101_*.sql)."""
REMOVAL_NOT_BEFORE = date(2026, 12, 15)
"""Two weeks later: the story's deprecation policy."""

CATEGORY_GROUPS: dict[str, str] = {
    "news": "information",
    "tech": "information",
    "sports": "entertainment",
    "music": "entertainment",
    "gaming": "entertainment",
    "food": "lifestyle",
    "travel": "lifestyle",
    "fashion": "lifestyle",
}
"""Every category the generator draws (starlab/events/generator.py CATEGORIES)."""
OTHER_GROUP = "other"
"""Group of a category the taxonomy does not know yet (kept, not dropped)."""


@dataclass(frozen=True)
class CategoryV2:
    category_group: str
    category_name: str


def split_category(category: str) -> CategoryV2:
    """The v2 fields for a v1 `category` value."""
    name = category.strip().lower()
    return CategoryV2(CATEGORY_GROUPS.get(name, OTHER_GROUP), name)
