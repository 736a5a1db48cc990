"""Build `reports/latest/evidence.{json,md,html}` from every story's recorded claims.

Backs DESIGN.md's interface "reports/latest/evidence.json: a list of claims,
each with story, the claim ..., claimed value, measured value, pass/fail, how
it was measured, and the command that reproduces it", plus the Markdown and
HTML views of the same list and the plots the stories saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlab.atomic import write_json_atomic, write_text_atomic
from starlab.evidence.claim import STORY_ID, Claim, EvidenceError, Status, jsonable
from starlab.evidence.render import counts, render_html, render_markdown
from starlab.evidence.store import (
    StoryRecord,
    claims_dir,
    latest_dir,
    load_story_records,
    plots_dir,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["BuiltReport", "build_report", "evidence_entries", "save_plot"]


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """What `build_report` wrote and what it found."""

    json_path: Path
    md_path: Path
    html_path: Path
    records: tuple[StoryRecord, ...]

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


def evidence_entries(records: list[StoryRecord]) -> list[dict[str, object]]:
    """The evidence.json list: each claim's dict plus its story's recorded_at, git_commit and topology."""
    entries: list[dict[str, object]] = []
    for r in records:
        for c in r.claims:
            entry = c.to_dict()
            entry["recorded_at"] = r.recorded_at
            entry["git_commit"] = r.git_commit
            entry["topology"] = r.topology
            entries.append(entry)
    return entries


def build_report(reports_dir: Path | None = None) -> BuiltReport:
    """Merge `latest/claims/*.json` into `latest/evidence.{json,md,html}`.

    Stories appear in natural order ("2-..." before "10-..."), claims in the
    order each story recorded them; pass/fail is recomputed from the values,
    not trusted from the files. PNGs in `latest/plots/` are linked from the
    Markdown and embedded in the HTML. Raises `EvidenceError` if no story has
    recorded claims (run `starlab demo` first) or a claims file is malformed.
    """
    records = load_story_records(reports_dir)
    if not records:
        raise EvidenceError(
            f"no claims recorded in {claims_dir(reports_dir)}: run `starlab demo` (or one story) first"
        )
    out = latest_dir(reports_dir)
    folder = plots_dir(reports_dir)
    plots = sorted(folder.glob("*.png")) if folder.is_dir() else []
    generated_at = datetime.now(UTC).isoformat(timespec="seconds")

    json_path = out / "evidence.json"
    md_path = out / "evidence.md"
    html_path = out / "evidence.html"
    write_json_atomic(json_path, jsonable(evidence_entries(records), "evidence"))
    write_text_atomic(md_path, render_markdown(records, generated_at, plots))
    write_text_atomic(html_path, render_html(records, generated_at, plots))
    return BuiltReport(json_path, md_path, html_path, tuple(records))


def save_plot(fig: Figure, name: str, reports_dir: Path | None = None, *, dpi: int = 120) -> Path:
    """Write `fig` as `<reports_dir>/latest/plots/<name>.png` and return the path.

    Start `name` with the story id ("3-streaming-freshness") and the HTML
    report shows the plot under that story. Rendering uses Agg whatever
    backend pyplot chose, so it works on a machine without a display; build
    figures with `matplotlib.figure.Figure()` to skip pyplot entirely.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # heavy: load on use

    stem = name.removesuffix(".png")
    if not STORY_ID.fullmatch(stem):
        raise EvidenceError(f"plot name {name!r} must match {STORY_ID.pattern}")
    folder = plots_dir(reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)  # attaches itself as fig.canvas
    path = folder / f"{stem}.png"
    fig.savefig(path, format="png", dpi=dpi, bbox_inches="tight")
    return path
