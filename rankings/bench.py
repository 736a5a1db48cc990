"""Story 2's measurements: serving under load with a flip, latency vs a constant endpoint, cost.

Backs, each measured on a real run (`starlab rankings bench`):
- "API p95 180 ms" (< 200 ms): p50/p95/p99 of >= 20,000 requests at
  concurrency 32 from a separate process (`rankings.load`);
- "change failure rate 0%" / "no request mixes versions": a real publish
  (flip + warm + pointer move) happens half way through that load; every
  response is checked against the cached snapshot of the build it names;
- "freshness 65-90 min" (< 2 h) and "duplication 0.2%" (< 0.5%): of the
  build published under load;
- item 6: ranking p99 vs `/healthz` p99 at concurrency 8 on the same server
  in the same run, with the bare Redis GET round trip beside; and an
  incremental dbt run over one new day on 30 days of history vs a full
  refresh, at >= 10M events, compared on model execution times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import redis

from rankings.cache import READ_LUA, RankingsCache
from rankings.config import RankingsSettings
from rankings.dbt import run_dbt
from rankings.errors import DQGateError, RankingsError
from rankings.load import items_digest
from rankings.publish import Candidate, Publisher
from rankings.resp import RespClient, Script
from rankings.server import ApiServer
from rankings.synth import generate_recent, newest_ingest, synthesize_lake
from starlab.events.files import write_lake_events
from starlab.events.model import Event
from starlab.evidence import save_plot
from starlab.metrics import LatencySummary, duplicate_rate, percentile
from starlab.settings import Settings

Progress = Callable[[str], None]


def _noop(_: str) -> None:
    pass


# --- the load process ---------------------------------------------------------------------


@dataclass
class LoadRun:
    """Samples of one `rankings.load` process, columns as it wrote them."""

    data: dict[str, Any]
    wall_s: float

    @property
    def latencies_ms(self) -> list[float]:
        return [(e - s) / 1e6 for s, e in zip(self.data["start_ns"], self.data["end_ns"], strict=True)]

    def latencies_of(self, path_index: int) -> list[float]:
        return [
            (e - s) / 1e6
            for k, s, e in zip(
                self.data["path_index"], self.data["start_ns"], self.data["end_ns"], strict=True
            )
            if k == path_index
        ]

    @property
    def requests(self) -> int:
        return len(self.data["status"])

    @property
    def throughput_rps(self) -> float:
        return self.requests / max((self.data["finished_ns"] - self.data["started_ns"]) / 1e9, 1e-9)


def run_load(
    base_url: str,
    paths: list[str],
    requests: int,
    concurrency: int,
    *,
    parse: bool = True,
    on_half: Callable[[], None] | None = None,
    timeout_s: float = 600.0,
) -> LoadRun:
    """Run `python -m rankings.load` and call `on_half` when it reports 50% done."""
    with tempfile.TemporaryDirectory(prefix="rankings-load-") as tmp:
        out = Path(tmp) / "load.json"
        cmd = [sys.executable, "-m", "rankings.load", "--base-url", base_url,
               "--requests", str(requests), "--concurrency", str(concurrency), "--out", str(out)]  # fmt: skip
        for p in paths:
            cmd += ["--path", p]
        if not parse:
            cmd.append("--no-parse")
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                if on_half is not None and '"progress"' in line:
                    on_half()
            proc.wait(timeout=timeout_s)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            err = proc.stderr.read() if proc.stderr else ""
            raise RankingsError(f"the load process failed ({proc.returncode}): {err.strip()[-400:]}")
        return LoadRun(json.loads(out.read_text()), time.monotonic() - t0)


# --- serving under load with a flip ----------------------------------------------------------


def serving_paths(categories: list[str]) -> list[str]:
    """A request mix: the overall top 20 and top 100, and each category's top 10."""
    paths = ["/rankings?limit=20", "/rankings?limit=100"]
    paths += [f"/rankings?limit=10&category={c}" for c in categories]
    return paths


