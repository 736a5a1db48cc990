"""`starlab stream verify`: every output of the job against the generator's ground truth.

Backs story 3's "event loss 0.03%", "exactly-once" and "dedup on event_id":
the lake's Iceberg table, read at its latest snapshot, must hold each unique
valid event exactly once (late ones too), the
late-events topic exactly the events the generator sent behind the
watermark, and each per-minute metric must equal an exact recomputation from
the regenerated events (the generator is seeded, so its manifest config
reproduces every event). Outputs are read with read_committed: only what a
checkpoint committed counts.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC

import duckdb

from starlab.events.generator import Generator, GeneratorConfig, Manifest
from starlab.kafka_io import read_all
from starlab.lake.events import events_sql
from starlab.lake.read import TableState
from starlab.metrics import duplicate_rate, event_loss_rate
from starlab.settings import Settings

METRIC_FIELDS = ("events", "impressions", "clicks", "likes", "shares", "users")
MINUTE_MS = 60_000


@dataclass
class VerifyReport:
    expected_unique: int
    lake_rows: int
    lake_distinct: int
    lost: int
    unexpected: int
    expected_late: int
    late_captured: int
    late_distinct: int
    late_missing: int
    late_unexpected: int
    metric_keys_expected: int
    metric_keys_found: int
    metric_mismatches: int
    lake_snapshot_id: int | None = None
    """The events table's snapshot the lake counts were read at."""
    lake_snapshots: int = 0
    """Snapshots the table keeps: one per checkpoint that committed data files."""
    lake_files: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def duplicated(self) -> int:
        return self.lake_rows - self.lake_distinct + self.late_captured - self.late_distinct

    @property
    def loss_rate(self) -> float:
        return event_loss_rate(self.expected_unique, self.expected_unique - self.lost)

    @property
    def duplicate_rate(self) -> float:
        return duplicate_rate(self.lake_rows, self.lake_distinct) if self.lake_rows else 0.0

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.unexpected == 0
            and self.duplicated == 0
            and self.late_missing == 0
            and self.late_unexpected == 0
            and self.metric_mismatches == 0
            and self.metric_keys_found == self.metric_keys_expected
        )

    def to_dict(self) -> dict[str, object]:
        d = dict(self.__dict__)
        d.update(
            duplicated=self.duplicated,
            loss_rate=self.loss_rate,
            duplicate_rate=self.duplicate_rate,
            ok=self.ok,
        )
        return d


def expected_metrics(manifest: Manifest) -> dict[tuple[str, int], dict[str, int]]:
    """Per (item, minute start ms): the counts an exact batch computation gives."""
    late = set(manifest.late_ids)
    acc: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    users: dict[tuple[str, int], set[str]] = defaultdict(set)
    gen = Generator(GeneratorConfig(**manifest.config))  # type: ignore[arg-type]
    for emission in gen.emissions():
        ev = emission.event
        if emission.kind != "valid" or ev is None or ev.event_id in late:
            continue  # duplicates carry the same payload; keep-first counts one
        key = (ev.item_id, ev.event_ts // MINUTE_MS * MINUTE_MS)
        c = acc[key]
        c["events"] += 1
        c[
            {"impression": "impressions", "click": "clicks", "like": "likes", "share": "shares"}[
                ev.event_type
            ]
        ] += 1
        users[key].add(ev.user_id)
    out = {}
    for key, c in acc.items():
        out[key] = {f: c[f] for f in METRIC_FIELDS if f != "users"}
        out[key]["users"] = len(users[key])
    return out


def _minute_ms(iso: str) -> int:
    # Flink writes TIMESTAMP(3) as ISO-8601 without a zone; the job runs in UTC.
    from datetime import datetime

    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


def read_metrics(settings: Settings) -> dict[tuple[str, int], dict[str, int]]:
    """The upsert topic folded to its latest value per key (what a compacted read sees)."""
    latest: dict[bytes | None, dict[str, str | int] | None] = {}
    for msg in read_all(settings, settings.metrics_topic):
        value = msg.value()
        latest[msg.key()] = json.loads(value) if value else None
    out = {}
    for row in latest.values():
        if row is None:
            continue
        out[(str(row["item_id"]), _minute_ms(str(row["window_start"])))] = {
            f: int(row[f]) for f in METRIC_FIELDS
        }
    return out


def lake_ids(settings: Settings, snapshot_id: int | None = None) -> tuple[int, Counter[str], TableState]:
    """Event ids in the events table at a snapshot (default: the latest), with their counts."""
    sql, state = events_sql(settings, snapshot_id)
    rows = duckdb.execute(f"select event_id from ({sql})").fetchall()
    return len(rows), Counter(r[0] for r in rows), state


def verify(settings: Settings, manifest: Manifest, snapshot_id: int | None = None) -> VerifyReport:
    lake_rows, lake_counts, lake = lake_ids(settings, snapshot_id)
    expected = set(manifest.unique_ids)
    late_counts: Counter[str] = Counter(
        json.loads(m.value() or b"{}")["event_id"] for m in read_all(settings, settings.late_topic)
    )
    expected_late = set(manifest.late_ids)
    want = expected_metrics(manifest)
    got = read_metrics(settings)
    mismatches = [k for k in want if got.get(k) != want[k]] + [k for k in got if k not in want]
    report = VerifyReport(
        expected_unique=len(expected),
        lake_rows=lake_rows,
        lake_distinct=len(lake_counts),
        lost=len(expected - lake_counts.keys()),
        unexpected=len(lake_counts.keys() - expected),
        expected_late=len(expected_late),
        late_captured=sum(late_counts.values()),
        late_distinct=len(late_counts),
        late_missing=len(expected_late - late_counts.keys()),
        late_unexpected=len(late_counts.keys() - expected_late),
        metric_keys_expected=len(want),
        metric_keys_found=len(got),
        metric_mismatches=len(mismatches),
        lake_snapshot_id=lake.snapshot_id,
        lake_snapshots=lake.snapshots,
        lake_files=lake.file_count,
    )
    for k in mismatches[:5]:
        report.examples.append(f"{k}: expected {want.get(k)} got {got.get(k)}")
    return report
