"""File outputs of the generator: the raw edge log, events as Arrow, dimensions.

Layout under `<data_dir>` (dbt's sources read the lake part):

    raw/<run>/events.jsonl           every emission, malformed ones included
    raw/<run>/manifest.json          the ground truth
    lake/dims/items.parquet, lake/dims/users.parquet

The events themselves go to the lake's Iceberg table (`starlab.lake.events`:
`write_lake_events`, `generate_to_files`).

The lake holds what the edge accepted (duplicates included, as a collector
writing at-least-once would); staging in dbt deduplicates on event_id.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from starlab.events.generator import Emission, Item, User
from starlab.events.model import Event

EVENT_ARROW_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("event_type", pa.string()),
        ("event_ts", pa.timestamp("ms", tz="UTC")),
        ("ingest_ts", pa.timestamp("ms", tz="UTC")),
        ("platform", pa.string()),
        ("session_id", pa.string()),
        ("dwell_ms", pa.int32()),
    ]
)
"""Lake columns; the Flink lake sink writes the same names and types."""


def write_jsonl(emissions: Iterable[Emission], path: Path) -> int:
    """Write the raw edge log, one record per line; returns lines written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("wb") as fh:
        for e in emissions:
            fh.write(e.raw.replace(b"\n", b" ") + b"\n")
            n += 1
    return n


def events_table(events: Iterable[Event]) -> pa.Table:
    cols: dict[str, list[object]] = {name: [] for name in EVENT_ARROW_SCHEMA.names}
    for ev in events:
        for name, value in ev.to_record().items():
            cols[name].append(value)
    return pa.Table.from_pydict(cols, schema=EVENT_ARROW_SCHEMA)


def write_dimensions(items: list[Item], users: list[User], lake_dir: Path) -> None:
    dims = lake_dir / "dims"
    dims.mkdir(parents=True, exist_ok=True)
    ts = pa.timestamp("ms", tz="UTC")
    pq.write_table(
        pa.table(
            {
                "item_id": [i.item_id for i in items],
                "category": [i.category for i in items],
                "created_at": pa.array([i.created_at_ms for i in items], type=pa.int64()).cast(ts),
            }
        ),
        dims / "items.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "user_id": [u.user_id for u in users],
                "country": [u.country for u in users],
                "signup_at": pa.array([u.signup_at_ms for u in users], type=pa.int64()).cast(ts),
                "home_platform": [u.home_platform for u in users],
            }
        ),
        dims / "users.parquet",
    )
