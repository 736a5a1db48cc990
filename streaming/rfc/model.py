"""The RFC's cost arithmetic: status quo (daily batch), option A (Kafka + Flink + Iceberg), option B.

Backs story 3's "compared cost, operability, SLA" and its results "reduced
batch compute by 40%; net cost -18% after Kafka costs". The story's formula,
per day:

    cost = vCPU_hours x $/vCPU-h + memory_GB_hours x $/GB-h + storage + egress

with the vCPU- and GB-hours measured on this machine (`measure.py`) and
scaled to the stated daily volume E (`prices.yaml`, or `--events-per-day`).

Scaling is linear in events: a workload that used c CPU-seconds and g
GiB-hours for n events uses c x E/n and g x E/n for E. That holds for the
per-event work; it overstates a fixed start-up cost (dbt's own start) measured
on a small day and ignores effects of size (spills, bigger state) on a large
one. Always-on capacity is sized from a rate instead of a total:

- status quo: the batch estate (`batch.jobs`), each job a multiple of the
  measured recompute of one day, run `runs_per_day.status_quo` times;
  provisioned vCPU-h = used / `batch.utilization`, same for GiB-h;
- option A: Flink sized for the peak: vCPU = CPU-s per event x E/86,400 x
  peak_factor / target_utilization + the JobManager, memory likewise from
  GiB-s per event, 24 h a day; Kafka brokers as configured, raised if the
  measured broker load at peak or the retention needs more; cross-zone
  traffic of replication, producers and consumers; Iceberg commits (PUT/GET)
  at each checkpoint; the jobs of the estate that remain (`option_a` runs);
- option B (modelled from public prices, nothing of it runs here): Kinesis
  shards for the peak (records/s and MB/s limits), extended retention, PUT
  payload units; functions billed in GB-s for the CPU per event the Flink job
  measured (one vCPU per `gb_per_vcpu` GB, busy `cpu_busy_fraction` of its
  billed time), one request per batch; a conditional write per event in a
  key-value store for dedup; one Delta commit per batch; the remaining jobs.

The lake (one year of deduplicated events on object storage) is priced
alike in every option. A month is 30 days.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from streaming.rfc.measure import GIB, Measurement, MeasurementSet
from streaming.rfc.prices import Amount, Count, Prices

__all__ = [
    "DAYS_PER_MONTH",
    "STORY_BATCH_COMPUTE_CHANGE_PCT",
    "STORY_NET_COST_CHANGE_PCT",
    "Comparison",
    "CostItem",
    "KafkaSizing",
    "Line",
    "OptionCost",
    "OptionId",
    "Scale",
    "SensitivityCase",
    "compare",
    "sensitivity",
]

SECONDS_PER_DAY = 86_400
HOURS_PER_DAY = 24
DAYS_PER_MONTH = 30
"""$/month = $/day x 30, for every option alike."""

STORY_BATCH_COMPUTE_CHANGE_PCT = -40.0
"""Story 3: "reduced batch compute by 40%"."""
STORY_NET_COST_CHANGE_PCT = -18.0
"""Story 3: "net cost -18% after Kafka costs"."""

_MIB = 2**20
_KIB = 1024


class OptionId(StrEnum):
    """The three columns of the RFC."""

    status_quo = "status_quo"
    a = "a"
    b = "b"


LABELS: dict[OptionId, str] = {
    OptionId.status_quo: "Status quo: daily batch",
    OptionId.a: "A: Kafka + Flink + Iceberg",
    OptionId.b: "B: managed streaming + functions + Delta",
}


class Line(StrEnum):
    """The lines of an option's cost, as the RFC's table shows them."""

    compute = "compute"
    """Self-managed vCPU-hours (batch VMs, Flink)."""
    memory = "memory"
    """Self-managed GiB-hours (batch VMs, Flink)."""
    storage = "storage"
    """The lake on object storage and its requests."""
    egress = "egress"
    """Data transfer (cross-zone traffic of Kafka)."""
    kafka = "kafka"
    """Kafka brokers: their vCPU, memory and disks."""
    managed = "managed"
    """Per-use managed services of option B (stream shards, functions, dedup store)."""


@dataclass(frozen=True)
class CostItem:
    """One priced quantity: quantity per day x unit price = $/day, with how the quantity was derived."""

    line: Line
    name: str
    quantity: float
    unit: str
    unit_price_usd: float
    price_unit: str
    usd_day: float
    basis: str
    batch: bool = False
    """Part of the batch estate's compute (for the "batch compute" comparison)."""


