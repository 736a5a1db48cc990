"""Typed results of the pre-deploy contract check: samples, findings, the report.

Backs story 1's "added contract tests in Airflow pre-deploy": the
`contract_gate` DAG samples what is live (topics, warehouse relations),
checks it against the contracts, and every problem is a `Finding` with a
stable check id, the contract it belongs to and what was seen. A finding is
data, not an exception: the DAG's `validate` task collects all of them and
then fails the run once (`ContractCheckFailed`), which blocks `deploy` and
`publish`.

The models are pydantic so a sample written by one task is read back by the
next one as the same types (Airflow tasks hand each other file paths, not
objects).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from contracts.errors import ContractsError


class Check(StrEnum):
    """Stable ids of the pre-deploy checks (they appear in the DAG log and the replay's output)."""

    SCHEMA_UNREVIEWED = "SCHEMA_UNREVIEWED"
    """The registry's latest version of a subject is not a version in contracts/subjects.yaml."""
    DECODE_REGISTRY = "DECODE_REGISTRY"
    """A sampled record does not decode with the subject's latest registered schema."""
    DECODE_CONTRACT = "DECODE_CONTRACT"
    """A sampled record does not decode with the contract's latest version file."""
    RELATION_MISSING_COLUMN = "RELATION_MISSING_COLUMN"
    """A contracted column is not in the built relation."""
    RELATION_EXTRA_COLUMN = "RELATION_EXTRA_COLUMN"
    """The relation has a column its contract does not declare."""
    RELATION_TYPE = "RELATION_TYPE"
    """A column's type in the warehouse differs from the contract's data_type."""
    NOT_NULL = "NOT_NULL"
    """A value declared not_null is null (topic field of a dbt source, or relation column)."""
    ACCEPTED_VALUES = "ACCEPTED_VALUES"
    """A value outside the declared accepted_values."""

    @property
    def summary(self) -> str:
        return _SUMMARIES[self]


_SUMMARIES: dict[Check, str] = {
    Check.SCHEMA_UNREVIEWED: "the registry holds a schema version the contracts do not list",
    Check.DECODE_REGISTRY: "live records do not decode with the subject's latest registered schema",
    Check.DECODE_CONTRACT: "live records do not decode with the contract's latest version",
    Check.RELATION_MISSING_COLUMN: "a contracted column is missing from the warehouse relation",
    Check.RELATION_EXTRA_COLUMN: "the warehouse relation has a column the contract does not declare",
    Check.RELATION_TYPE: "a warehouse column's type differs from its contract",
    Check.NOT_NULL: "nulls where the contract declares not_null",
    Check.ACCEPTED_VALUES: "values outside the contract's accepted_values",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- samples


class SampledRecord(_Frozen):
    partition: int
    offset: int
    key: str | None
    """Base64 of the key bytes (None for a null key)."""
    value: str | None
    """Base64 of the Confluent-framed Avro value; None for a tombstone."""


class TopicSample(_Frozen):
    """The newest records of one topic, read with isolation.level=read_committed."""

    contract_topic: str
    """The topic's name in contracts/consumers.yaml (the default names, e.g. `app.items`)."""
    topic: str
    """The live topic it maps to under the current settings (e.g. a test's own prefix)."""
    subject: str
    """The contract subject (`app.items-value`); the live subject is `<topic>-value`."""
    exists: bool
    compacted: bool
    """A table topic (CDC): only each key's newest record is the current state."""
    records: tuple[SampledRecord, ...] = ()


class RelationColumn(_Frozen):
    name: str
    data_type: str


class RelationSample(_Frozen):
    """One contracted model version as built in the warehouse: its columns and a row sample."""

    model: str
    """`dim_items v1` (the model's label)."""
    relation: str
    """`schema.table` in the warehouse."""
    exists: bool
    columns: tuple[RelationColumn, ...] = ()
    rows: tuple[dict[str, str | None], ...] = ()
    """Values as text (None for SQL NULL), only the columns a value check needs."""


# --------------------------------------------------------------------------- findings


class Finding(_Frozen):
    """One contract a live sample breaks, with how often and an example."""

    check: Check
    contract: str
    """Subject or model label the finding is about."""
    object: str
    """Precisely where: `topic app.users field home_platform`, `relation marts.dim_items column category`."""
    detail: str
    count: int = 1
    """Records or rows affected in the sample."""

    def line(self) -> str:
        times = f" ({self.count}x)" if self.count > 1 else ""
        return f"{self.check.value} {self.object}: {self.detail}{times}"


class TopicSummary(_Frozen):
    contract_topic: str
    topic: str
    subject: str
    records: int
    """Records checked (after keeping each key's newest record on a table topic)."""
    schema_ids: tuple[int, ...] = ()
    registry_version: int | None = None
    contract_version: int | None = None
    note: str | None = None


class RelationSummary(_Frozen):
    model: str
    relation: str
    exists: bool
    rows: int
    note: str | None = None


class ValidationReport(_Frozen):
    """Everything one pre-deploy check found; `passed` is derived, never stored."""

    interval: date
    contracts_root: str
    topics: tuple[TopicSummary, ...]
    relations: tuple[RelationSummary, ...]
    findings: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.findings

    def checks(self) -> list[Check]:
        return [f.check for f in self.findings]

    def describe(self) -> str:
        """One line per finding (or a one-line pass), for a task log or a CLI."""
        if self.passed:
            return (
                f"contracts hold on {len(self.topics)} topic(s) and {len(self.relations)} relation(s) "
                f"for {self.interval}"
            )
        return "\n".join(f.line() for f in self.findings)


class ContractCheckFailed(ContractsError):
    """Live data breaks a contract: the deploy must not go ahead (terminal, never retried)."""

    def __init__(self, report: ValidationReport) -> None:
        first = report.findings[0].line() if report.findings else "no finding"
        more = f" (+{len(report.findings) - 1} more)" if len(report.findings) > 1 else ""
        super().__init__(f"contract check failed for {report.interval}: {first}{more}")
        self.report = report


__all__ = [
    "Check",
    "ContractCheckFailed",
    "Finding",
    "RelationColumn",
    "RelationSample",
    "RelationSummary",
    "SampledRecord",
    "TopicSample",
    "TopicSummary",
    "ValidationReport",
]
