"""Typed configuration of the four simulated dependencies of the 004 story.

The story's design A calls four services per request (social graph,
embeddings, geo, abuse signals), each with "p95 of about 60-90 ms" and, in
its reliability math, "availability ~99.5%". The defaults below put every
p95 inside 60-90 ms and the failure rate at 0 (a test or a scenario sets
0.005 to reproduce 0.995^4). The p50s and the 150 ms per-call timeout are
ours: the story names timeouts without values. 150 ms is about twice the
slowest p95, where a call is more likely stuck than slow (P(X > 150 ms) is
0.2% for the abuse service's lognormal).

Settings the lead may expose (prefix e.g. `STARLAB_FEATURES_DEPS_`): each
service's p50_ms, p95_ms, failure_rate, failure_mode, timeout_ms; the
fleet's seed, host and intent_period_s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from feature_cache.deps.latency import LognormalLatency


class DependencyName(StrEnum):
    """The four downstream services of the story, in the story's order."""

    SOCIAL = "social"
    EMBEDDINGS = "embeddings"
    GEO = "geo"
    ABUSE = "abuse"


class FailureMode(StrEnum):
    """How an injected failure looks to the caller."""

    HTTP_503 = "http_503"
    """A 503 Service Unavailable with a small JSON body (a shed or broken backend)."""
    RESET = "reset"
    """Headers and part of the body, then a TCP RST (SO_LINGER 0). Mid-body on
    purpose: aiohttp transparently re-sends an idempotent request once when a
    reused connection drops before the response headers, which would hide
    the failure and the extra call from the caller's retry accounting."""
    HANG = "hang"
    """No answer until the caller gives up (its timeout is the failure)."""


class ProcessLayout(StrEnum):
    """How the launcher maps services to processes."""

    PER_SERVICE = "per_service"
    """One process (one event loop) per service: a burst on one service cannot
    delay another's timers, as separate teams' systems would not."""
    SHARED = "shared"
    """All services in one process and one loop: fewer processes to wake on a
    small VM, at the price of correlated scheduling lag between services."""


class ServiceConfig(BaseModel):
    """One simulated dependency: its latency distribution, failure injection and client timeout."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: DependencyName
    p50_ms: float = Field(gt=0, le=60_000)
    """Median service time (server side, before HTTP overhead)."""
    p95_ms: float = Field(gt=0, le=60_000)
    """95th percentile of the service time; with p50_ms it fixes the lognormal."""
    failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Probability that a call fails (after its sampled latency), 0.005 = the story's 99.5%."""
    failure_mode: FailureMode = FailureMode.HTTP_503
    timeout_ms: float = Field(default=150.0, gt=0, le=60_000)
    """Per-call client timeout a caller (design A's fan-out, design B's on-demand call) applies."""
    seed: int = Field(default=0, ge=0)
    """Seed of the latency and failure draws: same seed + same request keys = same draws."""

    @model_validator(mode="after")
    def _p95_not_below_p50(self) -> ServiceConfig:
        if self.p95_ms < self.p50_ms:
            raise ValueError(f"p95_ms ({self.p95_ms}) must be >= p50_ms ({self.p50_ms})")
        return self

    @property
    def latency(self) -> LognormalLatency:
        return LognormalLatency.from_percentiles(self.p50_ms, self.p95_ms)

    @property
    def availability(self) -> float:
        """1 - failure_rate: the a_i of the story's prod(a_i) (timeouts not included)."""
        return 1.0 - self.failure_rate


@dataclass(frozen=True)
class DependencyEndpoint:
    """Where one running dependency answers, and the per-call timeout its callers apply.

    `DependencyFleet.endpoints` builds these; a caller pointed at real
    services builds them by hand (pid and port are informative only).
    """

    name: DependencyName
    base_url: str
    timeout_ms: float
    pid: int = 0
    port: int = 0


def _derived_seed(seed: int, name: DependencyName) -> int:
    # Each service gets its own stream: equal seeds would correlate the four
    # services' draws for the same request key, and the story's prod(a_i)
    # assumes independent failures.
    digest = hashlib.blake2b(f"{seed}:{name.value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


# (p50_ms, p95_ms): every p95 inside the story's 60-90 ms.
DEFAULT_LATENCIES_MS: dict[DependencyName, tuple[float, float]] = {
    DependencyName.SOCIAL: (35.0, 70.0),
    DependencyName.EMBEDDINGS: (40.0, 80.0),
    DependencyName.GEO: (30.0, 60.0),
    DependencyName.ABUSE: (45.0, 90.0),
}


class FleetConfig(BaseModel):
    """The four services together, plus what the launcher needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    services: tuple[ServiceConfig, ...]
    layout: ProcessLayout = ProcessLayout.PER_SERVICE
    host: str = "127.0.0.1"
    """Loopback only: these stand for other teams' systems, not for anything exposed."""
    intent_period_s: float = Field(default=5.0, gt=0, le=3_600)
    """How often the embeddings service's fast-changing `session_intent` changes."""
    startup_timeout_s: float = Field(default=20.0, gt=0)
    """Four Python processes importing aiohttp + pydantic on 2 cores take ~1-3 s; 20 s is slack."""

    @model_validator(mode="after")
    def _one_per_name(self) -> FleetConfig:
        names = [s.name for s in self.services]
        if len(set(names)) != len(names):
            raise ValueError(f"services: each name at most once, got {[n.value for n in names]}")
        if not names:
            raise ValueError("services: at least one service")
        return self

    @classmethod
    def default(
        cls,
        *,
        failure_rate: float = 0.0,
        failure_mode: FailureMode = FailureMode.HTTP_503,
        timeout_ms: float = 150.0,
        seed: int = 0,
        intent_period_s: float = 5.0,
        layout: ProcessLayout = ProcessLayout.PER_SERVICE,
    ) -> FleetConfig:
        """The story's four services with the default latencies and one failure rate for all."""
        return cls(
            services=tuple(
                ServiceConfig(
                    name=name,
                    p50_ms=p50,
                    p95_ms=p95,
                    failure_rate=failure_rate,
                    failure_mode=failure_mode,
                    timeout_ms=timeout_ms,
                    seed=_derived_seed(seed, name),
                )
                for name, (p50, p95) in DEFAULT_LATENCIES_MS.items()
            ),
            intent_period_s=intent_period_s,
            layout=layout,
        )

    def service(self, name: DependencyName) -> ServiceConfig:
        for svc in self.services:
            if svc.name is name:
                return svc
        raise KeyError(name)

    def with_service(self, name: DependencyName, **changes: object) -> FleetConfig:
        """A copy with one service's fields changed (validated again)."""
        services = tuple(
            ServiceConfig.model_validate({**s.model_dump(), **changes}) if s.name is name else s
            for s in self.services
        )
        return self.model_copy(update={"services": services})


__all__ = [
    "DEFAULT_LATENCIES_MS",
    "DependencyEndpoint",
    "DependencyName",
    "FailureMode",
    "FleetConfig",
    "ProcessLayout",
    "ServiceConfig",
]
