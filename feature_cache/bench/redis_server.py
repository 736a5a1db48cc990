"""A private redis-server on a free loopback port, for what must not touch the shared one.

Backs the regression scenario's "cache thrash" (a memory cap and an eviction
policy changed at run time: `CONFIG SET` is never sent to the shared stack's
Redis) and the test that stops Redis mid-load. No persistence; its data dir
is removed when it stops. `stop()` then `start()` restarts it on the same
port (what a Redis outage and recovery look like to the app). It is a
standalone server whatever `STARLAB_TOPOLOGY` says: its clients are built for
`single`, and an app pointed at it needs `redis_topology="single"`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redis

from feature_cache.errors import FeatureCacheConfigError, FeatureCacheError
from starlab.redis_client import AsyncRedis, SyncRedis, async_client, sync_client
from starlab.serving.process import free_port
from starlab.settings import get_settings

__all__ = ["RESERVED_PORTS", "PrivateRedis"]

RESERVED_PORTS = frozenset({6379, 6380, 8000, 8081, 8083, 9092, 9093, 5433})
"""The shared stack's ports (and Redis's default): a private server never takes one."""


def _port() -> int:
    for _ in range(50):
        port = free_port()
        if port not in RESERVED_PORTS:
            return port
    raise FeatureCacheError("no free port for a private redis-server")


class PrivateRedis:
    """`with PrivateRedis(maxmemory="8mb", policy="allkeys-lru") as r: r.url`."""

    def __init__(self, *, maxmemory: str | None = None, policy: str = "allkeys-lfu") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FeatureCacheConfigError(
                "redis-server is not installed (Debian: apt-get install redis-server)"
            )
        self.binary = binary
        self.port = _port()
        self.maxmemory = maxmemory
        self.policy = policy
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="starlab-redis-"))

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> SyncRedis:
        return sync_client(get_settings(), url=self.url, topology="single")

    def async_client(self) -> AsyncRedis:
        return async_client(get_settings(), url=self.url, topology="single")

    def start(self) -> PrivateRedis:
        cmd = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self._dir), "--maxmemory-policy", self.policy,
        ]  # fmt: skip
        if self.maxmemory:
            cmd += ["--maxmemory", self.maxmemory]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return self
                except redis.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise FeatureCacheError(
                            f"private redis-server on {self.port} did not start"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
