"""Gate arithmetic and the cache payload, without a build (story 2: checks and thresholds)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from rankings.publish.gate import dbt_checks, row_count_bounds
from rankings.publish.state import Color
from rankings.publish.warehouse import BuiltTable, cache_payload
from rankings.serving.cache import CachePayload
from rankings.settings import RankingsSettings


def test_row_count_bounds_follow_the_previous_build() -> None:
    cfg = RankingsSettings(row_count_tolerance=0.5, min_served_rows=10)
    assert row_count_bounds(300, cfg) == (150, 450)
    assert row_count_bounds(None, cfg) == (10, None)  # first build: only the floor
    assert row_count_bounds(12, cfg) == (10, 18)  # the floor wins over -50%
    assert row_count_bounds(301, RankingsSettings(row_count_tolerance=0.1)) == (270, 332)


def test_dbt_failures_name_the_test_and_its_failing_rows(env: Any) -> None:
    checks = dbt_checks(env.dbt_result(ok=False, failing_test="unique_rankings_key", rows=4))
    assert [(c.name, c.passed, c.observed) for c in checks] == [
        ("unique_rankings_key", False, "4 failing rows")
    ]
    ok = dbt_checks(env.dbt_result())
    assert ok[0].passed and "1 data/unit tests passed" in ok[0].observed


def test_payload_is_top_n_of_the_served_date_overall_and_per_category(env: Any) -> None:
    frame = env.frame(items=30, dates=2)
    served = env.served
    frame["is_served_date"] = frame["ranking_date"] == served
    frame.loc[frame["is_served_date"] & (frame["rank_overall"] == 1), "score"] = 0.99
    table = BuiltTable(Color.BLUE, frame, served, [], None)
    payload = cache_payload(table, top_n=5)
    assert set(payload) == CachePayload.__required_keys__  # the type RankingsCache.warm takes
    assert payload["ranking_date"] == served.isoformat()
    assert payload["categories"] == ["music", "news", "sports"]
    overall = [pd.read_json(__import__("io").StringIO(x), typ="series") for x in payload["lists"]["overall"]]
    assert [int(x["rank_overall"]) for x in overall] == [1, 2, 3, 4, 5]
    assert overall[0]["score"] == 0.99  # from the served date, not the older one
    for cat in payload["categories"]:
        lst = payload["lists"][f"cat:{cat}"]
        assert len(lst) == 5 and all(f'"category":"{cat}"' in x for x in lst)
