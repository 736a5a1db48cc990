"""Per-story claim files under `reports/latest/claims/` and the git commit they came from.

Each story records its claims independently (`record`), so stories can run in
any order, alone or in parallel, and `starlab report` merges whatever is
there. Files are written atomically: a report built while a story is writing
sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from starlab.atomic import write_json_atomic
from starlab.evidence.claim import STORY_ID, Claim, EvidenceError, jsonable
from starlab.settings import ROOT, get_settings
from starlab.validation import one_line

__all__ = [
    "ParamValue",
    "StoryParams",
    "StoryRecord",
    "claims_dir",
    "git_commit",
    "latest_dir",
    "load_story_records",
    "natural_key",
    "plots_dir",
    "record",
    "story_params",
]

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 object names

ParamValue = str | int | float | bool
"""One input a story ran with: a data size, a seed, a rate, a flag."""
StoryParams = Mapping[str, ParamValue]
"""What a story ran on, e.g. {"events": 20000, "seed": 7}: the figures mean nothing without it."""


def latest_dir(reports_dir: Path | None = None) -> Path:
    """`<reports_dir>/latest`, reports_dir defaulting to the `STARLAB_REPORTS_DIR` setting."""
    base = reports_dir if reports_dir is not None else get_settings().reports_dir
    return Path(base) / "latest"


def claims_dir(reports_dir: Path | None = None) -> Path:
    """Where `record` writes one `<story>.json` per story."""
    return latest_dir(reports_dir) / "claims"


def plots_dir(reports_dir: Path | None = None) -> Path:
    """Where `save_plot` writes PNGs that the HTML report embeds."""
    return latest_dir(reports_dir) / "plots"


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders "2-rankings" before "10-x" (numbers compared as numbers)."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def git_commit(repo_root: Path = ROOT) -> str | None:
    """The commit HEAD points at, read from `.git` files; None if unknown.

    Reads the files instead of running `git`: the report must work where git
    is not installed (a container built from a tarball) and must not depend
    on the caller's PATH. Handles a `.git` file (worktrees, submodules),
    loose refs, `packed-refs` and a detached HEAD. An uncommitted work tree is
    not detected; the commit says which code the run started from.
    """
    try:
        dotgit = repo_root / ".git"
        if dotgit.is_file():
            text = dotgit.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = (repo_root / text.removeprefix("gitdir:").strip()).resolve()
        elif dotgit.is_dir():
            gitdir = dotgit
        else:
            return None
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head if _SHA.fullmatch(head) else None
        ref = head.removeprefix("ref:").strip()
        common = gitdir
        commondir = gitdir / "commondir"
        if commondir.is_file():
            common = (gitdir / commondir.read_text(encoding="utf-8").strip()).resolve()
        for base in (gitdir, common):
            loose = base / ref
            if loose.is_file():
                sha = loose.read_text(encoding="utf-8").strip()
                return sha if _SHA.fullmatch(sha) else None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name.strip() == ref and _SHA.fullmatch(sha):
                    return sha
        return None  # a branch with no commit yet
    except OSError:
        return None


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """The claims one story recorded, when, and from which commit."""

    story: str
    recorded_at: str
    """ISO 8601 UTC time of `record`."""
    git_commit: str | None
    claims: tuple[Claim, ...]
    topology: str | None = None
    """The stack the claims were measured on (`single` or `cluster`, `STARLAB_TOPOLOGY`);
    None in files written before it was recorded."""
    params: StoryParams = field(default_factory=dict)
    """The data sizes, seed and rates the story ran with; empty in files written before
    they were recorded."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", story_params(self.params, self.story))

    def to_dict(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "recorded_at": self.recorded_at,
            "git_commit": self.git_commit,
            "topology": self.topology,
            "params": dict(self.params),
            "claims": [c.to_dict() for c in self.claims],
        }

    @classmethod
    def from_dict(cls, data: object, source: str = "story record") -> StoryRecord:
        """Rebuild a record from `to_dict` output, or `EvidenceError` naming `source` and the field.

        The envelope is checked by `_StoryFile`, each claim by `Claim.from_dict`, so a
        renamed key fails here instead of reading as "not measured" or "no commit".
        """
        if not isinstance(data, dict):
            raise EvidenceError(f"{source}: expected a JSON object, got {type(data).__name__}")
        try:
            raw = _StoryFile.model_validate(data)
        except ValidationError as e:
            raise EvidenceError(f"{source}: {one_line(e)}") from None
        claims = []
        for i, item in enumerate(raw.claims):
            try:
                claims.append(Claim.from_dict(item))
            except (EvidenceError, TypeError, ValueError) as e:
                # Claim.from_dict passes `details` to dict(): a wrong-typed one raises
                # TypeError/ValueError, which is bad input here, not a bug.
                raise EvidenceError(f"{source}: claims[{i}]: {e}") from None
        try:
            return cls(
                story=raw.story,
                recorded_at=raw.recorded_at,
                git_commit=raw.git_commit,
                claims=tuple(claims),
                topology=raw.topology,
                params=story_params(raw.params or {}, raw.story),
            )
        except EvidenceError as e:
            raise EvidenceError(f"{source}: {e}") from None


