"""`starlab rankings bench`: every story-2 measurement in one run, as one typed `RankingsBench`.

Order matters and is the story's: an injected bad build the gate must refuse
(change failure rate), new arrivals built and flipped under 20k requests at
concurrency 32 (p95, bad responses, freshness, duplication), a rollback under
load and a re-publish, the ranking route against its constant twin and bare
Redis round trips, the deferral measurement, and the incremental-vs-full cost
at >= 10M events on a separate lake. `rankings.evidence` turns the result
into claims.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from rankings.bench.baseline import ConstComparison, RoundTrips, const_comparison, redis_round_trips
from rankings.bench.deferral import DeferralEffect, measure_deferral
from rankings.bench.faults import InjectedBuild, injected_bad_build
from rankings.bench.incremental import IncrementalCost, incremental_vs_full
from rankings.bench.switch import SwitchUnderLoad, flip_under_load, plot_switch, rollback_under_load
from rankings.errors import RankingsError
from rankings.publish.publisher import Publisher
from rankings.publish.results import PublishMetrics
from rankings.serving.server import BENCH_FACTORY, api_server
from rankings.settings import RankingsSettings
from rankings.synth import generate_recent, newest_ingest
from starlab.atomic import write_json_atomic
from starlab.evidence import jsonable, latest_dir
from starlab.lake.events import events_sql
from starlab.metrics import duplicate_rate
from starlab.settings import Settings

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


@dataclass
class ChangeTally:
    """Every change this run attempted, and how many reached users in a bad state."""

    attempted: int = 0
    refused: int = 0
    published: int = 0
    rolled_back: int = 0
    reached_users_bad: int = 0


@dataclass(frozen=True)
class Arrivals:
    part: str
    rows: int
    newest_ingest_at: str


@dataclass(frozen=True)
class LakeInput:
    """Rows and distinct event ids of the lake: the duplication the pipeline starts from."""

    rows: int
    distinct_event_ids: int
    duplicate_rate_pct: float | None


@dataclass
class RankingsBench:
    requests: int
    concurrency: int
    arrivals: Arrivals
    flip: SwitchUnderLoad
    lake_input: LakeInput
    changes: ChangeTally
    injected: InjectedBuild | None = None
    rollback: SwitchUnderLoad | None = None
    republish: PublishMetrics | None = None
    comparison: ConstComparison | None = None
    round_trips: RoundTrips | None = None
    deferral: DeferralEffect | None = None
    deferral_error: str | None = None
    incremental: IncrementalCost | None = None
    plots: list[str] = field(default_factory=list)


def new_arrivals(settings: Settings, events: int, minutes: float = 60.0) -> Arrivals:
    """Events ingested between the lake's newest ingest and now: something new to rank.

    Never before the newest ingest already in the lake: the incremental
    models only see rows ingested after their watermark, so arrivals written
    "in the past" would be missed (and the gate's counts check would refuse
    the build, rightly).
    """
    now = datetime.now(UTC)
    tag = now.strftime("arr%Y%m%dT%H%M%S")
    since = (now - newest_ingest(settings)).total_seconds() / 60 - 0.05
    window = max(min(minutes, since * 0.9), 0.02)  # the generator stretches spans by ~3%
    g = generate_recent(settings, events, days=window / 1440, part=tag, write_dims=False, end=now)
    return Arrivals(part=tag, rows=g.rows, newest_ingest_at=g.newest_ingest_at.isoformat())


def lake_input_stats(settings: Settings) -> LakeInput:
    """Rows and distinct event ids of the lake's events table at its current snapshot."""
    sql, _ = events_sql(settings)
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        res = con.execute(f"select count(*), count(distinct event_id) from ({sql})").fetchone()
    finally:
        con.close()
    rows, distinct = (int(res[0]), int(res[1])) if res else (0, 0)
    return LakeInput(
        rows=rows,
        distinct_event_ids=distinct,
        duplicate_rate_pct=round(duplicate_rate(rows, distinct) * 100, 3) if rows else None,
    )


