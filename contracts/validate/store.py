"""Where the `contract_gate` DAG keeps one interval's samples, report and deploy records.

Backs story 1's "contract tests in Airflow pre-deploy" with the Airflow
convention that tasks are transactions keyed on the data interval: every file
lives under `<data_dir>/contracts/gate/<YYYY-MM-DD>/` and is replaced whole
(atomic write), so a re-run of an interval overwrites its own files and never
mixes with another interval's. Tasks hand each other these paths, not objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter

from contracts.errors import ContractsError
from contracts.validate.model import RelationSample, TopicSample, ValidationReport
from starlab.atomic import write_text_atomic
from starlab.settings import Settings

M = TypeVar("M", bound=BaseModel)

TOPICS = "topics.json"
RELATIONS = "relations.json"
REPORT = "report.json"
DEPLOY = "deploy.json"
PUBLISH = "publish.json"

_TOPICS = TypeAdapter(tuple[TopicSample, ...])
_RELATIONS = TypeAdapter(tuple[RelationSample, ...])


def interval_dir(settings: Settings, interval: date) -> Path:
    return settings.data_dir / "contracts" / "gate" / interval.isoformat()


def write_topics(path: Path, samples: Sequence[TopicSample]) -> Path:
    write_text_atomic(path, _TOPICS.dump_json(tuple(samples), indent=1).decode())
    return path


def read_topics(path: Path) -> tuple[TopicSample, ...]:
    return _TOPICS.validate_json(_read(path))


def write_relations(path: Path, samples: Sequence[RelationSample]) -> Path:
    write_text_atomic(path, _RELATIONS.dump_json(tuple(samples), indent=1).decode())
    return path


def read_relations(path: Path) -> tuple[RelationSample, ...]:
    return _RELATIONS.validate_json(_read(path))


def write_model(path: Path, model: BaseModel) -> Path:
    write_text_atomic(path, model.model_dump_json(indent=1))
    return path


def read_model(path: Path, kind: type[M]) -> M:
    return kind.model_validate_json(_read(path))


def read_report(path: Path) -> ValidationReport:
    return read_model(path, ValidationReport)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ContractsError(f"cannot read {path}: {exc.strerror or exc}") from None


__all__ = [
    "DEPLOY",
    "PUBLISH",
    "RELATIONS",
    "REPORT",
    "TOPICS",
    "interval_dir",
    "read_model",
    "read_relations",
    "read_report",
    "read_topics",
    "write_model",
    "write_relations",
    "write_topics",
]
