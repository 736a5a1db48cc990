"""The `contract_gate` DAG's steps, one function per task, keyed on the data interval.

Backs story 1's "added contract tests in Airflow pre-deploy". The DAG file
only wires these; each step reads its inputs from files the previous step
wrote under `<data_dir>/contracts/gate/<interval>/` and returns the path of
what it wrote, so every task is a transaction on its interval: a re-run
replaces the interval's files and leaves other intervals alone.

    resolve_contracts -> sample_topics    -> validate -> deploy -> publish
                      -> sample_warehouse ->

`deploy` and `publish` are the placeholders a real deploy would hang off:
they record the approved deploy (the contracts' commit and the report) and
its publication. They only run when `validate` passed, which is the point.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from contracts.errors import BadContractInput
from contracts.settings import ContractsSettings
from contracts.validate import store
from contracts.validate.check import sample_topics, sample_warehouse, validate
from contracts.validate.declared import DeclaredContracts, load_declared
from contracts.validate.model import ContractCheckFailed, ValidationReport
from contracts.validate.topics import Registry
from starlab.settings import ROOT, Settings

CONTRACTS = "contracts.json"


class ResolvedContracts(BaseModel):
    """Which contracts this interval's check validates against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contracts_root: str
    """A tree holding contracts/subjects.yaml (the repository, or the commit about to be deployed)."""
    manifest: str | None
    """dbt's manifest.json of the project whose contracted relations are checked; None: no dbt side."""


class DeployRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: date
    run_id: str
    contracts_root: str
    commit: str | None
    """HEAD of `contracts_root` when it is a git work tree."""
    report: str
    topics_checked: int
    relations_checked: int


class PublishRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: date
    run_id: str
    deploy: str
    """The deploy record this publication follows."""


def resolve_contracts(
    settings: Settings,
    interval: date,
    *,
    contracts_root: str | None,
    manifest: str | None,
    project_dir: str | None = None,
) -> Path:
    """Fix the contracts for the interval; without a manifest, dbt parses the project to make one."""
    from starlab.dbt import run_dbt

    root = Path(contracts_root).resolve() if contracts_root else ROOT
    out = store.interval_dir(settings, interval)
    manifest_path = Path(manifest).resolve() if manifest else None
    if manifest_path is None:
        project = Path(project_dir).resolve() if project_dir else root / "dbt_project"
        if project.is_dir():
            # Its own work dir: the parse never shares a target folder with a build.
            run = run_dbt(["parse"], settings, work_dir=out / "dbt", project_dir=project)
            manifest_path = out / "dbt" / "target" / "manifest.json"
            if not run.ok or not manifest_path.exists():
                raise BadContractInput(f"dbt parse of {project} failed:\n{run.tail(8)}")
    resolved = ResolvedContracts(
        contracts_root=str(root), manifest=str(manifest_path) if manifest_path else None
    )
    return store.write_model(out / CONTRACTS, resolved)


def _declared(settings: Settings, resolved_path: Path) -> DeclaredContracts:
    resolved = store.read_model(resolved_path, ResolvedContracts)
    manifest = Path(resolved.manifest) if resolved.manifest else None
    return load_declared(Path(resolved.contracts_root), manifest, settings)


def sample_topics_step(settings: Settings, cfg: ContractsSettings, resolved: Path) -> Path:
    samples = sample_topics(settings, cfg, _declared(settings, resolved))
    return store.write_topics(resolved.parent / store.TOPICS, samples)


def sample_warehouse_step(settings: Settings, cfg: ContractsSettings, resolved: Path) -> Path:
    samples = sample_warehouse(settings, cfg, _declared(settings, resolved))
    return store.write_relations(resolved.parent / store.RELATIONS, samples)


def validate_step(
    settings: Settings, interval: date, resolved: Path, topics: Path, relations: Path
) -> ValidationReport:
    """Write the interval's report; raise `ContractCheckFailed` if it has findings."""
    report = validate(
        _declared(settings, resolved),
        store.read_topics(topics),
        store.read_relations(relations),
        registry=Registry(settings.schema_registry_url),
        interval=interval,
    )
    store.write_model(resolved.parent / store.REPORT, report)
    if not report.passed:
        raise ContractCheckFailed(report)
    return report


def _commit(root: Path) -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def deploy_step(settings: Settings, interval: date, run_id: str) -> Path:
    """Record the approved deploy: the contracts' commit and the report that approved it."""
    folder = store.interval_dir(settings, interval)
    resolved = store.read_model(folder / CONTRACTS, ResolvedContracts)
    report = store.read_report(folder / store.REPORT)
    record = DeployRecord(
        interval=interval,
        run_id=run_id,
        contracts_root=resolved.contracts_root,
        commit=_commit(Path(resolved.contracts_root)),
        report=str(folder / store.REPORT),
        topics_checked=len(report.topics),
        relations_checked=len(report.relations),
    )
    return store.write_model(folder / store.DEPLOY, record)


def publish_step(settings: Settings, interval: date, run_id: str) -> Path:
    folder = store.interval_dir(settings, interval)
    record = PublishRecord(interval=interval, run_id=run_id, deploy=str(folder / store.DEPLOY))
    return store.write_model(folder / store.PUBLISH, record)


__all__ = [
    "DeployRecord",
    "PublishRecord",
    "ResolvedContracts",
    "deploy_step",
    "publish_step",
    "resolve_contracts",
    "sample_topics_step",
    "sample_warehouse_step",
    "validate_step",
]
