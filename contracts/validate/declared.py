"""What the pre-deploy check validates against: subjects, contracted models and their value tests.

Backs story 1's "contract tests in Airflow pre-deploy" with the same
declarations CI reads, so the two checks cannot disagree about what a
contract is:

- Avro subjects and their version files: `contracts/subjects.yaml` of the
  tree being deployed (read by the gate's own loader);
- contracted dbt model versions: columns and data types from dbt's
  manifest (`ManifestView`, the gate's view of it), and the relation each
  version builds;
- value tests: the `not_null` and `accepted_values` tests dbt declares on a
  model's columns, and on a source's columns, which reach the topic that
  source is landed from through `contracts/consumers.yaml` (`dbt_source`).
  Tests with a `where:` filter are left to dbt (a sample cannot apply it).

Names: the contracts use the stack's default topic names (`app.items`,
`engagement.events`); a test or the replay runs on its own names (another
CDC prefix, another events topic). `live_topic` and `localize_schema` map
one to the other from the settings, the way the rest of starlab derives
topic names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from contracts.errors import BadContractInput
from contracts.gate.avro import load_versions
from contracts.gate.declarations import VALUE_SUFFIX, load_consumers, load_subjects
from contracts.gate.manifest import ColumnContract, ManifestView, ModelNode
from starlab.schema import canonical_text, parse_schema
from starlab.settings import Settings

TOPIC_SETTINGS = ("events_topic", "dlq_topic", "late_topic", "metrics_topic")
"""Kernel settings that name a topic: a contract topic equal to one's default follows the setting."""


class ValueCheck(StrEnum):
    NOT_NULL = "not_null"
    ACCEPTED_VALUES = "accepted_values"


@dataclass(frozen=True)
class ValueTest:
    """A dbt `not_null` or `accepted_values` test on one column."""

    column: str
    kind: ValueCheck
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContractVersion:
    version: int
    canonical: str
    """Canonical text of the version file, namespaces localized to the live names."""
    text: str
    """The localized schema JSON, the reader schema of the decode checks."""


@dataclass(frozen=True)
class SubjectContract:
    subject: str
    contract_topic: str
    versions: tuple[ContractVersion, ...]
    value_tests: tuple[ValueTest, ...] = ()
    """Tests of the dbt source(s) this topic is landed into."""

    @property
    def latest(self) -> ContractVersion:
        return self.versions[-1]


@dataclass(frozen=True)
class ModelContract:
    label: str
    """`dim_items v1`."""
    relation: str
    """`schema.table` the version builds."""
    columns: tuple[ColumnContract, ...]
    value_tests: tuple[ValueTest, ...] = ()


@dataclass(frozen=True)
class DeclaredContracts:
    root: Path
    subjects: tuple[SubjectContract, ...]
    models: tuple[ModelContract, ...]


# --------------------------------------------------------------------------- names


def _default(name: str) -> str:
    return str(Settings.model_fields[name].default)


def live_topic(contract_topic: str, settings: Settings) -> str:
    """The live topic a contract topic maps to under `settings`."""
    for name in TOPIC_SETTINGS:
        if contract_topic == _default(name):
            return str(getattr(settings, name))
    prefix = _default("cdc_topic_prefix") + "."
    if contract_topic.startswith(prefix):
        return f"{settings.cdc_topic_prefix}.{contract_topic.removeprefix(prefix)}"
    return contract_topic


def localize_schema(schema: Any, settings: Settings) -> Any:
    """The schema with CDC namespaces moved to the live prefix (Debezium names records after the topic)."""
    prefix = _default("cdc_topic_prefix") + "."
    if isinstance(schema, dict):
        out = {k: localize_schema(v, settings) for k, v in schema.items()}
        ns = out.get("namespace")
        if isinstance(ns, str) and ns.startswith(prefix):
            out["namespace"] = f"{settings.cdc_topic_prefix}.{ns.removeprefix(prefix)}"
        return out
    if isinstance(schema, list):
        return [localize_schema(x, settings) for x in schema]
    return schema


def relation_of(node: ModelNode) -> str:
    """`schema.table` of a model version (the database part is the warehouse file's name)."""
    parts = [p.strip('"') for p in (node.relation_name or "").split(".") if p]
    return ".".join(parts[-2:]) if len(parts) >= 2 else (parts[0] if parts else "?")


# --------------------------------------------------------------------------- value tests


def value_tests(manifest: Mapping[str, Any]) -> dict[str, tuple[ValueTest, ...]]:
    """not_null / accepted_values tests per tested node (model version or source unique id)."""
    out: dict[str, list[ValueTest]] = {}
    for node in manifest.get("nodes", {}).values():
        meta = node.get("test_metadata") or {}
        name = meta.get("name")
        column = node.get("column_name")
        parents = (node.get("depends_on") or {}).get("nodes") or []
        if node.get("resource_type") != "test" or name not in ("not_null", "accepted_values"):
            continue
        if not column or len(parents) != 1 or (node.get("config") or {}).get("where"):
            continue
        values = tuple(str(v) for v in (meta.get("kwargs") or {}).get("values") or ())
        out.setdefault(parents[0], []).append(ValueTest(str(column), ValueCheck(name), values))
    return {uid: tuple(sorted(tests, key=lambda t: (t.column, t.kind))) for uid, tests in out.items()}


# --------------------------------------------------------------------------- loading


def load_manifest(path: Path) -> tuple[ManifestView, dict[str, tuple[ValueTest, ...]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadContractInput(f"cannot read dbt manifest {path}: {exc}") from None
    return ManifestView.from_json(data), value_tests(data)


def load_declared(contracts_root: Path, manifest: Path | None, settings: Settings) -> DeclaredContracts:
    """The value subjects of `contracts_root` and, given a manifest, the contracted model versions."""
    label = str(contracts_root)
    subjects_file = load_subjects(contracts_root, label)
    consumers = load_consumers(contracts_root, label)
    view, tests = load_manifest(manifest) if manifest is not None else (None, {})

    subjects: list[SubjectContract] = []
    for subject in subjects_file.subjects:
        if not subject.subject.endswith(VALUE_SUFFIX):
            continue  # keys are the primary key's type: nothing a sample can add
        versions = []
        for loaded in load_versions(subject, contracts_root, label):
            localized = json.dumps(localize_schema(dict(loaded.json), settings))
            canonical = canonical_text(parse_schema(localized, source=loaded.path, validate_defaults=False))
            versions.append(ContractVersion(loaded.version, canonical, localized))
        source_tests: list[ValueTest] = []
        for consumer in consumers.consumers_of(subject.topic):
            uid = view.source_id(consumer.dbt_source) if view and consumer.dbt_source else None
            source_tests += tests.get(uid, ()) if uid else ()
        subjects.append(SubjectContract(subject.subject, subject.topic, tuple(versions), tuple(source_tests)))

    models: list[ModelContract] = []
    if view is not None:
        for node in sorted(view.models.values(), key=lambda n: n.unique_id):
            if node.contract_enforced:
                models.append(
                    ModelContract(node.label, relation_of(node), node.columns, tests.get(node.unique_id, ()))
                )
    return DeclaredContracts(contracts_root, tuple(subjects), tuple(models))


__all__ = [
    "ContractVersion",
    "DeclaredContracts",
    "ModelContract",
    "SubjectContract",
    "ValueCheck",
    "ValueTest",
    "live_topic",
    "load_declared",
    "load_manifest",
    "localize_schema",
    "relation_of",
    "value_tests",
]
