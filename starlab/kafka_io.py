"""Small Kafka helpers every story shares: topics, offsets, reading a topic whole.

Reads use `isolation.level=read_committed` so a verification never counts
records of an aborted or still-open transaction (story 3: exactly-once output
becomes visible only when Flink's checkpoint commits it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from starlab.errors import StackError, TransientError
from starlab.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    config: Mapping[str, str] = field(default_factory=dict)


def admin(settings: Settings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap})


def ensure_topics(settings: Settings, specs: list[TopicSpec], timeout_s: float = 30) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    client = admin(settings)
    existing = set(client.list_topics(timeout=timeout_s).topics)
    new = [
        NewTopic(
            s.name,
            num_partitions=s.partitions,
            replication_factor=settings.kafka_replication,
            config=dict(s.config),
        )
        for s in specs
        if s.name not in existing
    ]
    if not new:
        return []
    created = []
    for name, fut in client.create_topics(new, operation_timeout=timeout_s).items():
        try:
            fut.result()
            created.append(name)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise StackError(f"cannot create topic {name}: {exc}") from None
    _wait_for_partitions(client, {s.name: s.partitions for s in specs if s.name in created}, timeout_s)
    return created


def _wait_for_partitions(client: AdminClient, want: Mapping[str, int], timeout_s: float) -> None:
    """Wait until the broker we ask lists every topic with all its partitions.

    CreateTopics returns once the controller has the topic; on a cluster the
    other brokers learn it a moment later, and a client asking one of them
    in between sees no such topic (or none of its partitions).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        topics = client.list_topics(timeout=timeout_s).topics
        missing = [
            name
            for name, n in want.items()
            if name not in topics or topics[name].error is not None or len(topics[name].partitions) < n
        ]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise StackError(f"topics {', '.join(missing)} not visible after {timeout_s:g} s")
        time.sleep(0.1)


def delete_topics(settings: Settings, names: list[str], timeout_s: float = 30) -> None:
    client = admin(settings)
    existing = set(client.list_topics(timeout=timeout_s).topics)
    todo = [n for n in names if n in existing]
    if not todo:
        return
    for _, fut in client.delete_topics(todo, operation_timeout=timeout_s).items():
        fut.result()
    # Deletion is asynchronous in the broker; wait until metadata agrees.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not set(todo) & set(client.list_topics(timeout=timeout_s).topics):
            return
        time.sleep(0.2)


def consumer(settings: Settings, group: str | None = None, **extra: object) -> Consumer:
    conf: dict[str, object] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group or f"starlab-read-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }
    conf.update(extra)
    return Consumer(conf)


def end_offsets(settings: Settings, topic: str, timeout_s: float = 10) -> dict[int, int]:
    """Per-partition high watermark (for read_committed: last stable offset)."""
    c = consumer(settings)
    try:
        md = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if md is None or md.error is not None:
            raise StackError(f"topic {topic} does not exist")
        out = {}
        for p in md.partitions:
            _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            out[p] = high
        return out
    finally:
        c.close()


def read_all(
    settings: Settings, topic: str, idle_timeout_s: float = 5.0, max_wait_s: float = 300.0
) -> Iterator[Message]:
    """Yield every committed message of `topic` from the beginning.

    Stops when every partition reached the end offset seen at the start, or
    after `idle_timeout_s` without a message once that end was reached.
    """
    targets = end_offsets(settings, topic)
    c = consumer(settings)
    try:
        c.assign([TopicPartition(topic, p, 0) for p in targets])
        position = {p: 0 for p in targets}
        deadline = time.monotonic() + max_wait_s
        last_msg = time.monotonic()
        while True:
            if all(position[p] >= targets[p] for p in targets):
                return
            if time.monotonic() > deadline:
                raise TransientError(f"reading {topic} timed out at {position} of {targets}")
            msgs = c.consume(num_messages=5000, timeout=0.5)
            if not msgs:
                # Transaction markers occupy offsets no message is returned
                # for; the client's position moves past them, so ask it.
                for tp in c.position([TopicPartition(topic, p) for p in targets]):
                    if tp.offset >= 0:
                        position[tp.partition] = max(position[tp.partition], tp.offset)
                if time.monotonic() - last_msg > idle_timeout_s:
                    return
            for msg in msgs:
                if msg.error():
                    raise StackError(f"reading {topic}: {msg.error()}")
                last_msg = time.monotonic()
                part, offset = msg.partition(), msg.offset()
                if part is not None and offset is not None:
                    position[part] = offset + 1
                yield msg
    finally:
        c.close()
