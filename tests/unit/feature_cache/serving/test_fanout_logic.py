"""Design A's retry, deadline, fail-fast and error classification against in-process simulators.

No process is started: the four simulator apps run in the test's own event
loop (aiohttp's TestServer on loopback). Failures are chosen, not hoped for:
the request ids are picked with the same hash the servers use, so "fails on
attempt 1, succeeds on attempt 2" is a fact of the id, not a probability.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from feature_cache.deps.config import DependencyEndpoint, DependencyName, FailureMode, ServiceConfig
from feature_cache.deps.control import ControlRequest, OutageCommand, request_uniforms
from feature_cache.deps.server import build_app
from feature_cache.errors import DependencyError, FeatureCacheError
from feature_cache.serving.fanout import (
    CallOutcome,
    DependencyCallError,
    DependencyContractError,
    FailureKind,
    FanoutClient,
    FanoutConfig,
    FanoutResult,
)

FAST_MS = 5.0
SEED = 11


PATIENT_MS = 10_000.0
"""Timeout and deadline of the tests that are not about time: the servers share the test's
event loop, and a stall of ~150 ms (the default timeout) on a starved machine would time out
an answer that had already arrived."""


def _cfg(name: DependencyName, *, ms: float = FAST_MS, **kw: object) -> ServiceConfig:
    # p50 == p95: a constant latency, so timings are not what these tests are about
    fields = {"name": name, "p50_ms": ms, "p95_ms": ms, "seed": SEED, "timeout_ms": PATIENT_MS, **kw}
    return ServiceConfig.model_validate(fields)


@asynccontextmanager
async def simulators(
    overrides: Mapping[DependencyName, ServiceConfig] | None = None,
) -> AsyncIterator[dict[DependencyName, DependencyEndpoint]]:
    servers: list[TestServer] = []
    endpoints: dict[DependencyName, DependencyEndpoint] = {}
    try:
        for name in DependencyName:
            cfg = (overrides or {}).get(name) or _cfg(name)
            server = TestServer(build_app(cfg), host="127.0.0.1")
            await server.start_server()
            servers.append(server)
            endpoints[name] = DependencyEndpoint(name, f"http://127.0.0.1:{server.port}", cfg.timeout_ms)
        yield endpoints
    finally:
        for server in servers:
            await server.close()


def run(coro_fn: Callable[[], Coroutine[None, None, None]]) -> None:
    asyncio.run(coro_fn())


def _outcomes(result: FanoutResult) -> dict[DependencyName, CallOutcome]:
    return {d.name: d.outcome for d in result.dependencies}


def _rid_failing_then_ok(rate: float) -> str:
    """A request id whose attempt 1 draws a failure and attempt 2 does not (server's own hash)."""
    for i in range(10_000):
        rid = f"req{i}"
        if request_uniforms(SEED, f"{rid}/1")[0] < rate <= request_uniforms(SEED, f"{rid}/2")[0]:
            return rid
    raise AssertionError("no such id")


def test_all_four_answer_typed_features() -> None:
    async def scenario() -> None:
        async with simulators() as eps, FanoutClient(eps, FanoutConfig(deadline_ms=PATIENT_MS)) as client:
            result = await client.fetch("u42", request_id="r1")
        assert result.ok and result.calls_made == result.calls_answered == 4 and not result.retried
        assert set(_outcomes(result).values()) == {CallOutcome.OK}
        features = result.raise_for_failure()
        assert features.social.user_id == features.geo.user_id == "u42"
        assert len(features.embeddings.embedding) == 8
        assert 0.0 <= features.abuse.risk_score <= 1.0

    run(scenario)


def test_a_transient_failure_is_retried_and_recovers() -> None:
    rid = _rid_failing_then_ok(0.5)

    async def scenario() -> None:
        geo = _cfg(DependencyName.GEO, failure_rate=0.5)
        async with simulators({DependencyName.GEO: geo}) as eps:
            async with FanoutClient(eps, FanoutConfig(attempts=3, deadline_ms=PATIENT_MS)) as client:
                retried = await client.fetch("u1", request_id=rid)
            async with FanoutClient(eps, FanoutConfig(attempts=1, deadline_ms=PATIENT_MS)) as client:
                single = await client.fetch("u1", request_id=rid)
        geo_result = next(d for d in retried.dependencies if d.name is DependencyName.GEO)
        assert retried.ok and retried.retried
        assert geo_result.outcome is CallOutcome.RETRIED and geo_result.attempts == 2
        assert geo_result.failures == (FailureKind.HTTP_5XX,)
        assert retried.calls_made == 5
        # the same request without retries fails: same id, same draws
        assert not single.ok and _outcomes(single)[DependencyName.GEO] is CallOutcome.FAILED
        with pytest.raises(DependencyError, match="geo"):
            single.raise_for_failure()

    run(scenario)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [(FailureMode.HTTP_503, FailureKind.HTTP_5XX), (FailureMode.RESET, FailureKind.CONNECTION)],
)
def test_retries_are_bounded(mode: FailureMode, kind: FailureKind) -> None:
    async def scenario() -> None:
        abuse = _cfg(DependencyName.ABUSE, failure_rate=1.0, failure_mode=mode)
        async with (
            simulators({DependencyName.ABUSE: abuse}) as eps,
            FanoutClient(eps, FanoutConfig(attempts=3, fail_fast=False, deadline_ms=PATIENT_MS)) as client,
        ):
            result = await client.fetch("u1")
        abuse_result = next(d for d in result.dependencies if d.name is DependencyName.ABUSE)
        assert not result.ok
        assert abuse_result.outcome is CallOutcome.FAILED and abuse_result.attempts == 3
        assert abuse_result.failures == (kind,) * 3
        assert result.calls_made == 3 + 3  # three others once each, abuse three times
        # a 503 and a reset mid-body both come after the headers: every attempt was answered
        assert result.calls_answered == result.calls_made

    run(scenario)


