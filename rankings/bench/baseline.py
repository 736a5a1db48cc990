"""What the ranking route adds over its server stack, and what one Redis round trip costs.

Backs the claim "the ranking path adds about one Redis round trip, not more"
(ranking p99 <= 2x a constant endpoint's at concurrency 8): `/rankings` and
its constant twin `/const` (same parameters, validation and body size, no
Redis; mounted only by `rankings.bench.app`) are loaded in alternating
blocks, so drift on a shared machine hits both alike; `/healthz` is printed
beside. The bare Redis round trips (GET; the API's read as one EVALSHA vs two
round trips) put the difference in units of round trips.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from rankings.errors import RankingsError
from rankings.serving.cache import READ_LUA, key_tag, pointer_key, version_key
from rankings.settings import RankingsSettings
from starlab.metrics import LatencySummary, percentile
from starlab.redis_client import async_client, sync_client
from starlab.serving.histogram import LatencyRecorder
from starlab.serving.load import LoadSpec, run_load
from starlab.settings import Settings

ENDPOINTS = {"healthz": "/healthz", "const": "/const?limit=20", "rankings": "/rankings?limit=20"}


@dataclass(frozen=True)
class ConstComparison:
    concurrency: int
    requests_each: int
    rankings_ms: LatencySummary
    const_ms: LatencySummary
    healthz_ms: LatencySummary
    per_round_p99_ms: list[dict[str, float]]

    @property
    def p99_ratio(self) -> float:
        return round(self.rankings_ms.p99 / self.const_ms.p99, 3)

    @property
    def p50_ratio(self) -> float:
        return round(self.rankings_ms.p50 / self.const_ms.p50, 3)

    @property
    def p99_ratio_vs_healthz(self) -> float:
        return round(self.rankings_ms.p99 / self.healthz_ms.p99, 3)


def const_comparison(
    base_url: str, *, rounds: int = 8, per_round: int = 2_500, concurrency: int = 8
) -> ConstComparison:
    """p99 of /rankings vs its constant twin at concurrency 8, in alternating blocks."""
    merged = {k: LatencyRecorder() for k in ENDPOINTS}
    per_round_p99: list[dict[str, float]] = []
    for _ in range(rounds):
        row = {}
        for name, path in ENDPOINTS.items():
            run = run_load(
                LoadSpec(base_url=base_url, paths=[path], requests=per_round, concurrency=concurrency)
            )
            if run.errors:
                raise RankingsError(f"{path} answered {run.errors} non-200 responses during the comparison")
            merged[name].merge(run.recorder())
            row[name] = round(percentile(run.latencies_ms, 99), 3)
        per_round_p99.append(row)
    return ConstComparison(
        concurrency=concurrency,
        requests_each=merged["rankings"].count,
        rankings_ms=merged["rankings"].summary(),
        const_ms=merged["const"].summary(),
        healthz_ms=merged["healthz"].summary(),
        per_round_p99_ms=per_round_p99,
    )


@dataclass(frozen=True)
class RoundTrips:
    """Redis round trips in microseconds, from this process (the API's client library)."""

    samples_each: int
    get: LatencySummary
    evalsha_1rt: LatencySummary
    get_lrange_2rt: LatencySummary
    get_sync: LatencySummary


def redis_round_trips(settings: Settings, cfg: RankingsSettings, n: int = 3_000) -> RoundTrips:
    """Bare GET, and the API's read as one EVALSHA vs two round trips (GET, then LRANGE)."""
    pointer, tag = pointer_key(cfg.key_prefix), key_tag(cfg.key_prefix)

    async def measure() -> dict[str, list[float]]:
        client = async_client(settings)
        script = client.register_script(READ_LUA)
        out: dict[str, list[float]] = {"get": [], "evalsha_1rt": [], "get_lrange_2rt": []}
        try:
            await script(keys=[pointer], args=[tag, "overall", 20])  # load it
            for _ in range(n):
                t0 = time.perf_counter_ns()
                build = await client.get(pointer)
                t1 = time.perf_counter_ns()
                await script(keys=[pointer], args=[tag, "overall", 20])
                t2 = time.perf_counter_ns()
                b = await client.get(pointer)
                if build is None or b is None:
                    raise RankingsError("nothing is served: the round-trip probe needs a live version")
                build_id = b.decode() if isinstance(b, bytes) else str(b)
                await client.lrange(version_key(cfg.key_prefix, build_id, "overall"), 0, 19)
                t3 = time.perf_counter_ns()
                out["get"].append((t1 - t0) / 1e3)
                out["evalsha_1rt"].append((t2 - t1) / 1e3)
                out["get_lrange_2rt"].append((t3 - t2) / 1e3)
        finally:
            await client.aclose()
        return out

    samples = asyncio.run(measure())
    sync = sync_client(settings)
    sync_get = []
    try:
        for _ in range(n):
            t0 = time.perf_counter_ns()
            sync.get(pointer)
            sync_get.append((time.perf_counter_ns() - t0) / 1e3)
    finally:
        sync.close()

    def us(values: list[float]) -> LatencySummary:
        return LatencySummary.from_samples(values, unit="us")

    return RoundTrips(
        samples_each=n,
        get=us(samples["get"]),
        evalsha_1rt=us(samples["evalsha_1rt"]),
        get_lrange_2rt=us(samples["get_lrange_2rt"]),
        get_sync=us(sync_get),
    )


__all__ = ["ConstComparison", "RoundTrips", "const_comparison", "redis_round_trips"]
