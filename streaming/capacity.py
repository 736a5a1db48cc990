"""Capacity plan of the streaming path, built from figures measured on this machine.

Backs story 3's follow-up "how would you scale it?" (issue 12 item 6): instead
of guessing, `docs/scaling.md` starts from what one run measured here
(events/s per core, state bytes per live key, checkpoint throughput, Redis
bytes per feature key, broker throughput per partition) and sizes Kafka,
Flink and Redis for 10x, 100x and 1000x the demo's load with written-down
formulas. What is not measured is an `Assumptions` field with its reason, and
the document says, figure by figure, which is which.

This module only computes and renders: the measurements come from the
running stack (`starlab stream capacity`) and are saved as JSON, so the
document can be rendered again without the stack. Rendering is deterministic:
the only time in the output is the measurement's own `measured_at`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from streaming.errors import StreamConfigError

FACTORS: tuple[int, ...] = (1, 10, 100, 1000)
"""Multiples of the demo's load the plan sizes for; 1x checks the formulas against the demo."""

REDIS_CLUSTER_MIN_MASTERS = 3
"""`redis-cli --cluster create` refuses fewer than three masters: a failover needs a majority."""


def _doc(label: str, unit: str, how: str, kind: str = "measured", default: Any = MISSING) -> Any:
    # One place for what the document says about a field: the tables read it back.
    return field(default=default, metadata={"label": label, "unit": unit, "how": how, "kind": kind})


@dataclass(frozen=True)
class Measured:
    """Every figure of one run on this machine, saved as JSON so the plan can be rendered again.

    `demo_*` and `state_ttl_s` are the demo's configuration, not measurements: they say what
    "1x" is. Construction rejects a non-positive throughput, size or count, so a failed
    measurement cannot turn into a plan.
    """

    cores: int = _doc(
        "cores used by the bench", "cores", "cores of this machine the bench ran on; one Flink slot per core"
    )
    events_per_s: float = _doc(
        "Flink throughput, single topology",
        "events/s",
        "rate of the whole job (dedup, per-minute metrics, lake, late capture) with exactly-once "
        "sinks over the second half of a preloaded topic (JIT warm-up over), as `starlab stream bench`",
    )
    cluster_events_per_s: float | None = _doc(
        "Flink throughput, cluster topology",
        "events/s",
        "the same job on the cluster topology (3 brokers at replication factor 3, 2 TaskManagers), "
        "sharing the same cores (ADR 0008)",
    )
    event_bytes: float = _doc(
        "event size", "bytes", "mean serialized Avro record (Confluent wire format) on the events topic"
    )
    live_keys: int = _doc(
        "live dedup keys",
        "keys",
        "event_ids held in the dedup state (inside its TTL) at the checkpoint below",
    )
    state_bytes: int = _doc(
        "checkpointed state", "bytes", "full state size of that checkpoint (Flink REST checkpoint statistics)"
    )
    checkpoint_ms: float = _doc(
        "checkpoint duration",
        "ms",
        "end-to-end duration of the checkpoint that wrote the most during the run (Flink REST "
        "checkpoint history)",
    )
    checkpointed_bytes: int = _doc(
        "checkpoint upload",
        "bytes",
        "bytes that busiest checkpoint wrote (`checkpointed_size`: incremental with RocksDB)",
    )
    redis_feature_keys: int = _doc(
        "Redis feature keys",
        "keys",
        "keys written by `starlab features memory`: every user's feature groups, through the "
        "precompute's own write path, into a private Redis",
    )
    redis_bytes: int = _doc("Redis memory for them", "bytes", "`used_memory` after the load minus before it")
    partition_bytes_per_s: float = _doc(
        "producer throughput into one partition",
        "bytes/s",
        "one producer into a one-partition topic, acks=all, idempotent, on the running stack",
    )
    partition_events_per_s: float = _doc(
        "producer throughput into one partition", "events/s", "the same run, in records"
    )
    demo_events_per_s: float = _doc(
        "demo rate (1x)", "events/s", "`STARLAB_STREAM_DEMO_RATE_PER_S`: the live demo's rate", "configured"
    )
    demo_feature_keys: int = _doc(
        "demo feature keys (1x)", "keys", "feature keys the feature-cache demo serves", "configured"
    )
    state_ttl_s: float = _doc(
        "dedup state TTL",
        "s",
        "`STARLAB_STREAM_STATE_TTL_MS` / 1000: how long an event_id stays",
        "configured",
    )
    measured_at: str = _doc("measured at", "", "UTC time of the run", "provenance")
    host: str = _doc("host", "", "short description of this machine", "provenance")
    git_commit: str = _doc("commit", "", "`git rev-parse HEAD` of the measured code", "provenance")

    def __post_init__(self) -> None:
        problems = _measured_problems(self)
        if problems:
            raise StreamConfigError(f"measured {problems[0]}")

    @property
    def events_per_s_per_core(self) -> float:
        """Whole-job rate per core: the job's operators share each slot, so this is per slot too."""
        return self.events_per_s / self.cores

    @property
    def state_bytes_per_key(self) -> float:
        """Checkpointed (compacted, on-disk) bytes per live key; RocksDB's memory use is not this."""
        return self.state_bytes / self.live_keys

    @property
    def checkpoint_bytes_per_s(self) -> float:
        """Bytes the checkpoint wrote per second of its end-to-end duration, whole job.

        The duration includes alignment and the synchronous phase, so this understates raw
        upload speed: estimates built on it err on the slow side.
        """
        return self.checkpointed_bytes / (self.checkpoint_ms / 1000)

    @property
    def checkpoint_bytes_per_s_per_slot(self) -> float:
        """Per slot: the measured job ran one subtask per core, each uploading its own state."""
        return self.checkpoint_bytes_per_s / self.cores

    @property
    def redis_bytes_per_key(self) -> float:
        return self.redis_bytes / self.redis_feature_keys

    @property
    def cluster_ratio(self) -> float | None:
        """Cluster over single throughput on the same cores: what replication and more JVMs cost here."""
        return None if self.cluster_events_per_s is None else self.cluster_events_per_s / self.events_per_s

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<json>") -> Measured:
        """Parse what `to_json` wrote; any problem is one line naming `source` and the field."""
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise StreamConfigError(f"{source}: not JSON ({e})") from None
        if not isinstance(raw, dict):
            raise StreamConfigError(f"{source}: expected a JSON object, got {type(raw).__name__}")
        hints = get_type_hints(cls)
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(raw) - set(names))
        if unknown:
            # A typo would otherwise silently drop a figure: refuse it.
            raise StreamConfigError(f"{source}: unknown field {unknown[0]!r}")
        values: dict[str, Any] = {}
        for name in names:
            if name not in raw:
                raise StreamConfigError(f"{source}: field {name!r} is missing")
            problem = _type_problem(raw[name], hints[name])
            if problem:
                raise StreamConfigError(f"{source}: field {name!r} {problem}")
            value = raw[name]
            if isinstance(value, int) and hints[name] is not int:
                value = float(value)  # another writer may put 2 for 2.0: a float field stays a float
            values[name] = value
        try:
            return cls(**values)
        except StreamConfigError as e:
            raise StreamConfigError(f"{source}: {str(e).removeprefix('measured ')}") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> Measured:
        try:
            text = path.read_text()
        except OSError as e:
            raise StreamConfigError(f"{path}: cannot read measurements ({e.strerror})") from None
        return cls.from_json(text, source=str(path))