def _expected_digests(cache: RankingsCache, build_id: str, paths: list[str]) -> dict[str, str]:
    """The digest each path must return when served from `build_id`, read from its keys."""
    out = {}
    for p in paths:
        query = dict(kv.split("=", 1) for kv in p.split("?", 1)[1].split("&"))
        suffix = f"cat:{query['category']}" if "category" in query else "overall"
        raw = cache.r.lrange(cache.key(build_id, suffix), 0, int(query["limit"]) - 1)
        out[p] = items_digest([json.loads(x) for x in raw])
    return out


@dataclass
class SwitchUnderLoad:
    """A version switch (flip or rollback) measured under load."""

    latency_ms: LatencySummary
    requests: int
    throughput_rps: float
    failed: int
    mixed: int
    stale_after_flip: int
    old_build: str
    new_build: str
    responses_old: int
    responses_new: int
    flip_started_ms: float
    """When the switch started, ms after the load started."""
    flip_s: float
    """Wall time of the switch (flip + warm, or rollback) while the load ran."""
    result: dict[str, Any]
    publish: dict[str, Any] | None = None
    timeline: dict[str, list[Any]] | None = None
    """Per response: ms since start, latency ms, 1 if served by the new build (for the plot)."""

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "timeline"}
        return {**d, "latency_ms": self.latency_ms.to_dict()}


def switch_under_load(
    publisher: Publisher,
    base_url: str,
    switch: Callable[[], tuple[str, dict[str, Any]]],
    *,
    requests: int = 20_000,
    concurrency: int = 32,
) -> SwitchUnderLoad:
    """Load the API; half way, `switch()` makes another build live; check every response.

    `switch` returns the build it made live and what it did. A response is
    `failed` if not 200, `mixed` if its items are not exactly the cached
    snapshot of the build it names (or it names neither build), `stale` if
    it names the old build although the request was sent after the switch
    finished (CLOCK_MONOTONIC is shared between processes).
    """
    cache = publisher.cache
    old = cache.live_build()
    if old is None:
        raise RankingsError("nothing is served yet: publish once before measuring a switch")
    categories = json.loads(cache.r.hget(cache.key(old, "meta"), "categories") or b"[]")
    paths = serving_paths(categories)
    done: dict[str, Any] = {}

    def on_half() -> None:
        done["start_ns"] = time.perf_counter_ns()
        done["new"], done["result"] = switch()
        done["done_ns"] = time.perf_counter_ns()

    run = run_load(base_url, paths, requests, concurrency, on_half=on_half)
    if "done_ns" not in done:
        raise RankingsError("the switch did not happen during the load")
    new = done["new"]
    expected = {old: _expected_digests(cache, old, paths), new: _expected_digests(cache, new, paths)}
    d = run.data
    failed = mixed = stale = n_old = n_new = 0
    for k, start, status, build, digest in zip(
        d["path_index"], d["start_ns"], d["status"], d["build_id"], d["digest"], strict=True
    ):
        if status != 200:
            failed += 1
        elif build not in expected or expected[build][paths[k]] != digest:
            mixed += 1
        else:
            n_old += build == old
            n_new += build == new
            stale += build == old and start > done["done_ns"]
    t0 = d["started_ns"]
    return SwitchUnderLoad(
        latency_ms=LatencySummary.from_samples(run.latencies_ms),
        requests=run.requests,
        throughput_rps=round(run.throughput_rps, 1),
        failed=failed,
        mixed=mixed,
        stale_after_flip=stale,
        old_build=old,
        new_build=new,
        responses_old=n_old,
        responses_new=n_new,
        flip_started_ms=round((done["start_ns"] - t0) / 1e6, 1),
        flip_s=round((done["done_ns"] - done["start_ns"]) / 1e9, 4),
        result=done["result"],
        timeline={
            "t_ms": [(s_ - t0) / 1e6 for s_ in d["start_ns"]],
            "latency_ms": run.latencies_ms,
            "is_new": [int(b == new) for b in d["build_id"]],
            "switch_ms": [(done["start_ns"] - t0) / 1e6, (done["done_ns"] - t0) / 1e6],
        },
    )


