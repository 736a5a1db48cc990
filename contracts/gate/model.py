"""Typed results of the contract gate: rules, violations, contract changes, the report.

Backs story 1's "implemented schema registry + contract checks in CI" and the
follow-up "how did CI checks enforce contracts? Example rule and failure
path": every finding is a `Violation` with a stable rule id, the object it is
about, what changed and the fix in one line, and the consumers it would have
broken (`Impact`). A violation is data, not an exception: the gate collects
all of them in one run and exits 1; exceptions (`contracts.errors`) are only
for input the gate cannot judge (exit 2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Rule(StrEnum):
    """Stable rule ids (they appear in CI output, JUnit and the weekly review)."""

    AVRO_INCOMPATIBLE = "AVRO_INCOMPATIBLE"
    AVRO_PINNED_READER = "AVRO_PINNED_READER"
    AVRO_FIELD_RENAMED = "AVRO_FIELD_RENAMED"
    AVRO_VERSION_EDITED = "AVRO_VERSION_EDITED"
    AVRO_VERSION_REMOVED = "AVRO_VERSION_REMOVED"
    AVRO_SUBJECT_REMOVED = "AVRO_SUBJECT_REMOVED"
    AVRO_MODE_WEAKENED = "AVRO_MODE_WEAKENED"
    DBT_COLUMN_REMOVED = "DBT_COLUMN_REMOVED"
    DBT_COLUMN_TYPE_CHANGED = "DBT_COLUMN_TYPE_CHANGED"
    DBT_COLUMN_RENAMED = "DBT_COLUMN_RENAMED"
    DBT_CONTRACT_DISABLED = "DBT_CONTRACT_DISABLED"
    DBT_CONTRACT_BROKEN = "DBT_CONTRACT_BROKEN"
    DBT_VERSION_REMOVED = "DBT_VERSION_REMOVED"
    DBT_RELATION_CHANGED = "DBT_RELATION_CHANGED"
    DBT_VERSION_NOT_DEPRECATED = "DBT_VERSION_NOT_DEPRECATED"
    DBT_DEPRECATION_TOO_SOON = "DBT_DEPRECATION_TOO_SOON"
    DBT_CONTRACT_UNVERSIONED = "DBT_CONTRACT_UNVERSIONED"
    MAP_INCOMPLETE = "MAP_INCOMPLETE"
    CHANGE_REQUEST_MISSING = "CHANGE_REQUEST_MISSING"
    CHANGE_REQUEST_INCOMPLETE = "CHANGE_REQUEST_INCOMPLETE"

    @property
    def summary(self) -> str:
        """What the rule protects, in one line (used by `--help`-style listings and JUnit)."""
        return _SUMMARIES[self]


_SUMMARIES: dict[Rule, str] = {
    Rule.AVRO_INCOMPATIBLE: "a new schema version breaks the subject's compatibility mode",
    Rule.AVRO_PINNED_READER: "a consumer with a pinned (deployed) schema cannot read the new version",
    Rule.AVRO_FIELD_RENAMED: "a field was renamed without an alias (removed + added, same type)",
    Rule.AVRO_VERSION_EDITED: "a registered schema version was edited in place (versions are immutable)",
    Rule.AVRO_VERSION_REMOVED: "a registered schema version was removed from the subject's history",
    Rule.AVRO_SUBJECT_REMOVED: "a subject with consumers was removed",
    Rule.AVRO_MODE_WEAKENED: "a subject's compatibility mode was relaxed",
    Rule.DBT_COLUMN_REMOVED: "a column was removed from an enforced model contract (dbt: breaking change)",
    Rule.DBT_COLUMN_TYPE_CHANGED: "a column's data_type changed in an enforced contract (dbt: breaking)",
    Rule.DBT_COLUMN_RENAMED: "a column was renamed in an enforced contract (removed + added, same type)",
    Rule.DBT_CONTRACT_DISABLED: "contract enforcement was removed from a model (dbt: breaking change)",
    Rule.DBT_CONTRACT_BROKEN: "dbt reports another breaking change to an enforced contract",
    Rule.DBT_VERSION_REMOVED: "a contracted model version was removed before its deprecation date",
    Rule.DBT_RELATION_CHANGED: "a contracted version builds another relation than the one consumers read",
    Rule.DBT_VERSION_NOT_DEPRECATED: "a superseded model version has no deprecation_date",
    Rule.DBT_DEPRECATION_TOO_SOON: "a deprecation_date gives consumers less than the policy's notice",
    Rule.DBT_CONTRACT_UNVERSIONED: "a contracted model has no versions, so a breaking change has no path",
    Rule.MAP_INCOMPLETE: "the topic -> consumer map does not cover a subject or names a missing dbt source",
    Rule.CHANGE_REQUEST_MISSING: "a contract change without a change request in the pull-request body",
    Rule.CHANGE_REQUEST_INCOMPLETE: "a change request with a missing, empty or placeholder section",
}


class ContractKind(StrEnum):
    """What a contract is: an Avro subject, a dbt model, or the gate's own inputs."""

    AVRO_SUBJECT = "avro_subject"
    DBT_MODEL = "dbt_model"
    CONSUMER_MAP = "consumer_map"
    CHANGE_REQUEST = "change_request"


