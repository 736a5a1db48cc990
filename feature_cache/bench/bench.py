"""`starlab features bench`: issue 9's performance ratios for serving, from one run.

Backs, each as a ratio or bound measured in the same run on the same box:

(a) in-process feature read, one user x 10 features, starlab's read (the
    app's own `CacheReader`: one pipelined round trip, decoding, and the
    freshness rule Feast does not apply) against Feast 0.67's
    `get_online_features` for the same 10 features, both on one private
    redis-server: starlab's p95 at most 1/3 of Feast's; client CPU per read
    printed for both (Feast runs in its own venv, `feast_online.py`);
(b) HTTP `/features` p99 at concurrency 8 at most 2x its constant twin
    (`/const/{user_id}`, same parameters and validation, a body of the same
    size, mounted by the bench-only factory) on the same server, in
    alternating blocks so drift on a shared box hits both alike;
(c) fetch stage with the story's dependency latencies and every dependency
    failing 0.5% of calls: B's p95 at most half of A's; B's availability at
    least 99.9%, A's measured beside the story's 0.995^4 = 98.0%;
(d) hit rate at least 95% steady, at least 97% with pre-warm and dynamic TTLs.

`run_bench` returns a typed `BenchResult` whose `checks` say pass or fail
from the numbers, never by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from feature_cache.bench.app import BENCH_FACTORY
from feature_cache.bench.loadtest import LoadRig
from feature_cache.bench.redis_server import PrivateRedis
from feature_cache.bench.results import DesignResult
from feature_cache.bench.rig import app_env
from feature_cache.bench.stream import SnapshotSource
from feature_cache.errors import FeatureCacheError
from feature_cache.offline.feast_docs import BlockLine, ReadyLine, read_doc
from feature_cache.serving.cache import CacheReader, TtlTable, now_ms, plan_read, queue_write
from feature_cache.serving.keys import VIEW, FieldSpec, FieldType, GroupName, GroupSpec, field_count, spec
from feature_cache.serving.prewarm import prewarm
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.metrics import LatencySummary
from starlab.redis_client import AsyncRedis
from starlab.serving.histogram import LatencyRecorder
from starlab.serving.load import LoadSpec, run_load
from starlab.serving.process import AppServer

__all__ = [
    "BENCH_VIEW",
    "BenchCheck",
    "BenchResult",
    "InProcessRead",
    "ReadLatency",
    "TwinComparison",
    "in_process_read",
    "run_bench",
    "twin_comparison",
]

Progress = Callable[[str], None]
FEAST_SCRIPT = Path(__file__).resolve().with_name("feast_online.py")

BENCH_VIEW: tuple[GroupSpec, ...] = (
    spec(GroupName.SOCIAL),
    spec(GroupName.GEO),
    spec(GroupName.ABUSE),
    GroupSpec(GroupName.INTENT, (FieldSpec("session_intent", FieldType.STR),), ondemand=True),
)
"""10 features in 4 groups: one HMGET each, one round trip (and 4 FeatureViews on Feast's side)."""


@dataclass(frozen=True)
class ReadLatency:
    calls: int
    p50_us: float
    p95_us: float
    p99_us: float
    cpu_us_per_call: float


@dataclass(frozen=True)
class InProcessRead:
    features: int
    starlab_sync: ReadLatency
    """The app's reader on a blocking redis-py client (what a caller in-process would use)."""
    starlab_async: ReadLatency
    """The same reader on the app's asyncio client, one await per read."""
    feast: ReadLatency | None
    feast_version: str | None
    feast_error: str | None
    redis_port: int

    @property
    def p95_ratio(self) -> float | None:
        """starlab (blocking, like Feast's call) p95 / Feast p95."""
        return None if self.feast is None else self.starlab_sync.p95_us / self.feast.p95_us

    @property
    def p95_ratio_async(self) -> float | None:
        return None if self.feast is None else self.starlab_async.p95_us / self.feast.p95_us


@dataclass(frozen=True)
class TwinComparison:
    concurrency: int
    requests_each: int
    features: LatencySummary
    const: LatencySummary
    per_round_p99_ms: tuple[tuple[float, float], ...]
    """(features, const) p99 of each alternating block."""
    load_avg_1m: tuple[float, float] = (0.0, 0.0)
    """The box's 1-minute load average before and after (2 cores shared with other work)."""

    @property
    def p99_ratio(self) -> float:
        return self.features.p99 / self.const.p99


class Op(StrEnum):
    LE = "<="
    GE = ">="


@dataclass(frozen=True)
class BenchCheck:
    name: str
    measured: float | None
    limit: float
    op: Op

    @property
    def passed(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured <= self.limit if self.op is Op.LE else self.measured >= self.limit


@dataclass(frozen=True)
class BenchResult:
    read: InProcessRead
    twin: TwinComparison
    a: DesignResult
    b: DesignResult
    b_warm: DesignResult
    """B with the top-N hot users pre-warmed and the dynamic TTLs on."""
    seconds: float

    @property
    def fetch_p95_ratio(self) -> float:
        return self.b.fetch.p95 / self.a.fetch.p95

    @property
    def checks(self) -> tuple[BenchCheck, ...]:
        return (
            BenchCheck("(a) in-process read p95, starlab / Feast", self.read.p95_ratio, 1 / 3, Op.LE),
            BenchCheck("(b) /features p99 / constant twin p99 (c=8)", self.twin.p99_ratio, 2.0, Op.LE),
            BenchCheck("(c) fetch p95, B / A", self.fetch_p95_ratio, 0.5, Op.LE),
            BenchCheck("(c) B availability (0.5% dependency failures)", self.b.availability, 0.999, Op.GE),
            BenchCheck("(d) hit rate, steady", self.b.hit_rate, 0.95, Op.GE),
            BenchCheck("(d) hit rate, pre-warm + dynamic TTLs", self.b_warm.hit_rate, 0.97, Op.GE),
        )


# --- (a) in-process read -------------------------------------------------------------------


def _latency(samples_ns: list[int], cpu_s: float) -> ReadLatency:
    rec = LatencyRecorder()
    for ns in samples_ns:
        rec.record_ns(ns)
    q = rec.h.get_percentile_to_value_dict([50, 95, 99])  # microseconds
    return ReadLatency(
        calls=len(samples_ns),
        p50_us=float(q[50]),
        p95_us=float(q[95]),
        p99_us=float(q[99]),
        cpu_us_per_call=round(cpu_s / len(samples_ns) * 1e6, 1),
    )


def _feast_python(home: Path) -> Path:
    from feature_cache.offline.feast_compare import default_feast_venv, ensure_feast_venv

    return ensure_feast_venv(default_feast_venv(home))


class _FeastReader:
    """Feast's read loop in its own venv, driven block by block over stdin (`feast_online.py`)."""

    def __init__(
        self, home: Path, port: int, user: str, values: Mapping[GroupName, Mapping[str, object]]
    ) -> None:
        python = _feast_python(home)
        self._tmp = tempfile.TemporaryDirectory(prefix="starlab-feast-online-")
        groups = [
            {
                "name": g.name.value,
                "ttl_s": 300,
                "fields": [
                    {"name": f.name, "type": f.ftype.value, "value": values[g.name][f.name]} for f in g.fields
                ],
            }
            for g in BENCH_VIEW
        ]
        tmp = Path(self._tmp.name)
        cfg = {
            "repo_dir": str(tmp / "repo"), "host": "127.0.0.1", "port": port, "user_id": user,
            "groups": groups, "calls": 0, "warmup": 300, "interactive": True,
            "result_json": str(tmp / "result.json"),
        }  # fmt: skip
        cfg_path = Path(self._tmp.name) / "config.json"
        cfg_path.write_text(json.dumps(cfg))
        self.proc = subprocess.Popen(
            [str(python), str(FEAST_SCRIPT), str(cfg_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        ready = read_doc(ReadyLine, self._line(), f"{FEAST_SCRIPT.name}'s first line")
        if not ready.ready:
            raise FeatureCacheError(f"Feast did not start: {ready}")
        if ready.missing:
            raise FeatureCacheError(f"Feast returned no value for {ready.missing}")
        self.version = ready.feast_version

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            result = Path(self._tmp.name) / "result.json"
            detail = json.loads(result.read_text()).get("error") if result.exists() else None
            err = self.proc.stderr.read()[-400:] if self.proc.stderr else ""
            raise FeatureCacheError(f"the Feast script ended (exit {self.proc.returncode}): {detail or err}")
        return line

    def block(self, calls: int) -> tuple[list[int], float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{calls}\n")
        self.proc.stdin.flush()
        out = read_doc(BlockLine, self._line(), f"{FEAST_SCRIPT.name}'s block of {calls} calls")
        if len(out.ns) != calls:
            raise FeatureCacheError(f"{FEAST_SCRIPT.name} timed {len(out.ns)} calls, not the {calls} asked")
        return out.ns, out.cpu_s

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()


def in_process_read(
    home: Path,
    *,
    rounds: int = 10,
    per_round: int = 300,
    warmup: int = 300,
    feast: bool = True,
    progress: Progress = lambda _: None,
) -> InProcessRead:
    """starlab's read vs Feast's `get_online_features`, one user x 10 features, one private Redis.

    The three loops (starlab blocking, starlab asyncio, Feast) run in alternating blocks of
    `per_round` calls, `rounds` times, so a change of load on the shared box hits all three.
    """
    user = "u0000000"
    prefix = f"bn{uuid.uuid4().hex[:6]}:fc"
    static = TtlTable.static(300.0, 60.0, ["intent"])
    values = SnapshotSource(60.0).groups(user, time.time())
    reader = CacheReader(prefix, static, BENCH_VIEW)
    fast = frozenset({GroupName.INTENT})
    samples: dict[str, list[int]] = {"sync": [], "async": [], "feast": []}
    cpu: dict[str, float] = {"sync": 0.0, "async": 0.0, "feast": 0.0}
    version = error = None
    with PrivateRedis() as rs:
        client = rs.client()
        pipe = client.pipeline(transaction=False)
        at = now_ms()
        for g in VIEW:
            queue_write(pipe, prefix, user, g, values[g.name], event_ts_ms=at, ingest_ts_ms=at, ttl_s=3600)
        pipe.execute()
        if reader.read_sync(client, user).groups[GroupName.SOCIAL] is None:
            raise FeatureCacheError("the bench user was not written")

        def sync_block(n: int) -> None:
            c0 = time.process_time()
            for _ in range(n):
                t0 = time.perf_counter_ns()
                plan_read(reader.read_sync(client, user), now_ms(), fast, killswitch=False)
                samples["sync"].append(time.perf_counter_ns() - t0)
            cpu["sync"] += time.process_time() - c0

        async def async_block(aclient: AsyncRedis, n: int) -> None:
            c0 = time.process_time()
            for _ in range(n):
                t0 = time.perf_counter_ns()
                read = await reader.read(aclient, user, budget_s=1.0)
                plan_read(read, now_ms(), fast, killswitch=False)
                samples["async"].append(time.perf_counter_ns() - t0)
            cpu["async"] += time.process_time() - c0

        feast_reader: _FeastReader | None = None
        if feast:
            progress("Feast 0.67 in its own venv: apply, write online, then timed blocks")
            try:
                feast_reader = _FeastReader(home, rs.port, user, values)
                version = feast_reader.version
            except FeatureCacheError as exc:
                error = str(exc)

        async def run_all() -> None:
            aclient = rs.async_client()
            try:
                sync_block(warmup)
                await async_block(aclient, warmup)
                samples["sync"].clear()
                samples["async"].clear()
                cpu["sync"] = cpu["async"] = 0.0
                for _ in range(rounds):
                    sync_block(per_round)
                    await async_block(aclient, per_round)
                    if feast_reader is not None:
                        ns, c = feast_reader.block(per_round)
                        samples["feast"].extend(ns)
                        cpu["feast"] += c
            finally:
                await aclient.aclose()

        try:
            asyncio.run(run_all())
        finally:
            if feast_reader is not None:
                feast_reader.close()
            client.close()
    return InProcessRead(
        features=field_count(BENCH_VIEW),
        starlab_sync=_latency(samples["sync"], cpu["sync"]),
        starlab_async=_latency(samples["async"], cpu["async"]),
        feast=_latency(samples["feast"], cpu["feast"]) if samples["feast"] else None,
        feast_version=version,
        feast_error=error,
        redis_port=rs.port,
    )


# --- (b) /features against its constant twin ---------------------------------------------------


def twin_comparison(
    cfg: FeatureCacheSettings,
    *,
    rounds: int = 4,
    per_round: int = 1_500,
    concurrency: int = 8,
    users: int = 50,
) -> TwinComparison:
    """p99 of `/features` (every read a hit, no scoring) vs `/const` in alternating closed-loop blocks.

    On a private redis-server: the stack's Redis serves other work on this box, whose
    commands would queue ahead of the route's and be charged to it.
    """
    prefix = "twin:fc"
    ids = [f"u{i:07d}" for i in range(users)]
    load0 = os.getloadavg()[0]
    with PrivateRedis() as rs:
        client = rs.client()
        # Values fresh for the whole comparison: the route's hit path is what is measured.
        long = TtlTable({g: 3_600.0 for g in GroupName})
        prewarm(client, prefix, ids, SnapshotSource(cfg.intent_period_s), long)
        client.close()
        env = app_env(Design.B, None, rs.url, prefix, scoring=False, fast_ttl_s=3_600, default_ttl_s=3_600)
        merged = {"features": LatencyRecorder(), "const": LatencyRecorder()}
        per_round_p99: list[tuple[float, float]] = []
        with AppServer(BENCH_FACTORY, env=env) as server:
            paths = {
                "features": [f"/features/{u}?type=social" for u in ids],
                "const": [f"/const/{u}?type=social" for u in ids],
            }
            warm = LoadSpec(
                base_url=server.base_url, paths=paths["features"], requests=500, concurrency=concurrency
            )
            run_load(warm)
            for _ in range(rounds):
                row: dict[str, float] = {}
                for name in ("features", "const"):
                    spec = LoadSpec(
                        base_url=server.base_url,
                        paths=paths[name],
                        requests=per_round,
                        concurrency=concurrency,
                    )
                    run = run_load(spec)
                    if run.errors:
                        raise FeatureCacheError(f"/{name} answered {run.errors} non-200 responses")
                    rec = run.recorder()
                    merged[name].merge(rec)
                    row[name] = rec.percentile_ms(99)
                per_round_p99.append((row["features"], row["const"]))
    return TwinComparison(
        concurrency=concurrency,
        requests_each=merged["features"].count,
        features=merged["features"].summary(),
        const=merged["const"].summary(),
        per_round_p99_ms=tuple(per_round_p99),
        load_avg_1m=(round(load0, 2), round(os.getloadavg()[0], 2)),
    )


# --- the whole bench ----------------------------------------------------------------------------


def run_bench(
    cfg: FeatureCacheSettings,
    redis_url: str,
    home: Path,
    *,
    load_s: float = 30.0,
    feast: bool = True,
    progress: Progress = lambda _: None,
) -> BenchResult:
    t0 = time.monotonic()
    progress("(a) in-process read: starlab vs Feast 0.67, 1 user x 10 features, one private Redis")
    read = in_process_read(home, feast=feast, progress=progress)
    progress("(b) /features vs its constant twin, concurrency 8, alternating blocks")
    twin = twin_comparison(cfg)
    progress(
        f"(c, d) A, B, B + pre-warm + dynamic TTLs: {cfg.qps:g} req/s for {load_s:g} s each, 0.5% failures"
    )
    with LoadRig(cfg, redis_url, failure_rate=cfg.dep_failure_rate, progress=progress) as rig:
        a = rig.run_design(Design.A, qps=cfg.qps, duration_s=load_s).result
        b = rig.run_design(Design.B, qps=cfg.qps, duration_s=load_s).result
        b_warm = rig.run_design(
            Design.B, qps=cfg.qps, duration_s=load_s, prewarm_n=cfg.prewarm_top_n, dynamic_ttl=True
        ).result
    return BenchResult(read=read, twin=twin, a=a, b=b, b_warm=b_warm, seconds=round(time.monotonic() - t0, 1))
