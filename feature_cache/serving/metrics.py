"""The serving app's own counters as Prometheus metrics, read at scrape time.

Backs story 4's "cache hit rate" and breaker/kill-switch panels of the
feature dashboard. The app already counts everything in `Counters` (what
`/admin/state` shows); this collector turns the live object into metric
families when Prometheus scrapes, so the request path pays nothing extra
and the two views can never disagree.

- `starlab_feature_cache_lookups_total{result}`: hit (every group fresh in
  Redis) or miss (anything else) per cache read of design B.
- `starlab_feature_responses_total{outcome}`: ok, error (5xx), degraded (at
  least one group null), stale (at least one group served stale),
  rate_limited. ok counts degraded and stale answers too: they are 200s.
- `starlab_feature_breaker_open{dependency}`: 1 while the on-demand breaker is open.
- `starlab_feature_kill_switch`: 1 while the kill switch is on.

One collector per process, registered once; it reads the runtime the newest
`create_app` built (tests build several apps in one process).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from feature_cache.serving.breaker import BreakerState
from feature_cache.serving.killswitch import KillSwitch


class _Counts(Protocol):
    @property
    def hits(self) -> int: ...
    @property
    def lookups(self) -> int: ...
    @property
    def ok(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def degraded(self) -> int: ...
    @property
    def stale_served(self) -> int: ...
    @property
    def rate_limited(self) -> int: ...


class _Breaker(Protocol):
    @property
    def state(self) -> BreakerState: ...


class _Runtime(Protocol):
    """What the collector reads of the app's runtime (app.py's `_Runtime`)."""

    @property
    def counters(self) -> _Counts: ...
    @property
    def breaker(self) -> _Breaker: ...
    @property
    def killswitch(self) -> KillSwitch: ...


__all__ = ["watch"]


class _RuntimeCollector(Collector):
    def __init__(self) -> None:
        self.runtime: _Runtime | None = None

    def collect(self) -> Iterable[Metric]:
        rt = self.runtime
        if rt is None:
            return
        c = rt.counters
        lookups = CounterMetricFamily(
            "starlab_feature_cache_lookups", "Cache reads of design B by result.", labels=["result"]
        )
        lookups.add_metric(["hit"], c.hits)
        lookups.add_metric(["miss"], c.lookups - c.hits)
        responses = CounterMetricFamily(
            "starlab_feature_responses", "Answers of /features by outcome.", labels=["outcome"]
        )
        for outcome, n in (
            ("ok", c.ok),
            ("error", c.errors),
            ("degraded", c.degraded),
            ("stale", c.stale_served),
            ("rate_limited", c.rate_limited),
        ):
            responses.add_metric([outcome], n)
        breaker = GaugeMetricFamily(
            "starlab_feature_breaker_open", "1 while the on-demand breaker is open.", labels=["dependency"]
        )
        breaker.add_metric(["embeddings"], 1.0 if rt.breaker.state is BreakerState.OPEN else 0.0)
        kill = GaugeMetricFamily("starlab_feature_kill_switch", "1 while the kill switch is on.")
        kill.add_metric([], 1.0 if rt.killswitch.on else 0.0)
        yield from (lookups, responses, breaker, kill)


_COLLECTOR = _RuntimeCollector()
REGISTRY.register(_COLLECTOR)


def watch(runtime: _Runtime) -> None:
    """Serve `runtime`'s counters from now on."""
    _COLLECTOR.runtime = runtime
