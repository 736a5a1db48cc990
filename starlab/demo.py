"""`starlab demo` / `make demo`: every registered story's demo step, in order, on one dataset.

The kernel names no story: the steps come from `starlab.story.registered()`.
Each step returns the claims it measured; they are recorded under the
story's evidence id whatever happened, then the report is rebuilt, and only
then does a step's correctness problem fail the demo.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlab.errors import StarlabError
from starlab.settings import Settings
from starlab.story import DemoContext, Story, by_name, registered

Progress = Callable[[str], None]

__all__ = ["run_demo", "selected_stories"]


def selected_stories(name: str) -> list[Story]:
    """The stories `starlab demo NAME` runs: all with a demo step, or the one named."""
    if name == "all":
        return [s for s in registered() if s.demo]
    story = by_name(name)
    if not story.demo:
        raise StarlabError(f"story {name!r} has no demo step")
    return [story]


def run_demo(settings: Settings, story: str, events: int, progress: Progress) -> None:
    from starlab.evidence import build_report, record
    from starlab.stack import manager

    stories = selected_stories(story)
    manager.up(settings, progress=progress)
    problems: list[str] = []
    timings: list[str] = []
    for s in stories:
        step = s.load_demo()
        assert step is not None  # selected_stories keeps only stories with a demo step
        progress(f"[bold]{s.name}[/bold]: {s.title}")
        t0 = time.monotonic()
        outcome = step(DemoContext(settings=settings, events=events, progress=progress))
        if outcome.claims:
            record(outcome.claims, s.evidence_id, settings.reports_dir, topology=settings.topology)
        for c in outcome.claims:
            progress(f"{c.status}: {c.claim}: measured {c.measured_text()} (claimed {c.claimed_text()})")
        problems += [f"{s.name}: {p}" for p in outcome.problems]
        timings.append(f"{s.name} {time.monotonic() - t0:.0f}s")
        progress(f"{s.name} done in {time.monotonic() - t0:.1f}s")
        if outcome.problems:
            break  # later stories read what this one wrote; do not build on a broken step
    built = build_report(settings.reports_dir)
    progress(f"evidence report: {built.md_path} ({built.counts}); open {built.html_path} in a browser")
    progress("time per story: " + ", ".join(timings))
    if problems:
        raise StarlabError("demo failed: " + "; ".join(problems))
