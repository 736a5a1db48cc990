"""Latency model of a simulated dependency: a lognormal fixed by its p50 and p95.

Backs the 004 story's premise "each dependency had p95 of about 60-90 ms":
the simulators draw their service time from this model, and the reliability
helpers (`feature_cache.serving.reliability`) sample the very same model to
show that the tail of a parallel fan-out is the tail of the max.

Why lognormal: service times are positive and right-skewed, and two
quantiles pin a lognormal exactly. If ln X ~ N(mu, sigma^2):

    p50 = exp(mu)                  =>  mu    = ln(p50)
    p95 = exp(mu + z95 * sigma)    =>  sigma = (ln(p95) - ln(p50)) / z95

with z95 = Phi^-1(0.95) ~= 1.6449. Any other quantile follows:
q_p = exp(mu + Phi^-1(p) * sigma). For p50 = 40 ms, p95 = 80 ms: sigma ~=
0.421, p99 ~= 106 ms, p99.9 ~= 146 ms, mean = exp(mu + sigma^2 / 2) ~= 43.8 ms.

Draws take a uniform u in (0, 1) and return the quantile at u (inverse-CDF
sampling), so a draw is a pure function of u: the servers derive u from a
hash of (seed, request key) and stay deterministic whatever the arrival
order of concurrent requests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist

from feature_cache.errors import FeatureCacheConfigError

_STD_NORMAL = NormalDist()
Z95 = _STD_NORMAL.inv_cdf(0.95)
"""Phi^-1(0.95) ~= 1.6449: the standard-normal quantile that maps p50 to p95."""

# Keeps inverse-CDF draws finite: u = 0 or 1 would map to 0 or infinity.
_U_EPS = 1e-12


@dataclass(frozen=True)
class LognormalLatency:
    """A lognormal latency distribution in milliseconds, parameterised by ln-space mu and sigma."""

    mu: float
    """Mean of ln(latency_ms)."""
    sigma: float
    """Standard deviation of ln(latency_ms); 0 means a constant latency."""

    @classmethod
    def from_percentiles(cls, p50_ms: float, p95_ms: float) -> LognormalLatency:
        """The unique lognormal whose median is `p50_ms` and 95th percentile `p95_ms`.

        mu = ln(p50); sigma = (ln(p95) - ln(p50)) / Phi^-1(0.95). Equal
        values give a constant latency (sigma = 0).
        """
        if not (p50_ms > 0 and math.isfinite(p50_ms)):
            raise FeatureCacheConfigError(f"p50_ms: must be a positive number of ms, got {p50_ms}")
        if not (p95_ms >= p50_ms and math.isfinite(p95_ms)):
            raise FeatureCacheConfigError(f"p95_ms: must be >= p50_ms ({p50_ms}), got {p95_ms}")
        return cls(mu=math.log(p50_ms), sigma=(math.log(p95_ms) - math.log(p50_ms)) / Z95)

    def quantile(self, p: float) -> float:
        """Latency in ms at probability `p` (0 < p < 1): exp(mu + Phi^-1(p) * sigma)."""
        if not 0.0 < p < 1.0:
            raise ValueError(f"p must be in (0, 1), got {p}")
        return math.exp(self.mu + _STD_NORMAL.inv_cdf(p) * self.sigma)

    def cdf(self, x_ms: float) -> float:
        """P(latency <= x_ms) = Phi((ln x - mu) / sigma)."""
        if x_ms <= 0:
            return 0.0
        if self.sigma == 0:
            return 1.0 if math.log(x_ms) >= self.mu else 0.0
        return _STD_NORMAL.cdf((math.log(x_ms) - self.mu) / self.sigma)

    def pdf(self, x_ms: float) -> float:
        """Density at x_ms (per ms): phi((ln x - mu) / sigma) / (x * sigma).

        Used to size test tolerances: the standard error of an empirical
        p-quantile over n draws is about sqrt(p (1 - p) / n) / pdf(q_p).
        """
        if x_ms <= 0 or self.sigma == 0:
            return 0.0
        z = (math.log(x_ms) - self.mu) / self.sigma
        return _STD_NORMAL.pdf(z) / (x_ms * self.sigma)

    @property
    def p50_ms(self) -> float:
        return math.exp(self.mu)

    @property
    def p95_ms(self) -> float:
        return math.exp(self.mu + Z95 * self.sigma)

    @property
    def mean_ms(self) -> float:
        """exp(mu + sigma^2 / 2): above the median, as a right-skewed distribution's mean is."""
        return math.exp(self.mu + self.sigma**2 / 2)

    def from_uniform(self, u: float) -> float:
        """Inverse-CDF draw: the latency at uniform `u`, clamped away from 0 and 1."""
        return self.quantile(min(max(u, _U_EPS), 1.0 - _U_EPS))

    def sample(self, rng: random.Random) -> float:
        """One draw in ms from `rng` (same code path as the servers: `from_uniform`)."""
        return self.from_uniform(rng.random())

    def quantile_standard_error(self, p: float, n: int) -> float:
        """Asymptotic standard error (ms) of the empirical p-quantile of n independent draws."""
        if n <= 0:
            raise ValueError("n must be positive")
        density = self.pdf(self.quantile(p))
        if density == 0:
            return 0.0
        return math.sqrt(p * (1 - p) / n) / density


__all__ = ["Z95", "LognormalLatency"]
