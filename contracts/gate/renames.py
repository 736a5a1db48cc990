"""Likely renames: a removed and an added column (or Avro field) of the same type.

Backs story 1's "mapped ... columns at risk": neither dbt's contract check nor
Avro's schema resolution knows about renames. dbt reports a renamed column as
"removed" and Avro as a missing field without default; both are right that it
breaks readers, but the useful message names the pair, because the fix is
different (keep the old name in the old version, or an Avro alias).

Pairing: only equal types pair (a rename that also changes the type is a
removal plus an addition); when several candidates share a type, the most
similar names pair first (difflib ratio), each column at most once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True)
class Column:
    """A column or field: its name and a type text that is equal exactly when the types are."""

    name: str
    type: str


@dataclass(frozen=True)
class Rename:
    old: str
    new: str
    type: str
    similarity: float
    """Name similarity in [0, 1] (difflib ratio); shown so a reader can judge "likely"."""


def likely_renames(removed: Sequence[Column], added: Sequence[Column]) -> list[Rename]:
    """Pairs of (removed, added) with the same type, most similar names first, each used once."""
    candidates = [
        (SequenceMatcher(None, r.name.lower(), a.name.lower()).ratio(), i, j)
        for i, r in enumerate(removed)
        for j, a in enumerate(added)
        if r.type == a.type
    ]
    # Highest similarity first; ties in input order so the result is stable.
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_removed: set[int] = set()
    used_added: set[int] = set()
    out: list[Rename] = []
    for score, i, j in candidates:
        if i in used_removed or j in used_added:
            continue
        used_removed.add(i)
        used_added.add(j)
        out.append(Rename(removed[i].name, added[j].name, removed[i].type, round(score, 2)))
    return sorted(out, key=lambda r: r.old)


__all__ = ["Column", "Rename", "likely_renames"]
