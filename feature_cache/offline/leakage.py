"""The leakage check: recompute, per output row and feature group, whether the chosen version was allowed.

Backs story 4's "point-in-time correctness (0% leakage on 3 labeled
datasets)" and the follow-up "how you validated point-in-time correctness".
It takes any engine's output in one neutral shape (spine_id plus
`<group>__seq`, the history row each cell came from) so starlab's join and
Feast's are judged by the same code. The oracle is the definition written
as plainly as possible, a range join of spine x history with row_number(),
on purpose a different query from the ASOF join it checks.

Per cell (output row x group):
- leak: the chosen version's event_ts > label_ts (future event) or its
  created_ts > label_ts (ingested after the label: a late correction or a
  backfill). A leak is information the model could not have had.
- wrong value, not a leak: the chosen version is older than the TTL, a newer
  eligible version was skipped, the cell is NULL though an eligible version
  existed, or the seq names no version of that user and group.
Rows: spine rows missing from the output, output rows repeated, output rows
with an id not in the spine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import conform_spine, seq_column
from feature_cache.offline.history import HISTORY_TABLE
from feature_cache.offline.schema import FeatureSchema

__all__ = [
    "CaseCheck",
    "GroupCheck",
    "LeakageReport",
    "check_leakage",
    "count_disagreements",
]


@dataclass(frozen=True)
class GroupCheck:
    """Cell counts of one feature group."""

    group: str
    cells: int
    nulls: int
    future_event: int
    late_ingest: int
    leaks: int
    """Cells with a future event or a late ingest (a cell with both counts once)."""
    outside_ttl: int
    skipped_newer: int
    tie_lost: int
    """Of skipped_newer: the chosen version ties with the right one on event_ts but was ingested earlier."""
    false_null: int
    unknown_version: int

    @property
    def wrong_values(self) -> int:
        return self.outside_ttl + self.skipped_newer + self.false_null + self.unknown_version


@dataclass(frozen=True)
class CaseCheck:
    """Counts for the spine rows of one constructed case (the spine's `case` column)."""

    case: str
    spine_rows: int
    missing_rows: int
    leak_cells: int
    wrong_cells: int
    null_cells: int


@dataclass(frozen=True)
class LeakageReport:
    """The check's verdict on one engine's output for one spine."""

    spine_rows: int
    output_rows: int
    missing_rows: int
    """Spine rows absent from the output (dropped)."""
    duplicate_rows: int
    unknown_rows: int
    shared_label_rows: int
    """Spine rows whose (user_id, label_ts) another spine row shares."""
    shared_label_missing: int
    """Of those, rows absent from the output (an engine keyed on (user_id, label_ts) keeps one)."""
    groups: tuple[GroupCheck, ...]
    cases: tuple[CaseCheck, ...]

    @property
    def cells(self) -> int:
        return sum(g.cells for g in self.groups)

    @property
    def leaks(self) -> int:
        return sum(g.leaks for g in self.groups)

    @property
    def late_ingest_leaks(self) -> int:
        return sum(g.late_ingest for g in self.groups)

    @property
    def future_event_leaks(self) -> int:
        return sum(g.future_event for g in self.groups)

    @property
    def wrong_values(self) -> int:
        return sum(g.wrong_values for g in self.groups)

    @property
    def leak_rate(self) -> float:
        """Leaking cells / checked cells (0.0 for an empty output)."""
        return self.leaks / self.cells if self.cells else 0.0

    @property
    def nulls(self) -> dict[str, int]:
        return {g.group: g.nulls for g in self.groups}


def _cells_sql(groups: Sequence[str]) -> str:
    return "\nUNION ALL\n".join(
        f"SELECT spine_id, '{g}' AS feature_group, CAST({seq_column(g)} AS BIGINT) AS chosen FROM _lk_out"
        for g in groups
    )


def check_leakage(
    con: duckdb.DuckDBPyConnection,
    spine: pa.Table,
    output: pa.Table,
    schema: FeatureSchema,
    groups: Sequence[str] | None = None,
    history: str = HISTORY_TABLE,
) -> LeakageReport:
    """Judge `output` (spine_id + `<group>__seq` per group) against the history and the spine."""
    spine_tbl = conform_spine(spine)
    names = list(groups or schema.group_names)
    needed = ["spine_id", *(seq_column(g) for g in names)]
    absent = [c for c in needed if c not in output.column_names]
    if absent:
        raise FeatureCacheError(f"output to check lacks columns {absent}")
    out = output.select(needed)
    if "case" in spine_tbl.column_names:
        spine_cols = spine_tbl.select(["spine_id", "user_id", "label_ts", "case"])
    else:
        spine_cols = spine_tbl.select(["spine_id", "user_id", "label_ts"]).append_column(
            "case", pa.array(["all"] * spine_tbl.num_rows, pa.string())
        )
    ttl = pa.table(
        {"feature_group": names, "ttl_us": [schema.group(g).ttl_us for g in names]},
    )
    sql = f"""
    WITH cells AS ({_cells_sql(names)}),
    joined AS (
      SELECT c.spine_id, c.feature_group, c.chosen, sp.label_ts, sp."case" AS case_name, gt.ttl_us,
             h.event_ts AS ch_event, h.created_ts AS ch_created,
             (c.chosen IS NOT NULL AND h.seq IS NULL) AS unknown_version
      FROM cells c
      JOIN _lk_spine sp ON sp.spine_id = c.spine_id
      JOIN _lk_groups gt ON gt.feature_group = c.feature_group
      LEFT JOIN {history} h
        ON h.seq = c.chosen AND h.user_id = sp.user_id AND h.feature_group = c.feature_group
    ),
    candidates AS (
      SELECT sp.spine_id, gt.feature_group, h.seq,
             row_number() OVER (PARTITION BY sp.spine_id, gt.feature_group
                                ORDER BY h.event_ts DESC, h.created_ts DESC, h.seq DESC) AS rn
      FROM _lk_spine sp
      CROSS JOIN _lk_groups gt
      JOIN {history} h
        ON h.user_id = sp.user_id AND h.feature_group = gt.feature_group
       AND h.event_ts <= sp.label_ts AND h.created_ts <= sp.label_ts
       AND h.event_ts >= sp.label_ts - to_microseconds(gt.ttl_us)
    ),
    expected AS (SELECT spine_id, feature_group, seq FROM candidates WHERE rn = 1),
    classified AS (
      SELECT j.*, e.seq AS expected, he.event_ts AS exp_event,
             coalesce(j.ch_event > j.label_ts, false) AS future_event,
             coalesce(j.ch_created > j.label_ts, false) AS late_ingest
      FROM joined j LEFT JOIN expected e ON e.spine_id = j.spine_id AND e.feature_group = j.feature_group
      LEFT JOIN {history} he ON he.seq = e.seq
    ),
    verdict AS (
      SELECT *, (future_event OR late_ingest) AS leak,
             (NOT (future_event OR late_ingest) AND chosen IS NOT NULL AND NOT unknown_version
              AND ch_event < label_ts - to_microseconds(ttl_us)) AS outside_ttl
      FROM classified
    )
    SELECT feature_group, case_name,
           count(*) AS cells,
           count(*) FILTER (WHERE chosen IS NULL) AS nulls,
           count(*) FILTER (WHERE future_event) AS future_event,
           count(*) FILTER (WHERE late_ingest) AS late_ingest,
           count(*) FILTER (WHERE leak) AS leaks,
           count(*) FILTER (WHERE outside_ttl) AS outside_ttl,
           count(*) FILTER (WHERE NOT leak AND NOT outside_ttl AND chosen IS NOT NULL
                            AND NOT unknown_version AND chosen <> expected) AS skipped_newer,
           count(*) FILTER (WHERE NOT leak AND NOT outside_ttl AND chosen IS NOT NULL
                            AND NOT unknown_version AND chosen <> expected
                            AND ch_event = exp_event) AS tie_lost,
           count(*) FILTER (WHERE chosen IS NULL AND expected IS NOT NULL) AS false_null,
           count(*) FILTER (WHERE unknown_version) AS unknown_version
    FROM verdict GROUP BY ALL ORDER BY ALL
    """
    con.execute("SET TimeZone = 'UTC'")
    con.register("_lk_spine", spine_cols)
    con.register("_lk_out", out)
    con.register("_lk_groups", ttl)
    try:
        rows = con.sql(sql).fetchall()
        row_counts = con.execute(
            """
            SELECT
              (SELECT count(*) FROM _lk_spine WHERE spine_id NOT IN (SELECT spine_id FROM _lk_out)),
              (SELECT count(*) - count(DISTINCT spine_id) FROM _lk_out
                WHERE spine_id IN (SELECT spine_id FROM _lk_spine)),
              (SELECT count(*) FROM _lk_out WHERE spine_id NOT IN (SELECT spine_id FROM _lk_spine)),
              (SELECT count(*) FROM _lk_spine
                WHERE (user_id, label_ts) IN (SELECT (user_id, label_ts) FROM _lk_spine
                                              GROUP BY ALL HAVING count(*) > 1)),
              (SELECT count(*) FROM _lk_spine
                WHERE (user_id, label_ts) IN (SELECT (user_id, label_ts) FROM _lk_spine
                                              GROUP BY ALL HAVING count(*) > 1)
                  AND spine_id NOT IN (SELECT spine_id FROM _lk_out))
            """
        ).fetchall()[0]
        case_rows = con.sql(
            """
            SELECT "case", count(*),
                   count(*) FILTER (WHERE spine_id NOT IN (SELECT spine_id FROM _lk_out))
            FROM _lk_spine GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
    except duckdb.Error as exc:
        raise FeatureCacheError(f"leakage check failed: {exc}") from exc
    finally:
        for view in ("_lk_spine", "_lk_out", "_lk_groups"):
            con.unregister(view)
    per_group: dict[str, list[int]] = {g: [0] * 10 for g in names}
    per_case: dict[str, list[int]] = {}
    for group, case, *counts in rows:
        acc = per_group[group]
        for i, v in enumerate(counts):
            acc[i] += int(v)
        _cells, nulls, _fe, _li, leaks, outside, skipped, _tie, false_null, unknown = (int(v) for v in counts)
        c = per_case.setdefault(case, [0, 0, 0])
        c[0] += leaks
        c[1] += outside + skipped + false_null + unknown
        c[2] += nulls
    return LeakageReport(
        spine_rows=spine_tbl.num_rows,
        output_rows=output.num_rows,
        missing_rows=int(row_counts[0]),
        duplicate_rows=int(row_counts[1]),
        unknown_rows=int(row_counts[2]),
        shared_label_rows=int(row_counts[3]),
        shared_label_missing=int(row_counts[4]),
        groups=tuple(GroupCheck(g, *per_group[g]) for g in names),
        cases=tuple(
            CaseCheck(
                case=str(case),
                spine_rows=int(n),
                missing_rows=int(missing),
                leak_cells=per_case.get(case, [0, 0, 0])[0],
                wrong_cells=per_case.get(case, [0, 0, 0])[1],
                null_cells=per_case.get(case, [0, 0, 0])[2],
            )
            for case, n, missing in case_rows
        ),
    )


def count_disagreements(a: pa.Table, b: pa.Table, groups: Sequence[str]) -> int:
    """Cells (spine row x group) where two outputs chose different versions.

    A spine row present in only one output counts once per group: the other
    engine gave no answer for it at all.
    """

    def index(t: pa.Table) -> dict[int, tuple[int | None, ...]]:
        cols = [t.column("spine_id").to_pylist(), *(t.column(seq_column(g)).to_pylist() for g in groups)]
        return {
            sid: tuple(None if v is None else int(v) for v in vals) for sid, *vals in zip(*cols, strict=True)
        }

    ia, ib = index(a), index(b)
    diff = 0
    for sid in ia.keys() | ib.keys():
        va, vb = ia.get(sid), ib.get(sid)
        if va is None or vb is None:
            diff += len(groups)
        else:
            diff += sum(x != y for x, y in zip(va, vb, strict=True))
    return diff