@dataclass(frozen=True)
class OptionCost:
    """One option's cost per day by line, and the items behind each line."""

    option: OptionId
    label: str
    items: tuple[CostItem, ...]
    compute_usd_day: float
    memory_usd_day: float
    storage_usd_day: float
    egress_usd_day: float
    kafka_usd_day: float
    managed_usd_day: float
    total_usd_day: float
    batch_compute_usd_day: float
    """vCPU and memory of the batch jobs only: what the story's "batch compute" refers to."""
    modelled: bool
    """True for option B: priced from public prices, not measured as it would run."""

    @classmethod
    def of(cls, option: OptionId, items: Iterable[CostItem], *, modelled: bool = False) -> OptionCost:
        its = tuple(items)

        def line(name: Line) -> float:
            return sum(i.usd_day for i in its if i.line is name)

        return cls(
            option=option,
            label=LABELS[option],
            items=its,
            compute_usd_day=line(Line.compute),
            memory_usd_day=line(Line.memory),
            storage_usd_day=line(Line.storage),
            egress_usd_day=line(Line.egress),
            kafka_usd_day=line(Line.kafka),
            managed_usd_day=line(Line.managed),
            total_usd_day=sum(i.usd_day for i in its),
            batch_compute_usd_day=sum(i.usd_day for i in its if i.batch),
            modelled=modelled,
        )

    def line_usd_day(self, line: Line) -> float:
        return {
            Line.compute: self.compute_usd_day,
            Line.memory: self.memory_usd_day,
            Line.storage: self.storage_usd_day,
            Line.egress: self.egress_usd_day,
            Line.kafka: self.kafka_usd_day,
            Line.managed: self.managed_usd_day,
        }[line]

    @property
    def total_usd_month(self) -> float:
        return self.total_usd_day * DAYS_PER_MONTH


@dataclass(frozen=True)
class Scale:
    """The daily volume the options are costed at, and how far the measurements are scaled."""

    events_per_day: float
    mean_events_per_s: float
    peak_events_per_s: float
    ingest_gb_day: float
    """Wire bytes per day (GiB): what Kafka or Kinesis carries."""
    lake_gb_held: float
    """Lake size at steady state (GiB): a day's Parquet x retention days."""
    batch_factor: float
    """events_per_day / events of the measured batch run."""
    stream_factor: float
    """events_per_day / events of the measured stream run."""


@dataclass(frozen=True)
class KafkaSizing:
    """Option A's brokers: as configured, or more if the measured load or the retention needs it."""

    configured_brokers: int
    brokers: int
    vcpu_needed_at_peak: float
    gb_needed_at_peak: float
    disk_needed_gb: float
    disk_gb_per_broker: float
    reason: str


@dataclass(frozen=True)
class Comparison:
    """The three options at one volume, and the figures the story claims, computed."""

    scale: Scale
    status_quo: OptionCost
    option_a: OptionCost
    option_b: OptionCost
    kafka: KafkaSizing
    flink_vcpu: float
    flink_gb: float
    kinesis_shards: int
    option_b_fill_s: float
    """Modelled time for a batch of records to reach a function (freshness floor of option B)."""
    batch_compute_change_pct: float
    """A's batch compute vs the status quo's, in percent (the story: -40)."""
    net_cost_change_pct: float
    """A's total vs the status quo's, in percent (the story: -18)."""
    b_net_cost_change_pct: float
    """B's total vs the status quo's, in percent."""
    breakeven_batch_scale: float | None
    """x the batch estate at which A costs what the status quo costs (None: A's batch is not smaller)."""
    story_net_batch_scale: float | None
    """x the batch estate at which A's net change is the story's -18% (None: not reachable)."""

    @property
    def options(self) -> tuple[OptionCost, OptionCost, OptionCost]:
        return (self.status_quo, self.option_a, self.option_b)

    @property
    def cheapest(self) -> OptionCost:
        return min(self.options, key=lambda o: o.total_usd_day)

    @property
    def cheaper_stream(self) -> OptionCost:
        """The cheaper of A and B (A on a tie): the status quo cannot meet the freshness target."""
        return self.option_b if self.option_b.total_usd_day < self.option_a.total_usd_day else self.option_a


