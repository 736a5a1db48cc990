"""`starlab demo` / `make demo`: every registered story's demo step, in order, on one dataset.

The kernel names no story: the steps come from `starlab.story.registered()`.
Each step returns the claims it measured; they are recorded under the
story's evidence id whatever happened, then the report is rebuilt, and only
then does a step's correctness problem fail the demo.

The run reports what it does through a `DemoObserver` (the CLI draws rich
progress bars from it; tests collect the calls) and returns a typed
`DemoResult`. Each story's wall time is kept in `reports/latest/timings.json`
so the next run can say how long a story is expected to take: a step knows
its own phases, not its fraction done, so the bars' "how far" is the time
spent against the last run's time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from starlab.atomic import write_json_atomic
from starlab.errors import StarlabError
from starlab.events.generator import GeneratorConfig
from starlab.settings import Settings
from starlab.story import DemoContext, Story, by_name, registered

if TYPE_CHECKING:
    from starlab.evidence import BuiltReport, Claim
    from starlab.evidence.star import StarScript

Progress = Callable[[str], None]

__all__ = [
    "DEFAULT_EVENTS",
    "DemoObserver",
    "DemoResult",
    "StoryRun",
    "events_for_scale",
    "load_timings",
    "run_demo",
    "selected_stories",
    "star_scripts",
]

DEFAULT_EVENTS = 20_000
"""Unique events at `--scale 1`: sized so every story fits the 10-minute demo on 2 cores."""

_TIMINGS = "timings.json"


def events_for_scale(scale: float) -> int:
    """Unique events for `--scale`: the default dataset times `scale` (at least 1,000 events)."""
    if not scale > 0:
        raise StarlabError(f"--scale must be a positive number, got {scale}")
    return max(1_000, round(DEFAULT_EVENTS * scale))


@dataclass(frozen=True, slots=True)
class StoryRun:
    """One story's demo step: how long it took, what it measured, what went wrong."""

    story: str
    title: str
    seconds: float
    claims: tuple[Claim, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The whole demo: each story's run, the report built from them, and the total wall time."""

    runs: tuple[StoryRun, ...]
    report: BuiltReport
    seconds: float

    @property
    def problems(self) -> list[str]:
        return [f"{r.story}: {p}" for r in self.runs for p in r.problems]


class DemoObserver(Protocol):
    """What the demo tells its caller while it runs (progress bars, logs, tests)."""

    def demo_started(self, stories: list[Story], expected: Mapping[str, float]) -> None: ...

    def story_started(self, story: Story, expected_s: float | None) -> None: ...

    def message(self, text: str) -> None: ...

    def story_finished(self, run: StoryRun) -> None: ...


def selected_stories(name: str) -> list[Story]:
    """The stories `starlab demo NAME` runs: all with a demo step, or the one named."""
    if name == "all":
        return [s for s in registered() if s.demo]
    story = by_name(name)
    if not story.demo:
        raise StarlabError(f"story {name!r} has no demo step")
    return [story]


def load_timings(reports_dir: Path) -> dict[str, float]:
    """Seconds each story took in the last demo that ran it; {} when unknown or unreadable.

    Only an estimate for the progress bars, so a damaged file is ignored
    rather than failing the demo.
    """
    path = reports_dir / "latest" / _TIMINGS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, int | float)}


def _save_timings(reports_dir: Path, runs: list[StoryRun]) -> None:
    merged = load_timings(reports_dir) | {r.story: round(r.seconds, 1) for r in runs}
    write_json_atomic(reports_dir / "latest" / _TIMINGS, merged)


def run_demo(settings: Settings, story: str, events: int, observer: DemoObserver) -> DemoResult:
    """Start the stack, run the selected stories in order, record their claims, build the report.

    A story whose step reports a correctness problem stops the demo after its
    claims are recorded (later stories read what it wrote). The report is
    built either way; the caller shows it, then fails on `result.problems`.
    """
    from starlab.evidence import build_report, record
    from starlab.stack import manager

    started = time.monotonic()
    stories = selected_stories(story)
    expected = load_timings(settings.reports_dir)
    observer.demo_started(stories, expected)
    manager.up(settings, progress=observer.message)
    runs: list[StoryRun] = []
    for s in stories:
        step = s.load_demo()
        assert step is not None  # selected_stories keeps only stories with a demo step
        observer.story_started(s, expected.get(s.name))
        t0 = time.monotonic()
        outcome = step(DemoContext(settings=settings, events=events, progress=observer.message))
        if outcome.claims:
            record(
                outcome.claims,
                s.evidence_id,
                settings.reports_dir,
                topology=settings.topology,
                # The stories generate with the generator's default seed: the same data every run.
                params={"events": events, "seed": GeneratorConfig().seed},
            )
        run = StoryRun(
            story=s.name,
            title=s.title,
            seconds=time.monotonic() - t0,
            claims=tuple(outcome.claims),
            problems=tuple(outcome.problems),
        )
        runs.append(run)
        observer.story_finished(run)
        if run.problems:
            break  # later stories read what this one wrote; do not build on a broken step
    _save_timings(settings.reports_dir, runs)
    report = build_report(settings.reports_dir, star_scripts=star_scripts())
    return DemoResult(tuple(runs), report, time.monotonic() - started)


def star_scripts() -> list[StarScript]:
    """Every registered story's STAR scripts (`Story.star`), in demo order."""
    return [script for s in registered() for script in (s.load_star() or ())]
