"""The contract declarations the gate reads: `contracts/subjects.yaml` and `contracts/consumers.yaml`.

Backs story 1's "versioned schemas ... backward-compatible changes by
default" (each Avro subject with its compatibility mode and one .avsc file
per version) and "mapped lineage" past the warehouse (who consumes each
Kafka topic). Both files are validated strictly: a typo in a key or a mode is
bad input (exit 2, one line), never a silently skipped check.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from contracts.errors import BadContractInput
from starlab.schema import CompatibilityMode, InvalidCompatibilityModeError
from starlab.validation import one_line

SUBJECTS_FILE = Path("contracts/subjects.yaml")
CONSUMERS_FILE = Path("contracts/consumers.yaml")
KEY_SUFFIX, VALUE_SUFFIX = "-key", "-value"


def _parse_mode(value: object) -> object:
    """Accept Confluent's names case-insensitively; an unknown one is a validation error."""
    if not isinstance(value, str):
        return value
    try:
        return CompatibilityMode.parse(value)
    except InvalidCompatibilityModeError as exc:
        raise ValueError(str(exc)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchemaVersion(_Strict):
    version: int = Field(ge=1)
    path: str
    """Repository-relative path of this version's .avsc file (never edited once registered)."""


class Subject(_Strict):
    subject: str
    compatibility: CompatibilityMode | None = None
    """None: the file's default."""
    owner: str | None = None
    versions: tuple[SchemaVersion, ...]

    @field_validator("compatibility", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return _parse_mode(value)

    @model_validator(mode="after")
    def _contiguous(self) -> Subject:
        numbers = [v.version for v in self.versions]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"versions must be 1..n in order, got {numbers}")
        return self

    @property
    def topic(self) -> str:
        """Confluent's TopicNameStrategy: `<topic>-value` / `<topic>-key`."""
        for suffix in (VALUE_SUFFIX, KEY_SUFFIX):
            if self.subject.endswith(suffix):
                return self.subject[: -len(suffix)]
        return self.subject


class SubjectDefaults(_Strict):
    compatibility: CompatibilityMode = CompatibilityMode.BACKWARD_TRANSITIVE

    @field_validator("compatibility", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return _parse_mode(value)


class SubjectsFile(_Strict):
    defaults: SubjectDefaults = SubjectDefaults()
    subjects: tuple[Subject, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> SubjectsFile:
        names = [s.subject for s in self.subjects]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"subject listed twice: {', '.join(duplicates)}")
        return self

    def mode_of(self, subject: Subject) -> CompatibilityMode:
        return subject.compatibility or self.defaults.compatibility

    def get(self, name: str) -> Subject | None:
        return next((s for s in self.subjects if s.subject == name), None)


class ReaderSchema(StrEnum):
    """How a consumer decodes Avro: decides which compatibility it needs beyond the mode."""

    WRITER = "writer"
    """Decodes with the writer's schema from the registry (no extra constraint)."""
    PINNED = "pinned"
    """Decodes with a schema fixed at deploy time (e.g. Flink's `avro-confluent.schema`):
    until redeployed it reads new data with the old schema, so it needs FORWARD
    compatibility with the version it was deployed with."""
    NOT_AVRO = "not_avro"


class ConsumerStatus(StrEnum):
    LIVE = "live"
    PLANNED = "planned"


class Consumer(_Strict):
    name: str
    kind: str
    code: str | None = None
    """Where the consumer lives (a path), so an impact line leads to code."""
    reader_schema: ReaderSchema = ReaderSchema.WRITER
    dbt_source: str | None = None
    """`source_name.table` when the topic reaches dbt (through the lake): its lineage joins the impact."""
    status: ConsumerStatus = ConsumerStatus.LIVE
    note: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} (planned)" if self.status is ConsumerStatus.PLANNED else self.name


class Topic(_Strict):
    format: str
    subject: str | None = None
    producer: str | None = None
    consumers: tuple[Consumer, ...] = ()


class ConsumersFile(_Strict):
    topics: dict[str, Topic] = {}

    def consumers_of(self, topic: str) -> tuple[Consumer, ...]:
        entry = self.topics.get(topic)
        return entry.consumers if entry else ()


def _read_yaml(path: Path, label: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadContractInput(f"{label}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadContractInput(f"{label}: {path} is not valid YAML{where}: {problem}") from None


def load_subjects(root: Path, label: str = "working tree") -> SubjectsFile:
    """`contracts/subjects.yaml` under `root`; missing file = no subjects (a base before contracts)."""
    path = root / SUBJECTS_FILE
    if not path.exists():
        return SubjectsFile()
    try:
        return SubjectsFile.model_validate(_read_yaml(path, label))
    except ValidationError as exc:
        raise BadContractInput(f"{label}: {SUBJECTS_FILE}: {one_line(exc)}") from None


def load_consumers(root: Path, label: str = "working tree") -> ConsumersFile:
    """`contracts/consumers.yaml` under `root`; missing file = an empty map."""
    path = root / CONSUMERS_FILE
    if not path.exists():
        return ConsumersFile()
    try:
        return ConsumersFile.model_validate(_read_yaml(path, label))
    except ValidationError as exc:
        raise BadContractInput(f"{label}: {CONSUMERS_FILE}: {one_line(exc)}") from None


__all__ = [
    "CONSUMERS_FILE",
    "SUBJECTS_FILE",
    "Consumer",
    "ConsumerStatus",
    "ConsumersFile",
    "ReaderSchema",
    "SchemaVersion",
    "Subject",
    "SubjectsFile",
    "Topic",
    "load_consumers",
    "load_subjects",
]
