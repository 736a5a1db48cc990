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
    """Story 3: a clean live run (latency, freshness), a run with the job
    SIGKILLed mid-stream (exactly-once), then reconcile and backfill."""
    from starlab.evidence import Claim, record
    from streaming.evidence import STORY, claims_from_run
    from streaming.reconcile import backfill, reconcile
    from streaming.scenario import Fault, RunOptions, RunResult, run_stream

    def show(label: str, r: RunResult) -> None:
        rep, lat = r.report, r.latency_ms
        progress(
            f"{label}: lost {rep.lost}, duplicated {rep.duplicated}, "
            f"late {rep.late_captured}/{rep.expected_late}, metric mismatches {rep.metric_mismatches}; "
            f"e2e p95 {(lat.p95 / 1000 if lat else float('nan')):.1f}s, "
            f"freshness p95 {r.freshness_p95_s or float('nan'):.1f}s"
        )

    clean = run_stream(settings, RunOptions(events=events, rate=2_500), progress=progress)
    show("clean run", clean)
    faulty = run_stream(
        settings,
        RunOptions(events=events, rate=2_500, faults=[Fault.parse("kill-job@0.5")]),
        progress=progress,
    )
    show("run with the job SIGKILLed at 50%", faulty)

    before = reconcile(settings)
    span = before.drift_span()
    repaired = backfill(settings, *span, run_dbt=False) if span else None
    after = reconcile(settings, run_dbt=False)
    progress(
        f"reconcile: {before.drift_windows} of {before.windows_compared} windows drift "
        f"({before.drift_events} events; {before.batch_late_events} late events in the batch); "
        f"backfill replayed {repaired.windows if repaired else 0} windows "
        f"in {repaired.seconds if repaired else 0:.1f}s; "
        f"drift after: {after.drift_windows}"
    )

    base = f"starlab stream run --events {events} --rate 2500"
    timing = [c for c in claims_from_run(clean, base) if c.metric in ("e2e_latency_p95", "freshness_p95")]
    correctness = [
        c
        for c in claims_from_run(faulty, base + " --fault kill-job@0.5")
        if c.metric not in ("e2e_latency_p95", "freshness_p95")
    ]
    drift = Claim(
        story=STORY,
        claim="drift between batch and stream is detected and repaired (0 after backfill)",
        metric="drift_windows_after_backfill",
        unit="windows",
        claimed=0,
        comparator="==",
        measured=after.drift_windows,
        method=(
            f"dbt marts.fct_item_metrics_1m over the lake vs the stream's latest value per window: "
            f"{before.drift_windows} windows drifted before, "
            f"{repaired.windows if repaired else 0} replayed in one transaction"
        ),
        command="starlab stream reconcile && starlab stream backfill",
        details={"before": before.summary(3)},
    )
    record([*timing, *correctness, drift], STORY, settings.reports_dir)
    if not (clean.report.ok and faulty.report.ok and after.drift_windows == 0):
        raise StarlabError("stream verification or reconciliation failed; see the lines above")


def _rankings(settings: Settings, events: int, progress: Progress) -> None:
    """Story 2: 14 days of recent history -> blue/green publish behind the DQ gate -> API under load."""
    from rankings.demo import run_rankings_demo

    run_rankings_demo(settings, events, progress)


STEPS: dict[str, Step] = {
    "foundation": Step("foundation", "generator -> edge producer -> Kafka -> read back", _foundation),
    "stream": Step("stream", "Kafka -> Flink SQL (dedup, watermark, exactly-once) -> verify", _stream),
    "rankings": Step(
        "rankings", "lake -> dbt (blue/green) -> DQ gate -> flip -> warm Redis -> API under load", _rankings
    ),
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
