"""The CDC bridge: Debezium JSON change events -> Avro topics and the lake's dims.

Backs story 1 (data contracts and schema changes): the app team's tables
reach analytics only through schemas the registry accepted. For each captured
table it reads `<prefix>.public.<table>` (JsonConverter, schemas enabled),
derives the Avro schema of the row from the Connect schema, registers it
(key and value subjects), writes `<prefix>.<table>` keyed by the primary key
(a delete becomes a tombstone), and lands the table's current state as
`lake/dims/<table>.parquet`.

Delivery: idempotent by key, not transactional. Debezium in Connect
standalone delivers at least once (after a crash it re-sends changes since
the last offset flush), so a transaction in the bridge could not remove
those duplicates anyway. What makes the result right is that both outputs are
keyed state: a change applied twice leaves the same row, a compacted topic and
the lake converge to the table. The lake file also stores the offsets it
reflects in the same atomic write, so the bridge restarts exactly after the
last landed change. Avro records are produced and acknowledged
(idempotent producer, acks=all) before the lake file that moves the position
is written: a crash in between re-sends some records, never skips one.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from starlab.appdb.schema import CDC_TABLES, TableSpec
from starlab.cdc.errors import CdcError, CdcUnavailableError
from starlab.cdc.events import ChangeEvent, parse_change
from starlab.cdc.lake import TableState, load_state, write_state
from starlab.cdc.serde import AvroEncoder
from starlab.kafka_io import TopicSpec, consumer, ensure_topics
from starlab.settings import Settings

BATCH = 500
"""Records per poll; a batch is flushed to Kafka and landed once."""
POLL_TIMEOUT_S = 0.5
LAND_INTERVAL_S = 2.0
"""While changes keep coming, the lake files are rewritten at most this often
(more rarely when a landing itself takes longer than a fifth of that)."""


@dataclass(frozen=True)
class CdcTopics:
    table: str
    source: str
    """Debezium's change topic (JSON): `<prefix>.public.<table>`."""
    target: str
    """The bridge's Avro topic: `<prefix>.<table>`."""
    lake_file: Path

    @property
    def key_subject(self) -> str:
        return f"{self.target}-key"

    @property
    def value_subject(self) -> str:
        return f"{self.target}-value"


def topics_for(settings: Settings, table: TableSpec) -> CdcTopics:
    prefix = settings.cdc_topic_prefix
    return CdcTopics(
        table=table.name,
        source=f"{prefix}.public.{table.name}",
        target=f"{prefix}.{table.name}",
        lake_file=settings.lake_dir / "dims" / f"{table.name}.parquet",
    )


@dataclass(frozen=True)
class TableRun:
    """What one bridge run did for one table."""

    table: str
    source_topic: str
    target_topic: str
    changes: int
    """Change events read (snapshot reads, inserts, updates, deletes)."""
    upserts: int
    deletes: int
    tombstones_skipped: int
    lake_rows: int | None
    """Rows in the landed file after the run; None if nothing was landed yet."""
    lake_file: Path
    next_offsets: dict[int, int]
    schema_ids: tuple[int, ...]
    """Registry ids of the value schemas used in this run."""


@dataclass(frozen=True)
class BridgeResult:
    tables: tuple[TableRun, ...]
    elapsed_s: float
    latency_ms: tuple[float, ...] = ()
    """Per change: PostgreSQL commit -> Avro record acknowledged by Kafka."""

    @property
    def changes(self) -> int:
        return sum(t.changes for t in self.tables)

    @property
    def latency_p50_ms(self) -> float | None:
        return statistics.median(self.latency_ms) if self.latency_ms else None

    @property
    def latency_max_ms(self) -> float | None:
        return max(self.latency_ms) if self.latency_ms else None

    def table(self, name: str) -> TableRun:
        return next(t for t in self.tables if t.table == name)


@dataclass
class _Tally:
    topics: CdcTopics
    state: TableState
    changes: int = 0
    upserts: int = 0
    deletes: int = 0
    skipped: int = 0
    schema_ids: list[int] = field(default_factory=list)
    partitions: list[int] = field(default_factory=list)
    """Partitions of the change topic once it exists (empty: not yet)."""
    dirty: bool = False


