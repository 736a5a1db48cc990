"""Feast's side without Feast: exports, the read-back of its output, value checks, the private port."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.asof import SpineRow, spine_to_arrow
from feature_cache.offline.feast_compare import (
    FEAST_JOB,
    FEAST_REQUIREMENTS,
    RESERVED_PORTS,
    Engine,
    FeastRun,
    _free_port,
    export_dataset,
    load_feast_output,
    value_errors,
)
from feature_cache.offline.history import HistoryStore
from feature_cache.offline.schema import DEFAULT_SCHEMA

T0 = datetime(2026, 3, 2, 12, 0, 0)


def test_requirements_pin_feast_and_the_job_imports_no_starlab() -> None:
    assert "feast==0.67.0" in FEAST_REQUIREMENTS.read_text()
    assert "feast[redis]==0.67.0" in FEAST_REQUIREMENTS.with_suffix(".in").read_text()
    job = FEAST_JOB.read_text()
    assert "import starlab" not in job and "from starlab" not in job and "from feature_cache" not in job


def test_export_writes_spine_and_one_parquet_per_group(
    store: HistoryStore, add: Callable[..., None], tmp_path: Path
) -> None:
    add("u1", "activity", T0, T0, clicks_5m=1)
    add("u1", "profile", T0, T0, country="DE")
    exp = export_dataset(store, spine_to_arrow([SpineRow(1, "u1", T0, 0)]), "d", tmp_path)
    assert set(exp.group_parquets) == {"activity", "profile"}
    assert pq.read_table(exp.group_parquets["profile"]).column("country").to_pylist() == ["DE"]
    assert pq.read_table(exp.spine_parquet).num_rows == 1


def feast_like(tmp_path: Path, clicks: list[float | None]) -> FeastRun:
    # What Feast's to_df() gives back: nullable ints as float64, full feature names.
    t = pa.table(
        {
            "spine_id": pa.array([1, 2], pa.int64()),
            "activity__version_seq": pa.array([1.0, None], pa.float64()),
            "activity__clicks_5m": pa.array(clicks, pa.float64()),
            "profile__version_seq": pa.array([2.0, 2.0], pa.float64()),
            "profile__country": ["DE", "DE"],
        }
    )
    path = tmp_path / "feast.parquet"
    pq.write_table(t, path)
    return FeastRun("d", Engine.FEAST_DEFAULT, 2, 0.1, str(path), None)


def test_feast_output_is_read_back_in_the_neutral_shape(tmp_path: Path) -> None:
    out = load_feast_output(feast_like(tmp_path, [1.0, None]), ["activity", "profile"])
    assert out.column("activity__seq").type == pa.int64()
    assert out.column("activity__seq").to_pylist() == [1, None]
    with pytest.raises(FeatureCacheError, match="no output"):
        load_feast_output(FeastRun("d", Engine.FEAST_CREATED, 0, 0.0, None, "boom"), ["activity"])


def test_value_errors_find_values_that_do_not_belong_to_the_chosen_version(
    store: HistoryStore, add: Callable[..., None], tmp_path: Path
) -> None:
    add("u1", "activity", T0, T0, clicks_5m=1)  # seq 1
    add("u1", "profile", T0 - timedelta(hours=1), T0, country="DE")  # seq 2
    good = load_feast_output(feast_like(tmp_path, [1.0, None]), ["activity", "profile"])
    assert value_errors(store.con, good, DEFAULT_SCHEMA) == 0
    bad = load_feast_output(feast_like(tmp_path, [7.0, 3.0]), ["activity", "profile"])
    assert value_errors(store.con, bad, DEFAULT_SCHEMA) == 2  # wrong value; value on a NULL row


def test_private_redis_port_is_never_a_stack_port() -> None:
    for _ in range(20):
        port = _free_port()
        assert port not in RESERVED_PORTS and port > 1024
    assert {6379, 6380} <= RESERVED_PORTS
