"""`starlab features regression`: design B regresses under a seasonal spike, then each mitigation in turn.

Backs the 004 story's follow-up: "a seasonal traffic spike doubled QPS,
streaming lag increased, cache thrash reduced hit rates from 97% to 85%",
and its response, applied here one at a time so the run shows what each
restores:

1. steady: the launch configuration (every mitigation below off, LRU);
2. spike: QPS x2 over a key space 25% wider (new seasonal users, below
   the top 20% by activity), the stream paused until it runs `spike_lag_s`
   behind (the materializer lagging), Redis's memory cap (the steady
   working set + 20%) now too small (thrash), and the embeddings service
   overloaded (latency x4, 20% failures). The "onset" phase is the lag
   building up (as long as the lag itself); "spike" is the regression;
3. + kill switch: the guardrail is armed and trips it by itself (the
   story's auto-rollback); on-demand calls stop, expiry is raised;
4. + breaker fallback: the kill switch released, the circuit breaker on
   ("fall back to batch-only features for overloaded segments");
5. + rate limit: low-value notification types shed (429 with a reason);
6. + pre-warm: the spike's hot users loaded ("pre-warm hot keys"), again at
   the start of every later phase (a recurring job, as pre-warming is);
7. + LFU + admission: `allkeys-lfu` and write-back only for keys seen twice
   ("convert cache policy from LRU to LFU + admission control");
8. + dynamic TTLs: the precompute's TTL policy (update gaps + the stream's
   lag) published and read ("dynamic TTLs tied to ... queue lag").

Each phase is its own open-loop load (same seed), measured from the app's
counters (reset at the phase start: hit rate = hits / lookups), the load
process's HDR histogram, Redis's own `evicted_keys`, and the stream's lag.
Everything runs on a private redis-server (the memory cap and the eviction
policy change at run time; the shared Redis is never reconfigured) with
the embeddings service alone (design B calls nothing else).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from feature_cache.bench.redis_server import PrivateRedis
from feature_cache.bench.rig import APP_FACTORY, Admin, PolledState, StatePoller, app_env
from feature_cache.bench.stream import StreamFeeder
from feature_cache.bench.workload import Workload
from feature_cache.deps.config import DependencyName
from feature_cache.deps.control import FailureRateCommand, ResetCommand, SpikeCommand
from feature_cache.deps.fleet import DependencyFleet
from feature_cache.serving.app import AdminState, MitigationsPatch
from feature_cache.serving.cache import TtlTable
from feature_cache.serving.prewarm import prewarm
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.evidence import save_plot
from starlab.metrics import LatencySummary
from starlab.serving.load import LoadSpec, run_load
from starlab.serving.process import AppServer

__all__ = ["Mitigation", "PhaseResult", "RegressionConfig", "RegressionResult", "run_regression"]

Progress = Callable[[str], None]


class Mitigation(StrEnum):
    NONE = "none"
    ONSET = "spike_onset"
    SPIKE = "spike"
    KILL_SWITCH = "kill_switch"
    BREAKER = "breaker_fallback"
    RATE_LIMIT = "rate_limit"
    PREWARM = "prewarm"
    LFU_ADMISSION = "lfu_admission"
    DYNAMIC_TTL = "dynamic_ttl"


SEQUENCE: tuple[Mitigation, ...] = (
    Mitigation.NONE,
    Mitigation.ONSET,
    Mitigation.SPIKE,
    Mitigation.KILL_SWITCH,
    Mitigation.BREAKER,
    Mitigation.RATE_LIMIT,
    Mitigation.PREWARM,
    Mitigation.LFU_ADMISSION,
    Mitigation.DYNAMIC_TTL,
)

LABELS: dict[Mitigation, str] = {
    Mitigation.NONE: "steady",
    Mitigation.ONSET: "spike onset",
    Mitigation.SPIKE: "spike",
    Mitigation.KILL_SWITCH: "+kill switch",
    Mitigation.BREAKER: "+breaker",
    Mitigation.RATE_LIMIT: "+rate limit",
    Mitigation.PREWARM: "+pre-warm",
    Mitigation.LFU_ADMISSION: "+LFU+admission",
    Mitigation.DYNAMIC_TTL: "+dynamic TTL",
}


@dataclass(frozen=True)
class RegressionConfig:
    phase_s: float = 15.0
    """Each phase's open-loop load (the onset lasts `spike_lag_s`); 9 phases, ~2.5 minutes."""
    qps_factor: float = 2.0
    """Story: "a seasonal traffic spike doubled QPS"."""
    keyspace_factor: float = 1.25
    """The spike brings 25% more users (new seasonal ones, below the top 20% by activity)."""
    new_users_below: float = 0.2
    spike_lag_s: float = 33.0
    """How far behind the stream runs from the spike on: 3 s past the 30 s slack that the fast
    group's 60 s TTL leaves over its 30 s refresh, so about 10% of the intents read are stale."""
    memory_headroom: float = 1.2
    """maxmemory = the steady working set x this: the spike's 25% wider key space no longer fits
    (x1.15 left ~9% of the keys out and the churn cost 10-20 points of hit rate on its own)."""
    embeddings_multiply: float = 4.0
    embeddings_failure_rate: float = 0.2
    """The overloaded segment: the embeddings service slow and failing during the spike."""


