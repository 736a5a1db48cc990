"""The ranking API under load while another build goes live: latency and every response checked.

Backs story 2's "API p95 180 ms" (< 200 ms) and "change failure rate 0% due
to blue/green" (no request fails or mixes versions during a flip or a
rollback). A load process (`starlab.serving.load`) sends requests over keep-
alive connections; half way, the switch (flip + warm, or rollback) runs in
this process. Each response names the build it came from; its items must be
exactly that build's cached snapshot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from rankings.errors import RankingsError
from rankings.publish.publisher import Publisher
from rankings.publish.results import Candidate, FlipResult, PublishMetrics, RollbackResult, WarmReport
from rankings.serving.cache import RankingsCache
from starlab.evidence import save_plot
from starlab.metrics import LatencySummary
from starlab.serving.load import LoadSpec, json_digest, run_load


def serving_paths(categories: list[str]) -> list[str]:
    """A request mix: the overall top 20 and top 100, and each category's top 10."""
    paths = ["/rankings?limit=20", "/rankings?limit=100"]
    paths += [f"/rankings?limit=10&category={c}" for c in categories]
    return paths


def expected_digests(cache: RankingsCache, build_id: str, paths: list[str]) -> dict[str, str]:
    """The items digest each path must return when served from `build_id`, read from its keys."""
    out = {}
    for p in paths:
        query = dict(kv.split("=", 1) for kv in p.split("?", 1)[1].split("&"))
        suffix = f"cat:{query['category']}" if "category" in query else "overall"
        raw = cache.r.lrange(cache.key(build_id, suffix), 0, int(query["limit"]) - 1)
        out[p] = json_digest([json.loads(x) for x in raw])
    return out


@dataclass(frozen=True)
class SwitchTimeline:
    """Per response: ms since the load started, latency, and whether the new build answered."""

    t_ms: list[float]
    latency_ms: list[float]
    is_new: list[int]
    switch_ms: tuple[float, float]


@dataclass(frozen=True)
class Switched:
    """What the switch did: the build it made live and the step results."""

    new_build: str
    flip: FlipResult | None = None
    warm: WarmReport | None = None
    rollback: RollbackResult | None = None


@dataclass(frozen=True)
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
    switched: Switched
    timeline: SwitchTimeline
    publish: PublishMetrics | None = None

    @property
    def bad_responses(self) -> int:
        return self.failed + self.mixed + self.stale_after_flip


def switch_under_load(
    publisher: Publisher,
    base_url: str,
    switch: Callable[[], Switched],
    *,
    requests: int = 20_000,
    concurrency: int = 32,
) -> SwitchUnderLoad:
    """Load the API; half way, `switch()` makes another build live; check every response.

    A response is `failed` if not 200, `mixed` if its items are not exactly
    the cached snapshot of the build it names (or it names neither build),
    `stale` if it names the old build although the request was sent after
    the switch finished (CLOCK_MONOTONIC is shared between processes).
    """
    cache = publisher.cache
    old = cache.live_build()
    if old is None:
        raise RankingsError("nothing is served yet: publish once before measuring a switch")
    categories = json.loads(cache.r.hget(cache.key(old, "meta"), "categories") or b"[]")
    paths = serving_paths(categories)
    marks: dict[str, int] = {}
    done: list[Switched] = []

    def on_progress(_: float) -> None:
        marks["start_ns"] = time.perf_counter_ns()
        done.append(switch())
        marks["done_ns"] = time.perf_counter_ns()

    spec = LoadSpec(
        base_url=base_url,
        paths=paths,
        requests=requests,
        concurrency=concurrency,
        capture_field="build_id",
        digest_field="items",
    )
    run = run_load(spec, on_progress=on_progress)
    if not done:
        raise RankingsError("the switch did not happen during the load")
    new = done[0].new_build
    expected = {old: expected_digests(cache, old, paths), new: expected_digests(cache, new, paths)}
    failed = mixed = stale = n_old = n_new = 0
    for k, start, status, build, digest in zip(
        run.path_index, run.start_ns, run.status, run.captured, run.digest, strict=True
    ):
        if status != 200:
            failed += 1
        elif build not in expected or expected[build][paths[k]] != digest:
            mixed += 1
        else:
            n_old += build == old
            n_new += build == new
            stale += build == old and start > marks["done_ns"]
    t0 = run.started_ns
    latencies = run.latencies_ms
    return SwitchUnderLoad(
        latency_ms=run.summary(),
        requests=run.requests,
        throughput_rps=round(run.throughput_rps, 1),
        failed=failed,
        mixed=mixed,
        stale_after_flip=stale,
        old_build=old,
        new_build=new,
        responses_old=n_old,
        responses_new=n_new,
        flip_started_ms=round((marks["start_ns"] - t0) / 1e6, 1),
        flip_s=round((marks["done_ns"] - marks["start_ns"]) / 1e9, 4),
        switched=done[0],
        timeline=SwitchTimeline(
            t_ms=[(s - t0) / 1e6 for s in run.start_ns],
            latency_ms=latencies,
            is_new=[int(b == new) for b in run.captured],
            switch_ms=((marks["start_ns"] - t0) / 1e6, (marks["done_ns"] - t0) / 1e6),
        ),
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

    def switch() -> Switched:
        flip = publisher.flip(candidate)
        return Switched(new_build=candidate.build_id, flip=flip, warm=publisher.warm(candidate))

    out = switch_under_load(publisher, base_url, switch, requests=requests, concurrency=concurrency)
    return replace(out, publish=publisher.record(candidate))


def rollback_under_load(
    publisher: Publisher, base_url: str, *, requests: int = 5_000, concurrency: int = 32
) -> SwitchUnderLoad:
    def switch() -> Switched:
        result = publisher.rollback()
        return Switched(new_build=result.build_id, rollback=result)

    return switch_under_load(publisher, base_url, switch, requests=requests, concurrency=concurrency)


def plot_switch(sw: SwitchUnderLoad, name: str, reports_dir: Path, title: str) -> Path:
    """Latency of every request over time, colored by the build that answered it."""
    from matplotlib.figure import Figure

    tl = sw.timeline
    fig = Figure(figsize=(9, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    for flag, color, label in ((0, "tab:blue", sw.old_build), (1, "tab:green", sw.new_build)):
        xs = [t for t, n in zip(tl.t_ms, tl.is_new, strict=True) if n == flag]
        ys = [v for v, n in zip(tl.latency_ms, tl.is_new, strict=True) if n == flag]
        ax.scatter(xs, ys, s=2, color=color, label=f"served by {label}", alpha=0.5)
    ax.axvspan(tl.switch_ms[0], max(tl.switch_ms[1], tl.switch_ms[0] + 5), color="red", alpha=0.3)
    ax.set_xlabel("ms since the load started (red: switch)")
    ax.set_ylabel("latency (ms)")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(loc="upper right", markerscale=5, fontsize=7)
    return save_plot(fig, name, reports_dir)


__all__ = [
    "SwitchTimeline",
    "SwitchUnderLoad",
    "Switched",
    "expected_digests",
    "flip_under_load",
    "plot_switch",
    "rollback_under_load",
    "serving_paths",
    "switch_under_load",
]