def flip_under_load(
    publisher: Publisher,
    candidate: Candidate,
    base_url: str,
    *,
    requests: int = 20_000,
    concurrency: int = 32,
) -> SwitchUnderLoad:
    """Publish `candidate` (flip + warm) half way through the load, then record its metrics."""

    def switch() -> tuple[str, dict[str, Any]]:
        return candidate.build_id, {"flip": publisher.flip(candidate), "warm": publisher.warm(candidate)}

    out = switch_under_load(publisher, base_url, switch, requests=requests, concurrency=concurrency)
    out.publish = publisher.record(candidate)
    return out


def rollback_under_load(
    publisher: Publisher, base_url: str, *, requests: int = 5_000, concurrency: int = 32
) -> SwitchUnderLoad:
    def switch() -> tuple[str, dict[str, Any]]:
        result = publisher.rollback()
        return result["build_id"], result

    return switch_under_load(publisher, base_url, switch, requests=requests, concurrency=concurrency)


# --- ranking path vs constant endpoint, and the bare round trip ----------------------------------


def const_comparison(
    base_url: str, *, rounds: int = 8, per_round: int = 2_500, concurrency: int = 8
) -> dict[str, Any]:
    """p99 of /rankings vs constant endpoints at concurrency 8, alternating blocks so drift hits all alike.

    The claim's baseline is `/const?limit=20`: same parameters and validation,
    same body size, no Redis, so the ratio isolates what the ranking path adds.
    `/healthz` (no parameters, tiny body) is printed beside.
    """
    endpoints = {"healthz": "/healthz", "const": "/const?limit=20", "rankings": "/rankings?limit=20"}
    samples: dict[str, list[float]] = {k: [] for k in endpoints}
    per_round_p99: list[dict[str, float]] = []
    for _ in range(rounds):
        row = {}
        for name, path in endpoints.items():
            run = run_load(base_url, [path], per_round, concurrency, parse=False)
            if any(s != 200 for s in run.data["status"]):
                raise RankingsError(f"{path} answered non-200 during the comparison")
            lat = run.latencies_ms
            samples[name] += lat
            row[name] = round(percentile(lat, 99), 3)
        per_round_p99.append(row)
    summary = {k: LatencySummary.from_samples(v) for k, v in samples.items()}
    rank, const, health = summary["rankings"], summary["const"], summary["healthz"]
    return {
        "concurrency": concurrency,
        "requests_each": len(samples["rankings"]),
        "rankings_ms": rank.to_dict(),
        "const_ms": const.to_dict(),
        "healthz_ms": health.to_dict(),
        "p99_ratio": round(rank.p99 / const.p99, 3),
        "p50_ratio": round(rank.p50 / const.p50, 3),
        "p99_ratio_vs_healthz": round(rank.p99 / health.p99, 3),
        "per_round_p99_ms": per_round_p99,
    }


def redis_round_trips(settings: Settings, cfg: RankingsSettings, n: int = 3_000) -> dict[str, Any]:
    """Bare GET round trip, and the API's read as one EVALSHA vs two round trips (GET, LRANGE)."""
    pointer = f"{cfg.key_prefix}:live"

    async def measure() -> dict[str, list[float]]:
        client = RespClient.from_url(settings.redis_url, max_connections=1)
        script = Script(client, READ_LUA)
        out: dict[str, list[float]] = {"get": [], "evalsha_1rt": [], "get_lrange_2rt": []}
        try:
            await script(keys=[pointer], args=[cfg.key_prefix, "overall", 20])  # load it
            for _ in range(n):
                t0 = time.perf_counter_ns()
                build = await client.execute("GET", pointer)
                t1 = time.perf_counter_ns()
                await script(keys=[pointer], args=[cfg.key_prefix, "overall", 20])
                t2 = time.perf_counter_ns()
                b = await client.execute("GET", pointer)
                assert isinstance(b, bytes)
                await client.execute("LRANGE", f"{cfg.key_prefix}:{b.decode()}:overall", 0, 19)
                t3 = time.perf_counter_ns()
                if build is None:
                    raise RankingsError("nothing is served: the round-trip probe needs a live version")
                out["get"].append((t1 - t0) / 1e3)
                out["evalsha_1rt"].append((t2 - t1) / 1e3)
                out["get_lrange_2rt"].append((t3 - t2) / 1e3)
        finally:
            await client.aclose()
        return out

    samples = asyncio.run(measure())
    sync = redis.Redis.from_url(settings.redis_url)
    sync_get = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        sync.get(pointer)
        sync_get.append((time.perf_counter_ns() - t0) / 1e3)
    sync.close()
    summary = {k: LatencySummary.from_samples(v, unit="us").to_dict() for k, v in samples.items()}
    summary["get_redis_py_sync"] = LatencySummary.from_samples(sync_get, unit="us").to_dict()
    return {"unit": "us", "samples_each": n, **summary}


