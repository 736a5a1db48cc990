"""Likely renames: same type pairs, most similar names first, each column once (contracts/gate/renames.py)."""

from __future__ import annotations

from contracts.gate.renames import Column, likely_renames


def test_a_removed_and_an_added_column_of_the_same_type_pair() -> None:
    (r,) = likely_renames([Column("users", "bigint")], [Column("distinct_users", "bigint")])
    assert (r.old, r.new, r.type) == ("users", "distinct_users", "bigint")
    assert 0 < r.similarity < 1


def test_different_types_never_pair() -> None:
    assert likely_renames([Column("users", "bigint")], [Column("users_v", "varchar")]) == []


def test_the_most_similar_names_pair_first_and_each_column_once() -> None:
    removed = [Column("session_id", "varchar"), Column("country", "varchar")]
    added = [Column("country_code", "varchar"), Column("session_key", "varchar"), Column("x", "varchar")]
    pairs = {(r.old, r.new) for r in likely_renames(removed, added)}
    assert pairs == {("session_id", "session_key"), ("country", "country_code")}


def test_nothing_removed_nothing_renamed() -> None:
    assert likely_renames([], [Column("a", "int")]) == []
