"""Story 4 (feature store build vs buy) and the 004 fan-out story: a Redis feature cache.

Streaming precompute (Flink SQL) writes per-user features to a compacted
topic; a materializer fills Redis with TTLs and appends every version to an
offline history for point-in-time joins. Serving compares design A
(synchronous fan-out to four dependencies) with design B (cache first,
on-demand calls, breaker, kill switch). The TCO model backs the build-vs-buy
decision. Story folders never import each other; this one imports only the kernel.
"""

from starlab.story import Story

STORY = Story(
    name="features",
    evidence_id="4-feature-store",
    title="streaming precompute -> Redis feature cache, fan-out vs cache under faults, PIT, TCO",
    order=40,
    cli="feature_cache.cli:app",
    demo="feature_cache.demo:run_demo",
    slo="feature_cache/slo.yaml",
    dashboard="feature_cache.dashboard:DASHBOARD",
    star="feature_cache.star:SCRIPTS",
)
