"""Story 2's own settings (`STARLAB_RANKINGS_*`): gate thresholds, cache sizes and TTLs.

Endpoints and paths (Redis URL, data dir, warehouse, API port) stay in the
kernel's `starlab.settings.Settings`; this class holds only what the rankings
story decides, so the kernel never learns about a story. Same precedence as
the kernel: environment > `.env` > defaults. Dicts are read from JSON, e.g.
`STARLAB_RANKINGS_MAX_NULL_RATIO='{"category": 0.0, "likes": 0.05}'`.

The defaults are the story's figures: duplication under 0.5%, freshness
under 2 h; the row-count tolerance (+-50% of the previous build) is ours.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from starlab.settings import Settings

DEFAULT_MAX_NULL_RATIO: dict[str, float] = {
    # What the API and the dashboard read: no null allowed.
    "item_id": 0.0,
    "category": 0.0,
    "rank_overall": 0.0,
    "rank_in_category": 0.0,
    "score": 0.0,
    "smoothed_ctr": 0.0,
    "decay_factor": 0.0,
    "recency_hours": 0.0,
    "impressions": 0.0,
    "clicks": 0.0,
    "last_event_at": 0.0,
    "source_max_ingested_at": 0.0,
    # Carried for the dashboard, not in the launch score (their features are
    # deferred): a few nulls would not change a rank, so 1% is tolerated.
    "likes": 0.01,
    "shares": 0.01,
}


class RankingsSettings(BaseSettings):
    """Configuration of the rankings publisher, gate, cache and API."""

    model_config = SettingsConfigDict(
        env_prefix="STARLAB_RANKINGS_", env_file=".env", extra="ignore", frozen=True
    )

    # --- DQ gate (docs/rankings.md "Checks and thresholds") -----------------
    row_count_tolerance: float = Field(default=0.5, ge=0.0, le=10.0)
    """Rows of the served ranking date must be within +-tolerance (0.5 = +-50%)
    of the previous published build's; a collapse or an explosion is refused."""
    max_null_ratio: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_MAX_NULL_RATIO))
    """Per-column ceiling of the null ratio over the whole built table."""
    max_duplicate_rate: float = Field(default=0.005, ge=0.0, lt=1.0)
    """Story 2: < 0.5% duplication, as 1 - distinct(ranking_date, item_id) / rows."""
    min_served_rows: int = Field(default=10, ge=1)
    """Absolute floor on the served date's rows (dbt's min_items_per_ranking_date)."""
    max_input_age_s: float = Field(default=7_200.0, gt=0)
    """Story 2: < 2 h freshness. `check_inputs` refuses a lake older than this
    (only for the current interval: a backfill of an old one is not "stale")."""

    # --- cache & API ----------------------------------------------------------
    key_prefix: str = Field(default="rankings", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    """Redis key prefix: `{<prefix>}:live` is the serving pointer, `{<prefix>}:<build>:*` a version.
    The braces (a Redis Cluster hash tag) are added by `rankings.serving.cache`'s key builders,
    so this pattern refuses them."""
    top_n: int = Field(default=100, ge=1, le=10_000)
    """Items per cached list (overall and per category); the API's `limit` maximum."""
    default_limit: int = Field(default=20, ge=1)
    version_ttl_s: int = Field(default=7 * 86_400, ge=60)
    """TTL of a warmed version that is not live (a candidate that never went live)."""
    previous_ttl_s: int = Field(default=2 * 86_400, ge=60)
    """TTL given to the version a flip replaces: the window in which `rollback`
    needs no re-warm. The live version's keys never expire."""
    keep_builds: int = Field(default=10, ge=2)
    """Build manifests + cache payloads kept under `<data_dir>/rankings/builds`."""

    perf_events: int = Field(default=10_000_000, ge=0)
    """Events of the incremental-vs-full measurement in `starlab demo rankings` (0 skips it)."""

    # --- dbt ------------------------------------------------------------------
    dbt_timeout_s: float = Field(default=1_800.0, gt=0)
    backfill_days: int | None = Field(default=None, ge=1)
    """Passed to dbt when set; dbt_project.yml's default (14) otherwise."""

    def control_dir(self, settings: Settings) -> Path:
        """Where the flag, its history, build manifests and metrics live (`<data_dir>/rankings`)."""
        return settings.data_dir.resolve() / "rankings"


@lru_cache(maxsize=1)
def get_rankings_settings() -> RankingsSettings:
    return RankingsSettings()


__all__ = ["DEFAULT_MAX_NULL_RATIO", "RankingsSettings", "get_rankings_settings"]