def run_bench(
    settings: Settings,
    cfg: RankingsSettings,
    *,
    requests: int = 20_000,
    concurrency: int = 32,
    arrivals: int = 2_000,
    inject: bool = True,
    rollback: bool = True,
    compare: bool = True,
    perf_events: int = 10_000_000,
    deferral_seed: int = 7,
    progress: Progress = _noop,
) -> RankingsBench:
    """Everything `starlab rankings bench` prints and records, in one run."""
    publisher = Publisher(settings, cfg)
    changes = ChangeTally()
    if publisher.store.read().live_build_id is None or publisher.cache.live_build() is None:
        progress("nothing published yet: running a first publish cycle")
        publisher.run_cycle()
        changes.attempted += 1
        changes.published += 1
    log = cfg.control_dir(settings) / "api-bench.log"
    injected = rb = comparison = republish = None
    plots: list[Path] = []
    with api_server(settings, cfg, factory=BENCH_FACTORY, log_path=log) as server:
        progress(f"API server up at {server.base_url} (pid {server.pid})")
        if inject:
            injected = injected_bad_build(publisher, server.base_url)
            changes.attempted += 1
            changes.refused += injected.refused
            changes.reached_users_bad += not (injected.refused and injected.served_unchanged)
            progress(
                f"injected bad build {'refused' if injected.refused else 'NOT refused'}, served build "
                f"{'unchanged' if injected.served_unchanged else 'CHANGED'}: "
                f"{'; '.join(injected.failures)[:300]}"
            )
        came = new_arrivals(settings, arrivals)
        cand = publisher.prepare()
        progress(f"candidate {cand.build_id} built and gated; flipping it under load")
        flip = flip_under_load(publisher, cand, server.base_url, requests=requests, concurrency=concurrency)
        changes.attempted += 1
        changes.published += 1
        changes.reached_users_bad += bool(flip.bad_responses)
        lat = flip.latency_ms
        progress(
            f"{flip.requests:,} requests at c={concurrency}: p50 {lat.p50:.1f} / p95 {lat.p95:.1f} / p99 "
            f"{lat.p99:.1f} ms, {flip.throughput_rps:,.0f} req/s; failed {flip.failed}, mixed {flip.mixed}, "
            f"stale {flip.stale_after_flip}; old/new {flip.responses_old}/{flip.responses_new}"
        )
        plots.append(plot_switch(flip, "2-rankings-flip", settings.reports_dir, "flip under load"))
        if rollback:
            rb = rollback_under_load(publisher, server.base_url, requests=max(requests // 4, 2_000))
            changes.attempted += 1
            changes.rolled_back += 1
            changes.reached_users_bad += bool(rb.bad_responses)
            progress(
                f"rollback to {rb.new_build} under load in {rb.flip_s * 1000:.0f} ms: failed {rb.failed}, "
                f"mixed {rb.mixed}, stale {rb.stale_after_flip}"
            )
            plots.append(plot_switch(rb, "2-rankings-rollback", settings.reports_dir, "rollback under load"))
            progress("publishing again after the rollback (the rolled-back color is rebuilt in full)")
            republish = publisher.run_cycle().metrics
            changes.attempted += 1
            changes.published += 1
        if compare:
            comparison = c = const_comparison(server.base_url)
            progress(
                f"c=8 p99: /rankings {c.rankings_ms.p99:.2f} ms vs /const {c.const_ms.p99:.2f} ms = "
                f"{c.p99_ratio}x (vs /healthz {c.healthz_ms.p99:.2f} ms: {c.p99_ratio_vs_healthz}x)"
            )
    round_trips = None
    if compare:
        round_trips = rt = redis_round_trips(settings, cfg)
        progress(
            f"bare Redis GET p50 {rt.get.p50:.0f} / p99 {rt.get.p99:.0f} us; read as 1 EVALSHA "
            f"p50 {rt.evalsha_1rt.p50:.0f} us vs GET+LRANGE p50 {rt.get_lrange_2rt.p50:.0f} us"
        )
    deferral, deferral_error = None, None
    live = publisher.store.read().live_color
    try:
        if live is None:
            raise RankingsError("nothing is live to measure the deferral on")
        deferral = measure_deferral(publisher.warehouse, live, seed=deferral_seed)
    except RankingsError as exc:
        deferral_error = str(exc)
    incremental = None
    if perf_events:
        progress(f"incremental vs full refresh at {perf_events:,} events (separate lake and warehouse)")
        incremental = perf = incremental_vs_full(
            settings, settings.data_dir.resolve() / "bench-incremental", events=perf_events, progress=progress
        )
        progress(
            f"incremental / full: data models {perf.incremental_over_full:.1%}, all models "
            f"{perf.incremental_over_full_all_models:.1%}, "
            f"dbt process {perf.incremental_over_full_process:.1%}"
        )
    return RankingsBench(
        requests=requests,
        concurrency=concurrency,
        arrivals=came,
        flip=flip,
        lake_input=lake_input_stats(settings),
        changes=changes,
        injected=injected,
        rollback=rb,
        republish=republish,
        comparison=comparison,
        round_trips=round_trips,
        deferral=deferral,
        deferral_error=deferral_error,
        incremental=incremental,
        plots=[str(p) for p in plots],
    )


def save_result(result: RankingsBench, reports_dir: Path) -> Path:
    """`<reports_dir>/latest/rankings/bench.json`: every figure of the run, claims or not.

    The per-response timelines are left out: the plots show them.
    """
    data = jsonable(result, "rankings bench")
    for key in ("flip", "rollback"):
        if isinstance(data.get(key), dict):
            data[key].pop("timeline", None)
    # derived figures are properties, which asdict() leaves out
    if result.comparison:
        c = result.comparison
        data["comparison"].update(
            p99_ratio=c.p99_ratio, p50_ratio=c.p50_ratio, p99_ratio_vs_healthz=c.p99_ratio_vs_healthz
        )
    if result.incremental:
        i = result.incremental
        data["incremental"].update(
            incremental_over_full=i.incremental_over_full,
            incremental_over_full_all_models=i.incremental_over_full_all_models,
            incremental_over_full_process=i.incremental_over_full_process,
            incremental_3d_over_1d=i.incremental_3d_over_1d,
        )
    path = latest_dir(reports_dir) / "rankings" / "bench.json"
    write_json_atomic(path, data)
    return path


__all__ = [
    "Arrivals",
    "ChangeTally",
    "LakeInput",
    "RankingsBench",
    "lake_input_stats",
    "new_arrivals",
    "run_bench",
    "save_result",
]