async def _measure_lateness(out: list[float], step_s: float = 0.005) -> None:
    """Sleep in short steps until cancelled; append how late each wake-up was (ms)."""
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(step_s)
        out.append(max(0.0, (loop.time() - t0 - step_s) * 1000.0))


def test_the_overall_deadline_caps_attempts_and_time() -> None:
    deadline_ms = 130.0

    async def scenario() -> None:
        # every attempt times out (80 ms service, 50 ms timeout); 5 attempts would take 250 ms
        social = _cfg(DependencyName.SOCIAL, ms=80.0, timeout_ms=50.0)
        config = FanoutConfig(
            attempts=5,
            deadline_ms=deadline_ms,
            backoff_initial_ms=0,
            backoff_jitter_ms=0,
            min_attempt_ms=20,
            fail_fast=False,
        )
        async with simulators({DependencyName.SOCIAL: social}) as eps, FanoutClient(eps, config) as client:
            lateness: list[float] = []
            probe = asyncio.create_task(_measure_lateness(lateness))
            started = time.perf_counter()
            result = await client.fetch("u1")
            elapsed_ms = (time.perf_counter() - started) * 1000
            probe.cancel()
            await asyncio.gather(probe, return_exceptions=True)
        social_result = next(d for d in result.dependencies if d.name is DependencyName.SOCIAL)
        assert not result.ok
        # normally 3 attempts (50 + 50 + 30 ms); fewer only if the box stalls the loop
        assert 1 <= social_result.attempts < 5
        assert set(social_result.failures) <= {FailureKind.TIMEOUT, FailureKind.DEADLINE}
        assert social_result.answered == 0  # every attempt was abandoned before the headers came
        # Five attempts would need 250 ms. The bound is the deadline plus 40 ms, plus however
        # late the event loop ran meanwhile (a starved machine stalls it; the probe measures by
        # how much), so a stall cannot fail the test and a missed deadline still does.
        print(f"elapsed {elapsed_ms:.1f} ms, loop lateness {sum(lateness):.1f} ms")
        assert elapsed_ms < deadline_ms + 40.0 + sum(lateness), (elapsed_ms, sum(lateness))

    run(scenario)


