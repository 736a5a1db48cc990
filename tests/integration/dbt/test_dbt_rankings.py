"""Story 2's dbt pipeline on a generated lake: build, late data, full refresh, DQ gate.

Runs the real dbt CLI (dbt-core + dbt-duckdb) in subprocesses against a
DuckDB file in a temp dir; DuckDB is embedded, so no server is involved, but
each dbt call is a process (hence `integration`). One scenario, run once per
module, in the order a daily pipeline would see it:

1. full `dbt build` into blue (models, data tests, unit tests);
2. a new lake part arrives with a late click for an earlier date (beyond the
   10-minute allowed lateness) and a retried copy of an existing event;
3. incremental `dbt build` into blue: the earlier date's rows change;
4. `--full-refresh` into green over the same lake: equals blue;
5. a part with an event of an unknown item: `dbt build` fails on the
   relationships test and rankings_blue keeps its previous content.
Side runs in parallel: the config guards (bad color, enabled deferred
feature). The backfill_days and as_of_date bounds are dbt unit tests
(models/marts/_rankings.yml), which the first build runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from starlab.dbt import READS_DATA, pin_lake
from starlab.events.generator import Generator, GeneratorConfig, Manifest
from starlab.events.model import Event
from starlab.lake.events import events_sql, generate_to_files, write_lake_events
from starlab.settings import Settings

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[3] / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
# ~12 days of event time: enough dates for a 7-day window with untouched
# dates on both sides of a late event, small enough for a fast build.
CFG = GeneratorConfig(events=20_000, rate_per_s=20_000 / (12 * 86_400))
LATE_DATE = date(2026, 1, 3)
WINDOW_DAYS = 7  # dbt_project.yml ranking_window_days
ALPHA = 100.0  # ctr_prior_impressions
HALF_LIFE_H = 24.0  # decay_half_life_hours
VOLATILE = ["dbt_invocation_id"]


@dataclass
class DbtRun:
    args: list[str]
    returncode: int
    output: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def status(self, name_part: str) -> list[str]:
        return [r["status"] for r in self.results if name_part in r["unique_id"]]

    def failed(self) -> list[str]:
        return [r["unique_id"] for r in self.results if r["status"] in ("fail", "error")]

    def tail(self) -> str:
        return "\n".join(self.output.splitlines()[-40:])


class DbtCall:
    """One dbt CLI process with its own target dir; `.result()` waits for it."""

    def __init__(
        self,
        args: list[str],
        *,
        data_dir: Path,
        warehouse: Path,
        work: Path,
        variables: dict[str, Any] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.args = args
        if settings is not None and args[0] in READS_DATA:
            pin_lake(settings, warehouse)  # what starlab.dbt does before a run that reads the lake
        self.target = work / "target"
        env = {
            **os.environ,
            "STARLAB_DATA_DIR": str(data_dir),
            "STARLAB_DUCKDB_PATH": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        cmd = [
            str(DBT),
            *args,
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            str(self.target),
            "--log-path",
            str(work / "logs"),
        ]
        if variables:
            cmd += ["--vars", json.dumps(variables)]
        (self.target / "run_results.json").unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def result(self) -> DbtRun:
        out, _ = self.proc.communicate(timeout=300)
        results_file = self.target / "run_results.json"
        results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
        return DbtRun(self.args, self.proc.returncode, out, results)


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).df()


def rankings(warehouse: Path, color: str = "blue") -> pd.DataFrame:
    """The color's table sorted by key; empty if it does not exist (a failed build)."""
    try:
        df = query(warehouse, f"select * from marts.rankings_{color} order by ranking_date, item_id")
    except duckdb.CatalogException:
        return pd.DataFrame()
    df["ranking_date"] = pd.to_datetime(df["ranking_date"]).dt.date
    return df.reset_index(drop=True)


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass
class Scenario:
    data_dir: Path
    warehouse: Path
    manifest: Manifest
    lake_rows_before: int
    first_snapshot: int
    target_item: str
    late_event: Event
    retried_event_id: str
    build_full: DbtRun
    blue_v1: pd.DataFrame
    stg_count_v1: int
    build_late: DbtRun
    blue_v2: pd.DataFrame
    stg_count_v2: int
    refresh_green: DbtRun
    green: pd.DataFrame
    blue_after_green: pd.DataFrame
    build_orphan: DbtRun
    blue_after_orphan: pd.DataFrame
    bad_color: DbtRun
    enabled_deferred: DbtRun


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    root = tmp_path_factory.mktemp("dbt_rankings")
    data_dir, work = root / "data", root / "work"
    warehouse = data_dir / "warehouse.duckdb"
    settings = Settings(data_dir=data_dir, home=root / "home")
    run_dir = generate_to_files(Generator(CFG), settings, "r1")
    manifest = Manifest.read(run_dir / "manifest.json")
    first_sql, first = events_sql(settings)
    assert first.snapshot_id is not None

    def call(args: list[str], work_dir: Path = work, **kw: Any) -> DbtCall:
        # Same work dir for same vars: dbt re-uses its partial parse.
        return DbtCall(args, data_dir=data_dir, warehouse=warehouse, work=work_dir, settings=settings, **kw)

    # side jobs, independent of the main chain's warehouse
    bad_color = DbtCall(
        ["parse"],
        data_dir=data_dir,
        warehouse=root / "g1.duckdb",
        work=root / "g1",
        variables={"target_color": "purple"},
    )

    # 1. full build into blue
    build_full = call(["build"]).result()
    if build_full.returncode != 0:
        bad_color.result()  # do not leave it running
        pytest.fail(f"the first dbt build failed, nothing to test on:\n{build_full.tail()}")
    blue_v1 = rankings(warehouse)
    stg_count_v1 = int(query(warehouse, "select count(*) n from staging.stg_events")["n"][0])
    enabled_deferred = DbtCall(
        ["parse"],
        data_dir=data_dir,
        warehouse=root / "g2.duckdb",
        work=root / "g2",
        variables={"deferred_features": [{"name": "dwell_quality", "enabled": True, "reason": "test"}]},
    )

    # 2. a late click for LATE_DATE on a mid-ranked item, plus a retry of an
    #    existing event of that date, both ingested an hour after the newest row
    lake = query(warehouse, f"select max(ingest_ts) newest, count(*) n from ({first_sql})")
    newest_ingest = lake["newest"][0].to_pydatetime().replace(tzinfo=UTC)  # naive UTC in the table
    day = blue_v1[blue_v1.ranking_date == LATE_DATE].sort_values("rank_overall")
    target_item = str(day.iloc[len(day) // 2]["item_id"])
    late = Event(
        event_id="late-test-0001",
        user_id="u000001",
        item_id=target_item,
        event_type="click",
        event_ts=ms(datetime(2026, 1, 3, 12, 0, tzinfo=UTC)),
        ingest_ts=ms(newest_ingest) + 3_600_000,
        platform="web",
        session_id="s-late",
        dwell_ms=None,
    )
    original = query(
        warehouse,
        f"""
        select * from ({first_sql})
        where event_date = '{LATE_DATE}' and item_id <> '{target_item}'
        order by event_id limit 1""",
    ).iloc[0]
    retry = Event(
        event_id=original.event_id,
        user_id=original.user_id,
        item_id=original.item_id,
        event_type=original.event_type,
        event_ts=ms(original.event_ts.to_pydatetime().replace(tzinfo=UTC)),
        ingest_ts=ms(newest_ingest) + 3_600_000,
        platform=original.platform,
        session_id=original.session_id,
        dwell_ms=None if pd.isna(original.dwell_ms) else int(original.dwell_ms),
    )
    write_lake_events([late, retry], settings)

    # 3. incremental build into blue
    build_late = call(["build"]).result()
    blue_v2 = rankings(warehouse)
    stg_count_v2 = int(query(warehouse, "select count(*) n from staging.stg_events")["n"][0])

    # 4. full refresh into green over the same lake
    refresh_green = call(
        ["run", "--full-refresh"], work_dir=root / "work_green", variables={"target_color": "green"}
    ).result()
    green = rankings(warehouse, "green")
    blue_after_green = rankings(warehouse, "blue")

    # 5. an event of an item missing from the dimension: the gate must refuse
    orphan = Event(
        event_id="orphan-test-0001",
        user_id="u000001",
        item_id="i99999",
        event_type="click",
        event_ts=late.event_ts,
        ingest_ts=late.ingest_ts + 60_000,
        platform="web",
        session_id="s-orphan",
        dwell_ms=None,
    )
    write_lake_events([orphan], settings)
    build_orphan = call(["build"]).result()
    blue_after_orphan = rankings(warehouse)

    yield Scenario(
        data_dir=data_dir,
        warehouse=warehouse,
        manifest=manifest,
        lake_rows_before=int(lake["n"][0]),
        first_snapshot=first.snapshot_id,
        target_item=target_item,
        late_event=late,
        retried_event_id=str(original.event_id),
        build_full=build_full,
        blue_v1=blue_v1,
        stg_count_v1=stg_count_v1,
        build_late=build_late,
        blue_v2=blue_v2,
        stg_count_v2=stg_count_v2,
        refresh_green=refresh_green,
        green=green,
        blue_after_green=blue_after_green,
        build_orphan=build_orphan,
        blue_after_orphan=blue_after_orphan,
        bad_color=bad_color.result(),
        enabled_deferred=enabled_deferred.result(),
    )


def test_full_build_passes_models_data_tests_and_unit_tests(scenario: Scenario) -> None:
    run = scenario.build_full
    assert run.returncode == 0, run.tail()
    kinds = {r["unique_id"].split(".")[0] for r in run.results}
    assert {"model", "test", "unit_test"} <= kinds
    assert sum(r["unique_id"].startswith("unit_test.") for r in run.results) >= 5
    assert sum(r["unique_id"].startswith("test.") for r in run.results) >= 40
    # dbt 1.11 lists exposures in run_results as "no-op": they have nothing to run
    assert all(
        r["status"] in ("success", "pass")
        or (r["unique_id"].startswith("exposure.") and r["status"] == "no-op")
        for r in run.results
    ), run.failed()


def test_staging_keeps_one_row_per_event(scenario: Scenario) -> None:
    m = scenario.manifest
    assert scenario.lake_rows_before == len(m.unique_ids) + len(m.duplicate_ids)
    assert len(m.duplicate_ids) > 0
    assert scenario.stg_count_v1 == len(m.unique_ids)
    # the late click is one more event; the retried copy is dropped (keep-first)
    assert scenario.stg_count_v2 == scenario.stg_count_v1 + 1


def test_rankings_follow_the_scoring_formula(scenario: Scenario) -> None:
    df = scenario.blue_v1
    assert len(df) > 0 and df["ranking_date"].nunique() >= 12
    prior = df.groupby("ranking_date")[["clicks", "impressions"]].transform("sum")
    expected_prior = prior["clicks"] / prior["impressions"]
    np.testing.assert_allclose(df["prior_ctr"], expected_prior, rtol=1e-12)
    expected_ctr = (df["clicks"] + ALPHA * expected_prior) / (df["impressions"] + ALPHA)
    np.testing.assert_allclose(df["smoothed_ctr"], expected_ctr, rtol=1e-12)
    as_of = pd.to_datetime(df["ranking_date"]) + pd.Timedelta(days=1)
    recency_h = (as_of - df["last_event_at"]).dt.total_seconds() / 3600
    np.testing.assert_allclose(df["recency_hours"], recency_h, rtol=1e-9)
    assert (df["recency_hours"] >= 0).all() and (df["recency_hours"] <= 24 * WINDOW_DAYS).all()
    np.testing.assert_allclose(df["score"], expected_ctr * 0.5 ** (recency_h / HALF_LIFE_H), rtol=1e-9)
    for _, day in df.groupby("ranking_date"):
        order = day.sort_values(["score", "item_id"], ascending=[False, True])
        assert list(order["rank_overall"]) == list(range(1, len(day) + 1))
        for _, cat in order.groupby("category"):
            assert list(cat["rank_in_category"]) == list(range(1, len(cat) + 1))


def test_window_counts_match_the_raw_lake(scenario: Scenario) -> None:
    """Independent of the models: dedup the lake by event_id, count the window.

    Read at the first snapshot (time travel): the generator's rows only,
    before the late and orphan events were appended.
    """
    df = scenario.blue_v1
    newest = max(df["ranking_date"])
    settings = Settings(data_dir=scenario.data_dir, home=scenario.data_dir.parent / "home")
    first_sql, _ = events_sql(settings, scenario.first_snapshot)
    raw = query(
        scenario.warehouse,
        f"""
        with dedup as (
            select * from ({first_sql})
            qualify row_number() over (partition by event_id order by ingest_ts) = 1
        )
        select item_id,
               count(*) filter (where event_type = 'impression') as impressions,
               count(*) filter (where event_type = 'click') as clicks
        from dedup
        where cast(event_ts as date)
              between date '{newest}' - {WINDOW_DAYS - 1} and date '{newest}'
        group by item_id order by item_id""",
    )
    ours = df[df.ranking_date == newest].sort_values("item_id")[["item_id", "impressions", "clicks"]]
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), raw, check_dtype=False)