@dataclass(frozen=True)
class PhaseResult:
    mitigation: Mitigation
    label: str
    qps: float
    t_start_s: float
    t_end_s: float
    requests: int
    ok: int
    shed: int
    errors: int
    availability: float
    e2e: LatencySummary
    fetch: LatencySummary | None
    hit_rate: float | None
    key_fresh_rate: float | None
    ondemand_per_request: float
    stale_served_rate: float
    degraded_rate: float
    evicted_keys: int
    stream_lag_s: float
    killswitch_on: bool
    guardrail_tripped: bool
    breaker_state: str
    embeddings_calls: int
    note: str = ""


@dataclass(frozen=True)
class RegressionResult:
    base_qps: float
    base_users: int
    spike_users: int
    maxmemory_bytes: int
    config: RegressionConfig
    phases: tuple[PhaseResult, ...]
    plot: str | None = None
    load_avg_1m: tuple[float, float] = (0.0, 0.0)
    polls: tuple[tuple[float, float | None], ...] = field(default=(), repr=False)
    """(seconds since start, hit rate over the last poll interval) for the timeline."""
    started_at: float = 0.0
    """Wall-clock time of the phases' zero (`t_start_s` is seconds after it)."""

    def phase(self, m: Mitigation) -> PhaseResult | None:
        return next((p for p in self.phases if p.mitigation is m), None)

    @property
    def baseline_hit(self) -> float | None:
        p = self.phase(Mitigation.NONE)
        return p.hit_rate if p else None

    @property
    def spike_hit(self) -> float | None:
        p = self.phase(Mitigation.SPIKE)
        return p.hit_rate if p else None

    @property
    def restored_hit(self) -> float | None:
        return self.phases[-1].hit_rate if self.phases else None


def _evicted(r: PrivateRedis) -> int:
    client = r.client()
    try:
        return int(client.info("stats").get("evicted_keys", 0))
    finally:
        client.close()


def _sized_maxmemory(r: PrivateRedis, feeder: StreamFeeder, headroom: float) -> int:
    """Prime the steady working set with no cap, then cap memory at `headroom` x what it took."""
    client = r.client()
    try:
        empty = int(client.info("memory")["used_memory"])
        feeder.prime()
        full = int(client.info("memory")["used_memory"])
        cap = empty + int((full - empty) * headroom)
        client.config_set("maxmemory", cap)  # our own server, never the shared one
        return cap
    finally:
        client.close()


