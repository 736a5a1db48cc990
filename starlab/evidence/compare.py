"""What changed between two runs' evidence: claims that flipped, figures that moved, what differs.

Backs issue 13's `starlab report --compare RUN_A RUN_B`: "what changed between
two runs (claims that flipped status, figures that moved beyond noise)". A
run is a kept `reports/<run-id>/` (or `latest`, or any evidence.json of
schema_version 2); claims are matched by story and metric. The environment
and the stories' params are compared too, because "p95 went up 30%" reads
differently next to "cpus_usable 8 -> 2" or "events 20000 -> 200000".
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlab.evidence.claim import STORY_ID, Claim, EvidenceError, Measured, Status, format_value
from starlab.evidence.environment import Environment
from starlab.evidence.report import RESERVED_RUN_IDS
from starlab.evidence.schema import SCHEMA_VERSION, validate_evidence
from starlab.evidence.store import StoryRecord, latest_dir, natural_key
from starlab.settings import get_settings

__all__ = [
    "DEFAULT_NOISE",
    "ClaimChange",
    "Comparison",
    "Difference",
    "Run",
    "compare_runs",
    "list_runs",
    "load_run",
    "outcome_text",
    "render_comparison",
    "summary_line",
]

DEFAULT_NOISE = 0.10
"""Relative change a figure may move between two runs of the same code on the same
machine before it counts as moved: latency percentiles of a few-minute run wobble
by several percent."""


@dataclass(frozen=True, slots=True)
class Run:
    """One evidence.json, read back: the run, its environment and its stories' claims."""

    run_id: str
    generated_at: str
    environment: Environment
    records: tuple[StoryRecord, ...]
    path: Path
    """The evidence.json it was read from."""

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(c for r in self.records for c in r.claims)


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """One claim present in both runs, with both outcomes."""

    story: str
    metric: str
    claim: str
    """The claim's text in run B (the newer one, usually)."""
    unit: str
    status_a: Status
    status_b: Status
    measured_a: Measured
    measured_b: Measured

    @property
    def relative(self) -> float | None:
        """(b - a) / |a| when both are numbers and a != 0; None otherwise."""
        a, b = self.measured_a, self.measured_b
        if isinstance(a, float) and isinstance(b, float) and a != 0:
            return (b - a) / abs(a)
        return None

    def change_text(self) -> str:
        """ "+12.5%", "-3%", "0 -> 4" when a relative change does not exist, or ""."""
        rel = self.relative
        if rel is not None:
            return f"{rel * 100:+.3g}%"
        a, b = self.measured_a, self.measured_b
        if isinstance(a, float) and isinstance(b, float) and a != b:
            return f"{format_value(a)} \u2192 {format_value(b)}"
        return ""


