"""Batch-vs-stream reconciliation and backfill of drifting windows (story 3).

"How to detect and repair drift between batch and stream":

- detect: dbt rebuilds `marts.fct_item_metrics_1m` from the lake (the
  deduplicated events, late ones included) and every (item, minute) window is
  compared with the stream's latest value in the metrics topic. The lake is
  an Iceberg table the stream keeps committing to, so the batch side reads
  one snapshot (the latest, or any kept one: time travel), and the result
  names it: a reconciliation can be repeated exactly. The expected
  cause of drift is events that arrived behind the watermark: the stream
  leaves closed minutes alone, the batch counts them;
- repair: `backfill` replays the windows in [from, to) from that batch table
  into the metrics topic as upserts, in one Kafka transaction. An upsert
  carries the full value for its key, so running a backfill twice leaves the
  same final state (idempotent), and read_committed consumers never see a
  half-applied repair.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
from confluent_kafka import Producer

from starlab.dbt import LAKE_VIEW, run_dbt
from starlab.lake.events import events_state
from starlab.lake.read import pinned_snapshot
from starlab.settings import Settings
from streaming.errors import ReconcileError
from streaming.verify import METRIC_FIELDS, read_metrics

BATCH_TABLE = "marts.fct_item_metrics_1m"


@dataclass
class WindowDrift:
    item_id: str
    window_start_ms: int
    stream: dict[str, int] | None
    batch: dict[str, int] | None

    @property
    def events_diff(self) -> int:
        return (self.batch or {}).get("events", 0) - (self.stream or {}).get("events", 0)


@dataclass
class Reconciliation:
    windows_compared: int
    drifting: list[WindowDrift] = field(default_factory=list)
    batch_late_events: int = 0
    dbt_s: float = 0.0
    lake_snapshot_id: int | None = None
    """The events table's snapshot the batch side was built from."""

    @property
    def drift_windows(self) -> int:
        return len(self.drifting)

    @property
    def drift_events(self) -> int:
        return sum(abs(d.events_diff) for d in self.drifting)

    def drift_span(self) -> tuple[datetime, datetime] | None:
        """[first, last + 1 min) of the drifting windows: what a backfill must cover."""
        if not self.drifting:
            return None
        ms = [d.window_start_ms for d in self.drifting]
        lo = datetime.fromtimestamp(min(ms) / 1000, UTC)
        return lo, datetime.fromtimestamp(max(ms) / 1000, UTC) + timedelta(minutes=1)

    def summary(self, examples: int = 5) -> dict[str, object]:
        return {
            "windows_compared": self.windows_compared,
            "drift_windows": self.drift_windows,
            "drift_events": self.drift_events,
            "batch_late_events": self.batch_late_events,
            "dbt_s": round(self.dbt_s, 1),
            "lake_snapshot_id": self.lake_snapshot_id,
            "examples": [
                {
                    "item_id": d.item_id,
                    "window_start": _iso(d.window_start_ms),
                    "stream": d.stream,
                    "batch": d.batch,
                }
                for d in self.drifting[:examples]
            ],
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def run_dbt_batch(
    settings: Settings, timeout_s: float = 900.0, snapshot_id: int | None = None, full_refresh: bool = False
) -> float:
    """Rebuild the batch metrics (and their tests) with dbt from one snapshot of the lake; returns wall s.

    `cautious`: a test runs only if all its parents are built here, so a
    test of another story's model that also refs stg_items is not.
    """
    run = run_dbt(
        ["build", "--select", "+fct_item_metrics_1m", "stg_items", "--indirect-selection", "cautious"],
        settings,
        work_dir=settings.data_dir.resolve() / "streaming" / "dbt",
        timeout_s=timeout_s,
        lake_snapshot=snapshot_id,
        full_refresh=full_refresh,
    )
    if not run.ok:
        failed = ", ".join(n.name for n in run.failures()) or run.tail(3)
        raise ReconcileError(f"dbt build of {BATCH_TABLE} failed: {failed}")
    return run.wall_s


def read_batch(settings: Settings) -> tuple[dict[tuple[str, int], dict[str, int]], int]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            f"select item_id, epoch_ms(window_start), {', '.join(METRIC_FIELDS)}, late_events "
            f"from {BATCH_TABLE}"
        ).fetchall()
    finally:
        con.close()
    out, late = {}, 0
    for item, start_ms, *vals in rows:
        *metrics, late_n = vals
        out[(item, int(start_ms))] = dict(zip(METRIC_FIELDS, (int(v) for v in metrics), strict=True))
        late += int(late_n)
    return out, late


