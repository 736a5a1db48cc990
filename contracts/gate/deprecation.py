"""The versioning path for breaking changes: a new version, the old one kept with notice.

Backs story 1's "versioned schemas, 2-week deprecation policy" and the
follow-up "handling a non-backward-compatible change under urgent
timelines": a breaking change to a contracted model is allowed only as a NEW
model version; the version it supersedes stays built and gets a
`deprecation_date` at least `min_deprecation_days` (14) after the change
date, so every consumer has two weeks to move. dbt itself checks neither
(a version without a date never expires; a date tomorrow is accepted), so
these rules are the gate's own. Pure functions over version states: the
change date comes from the caller's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.gate.model import Rule


def version_key(version: str) -> tuple[int, float, str]:
    """Order versions numerically when they are numbers (dbt allows both), else as text."""
    try:
        return (0, float(version), "")
    except ValueError:
        return (1, 0.0, version)


@dataclass(frozen=True)
class VersionInfo:
    version: str
    deprecation_date: date | None


@dataclass(frozen=True)
class VersionedModel:
    """The versions of one model at one commit."""

    name: str
    latest: str | None
    versions: tuple[VersionInfo, ...]

    def get(self, version: str) -> VersionInfo | None:
        return next((v for v in self.versions if v.version == version), None)

    def superseded(self, version: str) -> bool:
        """Older than the latest version: consumers are expected to move off it."""
        return self.latest is not None and version_key(version) < version_key(self.latest)


@dataclass(frozen=True)
class DeprecationFinding:
    rule: Rule
    version: str
    changed: str
    fix: str


def earliest_allowed(change_date: date, min_days: int) -> date:
    """The first deprecation_date the policy accepts for a change made on `change_date`."""
    return change_date + timedelta(days=min_days)


def check_deprecations(
    base: VersionedModel | None,
    head: VersionedModel,
    change_date: date,
    min_days: int,
) -> list[DeprecationFinding]:
    """Deprecation findings for one model; only what this change did is judged.

    - a version that this change supersedes (it was the latest, or did not
      exist, at the base) must have a deprecation_date;
    - a deprecation_date this change sets or moves must be at least
      `min_days` after `change_date` (moving it later is always fine once it
      is far enough; removing one from a superseded version is caught by the
      first rule).
    A superseded version that already lacked a date at the base is left to
    the weekly review: blocking an unrelated change on it would not help.
    """
    out: list[DeprecationFinding] = []
    earliest = earliest_allowed(change_date, min_days)
    for info in sorted(head.versions, key=lambda v: version_key(v.version)):
        before = base.get(info.version) if base else None
        newly_superseded = head.superseded(info.version) and (
            base is None or before is None or not base.superseded(info.version)
        )
        lost_its_date = before is not None and before.deprecation_date is not None
        if head.superseded(info.version) and info.deprecation_date is None:
            if newly_superseded or lost_its_date:
                out.append(
                    DeprecationFinding(
                        Rule.DBT_VERSION_NOT_DEPRECATED,
                        info.version,
                        f"version {info.version} is superseded by latest_version {head.latest} "
                        "but has no deprecation_date",
                        f"add deprecation_date: {earliest.isoformat()} (or later) to version "
                        f"{info.version} so its consumers get {min_days} days to move",
                    )
                )
            continue
        moved = info.deprecation_date is not None and (
            before is None or before.deprecation_date != info.deprecation_date
        )
        if moved and info.deprecation_date is not None and info.deprecation_date < earliest:
            days = (info.deprecation_date - change_date).days
            out.append(
                DeprecationFinding(
                    Rule.DBT_DEPRECATION_TOO_SOON,
                    info.version,
                    f"version {info.version} deprecation_date {info.deprecation_date.isoformat()} is "
                    f"{days} day(s) after the change ({change_date.isoformat()}); the policy is "
                    f"{min_days}",
                    f"set deprecation_date of version {info.version} to {earliest.isoformat()} or later",
                )
            )
    return out


def superseding_version(model: VersionedModel, version: str) -> str | None:
    """The latest version when `version` is superseded by it (for the review's schedule)."""
    return model.latest if model.superseded(version) else None


def sorted_versions(versions: Sequence[str]) -> list[str]:
    return sorted(versions, key=version_key)


__all__ = [
    "DeprecationFinding",
    "VersionInfo",
    "VersionedModel",
    "check_deprecations",
    "earliest_allowed",
    "sorted_versions",
    "superseding_version",
    "version_key",
]