# --- building blocks --------------------------------------------------------


def _item(
    line: Line,
    name: str,
    quantity: float,
    unit: str,
    price: float,
    price_unit: str,
    basis: str,
    *,
    per: float = 1.0,
    batch: bool = False,
) -> CostItem:
    """quantity x price / per: `per` turns a per-1,000 or per-month price into $/day."""
    return CostItem(line, name, quantity, unit, price, price_unit, quantity * price / per, basis, batch)


def _pct_change(new: float, old: float) -> float:
    return (new - old) / old * 100 if old else math.inf if new > 0 else 0.0


def _scale(prices: Prices, ms: MeasurementSet) -> Scale:
    v = prices.volume
    e = v.events_per_day.value
    mean = e / SECONDS_PER_DAY
    return Scale(
        events_per_day=e,
        mean_events_per_s=mean,
        peak_events_per_s=mean * v.peak_factor.value,
        ingest_gb_day=e * v.wire_bytes_per_event.value / GIB,
        lake_gb_held=e * v.lake_bytes_per_event.value * v.lake_retention_days.value / GIB,
        batch_factor=e / ms.batch.events,
        stream_factor=e / ms.stream.events,
    )


def _batch_items(prices: Prices, batch: Measurement, scale: Scale, option: OptionId) -> list[CostItem]:
    util = prices.batch.utilization.value
    # One run of the measured job over the costed day, provisioned at the batch utilization.
    run_vcpu_h = batch.cpu_s * scale.batch_factor / 3600 / util
    run_gb_h = batch.gb_hours * scale.batch_factor / util
    c = prices.compute
    items: list[CostItem] = []
    for name, job in prices.batch.jobs.items():
        runs = {
            OptionId.status_quo: job.runs_per_day.status_quo,
            OptionId.a: job.runs_per_day.option_a,
            OptionId.b: job.runs_per_day.option_b,
        }[option]
        if runs == 0:
            continue
        k = job.size_vs_measured * runs
        basis = (
            f"{job.size_vs_measured:g} x measured run x {runs:g}/day; measured run scaled "
            f"x{scale.batch_factor:,.1f} by events, / utilization {util:g}"
        )
        items.append(
            _item(
                Line.compute,
                f"batch: {name}, vCPU",
                run_vcpu_h * k,
                "vCPU-h",
                c.vcpu_hour_usd.value,
                "$/vCPU-h",
                basis,
                batch=True,
            )
        )
        items.append(
            _item(
                Line.memory,
                f"batch: {name}, memory",
                run_gb_h * k,
                "GiB-h",
                c.gb_hour_usd.value,
                "$/GiB-h",
                basis,
                batch=True,
            )
        )
    return items


def _lake_item(prices: Prices, scale: Scale, fmt: str) -> CostItem:
    v = prices.volume
    return _item(
        Line.storage,
        f"lake ({fmt}) on object storage",
        scale.lake_gb_held,
        "GiB held",
        prices.storage.object_gb_month_usd.value,
        "$/GiB-month",
        f"{v.lake_bytes_per_event.value:g} B/event x {scale.events_per_day:,.0f}/day x "
        f"{v.lake_retention_days.value:g} days; / {DAYS_PER_MONTH} per day",
        per=DAYS_PER_MONTH,
    )


def _request_items(
    prices: Prices, commits_day: float, puts_per_commit: float, gets_per_commit: float, what: str
) -> list[CostItem]:
    s = prices.storage
    return [
        _item(
            Line.storage,
            f"{what}: PUT requests",
            commits_day * puts_per_commit,
            "requests",
            s.put_per_1000_usd.value,
            "$/1,000",
            f"{commits_day:,.0f} commits/day x {puts_per_commit:g} files",
            per=1000,
        ),
        _item(
            Line.storage,
            f"{what}: GET requests",
            commits_day * gets_per_commit,
            "requests",
            s.get_per_1000_usd.value,
            "$/1,000",
            f"{commits_day:,.0f} commits/day x {gets_per_commit:g} reads",
            per=1000,
        ),
    ]


