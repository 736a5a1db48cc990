"""A constant twin of a real route: same parameters and validation, a fixed body, no backend.

Backs the latency ratios of the benches (story 2's "the ranking path adds
about one Redis round trip", story 4's "`/features` p99 at most 2x a
constant endpoint"): the twin runs in the same server process on the same
stack (uvicorn, FastAPI, the route's own query validation) and returns a
body of the same size, so `p99(real) / p99(twin)` isolates what the real
route adds. The bench mounts it on the app it starts; the production app
never has it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.routing import APIRoute

from starlab.serving.process import ServingError

__all__ = ["add_constant_twin"]


def add_constant_twin(
    app: FastAPI, route_path: str, twin_path: str, body: bytes, media_type: str = "application/json"
) -> None:
    """Mount `twin_path` with the signature of the GET route at `route_path`, answering `body`."""
    route = next(
        (r for r in app.routes if isinstance(r, APIRoute) and r.path == route_path and "GET" in r.methods),
        None,
    )
    if route is None:
        raise ServingError(f"no GET route {route_path!r} to twin")
    original: Callable[..., object] = route.endpoint
    # Resolve string annotations against the original's module, so FastAPI
    # (which evaluates them against the twin's globals) sees real types.
    hints = typing.get_type_hints(original, include_extras=True)
    sig = inspect.signature(original)
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]

    async def twin(**_: object) -> Response:
        return Response(content=body, media_type=media_type)

    twin.__signature__ = sig.replace(parameters=params, return_annotation=Response)  # type: ignore[attr-defined]
    app.add_api_route(twin_path, twin, methods=["GET"], include_in_schema=False)