# --- incremental vs full refresh at >= 10M events -----------------------------------------------


DATA_MODELS = ("int_item_engagement_daily", "rankings")
"""The models that process data (incremental tables). The staging models are
views: each run re-creates them (~0.13 s of DDL each, the same in a full and an
incremental run), a fixed cost like dbt's process start-up, reported beside."""


def incremental_vs_full(
    work: Path, *, events: int = 10_000_000, days: int = 30, repeats: int = 2, progress: Progress = _noop
) -> dict[str, Any]:
    """30 days of history, then one new day: incremental run vs full refresh of the same 31 days.

    Compared on the execution time of the data models (run_results.json);
    all models (with the views' DDL) and the dbt process wall time are
    reported beside. Each measured run is repeated from the same starting
    point (a copy of the warehouse after the 30-day build) and the fastest
    kept: on 2 cores shared with other jobs a single run can be slowed 2-4x,
    and the minimum is the best estimate of a run's own cost. A run over
    three new days instead of one shows how the cost grows with the delta.
    """
    shutil.rmtree(work, ignore_errors=True)
    lake, warehouse = work / "lake", work / "warehouse.duckdb"
    snapshot = work / "warehouse-30d.duckdb"
    per_day = events // days
    start = (datetime.now(UTC) - timedelta(days=days + 4)).date()
    t0 = time.monotonic()
    rows = synthesize_lake(lake, events, start=start, days=days, tag="hist")
    synth_s = time.monotonic() - t0
    progress(f"synthesized {rows:,} lake rows ({events:,} events over {days} days) in {synth_s:.1f}s")
    variables = {"target_color": "blue", "backfill_days": days + 3}

    def dbt(label: str, *, full_refresh: bool, restore: bool = False, times: int = 1) -> dict[str, Any]:
        best: dict[str, Any] | None = None
        for _ in range(times):
            if restore:
                shutil.copyfile(snapshot, warehouse)
            run = run_dbt(
                ["run", "--select", "+rankings"],
                data_dir=work,
                warehouse=warehouse,
                work_dir=work / "dbt",
                variables=variables,
                full_refresh=full_refresh,
            )
            if not run.ok:
                raise RankingsError(f"dbt run ({label}) failed:\n{run.tail()}")
            models = run.model_times()
            data_s = sum(v for k, v in models.items() if k in DATA_MODELS)
            progress(
                f"{label}: data models {data_s:.2f}s, all models {sum(models.values()):.2f}s "
                f"({', '.join(f'{k} {v:.2f}' for k, v in models.items())}), process {run.wall_s:.1f}s"
            )
            if best is None or data_s < best["data_models_s"]:
                best = {
                    "models_s": models,
                    "data_models_s": round(data_s, 3),
                    "all_models_s": round(sum(models.values()), 3),
                    "process_s": round(run.wall_s, 2),
                }
        assert best is not None
        return best

    full_30 = dbt(f"full build, {days} days", full_refresh=True)
    shutil.copyfile(warehouse, snapshot)
    new_day = start + timedelta(days=days)
    delta_rows = synthesize_lake(
        lake, per_day, start=new_day, days=1, tag="day1", ingest_after=newest_ingest(lake), write_dims=False
    )
    # alternate the two so a burst of load from other jobs hits both alike
    incr_runs, full_runs = [], []
    for n in range(1, repeats + 1):
        incr_runs.append(dbt(f"incremental, +1 day (round {n})", full_refresh=False, restore=True))
        full_runs.append(dbt(f"full refresh, {days + 1} days (round {n})", full_refresh=True))
    incr_1 = min(incr_runs, key=lambda r: r["data_models_s"])
    full_31 = min(full_runs, key=lambda r: r["data_models_s"])
    delta2_rows = synthesize_lake(
        lake,
        2 * per_day,
        start=new_day + timedelta(days=1),
        days=2,
        tag="day23",
        ingest_after=newest_ingest(lake),
        write_dims=False,
    )
    incr_3 = dbt("incremental, +3 days", full_refresh=False, restore=True, times=repeats)

    def ratio(key: str, a: dict[str, Any], b: dict[str, Any]) -> float:
        return round(float(a[key]) / float(b[key]), 4)

    return {
        "events_history": events,
        "lake_rows": rows + delta_rows + delta2_rows,
        "events_per_day": per_day,
        "synth_s": round(synth_s, 1),
        "repeats": repeats,
        "full_30d": full_30,
        "incremental_1d": incr_1,
        "full_refresh_31d": full_31,
        "incremental_3d": incr_3,
        "incremental_over_full": ratio("data_models_s", incr_1, full_31),
        "incremental_over_full_all_models": ratio("all_models_s", incr_1, full_31),
        "incremental_over_full_process": ratio("process_s", incr_1, full_31),
        "incremental_3d_over_1d": ratio("data_models_s", incr_3, incr_1),
        "full_31d_over_30d": ratio("data_models_s", full_31, full_30),
    }