def _kafka_sizing(prices: Prices, kafka: Measurement, scale: Scale) -> KafkaSizing:
    k = prices.option_a.kafka
    util = k.target_utilization.value
    vcpu_need = kafka.cpu_s_per_event * scale.peak_events_per_s / util
    gb_need = kafka.gb_s_per_event * scale.peak_events_per_s / util
    disk_need = (
        scale.ingest_gb_day * k.retention_days.value * k.replication_factor.value / k.disk_fill_target.value
    )
    by_cpu = math.ceil(vcpu_need / k.vcpu_per_broker.value)
    by_mem = math.ceil(gb_need / k.gb_per_broker.value)
    brokers = max(k.brokers.value, k.replication_factor.value, by_cpu, by_mem)
    disk = max(k.disk_gb_per_broker.value, disk_need / brokers)
    reasons = []
    if brokers > k.brokers.value:
        reasons.append(f"raised from {k.brokers.value} to {brokers} brokers for the measured load at peak")
    if disk > k.disk_gb_per_broker.value:
        reasons.append(f"disks raised to {disk:,.0f} GiB for {k.retention_days.value:g} days of retention")
    return KafkaSizing(
        configured_brokers=k.brokers.value,
        brokers=brokers,
        vcpu_needed_at_peak=vcpu_need,
        gb_needed_at_peak=gb_need,
        disk_needed_gb=disk_need,
        disk_gb_per_broker=disk,
        reason="; ".join(reasons) or "as configured: the measured load and the retention fit",
    )


# --- the options --------------------------------------------------------------


def _status_quo(prices: Prices, ms: MeasurementSet, scale: Scale) -> OptionCost:
    items = _batch_items(prices, ms.batch, scale, OptionId.status_quo)
    items.append(_lake_item(prices, scale, "Parquet"))
    return OptionCost.of(OptionId.status_quo, items)


