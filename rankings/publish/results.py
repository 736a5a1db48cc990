"""What each publish step returns: typed results, so a renamed field fails mypy, not a report.

Backs the same claims as `rankings.publish.publisher` (freshness at
publish, duplicate rate, rollback time): the bench and the evidence read
these fields, and `to_dict()` is only for the JSON written beside the
report and for Airflow's XCom.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import TypeAdapter

from rankings.publish.gate import CheckResult
from rankings.publish.state import validate_json_data
from rankings.publish.warehouse import LakeStats


@dataclass(frozen=True)
class InputsReport:
    stats: LakeStats
    input_age_s: float
    """now - newest ingest in the lake (story 2: must stay under 2 h)."""


@dataclass
class Candidate:
    """A build on its way to publication; plain JSON (`to_dict`) so Airflow can pass it between tasks."""

    build_id: str
    color: str
    as_of_date: str | None
    generation_seen: int
    """The flag's generation when the build started: the flip is a compare-and-set on it."""
    previous_build_id: str | None
    previous_served_rows: int | None
    full_refresh: bool
    dbt_invocation_id: str | None = None
    dbt_wall_s: float = 0.0
    dbt_model_s: dict[str, float] = field(default_factory=dict)
    ranking_date: str | None = None
    rows: int | None = None
    served_rows: int | None = None
    max_ingested_at: str | None = None
    duplicate_rate: float | None = None
    checks: list[CheckResult] = field(default_factory=list)
    """Every gate check so far: dbt's after `build`, dbt's and GX's after `gate`."""

    @property
    def gate_passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["checks"] = [c.to_dict() for c in self.checks]
        return d

    @classmethod
    def from_dict(cls, d: object, source: str = "candidate") -> Candidate:
        """Rebuild a candidate from `to_dict` output (an XCom), or `BadRecord` naming the field.

        The fields without a default are required (a renamed `generation_seen` is
        a one-line error naming it, not a TypeError); the others may be absent,
        and unknown keys are ignored. "3" is no int and 1 no bool.
        """
        return validate_json_data(_CANDIDATE, d, source)


_CANDIDATE = TypeAdapter(Candidate)


@dataclass(frozen=True)
class FlipResult:
    live_color: str
    build_id: str
    already_live: bool = False
    """A retried task found its build already live: nothing was changed."""
    previous_build_id: str | None = None
    view_synced: bool | None = None
    """The dashboards' view `marts.rankings_live` follows the flag (False: retried on the next change)."""


@dataclass(frozen=True)
class WarmReport:
    build_id: str
    replaced: str | None
    """The build the serving pointer named before (None on the first publish)."""
    lists: int
    items: int
    warm_s: float
    served_at: str


@dataclass(frozen=True)
class PublishMetrics:
    """One line of `metrics.jsonl`: the published build's freshness and quality."""

    build_id: str
    color: str
    ranking_date: str | None
    as_of_date: str | None
    served_at: str
    max_ingested_at: str | None
    freshness_at_publish_s: float | None
    duplicate_rate: float | None
    rows: int | None
    served_rows: int | None
    full_refresh: bool
    dbt_wall_s: float
    dbt_model_s: dict[str, float]
    top20_overlap_with_previous: float | None
    """Share of the overall top 20 shared with the previous build: the rank-churn signal."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CycleResult:
    """check_inputs -> build -> gate -> flip -> warm -> record, each step's result and time."""

    inputs: InputsReport
    candidate: Candidate
    flip: FlipResult
    warm: WarmReport
    metrics: PublishMetrics
    timings_s: dict[str, float]


@dataclass(frozen=True)
class RollbackResult:
    live_color: str
    build_id: str
    rolled_back_from: str | None
    pointer_moved_ms: float
    """From the start of the rollback until Redis served the old build: what users wait."""
    view_synced: bool


@dataclass(frozen=True)
class ColorStatus:
    build_id: str
    status: str
    rows: int | None
    served_rows: int | None
    ranking_date: str | None
    reason: str | None


@dataclass(frozen=True)
class PublisherStatus:
    live_color: str | None
    live_build_id: str | None
    served_build_id: str | None
    previous_build_id: str | None
    rollback_available: bool
    generation: int
    dirty: list[str]
    lease_build_id: str | None
    colors: dict[str, ColorStatus]
    view_color: str | None
    redis_pointer: str | None
    """The build Redis serves; None if nothing is served or Redis is down (see `redis_error`)."""
    redis_error: str | None = None
    redis_live_ttl_s: int | None = None
    freshness_now_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


__all__ = [
    "Candidate",
    "ColorStatus",
    "CycleResult",
    "FlipResult",
    "InputsReport",
    "LakeStats",
    "PublishMetrics",
    "PublisherStatus",
    "RollbackResult",
    "WarmReport",
]
