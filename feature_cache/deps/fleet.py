"""`DependencyFleet`: start the story's four dependencies as processes, wait for health, stop them.

Backs the 004 story's load test set-up ("a mock fan-out" to four services):
by default each service is `python -m feature_cache.deps.server` in its own
process and process group (`ProcessLayout.PER_SERVICE`; `SHARED` hosts all
four in one process), on free loopback ports the child binds itself and
reports in a ready file. Stopping sends SIGTERM to each group, then SIGKILL
after a grace period, and reaps every child, so no process outlives the
`with` block; a child whose launcher dies without stopping it exits by
itself (it watches its parent pid).

    with DependencyFleet(FleetConfig.default(failure_rate=0.005)) as fleet:
        fleet.endpoints[DependencyName.GEO].base_url   # http://127.0.0.1:<port>
        fleet.control(DependencyName.GEO, SpikeCommand(duration_s=10, multiply=3))
        fleet.stats(DependencyName.GEO).calls_served

The fleet is synchronous (start-up blocks ~1-3 s); from a running event
loop, start it with `await asyncio.to_thread(fleet.start)` and use
`acontrol` / `astats`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

import feature_cache
from feature_cache.deps.config import (
    DependencyEndpoint,
    DependencyName,
    FleetConfig,
    ProcessLayout,
    ServiceConfig,
)
from feature_cache.deps.control import AnyCommand, ControlRequest, ControlState, ServiceStats
from feature_cache.errors import FeatureCacheError

_STOP_GRACE_S = 5.0
_POLL_S = 0.05


@dataclass
class _Child:
    label: str
    configs: tuple[ServiceConfig, ...]
    proc: subprocess.Popen[bytes]
    ready_file: Path
    log_path: Path
    log: IO[bytes]
    ports: dict[DependencyName, int] = field(default_factory=dict)


class DependencyFleet:
    """The simulated dependencies as child processes; a context manager."""

    def __init__(self, config: FleetConfig | None = None, *, keep_logs: bool = False) -> None:
        self.config = config or FleetConfig.default()
        self._keep_logs = keep_logs
        self._children: list[_Child] = []
        self._workdir: Path | None = None
        self._endpoints: dict[DependencyName, DependencyEndpoint] = {}
        self._started_pids: tuple[int, ...] = ()

    # --- lifecycle ----------------------------------------------------------------
    def __enter__(self) -> DependencyFleet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _groups(self) -> list[tuple[str, tuple[ServiceConfig, ...]]]:
        if self.config.layout is ProcessLayout.SHARED:
            return [("shared", self.config.services)]
        return [(svc.name.value, (svc,)) for svc in self.config.services]

    def start(self) -> DependencyFleet:
        """Spawn the processes, wait for their ready files and `/healthz`; stop all on any failure."""
        if self._children:
            raise FeatureCacheError("dependency fleet already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="starlab-deps-"))
        env = dict(os.environ)
        # The children import feature_cache from the same tree as this process.
        root = str(Path(feature_cache.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        try:
            for label, configs in self._groups():
                ready = self._workdir / f"{label}.ready"
                log_path = self._workdir / f"{label}.log"
                log = log_path.open("wb")
                argv = [sys.executable, "-m", "feature_cache.deps.server"]
                for svc in configs:
                    argv += ["--config", svc.model_dump_json()]
                argv += [
                    "--host",
                    self.config.host,
                    "--intent-period-s",
                    str(self.config.intent_period_s),
                    "--ready-file",
                    str(ready),
                ]
                proc = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    # Own session = own process group: stop() signals the group,
                    # and a Ctrl-C in the terminal does not reach the children
                    # before the launcher has decided to stop them.
                    start_new_session=True,
                )
                self._children.append(_Child(label, configs, proc, ready, log_path, log))
            self._started_pids = tuple(c.proc.pid for c in self._children)
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.config.startup_timeout_s
        pending = list(self._children)
        while pending:
            for child in list(pending):
                if child.proc.poll() is not None:
                    raise FeatureCacheError(
                        f"dependency process {child.label} exited with {child.proc.returncode} "
                        f"at start-up: {self._log_tail(child)}"
                    )
                if child.ready_file.exists():
                    ports = json.loads(child.ready_file.read_text())["ports"]
                    child.ports = {DependencyName(k): int(v) for k, v in ports.items()}
                    pending.remove(child)
            if pending and time.monotonic() > deadline:
                labels = ", ".join(c.label for c in pending)
                raise FeatureCacheError(
                    f"dependencies not ready after {self.config.startup_timeout_s:.0f} s: {labels}"
                )
            if pending:
                time.sleep(_POLL_S)
        with httpx.Client(timeout=2.0) as client:
            for child in self._children:
                for svc in child.configs:
                    port = child.ports[svc.name]
                    base = f"http://{self.config.host}:{port}"
                    pid = self._healthy_pid(client, base, deadline)
                    if pid != child.proc.pid:
                        raise FeatureCacheError(
                            f"{base}/healthz answered for pid {pid}, expected {child.proc.pid}"
                        )
                    self._endpoints[svc.name] = DependencyEndpoint(
                        name=svc.name, base_url=base, timeout_ms=svc.timeout_ms, pid=pid, port=port
                    )

    @staticmethod
    def _healthy_pid(client: httpx.Client, base: str, deadline: float) -> int:
        while True:
            try:
                return int(client.get(f"{base}/healthz").json()["pid"])
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise FeatureCacheError(f"{base} was bound but /healthz does not answer") from None
                time.sleep(_POLL_S)

    def stop(self) -> None:
        """SIGTERM each process group, SIGKILL what is left after a grace period, reap all."""
        children = list(self._children)
        for child in children:
            _signal_group(child.proc, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for child in children:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc, signal.SIGKILL)
                child.proc.wait()
            # A service never forks; this only sweeps strays if one ever does.
            _signal_group(child.proc, signal.SIGKILL)
            child.log.close()
        self._children.clear()
        self._endpoints.clear()
        if self._workdir is not None and not self._keep_logs:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    @staticmethod
    def _log_tail(child: _Child, chars: int = 2_000) -> str:
        child.log.flush()
        with contextlib.suppress(OSError):
            return child.log_path.read_text(errors="replace")[-chars:].strip()
        return "(no log)"

    # --- what a caller needs -------------------------------------------------------
    @property
    def endpoints(self) -> Mapping[DependencyName, DependencyEndpoint]:
        if not self._endpoints:
            raise FeatureCacheError("dependency fleet is not running")
        return dict(self._endpoints)

    @property
    def pids(self) -> tuple[int, ...]:
        """Pids of the processes this fleet started (kept after stop, to check they are gone)."""
        return self._started_pids

    @property
    def log_dir(self) -> Path | None:
        return self._workdir

    def _url(self, name: DependencyName, path: str) -> str:
        return f"{self.endpoints[name].base_url}{path}"

    def control(self, name: DependencyName, command: AnyCommand) -> ControlState:
        """POST /control on one service; returns the state in force after the command."""
        body = ControlRequest(command=command).model_dump_json()
        resp = httpx.post(
            self._url(name, "/control"),
            content=body,
            headers={"content-type": "application/json"},
            timeout=5.0,
        )
        resp.raise_for_status()
        return ControlState.model_validate_json(resp.content)

    async def acontrol(self, name: DependencyName, command: AnyCommand) -> ControlState:
        body = ControlRequest(command=command).model_dump_json()
        async with httpx.AsyncClient(timeout=5.0) as client:
            resp = await client.post(
                self._url(name, "/control"), content=body, headers={"content-type": "application/json"}
            )
        resp.raise_for_status()
        return ControlState.model_validate_json(resp.content)

    def stats(self, name: DependencyName) -> ServiceStats:
        resp = httpx.get(self._url(name, "/stats"), timeout=5.0)
        resp.raise_for_status()
        return ServiceStats.model_validate_json(resp.content)

    async def astats(self, name: DependencyName) -> ServiceStats:
        async with httpx.AsyncClient(timeout=5.0) as client:
            resp = await client.get(self._url(name, "/stats"))
        resp.raise_for_status()
        return ServiceStats.model_validate_json(resp.content)

    def all_stats(self) -> dict[DependencyName, ServiceStats]:
        return {name: self.stats(name) for name in self.endpoints}


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    # start_new_session made the child its group's leader: pgid == pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def process_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie (signal 0 probes without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        # A zombie still answers signal 0: read its state from /proc on Linux.
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


__all__ = ["DependencyEndpoint", "DependencyFleet", "process_alive"]
