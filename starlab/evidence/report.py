"""Build `reports/latest/evidence.{json,md,html}` from every story's recorded claims, and keep each run.

Backs DESIGN.md's interface "reports/latest/evidence.json: a list of claims,
each with story, the claim ..., claimed value, measured value, pass/fail, how
it was measured, and the command that reproduces it", plus the Markdown and
HTML views of the same list and the plots the stories saved. Since issue 13
(schema_version 2) that list is the "claims" member of an object that also
names the run and its environment (versions, cores, memory, topology, git
commit) and each story's params (data sizes, seed); the object must match
`evidence.schema.json` before anything is written. Each build is also kept
as `reports/<run-id>/` so `starlab report --compare` can diff two runs.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlab.atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from starlab.evidence.claim import STORY_ID, Claim, EvidenceError, Status, jsonable
from starlab.evidence.environment import Environment, collect_environment
from starlab.evidence.render import counts, render_html, render_markdown
from starlab.evidence.schema import SCHEMA_VERSION, validate_evidence
from starlab.evidence.star import StarScript, render_star_scripts
from starlab.evidence.store import (
    StoryRecord,
    claims_dir,
    latest_dir,
    load_story_records,
    plots_dir,
)
from starlab.settings import get_settings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "RESERVED_RUN_IDS",
    "BuiltReport",
    "build_report",
    "check_run_id",
    "default_run_id",
    "evidence_document",
    "evidence_entries",
    "save_plot",
    "save_png",
]

RESERVED_RUN_IDS = frozenset({"latest"})
"""Folder names under reports/ that are not runs."""
MAX_RUN_ID = 100
STAR_DIR = "star"
"""Under latest/ and each run: one STAR script per story, filled from that report's claims."""
EVIDENCE_FILES = ("evidence.json", "evidence.md", "evidence.html")


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """What `build_report` wrote and what it found."""

    json_path: Path
    md_path: Path
    html_path: Path
    records: tuple[StoryRecord, ...]
    run_id: str
    run_dir: Path
    """`reports/<run_id>/`: the same three files plus `plots/` and `claims/`, kept for comparing."""
    environment: Environment
    star_paths: tuple[Path, ...] = ()
    """`latest/star/<script>.md`: each STAR script with this run's figures."""
    star_warnings: tuple[str, ...] = ()
    """Figures a STAR script names that this run did not measure or did not meet."""

    @property
    def claims(self) -> list[Claim]:
        return [c for r in self.records for c in r.claims]

    @property
    def counts(self) -> dict[Status, int]:
        """Claims per status (pass / fail / not measured)."""
        return counts(self.records)

    @property
    def all_passed(self) -> bool:
        """True only if there is at least one claim and every claim passed."""
        n = self.counts
        return n[Status.PASS] > 0 and n[Status.FAIL] == 0 and n[Status.NOT_MEASURED] == 0


def evidence_entries(records: Sequence[StoryRecord]) -> list[dict[str, object]]:
    """evidence.json's "claims": each claim's dict plus its story's recorded_at, git_commit and topology."""
    entries: list[dict[str, object]] = []
    for r in records:
        for c in r.claims:
            entry = c.to_dict()
            entry["recorded_at"] = r.recorded_at
            entry["git_commit"] = r.git_commit
            entry["topology"] = r.topology
            entries.append(entry)
    return entries


