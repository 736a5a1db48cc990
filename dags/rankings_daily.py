"""
### rankings_daily (story 2: a daily ranking table behind a DQ gate, published blue/green)

One run per daily data interval `[D 00:00, D+1 00:00)` UTC ranks items up to
`D` (dbt var `as_of_date`) into the idle color and publishes it only if every
check passes:

`check_inputs` -> `build` -> `gx_checkpoint` -> `flip` -> `warm_cache` -> `record_metrics`

- **check_inputs**: the lake has events for D and an item dimension; its
  newest ingest is < 2 h old (enforced for the current interval only).
  Retried: data may still be landing.
- **build**: `dbt build --select +rankings` into the idle color
  (`marts.rankings_blue` / `marts.rankings_green`); dbt's tests are the first
  half of the DQ gate. A failed test fails the run at once (no retry).
- **gx_checkpoint**: Great Expectations on the built table: served-date rows
  within +-50% of the published build, null ratios per column, every item in
  the item dimension, duplicate rate < 0.5%. Fails the run at once.
- **flip**: compare-and-set the live flag, re-point `marts.rankings_live`.
  Skipped if a newer build is live (a backfill of an old interval).
- **warm_cache**: write the version's Redis keys, then move the serving
  pointer atomically. Retried (idempotent).
- **record_metrics**: freshness at publish, duplicate rate, rows ->
  `<data_dir>/rankings/metrics.jsonl`.

A run that fails anywhere before `flip` changes nothing anyone reads: the
previous build keeps serving. Idempotent per interval: the same `D` gives the
same rows (dbt is keyed on `as_of_date`, never on "now"), retries of a task
re-use its build (the lease is keyed on the run), `flip` and `warm_cache` are
no-ops for a build already live.

Code: `rankings/publish/publisher.py` (the cycle), `rankings/publish/gate.py`
(the checks), `rankings/serving/cache.py` (keys and pointer). Manual equivalent:
`starlab rankings run --as-of D`. Docs: `docs/rankings.md`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

if TYPE_CHECKING:
    from rankings.publish.publisher import Candidate, Publisher
    from rankings.publish.xcom import CandidateXCom, FlipXCom, InputsXCom, MetricsXCom, WarmXCom

DAG_ID = "rankings_daily"


def _publisher() -> Publisher:
    # Heavy imports (duckdb, redis, pandas; GX inside the gate) only when a task runs.
    from rankings.publish.publisher import Publisher
    from rankings.settings import RankingsSettings
    from starlab.settings import Settings

    ctx = get_current_context()
    # The lease is keyed on the run, not on the process: tasks of one run (and
    # their retries) run in different processes in a real deployment.
    owner = f"airflow:{DAG_ID}/{ctx['run_id']}"
    return Publisher(Settings(), RankingsSettings(), owner=owner)


def _interval_date() -> str:
    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError("rankings_daily needs a data interval (a scheduled or dag.test run)")
    return start.date().isoformat()


def _terminal(exc: Exception) -> Exception:
    """A refused build does not get better on retry: fail the task without retrying."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(str(exc))


def _candidate(xcom: CandidateXCom) -> Candidate:
    """The upstream task's candidate; one that does not read back fails now (a retry reads the same XCom)."""
    from rankings.errors import BadRecord
    from rankings.publish.publisher import Candidate

    try:
        return Candidate.from_dict(xcom, source=f"candidate XCom of {get_current_context()['run_id']}")
    except BadRecord as exc:
        raise _terminal(exc) from exc


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["story-2", "rankings", "dbt", "great-expectations", "blue-green"],
    default_args={
        "owner": "data-eng",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=1),
    },
)
def rankings_daily() -> None:
    # Each task pushes its dict as `return_value` and, with multiple_outputs,
    # each key as its own XCom too. Airflow inferred that from the former
    # `dict[str, Any]` return annotations (airflow/sdk/bases/decorator.py,
    # `_infer_multiple_outputs`); the TypedDicts below are imported for type
    # checking only, so inference would now fail on the name and turn it off:
    # it is pinned here to keep what each run stores unchanged.
    @task(multiple_outputs=True)
    def check_inputs() -> InputsXCom:
        from datetime import date

        as_of = _interval_date()
        report = _publisher().check_inputs(date.fromisoformat(as_of))
        return {"as_of_date": as_of, "input_age_s": report.input_age_s, "parts": report.stats.parts}

    @task(multiple_outputs=True)
    def build(inputs: InputsXCom) -> CandidateXCom:
        from datetime import date

        from rankings.errors import DQGateError

        try:
            cand = _publisher().build(date.fromisoformat(inputs["as_of_date"]))
        except DQGateError as exc:
            raise _terminal(exc) from exc
        return cast("CandidateXCom", cand.to_dict())

    @task(multiple_outputs=True)
    def gx_checkpoint(candidate: CandidateXCom) -> CandidateXCom:
        from rankings.errors import DQGateError

        try:
            cand = _publisher().gate(_candidate(candidate))
        except DQGateError as exc:
            raise _terminal(exc) from exc
        return cast("CandidateXCom", cand.to_dict())

    @task(multiple_outputs=True)
    def flip(candidate: CandidateXCom) -> FlipXCom:
        from airflow.sdk.exceptions import AirflowSkipException

        from rankings.errors import FlipRefused, StaleCandidate

        try:
            return cast("FlipXCom", asdict(_publisher().flip(_candidate(candidate))))
        except StaleCandidate as exc:  # an older interval re-run: nothing to publish, not a failure
            raise AirflowSkipException(str(exc)) from exc
        except FlipRefused as exc:
            raise _terminal(exc) from exc

    @task(multiple_outputs=True)
    def warm_cache(candidate: CandidateXCom, flipped: FlipXCom) -> WarmXCom:
        return cast("WarmXCom", asdict(_publisher().warm(_candidate(candidate))))

    @task(multiple_outputs=True)
    def record_metrics(candidate: CandidateXCom, served: WarmXCom) -> MetricsXCom:
        return cast("MetricsXCom", _publisher().record(_candidate(candidate)).to_dict())

    # At parse time each call returns an XComArg that Airflow resolves to the
    # task's JSON at run time; `Any` tells the type checker so.
    inputs: Any = check_inputs()
    built: Any = build(inputs)
    gated: Any = gx_checkpoint(built)
    flipped: Any = flip(gated)
    served: Any = warm_cache(gated, flipped)
    record_metrics(gated, served)


rankings_daily_dag = rankings_daily()
