"""One simulator's HTTP surface, in-process (aiohttp TestServer, no child process)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp.test_utils import TestServer

from feature_cache.deps.config import DependencyName, FailureMode, ServiceConfig
from feature_cache.deps.control import ControlState, ServiceStats, request_uniforms
from feature_cache.deps.features import EmbeddingFeatures
from feature_cache.deps.server import REQUEST_ID_HEADER, SERVICE_TIME_HEADER, build_app


@asynccontextmanager
async def served(cfg: ServiceConfig) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    server = TestServer(build_app(cfg, intent_period_s=2.0), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield session, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def _cfg(**kw: object) -> ServiceConfig:
    return ServiceConfig.model_validate({"name": DependencyName.EMBEDDINGS, "p50_ms": 3, "p95_ms": 6, **kw})


def test_features_healthz_and_service_time() -> None:
    async def scenario() -> None:
        async with served(_cfg()) as (session, base):
            async with session.get(f"{base}/features/u7", headers={REQUEST_ID_HEADER: "a"}) as resp:
                assert resp.status == 200
                feats = EmbeddingFeatures.model_validate_json(await resp.read())
                service_ms = float(resp.headers[SERVICE_TIME_HEADER])
            assert feats.user_id == "u7" and feats.intent_valid_until > 0
            assert 0.5 < service_ms < 200  # slept its sampled time (3-6 ms typically)
            async with session.get(f"{base}/healthz") as resp:
                assert (await resp.json())["service"] == "embeddings"

    asyncio.run(scenario())


def test_the_latency_is_the_draw_of_the_request_id() -> None:
    cfg = _cfg(p50_ms=20, p95_ms=80)
    ids = ["x", "y", "z"]
    # what the server must sleep for each id: the model's quantile at the id's hashed uniform
    expected = {rid: cfg.latency.from_uniform(request_uniforms(cfg.seed, rid)[1]) for rid in ids}
    assert max(expected.values()) - min(expected.values()) > 5  # distinct draws, not one value

    async def scenario() -> None:
        async with served(cfg) as (session, base):
            for rid in ids * 2:
                async with session.get(f"{base}/features/u1", headers={REQUEST_ID_HEADER: rid}) as resp:
                    service_ms = float(resp.headers[SERVICE_TIME_HEADER])
                # never early (1 ms for clock granularity); late only by the loop's lateness
                assert expected[rid] - 1.0 <= service_ms <= expected[rid] + 500.0, (rid, service_ms)

    asyncio.run(scenario())


def test_control_and_stats_round_trip_and_bad_commands_are_422() -> None:
    async def scenario() -> None:
        async with served(_cfg(failure_rate=1.0, failure_mode=FailureMode.HTTP_503)) as (session, base):
            for i in range(3):
                async with session.get(f"{base}/features/u{i}") as resp:
                    assert resp.status == 503
            body = {"command": {"action": "failure_rate", "failure_rate": 0.0}}
            async with session.post(f"{base}/control", json=body) as resp:
                assert resp.status == 200
                assert ControlState.model_validate_json(await resp.read()).failure_rate == 0.0
            async with session.get(f"{base}/features/u9") as resp:
                assert resp.status == 200
            async with session.post(
                f"{base}/control", data=json.dumps({"command": {"action": "nope"}})
            ) as resp:
                assert resp.status == 422
            async with session.get(f"{base}/stats") as resp:
                stats = ServiceStats.model_validate_json(await resp.read())
            assert stats.calls_served == 4 and stats.failed_random == 3 and stats.ok == 1
            assert stats.cpu_s >= 0 and stats.service == "embeddings"

    asyncio.run(scenario())