def _option_a(
    prices: Prices, ms: MeasurementSet, scale: Scale
) -> tuple[OptionCost, KafkaSizing, float, float]:
    f, k, c = prices.option_a.flink, prices.option_a.kafka, prices.compute
    peak = prices.volume.peak_factor.value
    util = f.target_utilization.value
    mean_vcpu = ms.stream.cpu_s_per_event * scale.mean_events_per_s
    mean_gb = ms.stream.gb_s_per_event * scale.mean_events_per_s
    vcpu = mean_vcpu * peak / util + f.jobmanager_vcpu.value
    gb = mean_gb * peak / util + f.jobmanager_gb.value
    sizing_basis = f"x{peak:g} peak / utilization {util:g} + JobManager, 24 h"
    items = [
        _item(
            Line.compute,
            "Flink, vCPU",
            vcpu * HOURS_PER_DAY,
            "vCPU-h",
            c.vcpu_hour_usd.value,
            "$/vCPU-h",
            f"{ms.stream.cpu_s_per_event * 1e6:,.1f} CPU-us/event x {scale.mean_events_per_s:,.0f}/s = "
            f"{mean_vcpu:.2f} vCPU mean; {sizing_basis}",
        ),
        _item(
            Line.memory,
            "Flink, memory",
            gb * HOURS_PER_DAY,
            "GiB-h",
            c.gb_hour_usd.value,
            "$/GiB-h",
            f"{ms.stream.gb_s_per_event * 1e3:,.3f} GiB-ms/event x {scale.mean_events_per_s:,.0f}/s = "
            f"{mean_gb:.2f} GiB mean; {sizing_basis}",
        ),
    ]
    sizing = _kafka_sizing(prices, ms.kafka, scale)
    b = sizing.brokers
    items += [
        _item(
            Line.kafka,
            "Kafka brokers, vCPU",
            b * k.vcpu_per_broker.value * HOURS_PER_DAY,
            "vCPU-h",
            c.vcpu_hour_usd.value,
            "$/vCPU-h",
            f"{b} brokers x {k.vcpu_per_broker.value:g} vCPU, 24 h; measured load needs "
            f"{sizing.vcpu_needed_at_peak:.2f} vCPU at peak",
        ),
        _item(
            Line.kafka,
            "Kafka brokers, memory",
            b * k.gb_per_broker.value * HOURS_PER_DAY,
            "GiB-h",
            c.gb_hour_usd.value,
            "$/GiB-h",
            f"{b} brokers x {k.gb_per_broker.value:g} GiB, 24 h; measured RSS needs "
            f"{sizing.gb_needed_at_peak:.2f} GiB at peak",
        ),
        _item(
            Line.kafka,
            "Kafka disks (block storage)",
            b * sizing.disk_gb_per_broker,
            "GiB held",
            prices.storage.block_gb_month_usd.value,
            "$/GiB-month",
            f"{b} x {sizing.disk_gb_per_broker:,.0f} GiB; retention needs {sizing.disk_needed_gb:,.0f} GiB "
            f"({k.retention_days.value:g} d x rf {k.replication_factor.value} / fill "
            f"{k.disk_fill_target.value:g}); / {DAYS_PER_MONTH} per day",
            per=DAYS_PER_MONTH,
        ),
    ]
    rf, azs, groups = k.replication_factor.value, k.availability_zones.value, k.consumer_groups.value
    # Replicas sit in other zones (rack-aware placement): rf - 1 copies cross a zone. A producer or
    # a consumer group reaches a leader in another zone for (1 - 1/zones) of the partitions.
    crossings = (rf - 1) + (1 - 1 / azs) * (1 + groups)
    items.append(
        _item(
            Line.egress,
            "Kafka cross-zone traffic",
            scale.ingest_gb_day * crossings,
            "GiB",
            prices.network.inter_az_gb_usd.value,
            "$/GiB",
            f"{scale.ingest_gb_day:,.1f} GiB/day x {crossings:.2f} crossings (replication {rf - 1}, "
            f"produce and {groups} consumer group(s) x {1 - 1 / azs:.2f})",
        )
    )
    items.append(_lake_item(prices, scale, "Iceberg"))
    commits = SECONDS_PER_DAY / f.checkpoint_interval_s.value
    items += _request_items(
        prices,
        commits,
        f.data_files_per_commit.value + f.metadata_files_per_commit.value,
        f.gets_per_commit.value,
        "Iceberg commits at checkpoints",
    )
    items += _batch_items(prices, ms.batch, scale, OptionId.a)
    return OptionCost.of(OptionId.a, items), sizing, vcpu, gb


