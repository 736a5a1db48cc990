"""Feast 0.67 in its own venv against starlab's as-of join on the 3 labeled datasets (story 4's PIT claim).

Builds `<home>/venvs/feast` from the locked requirements when missing (uv;
a minute from a warm cache), exports the datasets to Parquet, runs Feast's
file (dask) offline store default and with `filter_by_created_timestamp`,
and judges all three outputs with the same leakage check. What the asserts
encode was observed on this data and is explained by Feast's source
(feast/infra/offline_stores/dask.py, 0.67.0):

- Default Feast leaks on every dataset, and every leak is a late ingest
  (created_ts after the label), never a future event_ts: `_filter_ttl`
  filters on the event timestamp only, and `_drop_duplicates` keeps the
  newest event_ts. Late corrections and the seconds between an event and
  its ingest both leak (cases late_correction, just_before_known, ...).
- With `filter_by_created_timestamp=True`, `_apply_created_timestamp_cutoff`
  masks versions created after the label: 0 leaks.
- Both runs drop spine rows whose user has history but nothing inside the
  TTL window (ttl_beyond, before_first_version: all of them), and keep one
  row per (user_id, event_timestamp) (drop_duplicates), so output rows <
  spine rows. starlab keeps every row.
- Feast's non-leaking wrong values are all lost event_ts ties: it sorts by
  created_ts, then again by event_ts and keeps the last row, which needs a
  stable second sort; pandas' default quicksort is not stable.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from feature_cache.offline.datasets import DATASETS
from feature_cache.offline.feast_compare import Engine, default_feast_venv, ensure_feast_venv
from feature_cache.offline.pit import EngineResult, PitReport, run_pit
from starlab.settings import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def venv() -> Path:
    venv = default_feast_venv(get_settings().home)
    ensure_feast_venv(venv)
    return venv


@pytest.fixture(scope="module")
def report(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> PitReport:
    return run_pit(tmp_path_factory.mktemp("pit"), feast=True, feast_venv=venv, backfill_rows=0)


def runs(report: PitReport, engine: Engine) -> list[EngineResult]:
    out = [e for d in report.datasets for e in d.engines if e.engine == engine]
    assert len(out) == 3, f"{engine} did not run on all 3 datasets: {report.feast_note}"
    return out


def cases(e: EngineResult) -> dict[str, tuple[int, int, int]]:
    """case -> (spine rows, missing rows, leak cells)."""
    return {c.case: (c.spine_rows, c.missing_rows, c.leak_cells) for c in e.cases}


def test_feast_facts_were_read_from_the_installed_package(report: PitReport) -> None:
    assert report.feast is not None, report.feast_note
    assert report.feast.feast_version == "0.67.0"
    assert report.feast.param_name == "filter_by_created_timestamp"
    assert report.feast.param_in_signature and report.feast.param_default == "False"
    assert report.feast.dask_store_supports_param


def test_starlab_keeps_every_row_and_leaks_nothing(report: PitReport) -> None:
    for e in runs(report, Engine.STARLAB):
        assert e.output_rows == e.spine_rows
        assert (e.leaks, e.wrong_values, e.missing_rows, e.value_errors) == (0, 0, 0, 0)


def test_feast_default_leaks_late_ingests_on_every_dataset(report: PitReport) -> None:
    for e in runs(report, Engine.FEAST_DEFAULT):
        assert e.leaks > 0
        assert e.late_ingest_leaks == e.leaks and e.future_event_leaks == 0
        # the story's case: a late event leaks into an earlier label
        assert cases(e)["late_correction"][2] > 0
        assert e.value_errors == 0  # the values returned do belong to the version it chose
        assert e.disagreements_vs_starlab > 0


def test_feast_created_filter_removes_the_leak(report: PitReport) -> None:
    for e in runs(report, Engine.FEAST_CREATED):
        assert e.leaks == 0
        assert e.value_errors == 0


@pytest.mark.parametrize("engine", [Engine.FEAST_DEFAULT, Engine.FEAST_CREATED])
def test_feast_drops_rows_with_nothing_in_the_ttl_and_repeated_label_times(
    report: PitReport, engine: Engine
) -> None:
    for e in runs(report, engine):
        c = cases(e)
        assert e.output_rows < e.spine_rows
        assert e.missing_rows == e.spine_rows - e.output_rows
        assert c["ttl_beyond"][1] == c["ttl_beyond"][0]  # every one dropped
        assert c["before_first_version"][1] == c["before_first_version"][0]
        assert c["no_history"][1] == 0  # no history at all: kept, with NULLs
        assert e.shared_label_missing > 0  # one row per (user_id, event_timestamp)


@pytest.mark.parametrize("engine", [Engine.FEAST_DEFAULT, Engine.FEAST_CREATED])
def test_feast_wrong_values_are_lost_event_ts_ties(report: PitReport, engine: Engine) -> None:
    for e in runs(report, engine):
        assert e.wrong_values == e.skipped_newer == e.tie_lost
        assert e.outside_ttl == e.false_null == 0


def test_online_read_feast_vs_hmget_on_a_private_redis(venv: Path, tmp_path: Path) -> None:
    r = run_pit(
        tmp_path,
        feast=False,
        feast_venv=venv,
        online_bench=True,
        online_calls=500,
        backfill_rows=0,
        specs=[DATASETS[1]],
    )
    assert r.online is not None, r.online_note
    o = r.online
    assert o.features == 10 and o.feast_missing == ()
    assert o.feast.calls == o.redis_hmget.calls == 500
    # Feast builds protobuf entity keys and a response object per call; HMGET is one round trip.
    assert o.feast.p50_us > o.redis_hmget.p50_us
    assert o.redis_port not in (6379, 6380)
