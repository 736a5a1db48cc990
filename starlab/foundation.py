"""The foundation step of `starlab demo`: the stack, the generator and the edge, end to end.

Not a story but the ground every story stands on, registered like one (its
entry point is in pyproject.toml) so the demo runs it first: generated
events with known defects go through the edge producer into Kafka (Avro via
the registry, malformed records to the dead-letter topic with their reason)
and are read back and compared with the generator's ground-truth manifest.
"""

from __future__ import annotations

import time

from starlab.story import DemoContext, DemoOutcome, Story

STORY = Story(
    name="foundation",
    evidence_id="0-foundation",
    title="generator -> edge producer (Avro, DLQ) -> Kafka -> read back against the manifest",
    order=0,
    demo="starlab.foundation:run_demo",
)


def run_demo(ctx: DemoContext) -> DemoOutcome:
    # Kafka and Avro clients load when the step runs, not when the story list is read.
    from starlab.events.files import write_dimensions
    from starlab.events.generator import Generator, GeneratorConfig
    from starlab.events.ingest_check import check_ingest
    from starlab.events.producer import EdgeProducer, edge_topics
    from starlab.kafka_io import delete_topics

    settings, progress = ctx.settings, ctx.progress
    # A fresh topic pair per demo run, so counts compare with this run's manifest.
    delete_topics(settings, [t.name for t in edge_topics(settings)])
    gen = Generator(GeneratorConfig(events=ctx.events))
    t0 = time.monotonic()
    with EdgeProducer(settings) as producer:
        for emission in gen.emissions():
            producer.send(emission.raw)
    stats = producer.stats
    elapsed = time.monotonic() - t0
    gen.manifest.write(settings.data_dir / "raw" / "demo" / "manifest.json")
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
    problems = [] if check.ok else [f"ingest round trip does not match the manifest: {check}"]
    return DemoOutcome(claims=[], problems=problems)