def _type_problem(value: object, hint: object) -> str | None:
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be an integer, got {value!r}"
    if hint is float or hint == (float | None):
        if value is None and hint is not float:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        return None if ok else f"must be a number, got {value!r}"
    if hint is str:
        return None if isinstance(value, str) and value else f"must be a non-empty string, got {value!r}"
    return f"has an unsupported type {hint!r}"  # pragma: no cover - a new field type needs a branch


_POSITIVE = (
    "cores",
    "events_per_s",
    "event_bytes",
    "live_keys",
    "state_bytes",
    "checkpoint_ms",
    "checkpointed_bytes",
    "redis_feature_keys",
    "redis_bytes",
    "partition_bytes_per_s",
    "partition_events_per_s",
    "demo_events_per_s",
    "demo_feature_keys",
    "state_ttl_s",
)
"""Each is a divisor or a scale in the plan: zero or less means the measurement failed."""


def _measured_problems(m: Measured) -> list[str]:
    problems = [
        f"field {name!r} must be > 0, got {getattr(m, name)!r}"
        for name in _POSITIVE
        if not getattr(m, name) > 0
    ]
    if m.cluster_events_per_s is not None and not m.cluster_events_per_s > 0:
        problems.append(f"field 'cluster_events_per_s' must be > 0 or null, got {m.cluster_events_per_s!r}")
    problems += [
        f"field {name!r} must be a non-empty string, got {getattr(m, name)!r}"
        for name in ("measured_at", "host", "git_commit")
        if not getattr(m, name)
    ]
    return problems


