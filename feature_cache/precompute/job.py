"""The feature job: `sql/*.sql` on the kernel's Flink runner, with this story's topics and options.

Backs story 004's "streaming materialization (Kafka + Flink) to precompute
features": the job reads the events topic, dedups on event_id, computes the
groups of `features.py` and writes them exactly-once (Kafka transactions
committed at checkpoints) to the compacted topic `features.user.v1`.
Starting, stopping with a savepoint, crashing and restoring are the
kernel's (`starlab.flink.runner.FlinkJob`); this module says what the job is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from feature_cache.errors import FeatureCacheConfigError, FeatureCacheError
from feature_cache.precompute.settings import PrecomputeSettings
from starlab.events.producer import edge_topics
from starlab.flink import ddl
from starlab.flink.errors import FlinkConfigError, FlinkError
from starlab.flink.job_main import RenderedSql
from starlab.flink.runner import FlinkJob, RunnerOptions
from starlab.kafka_io import TopicSpec, ensure_topics
from starlab.settings import Settings

SQL_DIR = Path(__file__).resolve().parent / "sql"
PIPELINE_NAME = "starlab-feature-precompute"


@dataclass(frozen=True)
class FeatureJobOptions:
    """Per-run choices; the defaults come from `PrecomputeSettings`."""

    bounded: bool = False
    """Stop at the end offsets seen at start (tests) instead of running on."""
    group_id: str | None = None
    """Consumer group of the job's source; None: the settings' group."""
    flink_conf: tuple[tuple[str, str], ...] = ()


@contextmanager
def _as_feature_error() -> Iterator[None]:
    """The runner's errors under this story's root (a config error stays a config error)."""
    try:
        yield
    except FlinkConfigError as exc:
        raise FeatureCacheConfigError(str(exc)) from exc
    except FlinkError as exc:
        raise FeatureCacheError(str(exc)) from exc


def feature_topics(settings: Settings, cfg: PrecomputeSettings) -> list[TopicSpec]:
    """The job's output topics: the compacted feature topic and the late-events topic."""
    return [
        TopicSpec(
            cfg.topic,
            cfg.topic_partitions,
            {
                "cleanup.policy": "compact",
                # Compaction only cleans closed segments: roll one every 10 min
                # so the log shrinks to one version per key within the demo's
                # time, not after the default 7 days.
                "segment.ms": "600000",
                "min.cleanable.dirty.ratio": "0.1",
            },
        ),
        TopicSpec(cfg.late_topic, 1),
    ]


class FeatureJob:
    """The precompute job of one run; `name` keeps pid, log and checkpoints apart."""

    def __init__(
        self,
        settings: Settings,
        cfg: PrecomputeSettings,
        options: FeatureJobOptions | None = None,
        name: str = "feature-job",
    ) -> None:
        self.settings = settings
        self.cfg = cfg
        self.options = options or FeatureJobOptions()
        self.name = name
        with _as_feature_error():
            self.runner = FlinkJob(
                settings,
                name=name,
                sql_dir=SQL_DIR,
                values=self.template_values(),
                options=RunnerOptions(
                    checkpoint_interval_ms=cfg.checkpoint_interval_ms,
                    parallelism=cfg.parallelism,
                    state_ttl_ms=cfg.state_ttl_ms,
                    bounded=self.options.bounded,
                    flink_conf=self.options.flink_conf,
                ),
                pipeline_name=PIPELINE_NAME,
            )

    def template_values(self) -> dict[str, str]:
        """What `sql/*.sql` substitute beyond the runner's standard values."""
        with _as_feature_error():
            delay = ddl.interval_hms(self.cfg.watermark_delay_ms)
        group = self.options.group_id or self.cfg.group_id
        return {
            **ddl.template_values(),
            "events_topic": self.settings.events_topic,
            "features_topic": self.cfg.topic,
            "late_topic": self.cfg.late_topic,
            "group_id": group,
            "startup_mode": "earliest-offset",
            "watermark_delay_hms": delay,
            # per consumer group, as story 3's job (streaming/job.py says why)
            "txn_prefix": f"starlab-{self.name}-{self.cfg.topic}-{group}",
        }

    def rendered_sql(self) -> RenderedSql:
        with _as_feature_error():
            return self.runner.rendered_sql()

    def start(self, restore: bool = False, timeout_s: float = 180) -> None:
        """Create the topics, then start the job (from the last checkpoint with `restore`).

        The events topic too: Flink's Kafka source fails the job when its
        topic does not exist yet, and the job may start before the first event.
        """
        ensure_topics(self.settings, edge_topics(self.settings) + feature_topics(self.settings, self.cfg))
        with _as_feature_error():
            self.runner.start(restore=restore, timeout_s=timeout_s)

    def wait_ready(self, timeout_s: float = 180) -> Path:
        with _as_feature_error():
            return self.runner.wait_ready(timeout_s)

    def wait_finished(self, timeout_s: float) -> None:
        with _as_feature_error():
            self.runner.wait_finished(timeout_s)

    def running(self) -> bool:
        return self.runner.running()

    def stop(self, timeout_s: float = 60) -> bool:
        return self.runner.stop(timeout_s)

    def kill(self) -> None:
        self.runner.kill()


__all__ = ["PIPELINE_NAME", "SQL_DIR", "FeatureJob", "FeatureJobOptions", "feature_topics"]
