"""Story formulas on hand-computed cases, including the stories' own numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from starlab.errors import StarlabError
from starlab.metrics import (
    MetricError,
    all_succeed_probability,
    burn_rate,
    cached_availability,
    duplicate_rate,
    error_budget,
    event_loss_rate,
    failure_rate,
    fanout_availability,
    freshness_s,
    freshness_s_of,
    hit_rate,
    reduction,
    relative_change,
    slo_conformance,
    unique_ratio,
    weighted_latency,
)

# --- freshness -------------------------------------------------------------------


def test_freshness_epoch_ms_is_seconds() -> None:
    assert freshness_s(1_700_000_300_000, 1_700_000_000_000) == 300.0


def test_freshness_sub_second_precision_kept() -> None:
    assert freshness_s(1_700_000_001_250, 1_700_000_000_000) == pytest.approx(1.25)


def test_freshness_aware_datetimes_across_offsets() -> None:
    now = datetime(2025, 1, 1, 13, 5, tzinfo=timezone(timedelta(hours=1)))  # 12:05Z
    newest = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert freshness_s(now, newest) == 300.0


def test_freshness_story2_window_in_minutes() -> None:
    # Story 2 measured "65-90 minutes": 65 minutes is 3900 s.
    now = datetime(2025, 1, 2, 7, 5, tzinfo=UTC)
    assert freshness_s(now, datetime(2025, 1, 2, 6, 0, tzinfo=UTC)) / 60 == 65.0


def test_freshness_rejects_mixed_kinds() -> None:
    with pytest.raises(MetricError, match="both"):
        freshness_s(datetime(2025, 1, 1, tzinfo=UTC), 1_700_000_000_000)  # type: ignore[call-overload]


def test_freshness_rejects_naive_datetime() -> None:
    with pytest.raises(MetricError, match="naive"):
        freshness_s(datetime(2025, 1, 1, 1), datetime(2025, 1, 1, tzinfo=UTC))


def test_freshness_rejects_future_ingest() -> None:
    with pytest.raises(MetricError, match="after now"):
        freshness_s(1_000, 2_000)


def test_freshness_zero_is_allowed() -> None:
    assert freshness_s(5_000, 5_000) == 0.0


def test_freshness_of_takes_the_max() -> None:
    assert freshness_s_of(10_000, [1_000, 7_000, 4_000]) == 3.0


def test_freshness_of_empty_raises() -> None:
    with pytest.raises(MetricError, match="empty"):
        freshness_s_of(10_000, [])


def test_freshness_of_mixed_raises() -> None:
    with pytest.raises(MetricError, match="mixes"):
        freshness_s_of(10_000, [1_000, datetime(2025, 1, 1, tzinfo=UTC)])  # type: ignore[list-item]


# --- rates -----------------------------------------------------------------------


def test_loss_rate_story3_figure() -> None:
    # "event loss reduced to 0.03%": 3 of 10,000 produced never arrived.
    assert event_loss_rate(10_000, 9_997) == pytest.approx(0.0003)


def test_loss_rate_no_loss() -> None:
    assert event_loss_rate(42, 42) == 0.0


def test_loss_rate_zero_produced_raises() -> None:
    with pytest.raises(MetricError, match="produced is 0"):
        event_loss_rate(0, 0)


def test_loss_rate_over_delivery_raises() -> None:
    with pytest.raises(MetricError, match="distinct"):
        event_loss_rate(10, 11)


def test_duplicate_rate_story2_figure() -> None:
    # "duplication rate 0.2%": 1,000 rows, 998 distinct ids.
    assert duplicate_rate(total=1_000, distinct=998) == pytest.approx(0.002)


def test_unique_ratio_is_the_storys_literal_expression() -> None:
    # count(distinct id) / count(*) = 998 / 1000; the complement of duplicate_rate.
    assert unique_ratio(total=1_000, distinct=998) == pytest.approx(0.998)
    assert unique_ratio(1_000, 998) + duplicate_rate(1_000, 998) == pytest.approx(1.0)


def test_duplicate_rate_of_clean_table_is_zero() -> None:
    assert duplicate_rate(500, 500) == 0.0
    assert unique_ratio(500, 500) == 1.0


@pytest.mark.parametrize(("total", "distinct"), [(0, 0), (10, 11), (-1, 0), (10, -1)])
def test_duplicate_rate_bad_counts_raise(total: int, distinct: int) -> None:
    with pytest.raises(MetricError):
        duplicate_rate(total, distinct)


def test_failure_rate() -> None:
    assert failure_rate(5, 1_000) == 0.005


@pytest.mark.parametrize(("bad", "total"), [(0, 0), (2, 1)])
def test_failure_rate_bad_input_raises(bad: int, total: int) -> None:
    with pytest.raises(MetricError):
        failure_rate(bad, total)


def test_counts_must_be_ints() -> None:
    with pytest.raises(MetricError, match="int"):
        failure_rate(True, 10)
    with pytest.raises(MetricError, match="int"):
        failure_rate(1.5, 10)  # type: ignore[arg-type]


def test_hit_rate_story004_shadow() -> None:
    assert hit_rate(hits=95, misses=5) == 0.95


def test_hit_rate_no_lookups_raises() -> None:
    with pytest.raises(MetricError, match="no cache lookups"):
        hit_rate(0, 0)


def test_metric_error_is_a_starlab_error() -> None:
    with pytest.raises(StarlabError):
        hit_rate(0, 0)


# --- availability ------------------------------------------------------------------


def test_fanout_availability_story004() -> None:
    # 0.995^2 = 0.990025; 0.990025^2 = 0.980149500625 ("0.995^4 = 0.980").
    a = fanout_availability([0.995] * 4)
    assert a == pytest.approx(0.980149500625, rel=1e-12)
    assert round(a, 3) == 0.980


def test_fanout_single_dependency_is_itself() -> None:
    assert fanout_availability([0.9999]) == 0.9999


def test_all_succeed_probability_matches_fanout() -> None:
    assert all_succeed_probability([0.005] * 4) == pytest.approx(0.980149500625, rel=1e-12)


def test_fanout_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(MetricError):
        fanout_availability([])
    with pytest.raises(MetricError, match="probability"):
        fanout_availability([0.995, 99.5])
    with pytest.raises(MetricError, match="probability"):
        fanout_availability([float("nan")])


def test_cached_availability_story004_expression() -> None:
    # 0.95 x 0.9999 = 0.949905; 0.05 x (0.9999 x 0.995) = 0.05 x 0.9949005 = 0.049745025
    a = cached_availability(hit_rate=0.95, cache_availability=0.9999, call_availability=0.995)
    assert a == pytest.approx(0.999650025, rel=1e-12)
    # The story rounds this to "~99.94%"; its own expression is 99.965%, which
    # clears both 99.94% and the 99.9% SLO.
    assert a >= 0.9994
    assert a > 0.999


def test_cached_availability_limits() -> None:
    assert cached_availability(1.0, 0.9999, 0.5) == 0.9999
    assert cached_availability(0.0, 0.9999, 0.995) == pytest.approx(0.9999 * 0.995)


def test_weighted_latency_story004() -> None:
    # cache 4 ms, call 65 ms, 95% hits: 4 x 0.95 + 69 x 0.05 = 3.8 + 3.45 = 7.25
    assert weighted_latency(0.95, 4.0, 65.0) == pytest.approx(7.25)


def test_weighted_latency_negative_raises() -> None:
    with pytest.raises(MetricError):
        weighted_latency(0.9, -1.0, 10.0)


# --- SLOs ---------------------------------------------------------------------------


def test_error_budget_999_of_a_million() -> None:
    assert error_budget(0.999, 1_000_000) == pytest.approx(1_000.0)


@pytest.mark.parametrize("target", [0.0, 1.0, 1.5])
def test_error_budget_target_out_of_range(target: float) -> None:
    with pytest.raises(MetricError):
        error_budget(target, 100)


def test_slo_conformance() -> None:
    assert slo_conformance(250, 1_000) == 0.75
    assert slo_conformance(0, 1_000) == 1.0


def test_slo_conformance_overspent_is_negative() -> None:
    assert slo_conformance(1_500, 1_000) == -0.5


def test_slo_conformance_zero_budget_raises() -> None:
    with pytest.raises(MetricError, match="budget"):
        slo_conformance(1, 0)


def test_slo_conformance_negative_burn_raises() -> None:
    with pytest.raises(MetricError):
        slo_conformance(-1, 10)


def test_burn_rate() -> None:
    # 0.2% errors against a 0.1% budget burns it twice as fast as sustainable.
    assert burn_rate(2, 1_000, 0.999) == pytest.approx(2.0)


def test_burn_rate_with_error_budget_conformance_agree() -> None:
    # 500 failures of 1M at 99.9%: budget 1000, half spent.
    budget = error_budget(0.999, 1_000_000)
    assert slo_conformance(500, budget) == pytest.approx(0.5)
    assert burn_rate(500, 1_000_000, 0.999) == pytest.approx(0.5)


# --- change -------------------------------------------------------------------------


def test_relative_change_dropped_35_percent() -> None:
    # "p95 DAG runtime variance dropped 35%"
    assert relative_change(before=100.0, after=65.0) == pytest.approx(-0.35)


def test_relative_change_increase() -> None:
    assert relative_change(200.0, 206.2) == pytest.approx(0.031)


def test_reduction_pages_fell_60_percent() -> None:
    assert reduction(before=10, after=4) == pytest.approx(0.6)


def test_relative_change_zero_baseline_raises() -> None:
    with pytest.raises(MetricError, match="before is 0"):
        relative_change(0, 5)
