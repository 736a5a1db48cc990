"""A typed view of dbt's manifest.json: contracted models, versions, lineage, exposures.

Backs story 1's "mapped lineage for 8 critical tables": the gate reads the
lineage dbt itself computed (`child_map`) rather than parsing SQL, so a
change's impact is exactly the models and exposures dbt would rebuild or
break. Only what the gate uses is kept; the JSON is read once here and the
rest of the gate works on these dataclasses.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from contracts.errors import BadContractInput
from contracts.gate.deprecation import VersionedModel, VersionInfo, version_key


def normalize_type(data_type: str | None) -> str:
    """dbt's own comparison: case-insensitive, size/precision/scale ignored (varchar(10) == varchar)."""
    if not data_type:
        return ""
    return data_type.partition("(")[0].strip().lower()


@dataclass(frozen=True)
class ColumnContract:
    name: str
    data_type: str | None
    constraints: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelNode:
    """One model version (or an unversioned model) as dbt parsed it."""

    unique_id: str
    name: str
    version: str | None
    latest_version: str | None
    contract_enforced: bool
    columns: tuple[ColumnContract, ...]
    constraints: tuple[str, ...]
    materialized: str
    relation_name: str | None
    deprecation_date: date | None
    original_file_path: str
    patch_path: str | None

    @property
    def label(self) -> str:
        """`stg_users v1` for a version, `stg_users` for an unversioned model."""
        return f"{self.name} v{self.version}" if self.version is not None else self.name

    def column(self, name: str) -> ColumnContract | None:
        return next((c for c in self.columns if c.name == name), None)

    def contract_shape(self) -> tuple[object, ...]:
        """What a contract consists of; two nodes with equal shapes have the same contract."""
        return (
            self.contract_enforced,
            tuple(sorted((c.name, normalize_type(c.data_type), c.constraints) for c in self.columns)),
            self.constraints,
            self.materialized if self.contract_enforced else None,
            self.relation_name,
            self.deprecation_date,
            self.latest_version,
        )


@dataclass(frozen=True)
class ManifestView:
    """Models by unique id, exposures and sources by unique id, dbt's child_map."""

    models: Mapping[str, ModelNode]
    exposures: Mapping[str, str]
    """unique id -> exposure name."""
    sources: Mapping[str, str]
    """unique id -> `source_name.table` (e.g. `lake.events`)."""
    child_map: Mapping[str, tuple[str, ...]]

    # --- lookups -------------------------------------------------------------

    def versions_of(self, name: str) -> list[ModelNode]:
        nodes = [n for n in self.models.values() if n.name == name]
        return sorted(nodes, key=lambda n: version_key(n.version or ""))

    def model_names(self) -> set[str]:
        return {n.name for n in self.models.values()}

    def contracted_names(self) -> set[str]:
        return {n.name for n in self.models.values() if n.contract_enforced}

    def source_id(self, dotted: str) -> str | None:
        return next((uid for uid, name in self.sources.items() if name == dotted), None)

    def versioned_model(self, name: str) -> VersionedModel | None:
        nodes = self.versions_of(name)
        if not nodes:
            return None
        return VersionedModel(
            name=name,
            latest=nodes[0].latest_version,
            versions=tuple(
                VersionInfo(n.version, n.deprecation_date) for n in nodes if n.version is not None
            ),
        )

    # --- lineage ---------------------------------------------------------------

    def downstream(self, start: Iterable[str]) -> tuple[list[str], list[str]]:
        """(model labels, exposure names) reachable from `start` through child_map (tests skipped)."""
        seen: set[str] = set()
        queue = deque(start)
        starts = set(queue)
        models: set[str] = set()
        exposures: set[str] = set()
        while queue:
            uid = queue.popleft()
            for child in self.child_map.get(uid, ()):
                if child in seen:
                    continue
                seen.add(child)
                if child in self.models and child not in starts:
                    models.add(self.models[child].label)
                    queue.append(child)
                elif child in self.exposures:
                    exposures.add(self.exposures[child])
        return sorted(models), sorted(exposures)

    # --- loading ---------------------------------------------------------------

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ManifestView:
        models = {
            uid: _model(uid, node)
            for uid, node in data.get("nodes", {}).items()
            if node.get("resource_type") == "model"
        }
        exposures = {uid: str(e["name"]) for uid, e in data.get("exposures", {}).items()}
        sources = {uid: f"{s['source_name']}.{s['name']}" for uid, s in data.get("sources", {}).items()}
        child_map = {uid: tuple(children) for uid, children in data.get("child_map", {}).items()}
        return cls(models, exposures, sources, child_map)

    @classmethod
    def load(cls, path: Path) -> ManifestView:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            raise BadContractInput(f"cannot read dbt manifest {path}: {exc}") from None


def continuation(old: list[ModelNode], new: list[ModelNode]) -> ModelNode | None:
    """The version that continues an unversioned model which this change versioned, if any.

    Adding `versions:` to a model renames its node (`model.p.m` -> `model.p.m.v1`),
    which dbt's state comparison reads as the contracted model being deleted.
    The old node is compared with the version that builds its relation (else
    the latest one) instead: same columns and relation, no breaking change.
    """
    if len(old) != 1 or old[0].version is not None or not new or any(n.version is None for n in new):
        return None
    same_relation = [n for n in new if n.relation_name == old[0].relation_name]
    if same_relation:
        return same_relation[0]
    return next((n for n in new if n.version == n.latest_version), new[-1])


def changed_contracts(old: ManifestView, new: ManifestView) -> list[str]:
    """Models whose contract differs: enforced on either side and any version's contract shape changed."""
    out = []
    for name in sorted(old.contracted_names() | new.contracted_names()):
        before = {n.unique_id: n.contract_shape() for n in old.versions_of(name)}
        after = {n.unique_id: n.contract_shape() for n in new.versions_of(name)}
        if before != after:
            out.append(name)
    return out


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _date(value: object) -> date | None:
    # dbt writes deprecation_date as an ISO datetime ("2027-01-15T00:00:00+00:00")
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    return datetime.fromisoformat(str(value)).date()


def _constraints(items: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(sorted(f"{c.get('type')}:{c.get('name') or ''}:{c.get('columns') or ''}" for c in items))


def _model(uid: str, node: Mapping[str, Any]) -> ModelNode:
    config = node.get("config", {})
    contract = node.get("contract") or config.get("contract") or {}
    columns = tuple(
        ColumnContract(str(c["name"]), _text(c.get("data_type")), _constraints(c.get("constraints", [])))
        for c in node.get("columns", {}).values()
    )
    patch = node.get("patch_path")
    return ModelNode(
        unique_id=uid,
        name=str(node["name"]),
        version=_text(node.get("version")),
        latest_version=_text(node.get("latest_version")),
        contract_enforced=bool(contract.get("enforced", False)),
        columns=columns,
        constraints=_constraints(node.get("constraints", [])),
        materialized=str(config.get("materialized", "")),
        relation_name=_text(node.get("relation_name")),
        deprecation_date=_date(node.get("deprecation_date")),
        original_file_path=str(node.get("original_file_path", "")),
        patch_path=str(patch).split("://", 1)[-1] if patch else None,
    )


__all__ = [
    "ColumnContract",
    "ManifestView",
    "ModelNode",
    "changed_contracts",
    "continuation",
    "normalize_type",
]
