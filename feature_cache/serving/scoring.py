"""The scoring stage after the feature fetch: the story's existing pipeline, as a seeded delay.

Backs the end-to-end side of the 004 story's "Baseline: Existing pipeline
p95 ~ 120 ms" and "p95 ... 290 ms (A) vs 205 ms (B)": the ranking model is
not what the story is about, so it is a lognormal sleep with the story's
p95 (120 ms) and our p50 (80 ms), drawn from a seeded generator. Both designs
pay it alike, so the end-to-end difference is the fetch stage's; the fetch
stage is reported on its own too.
"""

from __future__ import annotations

import asyncio
import random

from feature_cache.deps.latency import LognormalLatency

__all__ = ["ScoringStage"]


class ScoringStage:
    def __init__(self, p50_ms: float, p95_ms: float, seed: int = 0, *, enabled: bool = True) -> None:
        self.model = LognormalLatency.from_percentiles(p50_ms, p95_ms)
        self.enabled = enabled
        self._rng = random.Random(seed)

    def draw_ms(self) -> float:
        return self.model.sample(self._rng) if self.enabled else 0.0

    async def run(self) -> float:
        """Sleep one draw; returns the drawn time in ms (0 when disabled)."""
        ms = self.draw_ms()
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)
        return ms