class _StoryFile(BaseModel):
    """The JSON shape of a claims file; the claims' own fields are `Claim.from_dict`'s to check.

    Unknown keys are ignored, as `Claim.from_dict` does, so a file may carry
    more than this version reads.
    """

    model_config = ConfigDict(frozen=True)

    story: str
    claims: list[dict[str, object]]
    # Missing from files written before they were recorded: defaulted so old
    # runs still load, but a value of the wrong type fails.
    recorded_at: str = ""
    git_commit: str | None = None
    topology: str | None = None
    params: dict[str, object] | None = None
    """Checked value by value by `story_params`; null or absent reads as no params."""


def story_params(params: Mapping[str, object], story: str = "story") -> dict[str, ParamValue]:
    """`params` as a plain dict of scalars, or `EvidenceError` naming the bad entry.

    Only scalars: a parameter is something a reader compares between two runs
    ("events 20000 vs 50000"), not a structure. numpy scalars are unwrapped;
    NaN and infinity are refused (not JSON, and no input a story runs with).
    """
    if not isinstance(params, Mapping):
        raise EvidenceError(f"params of {story} must be a mapping, got {type(params).__name__}")
    result: dict[str, ParamValue] = {}
    for name, value in params.items():
        item = getattr(value, "item", None)
        if callable(item) and not isinstance(value, str | int | float | bool):
            value = item()  # numpy scalar
        if not isinstance(name, str) or not name:
            raise EvidenceError(f"params of {story}: names must be non-empty strings, got {name!r}")
        if not isinstance(value, str | int | float | bool):
            raise EvidenceError(
                f"params of {story}: {name!r} must be a string, number or bool, got {type(value).__name__}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise EvidenceError(f"params of {story}: {name!r} must be finite, got {value!r}")
        result[name] = value
    return result


def record(
    claims: Iterable[Claim],
    story: str,
    reports_dir: Path | None = None,
    *,
    topology: str | None = None,
    params: StoryParams | None = None,
    repo_root: Path = ROOT,
) -> Path:
    """Write `story`'s claims to `<reports_dir>/latest/claims/<story>.json`.

    Replaces that story's previous file (a rerun supersedes the last run) and
    leaves other stories' files alone. Stamps the UTC time, the git commit
    of `repo_root` (None when unknown), the `topology` the claims were
    measured on (pass the settings' `topology`) and the `params` the story
    ran with (data sizes, seed: `{"events": 20000, "seed": 7}`). Every claim
    must belong to `story`. Returns the path written.
    """
    if not STORY_ID.fullmatch(story):
        raise EvidenceError(f"story id {story!r} must match {STORY_ID.pattern}")
    items = tuple(claims)
    strays = sorted({c.story for c in items if c.story != story})
    if strays:
        raise EvidenceError(f"recording story {story!r} got claims of {', '.join(strays)}")
    rec = StoryRecord(
        story=story,
        recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        git_commit=git_commit(repo_root),
        claims=items,
        topology=topology,
        params=params or {},
    )
    path = claims_dir(reports_dir) / f"{story}.json"
    write_json_atomic(path, jsonable(rec.to_dict(), f"claims of {story}"))
    return path


def load_story_records(reports_dir: Path | None = None) -> list[StoryRecord]:
    """Every story's record under `latest/claims/`, in natural story order."""
    folder = claims_dir(reports_dir)
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise EvidenceError(f"cannot read claims file {path}: {e}") from None
        records.append(StoryRecord.from_dict(data, source=str(path)))
    records.sort(key=lambda r: natural_key(r.story))
    return records
