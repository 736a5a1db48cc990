"""The feature-serving API of the 004 story: `GET /features/{user_id}` by design A or design B.

Backs the story's comparison ("Design A: per-request fan-out to 4 services
... p95 ~290 ms, availability 0.995^4 = 98%" vs "Design B: streaming
precompute + Redis ... single on-demand call ... degradation fallback ...
p95 ~205 ms, 99.95%") and its guardrails (kill switch, breaker, rate limit,
auto-rollback at p95 > 250 ms or failures > 0.5%), with story 4's "online
serving p95 < 50 ms" as design B's fetch stage.

    uvicorn --factory feature_cache.serving.app:create_app      # or: starlab features serve

One design per process (`STARLAB_FEATURES_DESIGN=A|B`), read when the
factory runs, never at import.

- A: `FanoutClient.fetch` (four parallel calls, stamina retries, deadline);
  any dependency still failing fails the request (503: the design has no
  partial answer).
- B: one pipelined Redis read (`cache.CacheReader`), the freshness rule
  (`cache.plan_read`), the on-demand embeddings call through the breaker
  when a group it supplies is missing or the fast group is stale, fallback
  to the stale value or to nothing (flagged) when the call fails or the
  breaker is open, write-back of the answer when the admission doorkeeper
  admits the user, the kill switch (no calls, expiry raised), rate limiting
  of low-value types (429 with a reason), and a guardrail that trips the
  kill switch. Redis errors or a read slower than `redis_budget_ms` give a
  degraded, flagged 200, never a 5xx.
- Both: the scoring stage (a seeded lognormal with the story's 120 ms p95)
  after the fetch, and `timings` splitting fetch and scoring.

Operations: `/healthz`, `/admin/state` (counters, hit rate = hits /
lookups from this app's own counters, kill switch and guardrail history,
breaker transitions, HDR histograms), `POST /admin/killswitch`,
`POST /admin/mitigations`, `POST /admin/reset`.

No `from __future__ import annotations`: FastAPI reads the route
annotations at runtime.
"""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from enum import StrEnum
from typing import Annotated

from fastapi import Body, FastAPI, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from feature_cache.deps.config import DependencyEndpoint, DependencyName
from feature_cache.deps.features import EmbeddingFeatures
from feature_cache.errors import FeatureCacheError, FeatureCacheTransientError
from feature_cache.serving.admission import Doorkeeper, DoorkeeperState
from feature_cache.serving.breaker import BreakerConfig, BreakerState, CallSource, OnDemandBreaker
from feature_cache.serving.cache import (
    CacheFailure,
    CacheRead,
    CacheReader,
    Freshness,
    TtlTable,
    now_ms,
    plan_read,
    queue_write,
)
from feature_cache.serving.fanout import CallOutcome, FanoutClient, FanoutConfig
from feature_cache.serving.guardrail import Guardrail, GuardrailConfig, GuardrailVerdict
from feature_cache.serving.keys import (
    LOW_VALUE_TYPES,
    USER_ID_PATTERN,
    VIEW,
    GroupName,
    RequestType,
    Value,
    groups_from_embeddings,
    groups_from_services,
    spec,
)
from feature_cache.serving.killswitch import KillSwitch, KillSwitchSource, KillSwitchState
from feature_cache.serving.limits import LowValueRateLimiter, RateLimitConfig
from feature_cache.serving.metrics import watch
from feature_cache.serving.scoring import ScoringStage
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.observability.http import instrument
from starlab.redis_client import REDIS_ERRORS, AsyncRedis, async_client, discover
from starlab.serving.histogram import LatencyRecorder
from starlab.settings import Settings

__all__ = [
    "AdminState",
    "Counters",
    "FeaturesResponse",
    "Flag",
    "GroupState",
    "GroupStatus",
    "Mitigations",
    "Timings",
    "create_app",
]


# --- response models ---------------------------------------------------------------------


class GroupStatus(StrEnum):
    FRESH = "fresh"
    """Within its TTL (from Redis in B, live from the services in A)."""
    STALE = "stale"
    """Older than its TTL, served anyway and flagged (no call could or may refresh it)."""
    DEGRADED = "degraded"
    """No value: missing and not fetchable now; the fields are null."""
    ONDEMAND = "ondemand"
    """Fetched from the embeddings service for this request (B)."""


