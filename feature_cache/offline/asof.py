"""Point-in-time training sets: an as-of join of a label spine onto the feature history.

Backs story 4's "point-in-time correctness (0% leakage on 3 labeled
datasets)". For each spine row (user_id, label_ts, label) and each feature
group, the join takes the version with the greatest (event_ts, created_ts,
seq) among those with event_ts <= label_ts AND created_ts <= label_ts, i.e.
what the system knew at the label time; a late correction (old event_ts,
created after the label) stays out of earlier labels. A version whose
event_ts is older than label_ts - ttl counts as missing (exactly ttl is
kept, as in Feast). Every spine row is kept: output rows == spine rows,
missing groups are NULL and counted.

How: a version becomes known at known_ts = max(event_ts, created_ts). The
best known version of a user only changes at those instants, so a running
max over versions ordered by known_ts gives a step function of "best
version known so far", and DuckDB's ASOF LEFT JOIN reads that step function
at each label_ts. That costs sorts of the history plus one ASOF probe per
spine row, instead of the spine x versions range join that the leakage
check (leakage.py) deliberately uses as an independent oracle. Measured on
2 shared, loaded cores: 1M versions x 100k spine rows in about 5 s.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.history import HISTORY_TABLE, to_utc_naive
from feature_cache.offline.schema import FeatureGroup, FeatureSchema

__all__ = [
    "SPINE_SCHEMA",
    "SpineRow",
    "TrainingSet",
    "build_training_set",
    "conform_spine",
    "seq_column",
    "spine_to_arrow",
]

SPINE_SCHEMA = pa.schema(
    [
        ("spine_id", pa.int64()),
        ("user_id", pa.string()),
        ("label_ts", pa.timestamp("us")),
        ("label", pa.int64()),
    ]
)
"""Required spine columns; extra columns (e.g. `case`) pass through to the output."""


@dataclass(frozen=True)
class SpineRow:
    """One labeled example: the entity, the instant the label refers to, the label."""

    spine_id: int
    user_id: str
    label_ts: datetime
    label: int


@dataclass(frozen=True, eq=False)
class TrainingSet:
    """The joined table and what the claim needs to read off it."""

    table: pa.Table
    """Spine columns, then per group `<g>__seq`, `<g>__event_ts`, `<g>__created_ts`, `<g>__<feature>`."""
    spine_rows: int
    output_rows: int
    nulls: dict[str, int]
    """Spine rows per group with no version within the TTL known at label time."""
    seconds: float
    groups: tuple[str, ...] = field(default=())


def seq_column(group: str) -> str:
    """Output column naming the history row (seq) chosen for `group`; NULL when missing."""
    return f"{group}__seq"


def spine_to_arrow(rows: Sequence[SpineRow]) -> pa.Table:
    return pa.table(
        {
            "spine_id": [r.spine_id for r in rows],
            "user_id": [r.user_id for r in rows],
            "label_ts": [to_utc_naive(r.label_ts) for r in rows],
            "label": [r.label for r in rows],
        },
        schema=SPINE_SCHEMA,
    )


def conform_spine(spine: pa.Table | Sequence[SpineRow]) -> pa.Table:
    """The spine as Arrow with the required columns typed; refuses ids that are null or repeated."""
    table = spine if isinstance(spine, pa.Table) else spine_to_arrow(spine)
    missing = [f.name for f in SPINE_SCHEMA if f.name not in table.column_names]
    if missing:
        raise FeatureCacheError(f"spine lacks columns {missing}")
    for f in SPINE_SCHEMA:
        col = table.column(f.name)
        if col.null_count:
            raise FeatureCacheError(f"spine has {col.null_count} null {f.name!r} values")
        try:
            table = table.set_column(
                table.schema.get_field_index(f.name),
                f.name,
                col.cast(f.type, safe=f.type != pa.timestamp("us")),
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise FeatureCacheError(f"spine column {f.name!r}: {exc}") from exc
    # spine_id identifies a row across engines and in the leakage check.
    if pc.count_distinct(table.column("spine_id")).as_py() != table.num_rows:
        raise FeatureCacheError("spine_id must be unique: it is how output rows are matched to labels")
    return table


def _group_ctes(g: FeatureGroup, history: str) -> str:
    feats = ", ".join(g.feature_names)
    hfeats = ", ".join(f"h.{c}" for c in g.feature_names)
    n = g.name
    # g: one global rank in (user_id, event_ts, created_ts, seq) order, so "the
    # best version of a user" is a plain max() over one BIGINT and is fetched
    # back with an integer join (joining on (user_id, rank) cost 5x more).
    # GROUP BY known_ts gives one state per instant: ASOF must not choose
    # between peers that became known at the same microsecond.
    return f"""
    {n}_h AS (
      SELECT seq, user_id, event_ts, created_ts, greatest(event_ts, created_ts) AS known_ts, {feats},
             row_number() OVER (ORDER BY user_id, event_ts, created_ts, seq) AS g
      FROM {history}
      WHERE feature_group = '{n}' AND user_id IN (SELECT user_id FROM _pit_spine)
    ),
    {n}_state AS (
      SELECT user_id, known_ts,
             max(max(g)) OVER (PARTITION BY user_id ORDER BY known_ts
                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS best
      FROM {n}_h GROUP BY user_id, known_ts
    ),
    {n}_pick AS (
      SELECT sp.spine_id, h.seq, h.event_ts, h.created_ts, {hfeats},
             h.event_ts >= sp.label_ts - to_microseconds({g.ttl_us}) AS in_ttl
      FROM _pit_spine sp
      ASOF LEFT JOIN {n}_state s ON sp.user_id = s.user_id AND sp.label_ts >= s.known_ts
      LEFT JOIN {n}_h h ON h.g = s.best
    )"""


def build_training_set(
    con: duckdb.DuckDBPyConnection,
    spine: pa.Table | Sequence[SpineRow],
    schema: FeatureSchema,
    groups: Sequence[str] | None = None,
    history: str = HISTORY_TABLE,
) -> TrainingSet:
    """Join every spine row to the latest version per group known at its label time."""
    spine_tbl = conform_spine(spine)
    chosen = [schema.group(g) for g in (groups or schema.group_names)]
    con.execute("SET TimeZone = 'UTC'")
    ctes = ",".join(_group_ctes(g, history) for g in chosen)
    select = ["sp.*"]
    joins = []
    for g in chosen:
        n = g.name
        for c in ("seq", "event_ts", "created_ts", *g.feature_names):
            select.append(f"CASE WHEN {n}_p.in_ttl THEN {n}_p.{c} END AS {n}__{c}")
        joins.append(f"LEFT JOIN {n}_pick {n}_p ON {n}_p.spine_id = sp.spine_id")
    sql = (
        f"WITH {ctes}\nSELECT {', '.join(select)}\nFROM _pit_spine sp\n"
        f"{' '.join(joins)}\nORDER BY sp.spine_id"
    )
    t0 = time.perf_counter()
    con.register("_pit_spine", spine_tbl)
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise FeatureCacheError(f"as-of join failed: {exc}") from exc
    finally:
        con.unregister("_pit_spine")
    seconds = time.perf_counter() - t0
    nulls = {g.name: table.column(seq_column(g.name)).null_count for g in chosen}
    if table.num_rows != spine_tbl.num_rows:
        # The join is built to keep every row; a difference is a bug, not a result.
        raise FeatureCacheError(
            f"as-of join returned {table.num_rows} rows for {spine_tbl.num_rows} spine rows"
        )
    return TrainingSet(
        table=table,
        spine_rows=spine_tbl.num_rows,
        output_rows=table.num_rows,
        nulls=nulls,
        seconds=round(seconds, 4),
        groups=tuple(g.name for g in chosen),
    )
