"""Git plumbing for the gate: resolve a ref, materialize its tree, read history.

Backs story 1's "contract checks in CI": the gate compares every contract at
the pull request's base with the working tree, so it needs the base's files
as a directory (dbt parses a project folder, not a blob). `git archive`
extracted into a temp dir does that without touching the repository (no
worktree bookkeeping left behind if the gate is killed). The weekly review
reads the same history through `git log`.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from contracts.errors import BadContractInput, ContractsError

TIMEOUT_S = 120.0


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, timeout=TIMEOUT_S, check=False
        )
    except FileNotFoundError:
        raise ContractsError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise ContractsError(f"git {' '.join(args)} took longer than {TIMEOUT_S:.0f} s") from None


def _text(repo: Path, *args: str) -> str:
    proc = _git(repo, *args)
    if proc.returncode != 0:
        raise ContractsError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode()


def repo_root(path: Path) -> Path:
    """The top of the git work tree holding `path` (bad input if it is not in one)."""
    proc = _git(path, "rev-parse", "--show-toplevel")
    if proc.returncode != 0:
        raise BadContractInput(f"{path} is not inside a git repository")
    return Path(proc.stdout.decode().strip())


def resolve(repo: Path, ref: str) -> str:
    """The commit id `ref` names; an unknown ref is bad input (exit 2)."""
    if not ref or ref.startswith("-"):
        raise BadContractInput(f"not a git ref: {ref!r}")
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if proc.returncode != 0:
        raise BadContractInput(
            f"unknown git ref {ref!r} (in CI, check out with fetch-depth: 0 so the base branch exists)"
        )
    return proc.stdout.decode().strip()


def materialize(repo: Path, commit: str, dest: Path) -> Path:
    """Write the tree of `commit` into `dest` (created); returns `dest`."""
    proc = _git(repo, "archive", "--format=tar", commit)
    if proc.returncode != 0:
        raise ContractsError(f"git archive {commit}: {proc.stderr.decode(errors='replace').strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        # The "data" filter refuses absolute paths, links out of dest and devices.
        tar.extractall(dest, filter="data")
    return dest


def commit_time(repo: Path, ref: str) -> datetime:
    """Committer date of `ref` (timezone-aware)."""
    return datetime.fromisoformat(_text(repo, "log", "-1", "--format=%cI", ref).strip())


def commit_before(repo: Path, when: datetime, ref: str = "HEAD") -> str | None:
    """The newest commit on `ref` committed before `when`, or None if history starts later."""
    out = _text(repo, "rev-list", "-1", f"--before={when.isoformat()}", ref).strip()
    return out or None


def root_commit(repo: Path, ref: str = "HEAD") -> str:
    return _text(repo, "rev-list", "--max-parents=0", ref).split()[-1]


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: datetime
    author: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


def commits_touching(repo: Path, base: str, head: str, paths: Sequence[str]) -> list[Commit]:
    """Commits in base..head that changed any of `paths`, oldest first."""
    if not paths:
        return []
    sep = "\x1f"
    out = _text(
        repo, "log", "--reverse", f"--format=%H{sep}%cI{sep}%an{sep}%s", f"{base}..{head}", "--", *paths
    )
    commits = []
    for line in out.splitlines():
        sha, when, author, subject = line.split(sep, 3)
        commits.append(Commit(sha, datetime.fromisoformat(when), author, subject))
    return commits


__all__ = [
    "Commit",
    "commit_before",
    "commit_time",
    "commits_touching",
    "materialize",
    "repo_root",
    "resolve",
    "root_commit",
]