@dataclass(frozen=True)
class Assumptions:
    """What the plan does not measure, each default with its reason (rendered in the document)."""

    headroom: float = _doc(
        "target utilization",
        "of capacity",
        "capacities are divided by it: at plan load a node runs at 60%, leaving room for a restarted job "
        "to catch up on its backlog faster than live and for spikes (the Flink autoscaler's default target "
        "is 0.7)",
        "assumed",
        default=0.6,
    )
    slots_per_taskmanager: int = _doc(
        "slots per TaskManager",
        "slots",
        "a common TaskManager shape; larger ones share JVM overhead, smaller ones lose less with a pod",
        "assumed",
        default=4,
    )
    cores_per_taskmanager: int = _doc(
        "cores per TaskManager",
        "cores",
        "one slot per core, as the throughput was measured",
        "assumed",
        default=4,
    )
    replication_factor: int = _doc(
        "Kafka replication factor",
        "copies",
        "as the cluster topology (ADR 0008): with min.insync.replicas 2 one broker can be lost",
        "assumed",
        default=3,
    )
    broker_write_bytes_per_s: float = _doc(
        "sustained write per broker",
        "bytes/s",
        "including replica traffic; not measured: loopback on shared cores says nothing about the target's "
        "network and disks (re-measure there with kafka-producer-perf-test)",
        "assumed",
        default=100e6,
    )
    max_partitions_per_broker: int = _doc(
        "partition replicas per broker",
        "per broker",
        "long-standing Kafka guidance; each replica costs memory, file handles and failover time",
        "assumed",
        default=4_000,
    )
    redis_max_bytes_per_shard: float = _doc(
        "Redis data per shard",
        "bytes",
        "a commonly cited ceiling: above it a full resync, an RDB fork and a failover get slow",
        "assumed",
        default=25e9,
    )
    redis_overhead_factor: float = _doc(
        "Redis overhead factor",
        "x",
        "fragmentation and replication/client buffers on top of `used_memory` measured in a fresh instance",
        "assumed",
        default=1.3,
    )
    redis_replicas_per_shard: int = _doc(
        "Redis replicas per shard",
        "per shard",
        "a shard survives losing its master, as the operators' default",
        "assumed",
        default=1,
    )
    kafka_retention_h: float = _doc(
        "Kafka retention",
        "h",
        "replay window for a restore from an older savepoint or a backfill; history lives in the lake",
        "assumed",
        default=24.0,
    )
    flink_max_parallelism: int = _doc(
        "Flink max parallelism",
        "key groups",
        "the job's `pipeline.max-parallelism` (ADR 0008): keyed state spreads over at most this many slots",
        "configured",
        default=128,
    )

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool]] = [
            ("headroom", 0 < self.headroom <= 1),
            ("slots_per_taskmanager", self.slots_per_taskmanager >= 1),
            ("cores_per_taskmanager", self.cores_per_taskmanager >= 1),
            ("replication_factor", self.replication_factor >= 1),
            ("broker_write_bytes_per_s", self.broker_write_bytes_per_s > 0),
            ("max_partitions_per_broker", self.max_partitions_per_broker >= 1),
            ("redis_max_bytes_per_shard", self.redis_max_bytes_per_shard > 0),
            ("redis_overhead_factor", self.redis_overhead_factor >= 1),
            ("redis_replicas_per_shard", self.redis_replicas_per_shard >= 0),
            ("kafka_retention_h", self.kafka_retention_h > 0),
            ("flink_max_parallelism", self.flink_max_parallelism >= 1),
        ]
        for name, ok in checks:
            if not ok:
                raise StreamConfigError(f"assumption {name} is out of range: {getattr(self, name)!r}")


FORMULAS: dict[str, str] = {
    "events_per_s": "demo_events_per_s * factor",
    "input_bytes_per_s": "events_per_s * event_bytes",
    "flink_slots": "ceil(events_per_s / (events_per_s_per_core * headroom))",
    "flink_taskmanagers": "ceil(flink_slots / slots_per_taskmanager)",
    "kafka_partitions": "max(ceil(input_bytes_per_s / (partition_bytes_per_s * headroom)), flink_slots)",
    "kafka_brokers": (
        "max(replication_factor, ceil(input_bytes_per_s * replication_factor / "
        "(broker_write_bytes_per_s * headroom)), "
        "ceil(kafka_partitions * replication_factor / max_partitions_per_broker))"
    ),
    "kafka_disk_bytes": "input_bytes_per_s * kafka_retention_h * 3600 * replication_factor",
    "kafka_volume_bytes": "kafka_disk_bytes / kafka_brokers / headroom",
    "live_keys": "events_per_s * state_ttl_s",
    "state_bytes_total": "live_keys * state_bytes_per_key",
    "state_bytes_per_slot": "state_bytes_total / flink_slots",
    "checkpoint_s_estimate": "state_bytes_per_slot / checkpoint_bytes_per_s_per_slot",
    "redis_feature_keys": "demo_feature_keys * factor",
    "redis_bytes": "redis_feature_keys * redis_bytes_per_key * redis_overhead_factor",
    "redis_shards": f"max({REDIS_CLUSTER_MIN_MASTERS}, ceil(redis_bytes / redis_max_bytes_per_shard))",
    "redis_nodes": "redis_shards * (1 + redis_replicas_per_shard)",
    "redis_maxmemory_bytes": "redis_bytes / redis_shards / headroom",
}
"""The plan's formulas, symbol for symbol; `Plan.formulas` has them with this run's numbers."""


@dataclass(frozen=True)
class Plan:
    """Sizes for `factor` times the demo's load; `formulas` shows each with its numbers."""

    factor: int
    events_per_s: float
    input_bytes_per_s: float
    flink_slots: int
    flink_taskmanagers: int
    kafka_partitions: int
    kafka_partitions_by: str
    kafka_brokers: int
    kafka_brokers_by: str
    kafka_disk_bytes: float
    kafka_volume_bytes: float
    """Volume per broker, so that retention fills `headroom` of it."""
    live_keys: float
    state_bytes_total: float
    state_bytes_per_slot: float
    checkpoint_s_estimate: float
    """A full checkpoint of one slot's state, an upper bound: incremental ones upload only new files."""
    redis_feature_keys: int
    redis_bytes: float
    redis_shards: int
    redis_nodes: int
    redis_maxmemory_bytes: float
    formulas: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]

    @property
    def flink_cores(self) -> int:
        return self.flink_slots  # one slot per core, as measured


def _ceil(x: float) -> int:
    # 12.000000000001 from float division must not become 13.
    return math.ceil(round(x, 9))


