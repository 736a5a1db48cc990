"""The app the bench serves: the production ranking API plus its constant twin at `/const`.

Backs the "ranking p99 <= 2x a constant endpoint" claim: `/const` has the
very parameters and validation of `/rankings` (mounted with the kernel's
`add_constant_twin`) and a body of the same size, and no Redis. It exists
only in this factory; `rankings.serving.api:create_app` never has it.

    uvicorn --factory rankings.bench.app:create_bench_app
"""

from __future__ import annotations

import json

from fastapi import FastAPI

from rankings.serving.api import create_app
from starlab.serving.baseline import add_constant_twin

CONST_ITEM = {
    "item_id": "i00000",
    "category": "news",
    "rank_overall": 1,
    "rank_in_category": 1,
    "score": 0.094749583,
    "smoothed_ctr": 0.171735704,
    "recency_hours": 20.591964167,
    "impressions": 78,
    "clicks": 19,
}
"""A typical cached item: 20 of them make a body the size of `/rankings?limit=20`'s."""

CONST_BODY = json.dumps(
    {
        "build_id": "const",
        "ranking_date": "2026-01-01",
        "category": None,
        "limit": 20,
        "count": 20,
        "items": [CONST_ITEM] * 20,
    },
    separators=(",", ":"),
).encode()


def create_bench_app() -> FastAPI:
    app = create_app()
    add_constant_twin(app, "/rankings", "/const", CONST_BODY)
    return app
