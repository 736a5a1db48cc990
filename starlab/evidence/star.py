"""STAR scripts: each story told aloud, its Result filled from this run's claims.

A story package declares its interview answer as data (`StarScript`):
Situation, Task, Action and a trade-off it accepted in its own words, and a
Result whose sentences name claims by metric instead of quoting figures:

    ResultLine("p95 freshness came to {freshness_p95} under load")

`render_star` fills each `{metric}` with the value this run measured (unit
included, `format_value`) as a Markdown link to that claim in the evidence
report, and counts the words that are said aloud so the answer fits the
90-120 seconds a behavioural answer gets. A claim that was not measured, or
that the run did not record, is never filled with the story's figure: the
script says "(not measured in this run)" and the render lists it in its
warnings. A Result template cannot hold a figure of its own either: a digit
outside a placeholder is refused when the line is built.

The deep-dive outline (`DiveStep`) walks the code in the order an
interviewer asks: a question, the file and symbol that answer it, and the
command that shows it running.

`write_star_scripts` writes `<out_dir>/<script id>.md`; the caller passes
the scripts (`Story.load_star`) and the records (`load_story_records`).
Links point at `../evidence.md#<claim_anchor(story, metric)>`: the report
renderer emits the same anchors.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from starlab.atomic import write_text_atomic
from starlab.evidence.claim import STORY_ID, Claim, EvidenceError, Status, format_value
from starlab.evidence.store import StoryRecord

__all__ = [
    "EVIDENCE_HREF",
    "NOT_MEASURED",
    "SPOKEN_SECONDS",
    "SPOKEN_WORDS",
    "WORDS_PER_MINUTE",
    "DiveStep",
    "ResultLine",
    "StarRender",
    "StarScript",
    "claim_anchor",
    "render_star",
    "render_star_scripts",
    "spoken_value",
    "word_count",
    "write_star_scripts",
]

WORDS_PER_MINUTE = 150
"""A calm speaking pace; the estimate of how long the spoken part takes."""
SPOKEN_SECONDS = (90, 120)
"""How long a STAR answer should take aloud."""
SPOKEN_WORDS = (
    SPOKEN_SECONDS[0] * WORDS_PER_MINUTE // 60,
    SPOKEN_SECONDS[1] * WORDS_PER_MINUTE // 60,
)
"""225-300 words at `WORDS_PER_MINUTE`."""
NOT_MEASURED = "(not measured in this run)"
"""Said instead of a number the run did not measure: never the story's figure."""
EVIDENCE_HREF = "../evidence.md"
"""The evidence report as seen from `reports/latest/star/`."""

_METRIC = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOOSE_DIGIT = re.compile(r"\b\d")
"""A digit not glued to a word: "4 services" or "0.5%" is a figure, "p95" or "v2" is a name."""
_ANCHOR_UNSAFE = re.compile(r"[^a-z0-9_-]+")
_WORDY = re.compile(r"[A-Za-z0-9]")


def claim_anchor(story: str, metric: str) -> str:
    """The anchor of a claim in the evidence report: `claim-<story>-<metric>`, lowercase.

    Characters outside `[a-z0-9_-]` become "-" so the anchor is the same in
    Markdown (`<a id="...">`) and HTML (`id="..."`): "4-feature-store" and
    "a_e2e_p95_ms" give "claim-4-feature-store-a_e2e_p95_ms". Unique as long as
    a story's metrics are (they name its claims).
    """

    def part(text: str) -> str:
        return _ANCHOR_UNSAFE.sub("-", text.lower()).strip("-")

    return f"claim-{part(story)}-{part(metric)}"


def word_count(text: str) -> int:
    """Words as they are said: whitespace-separated tokens with a letter or digit in them."""
    return sum(1 for token in text.split() if _WORDY.search(token))


def spoken_value(claim: Claim, spec: str = "") -> str:
    """The measured value as it is said, with its unit: "4.8 s", "0.03%", "99.95%", "$9,691/month".

    A "fraction" is said as a percentage (0.9995 -> 99.95%), "USD/..." with a
    dollar sign. `spec` is a format spec for the number ("", ".1f", ",.0f"),
    applied after that conversion. Raises `EvidenceError` for a claim that was
    not measured: there is no value to say.
    """
    m = claim.measured
    if m is None:
        raise EvidenceError(f"claim {claim.metric!r} of {claim.story} was not measured")
    if isinstance(m, str):
        return m
    value, unit = m, claim.unit
    if unit == "fraction":
        value, unit = m * 100, "%"
    number = format(value, spec) if spec else format_value(value)
    if unit == "%":
        return f"{number}%"
    if unit.startswith("USD"):
        return f"${number}{unit[3:]}"
    return f"{number} {unit}".strip()