def evidence_document(
    records: Sequence[StoryRecord], *, run_id: str, generated_at: str, environment: Environment
) -> dict[str, object]:
    """The whole evidence.json (schema_version 2): the run, its environment, its stories, its claims."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "generated_at": generated_at,
        "environment": environment.to_dict(),
        "stories": [
            {
                "story": r.story,
                "recorded_at": r.recorded_at,
                "git_commit": r.git_commit,
                "topology": r.topology,
                "params": dict(r.params),
            }
            for r in records
        ],
        "claims": evidence_entries(records),
    }


def default_run_id(commit: str | None, now: datetime | None = None) -> str:
    """UTC time to the second plus the short commit: "20261202T120501Z-cdc5efd".

    Sorts by time as a plain string, and says which code the run came from.
    """
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{commit[:7]}" if commit else stamp


def check_run_id(run_id: str) -> str:
    """`run_id` if it can name a folder under reports/, else `EvidenceError`."""
    if (
        not isinstance(run_id, str)
        or not STORY_ID.fullmatch(run_id)
        or len(run_id) > MAX_RUN_ID
        or run_id in RESERVED_RUN_IDS
    ):
        raise EvidenceError(
            f"run id {run_id!r} must match {STORY_ID.pattern}, be at most {MAX_RUN_ID} characters "
            f"and not be one of {', '.join(sorted(RESERVED_RUN_IDS))} (it names a folder under reports/)"
        )
    return run_id


def build_report(
    reports_dir: Path | None = None,
    *,
    run_id: str | None = None,
    environment: Environment | None = None,
    star_scripts: Sequence[StarScript] = (),
    keep_runs: int | None = None,
) -> BuiltReport:
    """Merge `latest/claims/*.json` into `latest/evidence.{json,md,html}` and keep a copy as `<run_id>/`.

    Stories appear in natural order ("2-..." before "10-..."), claims in the
    order each story recorded them; pass/fail is recomputed from the values,
    not trusted from the files. PNGs in `latest/plots/` are linked from the
    Markdown and embedded in the HTML. `run_id` defaults to `default_run_id`;
    `environment` to this machine's (`collect_environment`). Raises
    `EvidenceError` if no story has recorded claims (run `starlab demo`
    first), a claims file is malformed, or the report would not match
    `evidence.schema.json` (e.g. a claim without a method); then nothing is written.
    `star_scripts` (the registered stories' `load_star()`) are filled with this
    report's figures into `latest/star/<script>.md` and kept with the run.
    Run folders beyond the newest `keep_runs` (default: the `reports_keep_runs`
    setting) are removed, oldest first.
    """
    keep = keep_runs if keep_runs is not None else get_settings().reports_keep_runs
    if keep < 1:
        raise EvidenceError(f"reports_keep_runs must be at least 1, got {keep}")
    records = load_story_records(reports_dir)
    if not records:
        raise EvidenceError(
            f"no claims recorded in {claims_dir(reports_dir)}: run `starlab demo` (or one story) first"
        )
    env = environment if environment is not None else collect_environment(get_settings())
    now = datetime.now(UTC)
    rid = check_run_id(run_id if run_id is not None else default_run_id(env.git_commit, now))
    generated_at = now.isoformat(timespec="seconds")
    document = jsonable(
        evidence_document(records, run_id=rid, generated_at=generated_at, environment=env), "evidence"
    )
    validate_evidence(document)  # before any write: a bad report must not replace a good one

    out = latest_dir(reports_dir)
    folder = plots_dir(reports_dir)
    plots = sorted(folder.glob("*.png")) if folder.is_dir() else []
    texts = {
        "evidence.md": render_markdown(records, generated_at, plots, env.summary()),
        "evidence.html": render_html(records, generated_at, plots, env.summary()),
    }
    star = render_star_scripts(star_scripts, records)
    texts |= {f"{STAR_DIR}/{script.file_id}.md": rendered.markdown for script, rendered in star}
    if star:  # a build without scripts (a story's own command) leaves the last ones alone
        _remove_stale_star(out / STAR_DIR, {f"{script.file_id}.md" for script, _ in star})
    json_path, md_path, html_path = (out / name for name in EVIDENCE_FILES)
    write_json_atomic(json_path, document)
    for name, text in texts.items():
        write_text_atomic(out / name, text)
    run_dir = out.parent / rid
    _keep_run(run_dir, document, texts, plots, records)
    _prune_runs(out.parent, keep, run_dir)
    warnings = tuple(f"{script.file_id}: {w}" for script, rendered in star for w in rendered.warnings)
    star_paths = tuple(out / STAR_DIR / f"{script.file_id}.md" for script, _ in star)
    return BuiltReport(json_path, md_path, html_path, tuple(records), rid, run_dir, env, star_paths, warnings)


def _prune_runs(base: Path, keep: int, newest: Path) -> None:
    """Remove kept runs beyond the newest `keep` (by when their evidence.json was written).

    Only folders that are runs are touched: a valid run id holding an
    evidence.json, never latest/ or anything else under reports/.
    """
    runs = [
        p
        for p in base.iterdir()
        if p.is_dir()
        and p.name not in RESERVED_RUN_IDS
        and STORY_ID.fullmatch(p.name)
        and (p / "evidence.json").is_file()
    ]
    runs.sort(key=lambda p: (p == newest, (p / "evidence.json").stat().st_mtime_ns, p.name))
    for old in runs[: max(0, len(runs) - keep)]:
        shutil.rmtree(old, ignore_errors=True)


def _remove_stale_star(folder: Path, keep: set[str]) -> None:
    """A script dropped from the stories must not linger in latest/star/ with an old run's figures."""
    for p in folder.glob("*.md") if folder.is_dir() else []:
        if p.name not in keep:
            p.unlink(missing_ok=True)


def _keep_run(
    run_dir: Path,
    document: object,
    texts: dict[str, str],
    plots: Sequence[Path],
    records: Sequence[StoryRecord],
) -> None:
    """Write `run_dir` whole: built in a hidden sibling folder, then renamed into place.

    A reader (`starlab report --compare`) sees the complete run or none of it.
    The claims are written from the records just merged rather than copied, so
    they cannot differ from evidence.json if a story records while this runs.
    A run id used again (two builds in one second, or an explicit id) replaces
    the earlier folder.
    """
    base = run_dir.parent
    tag = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
    staging = base / f".{run_dir.name}.{tag}.tmp"
    staging.mkdir(parents=True)  # not mkdtemp: its 0700 mode would stick to the kept run
    try:
        write_json_atomic(staging / "evidence.json", document)
        for name, text in texts.items():
            write_text_atomic(staging / name, text)
        for p in plots:
            write_bytes_atomic(staging / "plots" / p.name, p.read_bytes())
        for r in records:
            write_json_atomic(staging / "claims" / f"{r.story}.json", jsonable(r.to_dict(), r.story))
        if run_dir.exists():
            # rename() cannot replace a non-empty folder: move the old one aside first.
            old = base / f".{run_dir.name}.{tag}.old"
            os.replace(run_dir, old)
            os.replace(staging, run_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def save_plot(fig: Figure, name: str, reports_dir: Path | None = None, *, dpi: int = 120) -> Path:
    """Write `fig` as `<reports_dir>/latest/plots/<name>.png` and return the path.

    Start `name` with the story id ("3-streaming-freshness") and the HTML
    report shows the plot under that story. Rendering uses Agg whatever
    backend pyplot chose, so it works on a machine without a display; build
    figures with `matplotlib.figure.Figure()` to skip pyplot entirely.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy: load on use

    path = _plot_path(name, reports_dir)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight")
    return path


def save_png(png: bytes, name: str, reports_dir: Path | None = None) -> Path:
    """Write PNG bytes drawn elsewhere (a dashboard panel) as `<reports_dir>/latest/plots/<name>.png`."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise EvidenceError(f"plot {name!r}: not PNG data")
    path = _plot_path(name, reports_dir)
    write_bytes_atomic(path, png)
    return path


def _plot_path(name: str, reports_dir: Path | None) -> Path:
    stem = name.removesuffix(".png")
    if not STORY_ID.fullmatch(stem):
        raise EvidenceError(f"plot name {name!r} must match {STORY_ID.pattern}")
    folder = plots_dir(reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}.png"
