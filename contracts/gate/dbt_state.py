"""dbt model contracts at the base vs the working tree: dbt's verdict, itemized, plus versioning rules.

Backs story 1's "contract checks in CI" for the 8 critical tables and the
follow-up "example rule and failure path". Division of labour:

- dbt decides whether a change to an enforced contract is breaking (its own
  `state:modified` check, run per model by contracts/gate/dbt_driver.py, with
  unversioned breaking changes made errors too);
- this module itemizes dbt's verdict per column (removed, type changed,
  likely renamed) from the two manifests, so each breakage is a violation
  with its own fix, and adds what dbt does not check: a version's relation
  name must not move (code reads `marts.rankings_blue`, not a version
  suffix), a superseded version needs a deprecation_date at least 14 days
  out (contracts/gate/deprecation.py), and a contracted model must be
  versioned so a breaking change has a path.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from contracts.errors import BadContractInput, ContractsError, ContractsTransientError
from contracts.gate.deprecation import check_deprecations, earliest_allowed, version_key
from contracts.gate.manifest import ManifestView, ModelNode, changed_contracts, continuation, normalize_type
from contracts.gate.model import (
    ChangeKind,
    ContractChange,
    ContractKind,
    Deprecation,
    GatePolicy,
    Impact,
    Rule,
    Violation,
)
from contracts.gate.renames import Column, likely_renames

DBT_DIR = "dbt_project"
CODE_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DbtVerdict:
    """dbt's `state:modified` answer for one model, isolated from the others."""

    model: str
    modified: tuple[str, ...]
    breaking: bool
    message: str | None


@dataclass(frozen=True)
class DbtState:
    base: ManifestView | None
    head: ManifestView
    verdicts: Mapping[str, DbtVerdict] = field(default_factory=dict)


def run_dbt_state(
    *, head_project: Path, base_project: Path | None, work_dir: Path, timeout_s: float = 900.0
) -> DbtState:
    """Parse both projects and get dbt's verdict per changed contracted model (one child process)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    request, result_path = work_dir / "request.json", work_dir / "result.json"
    result_path.unlink(missing_ok=True)
    request.write_text(
        json.dumps(
            {
                "work_dir": str(work_dir.resolve()),
                # One profile for both parses: the head's.
                "profiles_dir": str(head_project.resolve()),
                "head_project": str(head_project.resolve()),
                # One target folder per head folder, so artifacts of two heads never mix.
                "head_name": "head_" + hashlib.sha1(str(head_project.resolve()).encode()).hexdigest()[:8],
                "base_project": str(base_project.resolve()) if base_project else None,
            }
        )
    )
    env = {
        **os.environ,
        # Same absolute paths for both parses: the DuckDB file name becomes the
        # database of every node and the lake root part of every source's
        # location; if they differed, dbt would mark every source modified.
        "STARLAB_DATA_DIR": str((work_dir / "data").resolve()),
        "STARLAB_DUCKDB_PATH": str((work_dir / "contracts_gate.duckdb").resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PYTHONPATH": os.pathsep.join(p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    cmd = [sys.executable, "-m", "contracts.gate.dbt_driver", str(request), str(result_path)]
    try:
        proc = subprocess.run(
            cmd, env=env, cwd=CODE_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise ContractsTransientError(f"dbt's state comparison ran longer than {timeout_s:.0f} s") from None
    if proc.returncode != 0 or not result_path.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ContractsError(f"the dbt state check crashed (exit {proc.returncode}): {tail[0]}")
    data = json.loads(result_path.read_text())
    if data.get("error"):
        raise BadContractInput(str(data["error"]))
    base = ManifestView.load(Path(data["base_manifest"])) if data.get("base_manifest") else None
    verdicts = {
        v["model"]: DbtVerdict(v["model"], tuple(v["modified"]), bool(v["breaking"]), v["message"])
        for v in data["verdicts"]
    }
    return DbtState(base, ManifestView.load(Path(data["head_manifest"])), verdicts)


# --------------------------------------------------------------------------- findings


@dataclass
class DbtFindings:
    changes: list[ContractChange] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    deprecations: list[Deprecation] = field(default_factory=list)


def model_impact(view: ManifestView, nodes: Sequence[ModelNode]) -> Impact:
    models, exposures = view.downstream(n.unique_id for n in nodes)
    return Impact(models=tuple(models), exposures=tuple(exposures))


def _alias(relation: str | None) -> str:
    return (relation or "").split(".")[-1].strip('"') or "?"


def _relation(relation: str | None) -> str:
    """`schema.table` of a relation name: the database part is the gate's own DuckDB file."""
    parts = [p.strip('"') for p in (relation or "?").split(".")]
    return ".".join(parts[-2:])


