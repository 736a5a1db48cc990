"""The app the serving bench runs: the production feature API plus its constant twin at `/const/{user_id}`.

Backs issue 9's "HTTP /features p99 at concurrency 8 at most 2x a constant
endpoint on the same server stack": `/const/{user_id}` has the very path and
query parameters and validation of `/features/{user_id}` (mounted with the
kernel's `add_constant_twin`) and answers a body of the same size, built
once from a real response model, with no Redis and no dependency. It exists
only in this factory; `feature_cache.serving.app:create_app` never has it.

    uvicorn --factory feature_cache.bench.app:create_bench_app
"""

from __future__ import annotations

from fastapi import FastAPI

from feature_cache.bench.stream import SnapshotSource
from feature_cache.serving.app import (
    FeaturesResponse,
    FeatureValues,
    GroupState,
    GroupStatus,
    Timings,
    create_app,
)
from feature_cache.serving.keys import GroupName, RequestType
from feature_cache.settings import Design
from starlab.serving.baseline import add_constant_twin

__all__ = ["BENCH_FACTORY", "const_body", "create_bench_app"]

BENCH_FACTORY = "feature_cache.bench.app:create_bench_app"


def const_body(user_id: str = "u0000000", intent_period_s: float = 60.0) -> bytes:
    """A hit's response for one user, serialized once: the twin's constant body."""
    values = SnapshotSource(intent_period_s).groups(user_id, 0.0)
    body = FeaturesResponse(
        user_id=user_id,
        request_type=RequestType.RECOMMENDATION,
        design=Design.B,
        features=FeatureValues.model_validate({g.value: dict(values[g]) for g in GroupName}),
        groups={g: GroupState(status=GroupStatus.FRESH, age_s=12.345, ttl_s=300.0) for g in GroupName},
        flags=[],
        timings=Timings(fetch_ms=1.234, scoring_ms=0.0, total_ms=1.456, redis_ms=0.987),
    )
    return body.model_dump_json().encode()


def create_bench_app() -> FastAPI:
    app = create_app()
    add_constant_twin(app, "/features/{user_id}", "/const/{user_id}", const_body())
    return app
