"""The DQ gate: dbt's tests from the build plus a Great Expectations suite on the built table.

Backs story 2's "data quality checks (row count bounds, null thresholds,
referential integrity)" and "<0.5% duplication": a build is published only if
every check below passes; a failing check names itself and its observed value.

dbt (run by `dbt build`, see dbt_project/README.md "Data quality checks")
covers keys, relationships, accepted values, null ratios of the lake, rank
integrity and an absolute row floor. The GX suite adds what dbt cannot see
from inside one build, and re-checks the table the API will read:

- `row_count_served_date`: ExpectTableRowCountToBeBetween with a row_condition
  on the served day; within +-50% of the previous published build
  (`row_count_tolerance`), never below `min_served_rows`;
- `null_ratio:<column>`: ExpectColumnValuesToNotBeNull(mostly = 1 - max),
  per column (`max_null_ratio`);
- `items_in_dimension`: ExpectColumnValuesToBeInSet(item_id, the item
  dimension's ids): 0 orphans (referential integrity);
- `duplicate_rate`: ExpectColumnProportionOfUniqueValuesToBeBetween on the
  key ranking_date|item_id: 1 - distinct / rows < 0.5% (`max_duplicate_rate`);
- `score_in_unit_interval`: ExpectColumnValuesToBeBetween(score, 0, 1).

GX 1.x has no DuckDB dialect (PITFALLS.md), so the table is validated as a
pandas DataFrame (`add_pandas` + `add_batch_definition_whole_dataframe`) in
an ephemeral context; at 10M events the table is items x dates rows (about
150k), a fraction of a second of validation.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

from rankings.publish.warehouse import BuiltTable
from rankings.settings import RankingsSettings
from starlab.dbt import DbtRun


@dataclass(frozen=True)
class CheckResult:
    """One check of the gate with what it saw."""

    source: str
    """`dbt` or `gx`."""
    name: str
    passed: bool
    observed: Any
    expected: str
    detail: str = ""

    def describe(self) -> str:
        text = f"{self.source} check {self.name} failed: observed {self.observed}, expected {self.expected}"
        return f"{text} ({self.detail})" if self.detail else text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "passed": self.passed,
            "observed": self.observed
            if isinstance(self.observed, int | float | str | None)
            else str(self.observed),
            "expected": self.expected,
            "detail": self.detail,
        }


@dataclass
class GateResult:
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def dbt_checks(run: DbtRun) -> list[CheckResult]:
    """The dbt part of the gate: one failed check per failed node, or one summary check."""
    failed = run.failures()
    if failed:
        return [
            CheckResult(
                source="dbt",
                name=n.name,
                passed=False,
                observed=f"{n.failures} failing rows" if n.failures else n.status,
                expected="0 failing rows",
                detail=(n.message or "").strip().splitlines()[0][:200] if n.message else "",
            )
            for n in failed
        ]
    if run.returncode != 0:
        return [
            CheckResult("dbt", "dbt_build", False, f"exit code {run.returncode}", "exit code 0", run.tail(3))
        ]
    tests = [n for n in run.nodes if n.kind in ("test", "unit_test")]
    return [CheckResult("dbt", "dbt_build", True, f"{len(tests)} data/unit tests passed", "all pass")]


def row_count_bounds(previous_rows: int | None, cfg: RankingsSettings) -> tuple[int, int | None]:
    """[min, max] rows for the served date: +-tolerance of the previous build, never below the floor."""
    if previous_rows is None:
        return cfg.min_served_rows, None  # first build: only the absolute floor
    low = max(cfg.min_served_rows, math.floor(previous_rows * (1 - cfg.row_count_tolerance)))
    high = math.ceil(previous_rows * (1 + cfg.row_count_tolerance))
    return low, max(high, low)


def _quiet_gx() -> None:
    # No usage statistics to a remote service, no progress bars in logs.
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def run_gx_suite(
    table: BuiltTable, previous_served_rows: int | None, cfg: RankingsSettings, *, name: str = "rankings"
) -> list[CheckResult]:
    """Validate the built table with a GX checkpoint; one `CheckResult` per expectation."""
    _quiet_gx()
    import great_expectations as gx  # heavy (~5 s): imported when a gate runs, not at import
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_def = (
        ctx.data_sources.add_pandas(f"{name}_warehouse")
        .add_dataframe_asset(f"{name}_{table.color.value}")
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_gate"))
    low, high = row_count_bounds(previous_served_rows, cfg)
    expectations: dict[str, tuple[Any, str]] = {
        "row_count_served_date": (
            gxe.ExpectTableRowCountToBeBetween(
                min_value={"$PARAMETER": "min_rows"},
                max_value={"$PARAMETER": "max_rows"},
                row_condition="is_served_date==True",
                condition_parser="pandas",
            ),
            f"{low}..{high if high is not None else 'inf'} rows"
            + (
                f" (previous build {previous_served_rows} +-{cfg.row_count_tolerance:.0%})"
                if previous_served_rows is not None
                else " (first build: absolute floor only)"
            ),
        ),
        "items_in_dimension": (
            gxe.ExpectColumnValuesToBeInSet(column="item_id", value_set=table.item_ids),
            "0 item_ids missing from the item dimension",
        ),
        "duplicate_rate": (
            gxe.ExpectColumnProportionOfUniqueValuesToBeBetween(
                column="_key", min_value=1.0 - cfg.max_duplicate_rate
            ),
            f"< {cfg.max_duplicate_rate:.2%} of rows repeating (ranking_date, item_id)",
        ),
        "score_in_unit_interval": (
            gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0.0, max_value=1.0),
            "every score in [0, 1]",
        ),
    }
    for column, max_ratio in sorted(cfg.max_null_ratio.items()):
        expectations[f"null_ratio:{column}"] = (
            gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=1.0 - max_ratio),
            f"null ratio <= {max_ratio:.2%}",
        )
    by_id: dict[str, str] = {}
    for check, (exp, _) in expectations.items():
        added = suite.add_expectation(exp)
        by_id[str(added.id)] = check
    validation = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=f"{name}_table", data=batch_def, suite=suite)
    )
    checkpoint = ctx.checkpoints.add(
        gx.Checkpoint(name=f"{name}_checkpoint", validation_definitions=[validation], result_format="SUMMARY")
    )
    # A huge value_set would be copied into every partial_unexpected list: SUMMARY keeps 20.
    result = checkpoint.run(
        batch_parameters={"dataframe": table.frame},
        expectation_parameters={"min_rows": low, "max_rows": high},
    )
    out: list[CheckResult] = []
    for run_result in result.run_results.values():
        for r in run_result.results:
            config = r.expectation_config
            check = by_id.get(str(config.id), config.type) if config is not None else "unknown"
            out.append(_to_check(check, expectations[check][1] if check in expectations else "", r))
    return sorted(out, key=lambda c: c.name)


def _to_check(name: str, expected: str, r: Any) -> CheckResult:
    res = dict(r.result or {})
    exc = r.exception_info or {}
    raised = exc.get("raised_exception") if isinstance(exc, dict) else False
    if raised:
        return CheckResult("gx", name, False, "error", expected, str(exc.get("exception_message"))[:200])
    if name.startswith("null_ratio:"):
        ratio = (res.get("unexpected_percent") or 0.0) / 100
        observed: Any = round(ratio, 6)
        detail = f"{res.get('unexpected_count', 0)} of {res.get('element_count', 0)} rows null"
    elif name == "duplicate_rate":
        unique = res.get("observed_value")
        observed = None if unique is None else round(1.0 - float(unique), 6)
        detail = "1 - distinct(ranking_date, item_id) / rows"
    elif name == "items_in_dimension":
        observed = f"{res.get('unexpected_count', 0)} orphan rows"
        sample = res.get("partial_unexpected_list") or []
        detail = f"e.g. {sorted(set(map(str, sample)))[:5]}" if sample else ""
    elif name == "row_count_served_date":
        observed = res.get("observed_value")
        detail = "rows of the ranking date the API will serve"
    else:
        observed = f"{res.get('unexpected_count', 0)} rows outside"
        detail = ""
    return CheckResult("gx", name, bool(r.success), observed, expected, detail if not r.success else "")


def run_gate(
    dbt_run: DbtRun | None,
    table: BuiltTable | None,
    previous_served_rows: int | None,
    cfg: RankingsSettings,
) -> GateResult:
    """dbt checks, then GX on the table when this build wrote it.

    The caller passes `table=None` when dbt skipped or failed the rankings
    model: the table then still holds an older build, and validating that
    would judge the wrong data.
    """
    checks = dbt_checks(dbt_run) if dbt_run is not None else []
    if table is not None:
        checks += run_gx_suite(table, previous_served_rows, cfg)
    return GateResult(checks)


__all__ = ["CheckResult", "GateResult", "dbt_checks", "row_count_bounds", "run_gate", "run_gx_suite"]
