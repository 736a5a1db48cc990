"""What `starlab demo` shows while it runs and when it ends.

Two rich progress bars: the whole demo (stories done of all, elapsed) and
the running story (elapsed against the time it took last run, from
`reports/latest/timings.json`; a first run shows a spinner and the elapsed
time only, since nothing says how long it will take). The story's own
messages print above the bars, each after the seconds the story has run so
far. At the end: one table of every claim beside its measurement, then the
time per story.

On a console that is not a terminal (CI logs, `| tee`) rich draws no live
bars; the messages and the final tables still print, line by line.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from starlab.demo import DemoResult, StoryRun
    from starlab.story import Story

__all__ = ["RichDemoView", "claims_table", "timings_table"]

_STATUS_STYLE = {"pass": "green", "fail": "red", "not measured": "yellow"}


class RichDemoView:
    """A `starlab.demo.DemoObserver` that draws progress bars on a rich console."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[how_far]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._demo: TaskID | None = None
        self._story: TaskID | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- the observer --------------------------------------------------------------
    def demo_started(self, stories: list[Story], expected: Mapping[str, float]) -> None:
        known = [expected[s.name] for s in stories if s.name in expected]
        guess = f", about {sum(known) / 60:.0f} min by the last run" if len(known) == len(stories) else ""
        self._progress.start()
        self._demo = self._progress.add_task(
            f"demo: {len(stories)} stor{'y' if len(stories) == 1 else 'ies'}{guess}",
            total=len(stories),
            how_far=f"0/{len(stories)}",
        )

    def story_started(self, story: Story, expected_s: float | None) -> None:
        label = f"{story.name}: {story.title}"
        if len(label) > 60:
            label = label[:59] + "…"
        self._story = self._progress.add_task(
            label,
            total=expected_s,  # None: an indeterminate bar, no fake percentage
            how_far=f"last run {expected_s:.0f}s" if expected_s else "first timed run",
        )
        self._stop.clear()
        self._ticker = threading.Thread(target=self._tick, args=(self._story, expected_s), daemon=True)
        self._ticker.start()

    def message(self, text: str) -> None:
        # Each line carries the story's elapsed seconds, so a log says which step took the time.
        at = ""
        if self._story is not None and not self._stop.is_set():
            at = f"[dim]{self._progress.tasks[self._story].elapsed or 0.0:>4.0f}s[/dim] "
        # escape(): a story's text is printed as written, "[1, 2]" included, never read as markup
        self._progress.console.print(f"[dim]·[/dim] {at}{escape(text)}", highlight=False)

    def story_finished(self, run: StoryRun) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._story is not None:
            ok = "[red]problems[/red]" if run.problems else "[green]done[/green]"
            self._progress.update(self._story, total=1, completed=1, how_far=f"{ok} in {run.seconds:.0f}s")
        if self._demo is not None:
            self._progress.advance(self._demo)
            task = self._progress.tasks[self._demo]
            self._progress.update(self._demo, how_far=f"{task.completed:.0f}/{task.total:.0f}")

    def close(self) -> None:
        self._stop.set()
        self._progress.stop()

    def _tick(self, task: TaskID, expected_s: float | None) -> None:
        # The bar moves with time against the last run's duration, held at 99% so an
        # overrun never shows as done; the elapsed column is what is measured.
        while not self._stop.wait(0.5):
            if expected_s:
                elapsed = self._progress.tasks[task].elapsed or 0.0
                self._progress.update(task, completed=min(elapsed, 0.99 * expected_s))


def claims_table(result: DemoResult) -> Table:
    """Every claim of this run: the story's figure beside the measured one, and the verdict."""
    table = Table(title="claims vs measurements", show_lines=False)
    for col in ("story", "claim", "claimed", "measured", "status"):
        table.add_column(col, overflow="fold")
    for run in result.runs:
        for c in run.claims:
            status = str(c.status)
            style = _STATUS_STYLE.get(status, "")
            table.add_row(
                run.story,
                c.claim,
                c.claimed_text(),
                c.measured_text(),
                f"[{style}]{status.upper()}[/{style}]" if style else status,
            )
    return table


def timings_table(runs: tuple[StoryRun, ...], total_s: float) -> Table:
    """Wall time per story and in total (the demo's 10-minute budget is for all stories)."""
    table = Table(title="time per story")
    table.add_column("story")
    table.add_column("seconds", justify="right")
    table.add_column("claims", justify="right")
    for run in runs:
        table.add_row(run.story, f"{run.seconds:.0f}", str(len(run.claims)))
    table.add_row("[bold]total[/bold] (stack start included)", f"[bold]{total_s:.0f}[/bold]", "")
    return table
