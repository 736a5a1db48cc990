"""`starlab up`, `down` and `status`: the stack as a whole, in dependency order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from starlab.errors import StackError
from starlab.settings import Settings
from starlab.stack.cluster import CLUSTER_DEPENDS_ON, CLUSTER_SERVERS
from starlab.stack.components import SERVERS, Component, Health
from starlab.stack.observability import (
    Alertmanager,
    AlertReceiver,
    LagExporter,
    PostgresExporter,
    Prometheus,
    RedisExporter,
)

Progress = Callable[[str], None]
Factory = Callable[[Settings], Component]

COMPONENTS: dict[str, Factory] = {
    **SERVERS,
    # Observability last: the exporters need the servers they watch, Prometheus
    # scrapes the exporters, Alertmanager notifies the receiver.
    "lag-exporter": LagExporter,
    "redis-exporter": RedisExporter,
    "postgres-exporter": PostgresExporter,
    "alert-receiver": AlertReceiver,
    "alertmanager": Alertmanager,
    "prometheus": Prometheus,
}
"""The single topology, in start order; stop runs in reverse."""

WATCHERS = ("alert-receiver", "alertmanager", "prometheus")
"""What the cluster topology shares with the single one: one Prometheus scrapes both
(`observability.config` lists both topologies' brokers and Flink's whole port
range), so a demo on either topology gets its alerts and dashboards. The lag,
Redis and PostgreSQL exporters watch the single stack's servers only; on the
cluster, Flink's Kafka source reports its own backlog (`pendingRecords`)."""

DEPENDS_ON: dict[str, set[str]] = {
    "schema-registry": {"kafka"},  # the registry keeps its schemas in a Kafka topic
    "connect": {"kafka", "postgres"},  # Debezium reads PostgreSQL and writes to Kafka
    "lag-exporter": {"kafka"},
    "redis-exporter": {"redis"},
    "postgres-exporter": {"postgres"},
    "alertmanager": {"alert-receiver"},
    "prometheus": {"alertmanager"},
}


def registry(settings: Settings) -> tuple[dict[str, Factory], dict[str, set[str]]]:
    """The components of the settings' topology and what each needs started first."""
    if settings.clustered:
        watchers = {name: COMPONENTS[name] for name in WATCHERS}
        watched = {name: DEPENDS_ON[name] for name in WATCHERS if name in DEPENDS_ON}
        return {**CLUSTER_SERVERS, **watchers}, {**CLUSTER_DEPENDS_ON, **watched}
    return COMPONENTS, DEPENDS_ON


def _select(
    known: dict[str, Factory],
    depends_on: dict[str, set[str]],
    names: Iterable[str] | None,
    with_dependencies: bool = True,
) -> list[str]:
    if not names:
        return list(known)
    wanted = set(names)
    unknown = wanted - set(known)
    if unknown:
        raise StackError(f"unknown component(s) {sorted(unknown)}; choose from {list(known)}")
    while with_dependencies:
        more = set().union(*(depends_on.get(n, set()) for n in wanted)) - wanted
        if not more:
            break
        wanted |= more
    return [n for n in known if n in wanted]


def components(
    settings: Settings, names: Iterable[str] | None = None, with_dependencies: bool = True
) -> list[Component]:
    """The named components of the settings' topology (all if none)."""
    known, depends_on = registry(settings)
    return [known[n](settings) for n in _select(known, depends_on, names, with_dependencies)]


def up(settings: Settings, names: Iterable[str] | None = None, progress: Progress = print) -> list[Health]:
    """Start each component idempotently; returns their health after start."""
    out = []
    for comp in components(settings, names):
        progress(f"starting {comp.name} ...")
        comp.start()
        h = comp.health()
        if not h.healthy:
            raise StackError(f"{comp.name} started but is not healthy: {h.detail}")
        out.append(h)
    return out


def down(settings: Settings, names: Iterable[str] | None = None, progress: Progress = print) -> list[str]:
    """Stop in reverse order; returns the names of what was running.

    Only what is named: stopping Prometheus leaves Alertmanager running, and
    stopping the lag exporter never stops Kafka (starting works the other way).
    """
    stopped = []
    if names:
        comps = components(settings, names, with_dependencies=False)
    else:
        # Everything of both topologies: a cluster left up by another shell's
        # STARLAB_TOPOLOGY must not outlive `starlab down` (nor `make test`).
        comps = [f(settings) for f in {**COMPONENTS, **CLUSTER_SERVERS}.values()]
    for comp in reversed(comps):
        if comp.stop():
            progress(f"stopped {comp.name}")
            stopped.append(comp.name)
    return stopped


def _running(settings: Settings) -> set[str]:
    procs = {c.name: getattr(c, "proc", None) for c in components(settings)}
    return {name for name, p in procs.items() if p is not None and p.pid() is not None}


@contextmanager
def started(settings: Settings, progress: Progress = print) -> Iterator[None]:
    """The settings' topology up for a block, then down again, but only what it started.

    What ran before keeps running: a bench that needs the cluster for a few
    minutes must not stop a cluster someone else is using.
    """
    before = _running(settings)
    up(settings, progress=progress)
    try:
        yield
    finally:
        ours = [name for name in _running(settings) if name not in before]
        if ours:
            down(settings, ours, progress=progress)


def status(settings: Settings) -> list[Health]:
    return [comp.health() for comp in components(settings)]
