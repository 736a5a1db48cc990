"""The ranking API: `GET /rankings` from the warm Redis cache, never from DuckDB.

Backs story 2's "API p95 180 ms" (< 200 ms), issue 4's "no request ever
mixes versions" and item 6's "the ranking path may add about one Redis round
trip, not more":

- Every request reads the serving pointer (`{<prefix>}:live`, one GET), so a
  flip or a rollback is seen by the very next request.
- A version's keys are immutable once warmed, so the response body of
  (build, list, limit) can be memoized in-process: a hit costs that one GET
  round trip and a dict lookup. A body is keyed by the build that produced
  it, so it can never carry another version's items.
- On a miss, one EVALSHA (`cache.READ_LUA`) resolves the pointer and reads
  the version's list atomically in a single round trip; the body names the
  build the script read, even if the pointer moved since the GET.
- Items were serialized once when the cache was warmed: a body is bytes
  concatenation, not JSON encoding.
- Redis is reached through redis-py's asyncio client with the hiredis
  parser and a blocking pool (a burst waits for a connection instead of
  failing); docs/adr/0004-story-shape.md has its cost measured against the
  hand-written RESP client it replaced. On a Redis Cluster
  (`STARLAB_TOPOLOGY=cluster`, `starlab.redis_client`) the pool is per
  master and does not block, and the hash-tagged keys keep a whole ranking on
  one master.

    uvicorn --factory rankings.serving.api:create_app --port 8000   # or: starlab rankings serve

Endpoints: `/rankings?limit=&category=`, `/healthz` (liveness: constant),
`/readyz` (a version is being served), `/openapi.json`. Redis errors answer
503, never 500. The bench's constant baseline is not here: the bench mounts
it on the app it starts (`rankings.bench.app`).

No `from __future__ import annotations` here: FastAPI resolves the query
annotations at runtime, and they refer to settings local to `create_app`.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from rankings.serving.cache import READ_LUA, key_tag, pointer_key
from rankings.settings import RankingsSettings, get_rankings_settings
from starlab.observability.http import instrument
from starlab.redis_client import REDIS_ERRORS, async_client
from starlab.settings import Settings, get_settings

CATEGORY_PATTERN = r"^[a-z0-9_-]{1,40}$"
MEMO_ENTRIES = 512


class RankedItem(BaseModel):
    item_id: str
    category: str
    rank_overall: int = Field(ge=1)
    rank_in_category: int = Field(ge=1)
    score: float = Field(ge=0, le=1)
    smoothed_ctr: float
    recency_hours: float
    impressions: int = Field(ge=0)
    clicks: int = Field(ge=0)


class RankingsResponse(BaseModel):
    build_id: str = Field(description="The published build this whole response comes from.")
    ranking_date: date
    category: str | None
    limit: int
    count: int
    items: list[RankedItem]


class ErrorResponse(BaseModel):
    detail: str


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    build_id: str


def create_app(settings: Settings | None = None, cfg: RankingsSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    cfg = cfg if cfg is not None else get_rankings_settings()
    top_n, default_limit = cfg.top_n, min(cfg.default_limit, cfg.top_n)
    pointer, tag = pointer_key(cfg.key_prefix), key_tag(cfg.key_prefix)
    memo: dict[tuple[bytes, str, int], bytes] = {}
    unavailable: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError, TimeoutError)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = async_client(settings, max_connections=64, pool_timeout=2.0, socket_timeout=2.0)
        app.state.redis = client
        app.state.read = client.register_script(READ_LUA)
        try:
            yield
        finally:
            await client.aclose()  # and its pool(s)

    app = FastAPI(
        title="starlab rankings",
        version="1.0.0",
        description="Story 2: daily item rankings from the warm cache, blue/green published.",
        lifespan=lifespan,
    )
    instrument(app)  # /metrics: request counts and SLO-bucketed latency (starlab/observability/http.py)

    async def read(request: Request, suffix: str, limit: int) -> Any:
        try:
            return await request.app.state.read(keys=[pointer], args=[tag, suffix, limit])
        except unavailable as exc:
            raise HTTPException(503, f"ranking cache unavailable: {type(exc).__name__}") from None

    @app.get(
        "/rankings",
        response_model=RankingsResponse,
        responses={
            404: {"model": ErrorResponse, "description": "Unknown category."},
            503: {"model": ErrorResponse, "description": "Nothing published, or the cache is unavailable."},
        },
        summary="Top-N items of the live build, overall or in one category",
    )
    async def rankings(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=top_n, description="How many items.")] = default_limit,
        category: Annotated[
            str | None, Query(pattern=CATEGORY_PATTERN, description="Only this category.")
        ] = None,
    ) -> Response:
        suffix = f"cat:{category}" if category else "overall"
        try:
            live = await request.app.state.redis.get(pointer)
        except unavailable as exc:
            raise HTTPException(503, f"ranking cache unavailable: {type(exc).__name__}") from None
        if live is not None:
            body = memo.get((live, suffix, limit))
            if body is not None:
                return Response(content=body, media_type="application/json")
        out = await read(request, suffix, limit)
        if not out:
            raise HTTPException(503, "no ranking version is published yet")
        if len(out) < 3:
            raise HTTPException(503, f"the live version {out[0].decode()} is no longer in the cache")
        build, ranking_date, items = out
        if not items and category:
            raise HTTPException(404, f"unknown category {category!r} in build {build.decode()}")
        # Bytes assembly: build and date are our own identifiers, items were
        # serialized by the publisher; json.dumps quotes the two strings.
        body = b"".join(
            (
                b'{"build_id":',
                json.dumps(build.decode()).encode(),
                b',"ranking_date":',
                json.dumps(ranking_date.decode()).encode(),
                b',"category":',
                json.dumps(category).encode(),
                b',"limit":%d,"count":%d,"items":[' % (limit, len(items)),
                b",".join(items),
                b"]}",
            )
        )
        memo[(build, suffix, limit)] = body
        if len(memo) > MEMO_ENTRIES:
            memo.pop(next(iter(memo)))
        return Response(content=body, media_type="application/json")

    @app.get("/healthz", response_model=Health, summary="Liveness: constant, touches nothing")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get(
        "/readyz",
        response_model=Ready,
        responses={503: {"model": ErrorResponse, "description": "Nothing served yet."}},
        summary="Readiness: a published version is in the cache",
    )
    async def readyz(request: Request) -> JSONResponse:
        out = await read(request, "overall", 1)
        if not out or len(out) < 3:
            raise HTTPException(503, "no published version in the cache")
        return JSONResponse({"status": "ready", "build_id": out[0].decode()})

    return app


__all__ = ["RankedItem", "RankingsResponse", "create_app"]