class _Delivery:
    """Counts acknowledged and failed deliveries and change latency."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.latency_ms: list[float] = []

    def callback(self, source_ts_ms: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                self.failed.append(f"{msg.topic()}: {err.str()}")
            elif source_ts_ms > 0:
                self.latency_ms.append(time.time() * 1000 - source_ts_ms)

        return on_delivery


def _partitions(c: Consumer, names: Sequence[str]) -> dict[str, list[int]]:
    """Partitions of the topics among `names` that exist."""
    try:
        md = c.list_topics(timeout=10)
    except KafkaException as exc:
        raise CdcUnavailableError(f"kafka: listing topics: {exc}") from None
    return {n: sorted(md.topics[n].partitions) for n in names if n in md.topics}


def _start_positions(c: Consumer, tally: _Tally, partitions: list[int]) -> list[TopicPartition]:
    """Where to resume: the landed offsets, unless the topic is younger than them.

    A stored offset past the partition's end means the change topic was
    recreated (a new Kafka): the landed state belongs to the old one, so the
    table is rebuilt from the new topic's beginning.
    """
    topic, state = tally.topics.source, tally.state
    for p in partitions:
        _, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if state.next_offsets.get(p, 0) > high:
            tally.state = TableState(topic, state.key_columns)
            break
    return [TopicPartition(topic, p, tally.state.next_offsets.get(p, 0)) for p in partitions]


def _next_batch(c: Consumer) -> list[Message]:
    """Wait for one record, then take what is already fetched, up to BATCH.

    `consume(n, timeout)` alone waits for n records or the whole timeout, which
    adds up to the timeout to every change's latency when changes trickle in.
    """
    first = c.poll(POLL_TIMEOUT_S)
    if first is None:
        return []
    return [first, *c.consume(num_messages=BATCH - 1, timeout=0)]


def _caught_up(c: Consumer, tallies: Iterable[_Tally]) -> bool:
    """True when every assigned partition's position reached its end offset."""
    for x in tallies:
        for p in x.partitions:
            _, high = c.get_watermark_offsets(TopicPartition(x.topics.source, p), timeout=10)
            if x.state.next_offsets.get(p, 0) < high:
                return False
    return True


