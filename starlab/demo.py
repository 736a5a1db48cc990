"""`starlab demo` / `make demo`: run the stories in order on one generated dataset.

Besides the CLI, this is the only kernel module that imports story folders
(inside the step functions), so the import graph keeps no cycles. Each step
prints what it did and records its measured claims; the evidence report is
rebuilt at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from starlab.errors import StarlabError
from starlab.settings import Settings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    run: Callable[[Settings, int, Progress], None]


def _foundation(settings: Settings, events: int, progress: Progress) -> None:
    """Stack health, the generator through the edge producer, and a read-back."""
    from starlab.events.files import write_dimensions
    from starlab.events.generator import Generator, GeneratorConfig
    from starlab.kafka_io import delete_topics
    from streaming.ingest_check import check_ingest
    from streaming.producer import EdgeProducer, stream_topics

    # A fresh topic set per demo run, so counts compare with this run's manifest.
    delete_topics(settings, [t.name for t in stream_topics(settings)])
    gen = Generator(GeneratorConfig(events=events))
    t0 = time.monotonic()
    with EdgeProducer(settings) as producer:
        for emission in gen.emissions():
            producer.send(emission.raw)
    stats = producer.stats
    elapsed = time.monotonic() - t0
    run_dir = settings.data_dir / "raw" / "demo"
    gen.manifest.write(run_dir / "manifest.json")
    write_dimensions(gen.items, gen.users, settings.lake_dir)
    progress(
        f"produced {stats.accepted:,} Avro events and {stats.dead_lettered:,} dead letters "
        f"in {elapsed:.1f}s ({(stats.accepted + stats.dead_lettered) / elapsed:,.0f} records/s), "
        f"delivery failures {stats.delivery_failures}"
    )
    check = check_ingest(settings, gen.manifest)
    progress(
        f"read back {check.events_read:,} events ({check.distinct_ids:,} distinct ids) vs manifest "
        f"{check.expected_events:,} ({check.expected_distinct:,}); DLQ {check.dlq_read:,} vs "
        f"{check.expected_dlq:,} {dict(check.dlq_reasons)}"
    )
    if not check.ok:
        raise StarlabError(f"ingest round trip does not match the manifest: {check}")


def _stream(settings: Settings, events: int, progress: Progress) -> None:
    """Story 3: live events through the Flink job, one SIGKILL of the job, verify."""
    from starlab.evidence import record
    from streaming.evidence import STORY, claims_from_run
    from streaming.scenario import Fault, RunOptions, run_stream

    opts = RunOptions(events=events, rate=2_500, faults=[Fault.parse("kill-job@0.5")])
    result = run_stream(settings, opts, progress=progress)
    rep = result.report
    lat = result.latency_ms
    progress(
        f"verify: lost {rep.lost}, duplicated {rep.duplicated}, "
        f"late {rep.late_captured}/{rep.expected_late}, "
        f"metric mismatches {rep.metric_mismatches}; e2e p95 "
        f"{(lat.p95 / 1000 if lat else float('nan')):.1f}s, freshness p95 {result.freshness_p95_s or 0:.1f}s"
    )
    command = f"starlab stream run --events {events} --rate 2500 --fault kill-job@0.5"
    record(claims_from_run(result, command), STORY, settings.reports_dir)
    if not rep.ok:
        raise StarlabError(f"stream verification failed: {rep.to_dict()}")


STEPS: dict[str, Step] = {
    "foundation": Step("foundation", "generator -> edge producer -> Kafka -> read back", _foundation),
    "stream": Step("stream", "Kafka -> Flink SQL (dedup, watermark, exactly-once) -> verify", _stream),
}


def run_demo(settings: Settings, story: str, events: int, progress: Progress) -> None:
    from starlab.evidence import build_report
    from starlab.stack import manager

    if story != "all" and story not in STEPS:
        raise StarlabError(f"unknown story {story!r}; choose all or one of {list(STEPS)}")
    manager.up(settings, progress=progress)
    for name, step in STEPS.items():
        if story not in ("all", name):
            continue
        progress(f"[bold]{name}[/bold]: {step.summary}")
        t0 = time.monotonic()
        step.run(settings, events, progress)
        progress(f"{name} done in {time.monotonic() - t0:.1f}s")
    built = build_report(settings.reports_dir)
    progress(f"evidence report: {built.md_path} ({built.counts}); open {built.html_path} in a browser")
