"""
### contract_gate (story 1: contract tests in Airflow before a deploy)

The story's "added contract tests in Airflow pre-deploy". One run per daily
data interval checks what is live against the contracts of the tree about
to be deployed, and only then lets the deploy go ahead:

`resolve_contracts` -> (`sample_topics`, `sample_warehouse`) -> `validate` -> `deploy` -> `publish`

- **resolve_contracts**: which contracts: `contracts/subjects.yaml` of the
  `contracts_root` param (default: this repository) and dbt's manifest of
  the deployed project (`manifest` param; without one, `dbt parse` makes it).
- **sample_topics**: the newest records of every value subject's topic
  (event topic, the CDC Avro topics), `isolation.level=read_committed`,
  bounded per partition (`STARLAB_CONTRACTS_SAMPLE_RECORDS`). Retried:
  Kafka or the registry may be restarting.
- **sample_warehouse**: each contracted model version's relation in DuckDB
  (columns, types) and a repeatable row sample. Retried: a build may hold
  the writer lock.
- **validate**: the sample decodes with the subject's latest registered
  schema and with the contract's latest version file, the registry holds no
  unreviewed version, each relation's columns and types equal its
  contract, and the declared `not_null` / `accepted_values` hold. A finding
  fails the run at once (no retry: live data does not get better by
  waiting), so `deploy` and `publish` are left `upstream_failed`.
- **deploy** / **publish**: record the approved deploy (the contracts'
  commit, the report) and its publication, per interval.

Idempotent per interval: every file lives under
`<data_dir>/contracts/gate/<YYYY-MM-DD>/` and a re-run replaces it.
Code: `contracts/validate/` (this file only wires it). The replayed quarter
(`starlab contracts replay`) runs this DAG before each deploy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from contracts.settings import ContractsSettings

DAG_ID = "contract_gate"
log = logging.getLogger(__name__)
# Env only (no .env file read): parsing a DAG file does no I/O.
_CFG = ContractsSettings(_env_file=None)  # type: ignore[call-arg]


def _interval() -> tuple[datetime, str]:
    ctx = get_current_context()
    start = ctx["data_interval_start"]
    if start is None:
        raise ValueError("contract_gate needs a data interval (a scheduled or dag.test run)")
    return start, str(ctx["run_id"])


def _terminal(exc: Exception) -> Exception:
    """A broken contract or bad input does not change on retry: fail the task now."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(str(exc))


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["story-1", "contracts", "pre-deploy", "data-quality"],
    params={
        "contracts_root": Param(None, type=["null", "string"], description="Tree with contracts/."),
        "manifest": Param(None, type=["null", "string"], description="dbt manifest.json to check."),
        "project_dir": Param(None, type=["null", "string"], description="dbt project to parse."),
    },
    default_args={
        "owner": "data-eng",
        "retries": max(1, _CFG.dag_retries),
        "retry_delay": timedelta(seconds=_CFG.dag_retry_delay_s),
        "execution_timeout": timedelta(minutes=30),
    },
)
def contract_gate() -> None:
    @task
    def resolve_contracts() -> str:
        from contracts.errors import BadContractInput
        from contracts.validate.steps import resolve_contracts as resolve
        from starlab.settings import Settings

        start, _ = _interval()
        params = get_current_context()["params"]
        try:
            path = resolve(
                Settings(),
                start.date(),
                contracts_root=params.get("contracts_root"),
                manifest=params.get("manifest"),
                project_dir=params.get("project_dir"),
            )
        except BadContractInput as exc:
            raise _terminal(exc) from exc
        return str(path)

    @task
    def sample_topics(resolved: str) -> str:
        from contracts.errors import BadContractInput
        from contracts.validate.steps import sample_topics_step
        from starlab.settings import Settings

        try:
            return str(sample_topics_step(Settings(), ContractsSettings(), Path(resolved)))
        except BadContractInput as exc:
            raise _terminal(exc) from exc

    @task
    def sample_warehouse(resolved: str) -> str:
        from contracts.errors import BadContractInput
        from contracts.validate.steps import sample_warehouse_step
        from starlab.settings import Settings

        try:
            return str(sample_warehouse_step(Settings(), ContractsSettings(), Path(resolved)))
        except BadContractInput as exc:
            raise _terminal(exc) from exc

    @task
    def validate(resolved: str, topics: str, relations: str) -> str:
        from contracts.errors import BadContractInput
        from contracts.validate.model import ContractCheckFailed
        from contracts.validate.steps import validate_step
        from starlab.settings import Settings

        start, _ = _interval()
        try:
            report = validate_step(Settings(), start.date(), Path(resolved), Path(topics), Path(relations))
        except ContractCheckFailed as exc:
            log.error(exc.report.describe())  # every finding in the task log, not only the first
            raise _terminal(exc) from exc
        except BadContractInput as exc:
            raise _terminal(exc) from exc
        log.info(report.describe())
        return report.describe()

    @task
    def deploy(validated: str) -> str:
        from contracts.validate.steps import deploy_step
        from starlab.settings import Settings

        start, run_id = _interval()
        return str(deploy_step(Settings(), start.date(), run_id))

    @task
    def publish(deployed: str) -> str:
        from contracts.validate.steps import publish_step
        from starlab.settings import Settings

        start, run_id = _interval()
        return str(publish_step(Settings(), start.date(), run_id))

    # At parse time each call returns an XComArg that Airflow resolves to the
    # task's return value (a path) at run time; `Any` tells the type checker so.
    resolved: Any = resolve_contracts()
    topics: Any = sample_topics(resolved)
    relations: Any = sample_warehouse(resolved)
    validated: Any = validate(resolved, topics, relations)
    deployed: Any = deploy(validated)
    publish(deployed)


contract_gate_dag = contract_gate()
