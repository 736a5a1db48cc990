"""Read the ingested topics back and compare with the generator's ground truth.

Backs the foundation's round-trip check and story 3's "event loss reduced to
0.03%" at the ingest edge: every valid emission must be in the events topic
(duplicates included: dedup is Flink's job, not the producer's), and every
malformed record in the dead-letter topic with its reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from starlab.events.generator import Manifest
from starlab.kafka_io import read_all
from starlab.settings import Settings


@dataclass
class IngestCheck:
    events_read: int = 0
    distinct_ids: int = 0
    dlq_read: int = 0
    dlq_reasons: Counter[str] = field(default_factory=Counter)
    missing_ids: list[str] = field(default_factory=list)
    unexpected_ids: list[str] = field(default_factory=list)
    expected_events: int = 0
    expected_distinct: int = 0
    expected_dlq: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.events_read == self.expected_events
            and self.distinct_ids == self.expected_distinct
            and self.dlq_read == self.expected_dlq
            and not self.missing_ids
            and not self.unexpected_ids
        )


def check_ingest(settings: Settings, manifest: Manifest) -> IngestCheck:
    registry = SchemaRegistryClient({"url": settings.schema_registry_url})
    deserialize = AvroDeserializer(registry)
    ctx = SerializationContext(settings.events_topic, MessageField.VALUE)
    seen: Counter[str] = Counter()
    for msg in read_all(settings, settings.events_topic):
        record = deserialize(msg.value(), ctx)
        seen[record["event_id"]] += 1
    result = IngestCheck(
        events_read=sum(seen.values()),
        distinct_ids=len(seen),
        expected_events=manifest.valid_emissions,
        expected_distinct=len(manifest.unique_ids),
        expected_dlq=len(manifest.malformed),
    )
    expected = set(manifest.unique_ids)
    result.missing_ids = sorted(expected - seen.keys())[:20]
    result.unexpected_ids = sorted(seen.keys() - expected)[:20]
    for msg in read_all(settings, settings.dlq_topic):
        result.dlq_read += 1
        headers = dict(msg.headers() or [])
        reason = headers.get("dlq.reason")
        result.dlq_reasons[reason.decode() if isinstance(reason, bytes) else "?"] += 1
    return result
