"""Storage of the schema registry: an in-memory state rebuilt from a log of records.

Backs story 1 (schema registry with Confluent compatibility modes checked in
CI): registered schemas must survive a restart of the local stack, and ids
must stay stable, because every Avro message on the event topics carries its
writer schema's id.

The design is Confluent Schema Registry's own: every change is a record in a
compacted Kafka topic (default `_schemas`, one partition), the record key
names what changed (a subject version or a compatibility config) and the
value is its new state as JSON (null = tombstone). On start the registry reads
the topic from the beginning and applies every record, so the topic *is* the
database and the in-memory maps are a cache of it. The key and value shapes
follow Confluent's (`{"keytype":"SCHEMA","subject":...,"version":...,"magic":1}`
-> `{"subject","version","id","schema","deleted"}`), so the topic reads
familiar to anyone who has looked into a real `_schemas` topic.

`MemoryStore` keeps the log in a list (unit tests; `MemoryStore(log=...)`
replays it like a restart); `KafkaStore` keeps it in Kafka.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from starlab.errors import StarlabError, TransientError
from starlab.schema import CompatibilityMode

log = logging.getLogger(__name__)

__all__ = [
    "KafkaStore",
    "MemoryStore",
    "SchemaStore",
    "SchemaVersion",
    "StoreError",
    "StoreUnavailableError",
]

Record = tuple[bytes, bytes | None]
"""One log record: key bytes and value bytes (None = tombstone)."""


class StoreError(StarlabError):
    """The schema store cannot persist or read a change (terminal)."""


class StoreUnavailableError(StoreError, TransientError):
    """Kafka did not answer in time; worth retrying once the broker is up."""


@dataclass(frozen=True)
class SchemaVersion:
    """One version of a subject: which global schema id it points to."""

    subject: str
    version: int
    schema_id: int
    schema: str
    """Canonical schema text (`starlab.schema.canonical_text`)."""
    deleted: bool = False
    """Soft-deleted: hidden from reads and compatibility checks, kept in the log."""


# --------------------------------------------------------------------------- record codec
# Keys are serialized with a fixed key order and no spaces: compaction keeps
# the newest record *per key bytes*, so the same logical key must always
# produce the same bytes.


def partition_count(admin: Any, topic: str, timeout_s: float) -> int:
    """The topic's partition count, once the broker asked knows the topic.

    On a cluster, the broker answering the metadata request may not have a
    new topic's partitions yet right after CreateTopics returned (it learns
    them from the controller a moment later): it answers with no partitions
    or UNKNOWN_TOPIC_OR_PART. Ask again until the deadline; 0 after it.
    """
    from confluent_kafka import KafkaException

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            meta = admin.list_topics(topic, timeout=timeout_s)
        except KafkaException as exc:
            raise StoreUnavailableError(f"cannot describe topic {topic!r}: {exc}") from None
        found = meta.topics.get(topic)
        partitions = len(found.partitions) if found is not None and found.error is None else 0
        if partitions or time.monotonic() >= deadline:
            return partitions
        time.sleep(0.1)


def _dumps(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def schema_key(subject: str, version: int) -> bytes:
    return _dumps({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": 1})


def config_key(subject: str | None) -> bytes:
    return _dumps({"keytype": "CONFIG", "subject": subject, "magic": 0})


def schema_value(v: SchemaVersion) -> bytes:
    return _dumps(
        {
            "subject": v.subject,
            "version": v.version,
            "id": v.schema_id,
            "schema": v.schema,
            "deleted": v.deleted,
        }
    )


def config_value(mode: CompatibilityMode) -> bytes:
    return _dumps({"compatibilityLevel": mode.value})


# --------------------------------------------------------------------------- store


class SchemaStore(ABC):
    """Registry state plus the log it is persisted to.

    Every write is first appended to the log (`_persist`, which returns only
    once the record is durable) and only then applied to the in-memory state
    (`_apply`), the same function that replays the log on start: a change the
    registry has answered for is one a restart will see again.

    `lock` serializes writers; the registry holds it across a
    check-then-write (e.g. "is this schema compatible, then take the next id").
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._subjects: dict[str, dict[int, SchemaVersion]] = {}
        self._configs: dict[str | None, CompatibilityMode] = {}
        self._text_by_id: dict[int, str] = {}
        self._id_by_text: dict[str, int] = {}
        self._max_id = 0

    # ----------------------------------------------------------------- reads
    def subjects(self, *, include_deleted: bool = False) -> list[str]:
        """Subject names with at least one (live, unless include_deleted) version."""
        with self.lock:
            return sorted(
                s
                for s, versions in self._subjects.items()
                if any(include_deleted or not v.deleted for v in versions.values())
            )

    def versions(self, subject: str, *, include_deleted: bool = False) -> list[SchemaVersion]:
        """Versions of a subject, oldest first."""
        with self.lock:
            versions = self._subjects.get(subject, {})
            return [versions[n] for n in sorted(versions) if include_deleted or not versions[n].deleted]

    def schema_by_id(self, schema_id: int) -> str | None:
        with self.lock:
            return self._text_by_id.get(schema_id)

    def id_for_schema(self, canonical: str) -> int | None:
        with self.lock:
            return self._id_by_text.get(canonical)

    def next_schema_id(self) -> int:
        """Ids are global and never reused within a process (Confluent starts at 1)."""
        with self.lock:
            return self._max_id + 1

    def versions_of_schema(self, schema_id: int, *, include_deleted: bool = False) -> list[SchemaVersion]:
        with self.lock:
            return [
                v
                for s in sorted(self._subjects)
                for v in self.versions(s, include_deleted=include_deleted)
                if v.schema_id == schema_id
            ]

    def compatibility(self, subject: str | None) -> CompatibilityMode | None:
        """The configured level of a subject (None = global); None if not set."""
        with self.lock:
            return self._configs.get(subject)

    def schema_count(self) -> int:
        with self.lock:
            return len(self._text_by_id)

    # ----------------------------------------------------------------- writes
    def put_version(self, version: SchemaVersion) -> None:
        """Create or update (e.g. soft-delete) a subject version."""
        self._write(schema_key(version.subject, version.version), schema_value(version))

    def soft_delete(self, version: SchemaVersion) -> None:
        self.put_version(replace(version, deleted=True))

    def remove_version(self, subject: str, version: int) -> None:
        """Hard delete: a tombstone, which compaction eventually drops from the topic."""
        self._write(schema_key(subject, version), None)

    def set_compatibility(self, subject: str | None, mode: CompatibilityMode | None) -> None:
        """Set (None: remove) the level of a subject, or with subject None the global one."""
        self._write(config_key(subject), None if mode is None else config_value(mode))

    def _write(self, key: bytes, value: bytes | None) -> None:
        with self.lock:
            self._persist(key, value)
            self._apply(key, value)

    @abstractmethod
    def _persist(self, key: bytes, value: bytes | None) -> None:
        """Make the record durable; return only when it is, raise `StoreError` if not."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold no client
        """Release clients; the state stays readable."""

    def describe(self) -> str:
        return type(self).__name__

    # ----------------------------------------------------------------- replay
    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        """Apply one record to the state; unknown or broken records are skipped.

        Skipping (with a warning) rather than failing keeps a registry
        startable when the topic holds record types this implementation does
        not use (Confluent also writes NOOP, MODE and DELETE_SUBJECT keys).
        """
        try:
            k = json.loads(key) if key else None
            v = json.loads(value) if value is not None else None
        except ValueError:
            log.warning("skipping a record that is not JSON: key=%r", key)
            return
        if not isinstance(k, dict):
            log.warning("skipping a record with an unexpected key: %r", key)
            return
        keytype = k.get("keytype")
        with self.lock:
            if keytype == "SCHEMA":
                self._apply_schema(k, v)
            elif keytype == "CONFIG":
                self._apply_config(k, v)
            else:
                log.debug("ignoring record of keytype %r", keytype)

    def _apply_schema(self, k: dict[str, Any], v: Any) -> None:
        subject, number = k.get("subject"), k.get("version")
        if not isinstance(subject, str) or not isinstance(number, int):
            log.warning("skipping a SCHEMA record with key %r", k)
            return
        versions = self._subjects.setdefault(subject, {})
        old = versions.pop(number, None)
        if v is not None:
            try:
                new = SchemaVersion(
                    subject=subject,
                    version=number,
                    schema_id=int(v["id"]),
                    schema=str(v["schema"]),
                    deleted=bool(v.get("deleted", False)),
                )
            except (KeyError, TypeError, ValueError):
                log.warning("skipping a SCHEMA record with value %r", v)
                if old is not None:
                    versions[number] = old
                return
            versions[number] = new
            self._text_by_id[new.schema_id] = new.schema
            self._id_by_text.setdefault(new.schema, new.schema_id)
            self._max_id = max(self._max_id, new.schema_id)
        if not versions:
            del self._subjects[subject]
        if old is not None and v is None:
            self._forget_if_unused(old.schema_id)

    def _forget_if_unused(self, schema_id: int) -> None:
        # A hard-deleted schema that no version points to any more is gone,
        # as in Confluent; `_max_id` is kept so this process never reuses the id.
        if any(v.schema_id == schema_id for vs in self._subjects.values() for v in vs.values()):
            return
        text = self._text_by_id.pop(schema_id, None)
        if text is not None and self._id_by_text.get(text) == schema_id:
            del self._id_by_text[text]

    def _apply_config(self, k: dict[str, Any], v: Any) -> None:
        subject = k.get("subject")
        if subject is not None and not isinstance(subject, str):
            log.warning("skipping a CONFIG record with key %r", k)
            return
        if v is None:
            self._configs.pop(subject, None)
            return
        try:
            self._configs[subject] = CompatibilityMode.parse(str(v["compatibilityLevel"]))
        except (KeyError, TypeError, StarlabError):
            log.warning("skipping a CONFIG record with value %r", v)


class MemoryStore(SchemaStore):
    """The log is a Python list: for unit tests and throwaway demos.

    `MemoryStore(log=other.log)` replays another store's records, which is
    exactly what `KafkaStore` does with its topic on start.
    """

    def __init__(self, log: Iterable[Record] = ()) -> None:
        super().__init__()
        self.log: list[Record] = []
        for key, value in log:
            self._apply(key, value)
            self.log.append((key, value))

    def _persist(self, key: bytes, value: bytes | None) -> None:
        self.log.append((key, value))


class KafkaStore(SchemaStore):
    """The log is a compacted Kafka topic; state is rebuilt from it on start.

    Assumes a single registry instance per topic: writes are applied locally
    once Kafka has acknowledged them (acks=all, idempotent producer, then
    flush), without reading them back, so a second instance writing to the
    same topic would not be seen until restart and could hand out the same id.
    Confluent solves that with leader election; the local stack runs one
    registry, so it is not needed here.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str = "_schemas",
        *,
        replication_factor: int = 1,
        timeout_s: float = 30.0,
        client_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from confluent_kafka import Producer

        self.bootstrap = bootstrap
        self.topic = topic
        self.timeout_s = timeout_s
        self._client_config = {"bootstrap.servers": bootstrap, **(client_config or {})}
        self._ensure_topic(replication_factor)
        self.replayed = self._replay()
        self._producer = Producer(
            {
                **self._client_config,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 0,
                "message.timeout.ms": int(timeout_s * 1000),
            }
        )

    def describe(self) -> str:
        return f"KafkaStore(bootstrap={self.bootstrap}, topic={self.topic})"

    # ----------------------------------------------------------------- topic
    def _ensure_topic(self, replication_factor: int) -> None:
        from confluent_kafka import KafkaError, KafkaException
        from confluent_kafka.admin import AdminClient, NewTopic

        admin = AdminClient(self._client_config)
        topic = NewTopic(
            self.topic,
            num_partitions=1,  # one partition: a single total order of changes
            replication_factor=replication_factor,
            config={"cleanup.policy": "compact"},
        )
        try:
            admin.create_topics([topic], request_timeout=self.timeout_s)[self.topic].result(
                timeout=self.timeout_s
            )
            log.info("created schemas topic %s", self.topic)
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if not (isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise StoreUnavailableError(
                    f"cannot create topic {self.topic!r} on {self.bootstrap}: {exc}"
                ) from None
        except Exception as exc:  # concurrent.futures.TimeoutError and friends
            detail = str(exc) or "is the broker running?"
            raise StoreUnavailableError(
                f"Kafka at {self.bootstrap} did not answer within {self.timeout_s:g} s ({detail})"
            ) from None
        partitions = partition_count(admin, self.topic, self.timeout_s)
        if partitions != 1:
            # More than one partition would lose the total order of changes.
            raise StoreError(
                f"schemas topic {self.topic!r} has {partitions} partitions; it must have exactly 1"
            )

    # ----------------------------------------------------------------- replay
    def _replay(self) -> int:
        """Read the topic from the beginning to its current end; return records applied."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

        consumer = Consumer(
            {
                **self._client_config,
                # Never committed: offsets are not needed, the topic is always read whole.
                "group.id": f"starlab-registry-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
        deadline = time.monotonic() + self.timeout_s
        applied = 0
        try:
            high = self._end_offset(consumer, deadline)
            if high <= 0:
                return 0
            consumer.assign([TopicPartition(self.topic, 0, OFFSET_BEGINNING)])
            while True:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(
                        f"replaying {self.topic!r} did not reach offset {high} within {self.timeout_s:g} s"
                    )
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        # Compaction leaves offset gaps: the end is the EOF
                        # event at or past the high watermark read before.
                        if (msg.offset() or 0) >= high:
                            break
                        continue
                    raise StoreError(f"reading {self.topic!r}: {err}")
                self._apply(msg.key(), msg.value())
                applied += 1
                if (msg.offset() or 0) >= high - 1:
                    break
        finally:
            consumer.close()
        log.info("replayed %d records from %s", applied, self.topic)
        return applied

    def _end_offset(self, consumer: Any, deadline: float) -> int:
        from confluent_kafka import KafkaException, TopicPartition

        # Right after creation the partition may not have a leader yet.
        while True:
            try:
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(self.topic, 0), timeout=5.0, cached=False
                )
                return int(high)
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(
                        f"cannot read the end offset of {self.topic!r}: {exc}"
                    ) from None
                time.sleep(0.2)

    # ----------------------------------------------------------------- writes
    def _persist(self, key: bytes, value: bytes | None) -> None:
        from confluent_kafka import KafkaException

        errors: list[Any] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(err)

        try:
            self._producer.produce(self.topic, key=key, value=value, on_delivery=on_delivery)
            remaining = self._producer.flush(self.timeout_s)
        except (KafkaException, BufferError) as exc:
            raise StoreUnavailableError(f"cannot write to {self.topic!r}: {exc}") from None
        if remaining:
            raise StoreUnavailableError(
                f"Kafka did not acknowledge the write to {self.topic!r} within {self.timeout_s:g} s"
            )
        if errors:
            raise StoreError(f"Kafka rejected the write to {self.topic!r}: {errors[0]}")

    def close(self) -> None:
        self._producer.flush(self.timeout_s)


@contextmanager
def kafka_store(bootstrap: str, topic: str = "_schemas", **kwargs: Any) -> Iterator[KafkaStore]:
    """`with kafka_store(...) as store:` closes the producer on exit."""
    store = KafkaStore(bootstrap, topic, **kwargs)
    try:
        yield store
    finally:
        store.close()
