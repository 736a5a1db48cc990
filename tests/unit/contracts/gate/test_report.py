"""The report for people, JSON and JUnit (contracts/gate/report.py), and the digest's Markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

from contracts.gate.digest import Digest, DigestEntry, render_markdown
from contracts.gate.git import Commit
from contracts.gate.model import (
    ChangeKind,
    ContractChange,
    ContractKind,
    Deprecation,
    GatePolicy,
    GateReport,
    Impact,
    Rule,
    Violation,
)
from contracts.gate.report import render_human, to_json, to_junit

IMPACT = Impact(models=("rankings v1",), exposures=("ranking_api",), consumers=("flink_engagement_job",))
BROKEN = ContractChange(
    ContractKind.DBT_MODEL,
    "stg_items",
    ChangeKind.MODIFIED,
    ("stg_items v1: removes column(s) category",),
    True,
    IMPACT,
)
SAFE = ContractChange(
    ContractKind.AVRO_SUBJECT, "engagement.events-value", ChangeKind.MODIFIED, ("v2 added",), False
)
VIOLATION = Violation(
    Rule.DBT_COLUMN_REMOVED,
    "stg_items",
    "model stg_items v1",
    "column category (varchar) removed from the enforced contract",
    "keep category in stg_items v1; ship the change as version 2",
    IMPACT,
    ("Breaking change to contract Error in model stg_items",),
)


def report(violations: tuple[Violation, ...]) -> GateReport:
    return GateReport(
        base_ref="origin/main",
        base_commit="a" * 40,
        head="working tree",
        change_date=date(2026, 12, 1),
        policy=GatePolicy(),
        subjects_checked=1,
        models_checked=8,
        changes=(BROKEN, SAFE),
        violations=violations,
        deprecations=(Deprecation("fct_sales_daily_engagement", "1", date(2026, 12, 22), "2"),),
    )


def test_human_output_has_rule_object_change_fix_and_impact() -> None:
    text = render_human(report((VIOLATION,)))
    assert "[DBT_COLUMN_REMOVED] model stg_items v1" in text
    assert "changed: column category (varchar) removed" in text
    assert "fix:     keep category in stg_items v1" in text
    assert "impact:  exposures: ranking_api; consumers: flink_engagement_job; models: rankings v1" in text
    assert "checker: Breaking change to contract" in text
    assert text.rstrip().endswith("FAILED: 1 violation(s) (DBT_COLUMN_REMOVED)")
    assert render_human(report(())).rstrip().endswith("PASSED: no contract violation")


def test_json_is_plain_data_with_the_verdict() -> None:
    data = json.loads(to_json(report((VIOLATION,))))
    assert data["passed"] is False and data["exit_code"] == 1
    assert data["violations"][0]["rule"] == "DBT_COLUMN_REMOVED"
    assert data["violations"][0]["impact"]["exposures"] == ["ranking_api"]
    assert data["change_date"] == "2026-12-01"
    assert data["deprecations"][0]["deprecation_date"] == "2026-12-22"


def test_junit_fails_per_violation_and_passes_clean_changes() -> None:
    root = ET.fromstring(to_junit(report((VIOLATION,))))
    cases = root.findall(".//testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    assert len(failed) == 1 and failed[0].find("failure").get("type") == "DBT_COLUMN_REMOVED"  # type: ignore[union-attr]
    assert {c.get("name") for c in cases if c.find("failure") is None} == {"engagement.events-value"}
    assert root.get("tests") == "2" and root.get("failures") == "1"


def test_digest_markdown_has_changes_statuses_commits_and_the_schedule() -> None:
    commit = Commit("b" * 40, datetime(2026, 11, 28, tzinfo=UTC), "Dana", "Drop category | oops")
    digest = Digest(
        since=datetime(2026, 11, 24, tzinfo=UTC),
        until=datetime(2026, 12, 1, tzinfo=UTC),
        base_commit="c" * 40,
        head_commit="d" * 40,
        entries=(DigestEntry(BROKEN, (VIOLATION,), (commit,), "needs attention: DBT_COLUMN_REMOVED"),),
        deprecations=(Deprecation("fct_sales_daily_engagement", "1", date(2026, 12, 22), "2"),),
        today=date(2026, 12, 1),
    )
    text = render_markdown(digest)
    assert text.startswith("# Contract change review: 2026-11-24 .. 2026-12-01")
    assert "| dbt_model `stg_items` | modified | needs attention: DBT_COLUMN_REMOVED |" in text
    assert "Drop category \\| oops (Dana, 2026-11-28)" in text  # a pipe cannot break the table
    assert "| `fct_sales_daily_engagement` | v1 | 2026-12-22 | 21 | v2 |" in text