def _n(x: float) -> str:
    """A number inside a formula: exact enough to recompute by hand."""
    if float(x).is_integer() or abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def plan(measured: Measured, assumptions: Assumptions, factor: int) -> Plan:
    """Size Kafka, Flink and Redis for `factor` * the demo's load, scaling each measured unit linearly."""
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise StreamConfigError(f"scale factor must be a positive integer, got {factor!r}")
    m, a = measured, assumptions
    # Measured is validated when built; a hand-made object bypassing __post_init__ is caught here.
    problems = _measured_problems(m)
    if problems:
        raise StreamConfigError(f"measured {problems[0]}")
    h = a.headroom
    rf = a.replication_factor

    rate = m.demo_events_per_s * factor
    in_bps = rate * m.event_bytes
    per_core = m.events_per_s_per_core
    slots = _ceil(rate / (per_core * h))
    tms = _ceil(slots / a.slots_per_taskmanager)

    by_throughput = _ceil(in_bps / (m.partition_bytes_per_s * h))
    # A Kafka source subtask without a partition idles: never fewer partitions than slots.
    partitions = max(by_throughput, slots)
    partitions_by = "throughput" if by_throughput >= slots else "source parallelism"

    by_write = _ceil(in_bps * rf / (a.broker_write_bytes_per_s * h))
    by_count = _ceil(partitions * rf / a.max_partitions_per_broker)
    brokers = max(rf, by_write, by_count)
    brokers_by = (
        "replication factor"
        if brokers == rf
        else ("write budget" if by_write >= by_count else "partitions per broker")
    )
    disk = in_bps * a.kafka_retention_h * 3600 * rf
    volume = disk / brokers / h

    keys = rate * m.state_ttl_s
    state = keys * m.state_bytes_per_key
    state_slot = state / slots
    ckpt_s = state_slot / m.checkpoint_bytes_per_s_per_slot

    redis_keys = m.demo_feature_keys * factor
    redis_bytes = redis_keys * m.redis_bytes_per_key * a.redis_overhead_factor
    shards = max(REDIS_CLUSTER_MIN_MASTERS, _ceil(redis_bytes / a.redis_max_bytes_per_shard))
    nodes = shards * (1 + a.redis_replicas_per_shard)
    maxmemory = redis_bytes / shards / h

    warnings: list[str] = []
    if slots > a.flink_max_parallelism:
        warnings.append(
            f"{slots:,} slots exceed pipeline.max-parallelism {a.flink_max_parallelism}: raise it before the "
            "first production savepoint (it cannot change later without rewriting the state)"
        )

    formulas = (
        ("events_per_s", f"{_n(m.demo_events_per_s)} * {factor} = {_n(rate)}"),
        ("input_bytes_per_s", f"{_n(rate)} * {_n(m.event_bytes)} = {_n(in_bps)}"),
        ("flink_slots", f"ceil({_n(rate)} / ({_n(per_core)} * {_n(h)})) = {slots}"),
        ("flink_taskmanagers", f"ceil({slots} / {a.slots_per_taskmanager}) = {tms}"),
        (
            "kafka_partitions",
            f"max(ceil({_n(in_bps)} / ({_n(m.partition_bytes_per_s)} * {_n(h)})), {slots}) = {partitions}",
        ),
        (
            "kafka_brokers",
            f"max({rf}, ceil({_n(in_bps)} * {rf} / ({_n(a.broker_write_bytes_per_s)} * {_n(h)})), "
            f"ceil({partitions} * {rf} / {a.max_partitions_per_broker})) = {brokers}",
        ),
        ("kafka_disk_bytes", f"{_n(in_bps)} * {_n(a.kafka_retention_h)} * 3600 * {rf} = {_n(disk)}"),
        ("kafka_volume_bytes", f"{_n(disk)} / {brokers} / {_n(h)} = {_n(volume)}"),
        ("live_keys", f"{_n(rate)} * {_n(m.state_ttl_s)} = {_n(keys)}"),
        ("state_bytes_total", f"{_n(keys)} * {_n(m.state_bytes_per_key)} = {_n(state)}"),
        ("state_bytes_per_slot", f"{_n(state)} / {slots} = {_n(state_slot)}"),
        (
            "checkpoint_s_estimate",
            f"{_n(state_slot)} / {_n(m.checkpoint_bytes_per_s_per_slot)} = {_n(ckpt_s)}",
        ),
        ("redis_feature_keys", f"{m.demo_feature_keys:,} * {factor} = {redis_keys:,}"),
        (
            "redis_bytes",
            f"{redis_keys:,} * {_n(m.redis_bytes_per_key)} * {_n(a.redis_overhead_factor)} = "
            f"{_n(redis_bytes)}",
        ),
        (
            "redis_shards",
            f"max({REDIS_CLUSTER_MIN_MASTERS}, ceil({_n(redis_bytes)} / "
            f"{_n(a.redis_max_bytes_per_shard)})) = {shards}",
        ),
        ("redis_nodes", f"{shards} * (1 + {a.redis_replicas_per_shard}) = {nodes}"),
        ("redis_maxmemory_bytes", f"{_n(redis_bytes)} / {shards} / {_n(h)} = {_n(maxmemory)}"),
    )
    return Plan(
        factor=factor,
        events_per_s=rate,
        input_bytes_per_s=in_bps,
        flink_slots=slots,
        flink_taskmanagers=tms,
        kafka_partitions=partitions,
        kafka_partitions_by=partitions_by,
        kafka_brokers=brokers,
        kafka_brokers_by=brokers_by,
        kafka_disk_bytes=disk,
        kafka_volume_bytes=volume,
        live_keys=keys,
        state_bytes_total=state,
        state_bytes_per_slot=state_slot,
        checkpoint_s_estimate=ckpt_s,
        redis_feature_keys=redis_keys,
        redis_bytes=redis_bytes,
        redis_shards=shards,
        redis_nodes=nodes,
        redis_maxmemory_bytes=maxmemory,
        formulas=formulas,
        warnings=tuple(warnings),
    )


