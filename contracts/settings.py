"""Story 1's own settings (`STARLAB_CONTRACTS_*`): the deprecation window, the pre-deploy check, the replay.

Endpoints and paths (Kafka, the registry, the app database, the warehouse,
Airflow's home) stay in the kernel's `starlab.settings.Settings`; this class
holds what the contracts story decides: the story's "2-week deprecation
policy", how much live data the `contract_gate` DAG samples before a deploy,
how the DAGs of the replayed quarter retry, and where the quarter's script is.

Precedence: environment > `.env` > defaults, like the kernel. The DAG files
read `dag_retries`/`dag_retry_delay_s` when Airflow parses them; nothing else
is read at import.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SCRIPT = PACKAGE_DIR / "replay" / "quarter.yaml"


class ContractsSettings(BaseSettings):
    """Configuration of the contracts story's checks, DAGs and the replayed quarter."""

    model_config = SettingsConfigDict(
        env_prefix="STARLAB_CONTRACTS_", env_file=".env", extra="ignore", frozen=True
    )

    # --- policy -------------------------------------------------------------
    min_deprecation_days: int = Field(default=14, ge=0)
    """Story 1: "2-week deprecation policy": a superseded model version keeps being
    built for at least this many days after the change (the gate's GatePolicy)."""

    # --- contract_gate DAG: what it samples before a deploy ------------------
    sample_records: int = Field(default=200, ge=1, le=100_000)
    """Newest records read per topic partition (read_committed). Bounded so the
    check costs the same on a topic of any age; 200 covers a day of the replay's
    app changes and is read in well under a second."""
    sample_timeout_s: float = Field(default=15.0, gt=0)
    """Longest a topic sample may take; a slower topic is a transient failure (retried)."""
    sample_rows: int = Field(default=1_000, ge=1, le=1_000_000)
    """Rows sampled per contracted relation for the value checks (not_null, accepted_values)."""

    # --- the DAGs' retries ---------------------------------------------------------
    dag_retries: int = Field(default=2, ge=0, le=10)
    """Retries of each task of `analytics_daily` and the sampling tasks of `contract_gate`."""
    dag_retry_delay_s: float = Field(default=300.0, ge=0)
    """Wait before a retry: 5 min in production. The replay sets a few seconds so a quarter of
    runs fits in minutes; the wait is still real and counted in each run's runtime."""

    # --- the replayed quarter ---------------------------------------------------
    replay_script: Path = DEFAULT_SCRIPT
    """The declarative quarter of upstream changes `starlab contracts replay` plays."""
    replay_retry_delay_s: float = Field(default=3.0, ge=0)
    """`dag_retry_delay_s` inside the replay (see above)."""
    replay_parallel_arms: bool = True
    """Play the two arms at once, each in its own process with its own Airflow metadata DB
    (contracts/replay/run.py). Off: one process plays them one after the other."""
    replay_events_per_day: int = Field(default=150, ge=10, le=100_000)
    """Engagement events the producer sends per simulated day (real records through Kafka)."""
    replay_timeout_s: float = Field(default=1_800.0, gt=0)
    """Bound on one replay (both arms); a hung run fails instead of blocking a demo forever."""
    analytics_select: str = "+fct_sales_daily_engagement +stg_users"
    """dbt selection of `analytics_daily`'s build: the Sales report's lineage and the
    user dimension (with their tests; tests of other models are left out)."""
    analytics_exclude: str = "source:lake.events source:lake.events_files"
    """Left out of that build: the raw event lake's tests (story 2's data quality gate) and
    those of its file list. Events reach the lake decoded with the stream job's pinned Avro
    schema, whose types and enums already hold what those tests check; 11 of the build's 51
    nodes, about a fifth of its time."""


__all__ = ["DEFAULT_SCRIPT", "ContractsSettings"]
