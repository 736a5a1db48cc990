"""The RFC's unit prices and sizing (`prices.yaml`), loaded into frozen pydantic models.

Backs story 3's "drafted RFC with two options ... compared cost": every
number the cost model (`model.py`) multiplies by is a `{value, source}` pair
in `prices.yaml`, so the RFC can say where each price comes from. A missing
or invalid file raises `RfcInputError` (a `StreamConfigError`) whose message
is one line: `<file>: <field path>: <problem>; ...`; the CLI prints it and
exits 2.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from streaming.rfc.errors import RfcInputError

__all__ = [
    "DEFAULT_PRICES_PATH",
    "Amount",
    "Batch",
    "BatchJob",
    "ComputePrices",
    "Count",
    "DedupStore",
    "DeltaLake",
    "Flink",
    "Fraction",
    "Functions",
    "Kafka",
    "Kinesis",
    "NetworkPrices",
    "OptionA",
    "OptionB",
    "Positive",
    "Prices",
    "Runs",
    "StoragePrices",
    "Volume",
    "load_prices",
    "parse_prices",
]

DEFAULT_PRICES_PATH = Path(__file__).with_name("prices.yaml")
"""The RFC's default prices, next to the code that reads them."""

KINESIS_MAX_RETENTION_DAYS = 7
"""Past 7 days Kinesis bills long-term retention per GB-month, which the model does not price."""

_REPR_CHARS = 40
"""How much of an offending value a one-line message quotes."""