def plans(measured: Measured, assumptions: Assumptions, factors: Sequence[int] = FACTORS) -> list[Plan]:
    return [plan(measured, assumptions, f) for f in factors]


# --- rendering -------------------------------------------------------------------------------
# Decimal units throughout (1 MB = 10^6 bytes), as Kafka and the cloud price sheets count.


def human_bytes(b: float) -> str:
    for unit, size in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= size:
            v = b / size
            return f"{v:.0f} {unit}" if v >= 100 else f"{v:.1f} {unit}"
    return f"{b:.0f} B" if b >= 100 or float(b).is_integer() else f"{b:.1f} B"


def human_count(x: float) -> str:
    if x >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    if x >= 1e7:
        return f"{x / 1e6:,.1f} million"
    return f"{x:,.0f}" if x >= 100 or float(x).is_integer() else f"{x:,.1f}"


def human_seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in rows)]


def _measured_value(value: object, unit: str) -> str:
    if value is None:
        return "not measured"
    if not isinstance(value, int | float):
        return str(value)
    exact = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    if unit == "bytes":
        return f"{exact} ({human_bytes(value)})"
    if unit == "bytes/s":
        return f"{exact} ({human_bytes(value)}/s)"
    if unit == "s" and value >= 60:
        return f"{exact} ({human_seconds(value)})"
    return exact


@dataclass(frozen=True)
class _Row:
    """One line of the sizes table; `inputs` feed the measured-vs-extrapolated table."""

    label: str
    value: Callable[[Plan], str]
    inputs: str


def _plan_rows(a: Assumptions) -> list[_Row]:
    return [
        _Row("events/s", lambda p: f"{human_count(p.events_per_s)}/s", "demo_events_per_s"),
        _Row("input to Kafka", lambda p: f"{human_bytes(p.input_bytes_per_s)}/s", "event_bytes"),
        _Row(
            "Flink slots (= cores)",
            lambda p: f"{p.flink_slots:,}",
            "events_per_s, cores, headroom",
        ),
        _Row(
            f"Flink TaskManagers ({a.slots_per_taskmanager} slots, {a.cores_per_taskmanager} cores)",
            lambda p: f"{p.flink_taskmanagers:,}",
            "flink_slots, slots_per_taskmanager",
        ),
        _Row(
            "Kafka partitions (events topic)",
            lambda p: f"{p.kafka_partitions:,} (by {p.kafka_partitions_by})",
            "partition_bytes_per_s, event_bytes, flink_slots, headroom",
        ),
        _Row(
            "Kafka brokers",
            lambda p: f"{p.kafka_brokers:,} (by {p.kafka_brokers_by})",
            "replication_factor, broker_write_bytes_per_s (assumed), max_partitions_per_broker (assumed)",
        ),
        _Row(
            f"Kafka disk, {a.kafka_retention_h:g} h * RF {a.replication_factor}",
            lambda p: human_bytes(p.kafka_disk_bytes),
            "event_bytes, kafka_retention_h (assumed)",
        ),
        _Row(
            "Kafka volume per broker",
            lambda p: human_bytes(p.kafka_volume_bytes),
            "kafka_disk_bytes, kafka_brokers, headroom",
        ),
        _Row("live dedup keys", lambda p: human_count(p.live_keys), "demo_events_per_s, state_ttl_s"),
        _Row(
            "Flink state, total",
            lambda p: human_bytes(p.state_bytes_total),
            "state_bytes, live_keys (linear in keys)",
        ),
        _Row(
            "Flink state per slot", lambda p: human_bytes(p.state_bytes_per_slot), "state total, flink_slots"
        ),
        _Row(
            "full checkpoint per slot (upper bound)",
            lambda p: human_seconds(p.checkpoint_s_estimate),
            "checkpointed_bytes, checkpoint_ms, cores",
        ),
        _Row("Redis feature keys", lambda p: human_count(p.redis_feature_keys), "demo_feature_keys"),
        _Row(
            "Redis memory (masters)",
            lambda p: human_bytes(p.redis_bytes),
            "redis_bytes, redis_feature_keys, redis_overhead_factor (assumed)",
        ),
        _Row(
            "Redis shards (masters)",
            lambda p: f"{p.redis_shards:,}",
            "Redis memory, redis_max_bytes_per_shard (assumed)",
        ),
        _Row(
            f"Redis nodes ({a.redis_replicas_per_shard} replica per shard)",
            lambda p: f"{p.redis_nodes:,}",
            "redis_shards, redis_replicas_per_shard (assumed)",
        ),
        _Row(
            "Redis maxmemory per node",
            lambda p: human_bytes(p.redis_maxmemory_bytes),
            "redis_shards, headroom",
        ),
    ]


