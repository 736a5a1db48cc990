"""Settings of the feature precompute (`STARLAB_FEATURES_PRECOMPUTE_*`): job, topic, materializer.

Endpoints (Kafka, registry, Redis) and the events topic stay in the kernel's
`starlab.settings.Settings`. Same precedence as the kernel: environment >
`.env` > defaults.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PrecomputeSettings(BaseSettings):
    """Configuration of the feature job and the materializer."""

    model_config = SettingsConfigDict(
        env_prefix="STARLAB_FEATURES_PRECOMPUTE_", env_file=".env", extra="ignore", frozen=True
    )

    topic: str = "features.user.v1"
    """Compacted topic of feature versions, keyed by (user_id, feature_group)."""
    late_topic: str = "features.user.v1.late"
    """Events the feature job left out because they arrived behind its watermark."""
    topic_partitions: int = Field(default=2, ge=1)
    """One per core of the target machine, like the events topic."""
    checkpoint_interval_ms: int = Field(default=2_000, ge=200)
    """Exactly-once output becomes visible at each checkpoint, so this adds up to 2 s to every
    feature's age in Redis; one Kafka transaction per 2 s is cheap on the local broker."""
    parallelism: int = Field(default=1, ge=1)
    """1: the job shares 2 cores with the broker, the registry, Redis and the materializer."""
    watermark_delay_ms: int = Field(default=5_000, ge=0)
    """How far behind the newest event time the job's watermark trails. Sliding-window features
    are emitted once the watermark passes them, so this is the floor of their freshness; the edge
    delivers on-time events within 3 s (the generator's normal delay), so 5 s keeps all of them.
    Story 3's 10-minute lateness would make every feature at least 10 minutes old."""
    state_ttl_ms: int = Field(default=25 * 3_600_000, ge=60_000)
    """Keyed state outlives its last update by 25 h: the 24-hour platform window must not lose a
    quiet user's history after an hour, and the dedup keeps event_ids as long."""
    group_id: str = "starlab-features-job"
    """Consumer group of the Flink job's Kafka source (offsets are in its checkpoints)."""

    key_prefix: str = Field(default="fc", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    """Redis keys are `<key_prefix>:{<user_id>}:<group>` (`records.redis_key`: the braces are
    the hash tag, so the pattern refuses them here); tests use their own prefix."""
    consumer_group: str = "starlab-features-materializer"
    """Consumer group of the materializer; its offsets advance only after Redis accepted a batch."""
    batch_size: int = Field(default=500, ge=1)
    """Records per poll and per Redis pipeline: one round trip per 500 records."""
    poll_timeout_s: float = Field(default=0.2, gt=0)
    """How long one poll waits for records; bounds the materializer's added latency when idle."""
    history_path: Path | None = None
    """Offline feature history (DuckDB); default `<data_dir>/features/offline.duckdb`."""
    write_history: bool = True
    """Append every version to the offline history (off only for throughput comparisons)."""


@lru_cache(maxsize=1)
def get_precompute_settings() -> PrecomputeSettings:
    return PrecomputeSettings()


__all__ = ["PrecomputeSettings", "get_precompute_settings"]