_Source = Annotated[str, Field(min_length=1, pattern=r"^[^\n]*\S[^\n]*$")]
"""One line saying where a number comes from: a price page, a measurement, or "assumption: why"."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# --- numbers with their source ---------------------------------------------
# Strict floats: YAML "0.02" (a string) is a mistake to report, not to coerce;
# an int is still a valid float. NaN and infinity are refused.


class Amount(_Frozen):
    """A price, size or count that cannot be negative, with its source."""

    value: float = Field(strict=True, allow_inf_nan=False, ge=0)
    """The number, in the unit the field name states."""
    source: _Source
    """Where it comes from, one line."""


class Positive(Amount):
    """A number the model divides by or scales with: strictly above zero."""

    value: float = Field(strict=True, allow_inf_nan=False, gt=0)


class Fraction(Amount):
    """A share in (0, 1]: a utilization, a fill target, a busy fraction."""

    value: float = Field(strict=True, allow_inf_nan=False, gt=0, le=1)


class PeakFactor(Amount):
    """Busiest rate over the mean rate: 1 or more."""

    value: float = Field(strict=True, allow_inf_nan=False, ge=1)


class Count(_Frozen):
    """A whole number of things (brokers, replicas, zones), at least one, with its source."""

    value: int = Field(strict=True, ge=1)
    source: _Source


class RetentionDays(Amount):
    """Kinesis retention: 1 day is included, extended retention goes up to 7."""

    value: float = Field(strict=True, allow_inf_nan=False, ge=1, le=KINESIS_MAX_RETENTION_DAYS)


# --- sections ---------------------------------------------------------------


class Volume(_Frozen):
    """How much data a day brings, shared by every option."""

    events_per_day: Positive
    """Events per day the options are costed at; the measurements are scaled to it."""
    peak_factor: PeakFactor
    """Busiest rate / mean rate; always-on capacity (Flink, Kafka, shards) is sized for the peak."""
    wire_bytes_per_event: Positive
    """Bytes an event takes on the wire (Kafka or Kinesis record)."""
    lake_bytes_per_event: Positive
    """Bytes an event takes in the lake (compressed Parquet)."""
    lake_retention_days: Positive
    """Days of events the lake keeps; the same in every option."""


class ComputePrices(_Frozen):
    """Self-managed compute, split into a vCPU price and a memory price."""

    vcpu_hour_usd: Positive
    gb_hour_usd: Positive


class StoragePrices(_Frozen):
    """Object storage (the lake), block storage (Kafka's disks) and object requests."""

    object_gb_month_usd: Amount
    block_gb_month_usd: Amount
    put_per_1000_usd: Amount
    get_per_1000_usd: Amount


class NetworkPrices(_Frozen):
    """Data transfer the options pay for."""

    inter_az_gb_usd: Amount
    """Per GB crossing availability zones, both directions counted."""


class Runs(_Frozen):
    """How many times a day a batch job runs in each option (a weekly job is 1/7)."""

    status_quo: float = Field(strict=True, allow_inf_nan=False, ge=0)
    option_a: float = Field(strict=True, allow_inf_nan=False, ge=0)
    option_b: float = Field(strict=True, allow_inf_nan=False, ge=0)


class BatchJob(_Frozen):
    """One batch job of the estate, sized against the measured dbt full refresh."""

    size_vs_measured: float = Field(strict=True, allow_inf_nan=False, gt=0)
    """CPU and memory of one run, as a multiple of the measured recompute of one day."""
    runs_per_day: Runs
    source: _Source


class Batch(_Frozen):
    """The nightly batch estate: which jobs run, how big, in which option."""

    utilization: Fraction
    """Share of the batch VMs' vCPU and memory a run keeps busy; provisioned = used / utilization."""
    jobs: dict[str, BatchJob] = Field(min_length=1)
    """Named jobs, in the order the RFC lists them."""


class Flink(_Frozen):
    """Option A's stream processor: always on, sized for the peak."""

    target_utilization: Fraction
    jobmanager_vcpu: Amount
    jobmanager_gb: Amount
    checkpoint_interval_s: Positive
    """The Iceberg sink commits at each checkpoint: commits/day = 86,400 / interval."""
    data_files_per_commit: Amount
    metadata_files_per_commit: Amount
    gets_per_commit: Amount


class Kafka(_Frozen):
    """Option A's brokers; the model raises the count or the disks if the measured load needs more."""

    brokers: Count
    vcpu_per_broker: Positive
    gb_per_broker: Positive
    disk_gb_per_broker: Positive
    replication_factor: Count
    retention_days: Positive
    availability_zones: Count
    consumer_groups: Count
    target_utilization: Fraction
    disk_fill_target: Fraction


class OptionA(_Frozen):
    """Kafka + Flink + Iceberg."""

    flink: Flink
    kafka: Kafka


class Kinesis(_Frozen):
    """Option B's managed stream, provisioned mode."""

    shard_hour_usd: Amount
    put_unit_per_million_usd: Amount
    extended_retention_shard_hour_usd: Amount
    retention_days: RetentionDays
    shard_ingest_mb_per_s: Positive
    shard_records_per_s: Positive
    put_unit_kb: Positive
    records_per_put: Positive


class Functions(_Frozen):
    """Option B's functions (AWS Lambda), fed in batches by the stream."""

    gb_second_usd: Amount
    requests_per_million_usd: Amount
    gb_per_vcpu: Positive
    cpu_busy_fraction: Fraction
    runtime_cpu_factor: Positive
    batch_size: Positive
    max_batching_window_s: Positive


class DedupStore(_Frozen):
    """Where a stateless function keeps the event ids it has seen (a key-value store)."""

    write_per_million_usd: Amount
    writes_per_event: Amount


class DeltaLake(_Frozen):
    """Option B's table format on object storage: one commit per invocation."""

    files_per_commit: Amount
    gets_per_commit: Amount


class OptionB(_Frozen):
    """Managed streaming + functions + Delta, modelled from public unit prices."""

    kinesis: Kinesis
    functions: Functions
    dedup_store: DedupStore
    delta: DeltaLake


class Prices(_Frozen):
    """The whole prices file."""

    as_of: date
    """The date the prices were current."""
    region: Annotated[str, Field(min_length=1)]
    currency: Literal["USD"]
    volume: Volume
    compute: ComputePrices
    storage: StoragePrices
    network: NetworkPrices
    batch: Batch
    option_a: OptionA
    option_b: OptionB

    @model_validator(mode="after")
    def _replicas_fit_zones(self) -> Prices:
        kafka = self.option_a.kafka
        if kafka.replication_factor.value > kafka.availability_zones.value:
            # Replicas beyond the zone count share a zone: the cross-zone traffic formula
            # (rf - 1 copies cross a zone) would overcount.
            raise ValueError(
                f"option_a.kafka.replication_factor ({kafka.replication_factor.value}) must not exceed "
                f"availability_zones ({kafka.availability_zones.value})"
            )
        return self

    def with_events_per_day(self, events_per_day: float, source: str) -> Prices:
        """The same prices at another daily volume (the CLI's `--events-per-day`)."""
        if not events_per_day > 0:
            raise ValueError(f"events per day must be > 0, got {events_per_day}")
        volume = self.volume.model_copy(
            update={"events_per_day": Positive(value=float(events_per_day), source=source)}
        )
        return self.model_copy(update={"volume": volume})


# --- errors -----------------------------------------------------------------


def _short(value: object) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= _REPR_CHARS else text[: _REPR_CHARS - 3] + "..."


def _field_path(loc: tuple[int | str, ...]) -> str:
    # `compute.vcpu_hour_usd` names the number; its `.value` is implied.
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[-1] == "value":
        parts.pop()
    return ".".join(parts) or "(top level)"


def _problem(err: ErrorDetails) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "value_error":
        return str((err.get("ctx") or {}).get("error", err["msg"]))
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping, got {'nothing' if value is None else _short(value)}"
    return f"{err['msg'].lower()}, got {_short(value)}"


def _problems(exc: ValidationError) -> tuple[str, ...]:
    return tuple(f"{_field_path(tuple(e['loc']))}: {_problem(e)}" for e in exc.errors())


# --- loading ----------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML would keep the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_prices(data: object, path: Path) -> Prices:
    """Validate already-parsed YAML; `path` only names the file in the error."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise RfcInputError(path, (f"(top level): expected a mapping, got {got}",))
    try:
        return Prices.model_validate(data)
    except ValidationError as exc:
        raise RfcInputError(path, _problems(exc)) from None


def load_prices(path: Path = DEFAULT_PRICES_PATH) -> Prices:
    """Read and validate a prices file; `RfcInputError` (one line, exit 2 in the CLI) if it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RfcInputError(path, (f"cannot read: {exc.strerror or exc}",)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise RfcInputError(path, (f"{where}: invalid YAML: {problem}",)) from None
    return parse_prices(data, path)
