"""The p50/p95 -> lognormal derivation the simulators draw from (no process)."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from feature_cache.deps.config import DEFAULT_LATENCIES_MS, DependencyName, FleetConfig, ServiceConfig
from feature_cache.deps.latency import Z95, LognormalLatency
from feature_cache.errors import FeatureCacheConfigError


def test_z95_is_the_standard_normal_95th_percentile() -> None:
    assert pytest.approx(1.6448536, abs=1e-6) == Z95


@pytest.mark.parametrize(("p50", "p95"), [(40.0, 80.0), (35.0, 70.0), (30.0, 60.0), (45.0, 90.0), (5.0, 6.0)])
def test_parameters_follow_the_documented_formulas(p50: float, p95: float) -> None:
    model = LognormalLatency.from_percentiles(p50, p95)
    assert model.mu == pytest.approx(math.log(p50))
    assert model.sigma == pytest.approx((math.log(p95) - math.log(p50)) / Z95)
    # and it reproduces the two percentiles it was built from
    assert model.quantile(0.50) == pytest.approx(p50)
    assert model.quantile(0.95) == pytest.approx(p95)
    assert model.p50_ms == pytest.approx(p50) and model.p95_ms == pytest.approx(p95)


def test_docstring_example_p99_and_mean() -> None:
    model = LognormalLatency.from_percentiles(40.0, 80.0)
    assert model.sigma == pytest.approx(0.4214, abs=1e-4)
    assert model.quantile(0.99) == pytest.approx(106.7, abs=0.5)
    assert model.mean_ms == pytest.approx(43.8, abs=0.1)
    assert model.mean_ms > model.p50_ms  # right skew


def test_cdf_inverts_quantile_and_pdf_integrates_to_one() -> None:
    model = LognormalLatency.from_percentiles(35.0, 70.0)
    for p in (0.01, 0.25, 0.5, 0.9, 0.95, 0.999):
        assert model.cdf(model.quantile(p)) == pytest.approx(p, abs=1e-9)
    # trapezoid over (0, 2 s]: the density is a density
    xs = [0.05 * i for i in range(1, 40_000)]
    area = sum((model.pdf(a) + model.pdf(b)) / 2 * (b - a) for a, b in itertools.pairwise(xs))
    assert area == pytest.approx(1.0, abs=1e-3)
    assert model.cdf(0) == 0.0


def test_equal_percentiles_give_a_constant_latency() -> None:
    model = LognormalLatency.from_percentiles(25.0, 25.0)
    assert model.sigma == 0
    assert model.from_uniform(0.001) == pytest.approx(25.0)
    assert model.from_uniform(0.999) == pytest.approx(25.0)


@pytest.mark.parametrize(("p50", "p95"), [(0.0, 10.0), (-1.0, 10.0), (50.0, 40.0), (math.inf, math.inf)])
def test_invalid_percentiles_are_config_errors(p50: float, p95: float) -> None:
    with pytest.raises(FeatureCacheConfigError):
        LognormalLatency.from_percentiles(p50, p95)


def test_service_config_rejects_p95_below_p50() -> None:
    with pytest.raises(ValueError, match="p95_ms"):
        ServiceConfig(name=DependencyName.GEO, p50_ms=60, p95_ms=50)


def test_draws_match_the_model_within_sampling_error() -> None:
    model = LognormalLatency.from_percentiles(40.0, 80.0)
    n = 100_000
    rng = random.Random(7)
    draws = sorted(model.sample(rng) for _ in range(n))
    for p, target in ((0.5, 40.0), (0.95, 80.0)):
        empirical = draws[math.ceil(p * n) - 1]
        # 5 standard errors: a false failure has probability ~6e-7 (and the seed is fixed).
        assert abs(empirical - target) < 5 * model.quantile_standard_error(p, n)


def test_quantile_standard_error_formula() -> None:
    model = LognormalLatency.from_percentiles(40.0, 80.0)
    se = model.quantile_standard_error(0.95, 1500)
    assert se == pytest.approx(math.sqrt(0.95 * 0.05 / 1500) / model.pdf(80.0))
    assert 1.5 < se < 2.5  # ~1.84 ms: what the integration test's tolerance is built on
    assert model.quantile_standard_error(0.95, 6000) == pytest.approx(se / 2)


def test_default_fleet_sits_in_the_storys_p95_range_with_distinct_seeds() -> None:
    fleet = FleetConfig.default(seed=3)
    assert {s.name for s in fleet.services} == set(DEFAULT_LATENCIES_MS)
    for svc in fleet.services:
        assert 60.0 <= svc.p95_ms <= 90.0  # story: "each had p95 ~ 60-90 ms"
        assert svc.p50_ms < svc.p95_ms
    seeds = [s.seed for s in fleet.services]
    assert len(set(seeds)) == 4  # independent failure draws per service
    assert seeds != [s.seed for s in FleetConfig.default(seed=4).services]


def test_fleet_config_rejects_duplicate_services_and_edits_one() -> None:
    fleet = FleetConfig.default()
    with pytest.raises(ValueError, match="each name at most once"):
        FleetConfig(services=(fleet.services[0], fleet.services[0]))
    changed = fleet.with_service(fleet.services[1].name, failure_rate=0.5)
    assert changed.service(fleet.services[1].name).failure_rate == 0.5
    assert changed.service(fleet.services[0].name).failure_rate == 0.0
    with pytest.raises(ValueError):
        fleet.with_service(fleet.services[0].name, failure_rate=2.0)