def test_terminal_errors_are_not_retried() -> None:
    async def scenario() -> None:
        async with simulators() as eps:
            broken = dict(eps)
            # a wrong path: 404 from the geo service
            geo = eps[DependencyName.GEO]
            broken[DependencyName.GEO] = DependencyEndpoint(geo.name, geo.base_url + "/v0", geo.timeout_ms)
            # the geo service's answer where embeddings are expected: off-schema
            broken[DependencyName.EMBEDDINGS] = DependencyEndpoint(
                DependencyName.EMBEDDINGS, geo.base_url, geo.timeout_ms
            )
            async with FanoutClient(
                broken, FanoutConfig(attempts=3, fail_fast=False, deadline_ms=PATIENT_MS)
            ) as client:
                result = await client.fetch("u1")
        by_name = {d.name: d for d in result.dependencies}
        assert by_name[DependencyName.GEO].failures == (FailureKind.HTTP_4XX,)
        assert by_name[DependencyName.EMBEDDINGS].failures == (FailureKind.INVALID_PAYLOAD,)
        assert by_name[DependencyName.GEO].attempts == by_name[DependencyName.EMBEDDINGS].attempts == 1
        with pytest.raises(DependencyContractError) as excinfo:
            result.raise_for_failure()
        assert isinstance(excinfo.value, FeatureCacheError) and not isinstance(excinfo.value, DependencyError)

    run(scenario)


def test_fail_fast_cancels_the_other_calls() -> None:
    slow_ms = 500.0

    async def scenario() -> None:
        slow: dict[DependencyName, ServiceConfig] = {
            n: _cfg(n, ms=slow_ms, timeout_ms=1000) for n in DependencyName if n is not DependencyName.ABUSE
        }
        async with simulators(slow) as eps:
            # an immediate-503 outage on abuse, injected through its control endpoint
            async with aiohttp.ClientSession() as s:
                body = ControlRequest(command=OutageCommand(duration_s=60)).model_dump_json()
                ctl = await s.post(
                    f"{eps[DependencyName.ABUSE].base_url}/control",
                    data=body,
                    headers={"content-type": "application/json"},
                )
                assert ctl.status == 200
            async with FanoutClient(
                eps, FanoutConfig(attempts=1, fail_fast=True, deadline_ms=2_000)
            ) as client:
                fast = await client.fetch("u1")
            async with FanoutClient(
                eps, FanoutConfig(attempts=1, fail_fast=False, deadline_ms=2_000)
            ) as client:
                patient = await client.fetch("u1")
        assert not fast.ok and not patient.ok
        assert {d.outcome for d in fast.dependencies if d.name is not DependencyName.ABUSE} == {
            CallOutcome.CANCELLED
        }
        assert fast.latency_ms < slow_ms / 2  # 250 ms of room for a stalled loop
        # only abuse's 503 came back; the three cancelled calls were sent, never answered
        assert fast.calls_made == 4 and fast.calls_answered == 1
        assert {d.outcome for d in patient.dependencies if d.name is not DependencyName.ABUSE} == {
            CallOutcome.OK
        }
        assert patient.latency_ms >= slow_ms

    run(scenario)


def test_client_needs_a_start_and_the_endpoints_it_calls() -> None:
    async def scenario() -> None:
        eps = {n: DependencyEndpoint(n, "http://127.0.0.1:1", 100.0) for n in DependencyName}
        with pytest.raises(FeatureCacheError, match="not started"):
            await FanoutClient(eps).fetch("u1")
        only_geo = {DependencyName.GEO: eps[DependencyName.GEO]}
        async with FanoutClient(only_geo) as client:
            with pytest.raises(FeatureCacheError, match="no endpoint for: social, embeddings, abuse"):
                await client.fetch("u1")
            with pytest.raises(FeatureCacheError, match="no endpoint for: embeddings"):
                await client.fetch_embeddings("u1")

    run(scenario)


def test_on_demand_embeddings_call_retries_and_raises_the_transient_class() -> None:
    rid = _rid_failing_then_ok(0.5)

    async def scenario() -> None:
        flaky = _cfg(DependencyName.EMBEDDINGS, failure_rate=0.5)
        async with simulators({DependencyName.EMBEDDINGS: flaky}) as eps:
            only = {DependencyName.EMBEDDINGS: eps[DependencyName.EMBEDDINGS]}
            async with FanoutClient(only, FanoutConfig(attempts=2, deadline_ms=PATIENT_MS)) as client:
                feats = await client.fetch_embeddings("u5", request_id=rid)  # fails once, then answers
                assert feats.user_id == "u5" and feats.session_intent
            async with FanoutClient(only, FanoutConfig(attempts=1, deadline_ms=PATIENT_MS)) as client:
                with pytest.raises(DependencyCallError) as excinfo:
                    await client.fetch_embeddings("u5", request_id=rid)
        assert excinfo.value.kind is FailureKind.HTTP_5XX
        assert isinstance(excinfo.value, DependencyError)  # transient: the breaker's failure class

    run(scenario)