class Flag(StrEnum):
    CACHE_MISS = "cache_miss"
    STALE_SERVED = "stale_served"
    ONDEMAND_CALL = "ondemand_call"
    ONDEMAND_FAILED = "ondemand_failed"
    BREAKER_OPEN = "breaker_open"
    ONDEMAND_UNAVAILABLE = "ondemand_unavailable"
    DEGRADED = "degraded"
    KILL_SWITCH = "kill_switch"
    CACHE_UNAVAILABLE = "cache_unavailable"
    CACHE_TIMEOUT = "cache_timeout"
    DYNAMIC_TTL = "dynamic_ttl"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SocialOut(_Out):
    follower_count: int | None = None
    following_count: int | None = None
    mutual_friends: int | None = None
    account_age_days: int | None = None


class EmbeddingsOut(_Out):
    embedding: list[float] | None = None


class IntentOut(_Out):
    session_intent: str | None = None
    intent_epoch: int | None = None


class GeoOut(_Out):
    country: str | None = None
    city: str | None = None
    timezone: str | None = None


class AbuseOut(_Out):
    risk_score: float | None = None
    is_flagged: bool | None = None


class FeatureValues(_Out):
    """The 13 features of the view; null where the group is degraded."""

    social: SocialOut
    embeddings: EmbeddingsOut
    intent: IntentOut
    geo: GeoOut
    abuse: AbuseOut


class GroupState(_Out):
    status: GroupStatus
    age_s: float | None = Field(default=None, description="Age of the values by their event time.")
    ttl_s: float | None = Field(default=None, description="TTL the freshness was judged against.")


class Timings(_Out):
    fetch_ms: float = Field(description="The fetch stage: fan-out (A) or cache read + on-demand call (B).")
    scoring_ms: float = Field(description="The scoring stage (the story's baseline pipeline).")
    total_ms: float
    redis_ms: float | None = None
    ondemand_ms: float | None = None


class FeaturesResponse(_Out):
    user_id: str
    request_type: RequestType
    design: Design
    features: FeatureValues
    groups: dict[GroupName, GroupState]
    flags: list[Flag]
    timings: Timings


class ErrorOut(_Out):
    detail: str
    reason: str


class RateLimitedOut(_Out):
    detail: str
    reason: str = "rate_limited"
    request_type: RequestType
    retry_after_s: float | None


class BadBodyOut(BaseModel):
    detail: str


_BAD_BODY: dict[int | str, dict[str, object]] = {
    400: {"model": BadBodyOut, "description": "The body is not JSON."}
}


class Health(_Out):
    status: str
    design: Design


# --- admin models ---------------------------------------------------------------------------