def new_arrivals(settings: Settings, events: int, minutes: float = 60.0) -> dict[str, Any]:
    """Events ingested between the lake's newest ingest and now: something new to rank.

    Never before the newest ingest already in the lake: the incremental
    models only see rows ingested after their watermark, so arrivals written
    "in the past" would be missed (and the gate's counts check would refuse
    the build, rightly).
    """
    now = datetime.now(UTC)
    tag = now.strftime("arr%Y%m%dT%H%M%S")
    since = (now - newest_ingest(settings.lake_dir)).total_seconds() / 60 - 0.05
    window = max(min(minutes, since * 0.9), 0.02)  # the generator stretches spans by ~3%
    g = generate_recent(settings.lake_dir, events, days=window / 1440, part=tag, write_dims=False, end=now)
    return {"part": tag, "rows": g.rows, "newest_ingest_at": g.newest_ingest_at.isoformat()}


def lake_input_stats(lake_dir: Path) -> dict[str, Any]:
    """Rows and distinct event ids of the lake: the duplication the pipeline starts from."""
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        res = con.execute(
            f"select count(*), count(distinct event_id) from read_parquet('{lake_dir}/events/*/part-*')"
        ).fetchone()
    finally:
        con.close()
    rows, distinct = (int(res[0]), int(res[1])) if res else (0, 0)
    return {
        "rows": rows,
        "distinct_event_ids": distinct,
        "duplicate_rate_pct": round(duplicate_rate(rows, distinct) * 100, 3) if rows else None,
    }


def inject_collapse(settings: Settings, after: date, items: int = 12) -> list[Path]:
    """A bad input: a lone partition a week after `after` holding only `items` items.

    Its ranking date becomes the newest: dbt's absolute floor (10 items)
    passes, the GX row-count bound against the previous build (+-50%) must
    refuse it. Like a feed that was down for a week and sent a test batch.
    """
    day = after + timedelta(days=8)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    base_ms = int(datetime(day.year, day.month, day.day, 12, tzinfo=UTC).timestamp() * 1000)
    events = [
        Event(
            event_id=f"inject-collapse-{n}",
            user_id="u000001",
            item_id=f"i{n % items:05d}",
            event_type="click" if n % 5 == 0 else "impression",
            event_ts=base_ms + n * 1000,
            ingest_ts=now_ms,
            platform="web",
            session_id="s-inject",
            dwell_ms=None if n % 5 == 0 else 1000,
        )
        for n in range(items * 10)
    ]
    write_lake_events(events, settings.lake_dir, "inject-collapse")
    return list((settings.lake_dir / "events").glob("*/part-inject-collapse.parquet"))