def _option_b(prices: Prices, ms: MeasurementSet, scale: Scale) -> tuple[OptionCost, int, float]:
    kin, fn, dd, dl = (
        prices.option_b.kinesis,
        prices.option_b.functions,
        prices.option_b.dedup_store,
        prices.option_b.delta,
    )
    v = prices.volume
    e = scale.events_per_day
    per_put = kin.records_per_put.value
    put_bytes = v.wire_bytes_per_event.value * per_put
    by_records = math.ceil(scale.peak_events_per_s / per_put / kin.shard_records_per_s.value)
    by_bytes = math.ceil(
        scale.peak_events_per_s * v.wire_bytes_per_event.value / (kin.shard_ingest_mb_per_s.value * _MIB)
    )
    shards = max(1, by_records, by_bytes)
    units_per_put = math.ceil(put_bytes / (kin.put_unit_kb.value * _KIB))
    items = [
        _item(
            Line.managed,
            "Kinesis shards",
            shards * HOURS_PER_DAY,
            "shard-h",
            kin.shard_hour_usd.value,
            "$/shard-h",
            f"{shards} shards for {scale.peak_events_per_s:,.0f} events/s at peak "
            f"({by_records} by records/s, {by_bytes} by MB/s), 24 h",
        ),
    ]
    if kin.retention_days.value > 1:
        items.append(
            _item(
                Line.managed,
                "Kinesis extended retention",
                shards * HOURS_PER_DAY,
                "shard-h",
                kin.extended_retention_shard_hour_usd.value,
                "$/shard-h",
                f"{kin.retention_days.value:g} days kept for replay: every shard, 24 h",
            )
        )
    items.append(
        _item(
            Line.managed,
            "Kinesis PUT payload units",
            e / per_put * units_per_put,
            "units",
            kin.put_unit_per_million_usd.value,
            "$/million",
            f"{e / per_put:,.0f} puts/day x {units_per_put} unit(s) of {kin.put_unit_kb.value:g} KB",
            per=1e6,
        )
    )
    cpu_per_event = ms.stream.cpu_s_per_event * fn.runtime_cpu_factor.value
    gb_s = e * cpu_per_event * fn.gb_per_vcpu.value / fn.cpu_busy_fraction.value
    invocations = e / fn.batch_size.value
    items += [
        _item(
            Line.managed,
            "functions, duration",
            gb_s,
            "GB-s",
            fn.gb_second_usd.value,
            "$/GB-s",
            f"{cpu_per_event * 1e6:,.1f} CPU-us/event (Flink's, x{fn.runtime_cpu_factor.value:g}) x "
            f"{fn.gb_per_vcpu.value:g} GB per vCPU / busy {fn.cpu_busy_fraction.value:g}",
        ),
        _item(
            Line.managed,
            "functions, requests",
            invocations,
            "requests",
            fn.requests_per_million_usd.value,
            "$/million",
            f"one invocation per {fn.batch_size.value:,.0f} records",
            per=1e6,
        ),
        _item(
            Line.managed,
            "dedup store writes",
            e * dd.writes_per_event.value,
            "writes",
            dd.write_per_million_usd.value,
            "$/million",
            f"{dd.writes_per_event.value:g} conditional write(s) per event on event_id",
            per=1e6,
        ),
    ]
    items.append(_lake_item(prices, scale, "Delta"))
    items += _request_items(
        prices,
        invocations,
        dl.files_per_commit.value,
        dl.gets_per_commit.value,
        "Delta commits per invocation",
    )
    items += _batch_items(prices, ms.batch, scale, OptionId.b)
    # A shard hands a function a batch when it is full or when the window closes.
    per_shard_rate = scale.mean_events_per_s / shards
    fill_s = min(fn.max_batching_window_s.value, fn.batch_size.value / per_shard_rate)
    return OptionCost.of(OptionId.b, items, modelled=True), shards, fill_s


def _batch_scale(sq: OptionCost, a: OptionCost, target_ratio: float) -> float | None:
    """k such that A'(k) = target_ratio x SQ'(k) when every batch job is k times bigger."""
    a_rest = a.total_usd_day - a.batch_compute_usd_day
    sq_rest = sq.total_usd_day - sq.batch_compute_usd_day
    denominator = target_ratio * sq.batch_compute_usd_day - a.batch_compute_usd_day
    if denominator <= 0:
        return None
    k = (a_rest - target_ratio * sq_rest) / denominator
    return k if k > 0 else None


def compare(prices: Prices, measurements: MeasurementSet) -> Comparison:
    """Cost the three options at the prices' daily volume from this machine's measurements."""
    scale = _scale(prices, measurements)
    sq = _status_quo(prices, measurements, scale)
    a, sizing, flink_vcpu, flink_gb = _option_a(prices, measurements, scale)
    b, shards, fill_s = _option_b(prices, measurements, scale)
    return Comparison(
        scale=scale,
        status_quo=sq,
        option_a=a,
        option_b=b,
        kafka=sizing,
        flink_vcpu=flink_vcpu,
        flink_gb=flink_gb,
        kinesis_shards=shards,
        option_b_fill_s=fill_s,
        batch_compute_change_pct=_pct_change(a.batch_compute_usd_day, sq.batch_compute_usd_day),
        net_cost_change_pct=_pct_change(a.total_usd_day, sq.total_usd_day),
        b_net_cost_change_pct=_pct_change(b.total_usd_day, sq.total_usd_day),
        breakeven_batch_scale=_batch_scale(sq, a, 1.0),
        story_net_batch_scale=_batch_scale(sq, a, 1 + STORY_NET_COST_CHANGE_PCT / 100),
    )