def run_bridge(
    settings: Settings,
    tables: Sequence[TableSpec] = CDC_TABLES,
    *,
    follow: bool = False,
    idle_timeout_s: float = 3.0,
    max_runtime_s: float | None = None,
    stop: threading.Event | None = None,
) -> BridgeResult:
    """Bridge the change topics of `tables` to Avro topics and the lake.

    Without `follow`, returns once it is caught up and no change arrived for
    `idle_timeout_s` (the demo and tests). With `follow`, runs until `stop` is
    set or `max_runtime_s` passes (a long-running service). A table whose
    change topic does not exist yet (nothing captured) is picked up when it
    appears.
    """
    t0 = time.monotonic()
    tallies: dict[str, _Tally] = {}
    for t in tables:
        topics = topics_for(settings, t)
        tallies[topics.source] = _Tally(topics, load_state(topics.lake_file, topics.source, t.key))
    # Keyed current state: compaction keeps the last record per key.
    ensure_topics(
        settings, [TopicSpec(x.topics.target, 1, {"cleanup.policy": "compact"}) for x in tallies.values()]
    )
    encoder = AvroEncoder(settings.schema_registry_url)
    delivery = _Delivery()
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        }
    )
    c = consumer(settings, group=f"starlab-cdc-{uuid.uuid4().hex[:8]}")
    try:
        last_msg = last_land = time.monotonic()
        land_every_s = LAND_INTERVAL_S
        while True:
            waiting = [s for s, x in tallies.items() if not x.partitions]
            if waiting:
                found = _partitions(c, waiting)
                if found:
                    for topic, parts in found.items():
                        tallies[topic].partitions = parts
                    c.assign(
                        [
                            tp
                            for x in tallies.values()
                            if x.partitions
                            for tp in _start_positions(c, x, x.partitions)
                        ]
                    )
            active = any(x.partitions for x in tallies.values())
            msgs = _next_batch(c) if active else []
            if not active:
                time.sleep(POLL_TIMEOUT_S)
            for msg in msgs:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CdcUnavailableError(f"consuming {msg.topic()}: {err.str()}")
                _handle(msg, tallies[str(msg.topic())], encoder, producer, delivery)
            now = time.monotonic()
            if msgs:
                last_msg = now
            # Land when the topic went quiet or every LAND_INTERVAL_S while busy:
            # each landing rewrites a table's whole file, so landing per batch
            # would make catching up quadratic in the table size.
            if not msgs or now - last_land >= land_every_s:
                _land(producer, delivery, tallies.values())
                last_land = time.monotonic()
                # A big table takes a while to write: keep landing under ~1/5 of the time.
                land_every_s = max(LAND_INTERVAL_S, 5 * (last_land - now))
            if stop is not None and stop.is_set():
                break
            if max_runtime_s is not None and now - t0 > max_runtime_s:
                break
            if not follow and now - last_msg > idle_timeout_s and _caught_up(c, tallies.values()):
                break
        _land(producer, delivery, tallies.values())
    finally:
        c.close()
        producer.flush(10)
    runs = tuple(
        TableRun(
            table=x.topics.table,
            source_topic=x.topics.source,
            target_topic=x.topics.target,
            changes=x.changes,
            upserts=x.upserts,
            deletes=x.deletes,
            tombstones_skipped=x.skipped,
            lake_rows=len(x.state.rows) if x.state.schema is not None else None,
            lake_file=x.topics.lake_file,
            next_offsets=dict(x.state.next_offsets),
            schema_ids=tuple(dict.fromkeys(x.schema_ids)),
        )
        for x in tallies.values()
    )
    return BridgeResult(runs, time.monotonic() - t0, tuple(delivery.latency_ms))


def _handle(
    msg: Message, tally: _Tally, encoder: AvroEncoder, producer: Producer, delivery: _Delivery
) -> None:
    partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
    ev: ChangeEvent | None = parse_change(msg.key(), msg.value())
    if ev is None:
        tally.skipped += 1
        tally.state.skip(partition, offset)
        tally.dirty = True
        return
    topics = tally.topics
    key = encoder.encode(topics.key_subject, ev.key_schema, ev.key)
    # Deletes register the row type too: a schema change is judged by the
    # registry at the first change that carries it, whatever its op.
    value_id = encoder.schema_id(topics.value_subject, ev.row_schema)
    tally.schema_ids.append(value_id)
    value = None if ev.after is None else encoder.encode(topics.value_subject, ev.row_schema, ev.after)
    headers: list[tuple[str, str | bytes | None]] = [
        ("cdc.op", ev.op.encode()),
        ("cdc.source.ts_ms", str(ev.source_ts_ms).encode()),
    ]
    if ev.lsn is not None:
        headers.append(("cdc.lsn", str(ev.lsn).encode()))
    while True:
        try:
            producer.produce(
                topics.target,
                key=key,
                value=value,
                headers=headers,
                on_delivery=delivery.callback(ev.source_ts_ms),
            )
            break
        except BufferError:
            producer.poll(0.1)  # local queue full: let deliveries drain
    producer.poll(0)
    tally.changes += 1
    if value is None:
        tally.deletes += 1
    else:
        tally.upserts += 1
    tally.state.apply(ev, partition, offset)
    tally.dirty = True


def _land(producer: Producer, delivery: _Delivery, tallies: Iterable[_Tally]) -> None:
    """Wait for every produced record, then write the changed tables' lake files."""
    remaining = producer.flush(30)
    if remaining:
        raise CdcUnavailableError(f"{remaining} Avro records not acknowledged within 30 s")
    if delivery.failed:
        raise CdcError(f"Avro records failed delivery: {delivery.failed[:3]}")
    for x in tallies:
        if x.dirty and x.state.schema is not None:
            write_state(x.state, x.topics.lake_file)
            x.dirty = False