def test_incremental_run_picks_up_the_late_event(scenario: Scenario) -> None:
    assert scenario.build_late.returncode == 0, scenario.build_late.tail()
    v1 = scenario.blue_v1.set_index(["ranking_date", "item_id"])
    v2 = scenario.blue_v2.set_index(["ranking_date", "item_id"])
    assert v1.index.equals(v2.index)
    touched = {LATE_DATE + timedelta(days=k) for k in range(WINDOW_DAYS)}
    for ranking_date in touched:
        key = (ranking_date, scenario.target_item)
        assert v2.loc[key, "clicks"] == v1.loc[key, "clicks"] + 1, ranking_date
        assert v2.loc[key, "smoothed_ctr"] > v1.loc[key, "smoothed_ctr"]
    # the day of the late event: its last engagement moved to 12:00 at least
    assert v2.loc[(LATE_DATE, scenario.target_item), "last_event_at"] >= pd.Timestamp("2026-01-03 12:00")
    # re-ranked dates are rewritten whole; the others are not touched at all
    rewritten = set(v2.index.get_level_values(0)[v2["dbt_invocation_id"] != v1["dbt_invocation_id"]])
    assert rewritten == touched
    untouched = ~v2.index.get_level_values(0).isin(list(touched))
    pd.testing.assert_frame_equal(v1[untouched], v2[untouched])
    assert untouched.sum() > 0
    assert "re-processing 1 event date(s) 2026-01-03" in scenario.build_late.output


