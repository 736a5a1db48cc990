"""Story 2 end to end on real dbt, DuckDB, Great Expectations and Redis: gate, flip, rollback.

One scenario per module, in the order a team would live it:
1. 14 days of events ending now -> publish A into blue;
2. three bad inputs, each refused by the DQ gate with the check that caught
   it and its observed value, while A keeps serving unchanged:
   orphan items (dbt relationships), null categories (dbt + GX null ratio),
   a row-count collapse (GX, relative to A);
3. new arrivals -> publish B into green (rebuilt in full: refused builds
   wrote into it), the pointer moves, freshness and duplication measured;
4. rollback -> A serves again; a second rollback has nothing to return to.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from rankings.bench.faults import INJECTED_PREFIX, inject_collapse
from rankings.bench.run import new_arrivals
from rankings.errors import DQGateError, RollbackUnavailable
from rankings.publish.publisher import Publisher
from rankings.publish.results import CycleResult, RollbackResult
from rankings.publish.state import BuildStatus, Color
from rankings.publish.warehouse import live_view_color
from rankings.synth import generate_recent
from starlab.events.model import Event
from starlab.lake.events import delete_events_with_prefix, write_lake_events

pytestmark = pytest.mark.integration


@dataclass
class Scenario:
    pub: Publisher
    first: CycleResult
    served_a: tuple[str, str, list[dict[str, Any]]] | None
    refusals: dict[str, DQGateError] = field(default_factory=dict)
    served_after_refusals: dict[str, Any] = field(default_factory=dict)
    second: CycleResult | None = None
    rollback: RollbackResult | None = None
    second_rollback: Exception | None = None
    state_after_second: Any = None
    state_after_rollback: Any = None


ORPHAN_PREFIX = "orphan-"


def orphan_events(n: int = 5) -> list[Event]:
    now = int(datetime.now(UTC).timestamp() * 1000)
    return [
        Event(f"{ORPHAN_PREFIX}{k}", "u000001", "i99999", "click", now - 60_000, now, "web", "s-orphan", None)
        for k in range(n)
    ]


@pytest.fixture(scope="module")
def scenario(rk: Any) -> Iterator[Scenario]:
    settings, cfg = rk.settings, rk.cfg
    lake = settings.lake_dir
    generate_recent(settings, 20_000, days=14)
    pub = Publisher(settings, cfg)
    first = pub.run_cycle()
    sc = Scenario(pub=pub, first=first, served_a=pub.cache.read(20))

    def attempt(name: str) -> None:
        with pytest.raises(DQGateError) as err:
            pub.run_cycle()
        sc.refusals[name] = err.value
        sc.served_after_refusals[name] = pub.cache.read(20)

    # orphan items: events of an item the dimension does not know
    write_lake_events(orphan_events(), settings)
    attempt("orphans")
    delete_events_with_prefix(settings, ORPHAN_PREFIX)

    # nulls: the item dimension loses 10% of its categories
    items = lake / "dims" / "items.parquet"
    backup = rk.root / "items.parquet"
    shutil.copyfile(items, backup)
    table = pq.read_table(items).to_pandas()
    table.loc[table.index % 10 == 0, "category"] = None
    table.to_parquet(items, index=False)
    attempt("nulls")
    shutil.copyfile(backup, items)

    # a row-count collapse: a lone partition with 12 items becomes the newest date
    live_date = pub.store.read().live_record().ranking_date
    inject_collapse(settings, datetime.fromisoformat(live_date).date())
    attempt("collapse")
    delete_events_with_prefix(settings, INJECTED_PREFIX)  # the bad batch leaves the table again

    # a good build with new arrivals
    new_arrivals(settings, 1_000)
    sc.second = pub.run_cycle()
    sc.state_after_second = pub.store.read()
    sc.rollback = pub.rollback()
    sc.state_after_rollback = pub.store.read()
    try:
        pub.rollback()
    except RollbackUnavailable as exc:
        sc.second_rollback = exc
    yield sc


def test_first_publish_serves_the_top_of_the_built_table(scenario: Scenario, rk: Any) -> None:
    m = scenario.first.metrics
    assert m.color == "blue" and scenario.pub.cache.live_build() is not None
    assert scenario.served_a is not None
    build, ranking_date, items = scenario.served_a
    assert build == m.build_id and ranking_date == m.ranking_date
    with duckdb.connect(str(rk.settings.warehouse_path), read_only=True) as con:
        top = con.execute(
            "select item_id from marts.rankings_blue where ranking_date = ? order by rank_overall limit 20",
            [datetime.fromisoformat(ranking_date).date()],
        ).fetchall()
    assert [i["item_id"] for i in items] == [r[0] for r in top]
    checks = scenario.first.candidate.checks
    assert all(c.passed for c in checks) and {c.source for c in checks} == {"dbt", "gx"}


@pytest.mark.parametrize(
    ("bad", "check", "source"),
    [
        ("orphans", "relationships", "dbt"),
        ("nulls", "null_ratio_below", "dbt"),
        ("collapse", "row_count_served_date", "gx"),
    ],
)
def test_bad_builds_are_refused_and_the_old_version_keeps_serving(
    scenario: Scenario, bad: str, check: str, source: str
) -> None:
    err = scenario.refusals[bad]
    hit = [f for f in err.failures if check in f.name and f.source == source]
    assert hit, [f.describe() for f in err.failures]
    assert "observed" in str(err) and "live version unchanged" in str(err)
    assert scenario.served_after_refusals[bad] == scenario.served_a


def test_the_collapse_names_its_observed_row_count(scenario: Scenario) -> None:
    (f,) = [f for f in scenario.refusals["collapse"].failures if f.name == "row_count_served_date"]
    assert f.observed == 12
    served = scenario.first.metrics.served_rows
    assert f"previous build {served}" in f.expected


def test_a_good_build_flips_to_the_other_color(scenario: Scenario, rk: Any) -> None:
    assert scenario.second is not None
    m, st = scenario.second.metrics, scenario.state_after_second
    assert m.color == "green" and st.live_color is Color.GREEN
    assert st.served_build_id == m.build_id and st.previous_build_id == scenario.first.metrics.build_id
    assert scenario.second.candidate.full_refresh is True  # refused builds wrote into green
    assert 0 < m.freshness_at_publish_s < 2 * 3600  # story 2: < 2 h
    assert m.duplicate_rate == 0.0
    assert st.colors[Color.BLUE].status is BuildStatus.STANDBY


def test_rollback_serves_the_previous_build_again_once(scenario: Scenario, rk: Any) -> None:
    a = scenario.first.metrics.build_id
    assert scenario.rollback is not None
    assert scenario.rollback.build_id == a and scenario.rollback.view_synced
    assert scenario.pub.cache.live_build() == a
    assert scenario.pub.cache.read(20) == scenario.served_a
    assert live_view_color(Path(rk.settings.warehouse_path)) is Color.BLUE
    st = scenario.state_after_rollback
    assert st.colors[Color.GREEN].status is BuildStatus.ROLLED_BACK and Color.GREEN in st.dirty
    assert isinstance(scenario.second_rollback, RollbackUnavailable)
    assert scenario.pub.cache.version_ttl_s(scenario.second.metrics.build_id) > 0  # expiring
    assert timedelta(seconds=scenario.rollback.pointer_moved_ms / 1000) < timedelta(seconds=1)