class ChangeKind(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"


@dataclass(frozen=True)
class Impact:
    """Who a change reaches: dbt models and exposures downstream, and topic consumers."""

    models: tuple[str, ...] = ()
    exposures: tuple[str, ...] = ()
    consumers: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.models or self.exposures or self.consumers)

    def merge(self, other: Impact) -> Impact:
        def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(sorted(set(a) | set(b)))

        return Impact(
            union(self.models, other.models),
            union(self.exposures, other.exposures),
            union(self.consumers, other.consumers),
        )

    def describe(self) -> str:
        """One line: `exposures: a, b; models: c; consumers: d` (or `nothing downstream`)."""
        parts = [
            f"{label}: {', '.join(items)}"
            for label, items in (
                ("exposures", self.exposures),
                ("consumers", self.consumers),
                ("models", self.models),
            )
            if items
        ]
        return "; ".join(parts) if parts else "nothing downstream"


@dataclass(frozen=True)
class Violation:
    """One broken rule: what changed, the fix in one line, and who it would have broken."""

    rule: Rule
    contract: str
    """The contract it belongs to: a subject or model name (groups violations per change)."""
    object: str
    """The precise object, e.g. `model stg_users v1` or `subject engagement.events-value v4`."""
    changed: str
    fix: str
    impact: Impact = field(default_factory=Impact)
    evidence: tuple[str, ...] = ()
    """The checker's own words: dbt's breaking-change message, Avro's reasons."""


@dataclass(frozen=True)
class ContractChange:
    """One contract that differs between the base and the head, safe or not."""

    kind: ContractKind
    name: str
    change: ChangeKind
    details: tuple[str, ...]
    breaking: bool
    """True when consumers of the old shape could break (even if done the allowed way, as a new version)."""
    impact: Impact = field(default_factory=Impact)
    paths: tuple[str, ...] = ()
    """Repository paths that hold this contract (the weekly review looks up their commits)."""


@dataclass(frozen=True)
class GatePolicy:
    """The rules' parameters; the defaults are the story's policy."""

    min_deprecation_days: int = 14
    """Story 1: "2-week deprecation policy". A superseded version's deprecation_date
    must be at least this many days after the change date."""


@dataclass(frozen=True)
class Deprecation:
    """A model version with a deprecation_date at the head (the weekly review lists them)."""

    model: str
    version: str
    deprecation_date: date
    superseded_by: str | None


@dataclass(frozen=True)
class GateReport:
    """Everything one `starlab contracts check` run found."""

    base_ref: str
    base_commit: str
    head: str
    """`working tree` or a commit id."""
    change_date: date
    policy: GatePolicy
    subjects_checked: int
    models_checked: int
    changes: tuple[ContractChange, ...]
    violations: tuple[Violation, ...]
    deprecations: tuple[Deprecation, ...] = ()
    dbt_parsed: bool = True
    """False when neither the dbt project nor a subject changed, so dbt was not started."""

    @property
    def passed(self) -> bool:
        return not self.violations

    @property
    def exit_code(self) -> int:
        """0 clean, 1 any violation (2, bad input, is raised before a report exists)."""
        return 0 if self.passed else 1

    def rules(self) -> list[Rule]:
        return [v.rule for v in self.violations]

    def violations_of(self, contract: str) -> list[Violation]:
        return [v for v in self.violations if v.contract == contract]


__all__ = [
    "ChangeKind",
    "ContractChange",
    "ContractKind",
    "Deprecation",
    "GatePolicy",
    "GateReport",
    "Impact",
    "Rule",
    "Violation",
]