class Counters(BaseModel):
    """This process's own counts since start or the last /admin/reset."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    """5xx answers (design A's failed fan-outs)."""
    rate_limited: int = 0
    lookups: int = 0
    """B: requests that read the cache (one per request, whatever Redis answered)."""
    hits: int = 0
    """B: requests whose every group was found fresh in Redis."""
    key_lookups: int = 0
    key_found: int = 0
    key_fresh: int = 0
    stale_served: int = 0
    """Requests with at least one group served stale."""
    degraded: int = 0
    """Requests with at least one group degraded (null)."""
    ondemand_calls: int = 0
    """On-demand calls attempted (B); each may be up to `ondemand_attempts` HTTP requests."""
    ondemand_ok: int = 0
    ondemand_failed: int = 0
    breaker_refused: int = 0
    dependency_calls: int = 0
    """Design A: HTTP requests the fan-outs sent, retries included. B's calls are in
    `ondemand_calls` (attempts not split out); the dependencies' /stats count every request."""
    dependency_calls_answered: int = 0
    """Design A: of `dependency_calls`, those whose response headers came back. A service's own
    count lies between the two: an attempt abandoned in flight may or may not have reached it."""
    writebacks: int = 0
    writeback_rejected: int = 0
    """On-demand answers not written back: the user has not proved hot yet."""
    writeback_errors: int = 0
    cache_unavailable: int = 0
    cache_timeouts: int = 0
    cache_corrupt: int = 0
    killswitch_served: int = 0
    keys_extended: int = 0
    guardrail_failures: int = 0
    by_type: dict[str, int] = Field(default_factory=dict)
    limited_by_type: dict[str, int] = Field(default_factory=dict)


class Mitigations(BaseModel):
    """What an operator (or the regression scenario) switches at run time."""

    breaker: bool
    rate_limit: bool
    rate_limit_on_trip: bool
    admission: bool
    guardrail_armed: bool
    dynamic_ttl: bool


class _Command(BaseModel):
    # Strict: a request body's `true` is a boolean, not 1 or "yes" (schemathesis sends both).
    model_config = ConfigDict(extra="forbid", strict=True)


class MitigationsPatch(_Command):
    breaker: bool | None = None
    rate_limit: bool | None = None
    rate_limit_on_trip: bool | None = None
    admission: bool | None = None
    guardrail_armed: bool | None = None
    dynamic_ttl: bool | None = None


class KillSwitchCommand(_Command):
    on: bool
    reason: str = Field(default="operator", max_length=200)


class ResetCommand(_Command):
    guardrail: bool = Field(default=False, description="Also forget the guardrail's window and trips.")


class GuardrailTrip(BaseModel):
    at: float
    p95_ms: float | None
    failure_rate: float | None
    samples: int
    reasons: list[str]
    killswitch_tripped: bool
    """False when the guardrail was not armed, or the kill switch was already on."""


class GuardrailOut(BaseModel):
    armed: bool
    tripped: bool
    trips: list[GuardrailTrip]
    window_p95_ms: float | None
    window_failure_rate: float | None
    window_samples: int


class BreakerChange(BaseModel):
    at: float
    old: BreakerState
    new: BreakerState


class BreakerOut(BaseModel):
    enabled: bool
    state: BreakerState
    effective_state: BreakerState
    transitions: list[BreakerChange]


class LatencyOut(BaseModel):
    count: int
    p50: float
    p95: float
    p99: float
    max: float
    histogram: str
    """HDR histogram, compressed and base64: merge it exactly with `LatencyRecorder.decode`."""


class AdminState(BaseModel):
    design: Design
    pid: int
    uptime_s: float
    since_reset_s: float
    counters: Counters
    hit_rate: float | None
    """hits / lookups (B), from this app's own counters."""
    key_fresh_rate: float | None
    killswitch: KillSwitchState
    guardrail: GuardrailOut
    breaker: BreakerOut
    admission: DoorkeeperState
    rate_limit_engaged: bool
    mitigations: Mitigations
    ttl_s: dict[GroupName, float]
    ttl_dynamic: bool
    fetch_ms: LatencyOut | None
    total_ms: LatencyOut | None
    redis_ms: LatencyOut | None
    """B: the cache read alone (one round trip), every request."""
    ondemand_ms: LatencyOut | None
    """B: the on-demand call alone (breaker refusals included), requests that made one."""


def _latency(rec: LatencyRecorder) -> LatencyOut | None:
    """Percentiles in one pass over the buckets. Not `LatencyRecorder.summary()`: its mean walks
    every bucket in Python (~40-60 ms here), and this runs on the serving loop: polled once a
    second, that stalled every request in flight (measured as stripes in the regression plot)."""
    if rec.count == 0:
        return None
    q = rec.h.get_percentile_to_value_dict([50, 95, 99])
    return LatencyOut(
        count=rec.count,
        p50=q[50] / 1000,
        p95=q[95] / 1000,
        p99=q[99] / 1000,
        max=rec.h.get_max_value() / 1000,
        histogram=rec.encode(),
    )


# --- the runtime --------------------------------------------------------------------------------


_EMPTY: dict[GroupName, dict[str, Value]] = {g.name: {} for g in VIEW}
_WRITE_BACK_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError, TimeoutError)