@dataclass(frozen=True, slots=True)
class Difference:
    """A field of the environment or of a story's params that differs: "packages.duckdb" 1.1 -> 1.2."""

    field: str
    a: str | None
    """None: absent in run A."""
    b: str | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Run A against run B; every claim in both runs is in exactly one of flipped, moved, unchanged."""

    a: Run
    b: Run
    noise: float
    flipped: tuple[ClaimChange, ...]
    """Status differs (pass -> fail, not measured -> pass, ...)."""
    moved: tuple[ClaimChange, ...]
    """Same status, both numeric, relative change beyond `noise`."""
    unchanged: int
    only_in_a: tuple[Claim, ...]
    only_in_b: tuple[Claim, ...]
    differences: tuple[Difference, ...]
    """Environment and story params that differ (times and run ids excluded: they always do)."""


# --- loading -------------------------------------------------------------------------


def _reports_base(reports_dir: Path | None) -> Path:
    return Path(reports_dir) if reports_dir is not None else Path(get_settings().reports_dir)


def list_runs(reports_dir: Path | None = None) -> list[str]:
    """Run ids kept under reports/, oldest first (default ids sort by time)."""
    base = _reports_base(reports_dir)
    if not base.is_dir():
        return []
    return sorted(
        (
            p.name
            for p in base.iterdir()
            if p.name not in RESERVED_RUN_IDS
            and STORY_ID.fullmatch(p.name)
            and (p / "evidence.json").is_file()
        ),
        key=natural_key,
    )


def _resolve(ref: str, reports_dir: Path | None) -> Path:
    base = _reports_base(reports_dir)
    if ref == "latest":
        path = latest_dir(base) / "evidence.json"
        if not path.is_file():
            raise EvidenceError(f"run 'latest' has no {path}: run `starlab report` first")
        return path
    if STORY_ID.fullmatch(ref) and (base / ref / "evidence.json").is_file():
        return base / ref / "evidence.json"
    given = Path(ref)
    if given.is_file():
        return given
    if (given / "evidence.json").is_file():
        return given / "evidence.json"
    runs = list_runs(base)
    known = ", ".join(runs[-5:]) if runs else "none yet; `starlab report` keeps one per build"
    raise EvidenceError(
        f"no run {ref!r}: not 'latest', a run id under {base} (newest: {known}), "
        "nor a path to an evidence.json or a run folder"
    )


def load_run(ref: str | Path, reports_dir: Path | None = None) -> Run:
    """The run `ref` names: a run id under `reports_dir`, `latest`, or a path to an evidence.json
    or a run folder. Raises `EvidenceError` (one line) if it is missing, not JSON, of schema
    version 1 (a bare list of claims) or does not match the schema."""
    path = _resolve(str(ref), reports_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EvidenceError(f"cannot read {path}: {e}") from None
    if isinstance(data, list):
        raise EvidenceError(
            f"{path} is a schema-version-1 report (a bare list of claims, written before run ids "
            f"and environments): rebuild it with `starlab report`, or compare runs written since"
        )
    if isinstance(data, dict) and data.get("schema_version") != SCHEMA_VERSION:
        raise EvidenceError(
            f"{path} has schema_version {data.get('schema_version')!r}; this starlab reads {SCHEMA_VERSION}"
        )
    validate_evidence(data, str(path))
    return _run_from_document(data, path)


def _run_from_document(data: Mapping[str, Any], path: Path) -> Run:
    stories: dict[str, Mapping[str, Any]] = {s["story"]: s for s in data["stories"]}
    claims: dict[str, list[Claim]] = {}
    first: dict[str, Mapping[str, Any]] = {}
    for i, raw in enumerate(data["claims"]):
        try:
            claims.setdefault(raw["story"], []).append(Claim.from_dict(raw))
        except EvidenceError as e:
            raise EvidenceError(f"{path}: claims[{i}]: {e}") from None
        first.setdefault(raw["story"], raw)
    records = []
    for story in dict.fromkeys([*stories, *claims]):  # a story may have recorded no claim
        # A claim carries its story's stamps too: they stand in for a story entry the file lacks.
        meta = stories.get(story) or first[story]
        commit, topology = meta.get("git_commit"), meta.get("topology")
        try:
            records.append(
                StoryRecord(
                    story=story,
                    recorded_at=str(meta.get("recorded_at", "")),
                    git_commit=commit if isinstance(commit, str) else None,
                    claims=tuple(claims.get(story, ())),
                    topology=topology if isinstance(topology, str) else None,
                    params=meta.get("params") or {},
                )
            )
        except EvidenceError as e:
            raise EvidenceError(f"{path}: story {story}: {e}") from None
    records.sort(key=lambda r: natural_key(r.story))
    return Run(
        run_id=str(data["run_id"]),
        generated_at=str(data["generated_at"]),
        environment=Environment.from_dict(data["environment"]),
        records=tuple(records),
        path=path,
    )


# --- comparing -----------------------------------------------------------------------

_Key = tuple[str, str, str]


def _keys(a: Sequence[Claim], b: Sequence[Claim]) -> tuple[dict[_Key, Claim], dict[_Key, Claim]]:
    """Claims of each run keyed by (story, metric); by claim text too where a metric repeats.

    A story may measure one metric under two claims ("p95 < 3 min" in two
    scenarios); such a metric is keyed with the text in both runs alike.
    """
    repeats = Counter((c.story, c.metric) for c in a) | Counter((c.story, c.metric) for c in b)

    def key(c: Claim) -> _Key:
        return (c.story, c.metric, c.claim if repeats[(c.story, c.metric)] > 1 else "")

    def index(claims: Sequence[Claim]) -> dict[_Key, Claim]:
        keyed: dict[_Key, Claim] = {}
        for c in claims:
            keyed.setdefault(key(c), c)  # an exact repeat of story, metric and text: the first counts
        return keyed

    return index(a), index(b)


def _beyond(change: ClaimChange, noise: float) -> bool:
    a, b = change.measured_a, change.measured_b
    if not (isinstance(a, float) and isinstance(b, float)):
        return False
    if a == 0:
        return b != 0  # from nothing to something has no relative size: it moved
    rel = abs(b - a) / abs(a)
    # Exactly at the threshold is noise; isclose keeps 2.0 -> 2.2 (0.10000000000000009) there too.
    return rel > noise and not math.isclose(rel, noise, rel_tol=1e-9)


def _flat(run: Run) -> dict[str, str]:
    env = run.environment.to_dict()
    flat: dict[str, str] = {}
    for name, value in env.items():
        if isinstance(value, Mapping):
            flat.update({f"{name}.{k}": str(v) for k, v in value.items()})
        elif value is not None:
            flat[name] = str(value)
    for r in run.records:
        flat.update({f"params.{r.story}.{k}": str(v) for k, v in r.params.items()})
        if r.topology is not None:
            flat[f"topology.{r.story}"] = r.topology
    return flat


def _differences(a: Run, b: Run) -> Iterator[Difference]:
    fa, fb = _flat(a), _flat(b)
    for name in sorted(fa.keys() | fb.keys(), key=natural_key):
        if fa.get(name) != fb.get(name):
            yield Difference(name, fa.get(name), fb.get(name))


def compare_runs(a: Run, b: Run, *, noise: float = DEFAULT_NOISE) -> Comparison:
    """Run A against run B: flipped claims, figures moved beyond `noise` (0.10 = 10%), the rest."""
    if not (math.isfinite(noise) and noise >= 0):
        raise EvidenceError(f"noise must be a fraction >= 0 (0.10 = 10%), got {noise!r}")
    in_a, in_b = _keys(a.claims, b.claims)
    flipped, moved = [], []
    unchanged = 0
    for key, cb in in_b.items():
        ca = in_a.get(key)
        if ca is None:
            continue
        change = ClaimChange(
            story=cb.story,
            metric=cb.metric,
            claim=cb.claim,
            unit=cb.unit,
            status_a=ca.status,
            status_b=cb.status,
            measured_a=ca.measured,
            measured_b=cb.measured,
        )
        if change.status_a is not change.status_b:
            flipped.append(change)
        elif _beyond(change, noise):
            moved.append(change)
        else:
            unchanged += 1
    return Comparison(
        a=a,
        b=b,
        noise=noise,
        flipped=tuple(flipped),
        moved=tuple(moved),
        unchanged=unchanged,
        only_in_a=tuple(c for k, c in in_a.items() if k not in in_b),
        only_in_b=tuple(c for k, c in in_b.items() if k not in in_a),
        differences=tuple(_differences(a, b)),
    )


# --- text ----------------------------------------------------------------------------


DASH = "\u2014"  # absent on one side


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def outcome_text(status: Status, measured: Measured, unit: str) -> str:
    """ "pass (2.4 min)", or "not measured"."""
    if measured is None:
        return str(status)
    return f"{status} ({f'{format_value(measured)} {unit}'.strip()})"


def summary_line(c: Comparison) -> str:
    """ "2 flipped, 1 moved beyond 10%, 14 unchanged, 0 only in A, 1 only in B." """
    return (
        f"{len(c.flipped)} flipped, {len(c.moved)} moved beyond {c.noise * 100:g}%, "
        f"{c.unchanged} unchanged, {len(c.only_in_a)} only in A, {len(c.only_in_b)} only in B."
    )


def render_comparison(c: Comparison) -> str:
    """The comparison as Markdown: a summary line, then a table per non-empty section."""
    lines = [
        f"# {c.a.run_id} (A) \u2192 {c.b.run_id} (B)",
        "",
        summary_line(c),
        "",
    ]
    if c.flipped:
        lines += ["## Flipped", "", "| story | claim | A | B |", "|---|---|---|---|"]
        lines += [
            f"| {x.story} | {_cell(x.claim)} | {outcome_text(x.status_a, x.measured_a, x.unit)} "
            f"| {outcome_text(x.status_b, x.measured_b, x.unit)} |"
            for x in c.flipped
        ]
        lines.append("")
    if c.moved:
        lines += ["## Moved beyond noise", "", "| story | claim | A | B | change |", "|---|---|---|---|---|"]
        lines += [
            f"| {x.story} | {_cell(x.claim)} | {outcome_text(x.status_a, x.measured_a, x.unit)} "
            f"| {outcome_text(x.status_b, x.measured_b, x.unit)} | {x.change_text()} |"
            for x in c.moved
        ]
        lines.append("")
    for title, claims in (("Only in A", c.only_in_a), ("Only in B", c.only_in_b)):
        if claims:
            lines += [f"## {title}", ""]
            lines += [f"- {x.story}: {x.claim} ({x.status})" for x in claims]
            lines.append("")
    if c.differences:
        lines += ["## Environment and params", "", "| field | A | B |", "|---|---|---|"]
        lines += [f"| {d.field} | {_cell(d.a or DASH)} | {_cell(d.b or DASH)} |" for d in c.differences]
        lines.append("")
    return "\n".join(lines)
