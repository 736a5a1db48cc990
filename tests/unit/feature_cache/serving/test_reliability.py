"""The story's formulas, computed from the story's inputs (never its printed results)."""

from __future__ import annotations

import math

import pytest

from feature_cache.deps.config import FleetConfig
from feature_cache.deps.latency import LognormalLatency
from feature_cache.errors import FeatureCacheConfigError
from feature_cache.serving.reliability import (
    cache_effective_success,
    fanout_availability,
    monthly_cost_usd,
    parallel_tail,
    quantile_of_max_ms,
    retried_availability,
    sampled_quantile_of_max_ms,
    weighted_latency_ms,
)

# The story's inputs.
DEP_AVAILABILITY = 0.995
DEPENDENCIES = 4
REQ_PER_DAY = 8_000_000
COST_PER_CALL_USD = 1e-5
REDIS_MONTHLY_USD = 1_200.0
HIT_RATE = 0.95
REDIS_AVAILABILITY = 0.9999


def test_fanout_availability_reproduces_0995_to_the_4th() -> None:
    a = fanout_availability([DEP_AVAILABILITY] * DEPENDENCIES)
    assert round(a, 3) == 0.980  # story: "0.995^4 = 0.980 (98.0%)"
    assert 1 - a == pytest.approx(0.0199, abs=1e-4)  # "~2% failures before retries"
    assert a < 0.999  # "That alone would blow our 99.9% target"
    assert fanout_availability([]) == 1.0
    assert fanout_availability([0.9, 0.5]) == pytest.approx(0.45)


def test_retries_raise_each_dependencys_availability() -> None:
    one_retry = retried_availability(DEP_AVAILABILITY, 2)
    assert one_retry == pytest.approx(1 - 0.005**2)
    with_retries = fanout_availability([one_retry] * DEPENDENCIES)
    assert with_retries > 0.999 > fanout_availability([DEP_AVAILABILITY] * DEPENDENCIES)
    assert retried_availability(DEP_AVAILABILITY, 1) == DEP_AVAILABILITY
    with pytest.raises(FeatureCacheConfigError):
        retried_availability(DEP_AVAILABILITY, 0)


def test_design_b_effective_success_from_the_storys_inputs() -> None:
    b = cache_effective_success(HIT_RATE, REDIS_AVAILABILITY, DEP_AVAILABILITY)
    # Story's formula: 0.95 x 0.9999 + 0.05 x (0.9999 x 0.995).
    assert b == pytest.approx(0.95 * 0.9999 + 0.05 * 0.9999 * 0.995)
    assert b == pytest.approx(0.99965, abs=1e-6)
    # The story prints "~99.94%": 0.025 points below its own formula. Both meet the SLO.
    assert round(b * 100, 2) == pytest.approx(99.97)
    assert abs(b - 0.9994) > 2e-4
    assert b >= 0.999
    assert cache_effective_success(1.0, 0.9999, 0.0) == pytest.approx(0.9999)  # all hits: only Redis


def test_weighted_latency_approximation_is_the_mixture_mean() -> None:
    assert weighted_latency_ms(4.0, 65.0, HIT_RATE) == pytest.approx(4 * 0.95 + 69 * 0.05)
    assert weighted_latency_ms(4.0, 65.0, HIT_RATE) == pytest.approx(7.25)
    assert weighted_latency_ms(4.0, 65.0, 1.0) == 4.0
    assert weighted_latency_ms(4.0, 65.0, 0.0) == 69.0
    with pytest.raises(FeatureCacheConfigError):
        weighted_latency_ms(-1.0, 65.0, 0.9)


def test_monthly_cost_reproduces_design_a_and_shows_what_b_assumes() -> None:
    a = monthly_cost_usd(REQ_PER_DAY, DEPENDENCIES, COST_PER_CALL_USD)
    assert a / 30 == pytest.approx(320.0)  # "$320/day"
    assert round(a / 1000, 1) == 9.6  # "~$9.6k/month"
    # B with one on-demand call per miss (the story's design): $4/day -> ~$1.3k.
    b_one_call = monthly_cost_usd(REQ_PER_DAY, 1 - HIT_RATE, COST_PER_CALL_USD, REDIS_MONTHLY_USD)
    assert b_one_call == pytest.approx(1_320.0)
    # The story's "$16/day -> ~$1.7k" needs 0.2 calls/request: four calls per miss.
    b_story = monthly_cost_usd(
        REQ_PER_DAY, (1 - HIT_RATE) * DEPENDENCIES, COST_PER_CALL_USD, REDIS_MONTHLY_USD
    )
    assert (b_story - REDIS_MONTHLY_USD) / 30 == pytest.approx(16.0)
    assert round(b_story / 1000, 1) == 1.7
    assert round((a - b_story) / 1000, 1) == 7.9  # "saving ~$7.9k/month"
    with pytest.raises(FeatureCacheConfigError):
        monthly_cost_usd(-1, 4, COST_PER_CALL_USD)


def test_p95_of_the_max_of_four_exceeds_every_single_p95() -> None:
    models = [s.latency for s in FleetConfig.default().services]
    tail = parallel_tail(models, q=0.95, samples=200_000, seed=1)
    assert tail.single_ms == pytest.approx((70.0, 80.0, 60.0, 90.0))
    # "you pay the worst tail": the fan-out's p95 is above the slowest member's p95
    assert tail.max_exact_ms > tail.slowest_single_ms
    assert tail.penalty_ms > 5.0
    # exact = sampled within 5 standard errors of a quantile of 200k draws (~0.25 ms each)
    assert tail.max_sampled_ms == pytest.approx(tail.max_exact_ms, abs=1.5)
    # the defining equation of the exact value
    assert math.prod(m.cdf(tail.max_exact_ms) for m in models) == pytest.approx(0.95, abs=1e-9)


def test_quantile_of_max_of_identical_calls_has_a_closed_form() -> None:
    m = LognormalLatency.from_percentiles(40.0, 80.0)
    for n in (1, 2, 4, 8):
        # P(max <= x) = F(x)^n = q  =>  x = F^-1(q^(1/n))
        assert quantile_of_max_ms([m] * n) == pytest.approx(m.quantile(0.95 ** (1 / n)), rel=1e-9)
    # the tail grows with the number of dependencies
    assert quantile_of_max_ms([m] * 8) > quantile_of_max_ms([m] * 4) > quantile_of_max_ms([m])


def test_sampled_quantile_is_reproducible_and_validates() -> None:
    m = LognormalLatency.from_percentiles(40.0, 80.0)
    assert sampled_quantile_of_max_ms([m], samples=1000, seed=5) == sampled_quantile_of_max_ms(
        [m], samples=1000, seed=5
    )
    with pytest.raises(FeatureCacheConfigError):
        sampled_quantile_of_max_ms([m], samples=0)
    with pytest.raises(FeatureCacheConfigError):
        quantile_of_max_ms([], 0.95)