def dbt_evidence(message: str | None, lines: int = 8) -> tuple[str, ...]:
    """dbt's message without its generic header ("Compilation Error", "[WARNING]:")."""
    out = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if out and out[0] == "Compilation Error":
        out = out[1:]
    return tuple(line.removeprefix("[WARNING]:").strip() for line in out[:lines])


def _paths(nodes: Sequence[ModelNode]) -> tuple[str, ...]:
    found = {f"{DBT_DIR}/{p}" for n in nodes for p in (n.original_file_path, n.patch_path) if p}
    return tuple(sorted(found))


@dataclass
class _Model:
    """What one model's judgement needs, and where its findings go."""

    name: str
    base: dict[str, ModelNode]
    head: dict[str, ModelNode]
    impact: Impact
    change_date: date
    policy: GatePolicy
    violations: list[Violation] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def earliest(self) -> str:
        return earliest_allowed(self.change_date, self.policy.min_deprecation_days).isoformat()

    @property
    def next_version(self) -> str:
        numbers = [float(v) for v in (*self.base, *self.head) if v and v.replace(".", "", 1).isdigit()]
        return str(int(max(numbers, default=0)) + 1)

    def add(self, rule: Rule, node: ModelNode, changed: str, fix: str, evidence: Sequence[str] = ()) -> None:
        self.violations.append(
            Violation(rule, self.name, f"model {node.label}", changed, fix, self.impact, tuple(evidence))
        )

    def versioning_fix(self, node: ModelNode, keep: str) -> str:
        """The one-line fix of a breaking change: keep the old shape, ship the new one as a version."""
        if node.version is None:
            return (
                f"keep {keep}; version the model (v1 as it is, alias {self.name}) and ship the change "
                f"as v2, with v1's deprecation_date on or after {self.earliest}"
            )
        return (
            f"keep {keep} in {node.label}; ship the change as version {self.next_version} (a new "
            f"relation) and give v{node.version} a deprecation_date on or after {self.earliest}"
        )


def _itemize_breaking(m: _Model, old: ModelNode, new: ModelNode, evidence: Sequence[str]) -> int:
    """One violation per broken column of a version both sides have; returns how many."""
    before = len(m.violations)
    if old.contract_enforced and not new.contract_enforced:
        m.add(
            Rule.DBT_CONTRACT_DISABLED,
            new,
            "contract enforcement removed (contract: {enforced: false} or deleted)",
            m.versioning_fix(new, "contract: {enforced: true}"),
            evidence,
        )
        return len(m.violations) - before
    removed = [Column(c.name, normalize_type(c.data_type)) for c in old.columns if new.column(c.name) is None]
    added = [Column(c.name, normalize_type(c.data_type)) for c in new.columns if old.column(c.name) is None]
    renames = likely_renames(removed, added)
    renamed = {r.old for r in renames}
    for r in renames:
        m.add(
            Rule.DBT_COLUMN_RENAMED,
            new,
            f"column {r.old} looks renamed to {r.new} ({r.type or 'no data_type'}, name similarity "
            f"{r.similarity}); dbt sees {r.old} removed",
            m.versioning_fix(new, r.old).replace("ship the change", f"add {r.new}", 1),
            evidence,
        )
    for c in removed:
        if c.name not in renamed:
            m.add(
                Rule.DBT_COLUMN_REMOVED,
                new,
                f"column {c.name} ({c.type or 'no data_type'}) removed from the enforced contract",
                m.versioning_fix(new, c.name),
                evidence,
            )
    for col in old.columns:
        now = new.column(col.name)
        if now is not None and normalize_type(now.data_type) != normalize_type(col.data_type):
            m.add(
                Rule.DBT_COLUMN_TYPE_CHANGED,
                new,
                f"column {col.name} data_type {col.data_type} -> {now.data_type}",
                m.versioning_fix(new, f"{col.name} as {col.data_type}"),
                evidence,
            )
    return len(m.violations) - before


