"""
### analytics_daily (story 1: the Sales daily report that upstream schema changes broke)

The story's situation: "analytics pipelines broke twice in a month after
upstream schema changes from the app team, causing missed daily reports for
Sales". One run per daily data interval `[D, D+1)` builds and publishes the
Sales report:

`stream_consumer` -> `build` -> `report`

- **stream_consumer**: story 3's Flink job's read of the events: the newest
  records decoded with the job's pinned reader schema (version 1 of the event
  contract); a record it cannot read fails the task (the job would stop on
  it). With `land_events` (the replay, where no Flink job runs) it also
  lands the interval's events in the lake as the job's sink would.
- **build**: `dbt build` of the Sales report's lineage and the user dimension
  with their tests (`STARLAB_CONTRACTS_ANALYTICS_SELECT`, without the raw
  event lake's tests) from the deployed dbt project (`project_dir` param,
  default this repository's).
- **report**: the report's columns for date D from
  `marts.fct_sales_daily_engagement` (what the Sales dashboard reads), to
  `<data_dir>/contracts/analytics/<D>/sales_report.json`.

Every task retries every failure (`STARLAB_CONTRACTS_DAG_RETRIES`, delay
`STARLAB_CONTRACTS_DAG_RETRY_DELAY_S`): this DAG cannot tell a schema break
from a transient error, which is why each breakage costs retries, a longer
run and a page. Idempotent per interval (fixed offsets per interval, dbt by
date, the report file replaced). Code: `contracts/replay/pipeline.py`; the
replayed quarter (`starlab contracts replay`) runs it every replayed day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from contracts.settings import ContractsSettings

DAG_ID = "analytics_daily"
# Env only (no .env file read): parsing a DAG file does no I/O.
_CFG = ContractsSettings(_env_file=None)  # type: ignore[call-arg]


def _interval_date() -> Any:
    start = get_current_context()["data_interval_start"]
    if start is None:
        raise ValueError("analytics_daily needs a data interval (a scheduled or dag.test run)")
    return start.date()


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["story-1", "contracts", "sales-report", "dbt"],
    params={
        "project_dir": Param(None, type=["null", "string"], description="Deployed dbt project."),
        "land_events": Param(False, type="boolean", description="Land events (no Flink job running)."),
    },
    default_args={
        "owner": "analytics",
        "retries": max(1, _CFG.dag_retries),
        "retry_delay": timedelta(seconds=_CFG.dag_retry_delay_s),
        "execution_timeout": timedelta(minutes=30),
    },
)
def analytics_daily() -> None:
    @task
    def stream_consumer() -> str:
        from contracts.replay.pipeline import check_events, land_events
        from starlab.settings import Settings

        if get_current_context()["params"].get("land_events"):
            return f"{land_events(Settings(), _interval_date()).events} events landed"
        return check_events(Settings(), ContractsSettings(), _interval_date()).detail

    @task
    def build(landed: str) -> str:
        from pathlib import Path

        from contracts.replay.pipeline import build as dbt_build
        from starlab.dbt import PROJECT_DIR
        from starlab.settings import Settings

        project = get_current_context()["params"].get("project_dir")
        outcome = dbt_build(Settings(), ContractsSettings(), _interval_date(), Path(project or PROJECT_DIR))
        return outcome.detail

    @task
    def report(built: str) -> str:
        from contracts.replay.pipeline import report as sales_report
        from starlab.settings import Settings

        return sales_report(Settings(), _interval_date()).detail

    # At parse time each call returns an XComArg resolved at run time; `Any` tells the type checker so.
    landed: Any = stream_consumer()
    built: Any = build(landed)
    report(built)


analytics_daily_dag = analytics_daily()