def run_regression(
    cfg: FeatureCacheSettings,
    rc: RegressionConfig | None = None,
    *,
    plots: bool = True,
    reports_dir: Path | None = None,
    progress: Progress = lambda _: None,
) -> RegressionResult:
    rc = rc or RegressionConfig()
    base = Workload.zipf(cfg.users, cfg.zipf_s, cfg.cold_fraction, cfg.low_value_share, cfg.seed)
    wide = base.widened(rc.keyspace_factor, below=rc.new_users_below)
    prefix = f"rg{uuid.uuid4().hex[:8]}:fc"
    static = TtlTable.static(cfg.default_ttl_s, cfg.fast_ttl_s, cfg.fast_groups)
    phases: list[PhaseResult] = []
    polls: list[PolledState] = []
    samples: list[tuple[float, float, int]] = []
    load0 = os.getloadavg()[0]
    with (
        PrivateRedis(policy="allkeys-lru") as rs,
        DependencyFleet(cfg.fleet_config(only=(DependencyName.EMBEDDINGS,))) as fleet,
    ):
        client = rs.client()
        feeder = StreamFeeder(
            client,
            prefix,
            base.known,
            static,
            intent_period_s=cfg.intent_period_s,
            refresh_s=cfg.stream_refresh_s,
            lag_s=cfg.stream_lag_s,
        )
        cap = _sized_maxmemory(rs, feeder, rc.memory_headroom)
        progress(
            f"private Redis on {rs.port}: allkeys-lru, maxmemory {cap / 1e6:.1f} MB "
            f"(steady set x{rc.memory_headroom:g})"
        )
        feeder.start()
        env = app_env(
            Design.B,
            fleet,
            rs.url,
            prefix,
            breaker=False,
            admission=False,
            rate_limit_engaged=False,
            rate_limit_on_trip=False,
            guardrail_armed=False,
            dynamic_ttl=False,
            redis_topology="single",  # a private redis-server, whatever the stack runs
        )
        started_ns = time.perf_counter_ns()
        started_wall = time.time()  # where the phases' offsets sit on a dashboard's time axis
        try:
            with AppServer(APP_FACTORY, env=env, metrics_job="feature-api") as server:
                admin = Admin(server.base_url)
                paths, weights = base.paths()
                run_load(
                    LoadSpec(
                        base_url=server.base_url, paths=paths, weights=weights, requests=200, concurrency=8
                    )
                )
                workload, qps = base, cfg.qps
                prewarming = False
                for m in SEQUENCE:
                    note = ""
                    if m is Mitigation.ONSET:
                        workload, qps = wide, cfg.qps * rc.qps_factor
                        feeder.set_known(wide.known)
                        feeder.set_lag(rc.spike_lag_s)
                        remaining = rc.phase_s * len(SEQUENCE) + rc.spike_lag_s + 30
                        fleet.control(
                            DependencyName.EMBEDDINGS,
                            SpikeCommand(duration_s=remaining, multiply=rc.embeddings_multiply),
                        )
                        fleet.control(
                            DependencyName.EMBEDDINGS,
                            FailureRateCommand(failure_rate=rc.embeddings_failure_rate, duration_s=remaining),
                        )
                    elif m is Mitigation.KILL_SWITCH:
                        # Armed now: it acts at once if the spike already broke a threshold.
                        admin.mitigate(MitigationsPatch(guardrail_armed=True))
                        ks = admin.state().killswitch
                        if ks.on and ks.source is not None and ks.source.value == "guardrail":
                            note = f"tripped by the guardrail ({ks.reason})"
                        else:
                            admin.killswitch(True, "operator: the guardrail saw no breach")
                            note = "tripped by the operator (the guardrail saw no breach)"
                    elif m is Mitigation.BREAKER:
                        admin.mitigate(MitigationsPatch(guardrail_armed=False, breaker=True))
                        admin.killswitch(False, "operator: breaker fallback takes over")
                    elif m is Mitigation.RATE_LIMIT:
                        admin.mitigate(MitigationsPatch(rate_limit=True))
                    elif m is Mitigation.PREWARM:
                        prewarming = True
                    elif m is Mitigation.LFU_ADMISSION:
                        client.config_set("maxmemory-policy", "allkeys-lfu")
                        admin.mitigate(MitigationsPatch(admission=True))
                    elif m is Mitigation.DYNAMIC_TTL:
                        feeder.set_dynamic(True)
                        admin.mitigate(MitigationsPatch(dynamic_ttl=True))
                    if prewarming:
                        pre = prewarm(client, prefix, workload.hot(cfg.prewarm_top_n), feeder.source, static)
                        note = f"pre-warmed {pre.users} hot users in {pre.seconds:.2f} s"
                    seconds = rc.spike_lag_s if m is Mitigation.ONSET else rc.phase_s
                    progress(f"phase {LABELS[m]}: {qps:g} req/s for {seconds:g} s {note}".rstrip())
                    phases.append(
                        _phase(admin, rs, feeder, server.base_url, workload, m, qps, seconds, cfg.seed,
                               note, started_ns, polls, samples)
                    )  # fmt: skip
                admin.close()
        finally:
            feeder.stop()
            for name in fleet.endpoints:
                fleet.control(name, ResetCommand())
            client.close()
    hit_series = _hit_series(polls, started_ns)
    result = RegressionResult(
        base_qps=cfg.qps,
        base_users=len(base.ranked),
        spike_users=len(wide.ranked),
        maxmemory_bytes=cap,
        config=rc,
        phases=tuple(phases),
        load_avg_1m=(round(load0, 2), round(os.getloadavg()[0], 2)),
        polls=hit_series,
        started_at=started_wall,
    )
    if plots:
        path = plot_regression(result, samples, "4-feature-store-regression", reports_dir)
        result = dataclasses.replace(result, plot=str(path))
    return result


