"""One simulated dependency as a real HTTP service on loopback (aiohttp.web), one process each.

Backs the 004 story's four dependencies ("social graph, embeddings, geo, and
abuse signals", "p95 of about 60-90 ms", "availability ~99.5%"). They stand
for other teams' systems, so this is the one place in starlab a simulator is
right. Run by `DependencyFleet`; by hand:

    python -m feature_cache.deps.server --config '{"name": "geo", "p50_ms": 30, "p95_ms": 60}'

(`--config` repeated hosts several services in one process, one port each.)

Endpoints: `GET /features/{user_id}` (sleeps the sampled service time, then
answers or fails), `GET /healthz`, `GET /stats`, `POST /control`.

Why aiohttp.web and one process per service: the simulated work is a timer,
not CPU, so the honest-latency risk is lateness (a timer firing late because
its loop or its process is busy). aiohttp.web on uvloop costs little CPU per
call (measured here: 0.6-0.8 ms per call per process, kernel loopback work
included, so 100 fan-outs/s keep the four simulators at ~0.3 core), and one
loop per service keeps one service's burst or stall from delaying the
others' timers: separate teams' systems do not stall together, and a shared
stall would make the four latencies correlated, which shrinks the max of the
four and flatters design A. `ProcessLayout.SHARED` (one process, four ports)
is there for lean runs: ~30% less simulator CPU measured, at that price.
`/stats` reports each loop's own lateness (`sleep_overshoot_*`, ~1 ms p50
here) and every answer carries `X-Service-Time-Ms`, so a caller can separate
the service's time from its own overhead.

Determinism: a call's latency and failure come from a hash of (seed,
`X-Request-Id`) when the caller sends that header, else from (seed, a
per-process counter).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from feature_cache.deps.config import DependencyName, FailureMode, ServiceConfig
from feature_cache.deps.control import (
    ControlRequest,
    Decision,
    FailureCause,
    FaultState,
    ServiceStats,
    request_uniforms,
)
from feature_cache.deps.features import (
    abuse_features,
    embedding_features,
    geo_features,
    social_features,
)

REQUEST_ID_HEADER = "X-Request-Id"
SERVICE_TIME_HEADER = "X-Service-Time-Ms"
"""Time the service spent on the call (simulated work + its own timer lateness), so a
caller can split what it measured into service time and everything else (its own loop,
the kernel, the network)."""
_HANG_CAP_S = 300.0  # a hung call ends when the caller disconnects; this bounds it otherwise
_OVERSHOOT_SAMPLES = 4096


class _Counters:
    def __init__(self) -> None:
        self.calls = 0
        self.ok = 0
        self.failed_random = 0
        self.failed_outage = 0
        self.spiked = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.overshoot_ms: deque[float] = deque(maxlen=_OVERSHOOT_SAMPLES)


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(p * len(ordered) + 0.5) - 1))]


def _service_time(entered: float) -> dict[str, str]:
    return {SERVICE_TIME_HEADER: f"{(time.perf_counter() - entered) * 1000.0:.3f}"}


def _payload(config: ServiceConfig, user_id: str, intent_period_s: float) -> bytes:
    name = config.name
    if name is DependencyName.SOCIAL:
        return social_features(user_id).model_dump_json().encode()
    if name is DependencyName.EMBEDDINGS:
        feats = embedding_features(user_id, now_s=time.time(), intent_period_s=intent_period_s)
        return feats.model_dump_json().encode()
    if name is DependencyName.GEO:
        return geo_features(user_id).model_dump_json().encode()
    return abuse_features(user_id).model_dump_json().encode()


async def _reset_mid_body(request: web.Request) -> web.StreamResponse:
    """Send headers and a fragment, then RST: the caller sees 'connection reset by peer'."""
    resp = web.StreamResponse(status=200)
    resp.content_type = "application/json"
    resp.content_length = 512
    await resp.prepare(request)
    await resp.write(b'{"user_id": ')
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER on with 0 s turns close() into an RST instead of a FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return resp


def build_app(config: ServiceConfig, *, intent_period_s: float = 5.0) -> web.Application:
    """The aiohttp application of one service (tests may run it in-process)."""
    fault = FaultState(config)
    counters = _Counters()
    started = time.monotonic()
    cpu0 = time.process_time()

    async def features(request: web.Request) -> web.StreamResponse:
        entered = time.perf_counter()
        counters.calls += 1
        key = request.headers.get(REQUEST_ID_HEADER) or f"#{counters.calls}"
        decision: Decision = fault.decide(*request_uniforms(config.seed, key))
        if decision.spiked:
            counters.spiked += 1
        # Failures are counted when decided: a hung call never reaches the end of this handler.
        if decision.cause is FailureCause.OUTAGE:
            counters.failed_outage += 1
        elif decision.cause is FailureCause.RANDOM:
            counters.failed_random += 1
        counters.in_flight += 1
        counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
        try:
            if decision.delay_ms == float("inf"):
                # Hang until the caller gives up (handler_cancellation cancels us then).
                await asyncio.sleep(_HANG_CAP_S)
            elif decision.delay_ms > 0:
                loop = asyncio.get_running_loop()
                target = decision.delay_ms / 1000.0
                t0 = loop.time()
                await asyncio.sleep(target)
                counters.overshoot_ms.append((loop.time() - t0 - target) * 1000.0)
        finally:
            counters.in_flight -= 1
        if decision.failure is None:
            counters.ok += 1
            body = _payload(config, request.match_info["user_id"], intent_period_s)
            return web.Response(body=body, content_type="application/json", headers=_service_time(entered))
        if decision.failure is FailureMode.RESET:
            return await _reset_mid_body(request)
        return web.json_response(
            {"error": "injected failure", "service": config.name.value, "cause": str(decision.cause)},
            status=503,
            headers=_service_time(entered),
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "service": config.name.value, "pid": os.getpid()})

    async def stats(request: web.Request) -> web.Response:
        overshoot = list(counters.overshoot_ms)
        body = ServiceStats(
            service=config.name.value,
            pid=os.getpid(),
            uptime_s=time.monotonic() - started,
            cpu_s=time.process_time() - cpu0,
            calls_served=counters.calls,
            ok=counters.ok,
            failed_random=counters.failed_random,
            failed_outage=counters.failed_outage,
            spiked=counters.spiked,
            max_in_flight=counters.max_in_flight,
            sleep_overshoot_p50_ms=_percentile(overshoot, 0.50),
            sleep_overshoot_p99_ms=_percentile(overshoot, 0.99),
            control=fault.state(),
        )
        return web.Response(body=body.model_dump_json(), content_type="application/json")

    async def control(request: web.Request) -> web.Response:
        try:
            command = ControlRequest.model_validate_json(await request.read()).command
        except ValidationError as exc:
            return web.json_response({"error": exc.errors(include_url=False)}, status=422)
        return web.Response(body=fault.apply(command).model_dump_json(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/features/{user_id}", features)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/stats", stats)
    app.router.add_post("/control", control)
    return app


async def serve(
    configs: Sequence[ServiceConfig],
    *,
    host: str,
    intent_period_s: float,
    ready_file: Path | None,
) -> None:
    """Serve each config on its own free port until SIGTERM/SIGINT or the parent's death."""
    runners: list[web.AppRunner] = []
    ports: dict[str, int] = {}
    try:
        for config in configs:
            # Bind first so port 0 resolves to a free port the launcher learns
            # from the ready file: no pick-then-bind race with other processes.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, 0))
            runner = web.AppRunner(
                build_app(config, intent_period_s=intent_period_s),
                access_log=None,
                # Cancel a handler when its caller disconnects: a hung call then
                # ends with the caller's timeout instead of living for _HANG_CAP_S.
                handler_cancellation=True,
            )
            await runner.setup()
            runners.append(runner)
            await web.SockSite(runner, sock, backlog=1024).start()
            ports[config.name.value] = sock.getsockname()[1]
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready_file is not None:
            tmp = ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"ports": ports, "pid": os.getpid()}))
            tmp.replace(ready_file)  # atomic: the launcher never reads half a file
        parent = os.getppid()
        while not stop.is_set():
            # Orphan guard: if the launcher dies without stopping us (kill -9),
            # we are re-parented; exit rather than linger on a port.
            if os.getppid() != parent:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
    finally:
        for runner in runners:
            await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Simulated dependencies of the 004 story.")
    parser.add_argument(
        "--config", action="append", required=True, help="ServiceConfig as JSON; repeat to host several"
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback)")
    parser.add_argument("--intent-period-s", type=float, default=5.0, help="session_intent period")
    parser.add_argument("--ready-file", type=Path, default=None, help="where to write {ports, pid}")
    args = parser.parse_args(argv)
    configs = [ServiceConfig.model_validate_json(c) for c in args.config]
    coro = serve(configs, host=args.host, intent_period_s=args.intent_period_s, ready_file=args.ready_file)
    try:
        import uvloop  # locked through uvicorn[standard]; lower loop overhead, tighter timers
    except ImportError:  # pragma: no cover - plain asyncio is correct, only a little slower
        asyncio.run(coro)
    else:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)
    return 0


if __name__ == "__main__":
    sys.exit(main())