def _factor_label(p: Plan) -> str:
    return f"{p.factor}x (demo)" if p.factor == 1 else f"{p.factor:,}x"


def render_markdown(
    measured: Measured,
    assumptions: Assumptions,
    plans: Sequence[Plan],
    measurements_file: str | None = None,
) -> str:
    """The whole of `docs/scaling.md`; the same inputs give the same bytes."""
    if not plans:
        raise StreamConfigError("no scale factors to render")
    m, a = measured, assumptions
    out: list[str] = []
    add = out.append
    big = max(plans, key=lambda p: p.factor)
    factors = ", ".join(_factor_label(p) for p in plans)

    add("# Capacity plan: the streaming path at " + factors)
    add("")
    add(
        'Story 3\'s follow-up "how would you scale it?", answered from figures measured on this machine '
        f"({m.host}) at {m.measured_at}, commit `{m.git_commit}`. Every size below comes from those figures "
        "through the formulas written out here; what was not measured is an assumption, listed with its "
        "reason. The last sections say which figure is which and what this plan cannot see."
    )
    add("")
    add("## Reproduce")
    add("")
    add(
        "On the running stack (`starlab up`); `--cluster` starts the cluster topology for its run "
        "if it is down and stops it after:"
    )
    add("")
    add("```")
    add("starlab features memory                         # Redis bytes per feature key")
    add("starlab stream capacity --measure --cluster     # measure, save the figures, write this file")
    add("starlab stream capacity                         # write this file again from the saved figures")
    add("```")
    add("")
    if measurements_file:
        add(
            f"The measurements are saved in `{measurements_file}`; rendering from that file again gives this "
            "document byte for byte (no time in it but the measurement's own)."
        )
        add("")
    add("Units are decimal (1 MB = 10^6 bytes).")
    add("")

    add("## Measured on this machine")
    add("")
    add(
        f"One run, {m.cores} cores shared by Kafka, the registry, Redis and Flink. "
        "Rows marked *configured* are the demo's settings: they define 1x, they are not measurements."
    )
    add("")
    rows = []
    for f in fields(Measured):
        meta = f.metadata
        if meta["kind"] == "provenance":
            continue
        how = meta["how"] if meta["kind"] == "measured" else f"*configured*: {meta['how']}"
        rows.append(
            [
                f"{meta['label']} (`{f.name}`)",
                _measured_value(getattr(m, f.name), meta["unit"]),
                meta["unit"],
                how,
            ]
        )
    out += _table(["figure", "value", "unit", "how"], rows)
    add("")
    add("Per-unit figures, each a ratio of two figures of the same run:")
    add("")
    ratio_rows = [
        [
            "events/s per core (`events_per_s_per_core`)",
            f"{m.events_per_s_per_core:,.0f}/s",
            "events_per_s / cores; the whole job in one slot per core",
        ],
        [
            "state bytes per live key (`state_bytes_per_key`)",
            human_bytes(m.state_bytes_per_key),
            "state_bytes / live_keys; checkpointed (compacted) size, not RocksDB's memory",
        ],
        [
            "checkpoint throughput (`checkpoint_bytes_per_s`)",
            f"{human_bytes(m.checkpoint_bytes_per_s)}/s",
            "checkpointed_bytes / checkpoint_ms; the duration includes alignment, so this is slow-side",
        ],
        [
            "checkpoint throughput per slot (`checkpoint_bytes_per_s_per_slot`)",
            f"{human_bytes(m.checkpoint_bytes_per_s_per_slot)}/s",
            "checkpoint_bytes_per_s / cores; each subtask uploads its own state",
        ],
        [
            "Redis bytes per feature key (`redis_bytes_per_key`)",
            human_bytes(m.redis_bytes_per_key),
            "redis_bytes / redis_feature_keys; includes Redis' per-key overhead",
        ],
    ]
    if m.cluster_ratio is not None:
        ratio_rows.append(
            [
                "cluster / single throughput (`cluster_ratio`)",
                f"{m.cluster_ratio:.2f}",
                "cluster_events_per_s / events_per_s on the same cores: the cost of 3 replicas and 5 more "
                "JVMs here, not on separate machines",
            ]
        )
    out += _table(["figure", "value", "from"], ratio_rows)
    add("")

    add("## Assumptions (not measured)")
    add("")
    arows = []
    for f in fields(Assumptions):
        meta = f.metadata
        v = getattr(a, f.name)
        unit = meta["unit"]
        if unit in ("bytes", "bytes/s"):
            shown = human_bytes(v) + ("/s" if unit == "bytes/s" else "")
        elif unit == "x":
            shown = f"{v:g}x"
        else:
            shown = f"{v:g} {unit}" if isinstance(v, float) else f"{v:,} {unit}"
        kind = "" if meta["kind"] == "assumed" else f" ({meta['kind']})"
        arows.append([f"{meta['label']} (`{f.name}`)", shown, meta["how"] + kind])
    out += _table(["assumption", "value", "why"], arows)
    add("")

    add("## Formulas")
    add("")
    add(
        "Each measured unit scales linearly with load: a slot handles `events_per_s_per_core` whatever the "
        "number of slots, a key costs `state_bytes_per_key` whatever the number of keys. Capacities are "
        "divided by `headroom`. Live keys are the events of one TTL, since every event_id is a dedup key."
    )
    add("")
    add("```")
    width = max(len(k) for k in FORMULAS)
    for k, v in FORMULAS.items():
        add(f"{k.ljust(width)} = {v}")
    add("```")
    add("")
    add(
        "`checkpoint_s_estimate` is an upper bound: it uploads a slot's whole state, as a savepoint or the "
        "first checkpoint after a restore does; incremental RocksDB checkpoints upload only the files "
        "written since the previous one. Compare it with the checkpoint interval "
        "(`STARLAB_STREAM_CHECKPOINT_INTERVAL_MS`): a checkpoint slower than the interval delays "
        "exactly-once output."
    )
    add("")
    add(
        "Slots grow with the rate and so do the keys, so state per slot stays about `state_ttl_s * "
        "state_bytes_per_key * events_per_s_per_core * headroom` at every scale: scaling out keeps each "
        "checkpoint's size flat, and only the total (the checkpoint store) grows."
    )
    add("")
    add(f"With this run's numbers, at {_factor_label(big)}:")
    add("")
    add("```")
    width = max(len(k) for k, _ in big.formulas)
    for k, v in big.formulas:
        add(f"{k.ljust(width)} = {v}")
    add("```")
    add("")

    add("## Sizes")
    add("")
    prow = _plan_rows(a)
    out += _table(
        ["", *(_factor_label(p) for p in plans)], [[r.label, *(r.value(p) for p in plans)] for r in prow]
    )
    add("")
    add(
        "The 1x column is computed like the others, as a check of the formulas against what runs here: "
        "the demo itself runs 2 partitions and parallelism 2, on 1 broker (single) or 3 (cluster)."
    )
    add("")
    warned = [(p, w) for p in plans for w in p.warnings]
    if warned:
        add("Warnings:")
        add("")
        for p, w in warned:
            add(f"- {_factor_label(p)}: {w}.")
        add("")

    add("## Measured vs extrapolated")
    add("")
    vrows: list[list[str]] = []
    for f in fields(Measured):
        meta = f.metadata
        if meta["kind"] == "provenance":
            continue
        status = "measured" if meta["kind"] == "measured" else "configured"
        if f.name == "cluster_events_per_s" and m.cluster_events_per_s is None:
            status = "not measured"
        vrows.append([f"`{f.name}`", status, "this run" if status == "measured" else meta["how"]])
    for name, src in (
        ("events_per_s_per_core", "events_per_s, cores"),
        ("state_bytes_per_key", "state_bytes, live_keys"),
        ("checkpoint_bytes_per_s", "checkpointed_bytes, checkpoint_ms"),
        ("checkpoint_bytes_per_s_per_slot", "checkpoint_bytes_per_s, cores"),
        ("redis_bytes_per_key", "redis_bytes, redis_feature_keys"),
        *([("cluster_ratio", "cluster_events_per_s, events_per_s")] if m.cluster_ratio is not None else []),
    ):
        vrows.append([f"`{name}`", "measured (ratio)", src])
    for f in fields(Assumptions):
        vrows.append([f"`{f.name}`", str(f.metadata["kind"]), "see Assumptions"])
    for r in prow:
        vrows.append([r.label, "extrapolated (every column, 1x too)", r.inputs])
    out += _table(["figure", "status", "from"], vrows)
    add("")

    add("## On Kubernetes")
    add("")
    add(
        "The sizes stay; who applies them changes. Each operator reconciles a custom resource, so a size "
        "above becomes a field, and a change is a `kubectl apply` rather than a script."
    )
    add("")
    add(
        "**Flink: the Flink Kubernetes Operator.** A `FlinkDeployment` in application mode runs one job "
        "per cluster (isolation, its own JobManager); the cluster topology here is closer to a session "
        "`FlinkDeployment` with each job a `FlinkSessionJob`. `spec.job.parallelism` is the slot count, "
        "`spec.flinkConfiguration` sets `taskmanager.numberOfTaskSlots`, and `spec.taskManager.resource` "
        "(cpu, memory) the TaskManager shape; the operator starts ceil(parallelism / slots) TaskManager "
        "pods. `spec.job.upgradeMode: savepoint` takes a savepoint, redeploys and restores on every spec "
        "change: what `FlinkJob.rescale` (`streaming/job.py`) does by hand (2 -> 4 -> 2). "
        "`high-availability.type: kubernetes` keeps job metadata in ConfigMaps and replaces the "
        "resubmission of ADR 0008 (decision 4). Checkpoints go to object storage (`state.checkpoints.dir: "
        "s3://...`), which is slower than the local disk measured here: re-measure "
        '`checkpoint_bytes_per_s` there. The autoscaler (`job.autoscaler.enabled: "true"`, '
        "`job.autoscaler.target.utilization` playing the role of `headroom`) sets each vertex's "
        "parallelism from busy time and source backlog; the plan's slot count is then a starting point and "
        "a quota, and `pipeline.max-parallelism` is the ceiling it cannot pass."
    )
    add("")
    add(
        "**Kafka: Strimzi.** A `Kafka` resource in KRaft mode with `KafkaNodePool`s: one pool with `roles: "
        "[broker]` and `spec.replicas` = brokers, `spec.storage` a persistent-claim volume of the "
        "per-broker size (its type cannot change later, and growing it needs a storage class that allows "
        "expansion); a separate pool of 3 with `roles: [controller]`, where the cluster topology here "
        "combines both roles to save JVMs on 2 cores. The events topic is a `KafkaTopic` with "
        "`spec.partitions`, "
        f"`spec.replicas` = {a.replication_factor} and `spec.config` (`retention.ms`, "
        f"`min.insync.replicas`). "
        "Partitions only grow, and growing remaps keys to partitions: create the topic with the partitions "
        "of the largest scale planned. New brokers take no existing partitions until Cruise Control moves "
        "them (`spec.cruiseControl`, a `KafkaRebalance` in `add-brokers` mode)."
    )
    add("")
    add(
        "**Redis: an operator or a chart for Redis Cluster.** OT-Container-Kit's redis-operator: a "
        "`RedisCluster` with `spec.clusterSize` = shards (it runs as many followers, one replica per leader, "
        "unless `redisFollower.replicas` says otherwise), `maxmemory` through the leader's `redisConfig` and "
        "the pod's memory limit above it. Bitnami's `redis-cluster` Helm chart: `cluster.nodes` = nodes "
        "(masters and replicas) and `cluster.replicas` = replicas per master. Clients stay cluster-aware and "
        "the hash tags of ADR 0008 (decision 8) keep a user's feature groups on one slot, so adding shards "
        "moves slots, not code."
    )
    add("")
    kf = [
        ("FlinkDeployment `spec.job.parallelism`", lambda p: f"{p.flink_slots:,}"),
        (
            "FlinkDeployment `taskmanager.numberOfTaskSlots` / `spec.taskManager.resource.cpu`",
            lambda p: f"{a.slots_per_taskmanager} / {a.cores_per_taskmanager}",
        ),
        ("TaskManager pods", lambda p: f"{p.flink_taskmanagers:,}"),
        ("KafkaNodePool (broker) `spec.replicas`", lambda p: f"{p.kafka_brokers:,}"),
        ("KafkaNodePool (broker) storage size", lambda p: human_bytes(p.kafka_volume_bytes)),
        ("KafkaTopic `spec.partitions`", lambda p: f"{p.kafka_partitions:,}"),
        (
            "KafkaTopic `spec.replicas` / `retention.ms`",
            lambda p: f"{a.replication_factor} / {a.kafka_retention_h * 3_600_000:,.0f}",
        ),
        ("RedisCluster `spec.clusterSize`", lambda p: f"{p.redis_shards:,}"),
        ("redis-cluster chart `cluster.nodes`", lambda p: f"{p.redis_nodes:,}"),
        ("Redis `maxmemory` per node", lambda p: human_bytes(p.redis_maxmemory_bytes)),
    ]
    out += _table(["field", *(_factor_label(p) for p in plans)], [[k, *(g(p) for p in plans)] for k, g in kf])
    add("")

    add("## Limits of this plan")
    add("")
    for line in (
        f"**{m.cores} cores, shared.** Flink measured its rate while the brokers, the registry and Redis ran "
        "on the same cores; a dedicated TaskManager core may do more, and the plan then over-provisions.",
        "**One run.** No repeat, no variance: a figure off by the noise of a busy machine moves every size "
        "derived from it by the same fraction.",
        "**Linear scaling.** Per-core throughput and per-key bytes are assumed constant. Past one machine "
        "the keyBy shuffle crosses the network, which loopback never did.",
        "**Hot keys and skew.** The plan divides load evenly over slots and partitions; a hot key caps one "
        "slot, and a parallelism that does not divide `pipeline.max-parallelism` leaves some slots more key "
        "groups than others.",
        "**Network not measured.** Broker write budget is an assumption; consumer reads, replica fetches "
        "across zones and checkpoint uploads to object storage are not in the figures.",
        "**Checkpoint state is on-disk size.** RocksDB's memory (block cache, memtables) and local disk "
        "(uncompacted levels) are larger than `state_bytes`; TaskManager memory is not sized here.",
        "**Redis scales with feature keys, not events.** The plan assumes keys grow with load (more users); "
        "Redis operations per second were not measured, and a shard may run out of CPU before memory.",
        "**Disk does not add brokers.** Brokers are sized by replication, write rate and partition count; "
        "if the storage class caps a volume below the per-broker size, add brokers or use tiered storage.",
        "**Only the events topic.** Output topics (per-minute metrics, late events) and the lake are not "
        "sized.",
    ):
        add(f"- {line}")
    add("")
    return "\n".join(out)


__all__ = [
    "FACTORS",
    "FORMULAS",
    "REDIS_CLUSTER_MIN_MASTERS",
    "Assumptions",
    "Measured",
    "Plan",
    "human_bytes",
    "human_count",
    "human_seconds",
    "plan",
    "plans",
    "render_markdown",
]