def injected_bad_build(publisher: Publisher, base_url: str | None = None) -> dict[str, Any]:
    """Attempt to publish a row-count collapse; the gate must refuse it and serving must not change."""
    cache = publisher.cache
    before = cache.read(20)
    if before is None:
        raise RankingsError("nothing is served yet: publish once before injecting a bad build")
    live = publisher.store.read().live_record()
    assert live is not None and live.ranking_date is not None
    files = inject_collapse(publisher.settings, date.fromisoformat(live.ranking_date))
    refused, failures, build = False, [], None
    try:
        publisher.prepare()
    except DQGateError as exc:
        refused, failures, build = True, [f.describe() for f in exc.failures], exc.build_id
    finally:
        for f in files:
            f.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                f.parent.rmdir()
    after = cache.read(20)
    served_unchanged = after == before
    http_build = None
    if base_url:
        http_build = httpx.get(f"{base_url}/rankings?limit=20", timeout=5).json().get("build_id")
        served_unchanged = served_unchanged and http_build == before[0]
    return {
        "kind": "row-count collapse (12 items on a new ranking date)",
        "build_id": build,
        "refused": refused,
        "failures": failures,
        "served_build_before": before[0],
        "served_build_after": after[0] if after else None,
        "served_build_http": http_build,
        "served_unchanged": served_unchanged,
    }


