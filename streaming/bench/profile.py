"""`starlab stream profile`: where the streaming job spends its CPU, as a flame graph.

Issue 12, throughput per core: the job reads a preloaded topic (the bench's
input) to its end, exactly-once, and async-profiler records the job's JVM for
a fixed time once the first checkpoint has committed (start-up and planning
left out). Writes `<out>/<label>.html` (the flame graph) and `<label>.md` (the
cost centres and the hottest frames), and reports the sustained rate of the
same run, so a change's effect is read from two profiles of the same input.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlab.flink.profile import Profile, record
from starlab.settings import Settings
from streaming.bench.run import flink_throughput, preload
from streaming.errors import BenchError
from streaming.job import FlinkJob
from streaming.scenario import reset_stream

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StreamProfile:
    label: str
    events: int
    events_per_s: float
    profile: Profile
    markdown: Path


def profile_stream(
    settings: Settings,
    label: str,
    out_dir: Path,
    events: int = 1_500_000,
    seconds: float = 30,
    flink_conf: tuple[tuple[str, str], ...] = (),
    progress: Progress = print,
) -> StreamProfile:
    reset_stream(settings, FlinkJob(settings, name="flink-bench"))
    n = preload(settings, events, progress).records
    progress(f"preloaded {n:,} events")
    found: list[Profile] = []
    errors: list[Exception] = []

    def on_running(job: FlinkJob) -> None:
        def run() -> None:
            pid = job.proc.pid()
            if pid is None:
                return
            progress(f"profiling the job's JVM for {seconds:.0f} s")
            try:
                found.append(
                    record(settings, pid, seconds, out_dir / label, title=f"starlab stream job: {label}")
                )
            except Exception as exc:  # reported after the run; the job goes on
                errors.append(exc)

        threading.Thread(target=run, name="profiler", daemon=True).start()

    rate = flink_throughput(settings, n, progress, flink_conf, on_running=on_running).events_per_s
    deadline = time.monotonic() + seconds + 60
    while not found and not errors and time.monotonic() < deadline:
        time.sleep(0.5)
    if errors:
        raise BenchError(f"profiling failed: {errors[0]}")
    if not found:
        raise BenchError(f"no profile after {seconds + 60:.0f} s: the job ended first? use more events")
    prof = found[0]
    md = out_dir / f"{label}.md"
    md.write_text(render(label, n, rate, prof, flink_conf))
    return StreamProfile(label, n, rate, prof, md)


def render(
    label: str, events: int, rate: float, prof: Profile, flink_conf: tuple[tuple[str, str], ...] = ()
) -> str:
    s = prof.summary
    conf = " ".join(f"--conf {k}={v}" for k, v in flink_conf)
    lines = [
        f"# Stream job profile: {label}",
        "",
        f"{events:,} preloaded events read exactly-once to the end at {rate:,.0f} events/s; "
        f"the job's JVM sampled for {prof.seconds:.0f} s ({s.samples:,} CPU samples, async-profiler "
        f"`event=cpu`, 10 ms). Flame graph: [{prof.html.name}]({prof.html.name}). "
        f"Made by `starlab stream profile --label {label}{' ' + conf if conf else ''}`.",
        "",
        "| operator (its own code and the state calls it makes) | share of CPU samples |",
        "|---|---:|",
        *(f"| {c.name} | {c.pct:.1f}% |" for c in s.operators),
        "",
        "| cost centre | share of CPU samples |",
        "|---|---:|",
        *(f"| {c.name} | {c.pct:.1f}% |" for c in s.categories),
        "",
        "| hottest frames (self) | share |",
        "|---|---:|",
        *(f"| `{f.name[:100]}` | {f.pct:.1f}% |" for f in s.top_self),
        "",
    ]
    return "\n".join(lines)
