"""`starlab demo rankings`: story 2 end to end on generated data, returning its claims.

1. 14 days of engagement history whose newest ingest is now, added to the
   same lake the stream step wrote (its event ids are prefixed by a per-run
   part name, so they never collide with the stream's `e7-...` ids; the
   previous demo run's history parts are removed first, only ours);
2. a first blue/green publish cycle (`Publisher.run_cycle`);
3. `rankings.bench.run.run_bench`: an injected bad build the gate must
   refuse, new arrivals published under 20k requests at concurrency 32, a
   rollback under load and a re-publish, ranking vs constant twin at
   concurrency 8, Redis round trips, the deferral measurement and the
   incremental-vs-full cost at `STARLAB_RANKINGS_PERF_EVENTS` (10M);
4. the claims, which the kernel records under `2-rankings`.

The stream step runs first and verifies its own lake content before this
step adds anything; it resets the lake's events table when it starts, so a later demo
run's stream check never sees these rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rankings.bench.run import run_bench, save_result
from rankings.evidence import claims_from_bench, outcome_claims
from rankings.publish.publisher import Publisher
from rankings.settings import get_rankings_settings
from rankings.synth import generate_recent
from starlab.lake.events import delete_events_with_prefix
from starlab.settings import Settings
from starlab.story import DemoContext, DemoOutcome

HISTORY_PREFIX = "rankings-"
"""Event ids this step writes start with it (`rankings-<UTC time>:e7-...`; the bench's with `arr`)."""

CORRECTNESS = ("bad_responses_during_switch", "change_failure_rate")
"""Claims whose failure means users saw a bad version: the demo fails on them."""


def _remove_own_events(settings: Settings) -> int:
    """Delete an earlier run's events from the table (the stream step's stay); returns rows."""
    return sum(delete_events_with_prefix(settings, prefix) for prefix in (HISTORY_PREFIX, "arr"))


def run_demo(ctx: DemoContext) -> DemoOutcome:
    settings, progress = ctx.settings, ctx.progress
    cfg = get_rankings_settings()
    removed = _remove_own_events(settings)
    part = f"{HISTORY_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}"
    history = max(ctx.events * 10, 200_000)
    dims = settings.lake_dir / "dims" / "items.parquet"
    g = generate_recent(settings, history, days=14, part=part, write_dims=not dims.exists())
    progress(
        f"history: {g.rows:,} lake rows ({g.unique_events:,} events, 14 days ending now) as {part}"
        + (f"; deleted {removed:,} rows of an earlier run" if removed else "")
    )
    publisher = Publisher(settings, cfg)
    # the history's ingest times are in the past: incremental state cannot see it
    publisher.invalidate(f"demo history {part} written with past ingest times")
    first = publisher.run_cycle()
    m = first.metrics
    progress(
        f"published {m.build_id}: {m.served_rows} items on {m.ranking_date}, freshness at publish "
        f"{(m.freshness_at_publish_s or 0) / 60:.1f} min, steps {first.timings_s}"
    )
    result = run_bench(settings, cfg, perf_events=cfg.perf_events, progress=progress)
    save_result(result, settings.reports_dir)
    if result.deferral:
        progress(
            f"deferred features, Spearman rho with the items' true appeal: "
            f"{result.deferral.spearman_with_latent_quality}"
        )
    claims = claims_from_bench(result, "starlab demo rankings") + outcome_claims()
    broken = [c.claim for c in claims if c.metric in CORRECTNESS and str(c.status) == "fail"]
    return DemoOutcome(claims=claims, problems=[f"correctness claim failed: {b}" for b in broken])


__all__ = ["run_demo"]
