"""The leakage check finds what a wrong join does: it must fail a leaky join, not only pass a correct one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import SpineRow, build_training_set, spine_to_arrow
from feature_cache.offline.history import HISTORY_TABLE, HistoryStore
from feature_cache.offline.leakage import check_leakage, count_disagreements
from feature_cache.offline.schema import ACTIVITY, DEFAULT_SCHEMA

T0 = datetime(2026, 3, 2, 12, 0, 0)
S = timedelta(seconds=1)
M = timedelta(minutes=1)


@pytest.fixture
def history(store: HistoryStore, add: Callable[..., None]) -> HistoryStore:
    """seq 1..5 of user u1 (activity) and seq 6 (profile)."""
    add("u1", "activity", T0, T0 + S, clicks_5m=1)  # seq 1
    add("u1", "activity", T0, T0 + 5 * M, clicks_5m=2)  # seq 2: late correction of seq 1
    add("u1", "activity", T0 + 2 * M, T0 + 2 * M, clicks_5m=3)  # seq 3
    add("u1", "activity", T0 + 30 * M, T0 + 30 * M, clicks_5m=4)  # seq 4: after a long pause
    add("u1", "activity", T0 + 3 * M, T0 + 3 * M + S, clicks_5m=5)  # seq 5
    add("u1", "profile", T0 - M, T0 - M, country="DE")  # seq 6
    return store


def spine() -> pa.Table:
    rows = [
        SpineRow(1, "u1", T0 + M, 1),  # right: seq 1 (the correction, seq 2, is created at T0+5m)
        SpineRow(2, "u1", T0 + 6 * M, 0),  # right: seq 5 (event T0+3m)
        SpineRow(3, "u1", T0 + 20 * M, 1),  # right: activity NULL (seq 5 is 17 minutes old)
        SpineRow(4, "u2", T0, 0),  # no history
        SpineRow(5, "u1", T0 + 2 * M + 30 * S, 1),  # right: seq 3; seq 2 is not known yet
    ]
    t = spine_to_arrow(rows)
    return t.append_column("case", pa.array(["corr", "plain", "ttl", "none", "corr"]))


def output(spine_ids: list[int], activity: list[int | None], profile: list[int | None]) -> pa.Table:
    return pa.table(
        {
            "spine_id": pa.array(spine_ids, pa.int64()),
            "activity__seq": pa.array(activity, pa.int64()),
            "profile__seq": pa.array(profile, pa.int64()),
        }
    )


def test_starlab_join_has_no_leaks_and_no_wrong_values(history: HistoryStore) -> None:
    sp = spine()
    ts = build_training_set(history.con, sp, DEFAULT_SCHEMA)
    assert ts.table.column("activity__seq").to_pylist() == [1, 5, None, None, 3]
    rep = check_leakage(history.con, sp, ts.table, DEFAULT_SCHEMA)
    assert (rep.leaks, rep.wrong_values, rep.missing_rows, rep.duplicate_rows) == (0, 0, 0, 0)
    assert rep.cells == 10
    assert rep.nulls == {"activity": 2, "profile": 1}
    assert rep.leak_rate == 0.0


def test_a_join_that_ignores_created_ts_is_caught_leaking(history: HistoryStore) -> None:
    # The classic mistake: ASOF on event time only, ties broken by ingest time.
    # At T0+1m it returns the correction created at T0+5m.
    sp = spine()
    history.con.register("sp", sp)
    leaky = history.con.sql(
        f"""
        SELECT sp.spine_id, a.seq AS activity__seq, p.seq AS profile__seq
        FROM sp
        ASOF LEFT JOIN (SELECT * FROM {HISTORY_TABLE} WHERE feature_group = 'activity'
                        QUALIFY row_number() OVER (PARTITION BY user_id, event_ts
                                                   ORDER BY created_ts DESC) = 1) a
          ON sp.user_id = a.user_id AND sp.label_ts >= a.event_ts
        ASOF LEFT JOIN (SELECT * FROM {HISTORY_TABLE} WHERE feature_group = 'profile') p
          ON sp.user_id = p.user_id AND sp.label_ts >= p.event_ts
        ORDER BY sp.spine_id
        """
    ).to_arrow_table()
    assert leaky.column("activity__seq").to_pylist() == [2, 5, 5, None, 3]
    rep = check_leakage(history.con, sp, leaky, DEFAULT_SCHEMA)
    assert rep.leaks == 1  # spine row 1
    assert rep.late_ingest_leaks == 1 and rep.future_event_leaks == 0
    assert rep.groups[0].outside_ttl == 1  # spine row 3: no TTL in the leaky join
    assert {c.case: c.leak_cells for c in rep.cases} == {"corr": 1, "none": 0, "plain": 0, "ttl": 0}


def test_every_kind_of_wrong_cell_is_classified(history: HistoryStore) -> None:
    sp = spine()
    bad = output(
        [1, 2, 3, 4, 5],
        [4, 3, 5, 1, None],  # future event; skipped seq 5; outside TTL; other user's seq; false NULL
        [6, 6, 6, None, 6],
    )
    rep = check_leakage(history.con, sp, bad, DEFAULT_SCHEMA)
    act = rep.groups[0]
    assert (act.future_event, act.late_ingest, act.leaks) == (1, 1, 1)  # seq 4: event and created later
    assert (act.skipped_newer, act.outside_ttl, act.unknown_version, act.false_null) == (1, 1, 1, 1)
    assert act.tie_lost == 0
    assert rep.wrong_values == 4
    assert rep.groups[1].leaks == rep.groups[1].wrong_values == 0


def test_a_lost_event_ts_tie_is_a_wrong_value_not_a_leak(
    store: HistoryStore, add: Callable[..., None]
) -> None:
    add("u9", "activity", T0, T0 + S, clicks_5m=1)  # seq 1
    add("u9", "activity", T0, T0 + 2 * S, clicks_5m=2)  # seq 2: same event, ingested later
    sp = spine_to_arrow([SpineRow(1, "u9", T0 + M, 0)])  # both known
    rep = check_leakage(store.con, sp, output([1], [1], [None]), DEFAULT_SCHEMA)
    assert rep.leaks == 0
    assert rep.groups[0].skipped_newer == rep.groups[0].tie_lost == 1
    ok = check_leakage(store.con, sp, output([1], [2], [None]), DEFAULT_SCHEMA)
    assert ok.wrong_values == 0


def test_dropped_repeated_and_foreign_rows_are_counted(history: HistoryStore) -> None:
    sp = spine_to_arrow(
        [
            SpineRow(1, "u1", T0 + M, 1),
            SpineRow(2, "u1", T0 + M, 0),  # same user and instant as row 1
            SpineRow(3, "u2", T0, 0),
        ]
    )
    out = output([1, 1, 99], [1, 1, None], [6, 6, None])
    rep = check_leakage(history.con, sp, out, DEFAULT_SCHEMA)
    assert rep.missing_rows == 2  # rows 2 and 3
    assert rep.duplicate_rows == 1  # row 1 twice
    assert rep.unknown_rows == 1  # spine_id 99
    assert (rep.shared_label_rows, rep.shared_label_missing) == (2, 1)
    assert rep.output_rows == 3


def test_output_without_seq_columns_is_refused(history: HistoryStore) -> None:
    with pytest.raises(FeatureCacheError, match="lacks columns"):
        check_leakage(history.con, spine(), pa.table({"spine_id": [1]}), DEFAULT_SCHEMA)


def test_disagreements_count_cells_and_missing_rows() -> None:
    a = output([1, 2, 3], [1, 2, None], [6, 6, 6])
    b = output([1, 2], [1, 3, None][:2], [6, None])
    # row 2 differs in both groups, row 3 is missing from b (2 cells)
    assert count_disagreements(a, b, ["activity", "profile"]) == 4
    assert count_disagreements(a, a, ["activity", "profile"]) == 0


def test_ttl_of_the_check_is_the_groups_ttl(history: HistoryStore) -> None:
    # seq 5 (event T0+3m) chosen exactly at its TTL edge is right; 1 us later it is outside.
    edge = T0 + 3 * M + ACTIVITY.ttl
    sp = spine_to_arrow([SpineRow(1, "u1", edge, 0), SpineRow(2, "u1", edge + timedelta(microseconds=1), 0)])
    rep = check_leakage(history.con, sp, output([1, 2], [5, 5], [6, 6]), DEFAULT_SCHEMA)
    assert rep.groups[0].outside_ttl == 1
    assert rep.wrong_values == 1