def plot_switch(sw: SwitchUnderLoad, name: str, reports_dir: Path, title: str) -> Path | None:
    """Latency of every request over time, colored by the build that answered it."""
    if not sw.timeline:
        return None
    from matplotlib.figure import Figure

    tl = sw.timeline
    fig = Figure(figsize=(9, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for flag, color, label in ((0, "tab:blue", sw.old_build), (1, "tab:green", sw.new_build)):
        xs = [t for t, n in zip(tl["t_ms"], tl["is_new"], strict=True) if n == flag]
        ys = [v for v, n in zip(tl["latency_ms"], tl["is_new"], strict=True) if n == flag]
        ax.scatter(xs, ys, s=2, color=color, label=f"served by {label}", alpha=0.5)
    ax.axvspan(tl["switch_ms"][0], max(tl["switch_ms"][1], tl["switch_ms"][0] + 5), color="red", alpha=0.3)
    ax.set_xlabel("ms since the load started (red: switch)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(loc="upper right", markerscale=5, fontsize=7)
    return save_plot(fig, name, reports_dir)


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
) -> dict[str, Any]:
    """Everything `starlab rankings bench` prints and records, in one run."""
    publisher = Publisher(settings, cfg)
    out: dict[str, Any] = {"requests": requests, "concurrency": concurrency}
    changes = {"attempted": 0, "refused": 0, "published": 0, "rolled_back": 0, "reached_users_bad": 0}
    if publisher.store.read().live_build_id is None or publisher.cache.live_build() is None:
        progress("nothing published yet: running a first publish cycle")
        publisher.run_cycle()
        changes["attempted"] += 1
        changes["published"] += 1
    log = cfg.control_dir(settings) / "api-bench.log"
    with ApiServer(settings, cfg, log_path=log) as server:
        progress(f"API server up at {server.base_url} (pid {server.proc.pid if server.proc else '?'})")
        if inject:
            bad = injected_bad_build(publisher, server.base_url)
            out["injected_bad_build"] = bad
            changes["attempted"] += 1
            changes["refused"] += bad["refused"]
            changes["reached_users_bad"] += not (bad["refused"] and bad["served_unchanged"])
            progress(
                f"injected bad build {'refused' if bad['refused'] else 'NOT refused'}, served build "
                f"{'unchanged' if bad['served_unchanged'] else 'CHANGED'}: {'; '.join(bad['failures'])[:300]}"
            )
        out["arrivals"] = new_arrivals(settings, arrivals)
        cand = publisher.prepare()
        progress(f"candidate {cand.build_id} built and gated; flipping it under load")
        flip = flip_under_load(publisher, cand, server.base_url, requests=requests, concurrency=concurrency)
        out["flip_under_load"] = flip.to_dict()
        changes["attempted"] += 1
        changes["published"] += 1
        changes["reached_users_bad"] += bool(flip.failed + flip.mixed + flip.stale_after_flip)
        progress(
            f"{flip.requests:,} requests at c={concurrency}: p50 {flip.latency_ms.p50:.1f} / p95 "
            f"{flip.latency_ms.p95:.1f} / p99 {flip.latency_ms.p99:.1f} ms, "
            f"{flip.throughput_rps:,.0f} req/s; "
            f"failed {flip.failed}, mixed {flip.mixed}, stale {flip.stale_after_flip}; "
            f"old/new {flip.responses_old}/{flip.responses_new}"
        )
        plots = [plot_switch(flip, "2-rankings-flip", settings.reports_dir, "flip under load")]
        if rollback:
            rb = rollback_under_load(publisher, server.base_url, requests=max(requests // 4, 2_000))
            out["rollback_under_load"] = rb.to_dict()
            changes["attempted"] += 1
            changes["rolled_back"] += 1
            changes["reached_users_bad"] += bool(rb.failed + rb.mixed + rb.stale_after_flip)
            progress(
                f"rollback to {rb.new_build} under load in {rb.flip_s * 1000:.0f} ms: failed {rb.failed}, "
                f"mixed {rb.mixed}, stale {rb.stale_after_flip}"
            )
            plots.append(plot_switch(rb, "2-rankings-rollback", settings.reports_dir, "rollback under load"))
            progress("publishing again after the rollback (the rolled-back color is rebuilt in full)")
            again = publisher.run_cycle()
            out["republish"] = again["metrics"]
            changes["attempted"] += 1
            changes["published"] += 1
        if compare:
            out["const_comparison"] = c = const_comparison(server.base_url)
            progress(
                f"c=8 p99: /rankings {c['rankings_ms']['p99']:.2f} ms vs /const "
                f"{c['const_ms']['p99']:.2f} ms = {c['p99_ratio']}x (vs /healthz "
                f"{c['healthz_ms']['p99']:.2f} ms: {c['p99_ratio_vs_healthz']}x)"
            )
    out["changes"] = changes
    out["plots"] = [str(p) for p in plots if p]
    if compare:
        out["redis_round_trips"] = rt = redis_round_trips(settings, cfg)
        progress(
            f"bare Redis GET p50 {rt['get']['p50']:.0f} / p99 {rt['get']['p99']:.0f} us; read as 1 EVALSHA "
            f"p50 {rt['evalsha_1rt']['p50']:.0f} us vs GET+LRANGE p50 {rt['get_lrange_2rt']['p50']:.0f} us"
        )
    out["lake_input"] = lake_input_stats(settings.lake_dir)
    try:
        from rankings.deferral import measure_deferral

        live = publisher.store.read().live_color
        assert live is not None
        out["deferral"] = measure_deferral(publisher.warehouse, live, seed=deferral_seed)
    except (RankingsError, AssertionError) as exc:
        out["deferral"] = {"error": str(exc)}
    if perf_events:
        progress(f"incremental vs full refresh at {perf_events:,} events (separate lake and warehouse)")
        out["incremental_vs_full"] = perf = incremental_vs_full(
            settings.data_dir.resolve() / "bench-incremental", events=perf_events, progress=progress
        )
        progress(
            f"incremental / full: data models {perf['incremental_over_full']:.1%}, all models "
            f"{perf['incremental_over_full_all_models']:.1%}, "
            f"dbt process {perf['incremental_over_full_process']:.1%}"
        )
    return out


def save_result(result: dict[str, Any], reports_dir: Path) -> Path:
    """`<reports_dir>/latest/rankings/bench.json`: every figure of the run, claims or not."""
    from starlab.evidence.store import latest_dir, write_json_atomic

    path = latest_dir(reports_dir) / "rankings" / "bench.json"
    write_json_atomic(path, result)
    return path


__all__ = [
    "LoadRun",
    "SwitchUnderLoad",
    "const_comparison",
    "flip_under_load",
    "incremental_vs_full",
    "inject_collapse",
    "injected_bad_build",
    "lake_input_stats",
    "new_arrivals",
    "redis_round_trips",
    "rollback_under_load",
    "run_bench",
    "run_load",
    "save_result",
    "serving_paths",
    "switch_under_load",
]
