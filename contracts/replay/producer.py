"""The app team's edge producer at a given contract version: engagement events written with that Avro schema.

Backs the producer side of story 1's replayed quarter. The kernel's
`EdgeProducer` writes version 1 of the event contract (what every story
uses); in the replay the app team moves the producer through the versions
its pull requests add (an optional field, a rename, an expand with
dual-write), so this producer takes the schema text of the version that is
deployed and fills each field from the generated event: same-named fields
directly, new ones by the script's fill rule (a constant, or a copy of
another field: the dual-write of an expand). Encoding goes through
confluent-kafka's AvroSerializer with auto-registration, so the registry
judges every new version under the subject's mode, as it would in
production.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from contracts.errors import ContractsError, ContractsTransientError
from contracts.replay.script import Fill
from starlab.events.model import Event
from starlab.events.producer import edge_topics
from starlab.kafka_io import ensure_topics
from starlab.settings import Settings


def _nullable(avro_type: object) -> bool:
    return isinstance(avro_type, list) and "null" in avro_type


def record_for(schema: Mapping[str, Any], event: Event, fills: Mapping[str, Fill]) -> dict[str, Any]:
    """The event as a record of `schema`: its fields by name, the rest from `fills` (or null)."""
    base = event.to_record()
    out: dict[str, Any] = {}
    for f in schema["fields"]:
        name = f["name"]
        rule = fills.get(name)
        if name in base:
            out[name] = base[name]
        elif rule is not None and rule.copy_from is not None:
            out[name] = base.get(rule.copy_from)
        elif rule is not None:
            out[name] = rule.const
        elif _nullable(f["type"]):
            out[name] = None
        else:
            raise ContractsError(f"producer: no value for required field {name!r} (add a fill rule)")
    return out


@dataclass
class ProducerRun:
    sent: int = 0
    delivered: int = 0
    failures: list[str] = field(default_factory=list)


class VersionedProducer:
    """Produces events with one schema version; use as a context manager (flushes on exit)."""

    def __init__(self, settings: Settings, schema_text: str, fills: Mapping[str, Fill]) -> None:
        self.settings = settings
        self.schema = json.loads(schema_text)
        self.fills = fills
        self.run = ProducerRun()
        ensure_topics(settings, edge_topics(settings))
        registry = SchemaRegistryClient({"url": settings.schema_registry_url})
        self._serialize = AvroSerializer(registry, schema_text, conf={"auto.register.schemas": True})
        self._ctx = SerializationContext(settings.events_topic, MessageField.VALUE)
        self._producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 10,
            }
        )

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.run.failures.append(err.str())
        else:
            self.run.delivered += 1

    def send_all(self, events: Iterable[Event]) -> ProducerRun:
        for event in events:
            value = self._serialize(record_for(self.schema, event, self.fills), self._ctx)
            self._producer.produce(
                self.settings.events_topic,
                key=event.event_id.encode(),
                value=value,
                on_delivery=self._on_delivery,
            )
            self._producer.poll(0)
            self.run.sent += 1
        remaining = self._producer.flush(30)
        if remaining or self.run.failures:
            raise ContractsTransientError(
                f"producer: {remaining} events unacknowledged, {len(self.run.failures)} failed "
                f"({self.run.failures[:1]})"
            )
        return self.run

    def __enter__(self) -> VersionedProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._producer.flush(10)


__all__ = ["ProducerRun", "VersionedProducer", "record_for"]
