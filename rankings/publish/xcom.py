"""The JSON each task of the `rankings_daily` DAG returns, i.e. the XCom the next task receives.

Airflow's TaskFlow serializes a task's return value, so what crosses a task
boundary stays a plain JSON dict; these `TypedDict`s give each of those dicts
its exact keys and value types, so a renamed field fails mypy rather than a
run. Each mirrors the value the task returns:

    check_inputs    -> InputsXCom     (built in the DAG)
    build, gx_checkpoint -> CandidateXCom (`Candidate.to_dict()`)
    flip            -> FlipXCom       (`asdict(FlipResult)`)
    warm_cache      -> WarmXCom       (`asdict(WarmReport)`)
    record_metrics  -> MetricsXCom    (`PublishMetrics.to_dict()`)

tests/unit/rankings/test_xcom.py fails if a key or a type drifts from the
dataclass it mirrors. Only `typing` is imported here: the DAG file names these
types without importing anything heavy.
"""

from __future__ import annotations

from typing import TypedDict


class InputsXCom(TypedDict):
    """`check_inputs`: the interval's date and what the inputs check saw."""

    as_of_date: str
    input_age_s: float
    """`InputsReport.input_age_s`."""
    parts: int
    """`InputsReport.stats.parts` (`LakeStats.parts`)."""


class CheckXCom(TypedDict):
    """`CheckResult.to_dict()`: `observed` is kept if a JSON scalar, else its `str`."""

    source: str
    name: str
    passed: bool
    observed: int | float | str | None
    expected: str
    detail: str


class CandidateXCom(TypedDict):
    """`Candidate.to_dict()`: every field of `Candidate`, `checks` as `CheckXCom`s."""

    build_id: str
    color: str
    as_of_date: str | None
    generation_seen: int
    previous_build_id: str | None
    previous_served_rows: int | None
    full_refresh: bool
    dbt_invocation_id: str | None
    dbt_wall_s: float
    dbt_model_s: dict[str, float]
    ranking_date: str | None
    rows: int | None
    served_rows: int | None
    max_ingested_at: str | None
    duplicate_rate: float | None
    checks: list[CheckXCom]


class FlipXCom(TypedDict):
    """`asdict(FlipResult)`."""

    live_color: str
    build_id: str
    already_live: bool
    previous_build_id: str | None
    view_synced: bool | None


class WarmXCom(TypedDict):
    """`asdict(WarmReport)`."""

    build_id: str
    replaced: str | None
    lists: int
    items: int
    warm_s: float
    served_at: str


class MetricsXCom(TypedDict):
    """`PublishMetrics.to_dict()` (`asdict`)."""

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


__all__ = ["CandidateXCom", "CheckXCom", "FlipXCom", "InputsXCom", "MetricsXCom", "WarmXCom"]
