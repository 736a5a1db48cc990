"""Run an ASGI app factory under uvicorn in its own process: started, healthy, then stopped.

Backs the "from a separate process" part of every latency claim: the
server, the load generator and whatever changes state under load (a flip,
an injected fault) are separate processes, as in production. The app is
built by a factory (`uvicorn --factory module:create_app`), so its settings
are read when the process starts, from the `STARLAB_*` environment the
caller passes, never at import.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from starlab.errors import StarlabError
from starlab.observability.targets import Target, register
from starlab.settings import get_settings

__all__ = ["AppServer", "ServingError", "free_port", "port_in_use"]


class ServingError(StarlabError):
    """A server could not start (port taken, crashed at start, never healthy)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class AppServer:
    """`with AppServer("pkg.api:create_app", port=p, env=...) as srv: srv.base_url`."""

    def __init__(
        self,
        factory: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        health_path: str = "/healthz",
        start_timeout_s: float = 30.0,
        workers: int = 1,
        metrics_job: str | None = None,
    ) -> None:
        self.factory = factory
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.env = dict(env or {})
        self.log_path = log_path
        self.health_path = health_path
        self.start_timeout_s = start_timeout_s
        self.workers = workers
        self.metrics_job = metrics_job
        """When set, the server's `/metrics` is announced to Prometheus under this job name."""
        self._target: Target | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self) -> AppServer:
        if port_in_use(self.host, self.port):
            raise ServingError(
                f"{self.host}:{self.port} is already in use: stop what runs there or choose another port"
            )
        cmd = [
            sys.executable, "-m", "uvicorn", "--factory", self.factory,
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
            "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
        ]  # fmt: skip
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, env={**os.environ, **self.env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                where = f"; see {self.log_path}" if self.log_path else ""
                raise ServingError(f"{self.factory} exited with {self.proc.returncode} at start{where}")
            try:
                if httpx.get(self.base_url + self.health_path, timeout=1).status_code == 200:
                    if self.metrics_job:
                        self._target = register(get_settings(), self.metrics_job, f"{self.host}:{self.port}")
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServingError(
            f"{self.factory} did not answer {self.health_path} within {self.start_timeout_s:.0f} s"
        )

    def stop(self) -> None:
        if self._target is not None:
            self._target.remove()
            self._target = None
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only what we started
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
