"""The edge producer: contract check, Avro through the registry, dead-letter topic.

Kernel infrastructure: the foundation step, story 3's live runs and the
feature cache's precompute all put events into Kafka through it. Backs story 3
("introduced schema registry and exactly-once semantics"): every raw
record from a device is checked against the engagement-event contract before
it enters the stream. Valid events are Avro-encoded with the schema registered
under `<events_topic>-value` and produced idempotently (`enable.idempotence`:
a broker-side retry never writes a second copy). Records that break the
contract go to the dead-letter topic with the reason in headers and the
original bytes as the value, so nothing is lost and each one can be replayed
after a fix. Delivery failures are counted by the callback, never silent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from starlab.events.model import ContractViolation, parse_event, schema_str
from starlab.kafka_io import TopicSpec, ensure_topics
from starlab.settings import Settings


@dataclass
class ProduceStats:
    """What one producer run did; `delivery_failures` must be 0 for no loss."""

    accepted: int = 0
    dead_lettered: int = 0
    delivered: int = 0
    delivery_failures: int = 0
    dlq_reasons: Counter[str] = field(default_factory=Counter)
    failure_errors: Counter[str] = field(default_factory=Counter)


class ProducerCollector(Collector):
    """The producer's counts as Prometheus metrics, read from `stats` at scrape time.

    `starlab_producer_records_total{outcome}`: accepted (valid, sent to the
    events topic), dead_lettered, delivered (acknowledged by the broker with
    acks=all) and delivery_failed; `starlab_producer_dead_letters_total{reason}`
    by contract violation. Delivered / accepted is the edge's delivery SLI.
    """

    def __init__(self, producer: EdgeProducer) -> None:
        self.producer = producer

    def collect(self) -> Iterable[Metric]:
        s = self.producer.stats
        records = CounterMetricFamily(
            "starlab_producer_records", "Edge records by outcome.", labels=["outcome"]
        )
        for outcome, n in (
            ("accepted", s.accepted),
            ("dead_lettered", s.dead_lettered),
            ("delivered", s.delivered),
            ("delivery_failed", s.delivery_failures),
        ):
            records.add_metric([outcome], n)
        dlq = CounterMetricFamily(
            "starlab_producer_dead_letters", "Dead letters by reason.", labels=["reason"]
        )
        for reason, n in sorted(s.dlq_reasons.items()):
            dlq.add_metric([str(reason)], n)
        yield from (records, dlq)


def edge_topics(settings: Settings) -> list[TopicSpec]:
    """The topics the edge writes: the events (one partition per core) and the dead letters."""
    return [TopicSpec(settings.events_topic, settings.kafka_partitions), TopicSpec(settings.dlq_topic, 1)]


class EdgeProducer:
    """Validate, encode and produce raw edge records; use as a context manager."""

    def __init__(self, settings: Settings, linger_ms: int = 20) -> None:
        self.settings = settings
        self.stats = ProduceStats()
        ensure_topics(settings, edge_topics(settings))
        registry = SchemaRegistryClient({"url": settings.schema_registry_url})
        self._serialize = AvroSerializer(registry, schema_str(), conf={"auto.register.schemas": True})
        self._ctx = SerializationContext(settings.events_topic, MessageField.VALUE)
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": linger_ms,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.stats.delivery_failures += 1
            self.stats.failure_errors[err.name()] += 1
        else:
            self.stats.delivered += 1

    def _produce(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, key=key, value=value, headers=headers, on_delivery=self._on_delivery
                )
                break
            except BufferError:
                # Local queue full: let deliveries drain instead of dropping.
                self._producer.poll(0.1)
        self._producer.poll(0)

    def send(self, raw: bytes) -> bool:
        """Send one raw record; True if it entered the stream, False if DLQ'd."""
        try:
            event = parse_event(raw)
        except ContractViolation as violation:
            self.stats.dead_lettered += 1
            self.stats.dlq_reasons[violation.reason] += 1
            headers: list[tuple[str, str | bytes | None]] = [
                ("dlq.reason", violation.reason.encode()),
                ("dlq.detail", violation.detail.encode()[:500]),
                ("dlq.source.topic", self.settings.events_topic.encode()),
            ]
            self._produce(self.settings.dlq_topic, None, raw, headers)
            return False
        value = self._serialize(event.to_record(), self._ctx)
        assert value is not None
        # Keyed by event_id: every copy of an event lands in one partition,
        # so keep-first dedup sees them in order.
        self._produce(self.settings.events_topic, event.event_id.encode(), value)
        self.stats.accepted += 1
        return True

    def send_all(self, raws: Iterable[bytes]) -> ProduceStats:
        for raw in raws:
            self.send(raw)
        return self.flush()

    def flush(self, timeout_s: float = 60) -> ProduceStats:
        remaining = self._producer.flush(timeout_s)
        if remaining:
            self.stats.delivery_failures += remaining
            self.stats.failure_errors["flush_timeout"] += remaining
        return self.stats

    def __enter__(self) -> EdgeProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