def _phase(
    admin: Admin,
    rs: PrivateRedis,
    feeder: StreamFeeder,
    base_url: str,
    workload: Workload,
    m: Mitigation,
    qps: float,
    seconds: float,
    seed: int,
    note: str,
    started_ns: int,
    polls: list[PolledState],
    samples: list[tuple[float, float, int]],
) -> PhaseResult:
    paths, weights = workload.paths()
    admin.reset()
    ev0 = _evicted(rs)
    t0 = time.perf_counter_ns()
    with StatePoller(admin) as poller:
        run = run_load(
            LoadSpec(
                base_url=base_url,
                paths=paths,
                weights=weights,
                rate_per_s=qps,
                duration_s=seconds,
                concurrency=512,
                timeout_s=10.0,
                seed=seed,
                progress_at=[],
            )
        )
    polls.extend(poller.samples)
    t1 = time.perf_counter_ns()
    samples.extend(
        ((start - started_ns) / 1e9, (end - start) / 1e6, status)
        for start, end, status in zip(run.start_ns, run.end_ns, run.status, strict=True)
    )
    state: AdminState = admin.state()
    c = state.counters
    n = run.requests
    ok = sum(1 for s in run.status if s == 200)
    shed = sum(1 for s in run.status if s == 429)
    served = max(c.requests - c.rate_limited, 1)
    fetch = None
    if state.fetch_ms is not None:
        from starlab.serving.histogram import LatencyRecorder

        rec = LatencyRecorder.decode(state.fetch_ms.histogram)
        fetch = rec.summary() if rec.count else None
    return PhaseResult(
        mitigation=m,
        label=LABELS[m],
        qps=qps,
        t_start_s=round((t0 - started_ns) / 1e9, 3),
        t_end_s=round((t1 - started_ns) / 1e9, 3),
        requests=n,
        ok=ok,
        shed=shed,
        errors=n - ok - shed,
        availability=ok / max(n - shed, 1),
        e2e=run.summary(),
        fetch=fetch,
        hit_rate=state.hit_rate,
        key_fresh_rate=state.key_fresh_rate,
        ondemand_per_request=c.ondemand_calls / served,
        stale_served_rate=c.stale_served / served,
        degraded_rate=c.degraded / served,
        evicted_keys=_evicted(rs) - ev0,
        stream_lag_s=feeder.stats().lag_s,
        killswitch_on=state.killswitch.on,
        guardrail_tripped=state.guardrail.tripped,
        breaker_state=state.breaker.state.value,
        embeddings_calls=c.ondemand_calls,
        note=note,
    )


