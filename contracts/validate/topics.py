"""Live topics for the pre-deploy check: a bounded read_committed sample, decoded through the registry.

Backs story 1's "contract tests in Airflow pre-deploy" on the streaming
side. A sample is the newest `n` records of each partition, read with
`isolation.level=read_committed` (records of an open or aborted transaction
are not data anyone consumes). Bounded on purpose: the check costs the same
on a topic of any age.

Each record is Confluent-framed Avro (magic byte, schema id). It is decoded
from its writer schema (fetched by id) into two reader schemas:

- the subject's latest registered version: what a consumer that follows the
  registry reads with. A record that cannot be resolved into it means the
  registry holds versions that do not read each other;
- the contract's latest version file: what the consumers built against the
  contracts read with. This fails when the app team registered a shape the
  contracts never reviewed.

A table topic (compacted, the CDC topics) is judged on each key's newest
record: a value the app has since corrected is history, not state.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fastavro
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import ConfigResource
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro.types import Schema as AvroSchema

from contracts.errors import ContractsTransientError
from contracts.validate.model import SampledRecord, TopicSample
from starlab.cdc.serde import unwire
from starlab.kafka_io import admin, consumer
from starlab.settings import Settings

POLL_S = 0.5


def _compacted(settings: Settings, topic: str, timeout_s: float) -> bool:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    client = admin(settings)  # kept referenced: a collected client cancels its futures
    try:
        futures = client.describe_configs([resource], request_timeout=timeout_s)
        configs = next(iter(futures.values())).result(timeout=timeout_s)
    except KafkaException as exc:
        raise ContractsTransientError(f"kafka: describing topic {topic}: {exc}") from None
    entry = configs.get("cleanup.policy")
    return entry is not None and "compact" in str(entry.value)


def sample_topic(
    settings: Settings,
    *,
    contract_topic: str,
    topic: str,
    subject: str,
    per_partition: int,
    timeout_s: float,
) -> TopicSample:
    """The newest `per_partition` committed records of every partition of `topic`."""
    c = consumer(settings)
    try:
        try:
            md = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
        except KafkaException as exc:
            raise ContractsTransientError(f"kafka: listing {topic}: {exc}") from None
        if md is None or md.error is not None:
            return TopicSample(
                contract_topic=contract_topic, topic=topic, subject=subject, exists=False, compacted=False
            )
        ends: dict[int, int] = {}
        starts: dict[int, int] = {}
        for p in md.partitions:
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            starts[p], ends[p] = max(low, high - per_partition), high
        todo = {p for p in ends if ends[p] > starts[p]}
        records: list[SampledRecord] = []
        if todo:
            c.assign([TopicPartition(topic, p, starts[p]) for p in sorted(todo)])
            position = dict(starts)
            deadline = time.monotonic() + timeout_s
            while any(position[p] < ends[p] for p in todo):
                if time.monotonic() > deadline:
                    raise ContractsTransientError(
                        f"sampling {topic} took longer than {timeout_s:.0f} s (at {position} of {ends})"
                    )
                msgs = c.consume(num_messages=1000, timeout=POLL_S)
                for msg in msgs:
                    err = msg.error()
                    if err is not None:
                        raise ContractsTransientError(f"kafka: reading {topic}: {err.str()}")
                    p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                    position[p] = max(position[p], off + 1)
                    if off >= ends[p]:
                        continue
                    key, value = msg.key(), msg.value()
                    records.append(
                        SampledRecord(
                            partition=p,
                            offset=off,
                            key=base64.b64encode(key).decode() if key is not None else None,
                            value=base64.b64encode(value).decode() if value is not None else None,
                        )
                    )
                if not msgs:
                    # Transaction markers take offsets no record is returned for: ask the client.
                    for tp in c.position([TopicPartition(topic, p) for p in todo]):
                        if tp.offset >= 0:
                            position[tp.partition] = max(position[tp.partition], tp.offset)
    finally:
        c.close()
    return TopicSample(
        contract_topic=contract_topic,
        topic=topic,
        subject=subject,
        exists=True,
        compacted=_compacted(settings, topic, timeout_s),
        records=tuple(sorted(records, key=lambda r: (r.partition, r.offset))),
    )


def current_records(sample: TopicSample) -> list[SampledRecord]:
    """Records to judge: all of them, or each key's newest one on a table topic (tombstones remove)."""
    if not sample.compacted:
        return [r for r in sample.records if r.value is not None]
    newest: dict[str | None, SampledRecord] = {}
    for r in sample.records:  # sorted by partition, offset: a key lives in one partition
        newest[r.key] = r
    return [r for r in newest.values() if r.value is not None]


# --------------------------------------------------------------------------- decoding


@dataclass
class Registry:
    """Schemas by id and subjects' latest versions, fetched once per check."""

    url: str
    _client: SchemaRegistryClient | None = None
    _by_id: dict[int, AvroSchema] = field(default_factory=dict)

    @property
    def client(self) -> SchemaRegistryClient:
        if self._client is None:
            self._client = SchemaRegistryClient({"url": self.url})
        return self._client

    def writer(self, schema_id: int) -> AvroSchema:
        parsed = self._by_id.get(schema_id)
        if parsed is None:
            try:
                text = self.client.get_schema(schema_id).schema_str
            except SchemaRegistryError as exc:
                raise ContractsTransientError(
                    f"registry: schema id {schema_id}: {exc.error_message}"
                ) from None
            except Exception as exc:  # connection refused, timeouts: the client's HTTP errors
                raise ContractsTransientError(f"registry unreachable ({self.url}): {exc}") from None
            parsed = fastavro.parse_schema(json.loads(text or "null"))
            self._by_id[schema_id] = parsed
        return parsed

    def latest(self, subject: str) -> tuple[int, str] | None:
        """(version, schema text) of the subject's latest version; None if it has none."""
        try:
            registered = self.client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                return None
            raise ContractsTransientError(f"registry: {subject}: {exc.error_message}") from None
        except Exception as exc:  # connection refused, timeouts
            raise ContractsTransientError(f"registry unreachable ({self.url}): {exc}") from None
        return int(registered.version or 0), str(registered.schema.schema_str)


def parse_reader(text: str) -> AvroSchema:
    return fastavro.parse_schema(json.loads(text))


@dataclass(frozen=True)
class Decoded:
    schema_id: int
    value: Mapping[str, Any] | None
    """The record as the reader schema sees it; None if it did not decode."""
    error: str | None = None


def decode(record: SampledRecord, registry: Registry, reader: AvroSchema) -> Decoded:
    """Resolve one record from its writer schema into `reader`; a failure is data, not an exception."""
    raw = base64.b64decode(record.value or "")
    try:
        schema_id, payload = unwire(raw)
    except ValueError as exc:
        return Decoded(-1, None, str(exc))
    writer = registry.writer(schema_id)
    try:
        value = fastavro.schemaless_reader(io.BytesIO(payload), writer, reader)
    except Exception as exc:  # fastavro raises resolution, EOF and type errors alike: each is a finding
        return Decoded(schema_id, None, f"{type(exc).__name__}: {exc}")
    if not isinstance(value, Mapping):
        return Decoded(schema_id, None, f"decoded to {type(value).__name__}, not a record")
    return Decoded(schema_id, value)


def schema_ids(records: Iterable[SampledRecord]) -> tuple[int, ...]:
    ids = set()
    for r in records:
        try:
            ids.add(unwire(base64.b64decode(r.value or ""))[0])
        except ValueError:
            continue
    return tuple(sorted(ids))


__all__ = ["Decoded", "Registry", "current_records", "decode", "parse_reader", "sample_topic", "schema_ids"]
