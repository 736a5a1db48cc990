"""The Sales report's daily pipeline (`analytics_daily`): the downstream DAG that upstream changes break.

Backs story 1's situation, "analytics pipelines broke ... causing missed
daily reports for Sales", with a pipeline that can actually break. One run
per data interval `[D, D+1)`:

`stream_consumer` -> `build` -> `report`

- **stream_consumer**: story 3's Flink job reading the interval's engagement
  events: every record is decoded from its writer schema into the job's
  pinned reader schema (version 1 of the event contract,
  `starlab/events/model.py`), as the job's `avro-confluent` format does with
  a fixed schema. A record the pinned schema cannot read fails the task, as
  it would fail the job: a consumer breakage. In the replay, where no Flink
  job runs, it also stands in for the job's lake sink and lands the records
  into the lake's events table, one Iceberg commit per interval
  (`land_events`); elsewhere it only checks the newest records
  (`check_events`) and leaves the lake to the job.
- **build**: `dbt build` of the Sales report's lineage and the user dimension
  (`STARLAB_CONTRACTS_ANALYTICS_SELECT`, with their tests; tests of models
  outside it and of the raw event lake, `..._ANALYTICS_EXCLUDE`, are left
  out), from the deployed dbt project (`project_dir`).
  A failed model is a breakage that reached a dbt build, a failed test one
  that reached a dbt test.
- **report**: the Sales daily report: the columns the dashboard reads
  (exposure `sales_daily_report`) for date D, written to
  `<data_dir>/contracts/analytics/<D>/sales_report.json`. A missing column
  fails it: a consumer breakage.

Each step records a typed `StepOutcome` under the interval's folder before it
raises, so whoever runs the DAG (the replay) knows how far a breakage got
without reading messages. Every failure is retried by the DAG: a schema
break looks like any other failure to it, which is exactly the cost (retries,
longer runs, pages) the contracts remove. Idempotent per interval: the
landed offsets of an interval are fixed the first time it runs, so a re-run
lands the same records into the same file; dbt builds by date; the report
file is replaced.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.errors import ContractsError, ContractsTransientError
from contracts.replay.model import Reach
from contracts.settings import ContractsSettings
from starlab.atomic import write_text_atomic
from starlab.settings import Settings

SALES_REPORT_COLUMNS = (
    "event_date",
    "category",
    "engaged_items",
    "events",
    "impressions",
    "clicks",
    "likes",
    "shares",
    "ctr",
)
"""What the Sales dashboard reads from marts.fct_sales_daily_engagement (its v1 relation)."""
SALES_RELATION = "marts.fct_sales_daily_engagement"
PINNED_CONSUMER = "flink_engagement_job"
LANDED_DIR = "_landed"
"""Under lake/events/: one JSON per interval with the offsets it landed (beside the Iceberg
warehouse, which is all dbt's source reads)."""
READ_TIMEOUT_S = 60.0


class StepOutcome(BaseModel):
    """What a step of `analytics_daily` did for one interval (the replay reads it)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: str
    interval: date
    ok: bool
    reach: Reach | None = None
    detail: str


class StepFailed(ContractsError):
    """A step failed after recording its outcome; the DAG retries it like any failure."""

    def __init__(self, outcome: StepOutcome) -> None:
        super().__init__(f"{outcome.task_id} failed for {outcome.interval}: {outcome.detail}")
        self.outcome = outcome


class LandedRange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    interval: date
    start: dict[int, int]
    end: dict[int, int]
    events: int
    skipped: int = 0
    """Records skipped by an operator's reset (unreadable by the pinned schema)."""


def interval_dir(settings: Settings, interval: date) -> Path:
    return settings.data_dir / "contracts" / "analytics" / interval.isoformat()


def dbt_work_dir(settings: Settings) -> Path:
    """One work dir for every build: dbt's partial parse cache survives between intervals."""
    return settings.data_dir / "contracts" / "analytics" / "dbt"


def outcome_path(settings: Settings, interval: date, task_id: str) -> Path:
    return interval_dir(settings, interval) / f"{task_id}.json"


def record(settings: Settings, outcome: StepOutcome) -> StepOutcome:
    write_text_atomic(outcome_path(settings, outcome.interval, outcome.task_id), outcome.model_dump_json())
    return outcome


def read_outcome(settings: Settings, interval: date, task_id: str) -> StepOutcome | None:
    path = outcome_path(settings, interval, task_id)
    return StepOutcome.model_validate_json(path.read_bytes()) if path.exists() else None


def _fail(settings: Settings, task_id: str, interval: date, reach: Reach | None, detail: str) -> StepFailed:
    return StepFailed(
        record(
            settings, StepOutcome(task_id=task_id, interval=interval, ok=False, reach=reach, detail=detail)
        )
    )


# --------------------------------------------------------------------------- land_events


def _landed_dir(settings: Settings) -> Path:
    return settings.lake_dir / "events" / LANDED_DIR


def _ranges(settings: Settings) -> dict[date, LandedRange]:
    folder = _landed_dir(settings)
    if not folder.is_dir():
        return {}
    out = {}
    for path in folder.glob("*.json"):
        r = LandedRange.model_validate_json(path.read_bytes())
        out[r.interval] = r
    return out


def _plan(settings: Settings, interval: date) -> tuple[dict[int, int], dict[int, int]]:
    """(start, end) offsets of the interval: fixed on its first run, so a re-run is the same read."""
    from starlab.kafka_io import end_offsets

    ranges = _ranges(settings)
    if interval in ranges:
        return ranges[interval].start, ranges[interval].end
    before = [r for d, r in ranges.items() if d < interval]
    start: dict[int, int] = dict(max(before, key=lambda r: r.interval).end) if before else {}
    # A failed earlier interval wrote no range: this one starts where the last landing ended.
    end = end_offsets(settings, settings.events_topic)
    return {p: start.get(p, 0) for p in end}, end


def _read(settings: Settings, start: Mapping[int, int], end: Mapping[int, int]) -> list[bytes]:
    from confluent_kafka import TopicPartition

    from starlab.kafka_io import consumer

    todo = {p for p in end if end[p] > start.get(p, 0)}
    if not todo:
        return []
    c = consumer(settings)
    values: list[bytes] = []
    try:
        c.assign([TopicPartition(settings.events_topic, p, start.get(p, 0)) for p in todo])
        position = {p: start.get(p, 0) for p in todo}
        deadline = time.monotonic() + READ_TIMEOUT_S
        while any(position[p] < end[p] for p in todo):
            if time.monotonic() > deadline:
                raise ContractsTransientError(f"reading {settings.events_topic} timed out at {position}")
            msgs = c.consume(num_messages=1000, timeout=0.5)
            for msg in msgs:
                if msg.error() is not None:
                    raise ContractsTransientError(f"reading {settings.events_topic}: {msg.error()}")
                p, off = int(msg.partition() or 0), int(msg.offset() or 0)
                position[p] = max(position[p], off + 1)
                value = msg.value()
                if off < end[p] and value is not None:
                    values.append(value)
            if not msgs:
                for tp in c.position([TopicPartition(settings.events_topic, p) for p in todo]):
                    if tp.offset >= 0:
                        position[tp.partition] = max(position[tp.partition], tp.offset)
    finally:
        c.close()
    return values


def _ms(value: object) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(str(value))


STREAM_TASK = "stream_consumer"


def check_events(settings: Settings, cfg: ContractsSettings, interval: date) -> StepOutcome:
    """The stream job's pinned schema reads the topic's newest records (bounded); writes nothing."""
    import fastavro

    from contracts.validate.topics import Registry, decode, sample_topic
    from starlab.events.model import schema_str

    sample = sample_topic(
        settings,
        contract_topic=settings.events_topic,
        topic=settings.events_topic,
        subject=f"{settings.events_topic}-value",
        per_partition=cfg.sample_records,
        timeout_s=cfg.sample_timeout_s,
    )
    reader = fastavro.parse_schema(json.loads(schema_str()))
    registry = Registry(settings.schema_registry_url)
    records = [r for r in sample.records if r.value is not None]
    errors = [e for r in records if (e := decode(r, registry, reader).error) is not None]
    if errors:
        raise _fail(
            settings,
            STREAM_TASK,
            interval,
            Reach.CONSUMER,
            f"{PINNED_CONSUMER} (pinned v1 schema) cannot read {len(errors)} of the {len(records)} newest "
            f"records: {errors[0][:200]}",
        )
    detail = f"the pinned schema reads the {len(records)} newest records"
    return record(settings, StepOutcome(task_id=STREAM_TASK, interval=interval, ok=True, detail=detail))


def land_events(settings: Settings, interval: date) -> LandedRange:
    """Land the interval's events with the stream job's pinned schema; unreadable records fail it."""
    import fastavro

    from contracts.validate.topics import Registry
    from starlab.atomic import write_json_atomic
    from starlab.cdc.serde import unwire
    from starlab.events.model import Event, schema_str
    from starlab.lake.events import write_lake_events

    task = STREAM_TASK
    start, end = _plan(settings, interval)
    raw = _read(settings, start, end)
    reader = fastavro.parse_schema(json.loads(schema_str()))
    registry = Registry(settings.schema_registry_url)
    events: list[Event] = []
    errors: list[str] = []
    for value in raw:
        try:
            schema_id, payload = unwire(value)
            decoded = fastavro.schemaless_reader(io.BytesIO(payload), registry.writer(schema_id), reader)
        except ContractsTransientError:
            raise
        except Exception as exc:  # a resolution, EOF or framing error: the record is unreadable
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if not isinstance(decoded, dict):
            errors.append(f"decoded to {type(decoded).__name__}, not a record")
            continue
        rec: dict[str, Any] = dict(decoded)
        rec["event_ts"], rec["ingest_ts"] = _ms(rec["event_ts"]), _ms(rec["ingest_ts"])
        events.append(Event(**rec))
    if errors:
        raise _fail(
            settings,
            task,
            interval,
            Reach.CONSUMER,
            f"{PINNED_CONSUMER} (pinned v1 schema) cannot read {len(errors)} of {len(raw)} records: "
            f"{errors[0][:200]}",
        )
    # one commit per interval, keyed by it: a re-run of the interval appends nothing twice
    write_lake_events(events, settings, batch_id=f"stream-{interval.isoformat()}")
    landed = LandedRange(interval=interval, start=start, end=end, events=len(events))
    write_json_atomic(_landed_dir(settings) / f"{interval.isoformat()}.json", landed.model_dump(mode="json"))
    record(
        settings, StepOutcome(task_id=task, interval=interval, ok=True, detail=f"{len(events)} events landed")
    )
    return landed


def skip_unreadable(settings: Settings, failed_interval: date) -> int:
    """What on-call does to restart the stream job past records it cannot read: they are lost.

    Records the failed interval as landed with no events up to the current end
    offsets; returns how many records were skipped.
    """
    from starlab.atomic import write_json_atomic

    start, end = _plan(settings, failed_interval)
    skipped = sum(max(0, end[p] - start.get(p, 0)) for p in end)
    landed = LandedRange(interval=failed_interval, start=start, end=end, events=0, skipped=skipped)
    write_json_atomic(
        _landed_dir(settings) / f"{failed_interval.isoformat()}.json", landed.model_dump(mode="json")
    )
    return skipped


# --------------------------------------------------------------------------- build


def build(settings: Settings, cfg: ContractsSettings, interval: date, project_dir: Path) -> StepOutcome:
    from starlab.dbt import run_dbt

    task = "build"
    run = run_dbt(
        [
            "build",
            "--select",
            cfg.analytics_select,
            *(["--exclude", cfg.analytics_exclude] if cfg.analytics_exclude else []),
            "--indirect-selection",
            "cautious",
        ],
        settings,
        work_dir=dbt_work_dir(settings),
        project_dir=project_dir,
    )
    failed = run.failures()
    if failed or not run.ok:
        models = [n for n in failed if n.kind == "model"]
        reach = Reach.DBT_BUILD if models or not failed else Reach.DBT_TEST
        first = (models or failed)[0] if failed else None
        message = (first.message or first.status) if first else run.tail(3)
        what = f"{first.kind} {node_label(first.unique_id)}" if first else "dbt"
        raise _fail(settings, task, interval, reach, f"{what}: {' '.join(str(message).split())[:300]}")
    busy = sum(n.execution_time_s for n in run.nodes)
    detail = f"{len(run.nodes)} nodes passed; dbt {run.wall_s:.1f} s wall, nodes {busy:.1f} s"
    return record(settings, StepOutcome(task_id=task, interval=interval, ok=True, detail=detail))


def node_label(unique_id: str) -> str:
    """`stg_items v1` from `model.starlab.stg_items.v1` (dbt's NodeResult.name is the last part only)."""
    parts = unique_id.split(".")
    if len(parts) >= 4 and parts[0] == "model" and parts[3].startswith("v"):
        return f"{parts[2]} {parts[3]}"
    return parts[2] if len(parts) > 2 else unique_id


# --------------------------------------------------------------------------- report


def report(settings: Settings, interval: date) -> StepOutcome:
    import duckdb

    task = "report"
    cols = ", ".join(SALES_REPORT_COLUMNS)
    try:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    except duckdb.IOException as exc:
        raise ContractsTransientError(f"warehouse not readable: {exc}") from None
    try:
        rows = con.execute(
            f"select {cols} from {SALES_RELATION} where event_date = ? order by category", [interval]
        ).fetchall()
    except duckdb.Error as exc:
        raise _fail(
            settings,
            task,
            interval,
            Reach.CONSUMER,
            f"sales_daily_report: {' '.join(str(exc).split())[:300]}",
        ) from None
    finally:
        con.close()
    data = [
        dict(zip(SALES_REPORT_COLUMNS, (str(v) if v is not None else None for v in r), strict=True))
        for r in rows
    ]
    write_text_atomic(
        interval_dir(settings, interval) / "sales_report.json",
        json.dumps({"interval": interval.isoformat(), "rows": data}, indent=1),
    )
    return record(
        settings, StepOutcome(task_id=task, interval=interval, ok=True, detail=f"{len(data)} report rows")
    )


__all__ = [
    "LANDED_DIR",
    "PINNED_CONSUMER",
    "SALES_REPORT_COLUMNS",
    "STREAM_TASK",
    "LandedRange",
    "StepFailed",
    "StepOutcome",
    "build",
    "check_events",
    "dbt_work_dir",
    "interval_dir",
    "land_events",
    "outcome_path",
    "read_outcome",
    "report",
    "skip_unreadable",
]
