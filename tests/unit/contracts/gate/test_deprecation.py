"""The versioning path's rules: superseded versions need a deprecation_date >= change + 14 days."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.gate.deprecation import (
    VersionedModel,
    VersionInfo,
    check_deprecations,
    earliest_allowed,
    version_key,
)
from contracts.gate.model import Rule

TODAY = date(2026, 12, 1)


def model(latest: str, *versions: tuple[str, date | None]) -> VersionedModel:
    return VersionedModel("m", latest, tuple(VersionInfo(v, d) for v, d in versions))


def rules(base: VersionedModel | None, head: VersionedModel) -> list[tuple[Rule, str]]:
    return [(f.rule, f.version) for f in check_deprecations(base, head, TODAY, 14)]


def test_versions_order_numerically() -> None:
    assert sorted(["10", "2", "1"], key=version_key) == ["1", "2", "10"]


def test_a_new_latest_version_needs_a_date_on_the_old_one() -> None:
    base = model("1", ("1", None))
    head = model("2", ("1", None), ("2", None))
    assert rules(base, head) == [(Rule.DBT_VERSION_NOT_DEPRECATED, "1")]


def test_fourteen_days_is_enough_and_thirteen_is_not() -> None:
    base = model("1", ("1", None))
    ok = model("2", ("1", TODAY + timedelta(days=14)), ("2", None))
    short = model("2", ("1", TODAY + timedelta(days=13)), ("2", None))
    assert rules(base, ok) == []
    assert rules(base, short) == [(Rule.DBT_DEPRECATION_TOO_SOON, "1")]
    (finding,) = check_deprecations(base, short, TODAY, 14)
    assert earliest_allowed(TODAY, 14).isoformat() in finding.fix


def test_a_prerelease_version_supersedes_nothing() -> None:
    # v2 exists but latest_version is still 1: consumers may opt in, none must move
    assert rules(model("1", ("1", None)), model("1", ("1", None), ("2", None))) == []


def test_an_unchanged_date_is_not_judged_again() -> None:
    # set two weeks ago, now 3 days out: the change being checked did not set it
    dated = model("2", ("1", TODAY + timedelta(days=3)), ("2", None))
    assert rules(dated, dated) == []


def test_moving_a_date_earlier_is_judged() -> None:
    base = model("2", ("1", TODAY + timedelta(days=30)), ("2", None))
    head = model("2", ("1", TODAY + timedelta(days=5)), ("2", None))
    assert rules(base, head) == [(Rule.DBT_DEPRECATION_TOO_SOON, "1")]


def test_removing_the_date_of_a_superseded_version_is_caught() -> None:
    base = model("2", ("1", TODAY + timedelta(days=30)), ("2", None))
    head = model("2", ("1", None), ("2", None))
    assert rules(base, head) == [(Rule.DBT_VERSION_NOT_DEPRECATED, "1")]


def test_a_new_model_born_with_two_versions_needs_the_date_too() -> None:
    assert rules(None, model("2", ("1", None), ("2", None))) == [(Rule.DBT_VERSION_NOT_DEPRECATED, "1")]