def _describe_columns(old: ModelNode, new: ModelNode, prefix: str) -> list[str]:
    out = []
    added = [c.name for c in new.columns if old.column(c.name) is None]
    removed = [c.name for c in old.columns if new.column(c.name) is None]
    pairs = [(c, n) for c in old.columns if (n := new.column(c.name)) is not None]
    # A type declared where there was none (a contract being introduced) is not a type change.
    typed = [c.name for c, n in pairs if not c.data_type and n.data_type]
    retyped = [
        f"{c.name} {c.data_type}->{n.data_type}"
        for c, n in pairs
        if c.data_type and normalize_type(n.data_type) != normalize_type(c.data_type)
    ]
    if added:
        out.append(f"{prefix}adds column(s) {', '.join(added)}")
    if removed:
        out.append(f"{prefix}removes column(s) {', '.join(removed)}")
    if typed:
        out.append(f"{prefix}declares data_type of {len(typed)} column(s)")
    if retyped:
        out.append(f"{prefix}changes type of {', '.join(retyped)}")
    return out


def _judge(m: _Model, verdict: DbtVerdict | None) -> bool:
    """Fill m.violations and m.details; returns whether the change breaks the old shape."""
    breaking = False
    evidence = dbt_evidence(verdict.message) if verdict and verdict.breaking else ()
    itemized = 0
    for key in sorted(set(m.base) | set(m.head), key=version_key):
        old, new = m.base.get(key), m.head.get(key)
        if old is not None and new is not None:
            m.details += _describe_columns(old, new, f"{new.label}: ")
            if old.contract_enforced != new.contract_enforced:
                m.details.append(f"{new.label}: contract enforced -> {new.contract_enforced}")
            if old.deprecation_date != new.deprecation_date:
                m.details.append(f"{new.label}: deprecation_date -> {new.deprecation_date}")
            if verdict is not None and verdict.breaking:
                itemized += _itemize_breaking(m, old, new, evidence)
            if old.version is None and new.version is not None:
                m.details.append(f"{old.label} versioned as {new.label}")
            if (old.contract_enforced or new.contract_enforced) and old.relation_name != new.relation_name:
                breaking = True
                moved = f"{_relation(old.relation_name)} -> {_relation(new.relation_name)}"
                m.details.append(f"{new.label}: relation {moved}")
                m.add(
                    Rule.DBT_RELATION_CHANGED,
                    new,
                    f"builds {_relation(new.relation_name)} instead of {_relation(old.relation_name)}",
                    f"set config: {{alias: {_alias(old.relation_name)}}} on {new.label}: consumers read "
                    "that relation by name",
                )
        elif old is not None:
            m.details.append(f"{old.label} removed")
            breaking = True
            if verdict is not None and verdict.breaking:
                itemized += 1
                d = old.deprecation_date
                m.add(
                    Rule.DBT_VERSION_REMOVED,
                    old,
                    f"contracted {old.label} removed "
                    + (f"before its deprecation_date {d}" if d else "without a deprecation_date"),
                    f"keep {old.label} until {d}, then remove it"
                    if d
                    else f"restore {old.label}, give it a deprecation_date on or after {m.earliest}, "
                    "and remove it after that date",
                    evidence,
                )
        elif new is not None:
            m.details.append(
                f"{new.label} added" + (" (latest)" if new.version == new.latest_version else "")
            )
            previous = [n for k, n in m.base.items() if k and version_key(k) < version_key(key)]
            if previous:
                prior = max(previous, key=lambda n: version_key(n.version or ""))
                diff = _describe_columns(prior, new, f"{new.label} vs {prior.label}: ")
                m.details += diff
                breaking = breaking or any("removes" in d or "changes type" in d for d in diff)
    if verdict is not None and verdict.breaking:
        breaking = True
        if itemized == 0:
            node = next(iter(m.head.values()), None) or next(iter(m.base.values()))
            m.add(
                Rule.DBT_CONTRACT_BROKEN,
                node,
                (verdict.message or "dbt reports a breaking change").splitlines()[0],
                m.versioning_fix(node, "the contracted shape"),
                evidence,
            )
    return breaking


