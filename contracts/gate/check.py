"""`starlab contracts check --base REF`: every contract at REF vs the working tree, all violations at once.

Backs story 1's "implemented schema registry + contract checks in CI" and the
result "schema-related breakages fell from 4/quarter to 0": a pull request
that would break an Avro subject or a contracted dbt model fails here, with
every violation listed (not dbt's first), the rule, the fix, and the
consumers it would have broken. Steps:

1. resolve REF and materialize its tree (contracts/gate/git.py);
2. Avro subjects: contracts/gate/avro.py (the kernel's compatibility check);
3. dbt models: contracts/gate/dbt_state.py (dbt's own `state:modified`,
   isolated per model) and the versioning rules;
4. impact of every change from dbt's lineage and contracts/consumers.yaml;
5. the change request in the pull-request body, when one is given.

dbt is started only when needed: no parse at all when neither the dbt
project nor a subject changed, the head alone when only subjects changed
(their impact needs the lineage), both when the dbt project changed.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.gate import git
from contracts.gate.avro import compare_subjects
from contracts.gate.change_request import TEMPLATE_PATH, change_request_violations, check_change_request
from contracts.gate.dbt_state import (
    DBT_DIR,
    DbtFindings,
    DbtState,
    dbt_findings,
    deprecation_schedule,
    run_dbt_state,
)
from contracts.gate.declarations import load_consumers, load_subjects
from contracts.gate.impact import map_violations, topic_impact
from contracts.gate.manifest import ManifestView
from contracts.gate.model import GatePolicy, GateReport, Impact

Clock = Callable[[], date]
WORKING_TREE = "working tree"
# Folders dbt writes into; never part of a contract.
_DBT_OUTPUT = {"target", "logs", "dbt_packages"}


def utc_today() -> date:
    return datetime.now(UTC).date()


def tree_digest(folder: Path) -> str:
    """Content hash of a dbt project folder (its outputs excluded): equal digests, nothing to compare."""
    h = hashlib.sha256()
    if not folder.is_dir():
        return ""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if rel.parts[0] in _DBT_OUTPUT or rel.name == ".user.yml":
            continue
        h.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


@dataclass(frozen=True)
class GateInputs:
    """Where the two sides are and what the run is called in the report."""

    repo: Path
    base_ref: str
    head_ref: str | None = None
    """None: the working tree; else a commit to materialize (the weekly review)."""
    change_request: str | None = None
    """The pull-request body; None skips the change-request rule (local runs)."""


def run_gate(
    inputs: GateInputs,
    *,
    clock: Clock = utc_today,
    policy: GatePolicy | None = None,
    work_dir: Path | None = None,
    always_parse_head: bool = False,
) -> GateReport:
    """Judge every contract; raises `BadContractInput` for input it cannot judge (exit 2).

    `clock` gives the change date (the deprecation notice counts from it).
    `work_dir` keeps the materialized trees and dbt's artifacts (manifests,
    logs) for inspection; default: a temp dir removed afterwards.
    """
    policy = policy or GatePolicy()
    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="contracts-gate-") as tmp:
            return _run(inputs, clock, policy, Path(tmp), always_parse_head)
    return _run(inputs, clock, policy, work_dir, always_parse_head)


def _run(
    inputs: GateInputs, clock: Clock, policy: GatePolicy, work: Path, always_parse_head: bool
) -> GateReport:
    repo = git.repo_root(inputs.repo)
    base_commit = git.resolve(repo, inputs.base_ref)
    base_root = git.materialize(repo, base_commit, _fresh(work / "base"))
    if inputs.head_ref is None:
        head_root, head_label = repo, WORKING_TREE
    else:
        head_commit = git.resolve(repo, inputs.head_ref)
        head_root, head_label = git.materialize(repo, head_commit, _fresh(work / "head")), head_commit
    change_date = clock()
    base_label = f"base {inputs.base_ref}"

    base_subjects = load_subjects(base_root, base_label)
    head_subjects = load_subjects(head_root, head_label)
    consumers = load_consumers(head_root, head_label)

    dbt_changed = tree_digest(base_root / DBT_DIR) != tree_digest(head_root / DBT_DIR)
    subjects_changed = base_subjects != head_subjects or any(
        (base_root / v.path).read_bytes() != (head_root / v.path).read_bytes()
        for s in head_subjects.subjects
        for v in s.versions
        if (base_root / v.path).exists() and (head_root / v.path).exists()
    )
    state: DbtState | None = None
    if (head_root / DBT_DIR).is_dir() and (dbt_changed or subjects_changed or always_parse_head):
        has_base_project = (base_root / DBT_DIR).is_dir()
        state = run_dbt_state(
            head_project=head_root / DBT_DIR,
            base_project=base_root / DBT_DIR if dbt_changed and has_base_project else None,
            work_dir=work / "dbt",
        )
        if not has_base_project:
            # No dbt project at the base: every contracted model is new.
            state = DbtState(ManifestView({}, {}, {}, {}), state.head, state.verdicts)
    head_view = state.head if state else None

    def impact_of_topic(topic: str) -> Impact:
        return topic_impact(topic, consumers, head_view)

    avro = compare_subjects(
        base_subjects,
        head_subjects,
        base_root=base_root,
        head_root=head_root,
        consumers=consumers,
        impact_of_topic=impact_of_topic,
        base_label=base_label,
    )
    dbt = (
        dbt_findings(state, change_date=change_date, policy=policy)
        if state is not None and state.base is not None
        else DbtFindings()
    )
    if state is not None and state.base is None:
        # The dbt project did not change: only the deprecation schedule is of interest.
        dbt.deprecations = deprecation_schedule(state.head)
    changes = [*avro.changes, *dbt.changes]
    violations = [*avro.violations, *dbt.violations]
    if head_view is not None:
        violations += map_violations(consumers, head_view)
    if inputs.change_request is not None:
        template_file = head_root / TEMPLATE_PATH
        template = template_file.read_text(encoding="utf-8") if template_file.exists() else None
        result = check_change_request(inputs.change_request, template)
        violations += change_request_violations(result, changes)

    return GateReport(
        base_ref=inputs.base_ref,
        base_commit=base_commit,
        head=head_label,
        change_date=change_date,
        policy=policy,
        subjects_checked=len(head_subjects.subjects),
        models_checked=len(head_view.contracted_names()) if head_view else 0,
        changes=tuple(changes),
        violations=tuple(violations),
        deprecations=tuple(dbt.deprecations),
        dbt_parsed=state is not None,
    )


def _fresh(path: Path) -> Path:
    """An empty directory at `path` (a previous run's files removed)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


__all__ = ["WORKING_TREE", "Clock", "GateInputs", "run_gate", "tree_digest", "utc_today"]