def reconcile(settings: Settings, run_dbt: bool = True, snapshot_id: int | None = None) -> Reconciliation:
    """Compare the stream with the batch built from the lake at `snapshot_id` (default: the latest).

    Without `run_dbt`, the batch table is the one the last build left, and
    the snapshot is the one that build pinned.
    """
    if run_dbt:
        snapshot_id = events_state(settings, snapshot_id).snapshot_id
        dbt_s = run_dbt_batch(settings, snapshot_id=snapshot_id)
    else:
        dbt_s, snapshot_id = 0.0, pinned_batch_snapshot(settings)
    batch, late = read_batch(settings)
    stream = read_metrics(settings)
    if stream:
        # Compare over the stream's span: older lake history is not its job.
        lo = min(k[1] for k in stream) - 3_600_000
        hi = max(k[1] for k in stream) + 3_600_000
        batch = {k: v for k, v in batch.items() if lo <= k[1] <= hi}
    keys = sorted(batch.keys() | stream.keys())
    result = Reconciliation(
        windows_compared=len(keys), batch_late_events=late, dbt_s=dbt_s, lake_snapshot_id=snapshot_id
    )
    for k in keys:
        if batch.get(k) != stream.get(k):
            result.drifting.append(WindowDrift(k[0], k[1], stream.get(k), batch.get(k)))
    return result


def pinned_batch_snapshot(settings: Settings) -> int | None:
    """The lake snapshot the warehouse's last dbt build read (None if never built)."""
    if not settings.warehouse_path.exists():
        return None
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return pinned_snapshot(con, LAKE_VIEW)
    finally:
        con.close()


@dataclass
class BackfillResult:
    windows: int
    events: int
    seconds: float
    lake_snapshot_id: int | None = None
    """The lake snapshot the repaired values were computed from (also in each repaired record)."""

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def backfill(
    settings: Settings, start: datetime, end: datetime, run_dbt: bool = True, snapshot_id: int | None = None
) -> BackfillResult:
    """Replay batch windows in [start, end) into the metrics topic, transactionally.

    The batch is built from the lake at `snapshot_id` (default: the latest);
    the snapshot goes into the result and into every repaired record, so a
    repair can be traced to the exact table state it came from.
    """
    if end <= start:
        raise ReconcileError(f"--to ({end}) must be after --from ({start})")
    t0 = time.monotonic()
    if run_dbt:
        snapshot_id = events_state(settings, snapshot_id).snapshot_id
        run_dbt_batch(settings, snapshot_id=snapshot_id)
    else:
        snapshot_id = pinned_batch_snapshot(settings)
    batch, _ = read_batch(settings)
    lo, hi = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    todo = {k: v for k, v in batch.items() if lo <= k[1] < hi}
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "transactional.id": f"starlab-backfill-{settings.metrics_topic}",
            "enable.idempotence": True,
        }
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    try:
        for (item, start_ms), metrics in sorted(todo.items()):
            ws = _iso(start_ms)
            # Byte-identical to the key Flink's upsert sink writes, so the
            # repair replaces the stream's row instead of adding a second one.
            key = json.dumps({"item_id": item, "window_start": ws}, separators=(",", ":"))
            value = {
                "item_id": item,
                "window_start": ws,
                "window_end": _iso(start_ms + 60_000),
                **metrics,
                "repaired_by": "backfill",
                "repaired_from_snapshot": snapshot_id,
            }
            producer.produce(
                settings.metrics_topic,
                key=key.encode(),
                value=json.dumps(value, separators=(",", ":")).encode(),
            )
            producer.poll(0)
        producer.commit_transaction(60)
    except Exception:
        producer.abort_transaction(30)
        raise
    return BackfillResult(
        windows=len(todo),
        events=sum(v["events"] for v in todo.values()),
        seconds=time.monotonic() - t0,
        lake_snapshot_id=snapshot_id,
    )