@dataclass(frozen=True)
class ResultLine:
    """One Result sentence; `{metric}` (or `{metric:spec}`) stands for that claim's measured value.

    The literal text may not hold a figure (a digit outside a placeholder):
    every number in a Result comes from the run.
    """

    template: str

    def __post_init__(self) -> None:
        if not self.template.strip():
            raise EvidenceError("a Result line is empty")
        for literal, name, spec, conversion in self.parts():
            if _LOOSE_DIGIT.search(literal):
                raise EvidenceError(
                    f"Result line {self.template!r} states a figure of its own ({literal.strip()!r}); "
                    "name the claim instead: {metric}"
                )
            if name is None:
                continue
            if conversion or not _METRIC.fullmatch(name):
                raise EvidenceError(f"Result line {self.template!r}: {{{name}}} is not a metric name")
            try:
                format(1.0, spec or "")
            except ValueError:
                raise EvidenceError(f"Result line {self.template!r}: bad format spec {spec!r}") from None

    def parts(self) -> list[tuple[str, str | None, str | None, str | None]]:
        """(literal text, metric, format spec, conversion) pieces, as `string.Formatter` parses them."""
        try:
            return list(string.Formatter().parse(self.template))
        except ValueError as e:
            raise EvidenceError(f"Result line {self.template!r}: {e}") from None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics this line names, in order, each once."""
        names = [name for _, name, _, _ in self.parts() if name]
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class DiveStep:
    """One step of the deep dive: the question, where the answer lives, how to show it."""

    question: str
    path: str
    """Repo-relative file that answers it."""
    symbol: str
    """What to open in it: a function, a class, `Class.method`, a constant; in a non-Python
    file (SQL, YAML), a name that occurs in it."""
    command: str | None = None
    """The command that shows it running, e.g. `starlab stream reconcile`."""
    point: str = ""
    """What to say there, in a sentence."""


@dataclass(frozen=True)
class StarScript:
    """A story's STAR answer as data; `render_star` turns it into the spoken script."""

    story_id: str
    """Evidence id whose claims fill the Result (`StoryRecord.story`)."""
    title: str
    situation: str
    task: str
    action: str
    result: tuple[ResultLine, ...]
    tradeoff: str
    """One trade-off or risk accepted, and why: said aloud after the Result."""
    deep_dive: tuple[DiveStep, ...]
    script_id: str | None = None
    """The file name (`<script_id>.md`) when a story tells more than one script; default `story_id`."""

    def __post_init__(self) -> None:
        for name in ("story_id", "file_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not STORY_ID.fullmatch(value):
                raise EvidenceError(f"STAR script {name} {value!r} must match {STORY_ID.pattern}")
        for name in ("title", "situation", "task", "action", "tradeoff"):
            if not getattr(self, name).strip():
                raise EvidenceError(f"STAR script {self.file_id}: {name} is empty")
        if not self.result:
            raise EvidenceError(f"STAR script {self.file_id}: no Result line")

    @property
    def file_id(self) -> str:
        """`<file_id>.md` under the star folder."""
        return self.script_id or self.story_id

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the Result names, in order, each once."""
        return tuple(dict.fromkeys(m for line in self.result for m in line.metrics))


@dataclass(frozen=True)
class StarRender:
    """A rendered script: its Markdown, how many words are said aloud, and what to check first."""

    markdown: str
    words_spoken: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def seconds(self) -> float:
        """Estimated speaking time of the spoken part at `WORDS_PER_MINUTE`."""
        return self.words_spoken * 60 / WORDS_PER_MINUTE

    @property
    def in_range(self) -> bool:
        """True when the spoken part takes 90-120 s."""
        lo, hi = SPOKEN_WORDS
        return lo <= self.words_spoken <= hi


def _claims_by_metric(record: StoryRecord | None) -> dict[str, Claim]:
    found: dict[str, Claim] = {}
    for c in record.claims if record else ():
        found.setdefault(c.metric, c)  # the first, as the report lists it
    return found


def _fill(
    line: ResultLine,
    story: str,
    claims: Mapping[str, Claim],
    href: str,
    warnings: list[str],
) -> tuple[str, str]:
    """(spoken text, Markdown) of one Result line."""
    spoken: list[str] = []
    md: list[str] = []
    for literal, name, spec, _ in line.parts():
        spoken.append(literal)
        md.append(literal)
        if name is None:
            continue
        claim = claims.get(name)
        if claim is None:
            spoken.append(NOT_MEASURED)
            md.append(f"*{NOT_MEASURED}*")
            warnings.append(f"{name}: no such claim in the {story} record of this run")
            continue
        link = f"{href}#{claim_anchor(story, name)}"
        if claim.measured is None:
            spoken.append(NOT_MEASURED)
            md.append(f"*[{NOT_MEASURED}]({link})*")
            warnings.append(f"{name}: not measured in this run ({claim.claim})")
            continue
        value = spoken_value(claim, spec or "")
        spoken.append(value)
        if claim.status is Status.FAIL:
            md.append(f"[{value}]({link}) ⚠")
            warnings.append(
                f"{name}: measured {claim.measured_text()}, which does not meet the claim "
                f"{claim.claimed_text()} ({claim.claim})"
            )
        else:
            md.append(f"[{value}]({link})")
    return "".join(spoken), "".join(md)


def _duration(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s"


def render_star(
    script: StarScript,
    record: StoryRecord | None,
    *,
    evidence_href: str = EVIDENCE_HREF,
) -> StarRender:
    """The script as Markdown, its Result filled from `record` (None: nothing measured)."""
    if record is not None and record.story != script.story_id:
        raise EvidenceError(
            f"STAR script {script.file_id} reads claims of {script.story_id}, "
            f"got the record of {record.story}"
        )
    warnings: list[str] = []
    claims = _claims_by_metric(record)
    filled = [_fill(line, script.story_id, claims, evidence_href, warnings) for line in script.result]
    result_spoken = " ".join(s for s, _ in filled)
    result_md = " ".join(m for _, m in filled)
    spoken = (script.situation, script.task, script.action, result_spoken, script.tradeoff)
    words = sum(word_count(part) for part in spoken)
    seconds = words * 60 / WORDS_PER_MINUTE
    lo_s, hi_s = SPOKEN_SECONDS
    timing = (
        f"Spoken part (Situation to Trade-off): **{words} words**, about {_duration(seconds)} "
        f"at {WORDS_PER_MINUTE} words per minute (target {lo_s}-{hi_s} s)."
    )
    if not SPOKEN_WORDS[0] <= words <= SPOKEN_WORDS[1]:
        timing += f" ⚠ Outside the target: {'trim it' if words > SPOKEN_WORDS[1] else 'say more'}."
        warnings.append(f"spoken part is {words} words ({seconds:.0f} s); the target is {lo_s}-{hi_s} s")

    if record is None:
        provenance = f"No claims of `{script.story_id}` recorded: every figure below is missing."
    else:
        commit = f"commit `{record.git_commit[:12]}`" if record.git_commit else "an unknown commit"
        topology = f", {record.topology} topology" if record.topology else ""
        provenance = (
            f"Figures: this run's claims of `{script.story_id}`, recorded {record.recorded_at} "
            f"from {commit}{topology}; each links to its claim in the evidence report."
        )

    out = [
        f"# STAR: {script.title}",
        "",
        provenance,
        "",
        timing,
        "",
        "## Situation",
        "",
        script.situation,
        "",
        "## Task",
        "",
        script.task,
        "",
        "## Action",
        "",
        script.action,
        "",
        "## Result",
        "",
        result_md,
        "",
        "## Trade-off I accepted",
        "",
        script.tradeoff,
        "",
        "## Deep dive (3-5 minutes): the code, in the order the questions come",
        "",
    ]
    for i, step in enumerate(script.deep_dive, 1):
        out.append(f"{i}. **{step.question}**  ")
        where = f"`{step.path}`: `{step.symbol}`"
        if step.command:
            where += f"; run `{step.command}`"
        out.append(f"   {where}.{'  ' if step.point else ''}")
        if step.point:
            out.append(f"   {step.point}")
    if warnings:
        out += ["", "## Check before you say it", ""]
        out += [f"- {w}" for w in warnings]
    return StarRender(markdown="\n".join(out) + "\n", words_spoken=words, warnings=tuple(warnings))


def render_star_scripts(
    scripts: Iterable[StarScript],
    records: Iterable[StoryRecord],
    *,
    evidence_href: str = EVIDENCE_HREF,
) -> list[tuple[StarScript, StarRender]]:
    """Every script rendered with its story's record (none recorded: every figure missing)."""
    by_story = {r.story: r for r in records}
    items = list(scripts)
    seen: dict[str, str] = {}
    for s in items:
        if s.file_id in seen:
            raise EvidenceError(f"two STAR scripts are called {s.file_id} ({seen[s.file_id]} and {s.title})")
        seen[s.file_id] = s.title
    return [(s, render_star(s, by_story.get(s.story_id), evidence_href=evidence_href)) for s in items]


def write_star_scripts(
    scripts: Iterable[StarScript],
    records: Iterable[StoryRecord],
    out_dir: Path,
) -> list[Path]:
    """Write `<out_dir>/<script id>.md` for every script, atomically; the paths written, in order.

    With `out_dir` = `reports/latest/star`, the links reach `reports/latest/evidence.md`.
    """
    paths = []
    for script, rendered in render_star_scripts(scripts, records):
        path = Path(out_dir) / f"{script.file_id}.md"
        write_text_atomic(path, rendered.markdown)
        paths.append(path)
    return paths