def _hit_series(polls: list[PolledState], started_ns: int) -> tuple[tuple[float, float | None], ...]:
    """Hit rate between consecutive polls (counters are reset at each phase start: a drop in
    `lookups` starts a new difference)."""
    out: list[tuple[float, float | None]] = []
    prev: PolledState | None = None
    for p in polls:
        c = p.state.counters
        if prev is not None and c.lookups >= prev.state.counters.lookups:
            dl = c.lookups - prev.state.counters.lookups
            dh = c.hits - prev.state.counters.hits
            out.append(((p.mono_ns - started_ns) / 1e9, dh / dl if dl else None))
        prev = p
    return tuple(out)


def plot_regression(
    result: RegressionResult,
    samples: list[tuple[float, float, int]],
    name: str,
    reports_dir: Path | None = None,
) -> Path:
    """Latency (p95 per second), hit rate per second and shed/error counts, phases marked."""
    fig = Figure(figsize=(12, 6.5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    if samples:
        t = np.array([s[0] for s in samples])
        lat = np.array([s[1] for s in samples])
        status = np.array([s[2] for s in samples])
        ax1.scatter(t, lat, s=1.5, color="#2471a3", alpha=0.2)
        edges = np.arange(0.0, float(t.max()) + 1.0, 1.0)
        idx = np.clip(np.digitize(t, edges) - 1, 0, len(edges) - 1)
        p95 = [
            float(np.percentile(lat[idx == i], 95)) if (idx == i).any() else np.nan for i in range(len(edges))
        ]
        shed = [int(np.count_nonzero(status[idx == i] == 429)) for i in range(len(edges))]
        ax1.plot(edges, p95, color="black", lw=1.2, label="p95 per second")
        twin = ax2.twinx()
        twin.bar(edges, shed, width=0.9, color="#f5b041", alpha=0.5, label="shed (429) / s")
        twin.set_ylabel("shed / s")
    ax1.axhline(250.0, color="red", lw=0.8, ls=":", label="SLO / guardrail 250 ms")
    ax1.set_ylabel("end-to-end latency (ms)")
    ax1.set_ylim(0, 600)
    ax1.legend(fontsize=8, loc="upper right")
    if result.polls:
        ax2.plot([p[0] for p in result.polls], [p[1] for p in result.polls], color="#1e8449", lw=1.2)
    ax2.axhline(0.97, color="#1e8449", lw=0.8, ls=":")
    ax2.axhline(0.85, color="#922b21", lw=0.8, ls=":")
    ax2.set_ylabel("hit rate (per second)")
    ax2.set_ylim(0.5, 1.01)
    ax2.set_xlabel("seconds since the scenario started")
    for ph in result.phases:
        for ax in (ax1, ax2):
            ax.axvline(ph.t_start_s, color="grey", lw=0.8)
        hit = f"{ph.hit_rate:.0%}" if ph.hit_rate is not None else "n/a"
        ax2.text(ph.t_start_s + 0.3, 0.52, f"{ph.label}\nhit {hit}\np95 {ph.e2e.p95:.0f}", fontsize=7)
    fig.suptitle("Regression under a seasonal spike, then each mitigation in turn")
    fig.tight_layout()
    return save_plot(fig, name, reports_dir)
