"""`starlab demo rankings`: story 2 end to end on generated data, with its claims recorded.

Backs the acceptance "starlab demo rankings (and make demo) runs the whole
path on generated data and prints the claims with measured values":

1. 14 days of engagement history whose newest ingest is now, added to the
   same lake the stream step wrote (its event ids are prefixed by a
   per-run part name, so they never collide with the stream's `e7-...` ids;
   the previous demo run's history parts are removed first, only ours);
2. a first blue/green publish cycle (`Publisher.run_cycle`);
3. `rankings.bench.run_bench`: an injected bad build the gate must refuse,
   new arrivals published under 20k requests at concurrency 32, a rollback
   under load and a re-publish, ranking vs constant endpoint at
   concurrency 8, Redis round trips, the deferral measurement and the
   incremental-vs-full cost at `STARLAB_RANKINGS_PERF_EVENTS` (10M);
4. the claims recorded under `reports/latest/claims/2-rankings.json`.

The stream step runs first and verifies its own lake content before this
step adds anything; it wipes `lake/events` when it starts, so a later demo
run's stream check never sees these files.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rankings.bench import run_bench, save_result
from rankings.config import get_rankings_settings
from rankings.errors import RankingsError
from rankings.evidence import STORY, claims_from_bench
from rankings.publish import Publisher
from rankings.synth import generate_recent
from starlab.evidence import record
from starlab.settings import Settings

HISTORY_PREFIX = "rankings-"
"""Lake parts this step writes: `part-rankings-<UTC time>.parquet` (and the bench's `part-arr*`)."""


def _remove_own_parts(settings: Settings) -> int:
    events = settings.lake_dir / "events"
    removed = 0
    for pattern in (f"*/part-{HISTORY_PREFIX}*.parquet", "*/part-arr*.parquet"):
        for path in events.glob(pattern):
            path.unlink()
            removed += 1
    return removed


def run_rankings_demo(settings: Settings, events: int, progress: Callable[[str], None]) -> None:
    cfg = get_rankings_settings()
    removed = _remove_own_parts(settings)
    part = f"{HISTORY_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}"
    history = max(events * 10, 200_000)
    dims = settings.lake_dir / "dims" / "items.parquet"
    g = generate_recent(settings.lake_dir, history, days=14, part=part, write_dims=not dims.exists())
    progress(
        f"history: {g.rows:,} lake rows ({g.unique_events:,} events, 14 days ending now) as {part}"
        + (f"; removed {removed} parts of an earlier run" if removed else "")
    )
    publisher = Publisher(settings, cfg)
    # the history's ingest times are in the past: incremental state cannot see it
    publisher.invalidate(f"demo history {part} written with past ingest times")
    first = publisher.run_cycle()
    m = first["metrics"]
    progress(
        f"published {m['build_id']}: {m['served_rows']} items on {m['ranking_date']}, freshness at publish "
        f"{m['freshness_at_publish_s'] / 60:.1f} min, steps {first['timings_s']}"
    )
    result = run_bench(settings, cfg, perf_events=cfg.perf_events, progress=progress)
    save_result(result, settings.reports_dir)
    deferral = result.get("deferral", {}).get("spearman_with_latent_quality")
    if deferral:
        progress(f"deferred features, Spearman rho with the items' true appeal: {deferral}")
    claims = claims_from_bench(result, "starlab demo rankings")
    record(claims, STORY, settings.reports_dir)
    for c in claims:
        progress(f"{c.status}: {c.claim}: measured {c.measured_text()} (claimed {c.claimed_text()})")
    correctness = {"bad_responses_during_switch", "change_failure_rate"}
    broken = [c.claim for c in claims if c.metric in correctness and str(c.status) == "fail"]
    if broken:
        raise RankingsError(f"story 2 correctness claims failed: {broken}")


__all__ = ["run_rankings_demo"]
