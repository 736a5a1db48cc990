"""Percentiles against hand computation and numpy's default method."""

from __future__ import annotations

import random

import numpy as np
import pytest

from starlab.metrics import LatencySummary, MetricError, PercentileMethod, p50, p95, p99, percentile

NR = PercentileMethod.NEAREST_RANK


def test_linear_median_of_even_count() -> None:
    # h = 3 x 0.5 = 1.5 -> 2 + 0.5 x (3 - 2)
    assert p50([1, 2, 3, 4]) == 2.5


def test_linear_p95_of_1_to_20() -> None:
    # h = 19 x 0.95 = 18.05 -> x[18] + 0.05 x (x[19] - x[18]) = 19 + 0.05
    assert p95(range(1, 21)) == pytest.approx(19.05)


def test_linear_p99_of_1_to_100() -> None:
    # h = 99 x 0.99 = 98.01 -> 99 + 0.01
    assert p99(range(1, 101)) == pytest.approx(99.01)


def test_linear_p40_unsorted_input() -> None:
    # sorted [15, 20, 35, 40, 50]; h = 4 x 0.4 = 1.6 -> 20 + 0.6 x 15 = 29
    assert percentile([40, 15, 50, 35, 20], 40) == pytest.approx(29.0)


@pytest.mark.parametrize(("q", "expected"), [(5, 15), (30, 20), (40, 20), (50, 35), (100, 50)])
def test_nearest_rank_wikipedia_example(q: float, expected: float) -> None:
    # ordinal rank = ceil(q/100 x 5): 5->1, 30->2 (1.5), 40->2 (2.0), 50->3 (2.5), 100->5
    assert percentile([15, 20, 35, 40, 50], q, NR) == expected


def test_nearest_rank_p95_of_1_to_20() -> None:
    # rank = ceil(0.95 x 20) = 19 -> 19 (linear would say 19.05)
    assert percentile(range(1, 21), 95, "nearest_rank") == 19


def test_nearest_rank_avoids_float_rounding() -> None:
    # 99.9/100 x 1000 = 999 exactly; binary floats would give 999.0000000000001 -> 1000.
    assert percentile(range(1, 1001), 99.9, NR) == 999


def test_extremes_are_min_and_max() -> None:
    data = [7.0, 3.0, 9.0]
    for method in PercentileMethod:
        assert percentile(data, 0, method) == 3.0
        assert percentile(data, 100, method) == 9.0


def test_single_sample() -> None:
    assert p50([42.0]) == p95([42.0]) == p99([42.0]) == 42.0


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 99.9, 100])
def test_linear_matches_numpy_default(q: float) -> None:
    rng = random.Random(7)
    data = [rng.lognormvariate(4, 0.6) for _ in range(997)]
    assert percentile(data, q) == pytest.approx(float(np.percentile(data, q)), rel=1e-12)


@pytest.mark.parametrize("q", [1, 50, 95, 99])
def test_nearest_rank_matches_numpy_inverted_cdf(q: float) -> None:
    # numpy's 'inverted_cdf' is the nearest-rank definition.
    rng = random.Random(11)
    data = [rng.uniform(0, 500) for _ in range(101)]
    expected = float(np.percentile(data, q, method="inverted_cdf"))
    assert percentile(data, q, NR) == expected


def test_empty_raises() -> None:
    with pytest.raises(MetricError, match="no samples"):
        p95([])


def test_nan_raises() -> None:
    with pytest.raises(MetricError, match="NaN"):
        p95([1.0, float("nan")])


@pytest.mark.parametrize("q", [-1, 100.5])
def test_q_out_of_range_raises(q: float) -> None:
    with pytest.raises(MetricError, match="q"):
        percentile([1, 2], q)


def test_unknown_method_raises() -> None:
    with pytest.raises(ValueError):
        percentile([1, 2], 50, "midpoint")


def test_latency_summary_by_hand() -> None:
    s = LatencySummary.from_samples([100, 10, 40, 30, 20])
    assert s.count == 5
    assert s.min == 10
    assert s.max == 100
    assert s.mean == 40.0
    assert s.p50 == 30.0
    # h = 4 x 0.95 = 3.8 -> 40 + 0.8 x 60 = 88; h = 3.96 -> 40 + 0.96 x 60 = 97.6
    assert s.p95 == pytest.approx(88.0)
    assert s.p99 == pytest.approx(97.6)
    assert s.unit == "ms"


def test_latency_summary_nearest_rank_and_dict() -> None:
    s = LatencySummary.from_samples(range(1, 21), unit="s", method=NR)
    d = s.to_dict()
    assert d["p95"] == 19
    assert d["p50"] == 10
    assert d["unit"] == "s"
    assert d["method"] == "nearest_rank"


def test_latency_summary_empty_raises() -> None:
    with pytest.raises(MetricError):
        LatencySummary.from_samples([])
