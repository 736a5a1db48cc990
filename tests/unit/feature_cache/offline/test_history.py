"""The history writer: append-only, typed, validated, schema grows by addition, throughput measured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feature_cache.errors import FeatureCacheConfigError, FeatureCacheError
from feature_cache.offline.history import HISTORY_TABLE, FeatureVersion, HistoryStore, bench_append
from feature_cache.offline.schema import (
    ACTIVITY,
    DEFAULT_SCHEMA,
    FeatureGroup,
    FeatureSchema,
    FeatureSpec,
    FeatureType,
)

T0 = datetime(2026, 3, 2, 12, 0, 0)


def test_every_version_is_kept_in_write_order(store: HistoryStore) -> None:
    v = FeatureVersion("u1", "activity", T0, T0, {"clicks_5m": 1})
    store.append([v])
    store.append([FeatureVersion("u1", "activity", T0, T0, {"clicks_5m": 2})])  # same key: a new row
    rows = store.con.execute(f"SELECT seq, clicks_5m FROM {HISTORY_TABLE} ORDER BY seq").fetchall()
    assert [r[1] for r in rows] == [1, 2]
    assert rows[0][0] < rows[1][0]


def test_aware_timestamps_are_stored_as_utc_wall_time(store: HistoryStore) -> None:
    cet = datetime(2026, 3, 2, 13, 0, 0, tzinfo=UTC).astimezone(tz=None)
    store.append([FeatureVersion("u1", "activity", cet, cet, {})])
    (row,) = store.con.execute(f"SELECT event_ts FROM {HISTORY_TABLE}").fetchall()
    assert row[0] == datetime(2026, 3, 2, 13, 0, 0)


def test_arrow_batches_may_carry_a_subset_of_features(store: HistoryStore) -> None:
    batch = pa.table(
        {
            "user_id": ["u1", "u2"],
            "feature_group": ["profile", "profile"],
            "event_ts": pa.array([T0, T0], pa.timestamp("ns", tz="UTC")),
            "created_ts": pa.array([T0, T0 + timedelta(seconds=1)], pa.timestamp("us")),
            "country": ["DE", None],
        }
    )
    assert store.append_arrow(batch).rows == 2
    assert store.count("profile") == 2 and store.count("activity") == 0


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (FeatureVersion("u1", "nope", T0, T0, {}), "unknown feature group"),
        (FeatureVersion("u1", "activity", T0, T0, {"country": "DE"}), "not in this group"),
        (FeatureVersion("u1", "activity", T0, T0, {"clicks_5m": "many"}), "declared type"),
    ],
)
def test_bad_versions_are_refused(store: HistoryStore, version: FeatureVersion, message: str) -> None:
    with pytest.raises(FeatureCacheError, match=message):
        store.append([version])
    assert store.count() == 0


def test_arrow_batch_with_nulls_in_keys_or_cross_group_values_is_refused(store: HistoryStore) -> None:
    base = {
        "user_id": ["u1"],
        "feature_group": ["activity"],
        "event_ts": [T0],
        "created_ts": [T0],
    }
    with pytest.raises(FeatureCacheError, match="null 'user_id'"):
        store.append_arrow(pa.table({**base, "user_id": pa.array([None], pa.string())}))
    with pytest.raises(FeatureCacheError, match="another group"):
        store.append_arrow(pa.table({**base, "country": ["DE"]}))
    with pytest.raises(FeatureCacheError, match="unknown columns"):
        store.append_arrow(pa.table({**base, "surprise": [1]}))
    with pytest.raises(FeatureCacheError, match="key column 'created_ts'"):
        store.append_arrow(pa.table({k: v for k, v in base.items() if k != "created_ts"}))


def test_schema_grows_by_adding_columns_and_refuses_type_changes(tmp_path: Path) -> None:
    path = tmp_path / "h.duckdb"
    with HistoryStore.open(path) as s:
        s.append([FeatureVersion("u1", "activity", T0, T0, {"clicks_5m": 1})])
    extra = FeatureGroup("extra", timedelta(hours=1), (FeatureSpec("score", FeatureType.FLOAT64),))
    grown = FeatureSchema(groups=(*DEFAULT_SCHEMA.groups, extra))
    with HistoryStore.open(path, grown) as s:
        s.append([FeatureVersion("u1", "extra", T0, T0, {"score": 0.5})])
        assert s.count() == 2
    retyped = FeatureSchema(
        groups=(FeatureGroup("activity", ACTIVITY.ttl, (FeatureSpec("clicks_5m", FeatureType.STRING),)),)
    )
    with pytest.raises(FeatureCacheConfigError, match="clicks_5m"):
        HistoryStore.open(path, retyped)


def test_schema_rejects_duplicate_features_and_bad_ttl() -> None:
    with pytest.raises(FeatureCacheConfigError, match="unique"):
        FeatureSchema(groups=(ACTIVITY, FeatureGroup("copy", timedelta(hours=1), ACTIVITY.features)))
    with pytest.raises(FeatureCacheConfigError, match="ttl"):
        FeatureGroup("g", timedelta(0), ACTIVITY.features)


def test_export_writes_one_group_with_version_seq(store: HistoryStore, tmp_path: Path) -> None:
    store.append(
        [
            FeatureVersion("u1", "activity", T0, T0, {"clicks_5m": 1}),
            FeatureVersion("u1", "profile", T0, T0, {"country": "DE"}),
        ]
    )
    n = store.export_group_parquet("profile", tmp_path / "p.parquet")
    table = pq.read_table(tmp_path / "p.parquet")
    assert n == 1 and table.num_rows == 1
    assert table.column_names[:4] == ["user_id", "event_ts", "created_ts", "version_seq"]
    assert "clicks_5m" not in table.column_names


def test_bench_append_measures_rows_per_second(tmp_path: Path) -> None:
    b = bench_append(tmp_path / "bench.duckdb", rows=5_000, batch_rows=2_000)
    assert (b.rows, b.batches) == (5_000, 3)
    assert b.rows_per_s > 0 and b.dataclass_rows_per_s > 0
    with duckdb.connect(str(tmp_path / "bench.duckdb"), read_only=True) as con:
        assert (
            con.execute(f"SELECT count(*) FROM {HISTORY_TABLE}").fetchall()[0][0] == 5_000 + b.dataclass_rows
        )
