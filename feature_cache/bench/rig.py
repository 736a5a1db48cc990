"""The processes of one bench run and how the bench talks to them.

Backs the "from a separate process" part of the 004 story's load-test
figures: the four dependencies (`DependencyFleet`, one process each), the
serving app (`AppServer`, uvicorn in its own process, one design per
process), the load generator (`run_load`, its own process) and the stream
writer (a thread of the bench process) are separate, so the app's event
loop is not slowed by the client's.

- `app_env`: the `STARLAB_FEATURES_*` environment of one app process;
- `Admin`: typed calls to the app's /admin endpoints (its own models);
- `deps_delta`: what each dependency served between two `/stats` snapshots;
- `StatePoller`: /admin/state every second during a run (the timelines);
- `delete_prefix`: remove a run's keys (the shared Redis is never flushed).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from feature_cache.deps.config import DependencyName
from feature_cache.deps.control import ServiceStats
from feature_cache.deps.fleet import DependencyFleet
from feature_cache.serving.app import AdminState, Mitigations, MitigationsPatch
from feature_cache.serving.killswitch import KillSwitchState
from feature_cache.settings import Design
from starlab.redis_client import SyncRedis

__all__ = [
    "APP_FACTORY",
    "Admin",
    "DependencyCalls",
    "PolledState",
    "StatePoller",
    "app_env",
    "delete_prefix",
    "deps_delta",
    "process_cpu_s",
]

APP_FACTORY = "feature_cache.serving.app:create_app"


def app_env(
    design: Design,
    fleet: DependencyFleet | None,
    redis_url: str,
    prefix: str,
    **overrides: object,
) -> dict[str, str]:
    """Environment of one app process: design, endpoints, keys; `overrides` are settings fields."""
    env = {
        "STARLAB_FEATURES_DESIGN": design.value,
        "STARLAB_FEATURES_REDIS_URL": redis_url,
        "STARLAB_FEATURES_KEY_PREFIX": prefix,
    }
    if fleet is not None:
        urls = {n.value: e.base_url for n, e in fleet.endpoints.items()}
        env["STARLAB_FEATURES_DEPS_URLS"] = json.dumps(urls)
    for name, value in overrides.items():
        text = json.dumps(value) if isinstance(value, dict | list | bool) else str(value)
        env[f"STARLAB_FEATURES_{name.upper()}"] = text
    return env


class Admin:
    """The app's operations endpoints, parsed into the app's own models."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url
        self._client = httpx.Client(base_url=base_url, timeout=timeout_s)

    def state(self) -> AdminState:
        r = self._client.get("/admin/state")
        r.raise_for_status()
        return AdminState.model_validate_json(r.content)

    def reset(self, *, guardrail: bool = False) -> AdminState:
        r = self._client.post("/admin/reset", json={"guardrail": guardrail})
        r.raise_for_status()
        return AdminState.model_validate_json(r.content)

    def mitigate(self, patch: MitigationsPatch) -> Mitigations:
        r = self._client.post("/admin/mitigations", json=patch.model_dump(exclude_none=True))
        r.raise_for_status()
        return Mitigations.model_validate_json(r.content)

    def killswitch(self, on: bool, reason: str) -> KillSwitchState:
        r = self._client.post("/admin/killswitch", json={"on": on, "reason": reason})
        r.raise_for_status()
        return KillSwitchState.model_validate_json(r.content)

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class DependencyCalls:
    """What one dependency served during a run (from its own /stats)."""

    name: DependencyName
    calls: int
    failed_random: int
    failed_outage: int

    @property
    def failed(self) -> int:
        return self.failed_random + self.failed_outage

    @property
    def failure_rate(self) -> float:
        return self.failed / self.calls if self.calls else 0.0

    @property
    def random_failure_rate(self) -> float:
        """Failures drawn against the failure rate only (no outage): the story's 0.5%."""
        calls = self.calls - self.failed_outage
        return self.failed_random / calls if calls > 0 else 0.0


def deps_delta(
    before: Mapping[DependencyName, ServiceStats], after: Mapping[DependencyName, ServiceStats]
) -> tuple[DependencyCalls, ...]:
    return tuple(
        DependencyCalls(
            name=n,
            calls=after[n].calls_served - before[n].calls_served,
            failed_random=after[n].failed_random - before[n].failed_random,
            failed_outage=after[n].failed_outage - before[n].failed_outage,
        )
        for n in DependencyName
        if n in after and n in before
    )


@dataclass(frozen=True)
class PolledState:
    mono_ns: int
    """perf_counter_ns when polled (the load process's clock: CLOCK_MONOTONIC)."""
    state: AdminState


class StatePoller:
    """Polls /admin/state every `interval_s` in a thread while a load runs."""

    def __init__(self, admin: Admin, interval_s: float = 1.0) -> None:
        self.admin = admin
        self.interval_s = interval_s
        self.samples: list[PolledState] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.samples.append(PolledState(time.perf_counter_ns(), self.admin.state()))
            except httpx.HTTPError:
                continue  # a slow answer under load: the next poll will do

    def __enter__(self) -> StatePoller:
        self._thread = threading.Thread(target=self._run, name="state-poller", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0.0 if unreadable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    # After the ")" of the command name: state is field 0, utime 11, stime 12.
    return (int(fields[11]) + int(fields[12])) / ticks


def delete_prefix(client: SyncRedis, prefix: str) -> int:
    """Delete every key under `prefix:` (SCAN + DEL in batches; never FLUSHALL)."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}:*", count=2000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.delete(*batch))
            batch.clear()
    if batch:
        deleted += int(client.delete(*batch))
    return deleted