# --- what would change the decision -----------------------------------------


@dataclass(frozen=True)
class SensitivityCase:
    """The three options under one changed input."""

    name: str
    change: str
    status_quo_usd_day: float
    a_usd_day: float
    b_usd_day: float
    a_net_change_pct: float
    cheapest: OptionId
    cheaper_stream: OptionId
    """A or B: the cheaper of the two options that meet the freshness target."""


def _with(model: Amount | Count, value: float, source: str) -> Amount | Count:
    if isinstance(model, Count):
        return Count(value=int(value), source=source)
    return model.model_copy(update={"value": float(value), "source": source})


def _set(prices: Prices, section: str, sub: str | None, field: str, value: float, why: str) -> Prices:
    """prices with `section[.sub].field` set to `value` (model_copy keeps everything frozen)."""
    outer = getattr(prices, section)
    inner = getattr(outer, sub) if sub else outer
    inner = inner.model_copy(update={field: _with(getattr(inner, field), value, why)})
    outer = outer.model_copy(update={sub: inner}) if sub else inner
    return prices.model_copy(update={section: outer})


def _scaled_batch(prices: Prices, factor: float) -> Prices:
    jobs = {
        name: job.model_copy(update={"size_vs_measured": job.size_vs_measured * factor})
        for name, job in prices.batch.jobs.items()
    }
    return prices.model_copy(update={"batch": prices.batch.model_copy(update={"jobs": jobs})})


def sensitivity(prices: Prices, measurements: MeasurementSet) -> tuple[SensitivityCase, ...]:
    """One input changed at a time; each row is the three options' $/day under that change."""
    v, k = prices.volume, prices.option_a.kafka
    e = v.events_per_day.value
    why = "sensitivity case"
    cases: list[tuple[str, str, Callable[[Prices], Prices]]] = [
        ("base", "prices.yaml as written", lambda p: p),
        ("volume -50%", f"{e * 0.5:,.0f} events/day", lambda p: p.with_events_per_day(e * 0.5, why)),
        ("volume +50%", f"{e * 1.5:,.0f} events/day", lambda p: p.with_events_per_day(e * 1.5, why)),
        (
            "Kafka 6 brokers",
            f"{k.brokers.value} -> 6 brokers",
            lambda p: _set(p, "option_a", "kafka", "brokers", 6, why),
        ),
        (
            "peak factor 5",
            f"{v.peak_factor.value:g} -> 5",
            lambda p: _set(p, "volume", None, "peak_factor", 5, why),
        ),
        (
            "events 10x larger",
            f"{v.wire_bytes_per_event.value:g} -> {v.wire_bytes_per_event.value * 10:g} B on the wire, "
            f"{v.lake_bytes_per_event.value:g} -> {v.lake_bytes_per_event.value * 10:g} B in the lake",
            lambda p: _set(
                _set(p, "volume", None, "wire_bytes_per_event", v.wire_bytes_per_event.value * 10, why),
                "volume",
                None,
                "lake_bytes_per_event",
                v.lake_bytes_per_event.value * 10,
                why,
            ),
        ),
        (
            "B without per-event dedup writes",
            "0 writes/event; where the dedup goes instead is not priced",
            lambda p: _set(p, "option_b", "dedup_store", "writes_per_event", 0, why),
        ),
        ("batch estate 10x", "every batch job 10x the measured size", lambda p: _scaled_batch(p, 10)),
        ("batch estate 100x", "every batch job 100x the measured size", lambda p: _scaled_batch(p, 100)),
    ]
    out = []
    for name, change, apply in cases:
        c = compare(apply(prices), measurements)
        out.append(
            SensitivityCase(
                name=name,
                change=change,
                status_quo_usd_day=c.status_quo.total_usd_day,
                a_usd_day=c.option_a.total_usd_day,
                b_usd_day=c.option_b.total_usd_day,
                a_net_change_pct=c.net_cost_change_pct,
                cheapest=c.cheapest.option,
                cheaper_stream=c.cheaper_stream.option,
            )
        )
    return tuple(out)
