"""Run the ranking API in its own uvicorn process (bench, demo, tests).

Backs the "from a separate process" part of story 2's latency claims: the
server, the load generator and the publisher that flips under load are three
processes, as they would be in production. The server gets its Redis URL and
key prefix through the environment, the same `STARLAB_*` variables a
deployment sets.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from rankings.config import RankingsSettings
from rankings.errors import RankingsError
from starlab.settings import Settings


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class ApiServer:
    """`with ApiServer(settings, cfg) as srv: srv.base_url` -- started, healthy, then stopped by pid."""

    def __init__(
        self,
        settings: Settings,
        cfg: RankingsSettings,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        self.host = settings.api_host
        self.port = port if port is not None else settings.api_port
        self.settings, self.cfg = settings, cfg
        self.log_path = log_path
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        if port_in_use(self.host, self.port):
            raise RankingsError(
                f"{self.host}:{self.port} is already in use: stop what runs there or set STARLAB_API_PORT"
            )
        env = {
            **os.environ,
            "STARLAB_REDIS_URL": self.settings.redis_url,
            "STARLAB_RANKINGS_KEY_PREFIX": self.cfg.key_prefix,
            "STARLAB_RANKINGS_TOP_N": str(self.cfg.top_n),
            "STARLAB_RANKINGS_DEFAULT_LIMIT": str(self.cfg.default_limit),
        }
        cmd = [
            sys.executable, "-m", "uvicorn", "rankings.api:app",
            "--host", self.host, "--port", str(self.port),
            "--no-access-log", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
        ]  # fmt: skip
        out = self.log_path.open("ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RankingsError(f"the API server exited with {self.proc.returncode} at start")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RankingsError(f"the API server did not answer /healthz within {self.start_timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only what we started
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


__all__ = ["ApiServer", "free_port", "port_in_use"]