def deprecation_schedule(view: ManifestView) -> list[Deprecation]:
    """Every model version with a deprecation_date, soonest first."""
    out = []
    for node in view.models.values():
        if node.deprecation_date is not None and node.version is not None:
            latest = node.latest_version
            superseded = latest if latest and version_key(node.version) < version_key(latest) else None
            out.append(Deprecation(node.name, node.version, node.deprecation_date, superseded))
    return sorted(out, key=lambda d: (d.deprecation_date, d.model, version_key(d.version)))


def dbt_findings(state: DbtState, *, change_date: date, policy: GatePolicy) -> DbtFindings:
    """Changes and violations of every contracted model that differs (all of them, in one pass)."""
    out = DbtFindings()
    base_view = state.base
    empty = ManifestView({}, {}, {}, {})
    names = changed_contracts(base_view or empty, state.head)
    for name in names:
        base_list = base_view.versions_of(name) if base_view else []
        base_nodes = {n.version or "": n for n in base_list}
        head_nodes = {n.version or "": n for n in state.head.versions_of(name)}
        successor = continuation(base_list, list(head_nodes.values()))
        if successor is not None:  # versioned by this change: compare the old node with its successor
            base_nodes = {successor.version or "": base_list[0]}
        impact = model_impact(state.head, list(head_nodes.values()))
        if base_view is not None:
            impact = impact.merge(model_impact(base_view, list(base_nodes.values())))
        m = _Model(name, base_nodes, head_nodes, impact, change_date, policy)
        breaking = _judge(m, state.verdicts.get(name))
        head_model = state.head.versioned_model(name)
        if head_model is not None:
            base_model = base_view.versioned_model(name) if base_view else None
            for f in check_deprecations(base_model, head_model, change_date, policy.min_deprecation_days):
                m.add(f.rule, head_nodes[f.version], f.changed, f.fix)
        contracted_unversioned = [n for n in head_nodes.values() if n.version is None and n.contract_enforced]
        for node in contracted_unversioned:
            m.add(
                Rule.DBT_CONTRACT_UNVERSIONED,
                node,
                f"{name} has an enforced contract but no versions",
                f"add latest_version: 1 and versions: [{{v: 1, config: {{alias: "
                f"{_alias(node.relation_name)}}}}}] to {name}",
            )
        if not base_nodes:
            kind = ChangeKind.ADDED
            m.details.insert(0, f"new contracted model ({', '.join(n.label for n in head_nodes.values())})")
        elif not head_nodes:
            kind = ChangeKind.REMOVED
        else:
            kind = ChangeKind.MODIFIED
        out.violations += m.violations
        out.changes.append(
            ContractChange(
                ContractKind.DBT_MODEL,
                name,
                kind,
                tuple(m.details) or ("contract configuration changed",),
                breaking,
                impact,
                _paths([*base_nodes.values(), *head_nodes.values()]),
            )
        )
    out.deprecations = deprecation_schedule(state.head)
    return out


__all__ = [
    "DbtFindings",
    "DbtState",
    "DbtVerdict",
    "dbt_findings",
    "deprecation_schedule",
    "model_impact",
    "run_dbt_state",
]
