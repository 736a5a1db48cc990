"""The blue/green state machine of `rankings.publish.Publisher`, with dbt and Redis faked.

Story 2: "a bad build never reaches users" (refusals keep the live version),
"rollback" (flips back, at most once, only to an intact table) and the
compare-and-set that keeps a stale candidate from being flipped live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rankings.errors import BuildInProgress, DQGateError, FlipRefused, RollbackUnavailable
from rankings.publish.state import BuildStatus, Color, Lease
from rankings.publish.warehouse import live_view_color


def publish_once(env: Any, frame: Any = None) -> Any:
    pub = env.make_publisher()
    env.dbt.push(env.frame() if frame is None else frame)
    cand = pub.gate(pub.build())
    pub.flip(cand)
    pub.warm(cand)
    return pub, cand


def test_a_publish_flips_flag_pointer_and_view(env: Any) -> None:
    pub, cand = publish_once(env)
    st = pub.store.read()
    assert cand.color == "blue"
    assert st.live_color is Color.BLUE and st.live_build_id == cand.build_id
    assert env.cache.pointer == cand.build_id
    assert env.cache.ttl[cand.build_id] == -1  # the live version never expires
    assert live_view_color(env.settings.warehouse_path) is Color.BLUE
    assert st.lease is None and st.generation == 1
    payload = env.cache.versions[cand.build_id]
    assert payload["ranking_date"] == env.served.isoformat()
    assert set(payload["categories"]) == {"news", "sports", "music"}
    ranks = [int(x.split('"rank_overall":')[1].split(",")[0]) for x in payload["lists"]["overall"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    assert len(payload["lists"]["overall"]) == min(env.cfg.top_n, 60)


def test_a_row_count_collapse_is_refused_and_the_live_version_keeps_serving(env: Any) -> None:
    pub, live = publish_once(env)
    env.dbt.push(env.frame(items=12))  # dbt's floor (10) passes, +-50% of 60 does not
    cand = pub.build()
    with pytest.raises(DQGateError) as err:
        pub.gate(cand)
    failed = {f.name: f for f in err.value.failures}
    assert set(failed) == {"row_count_served_date"}
    assert failed["row_count_served_date"].observed == 12
    assert "observed 12, expected 30..90 rows" in str(err.value)
    st = pub.store.read()
    assert st.live_build_id == live.build_id and env.cache.pointer == live.build_id
    assert st.colors[Color.GREEN].status is BuildStatus.REFUSED
    assert Color.GREEN in st.dirty and st.lease is None
    with pytest.raises(FlipRefused):  # a refused candidate can never be flipped afterwards
        pub.flip(cand)
    assert env.cache.pointer == live.build_id


@pytest.mark.parametrize(
    ("mutate", "check"),
    [
        (
            lambda f: f.assign(category=[None if i % 10 == 0 else c for i, c in enumerate(f["category"])]),
            "null_ratio:category",
        ),
        (
            lambda f: f.assign(item_id=f["item_id"].where(f["rank_overall"] != 5, "i99999")),
            "items_in_dimension",
        ),
        (lambda f: __import__("pandas").concat([f, f.head(20)]), "duplicate_rate"),
    ],
    ids=["nulls", "orphan-items", "duplicates"],
)
def test_bad_builds_are_refused_with_the_failed_check(env: Any, mutate, check) -> None:
    pub, live = publish_once(env)
    env.dbt.push(mutate(env.frame()))
    with pytest.raises(DQGateError) as err:
        pub.gate(pub.build())
    assert check in {f.name for f in err.value.failures}, err.value
    assert pub.store.read().live_build_id == live.build_id
    assert env.cache.pointer == live.build_id


def test_a_failed_dbt_test_refuses_before_any_gx_check(env: Any) -> None:
    pub, live = publish_once(env)
    env.dbt.push(None, env.dbt_result(ok=False, failing_test="relationships_rankings_green_item_id", rows=3))
    with pytest.raises(DQGateError) as err:
        pub.build()
    assert [f.source for f in err.value.failures] == ["dbt"]
    assert "relationships_rankings_green_item_id failed: observed 3 failing rows" in str(err.value)
    assert env.cache.pointer == live.build_id


def test_a_color_a_refused_build_wrote_into_is_rebuilt_in_full(env: Any) -> None:
    pub, _ = publish_once(env)
    env.dbt.push(env.frame(items=12))
    with pytest.raises(DQGateError):
        pub.gate(pub.build())
    env.dbt.push(env.frame())
    cand = pub.build()
    assert cand.color == "green" and cand.full_refresh is True
    assert env.dbt.calls[-1]["full_refresh"] is True
    assert env.dbt.calls[0]["full_refresh"] is False


def test_rollback_returns_to_the_previous_build_once(env: Any) -> None:
    pub, first = publish_once(env)
    _, second = publish_once(env)
    assert pub.store.read().rollback_target() is not None
    out = pub.rollback()
    st = pub.store.read()
    assert out.build_id == first.build_id and env.cache.pointer == first.build_id
    assert st.live_color is Color.BLUE and live_view_color(env.settings.warehouse_path) is Color.BLUE
    assert st.colors[Color.GREEN].status is BuildStatus.ROLLED_BACK and Color.GREEN in st.dirty
    assert env.cache.ttl[second.build_id] == env.cfg.previous_ttl_s
    with pytest.raises(RollbackUnavailable, match="no previous version"):
        pub.rollback()


def test_rollback_is_refused_once_a_new_build_overwrote_the_previous_table(env: Any) -> None:
    pub, _ = publish_once(env)
    publish_once(env)
    env.dbt.push(env.frame(items=12))  # the next build goes into blue, the rollback target
    with pytest.raises(DQGateError):
        pub.gate(pub.build())
    with pytest.raises(RollbackUnavailable, match=r"is gone from marts\.rankings_blue"):
        pub.rollback()


def test_a_rollback_during_the_build_makes_the_flip_refuse(env: Any) -> None:
    pub, _ = publish_once(env)
    publish_once(env)
    env.dbt.push(env.frame())
    cand = pub.gate(pub.build())
    with pub.store.change("test: someone else flipped meanwhile") as st:
        st.generation += 1
    before = env.cache.pointer
    with pytest.raises(FlipRefused, match="flag changed since build"):
        pub.flip(cand)
    assert env.cache.pointer == before and pub.store.read().lease is None


def test_an_older_ranking_date_is_not_flipped_over_a_newer_one(env: Any) -> None:
    pub, live = publish_once(env)
    env.dbt.push(env.frame(served=env.served - timedelta(days=3)))
    cand = pub.gate(pub.build())
    with pytest.raises(FlipRefused, match="older than the live"):
        pub.flip(cand)
    assert env.cache.pointer == live.build_id


def test_flip_and_warm_are_idempotent_for_a_retried_task(env: Any) -> None:
    pub, cand = publish_once(env)
    assert pub.flip(cand).already_live is True
    pub.warm(cand)
    assert env.cache.pointer == cand.build_id and env.cache.ttl[cand.build_id] == -1
    assert [m for m in env.cache.moves if m[0] != m[1]] == [(None, cand.build_id)]


def test_a_live_lease_of_another_owner_blocks_a_second_build(env: Any) -> None:
    pub = env.make_publisher(owner="airflow:rankings_daily/run-1")
    env.dbt.push(env.frame())
    pub.build()
    other = env.make_publisher(owner="airflow:rankings_daily/run-2")
    with pytest.raises(BuildInProgress):
        other.build()
    # the same run retrying its task takes its own lease over
    env.dbt.push(env.frame())
    assert pub.build().color == "blue"


def test_an_expired_lease_is_taken_over_and_its_color_rebuilt_in_full(env: Any) -> None:
    pub = env.make_publisher(owner="airflow:dag/run-1")
    past = datetime.now(UTC) - timedelta(hours=3)
    with pub.store.change("test: crashed build") as st:
        st.lease = Lease("b-old", Color.BLUE, "airflow:dag/run-0", "h", past.isoformat(), past.isoformat())
    env.dbt.push(env.frame())
    cand = pub.build()
    assert cand.full_refresh is True


def test_status_reports_colors_pointer_and_rollback(env: Any) -> None:
    pub, _ = publish_once(env)
    _, second = publish_once(env)
    st = pub.status()
    assert st.live_color == "green" and st.redis_pointer == second.build_id
    assert st.rollback_available is True
    assert st.colors["blue"].status == "standby" and st.colors["blue"].served_rows == 60
    history = [h.action for h in pub.store.history()]
    assert history.count("flip") == 2 and history.count("served") == 2
