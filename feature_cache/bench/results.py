"""Typed results of the load tests (shared by `loadtest`, `regression`, `bench`, the plots, the evidence).

Backs every measured figure of the 004 story's comparison: one
`DesignResult` per design and run (measured values beside the story's
formulas on the same inputs), the faults injected, and per-request
`Timeline`s kept apart from the JSON-able results for the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from feature_cache.bench.rig import DependencyCalls, PolledState
from feature_cache.deps.config import DependencyName
from feature_cache.serving.app import AdminState
from feature_cache.serving.prewarm import PrewarmResult
from feature_cache.settings import Design
from starlab.metrics import LatencySummary

__all__ = [
    "DEFAULT_FAULTS",
    "DesignResult",
    "DesignRun",
    "FaultEvent",
    "FaultKind",
    "FaultSpec",
    "LoadtestResult",
    "Timeline",
]


class FaultKind(StrEnum):
    SPIKE = "spike"
    OUTAGE = "outage"


@dataclass(frozen=True)
class FaultSpec:
    """A fault injected when `at` of the run's requests have completed."""

    at: float
    dependency: DependencyName
    kind: FaultKind
    duration_s: float
    multiply: float = 3.0


DEFAULT_FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec(0.30, DependencyName.EMBEDDINGS, FaultKind.SPIKE, 6.0, 3.0),
    FaultSpec(0.65, DependencyName.EMBEDDINGS, FaultKind.OUTAGE, 3.0),
)


@dataclass(frozen=True)
class FaultEvent:
    mono_ns: int
    dependency: DependencyName
    kind: FaultKind
    duration_s: float


@dataclass(frozen=True)
class Timeline:
    """Per-request data of one run, for the plots (kept out of the JSON result)."""

    started_ns: int
    start_ns: list[int]
    latency_ms: list[float]
    status: list[int]
    faults: tuple[FaultEvent, ...]
    killswitch_ns: tuple[int, ...]
    """When the kill switch went on (CLOCK_MONOTONIC)."""
    polls: tuple[PolledState, ...] = ()


@dataclass(frozen=True)
class DesignResult:
    """One design's run: what was measured, and the story's formulas on the same inputs."""

    design: Design
    qps: float
    duration_s: float
    requests: int
    ok: int
    errors: int
    """Non-200, non-429 answers (503 from A, timeouts and resets = status 0)."""
    shed: int
    """429: low-value types rate limited."""
    availability: float
    """200 / (requests - shed)."""
    e2e: LatencySummary
    fetch: LatencySummary
    redis_read: LatencySummary | None
    ondemand_call: LatencySummary | None
    dependencies: tuple[DependencyCalls, ...]
    calls_per_request: float
    hit_rate: float | None
    key_fresh_rate: float | None
    ondemand_per_request: float
    stale_served_rate: float
    degraded_rate: float
    cost_month_usd: float
    """Story's unit prices x the measured calls per request (+ Redis's fixed cost for B)."""
    formula_availability: float
    """A: prod(1 - f_i); B: hit x a_cache + miss x a_cache x a_call, measured f_i and hit."""
    formula_availability_retried: float
    """The same with each call's 1 - f^attempts."""
    formula_fetch_p95_ms: float
    """A: p95 of the max of the four latency models; B: the story's weighted latency."""
    story_cost_month_usd: float
    """The story's calls per request (A 4, B 0.2) at the same prices."""
    guardrail_trips: int
    killswitch_trips: int
    breaker_transitions: tuple[str, ...]
    faults: tuple[FaultSpec, ...]
    prewarm: PrewarmResult | None = None
    dynamic_ttl: bool = False
    app_cpu_ms_per_request: float = 0.0
    """CPU the serving process spent per request (user + system), from /proc."""
    load_avg_1m: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average before and after the run (2 cores, shared)."""

    @property
    def failure_rates(self) -> dict[str, float]:
        return {d.name.value: round(d.failure_rate, 5) for d in self.dependencies}


@dataclass(frozen=True)
class DesignRun:
    result: DesignResult
    timeline: Timeline
    state: AdminState


@dataclass(frozen=True)
class LoadtestResult:
    qps: float
    duration_s: float
    users: int
    zipf_s: float
    cold_share: float
    failure_rate: float
    redis_policy: str
    prewarm: bool
    dynamic_ttl: bool
    designs: tuple[DesignResult, ...]
    plots: tuple[str, ...] = ()
    runs: tuple[DesignRun, ...] = field(default=(), repr=False, compare=False)

    def of(self, design: Design) -> DesignResult | None:
        return next((d for d in self.designs if d.design is design), None)
