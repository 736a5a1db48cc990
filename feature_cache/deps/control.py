"""Runtime fault injection of a simulated dependency: the `POST /control` commands and their state.

Backs the 004 story's load test "error rate ~1.7% under dependency p95
spikes" and its regression scenario (latency spikes, partial outages): a
scenario injects a spike (latency x multiply + add_ms for N seconds), an
outage (every call fails for N seconds) or a new failure rate, and the
service answers with the state in force.

`FaultState` is pure (an injectable monotonic clock, uniforms passed in), so
its decisions are unit-tested without a process; the server only draws the
uniforms and sleeps.

Choices: a random failure happens after the sampled latency (the service
did the work, then failed), so a retry pays that time again, as in the
story. An outage fails at once for `http_503` and `reset` (a dead backend
behind a balancer refuses fast) and never answers for `hang`.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from feature_cache.deps.config import FailureMode, ServiceConfig


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpikeCommand(_Command):
    """Latency becomes sampled * multiply + add_ms for duration_s seconds."""

    action: Literal["spike"] = "spike"
    duration_s: float = Field(gt=0, le=3_600)
    multiply: float = Field(default=1.0, gt=0, le=1_000)
    add_ms: float = Field(default=0.0, ge=0, le=60_000)


class OutageCommand(_Command):
    """Every call fails with `mode` for duration_s seconds."""

    action: Literal["outage"] = "outage"
    duration_s: float = Field(gt=0, le=3_600)
    mode: FailureMode = FailureMode.HTTP_503


class FailureRateCommand(_Command):
    """Replace the configured failure rate, for duration_s seconds or until reset (None)."""

    action: Literal["failure_rate"] = "failure_rate"
    failure_rate: float = Field(ge=0.0, le=1.0)
    duration_s: float | None = Field(default=None, gt=0, le=86_400)


class ResetCommand(_Command):
    """End every injected spike, outage and failure-rate override."""

    action: Literal["reset"] = "reset"


ControlCommand = Annotated[
    SpikeCommand | OutageCommand | FailureRateCommand | ResetCommand,
    Field(discriminator="action"),
]


AnyCommand = SpikeCommand | OutageCommand | FailureRateCommand | ResetCommand


class ControlRequest(BaseModel):
    """Body of `POST /control`: one command, e.g. `{"command": {"action": "spike", ...}}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: ControlCommand


class ControlState(BaseModel):
    """What is injected right now (the answer of `POST /control` and part of `/stats`)."""

    model_config = ConfigDict(frozen=True)

    spike_remaining_s: float
    spike_multiply: float
    spike_add_ms: float
    outage_remaining_s: float
    outage_mode: FailureMode | None
    failure_rate: float
    """The failure rate in force (configured or overridden)."""
    failure_rate_override_remaining_s: float | None
    """None: no override, or an override until reset."""


class ServiceStats(BaseModel):
    """Counters of one service (`GET /stats`): what it served and what it injected."""

    model_config = ConfigDict(frozen=True)

    service: str
    pid: int
    uptime_s: float
    cpu_s: float
    """User + system CPU seconds of the service process since start."""
    calls_served: int
    """Every `/features` call received, whatever its fate."""
    ok: int
    failed_random: int
    """Failures drawn against the failure rate."""
    failed_outage: int
    """Failures because an outage was in force."""
    spiked: int
    """Calls whose latency a spike changed."""
    max_in_flight: int
    sleep_overshoot_p50_ms: float
    """How late the event loop woke up after a simulated service time (last 4096 calls):
    the simulator's own error, to be small next to the latencies it simulates."""
    sleep_overshoot_p99_ms: float
    control: ControlState


class FailureCause(StrEnum):
    """Why a call failed on the server side (counted in `/stats`)."""

    RANDOM = "random"
    """Drawn against the failure rate in force."""
    OUTAGE = "outage"
    """An injected outage was in force."""


@dataclass(frozen=True)
class Decision:
    """What the server does with one call."""

    delay_ms: float
    """How long to wait before answering (or failing); inf for a hang."""
    failure: FailureMode | None
    cause: FailureCause | None
    spiked: bool


def request_uniforms(seed: int, key: str) -> tuple[float, float]:
    """Two uniforms in (0, 1) from (seed, request key): (failure draw, latency draw).

    A hash, not a shared RNG stream, so a call's draws do not depend on the
    arrival order of concurrent calls: the same keys replay the same latencies
    and failures, for design A and design B alike.
    """
    digest = hashlib.blake2b(f"{seed}|{key}".encode(), digest_size=16).digest()
    a, b = struct.unpack(">QQ", digest)
    # +0.5 keeps both strictly inside (0, 1).
    return (a + 0.5) / 2**64, (b + 0.5) / 2**64


class FaultState:
    """The configured behaviour of one service plus the runtime injections, against a clock."""

    def __init__(self, config: ServiceConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._latency = config.latency
        self._clock = clock
        self._spike_until = 0.0
        self._spike_multiply = 1.0
        self._spike_add_ms = 0.0
        self._outage_until = 0.0
        self._outage_mode: FailureMode | None = None
        self._rate_override: float | None = None
        self._rate_until: float | None = None  # None with an override = until reset

    def apply(self, command: AnyCommand) -> ControlState:
        now = self._clock()
        if isinstance(command, SpikeCommand):
            self._spike_until = now + command.duration_s
            self._spike_multiply = command.multiply
            self._spike_add_ms = command.add_ms
        elif isinstance(command, OutageCommand):
            self._outage_until = now + command.duration_s
            self._outage_mode = command.mode
        elif isinstance(command, FailureRateCommand):
            self._rate_override = command.failure_rate
            self._rate_until = None if command.duration_s is None else now + command.duration_s
        else:
            self._spike_until = 0.0
            self._outage_until = 0.0
            self._outage_mode = None
            self._rate_override = None
            self._rate_until = None
        return self.state()

    def _failure_rate(self, now: float) -> float:
        if self._rate_override is not None and (self._rate_until is None or now < self._rate_until):
            return self._rate_override
        return self._config.failure_rate

    def state(self) -> ControlState:
        now = self._clock()
        spike = max(0.0, self._spike_until - now)
        outage = max(0.0, self._outage_until - now)
        override_active = self._rate_override is not None and (
            self._rate_until is None or now < self._rate_until
        )
        return ControlState(
            spike_remaining_s=spike,
            spike_multiply=self._spike_multiply if spike else 1.0,
            spike_add_ms=self._spike_add_ms if spike else 0.0,
            outage_remaining_s=outage,
            outage_mode=self._outage_mode if outage else None,
            failure_rate=self._failure_rate(now),
            failure_rate_override_remaining_s=(
                max(0.0, self._rate_until - now) if override_active and self._rate_until is not None else None
            ),
        )

    def decide(self, u_failure: float, u_latency: float) -> Decision:
        """The fate of one call from its two uniforms (see `request_uniforms`)."""
        now = self._clock()
        if now < self._outage_until and self._outage_mode is not None:
            delay = float("inf") if self._outage_mode is FailureMode.HANG else 0.0
            return Decision(delay, self._outage_mode, FailureCause.OUTAGE, spiked=False)
        delay = self._latency.from_uniform(u_latency)
        spiked = now < self._spike_until
        if spiked:
            delay = delay * self._spike_multiply + self._spike_add_ms
        if u_failure < self._failure_rate(now):
            mode = self._config.failure_mode
            if mode is FailureMode.HANG:
                delay = float("inf")
            return Decision(delay, mode, FailureCause.RANDOM, spiked)
        return Decision(delay, None, None, spiked)


__all__ = [
    "AnyCommand",
    "ControlCommand",
    "ControlRequest",
    "ControlState",
    "Decision",
    "FailureCause",
    "FailureRateCommand",
    "FaultState",
    "OutageCommand",
    "ResetCommand",
    "ServiceStats",
    "SpikeCommand",
    "request_uniforms",
]
