"""The replay's scratch repository: the contracts, the dbt project and the app's migrations in real git.

Backs story 1's "contract checks in CI" inside the replay: every change of
the script is a commit here, on a branch off `main` (a pull request), and
with the gate `run_gate` judges that commit against `main` exactly as CI
judges a pull request; a blocked change gets a fix commit on its branch
(the versioning path), and only what passed is merged. Production is an
export of `main` (`git archive`), so what the DAGs run is what was merged.

The repository holds copies of this repository's dbt_project/, the contract
declarations and version files, the change-request template, and
`app/migrations/`, the app team's numbered SQL files (applied to the app
database with the kernel's `apply_migrations`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from contracts.errors import BadContractInput, ContractsError
from contracts.gate.change_request import TEMPLATE_PATH
from contracts.gate.declarations import CONSUMERS_FILE, SUBJECTS_FILE, load_subjects
from contracts.gate.git import materialize
from contracts.replay.script import Change, Edits, apply_avro_ops
from starlab.settings import ROOT

MIGRATIONS = Path("app/migrations")
DBT_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml")
FIRST_MIGRATION = 201
"""Above the kernel's baseline (00xx) and story 1's items v2 expand (0101)."""
GIT_TIMEOUT_S = 60


@dataclass(frozen=True)
class EditContext:
    """Values a commit's edits are rendered with."""

    change_date: date
    deprecation_date: date


