"""`starlab features loadtest`: design A vs design B under the same traffic and the same faults.

Backs the 004 story's side-by-side ("Load test ... against a mock fan-out:
end-to-end p95 rose to ~290 ms with retries; error rate ~1.7% under
dependency p95 spikes" for A; "p95 205 ms, availability 99.95%" for B;
"8M req/day x 4 calls x $1e-5 per call ~ $9.6k/month" vs "~$1.7k") and
its reliability math, each measured figure printed beside the story's
formula:

- availability (200s / requests not shed) beside prod(1 - f_i), the f_i
  being each dependency's failure rate measured from its own /stats, and
  beside the same with retries, 1 - f^attempts per dependency;
- the fetch stage's p95 beside the formula: A, the p95 of the max of the
  four services' latency models (`quantile_of_max_ms`); B, the story's
  weighted latency cache x hit + (cache + call) x miss with the measured
  cache read and on-demand call medians and the measured miss rate;
- cost per month from the story's unit prices applied to the MEASURED
  calls per request (dependencies' /stats), beside the story's own
  calls per request (A: 4; B: 0.2, what its "$16/day" implies);
- hit rate = hits / lookups from the app's own counters.

Traffic: open loop (latency from the scheduled send time), Zipf over users
(`workload`), from a separate load process with HDR histograms. Faults,
the same for both designs: every dependency fails 0.5% of its calls for
the whole run; the embeddings service (the one both designs call) gets a
latency spike (x3 for 6 s at 30% of the run) and an outage (3 s at 65%).
The stream writer keeps Redis filled for B (and runs during A too, so both
share the machine alike).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from feature_cache.bench.results import (
    DEFAULT_FAULTS,
    DesignResult,
    DesignRun,
    FaultEvent,
    FaultKind,
    FaultSpec,
    LoadtestResult,
    Timeline,
)
from feature_cache.bench.rig import (
    APP_FACTORY,
    Admin,
    DependencyCalls,
    StatePoller,
    app_env,
    delete_prefix,
    deps_delta,
    process_cpu_s,
)
from feature_cache.bench.stream import StreamFeeder
from feature_cache.bench.workload import Workload
from feature_cache.deps.config import DependencyName
from feature_cache.deps.control import OutageCommand, ResetCommand, SpikeCommand
from feature_cache.deps.fleet import DependencyFleet
from feature_cache.deps.latency import LognormalLatency
from feature_cache.errors import FeatureCacheError
from feature_cache.serving.app import AdminState
from feature_cache.serving.cache import TtlTable
from feature_cache.serving.prewarm import PrewarmResult, prewarm
from feature_cache.serving.reliability import (
    cache_effective_success,
    fanout_availability,
    monthly_cost_usd,
    quantile_of_max_ms,
    retried_availability,
    weighted_latency_ms,
)
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.metrics import LatencySummary
from starlab.redis_client import sync_client
from starlab.serving.histogram import LatencyRecorder
from starlab.serving.load import LoadRun, LoadSpec, run_load
from starlab.serving.process import AppServer
from starlab.settings import get_settings

__all__ = [
    "DEFAULT_FAULTS",
    "STORY_CALLS_PER_REQUEST",
    "DesignResult",
    "DesignRun",
    "FaultEvent",
    "FaultKind",
    "FaultSpec",
    "LoadRig",
    "LoadtestResult",
    "Timeline",
    "run_loadtest",
]

Progress = Callable[[str], None]

STORY_CALLS_PER_REQUEST: dict[Design, float] = {Design.A: 4.0, Design.B: 0.2}
"""A: four calls per request. B: the story's "$16/day" over 8M requests at $1e-5 per call is
0.2 calls per request (its "5% on-demand" would be 0.05; see reliability.monthly_cost_usd)."""


def _summary(hist: str | None) -> LatencySummary | None:
    if not hist:
        return None
    rec = LatencyRecorder.decode(hist)
    return rec.summary() if rec.count else None


class LoadRig:
    """Dependencies, the stream writer and a Redis key prefix for a series of runs; a context manager."""

    def __init__(
        self,
        cfg: FeatureCacheSettings,
        redis_url: str,
        *,
        workload: Workload | None = None,
        failure_rate: float | None = None,
        only: tuple[DependencyName, ...] | None = None,
        progress: Progress = lambda _: None,
    ) -> None:
        self.cfg = cfg
        self.redis_url = redis_url
        self.workload = workload or Workload.zipf(
            cfg.users, cfg.zipf_s, cfg.cold_fraction, cfg.low_value_share, cfg.seed
        )
        self.prefix = f"lt{uuid.uuid4().hex[:8]}:fc"
        self.fleet = DependencyFleet(cfg.fleet_config(failure_rate=failure_rate, only=only))
        self.redis = sync_client(get_settings(), url=redis_url, topology=cfg.redis_topology)
        self.static_ttl = TtlTable.static(cfg.default_ttl_s, cfg.fast_ttl_s, cfg.fast_groups)
        self.feeder = StreamFeeder(
            self.redis,
            self.prefix,
            self.workload.known,
            self.static_ttl,
            intent_period_s=cfg.intent_period_s,
            refresh_s=cfg.stream_refresh_s,
            lag_s=cfg.stream_lag_s,
        )
        self.progress = progress

    def __enter__(self) -> LoadRig:
        self.progress(f"starting the dependencies ({len(self.fleet.config.services)} processes)")
        self.fleet.start()
        try:
            t0 = time.perf_counter()
            n = self.feeder.prime()
            self.progress(f"primed the cache: {n} known users x 5 groups in {time.perf_counter() - t0:.1f} s")
            self.feeder.start()
        except BaseException:
            self.fleet.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.feeder.stop()
        try:
            deleted = delete_prefix(self.redis, self.prefix)
            self.progress(f"deleted {deleted} keys under {self.prefix}")
        finally:
            self.redis.close()
            self.fleet.stop()

    def policy(self) -> str:
        got = self.redis.config_get("maxmemory-policy")
        # Read-only CONFIG GET (the shared Redis is never reconfigured); keys may come as bytes.
        for key, value in got.items():
            name = key.decode() if isinstance(key, bytes) else str(key)
            if name == "maxmemory-policy":
                return value.decode() if isinstance(value, bytes) else str(value)
        return "?"

    def prewarm(self, n: int) -> PrewarmResult:
        return prewarm(self.redis, self.prefix, self.workload.hot(n), self.feeder.source, self.static_ttl)

    def run_design(
        self,
        design: Design,
        *,
        qps: float,
        duration_s: float,
        faults: Sequence[FaultSpec] = (),
        prewarm_n: int = 0,
        dynamic_ttl: bool = False,
        warmup: int = 200,
        poll: bool = False,
        **overrides: object,
    ) -> DesignRun:
        """Start the app for `design`, warm it up, run the open-loop load with `faults`, collect."""
        cfg = self.cfg
        env = app_env(design, self.fleet, self.redis_url, self.prefix, dynamic_ttl=dynamic_ttl, **overrides)
        paths, weights = self.workload.paths()
        with AppServer(APP_FACTORY, env=env, metrics_job="feature-api") as server:
            admin = Admin(server.base_url)
            try:
                run_load(
                    LoadSpec(
                        base_url=server.base_url, paths=paths, weights=weights, requests=warmup, concurrency=8
                    )
                )
                if admin.state().killswitch.on:
                    # Warm-up ran on a cold process; a trip then says nothing about the design.
                    admin.killswitch(False, "bench: released after warm-up")
                self.feeder.set_dynamic(dynamic_ttl)
                pre = self.prewarm(prewarm_n) if (design is Design.B and prewarm_n) else None
                if pre is not None:
                    self.progress(f"pre-warmed {pre.users} hot users in {pre.seconds:.2f} s")
                admin.reset(guardrail=True)
                measured_from = time.time()
                before = self.fleet.all_stats()
                events: list[FaultEvent] = []
                pending = sorted(faults, key=lambda f: f.at)

                def on_progress(frac: float) -> None:
                    while pending and frac >= pending[0].at - 1e-9:
                        f = pending.pop(0)
                        cmd = (
                            SpikeCommand(duration_s=f.duration_s, multiply=f.multiply)
                            if f.kind is FaultKind.SPIKE
                            else OutageCommand(duration_s=f.duration_s)
                        )
                        self.fleet.control(f.dependency, cmd)
                        events.append(FaultEvent(time.perf_counter_ns(), f.dependency, f.kind, f.duration_s))

                spec = LoadSpec(
                    base_url=server.base_url,
                    paths=paths,
                    weights=weights,
                    rate_per_s=qps,
                    duration_s=duration_s,
                    concurrency=512,
                    progress_at=sorted({f.at for f in faults}),
                    timeout_s=10.0,
                    seed=cfg.seed,
                )
                unix_ref, mono_ref = time.time(), time.perf_counter_ns()
                cpu0, load0 = process_cpu_s(server.pid), os.getloadavg()[0]
                if poll:
                    with StatePoller(admin) as poller:
                        run = run_load(spec, on_progress=on_progress)
                    polls = tuple(poller.samples)
                else:
                    run = run_load(spec, on_progress=on_progress)
                    polls = ()
                cpu1, load1 = process_cpu_s(server.pid), os.getloadavg()[0]
                for name in self.fleet.endpoints:
                    self.fleet.control(name, ResetCommand())
                after = self.fleet.all_stats()
                state = admin.state()
            finally:
                admin.close()
        deps = deps_delta(before, after)
        result = self._result(
            design, qps, duration_s, run, state, deps, tuple(faults), pre, dynamic_ttl, measured_from
        )
        result = dataclasses.replace(
            result,
            app_cpu_ms_per_request=round((cpu1 - cpu0) * 1e3 / max(run.requests, 1), 3),
            load_avg_1m=(round(load0, 2), round(load1, 2)),
        )
        ks = tuple(int(mono_ref + (e.at - unix_ref) * 1e9) for e in state.killswitch.history if e.on)
        timeline = Timeline(
            started_ns=run.started_ns,
            start_ns=run.start_ns,
            latency_ms=run.latencies_ms,
            status=run.status,
            faults=tuple(events),
            killswitch_ns=ks,
            polls=polls,
        )
        return DesignRun(result, timeline, state)

    def _result(
        self,
        design: Design,
        qps: float,
        duration_s: float,
        run: LoadRun,
        state: AdminState,
        deps: tuple[DependencyCalls, ...],
        faults: tuple[FaultSpec, ...],
        pre: PrewarmResult | None,
        dynamic_ttl: bool,
        measured_from: float,
    ) -> DesignResult:
        cfg = self.cfg
        n = run.requests
        ok = sum(1 for s in run.status if s == 200)
        shed = sum(1 for s in run.status if s == 429)
        errors = n - ok - shed
        c = state.counters
        calls = sum(d.calls for d in deps)
        calls_per_request = calls / n if n else 0.0
        fetch = _summary(state.fetch_ms.histogram if state.fetch_ms else None)
        if fetch is None:
            raise FeatureCacheError(f"design {design.value}: the app recorded no fetch stage")
        redis_read = _summary(state.redis_ms.histogram if state.redis_ms else None)
        ondemand = _summary(state.ondemand_ms.histogram if state.ondemand_ms else None)
        by_name = {d.name: d for d in deps}
        avail = [1.0 - by_name[nm].failure_rate for nm in DependencyName if nm in by_name]
        if design is Design.A:
            attempts = cfg.fanout_attempts
            f_avail = fanout_availability(avail)
            f_retried = fanout_availability([retried_availability(a, attempts) for a in avail])
            models = [
                LognormalLatency.from_percentiles(*cfg.dep_latencies_ms[nm.value]) for nm in DependencyName
            ]
            f_p95 = quantile_of_max_ms(models, 0.95)
            fixed = 0.0
        else:
            lookups = max(c.lookups, 1)
            a_cache = 1.0 - (c.cache_unavailable + c.cache_timeouts) / lookups
            emb = by_name.get(DependencyName.EMBEDDINGS)
            a_call = 1.0 - (emb.failure_rate if emb else 0.0)
            miss = c.ondemand_calls / lookups
            f_avail = cache_effective_success(1.0 - miss, a_cache, a_call)
            f_retried = cache_effective_success(
                1.0 - miss, a_cache, retried_availability(a_call, cfg.ondemand_attempts)
            )
            cache_ms = redis_read.p50 if redis_read else 0.0
            call_ms = ondemand.p50 if ondemand else 0.0
            f_p95 = weighted_latency_ms(cache_ms, call_ms, 1.0 - miss)
            fixed = cfg.redis_fixed_monthly_usd
        served = max(c.requests - c.rate_limited, 1)
        return DesignResult(
            design=design,
            qps=qps,
            duration_s=duration_s,
            requests=n,
            ok=ok,
            errors=errors,
            shed=shed,
            availability=ok / max(n - shed, 1),
            e2e=run.summary(),
            fetch=fetch,
            redis_read=redis_read,
            ondemand_call=ondemand,
            dependencies=deps,
            calls_per_request=round(calls_per_request, 5),
            hit_rate=state.hit_rate,
            key_fresh_rate=state.key_fresh_rate,
            ondemand_per_request=c.ondemand_calls / served,
            stale_served_rate=c.stale_served / served,
            degraded_rate=c.degraded / served,
            cost_month_usd=round(
                monthly_cost_usd(cfg.requests_per_day, calls_per_request, cfg.cost_per_call_usd, fixed), 2
            ),
            formula_availability=f_avail,
            formula_availability_retried=f_retried,
            formula_fetch_p95_ms=round(f_p95, 3),
            story_cost_month_usd=round(
                monthly_cost_usd(
                    cfg.requests_per_day, STORY_CALLS_PER_REQUEST[design], cfg.cost_per_call_usd, fixed
                ),
                2,
            ),
            guardrail_trips=len(state.guardrail.trips),
            killswitch_trips=sum(1 for e in state.killswitch.history if e.on and e.at >= measured_from),
            breaker_transitions=tuple(f"{t.old.value}->{t.new.value}" for t in state.breaker.transitions),
            faults=faults,
            prewarm=pre,
            dynamic_ttl=dynamic_ttl,
        )


def run_loadtest(
    cfg: FeatureCacheSettings,
    redis_url: str,
    *,
    designs: Sequence[Design] = (Design.A, Design.B),
    faults: Sequence[FaultSpec] = DEFAULT_FAULTS,
    prewarm: bool = False,
    dynamic_ttl: bool = False,
    plots: bool = True,
    reports_dir: Path | None = None,
    progress: Progress = lambda _: None,
) -> LoadtestResult:
    """A then B (or the designs asked for) on one rig; plots saved through the evidence store."""
    runs: list[DesignRun] = []
    with LoadRig(cfg, redis_url, progress=progress) as rig:
        policy = rig.policy()
        for design in designs:
            progress(f"design {design.value}: {cfg.qps:g} req/s for {cfg.duration_s:g} s")
            runs.append(
                rig.run_design(
                    design,
                    qps=cfg.qps,
                    duration_s=cfg.duration_s,
                    faults=faults,
                    prewarm_n=cfg.prewarm_top_n if prewarm else 0,
                    dynamic_ttl=dynamic_ttl,
                )
            )
        cold_share = rig.workload.cold_share()
    saved: tuple[str, ...] = ()
    if plots:
        from feature_cache.bench.plots import plot_histograms, plot_timeline

        saved = (
            str(plot_histograms(runs, "4-feature-store-latency-a-vs-b", reports_dir)),
            str(plot_timeline(runs, "4-feature-store-timeline-a-vs-b", reports_dir)),
        )
    return LoadtestResult(
        qps=cfg.qps,
        duration_s=cfg.duration_s,
        users=cfg.users,
        zipf_s=cfg.zipf_s,
        cold_share=round(cold_share, 5),
        failure_rate=cfg.dep_failure_rate,
        redis_policy=policy,
        prewarm=prewarm,
        dynamic_ttl=dynamic_ttl,
        designs=tuple(r.result for r in runs),
        plots=saved,
        runs=tuple(runs),
    )
