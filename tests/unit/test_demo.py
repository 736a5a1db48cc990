"""`starlab demo`: stories run in order, claims are recorded, timings feed the next run's bars.

No process is started: the stack's `up` is replaced, the stories are two
made-up ones whose demo steps return fixed claims, and the report is
written to a temporary directory.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

import starlab.demo
import starlab.story
from starlab.cli.demo_view import RichDemoView, claims_table, timings_table
from starlab.demo import DemoResult, StoryRun, events_for_scale, load_timings, run_demo
from starlab.errors import StarlabError
from starlab.evidence import Claim
from starlab.settings import Settings
from starlab.story import DemoContext, DemoOutcome, Story


def _claim(story: str, measured: float) -> Claim:
    return Claim(
        story=story,
        claim="freshness under 5 minutes (p95)",
        metric="freshness_p95",
        unit="min",
        claimed=5,
        comparator="<",
        method="now - max(ingest_ts)",
        command="starlab stream slo",
    ).with_measured(measured)


class Recorder:
    """A DemoObserver that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def demo_started(self, stories: list[Story], expected: dict[str, float]) -> None:
        self.calls.append(("demo_started", ([s.name for s in stories], dict(expected))))

    def story_started(self, story: Story, expected_s: float | None) -> None:
        self.calls.append(("story_started", (story.name, expected_s)))

    def message(self, text: str) -> None:
        self.calls.append(("message", text))

    def story_finished(self, run: StoryRun) -> None:
        self.calls.append(("story_finished", (run.story, run.problems)))


@pytest.fixture
def two_stories(monkeypatch: pytest.MonkeyPatch) -> dict[str, DemoOutcome]:
    """Stories `alpha` then `beta`; a test sets what each step returns."""
    outcomes = {
        "alpha": DemoOutcome([_claim("1-alpha", 2.0)]),
        "beta": DemoOutcome([_claim("2-beta", 9.0)]),
    }

    def step(name: str):  # type: ignore[no-untyped-def]
        def run(ctx: DemoContext) -> DemoOutcome:
            ctx.progress(f"{name} saw {ctx.events} events")
            return outcomes[name]

        return run

    stories = (
        Story(name="alpha", evidence_id="1-alpha", title="first", order=1, demo="x:alpha"),
        Story(name="beta", evidence_id="2-beta", title="second", order=2, demo="x:beta"),
    )
    monkeypatch.setattr(starlab.story, "registered", lambda: stories)
    monkeypatch.setattr(starlab.demo, "registered", lambda: stories)
    monkeypatch.setattr(starlab.story, "_resolve", lambda ref: step(ref.partition(":")[2]))
    monkeypatch.setattr("starlab.stack.manager.up", lambda settings, progress: progress("stack up"))
    return outcomes


def test_runs_every_story_in_order_records_claims_and_saves_timings(
    tmp_path: Path, two_stories: dict[str, DemoOutcome]
) -> None:
    settings = Settings(reports_dir=tmp_path)
    seen = Recorder()
    result = run_demo(settings, "all", events=1234, observer=seen)

    assert [r.story for r in result.runs] == ["alpha", "beta"]
    assert [c.status.value for r in result.runs for c in r.claims] == ["pass", "fail"]
    assert not result.problems
    assert ("message", "alpha saw 1234 events") in seen.calls
    assert seen.calls[0] == ("demo_started", (["alpha", "beta"], {}))  # nothing timed yet
    assert sorted(p.name for p in (tmp_path / "latest" / "claims").glob("*.json")) == [
        "1-alpha.json",
        "2-beta.json",
    ]
    assert set(load_timings(tmp_path)) == {"alpha", "beta"}
    # evidence.json says what data each story ran on
    stories = json.loads(result.report.json_path.read_text())["stories"]
    assert [s["params"] for s in stories] == [{"events": 1234, "seed": 7}] * 2

    # The second run is told how long each story took the first time.
    again = Recorder()
    run_demo(settings, "beta", events=10, observer=again)
    started = [args for name, args in again.calls if name == "story_started"]
    assert started == [("beta", load_timings(tmp_path)["beta"])]


def test_a_story_with_problems_stops_the_demo_after_its_claims_are_recorded(
    tmp_path: Path, two_stories: dict[str, DemoOutcome]
) -> None:
    two_stories["alpha"] = DemoOutcome([_claim("1-alpha", 2.0)], problems=["3 events lost"])
    result = run_demo(Settings(reports_dir=tmp_path), "all", events=10, observer=Recorder())

    assert [r.story for r in result.runs] == ["alpha"]  # beta never ran on a broken alpha
    assert result.problems == ["alpha: 3 events lost"]
    assert (tmp_path / "latest" / "claims" / "1-alpha.json").is_file()
    assert result.report.md_path.is_file()


def test_damaged_timings_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "timings.json").write_text("{not json")
    assert load_timings(tmp_path) == {}
    (tmp_path / "latest" / "timings.json").write_text('{"alpha": "slow", "beta": 12}')
    assert load_timings(tmp_path) == {"beta": 12.0}


@pytest.mark.parametrize(("scale", "events"), [(1, 20_000), (0.5, 10_000), (2.5, 50_000), (0.001, 1_000)])
def test_scale_sizes_the_data(scale: float, events: int) -> None:
    assert events_for_scale(scale) == events


@pytest.mark.parametrize("scale", [0, -1, float("nan")])
def test_a_scale_that_is_not_positive_is_refused(scale: float) -> None:
    with pytest.raises(StarlabError, match="--scale"):
        events_for_scale(scale)


def test_the_view_prints_messages_and_every_claim_beside_its_measurement(
    tmp_path: Path, two_stories: dict[str, DemoOutcome]
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=False)
    view = RichDemoView(console)
    try:
        result: DemoResult = run_demo(Settings(reports_dir=tmp_path), "all", events=7, observer=view)
    finally:
        view.close()
    console.print(claims_table(result))
    console.print(timings_table(result.runs, result.seconds))
    text = out.getvalue()
    assert re.search(r"· +\d+s alpha saw 7 events", text), text  # with the story's elapsed seconds
    assert "[dim]" not in text
    assert "PASS" in text and "FAIL" in text
    assert "9 min" in text  # beta's measured value, next to its claimed "< 5 min"
    assert "total" in text


def test_a_storys_text_is_printed_as_written_not_read_as_markup() -> None:
    out = io.StringIO()
    view = RichDemoView(Console(file=out, width=160, force_terminal=False))
    try:
        view.message("DLQ [1, 2] and [bold]as written[/bold]")
    finally:
        view.close()
    assert "DLQ [1, 2] and [bold]as written[/bold]" in out.getvalue()