class ScratchRepo:
    """A git repository with helpers to commit a change's edits (one instance per replay arm)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_migration = FIRST_MIGRATION

    # --- git ---------------------------------------------------------------

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            raise ContractsError(f"git {' '.join(args)}: {(proc.stderr or proc.stdout).strip()[:300]}")
        return proc.stdout.strip()

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref)

    def checkout(self, ref: str, *, new: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), ref)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def revert_no_commit(self, commit: str) -> None:
        """Undo a commit's file changes in the work tree (committed with what follows)."""
        self.git("revert", "--no-commit", commit)

    def merge_into_main(self, branch: str, message: str) -> str:
        self.checkout("main")
        try:
            self.git("merge", "--no-ff", "-q", "-m", message, branch)
        except ContractsError as exc:
            subprocess.run(
                ["git", "-C", str(self.path), "merge", "--abort"], capture_output=True, check=False
            )
            raise ContractsError(
                f"{branch} does not merge into main (two changes of the script edit the same lines "
                f"while both are open): {exc}"
            ) from None
        return self.head()

    def export(self, dest: Path, ref: str = "main") -> Path:
        """Production: the tree of `ref`, written to `dest` (replaced)."""
        if dest.exists():
            shutil.rmtree(dest)
        return materialize(self.path, self.head(ref), dest)

    # --- creation --------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, source: Path = ROOT) -> ScratchRepo:
        """Copy the project's contracts and dbt project into a new repository with one commit."""
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        shutil.copytree(source / "dbt_project", path / "dbt_project", ignore=DBT_IGNORE)
        versions = [v.path for s in load_subjects(source).subjects for v in s.versions]
        for rel in (str(SUBJECTS_FILE), str(CONSUMERS_FILE), str(TEMPLATE_PATH), *versions):
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
        # Written the way every commit writes it (yaml.safe_dump), so a commit's diff is
        # its own version lines, not a reformatted file that conflicts with every other.
        subjects = path / SUBJECTS_FILE
        subjects.write_text(yaml.safe_dump(yaml.safe_load(subjects.read_text()), sort_keys=False, width=110))
        (path / MIGRATIONS).mkdir(parents=True)
        (path / MIGRATIONS / ".keep").write_text("app team's migrations after the baseline\n")
        repo = cls(path)
        repo.git("init", "-q", "-b", "main")
        repo.git("config", "user.email", "replay@starlab.invalid")
        repo.git("config", "user.name", "starlab replay")
        repo.git("config", "commit.gpgsign", "false")
        repo.commit("baseline: the project's contracts, dbt project and app migrations")
        return repo

    # --- edits -------------------------------------------------------------------

    def add_migration(self, name: str, sql: str) -> Path:
        rel = MIGRATIONS / f"{self._next_migration:04d}_{name.lower()}.sql"
        self._next_migration += 1
        (self.path / rel).write_text(sql.rstrip() + "\n")
        return rel

    def _subjects(self) -> dict[str, Any]:
        data = yaml.safe_load((self.path / SUBJECTS_FILE).read_text())
        return dict(data)

    def latest_version(self, subject: str) -> tuple[int, Path]:
        """(number, repository path) of a subject's latest version file."""
        entry = load_subjects(self.path).get(subject)
        if entry is None or not entry.versions:
            raise BadContractInput(f"replay script: subject {subject} is not in {SUBJECTS_FILE}")
        last = entry.versions[-1]
        return last.version, Path(last.path)

    def add_schema_version(self, subject: str, schema: dict[str, Any]) -> Path:
        number, last_path = self.latest_version(subject)
        folder = (
            last_path.parent
            if last_path.name == f"v{number}.avsc"
            else Path("contracts/schemas") / subject  # version 1 lives elsewhere (the kernel's file)
        )
        rel = folder / f"v{number + 1}.avsc"
        (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (self.path / rel).write_text(json.dumps(schema, indent=2) + "\n")
        data = self._subjects()
        for s in data["subjects"]:
            if s["subject"] == subject:
                s["versions"].append({"version": number + 1, "path": str(rel)})
        (self.path / SUBJECTS_FILE).write_text(yaml.safe_dump(data, sort_keys=False, width=110))
        return rel

    def schema(self, rel: Path) -> dict[str, Any]:
        return dict(json.loads((self.path / rel).read_text()))

    def _replace(self, rel: str, old: str, new: str, label: str) -> None:
        path = self.path / rel
        if not path.exists():
            raise BadContractInput(f"replay script: {label}: {rel} does not exist")
        text = path.read_text()
        if old not in text:
            raise BadContractInput(f"replay script: {label}: {rel} does not contain {old[:60]!r}")
        path.write_text(text.replace(old, new, 1))

    def apply(self, edits: Edits, name: str, ctx: EditContext) -> list[str]:
        """Write a change's (or fix's) edits into the work tree; returns the paths touched."""
        touched: list[str] = []
        if edits.app_db is not None:
            touched.append(str(self.add_migration(name, edits.app_db.sql)))
        if edits.contract is not None:
            _, last = self.latest_version(edits.contract.subject)
            version = apply_avro_ops(self.schema(last), edits.contract.avro)
            touched.append(str(self.add_schema_version(edits.contract.subject, version)))
        render = {
            "{deprecation_date}": ctx.deprecation_date.isoformat(),
            "{change_date}": ctx.change_date.isoformat(),
        }

        def rendered(text: str) -> str:
            for key, value in render.items():
                text = text.replace(key, value)
            return text

        for i, op in enumerate(edits.dbt):
            label = f"{name} dbt[{i}]"
            if op.replace is not None:
                self._replace(op.replace.file, op.replace.old, rendered(op.replace.new), label)
                touched.append(op.replace.file)
            elif op.copy_file is not None:
                src = self.path / op.copy_file.src
                if not src.exists():
                    raise BadContractInput(f"replay script: {label}: {op.copy_file.src} does not exist")
                text = src.read_text()
                for old, new in op.copy_file.replace:
                    if old not in text:
                        raise BadContractInput(
                            f"replay script: {label}: {op.copy_file.src} lacks {old[:60]!r}"
                        )
                    text = text.replace(old, rendered(new), 1)
                (self.path / op.copy_file.dest).write_text(text)
                touched.append(op.copy_file.dest)
        return touched


def change_request(change: Change, edits: Edits, impact: Sequence[str] = ()) -> str:
    """The pull-request body: the change-request template's sections, filled from the script."""
    fix = change.fix
    plan = (
        "merge after review; the app team deploys it, analytics picks it up in the next daily run"
        if edits is change
        else f"{edits.title}; the old shape stays readable until every consumer has moved"
    )
    return (
        f"## Owner\n{change.owner}\n\n"
        f"## Rationale\n{change.rationale}\n\n"
        f"## Rollout plan\n{plan}\n\n"
        f"## Impact\n{', '.join(impact) if impact else 'as listed by the contract gate for this commit'}\n\n"
        f"## Mitigation\n{fix.title if fix else 'additive change: existing readers ignore it'}; "
        "revert the commit to roll back\n\n"
        f"## Timeline\nopened on day {change.day}, review {change.review_days} day(s)\n"
    )


__all__ = ["FIRST_MIGRATION", "MIGRATIONS", "EditContext", "ScratchRepo", "change_request"]