class _Runtime:
    """Everything one serving process holds; built by the factory, connected in the lifespan."""

    def __init__(self, cfg: FeatureCacheSettings, kernel: Settings, redis_url: str) -> None:
        self.cfg = cfg
        self.kernel = kernel
        self.redis_url = redis_url
        self.started = time.time()
        self.reset_at = self.started
        self.static_ttl = TtlTable.static(cfg.default_ttl_s, cfg.fast_ttl_s, cfg.fast_groups)
        self.last_ttl = self.static_ttl
        self.fast = frozenset(GroupName(g) for g in cfg.fast_groups)
        self.reader = CacheReader(cfg.key_prefix, self.static_ttl)
        self.killswitch = KillSwitch()
        self.counters = Counters()
        self.fetch_rec = LatencyRecorder()
        self.total_rec = LatencyRecorder()
        self.redis_rec = LatencyRecorder()
        self.ondemand_rec = LatencyRecorder()
        self.scoring = ScoringStage(
            cfg.scoring_p50_ms, cfg.scoring_p95_ms, cfg.scoring_seed, enabled=cfg.scoring
        )
        self.doorkeeper = Doorkeeper(
            cfg.admission_window_s, cfg.admission_min_sightings, cfg.admission_max_keys, enabled=cfg.admission
        )
        limits = RateLimitConfig() if cfg.rate_limits is None else RateLimitConfig(limits=cfg.rate_limits)
        self.limiter = LowValueRateLimiter(limits)
        self.mitigations = Mitigations(
            breaker=cfg.breaker,
            rate_limit=cfg.rate_limit_engaged,
            rate_limit_on_trip=cfg.rate_limit_on_trip,
            admission=cfg.admission,
            guardrail_armed=cfg.guardrail_armed,
            dynamic_ttl=cfg.dynamic_ttl,
        )
        self.guardrail_trips: list[GuardrailTrip] = []
        self.guardrail = self._new_guardrail()
        self.breaker: OnDemandBreaker[EmbeddingFeatures | None] = OnDemandBreaker(
            BreakerConfig(failure_threshold=cfg.breaker_failure_threshold, recovery_s=cfg.breaker_recovery_s),
            fallback=self._no_value,
        )
        self.endpoints = {
            DependencyName(name): DependencyEndpoint(
                DependencyName(name), url.rstrip("/"), cfg.deps_timeout_ms
            )
            for name, url in cfg.deps_urls.items()
        }
        if cfg.design is Design.A:
            missing = [n.value for n in DependencyName if n not in self.endpoints]
            if missing:
                raise FeatureCacheError(f"design A needs every dependency URL; missing: {', '.join(missing)}")
        self.redis: AsyncRedis | None = None
        self.client: FanoutClient | None = None
        self.seq = 0
        self.pending: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.cfg
        if cfg.design is Design.B:
            self.redis = async_client(
                self.kernel,
                url=self.redis_url,
                topology=cfg.redis_topology,
                max_connections=cfg.redis_pool_size,
                pool_timeout=cfg.redis_budget_ms / 1000.0,
                socket_timeout=1.0,
                socket_connect_timeout=0.5,
                # Fail fast: the read has a 20 ms budget, and a degraded answer beats a retry.
                retry=Retry(NoBackoff(), 0),
            )
            # A cluster's slot map now, not in the first read's budget; if Redis is down the
            # app starts anyway (serving degraded) and the first read asks again.
            with suppress(*REDIS_ERRORS, OSError):
                await discover(self.redis)
            endpoints: dict[DependencyName, DependencyEndpoint] = {
                k: v for k, v in self.endpoints.items() if k is DependencyName.EMBEDDINGS
            }
            config = FanoutConfig(attempts=cfg.ondemand_attempts, deadline_ms=cfg.ondemand_deadline_ms)
        else:
            endpoints = dict(self.endpoints)
            config = FanoutConfig(attempts=cfg.fanout_attempts, deadline_ms=cfg.fanout_deadline_ms)
        if endpoints:
            self.client = FanoutClient(endpoints, config)
            await self.client.start()

    async def stop(self) -> None:
        for task in list(self.pending):
            task.cancel()
        if self.client is not None:
            await self.client.close()
        if self.redis is not None:
            await self.redis.aclose()  # and its pool(s)

    # --- guardrail and kill switch ---------------------------------------------------------

    def _new_guardrail(self) -> Guardrail:
        cfg = self.cfg
        return Guardrail(
            GuardrailConfig(
                window_s=cfg.guardrail_window_s,
                p95_trip_ms=cfg.guardrail_p95_trip_ms,
                failure_rate_trip=cfg.guardrail_failure_trip,
                min_samples=cfg.guardrail_min_samples,
                eval_interval_s=cfg.guardrail_eval_interval_s,
                p95_reset_ms=min(200.0, cfg.guardrail_p95_trip_ms),
                failure_rate_reset=min(0.0025, cfg.guardrail_failure_trip),
            ),
            on_trip=self._on_trip,
        )

    def arm(self) -> None:
        """Arm the guardrail; if its window is already past a threshold, act now (a trip that
        happened while disarmed would otherwise wait for the window to heal and break again)."""
        self.mitigations = self.mitigations.model_copy(update={"guardrail_armed": True})
        verdict = self.guardrail.evaluate()
        if verdict.tripped and not verdict.changed:
            self._on_trip(verdict)

    def _on_trip(self, verdict: GuardrailVerdict) -> None:
        acted = False
        if self.mitigations.guardrail_armed:
            reasons = "+".join(r.value for r in verdict.reasons)
            p95 = f"{verdict.p95_ms:.0f} ms" if verdict.p95_ms is not None else "n/a"
            rate = f"{verdict.failure_rate:.2%}" if verdict.failure_rate is not None else "n/a"
            acted = self.killswitch.trip(
                KillSwitchSource.GUARDRAIL, f"guardrail {reasons}: p95 {p95}, failures {rate}"
            )
        self.guardrail_trips.append(
            GuardrailTrip(
                at=time.time(),
                p95_ms=verdict.p95_ms,
                failure_rate=verdict.failure_rate,
                samples=verdict.samples,
                reasons=[r.value for r in verdict.reasons],
                killswitch_tripped=acted,
            )
        )

    def rate_limit_engaged(self) -> bool:
        m = self.mitigations
        return m.rate_limit or (m.rate_limit_on_trip and self.guardrail.tripped)

    @staticmethod
    async def _no_value(_: FeatureCacheTransientError) -> EmbeddingFeatures | None:
        return None

    # --- design A ----------------------------------------------------------------------------

    async def fetch_a(
        self, user_id: str, rid: str
    ) -> tuple[dict[GroupName, dict[str, Value]] | None, dict[GroupName, GroupState], list[Flag], str]:
        assert self.client is not None
        res = await self.client.fetch(user_id, request_id=rid)
        self.counters.dependency_calls += res.calls_made
        self.counters.dependency_calls_answered += res.calls_answered
        if res.features is None:
            failed = [d.name.value for d in res.dependencies if d.outcome is CallOutcome.FAILED]
            return None, {}, [], ", ".join(failed) or "deadline"
        f = res.features
        values = groups_from_services(f.social, f.embeddings, f.geo, f.abuse)
        states = {g: GroupState(status=GroupStatus.FRESH, age_s=0.0) for g in values}
        return values, states, [], ""

    # --- design B ----------------------------------------------------------------------------

    async def _ondemand(self, user_id: str, rid: str) -> tuple[EmbeddingFeatures | None, list[Flag]]:
        """The embeddings call, through the breaker when it is on; never raises."""
        c = self.counters
        if self.client is None:
            return None, [Flag.ONDEMAND_UNAVAILABLE]
        client = self.client
        c.ondemand_calls += 1

        async def call() -> EmbeddingFeatures | None:
            return await client.fetch_embeddings(user_id, request_id=rid)

        try:
            if self.mitigations.breaker:
                result = await self.breaker.call(call)
                if result.source is CallSource.FALLBACK_OPEN:
                    c.ondemand_calls -= 1  # refused without a call
                    c.breaker_refused += 1
                    return None, [Flag.BREAKER_OPEN]
                if result.source is CallSource.FALLBACK_ERROR:
                    c.ondemand_failed += 1
                    return None, [Flag.ONDEMAND_FAILED]
                c.ondemand_ok += 1
                return result.value, []
            value = await call()
            c.ondemand_ok += 1
            return value, []
        except FeatureCacheError:
            # Transient without the breaker, or terminal (4xx, off-schema) either way:
            # the request is still answered, degraded and flagged.
            c.ondemand_failed += 1
            return None, [Flag.ONDEMAND_FAILED]

    async def _write_back(
        self, user_id: str, values: Mapping[GroupName, Mapping[str, Value]], at: int
    ) -> None:
        assert self.redis is not None
        try:
            async with asyncio.timeout(self.cfg.redis_budget_ms / 1000.0 * 5):
                pipe = self.redis.pipeline(transaction=False)
                for g, vals in values.items():
                    queue_write(
                        pipe,
                        self.cfg.key_prefix,
                        user_id,
                        spec(g),
                        vals,
                        event_ts_ms=at,
                        ingest_ts_ms=now_ms(),
                        ttl_s=self.last_ttl.of(g),
                    )
                await pipe.execute()
            self.counters.writebacks += 1
        except _WRITE_BACK_ERRORS:
            self.counters.writeback_errors += 1

    async def fetch_b(
        self, user_id: str, rid: str
    ) -> tuple[
        dict[GroupName, dict[str, Value]],
        dict[GroupName, GroupState],
        list[Flag],
        bool,
        CacheRead,
        float | None,
    ]:
        """Values, group states, flags, whether a dependency or Redis failed, the read, on-demand ms."""
        assert self.redis is not None
        cfg, c = self.cfg, self.counters
        ks = self.killswitch.on
        extend = None
        if ks:
            extend = {g: self.last_ttl.of(g) * cfg.killswitch_ttl_multiplier for g in GroupName}
        read = await self.reader.read(
            self.redis,
            user_id,
            budget_s=cfg.redis_budget_ms / 1000.0,
            dynamic=self.mitigations.dynamic_ttl,
            extend=extend,
        )
        at = now_ms()
        self.redis_rec.record_ms(read.redis_ms)
        if read.failure is None:
            self.last_ttl = read.ttl
        plan = plan_read(read, at, self.fast, killswitch=ks)
        flags: list[Flag] = []
        failed = False
        c.lookups += 1
        c.key_lookups += len(read.groups)
        c.key_found += sum(1 for v in read.groups.values() if v is not None)
        c.key_fresh += sum(1 for f in plan.freshness.values() if f is Freshness.FRESH)
        c.keys_extended += read.extended
        if read.corrupt:
            c.cache_corrupt += 1
        if plan.hit:
            c.hits += 1
        if read.failure is CacheFailure.TIMEOUT:
            flags.append(Flag.CACHE_TIMEOUT)
            c.cache_timeouts += 1
            failed = True
        elif read.failure is CacheFailure.UNAVAILABLE:
            flags.append(Flag.CACHE_UNAVAILABLE)
            c.cache_unavailable += 1
            failed = True
        if ks:
            flags.append(Flag.KILL_SWITCH)
        if read.ttl.dynamic:
            flags.append(Flag.DYNAMIC_TTL)
        if any(f is Freshness.MISSING for f in plan.freshness.values()) and read.failure is None:
            flags.append(Flag.CACHE_MISS)

        fetched: dict[GroupName, dict[str, Value]] | None = None
        ondemand_ms: float | None = None
        if plan.call:
            t0 = time.perf_counter()
            emb, call_flags = await self._ondemand(user_id, rid)
            ondemand_ms = (time.perf_counter() - t0) * 1e3
            self.ondemand_rec.record_ms(ondemand_ms)
            flags.append(Flag.ONDEMAND_CALL)
            flags.extend(call_flags)
            if Flag.ONDEMAND_FAILED in call_flags:
                failed = True
            if emb is not None:
                fetched = groups_from_embeddings(emb)
                if self.doorkeeper.admit(user_id):
                    stored = {g: fetched[g] for g in plan.refresh}
                    task = asyncio.create_task(self._write_back(user_id, stored, now_ms()))
                    self.pending.add(task)
                    task.add_done_callback(self.pending.discard)
                else:
                    c.writeback_rejected += 1

        values: dict[GroupName, dict[str, Value]] = {}
        states: dict[GroupName, GroupState] = {}
        stale = degraded = False
        for g, cached in read.groups.items():
            f = plan.freshness[g]
            ttl = read.ttl.of(g)
            if fetched is not None and g in plan.refresh:
                values[g] = fetched[g]
                states[g] = GroupState(status=GroupStatus.ONDEMAND, age_s=0.0, ttl_s=ttl)
            elif cached is not None:
                values[g] = dict(cached.values)
                status = GroupStatus.FRESH if f is Freshness.FRESH else GroupStatus.STALE
                stale = stale or status is GroupStatus.STALE
                states[g] = GroupState(status=status, age_s=round(cached.age_s(at), 3), ttl_s=ttl)
            else:
                values[g] = {}
                degraded = True
                states[g] = GroupState(status=GroupStatus.DEGRADED, ttl_s=ttl)
        if stale:
            flags.append(Flag.STALE_SERVED)
            c.stale_served += 1
        if degraded:
            flags.append(Flag.DEGRADED)
            c.degraded += 1
        if ks:
            c.killswitch_served += 1
        return values, states, flags, failed, read, ondemand_ms