def test_full_refresh_equals_incremental(scenario: Scenario) -> None:
    assert scenario.refresh_green.returncode == 0, scenario.refresh_green.tail()
    pd.testing.assert_frame_equal(
        scenario.green.drop(columns=VOLATILE),
        scenario.blue_v2.drop(columns=VOLATILE),
        check_exact=False,
        rtol=1e-12,
    )


def test_building_green_leaves_blue_alone(scenario: Scenario) -> None:
    pd.testing.assert_frame_equal(scenario.blue_after_green, scenario.blue_v2)
    assert set(scenario.green["dbt_invocation_id"]).isdisjoint(set(scenario.blue_v2["dbt_invocation_id"]))


def test_gate_refuses_an_orphan_item_and_keeps_the_old_table(scenario: Scenario) -> None:
    run = scenario.build_orphan
    assert run.returncode != 0
    assert any("relationships_int_item_engagement_daily_item_id" in f for f in run.failed()), run.failed()
    assert run.status("model.starlab.rankings") == ["skipped"]
    pd.testing.assert_frame_equal(scenario.blue_after_orphan, scenario.blue_v2)


def test_config_guards_fail_loudly(scenario: Scenario) -> None:
    assert scenario.bad_color.returncode != 0
    assert "target_color must be 'blue' or 'green'" in scenario.bad_color.output
    assert scenario.enabled_deferred.returncode != 0
    message = "deferred feature 'dwell_quality' is enabled but not implemented"
    assert message in scenario.enabled_deferred.output
