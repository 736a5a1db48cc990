"""How a Python process of starlab becomes a Prometheus scrape target.

Servers of the stack (Kafka's JMX agent, the exporters, the registry) have
fixed ports and sit in `prometheus.yml`. Processes that come and go (the
stream harness, the producer, the materializer, an API a test starts on a
free port) serve `/metrics` on the first free port of
`STARLAB_PROCESS_METRICS_PORTS` and announce it with a file in Prometheus'
`file_sd` directory, which Prometheus watches (no reload). The file is
removed when the process stops; files of processes that died without
removing theirs are pruned by the next one to register, so a crashed run
leaves at most one stale "down" target until then.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from starlab.errors import StackError
from starlab.settings import port_range

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry

    from starlab.settings import Settings

__all__ = ["MetricsEndpoint", "Target", "port_range", "register", "serve_metrics", "targets_dir"]


def targets_dir(settings: Settings) -> Path:
    return settings.prometheus_dir / "targets"


@dataclass(frozen=True)
class Target:
    """One file_sd entry: where to scrape and the labels Prometheus adds."""

    job: str
    address: str
    labels: dict[str, str]
    path: Path

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def register(settings: Settings, job: str, address: str, labels: dict[str, str] | None = None) -> Target:
    """Write `<targets>/<job>-<pid>-<port>.json`; Prometheus picks it up within a second."""
    out = targets_dir(settings)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        try:
            pid = int(stale.stem.split("-")[-2])
        except (ValueError, IndexError):
            continue
        if not psutil.pid_exists(pid):
            stale.unlink(missing_ok=True)
    port = address.rsplit(":", 1)[1]
    path = out / f"{job}-{os.getpid()}-{port}.json"
    all_labels = {"job": job, **(labels or {})}
    tmp = path.with_suffix(".tmp")
    # Written then renamed: Prometheus must never read half a file.
    tmp.write_text(json.dumps([{"targets": [address], "labels": all_labels}]))
    tmp.replace(path)
    return Target(job, address, all_labels, path)


@dataclass
class MetricsEndpoint:
    """A `/metrics` server of this process and its file_sd registration."""

    server: WSGIServer
    target: Target

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.target.remove()
        self.server.shutdown()
        self.server.server_close()


def serve_metrics(
    settings: Settings,
    job: str,
    labels: dict[str, str] | None = None,
    registry: CollectorRegistry | None = None,
) -> MetricsEndpoint:
    """Serve `registry` (default: the process-wide one) on 127.0.0.1 and register it.

    Tries each port of the range in turn: two processes starting together can
    both see a port free, and only the bind decides.
    """
    from prometheus_client import REGISTRY, start_http_server

    for port in port_range(settings.process_metrics_ports):
        try:
            server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry or REGISTRY)
        except OSError:
            continue
        target = register(settings, job, f"127.0.0.1:{port}", labels)
        return MetricsEndpoint(server, target)
    raise StackError(
        f"no free port in STARLAB_PROCESS_METRICS_PORTS={settings.process_metrics_ports} "
        "for a /metrics endpoint; widen the range"
    )