def _features(values: Mapping[GroupName, Mapping[str, Value]]) -> FeatureValues:
    return FeatureValues.model_validate({g.name.value: dict(values.get(g.name, {})) for g in VIEW})


# --- the factory ----------------------------------------------------------------------------------


def create_app(settings: FeatureCacheSettings | None = None, redis_url: str | None = None) -> FastAPI:
    """Build the app; settings are read here (the process's environment), not at import."""
    from starlab.settings import get_settings

    cfg = settings if settings is not None else FeatureCacheSettings()
    kernel = get_settings()
    rt = _Runtime(cfg, kernel, redis_url or cfg.redis_url or kernel.redis_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await rt.start()
        try:
            yield
        finally:
            await rt.stop()

    app = FastAPI(
        title="starlab features",
        version="1.0.0",
        description=(
            "The 004 story's feature serving: design A (fan-out to four services) or design B "
            "(Redis first, on-demand call, breaker, kill switch, rate limit, guardrail)."
        ),
        lifespan=lifespan,
    )
    app.state.runtime = rt
    instrument(app)  # /metrics: request counts and SLO-bucketed latency (starlab/observability/http.py)
    watch(rt)  # and this runtime's counters, breaker and kill switch (serving/metrics.py)

    @app.get("/healthz", response_model=Health, summary="Liveness (constant, no dependency touched)")
    async def healthz() -> Health:
        return Health(status="ok", design=cfg.design)

    @app.get(
        "/features/{user_id}",
        response_model=FeaturesResponse,
        responses={
            429: {"model": RateLimitedOut, "description": "A low-value request type is rate limited now."},
            503: {"model": ErrorOut, "description": "Design A: a dependency still failed after retries."},
        },
        summary="One user's features, with each group's freshness, flags and stage timings",
    )
    async def features(
        user_id: Annotated[str, Path(pattern=USER_ID_PATTERN, description="The user to rank for.")],
        request_type: Annotated[
            RequestType,
            Query(alias="type", description="Notification type (low value: digest, promotional)."),
        ] = RequestType.RECOMMENDATION,
    ) -> Response:
        t0 = time.perf_counter()
        c = rt.counters
        c.requests += 1
        c.by_type[request_type.value] = c.by_type.get(request_type.value, 0) + 1
        rt.seq += 1
        rid = f"{cfg.design.value}{os.getpid()}-{rt.seq}"

        if request_type in LOW_VALUE_TYPES and rt.rate_limit_engaged():
            decision = await rt.limiter.check(request_type.value)
            if not decision.allowed:
                c.rate_limited += 1
                c.limited_by_type[request_type.value] = c.limited_by_type.get(request_type.value, 0) + 1
                retry = (
                    None if decision.reset_at is None else max(0.0, round(decision.reset_at - time.time(), 3))
                )
                body = RateLimitedOut(
                    detail=f"{request_type.value} requests are shed to protect the SLO",
                    request_type=request_type,
                    retry_after_s=retry,
                )
                return Response(body.model_dump_json(), status_code=429, media_type="application/json")

        redis_ms = ondemand_ms = None
        if cfg.design is Design.A:
            values_a, states, flags, reason = await rt.fetch_a(user_id, rid)
            failed = values_a is None
            values = values_a or _EMPTY
        else:
            values, states, flags, failed, read, ondemand_ms = await rt.fetch_b(user_id, rid)
            redis_ms = round(read.redis_ms, 3)
            reason = ""
        fetch_ms = (time.perf_counter() - t0) * 1e3
        rt.fetch_rec.record_ms(fetch_ms)

        if cfg.design is Design.A and failed:
            c.errors += 1
            total = (time.perf_counter() - t0) * 1e3
            rt.total_rec.record_ms(total)
            rt.guardrail.record(total, ok=False)
            c.guardrail_failures += 1
            err = ErrorOut(detail=f"dependency failed after retries: {reason}", reason="dependency_failed")
            return Response(err.model_dump_json(), status_code=503, media_type="application/json")

        scoring_ms = await rt.scoring.run()
        total = (time.perf_counter() - t0) * 1e3
        rt.total_rec.record_ms(total)
        rt.guardrail.record(total, ok=not failed)
        if failed:
            c.guardrail_failures += 1
        c.ok += 1
        body_model = FeaturesResponse(
            user_id=user_id,
            request_type=request_type,
            design=cfg.design,
            features=_features(values),
            groups=states,
            flags=flags,
            timings=Timings(
                fetch_ms=round(fetch_ms, 3),
                scoring_ms=round(scoring_ms, 3),
                total_ms=round(total, 3),
                redis_ms=redis_ms,
                ondemand_ms=None if ondemand_ms is None else round(ondemand_ms, 3),
            ),
        )
        return Response(body_model.model_dump_json(), media_type="application/json")

    def state() -> AdminState:
        c = rt.counters
        g = rt.guardrail
        verdict = g.last_verdict
        return AdminState(
            design=cfg.design,
            pid=os.getpid(),
            uptime_s=round(time.time() - rt.started, 3),
            since_reset_s=round(time.time() - rt.reset_at, 3),
            counters=c.model_copy(deep=True),
            hit_rate=(c.hits / c.lookups) if c.lookups else None,
            key_fresh_rate=(c.key_fresh / c.key_lookups) if c.key_lookups else None,
            killswitch=rt.killswitch.state(),
            guardrail=GuardrailOut(
                armed=rt.mitigations.guardrail_armed,
                tripped=g.tripped,
                trips=list(rt.guardrail_trips),
                window_p95_ms=verdict.p95_ms if verdict else None,
                window_failure_rate=verdict.failure_rate if verdict else None,
                window_samples=verdict.samples if verdict else 0,
            ),
            breaker=BreakerOut(
                enabled=rt.mitigations.breaker,
                state=rt.breaker.state,
                effective_state=rt.breaker.effective_state,
                transitions=[BreakerChange(at=t.at, old=t.old, new=t.new) for t in rt.breaker.transitions],
            ),
            admission=rt.doorkeeper.state(),
            rate_limit_engaged=rt.rate_limit_engaged(),
            mitigations=rt.mitigations.model_copy(),
            ttl_s=dict(rt.last_ttl.ttl_s),
            ttl_dynamic=rt.last_ttl.dynamic,
            fetch_ms=_latency(rt.fetch_rec),
            total_ms=_latency(rt.total_rec),
            redis_ms=_latency(rt.redis_rec),
            ondemand_ms=_latency(rt.ondemand_rec),
        )

    @app.get(
        "/admin/state", response_model=AdminState, summary="Counters, hit rate, guards and their history"
    )
    async def admin_state() -> AdminState:
        return state()

    @app.post(
        "/admin/killswitch",
        response_model=KillSwitchState,
        responses=_BAD_BODY,
        summary="Trip or release the kill switch",
    )
    async def admin_killswitch(command: Annotated[KillSwitchCommand, Body()]) -> KillSwitchState:
        if command.on:
            rt.killswitch.trip(KillSwitchSource.ADMIN, command.reason)
        else:
            rt.killswitch.release(KillSwitchSource.ADMIN, command.reason)
        return rt.killswitch.state()

    @app.post(
        "/admin/mitigations",
        response_model=Mitigations,
        responses=_BAD_BODY,
        summary="Switch mitigations on or off",
    )
    async def admin_mitigations(patch: Annotated[MitigationsPatch, Body()]) -> Mitigations:
        changes = patch.model_dump(exclude_none=True)
        arming = changes.pop("guardrail_armed", None) is True and not rt.mitigations.guardrail_armed
        if patch.guardrail_armed is False:
            changes["guardrail_armed"] = False
        rt.mitigations = rt.mitigations.model_copy(update=changes)
        if arming:
            rt.arm()
        rt.doorkeeper.enabled = rt.mitigations.admission
        return rt.mitigations

    @app.post(
        "/admin/reset",
        response_model=AdminState,
        responses=_BAD_BODY,
        summary="Zero the counters and histograms",
    )
    async def admin_reset(command: Annotated[ResetCommand, Body()]) -> AdminState:
        rt.counters = Counters()
        rt.fetch_rec = LatencyRecorder()
        rt.total_rec = LatencyRecorder()
        rt.redis_rec = LatencyRecorder()
        rt.ondemand_rec = LatencyRecorder()
        rt.reset_at = time.time()
        if command.guardrail:
            rt.guardrail = rt._new_guardrail()
            rt.guardrail_trips = []
        return state()

    return app
