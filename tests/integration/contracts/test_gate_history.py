"""The contract gate on a synthetic git history: safe commits pass, a multi-breakage commit fails in full.

Story 1's "contract checks in CI" and its follow-up "example rule and
failure path", shown on real git and real dbt (dbt-core's own
`state:modified` contract check, run in a subprocess: hence `integration`;
no Kafka, no warehouse data). The history, built in a temp dir from this
repo's dbt_project/, contracts/ and the engagement event schema:

    base --- safe_dbt --- safe_enum --- versioned          (main)
                               \\
                                breaking                   (a pull request)

- base: the real project, plus one contracted model from before the
  versioning policy (unversioned), to show that its breaking change is an
  error too;
- safe_dbt: a nullable column on dim_items, a new contracted model
  (dim_users), Avro v2 adding an optional enum field with an enum default;
- safe_enum: Avro v3 adding a symbol to that enum (readers on v2 fall back
  to the default);
- breaking: one commit with a dropped column, a changed data_type, a renamed
  column, a relation that moved, a new version without deprecation, a
  deprecation 7 days out, a broken unversioned model, and an Avro version
  that removes a field, adds a required one and renames another; no change
  request in the pull-request body;
- versioned: the allowed path: a breaking change as v2 with v1 kept and
  deprecated 21 days out, with a filled change request.
Each comparison is one gate run; together about 5 dbt child processes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from contracts.gate import GateInputs, GateReport, Rule, run_gate
from contracts.gate.command import register
from contracts.gate.declarations import load_subjects
from contracts.gate.digest import Digest, build_digest, render_markdown

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TODAY = datetime.now(UTC).date()
# Version 1 of the event subject, wherever contracts/subjects.yaml says it lives.
AVSC = load_subjects(ROOT).get("engagement.events-value").versions[0].path  # type: ignore[union-attr]
FILLED_REQUEST = """
## Owner
Analytics team (Dana, #analytics)
## Rationale
Sales asked for fewer columns; likes and shares are reported elsewhere.
## Rollout plan
Ship v2 next to v1, move the Sales report to v2, drop v1 on its deprecation date.
## Impact
exposures: sales_daily_report
## Mitigation
v1 keeps being built until its deprecation_date; the report can switch back.
## Timeline
Merge today, report moved within a week, v1 removed after its deprecation_date.
"""


class Repo:
    """A scratch git repository with helpers to edit files and commit."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args], capture_output=True, text=True, check=True, timeout=60
        )
        return proc.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def edit(self, rel: str, old: str, new: str) -> None:
        text = (self.path / rel).read_text()
        assert old in text, f"{rel} no longer contains {old!r}: update the test's anchor"
        (self.path / rel).write_text(text.replace(old, new, 1))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def schema(self, rel: str) -> dict[str, Any]:
        return dict(json.loads((self.path / rel).read_text()))

    def add_schema_version(self, version: int, schema: dict[str, Any]) -> None:
        rel = f"contracts/schemas/engagement.events-value/v{version}.avsc"
        self.write(rel, json.dumps(schema, indent=2) + "\n")
        previous = f"      - version: {version - 1}\n"
        text = (self.path / "contracts/subjects.yaml").read_text()
        start = text.index(previous)
        end = text.index("\n", text.index("path:", start)) + 1
        self.write(
            "contracts/subjects.yaml",
            text[:end] + f"      - version: {version}\n        path: {rel}\n" + text[end:],
        )


def copy_project(dest: Path) -> Repo:
    repo = Repo(dest)
    shutil.copytree(
        ROOT / "dbt_project",
        dest / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"),
    )
    versions = [v.path for s in load_subjects(ROOT).subjects for v in s.versions]
    for rel in ("contracts/subjects.yaml", "contracts/consumers.yaml", *versions):
        repo.write(rel, (ROOT / rel).read_text())
    template = ".github/PULL_REQUEST_TEMPLATE/contract-change.md"
    repo.write(template, (ROOT / template).read_text())
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.email", "gate-test@example.com")
    repo.git("config", "user.name", "Gate Test")
    return repo


# --------------------------------------------------------------------------- the commits


def base_commit(repo: Repo) -> str:
    # A contracted model from before the versioning policy: unversioned.
    repo.write(
        "dbt_project/models/marts/core/legacy_item_categories.sql",
        "select item_id, category from {{ ref('stg_items') }}\n",
    )
    repo.write(
        "dbt_project/models/marts/core/_legacy.yml",
        "models:\n"
        "  - name: legacy_item_categories\n"
        "    config:\n      contract:\n        enforced: true\n"
        "    columns:\n"
        "      - {name: item_id, data_type: varchar}\n"
        "      - {name: category, data_type: varchar}\n",
    )
    return repo.commit("base: the project as it is")


def safe_dbt_commit(repo: Repo) -> str:
    repo.edit(
        "dbt_project/models/marts/core/dim_items.sql",
        "        created_at\n",
        "        created_at,\n        cast(null as varchar) as brand\n",
    )
    repo.edit(
        "dbt_project/models/marts/core/_core.yml",
        "      - name: created_at\n        data_type: timestamp\n",
        "      - name: created_at\n        data_type: timestamp\n"
        "      - name: brand\n        data_type: varchar\n        description: Not known yet (null).\n",
    )
    repo.write(
        "dbt_project/models/marts/core/dim_users.sql",
        "select user_id, country, signed_up_at from {{ ref('stg_users') }}\n",
    )
    repo.write(
        "dbt_project/models/marts/core/_dim_users.yml",
        "models:\n"
        "  - name: dim_users\n"
        "    config:\n      contract:\n        enforced: true\n"
        "    latest_version: 1\n"
        "    versions:\n      - v: 1\n        config:\n          alias: dim_users\n"
        "    columns:\n"
        "      - {name: user_id, data_type: varchar, data_tests: [unique, not_null]}\n"
        "      - {name: country, data_type: varchar}\n"
        "      - {name: signed_up_at, data_type: timestamp}\n",
    )
    v2 = repo.schema(AVSC)
    referrer = {
        "type": "enum",
        "name": "Referrer",
        "symbols": ["direct", "search", "social", "unknown"],
        "default": "unknown",
    }
    v2["fields"].append({"name": "referrer", "type": ["null", referrer], "default": None})
    repo.add_schema_version(2, v2)
    return repo.commit("Add brand to dim_items, a dim_users model and an optional referrer to events")


def safe_enum_commit(repo: Repo) -> str:
    v3 = repo.schema("contracts/schemas/engagement.events-value/v2.avsc")
    v3["fields"][-1]["type"][1]["symbols"].append("email")
    repo.add_schema_version(3, v3)
    return repo.commit("Referrer: add email (the enum's default covers readers on v2)")


def new_version(
    repo: Repo, model: str, folder: str, yml: str, drop: list[str], deprecation: date | None
) -> None:
    """Add v2 of `model` without the `drop` columns; v1 keeps its file and relation."""
    sql = (repo.path / f"dbt_project/models/{folder}/{model}.sql").read_text()
    for column in drop:
        sql = "\n".join(line for line in sql.splitlines() if f"as {column}" not in line) + "\n"
    repo.write(f"dbt_project/models/{folder}/{model}_v2.sql", sql)
    deprecation_line = f"        deprecation_date: {deprecation.isoformat()}\n" if deprecation else ""
    repo.edit(
        f"dbt_project/models/{folder}/{yml}",
        f"    latest_version: 1\n    versions:\n      - v: 1\n        config:\n          alias: {model}\n",
        "    latest_version: 2\n    versions:\n"
        f"      - v: 1\n        defined_in: {model}\n{deprecation_line}"
        f"        config:\n          alias: {model}\n"
        f"      - v: 2\n        columns:\n          - include: all\n"
        f"            exclude: {json.dumps(drop)}\n",
    )


def breaking_commit(repo: Repo) -> str:
    # drop a column
    repo.edit(
        "dbt_project/models/staging/_staging.yml",
        "      - name: home_platform\n        data_type: varchar\n",
        "",
    )
    repo.edit(
        "dbt_project/models/staging/stg_users.sql",
        ",\n        cast(home_platform as varchar) as home_platform",
        "",
    )
    # change a data_type
    repo.edit(
        "dbt_project/models/marts/core/_core.yml",
        "      - name: is_categorized\n        data_type: boolean",
        "      - name: is_categorized\n        data_type: varchar",
    )
    # rename a column
    repo.edit(
        "dbt_project/models/marts/streaming/_streaming.yml",
        "      - name: users\n",
        "      - name: distinct_users\n",
    )
    repo.edit("dbt_project/models/marts/streaming/fct_item_metrics_1m.sql", "as users,", "as distinct_users,")
    # the relation moves: stg_items v1 would build staging.stg_items_v1
    repo.edit(
        "dbt_project/models/staging/_staging.yml",
        "      - v: 1\n        config:\n          alias: stg_items\n",
        "      - v: 1\n",
    )
    # a new version without deprecation_date, and one only 7 days out
    new_version(repo, "fct_sales_daily_engagement", "marts/sales", "_sales.yml", ["likes", "shares"], None)
    new_version(
        repo,
        "int_item_engagement_daily",
        "intermediate",
        "_intermediate.yml",
        ["late_events"],
        TODAY + timedelta(days=7),
    )
    # the unversioned legacy model loses a column
    repo.edit(
        "dbt_project/models/marts/core/_legacy.yml", "      - {name: category, data_type: varchar}\n", ""
    )
    # Avro v4: session_id removed, app_build required, platform renamed
    v4 = repo.schema("contracts/schemas/engagement.events-value/v3.avsc")
    v4["fields"] = [f for f in v4["fields"] if f["name"] != "session_id"]
    for f in v4["fields"]:
        if f["name"] == "platform":
            f["name"] = "client_platform"
    v4["fields"].append({"name": "app_build", "type": "int"})
    repo.add_schema_version(4, v4)
    return repo.commit("Big cleanup")


def versioned_commit(repo: Repo) -> str:
    new_version(
        repo,
        "fct_sales_daily_engagement",
        "marts/sales",
        "_sales.yml",
        ["likes", "shares"],
        TODAY + timedelta(days=21),
    )
    return repo.commit("Sales report v2 without likes and shares; v1 deprecated in 3 weeks")


# --------------------------------------------------------------------------- the runs


@dataclass
class History:
    repo: Repo
    commits: dict[str, str]
    safe_dbt: GateReport
    safe_enum: GateReport
    versioned: GateReport
    breaking_exit: int
    breaking_json: dict[str, Any]
    breaking_output: str
    junit: ET.Element
    digest: Digest


def cli(args: list[str]) -> tuple[int, str]:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _group() -> None:  # a group, so `check` is a sub-command as under `starlab contracts`
        """contracts"""

    result = CliRunner().invoke(app, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    root = tmp_path_factory.mktemp("gate_history")
    work = root / "work"  # the gate's artifacts (trees, manifests, dbt logs), kept for debugging
    repo = copy_project(root / "repo")
    commits = {"base": base_commit(repo)}
    commits["safe_dbt"] = safe_dbt_commit(repo)
    commits["safe_enum"] = safe_enum_commit(repo)
    repo.git("checkout", "-q", "-b", "breaking")
    commits["breaking"] = breaking_commit(repo)
    repo.git("checkout", "-q", "main")
    commits["versioned"] = versioned_commit(repo)

    def gate(base: str, head: str, body: str | None = None) -> GateReport:
        inputs = GateInputs(repo.path, commits[base], head_ref=commits[head], change_request=body)
        return run_gate(inputs, clock=lambda: TODAY, work_dir=work)

    safe_dbt = gate("base", "safe_dbt")
    safe_enum = gate("safe_dbt", "safe_enum")
    versioned = gate("safe_enum", "versioned", FILLED_REQUEST)

    # The pull request as CI runs it: the branch checked out, the CLI, JSON and JUnit.
    repo.git("checkout", "-q", "breaking")
    body = root / "pr-body.md"
    body.write_text("Quick cleanup, see the code.\n")
    junit = root / "gate.xml"
    code, output = cli(
        [
            "check",
            "--base", commits["safe_enum"],
            "--repo", str(repo.path),
            "--format", "json",
            "--change-request", str(body),
            "--junit-xml", str(junit),
            "--change-date", TODAY.isoformat(),
        ],
    )  # fmt: skip
    repo.git("checkout", "-q", "main")
    digest = build_digest(repo.path, "7d", now=datetime.now(UTC), work_dir=work)
    yield History(
        repo,
        commits,
        safe_dbt,
        safe_enum,
        versioned,
        code,
        json.loads(output),
        output,
        ET.parse(junit).getroot(),
        digest,
    )


# --------------------------------------------------------------------------- safe commits


def test_safe_dbt_and_avro_additions_pass(history: History) -> None:
    report = history.safe_dbt
    assert report.violations == (), [v.rule for v in report.violations]
    changes = {c.name: c for c in report.changes}
    assert {"dim_items", "dim_users", "engagement.events-value"} <= set(changes)
    assert not any(c.breaking for c in report.changes)
    assert any("adds column(s) brand" in d for d in changes["dim_items"].details)
    assert changes["dim_users"].change.value == "added"
    assert any("v2 adds field(s) referrer" in d for d in changes["engagement.events-value"].details)


def test_an_enum_symbol_with_a_default_passes(history: History) -> None:
    report = history.safe_enum
    assert report.violations == ()
    (change,) = report.changes
    assert change.name == "engagement.events-value" and not change.breaking
    assert "v3 added" in change.details[0]
    # only the subject changed: dbt's lineage is still read for its impact
    assert "sales_daily_report" in change.impact.exposures
    assert "flink_engagement_job" in change.impact.consumers


# --------------------------------------------------------------------------- the multi-breakage commit

EXPECTED = {
    ("AVRO_PINNED_READER", "subject engagement.events-value v4"),
    ("AVRO_INCOMPATIBLE", "subject engagement.events-value v4"),
    ("AVRO_FIELD_RENAMED", "subject engagement.events-value v4"),
    ("DBT_COLUMN_REMOVED", "model stg_users v1"),
    ("DBT_COLUMN_TYPE_CHANGED", "model dim_items v1"),
    ("DBT_COLUMN_RENAMED", "model fct_item_metrics_1m v1"),
    ("DBT_RELATION_CHANGED", "model stg_items v1"),
    ("DBT_VERSION_NOT_DEPRECATED", "model fct_sales_daily_engagement v1"),
    ("DBT_DEPRECATION_TOO_SOON", "model int_item_engagement_daily v1"),
    ("DBT_COLUMN_REMOVED", "model legacy_item_categories"),
    ("DBT_CONTRACT_UNVERSIONED", "model legacy_item_categories"),
    ("CHANGE_REQUEST_MISSING", "pull-request body"),
}


def test_every_violation_of_the_breaking_commit_in_one_run(history: History) -> None:
    assert history.breaking_exit == 1, history.breaking_output[-2000:]
    found = {(v["rule"], v["object"]) for v in history.breaking_json["violations"]}
    assert found == EXPECTED
    assert history.breaking_json["passed"] is False
    for v in history.breaking_json["violations"]:
        assert v["fix"] and "\n" not in v["fix"], v
        assert v["changed"] and "\n" not in v["changed"], v


def test_the_breakages_are_named_precisely(history: History) -> None:
    by_rule = {v["rule"] + " " + v["object"]: v for v in history.breaking_json["violations"]}
    assert "home_platform" in by_rule["DBT_COLUMN_REMOVED model stg_users v1"]["changed"]
    assert "boolean -> varchar" in by_rule["DBT_COLUMN_TYPE_CHANGED model dim_items v1"]["changed"]
    rename = by_rule["DBT_COLUMN_RENAMED model fct_item_metrics_1m v1"]
    assert "users looks renamed to distinct_users" in rename["changed"]
    assert "stream_reconciliation" in rename["impact"]["exposures"]
    assert "Breaking change to contract" in rename["evidence"][0]  # dbt's own verdict
    too_soon = by_rule["DBT_DEPRECATION_TOO_SOON model int_item_engagement_daily v1"]
    assert (TODAY + timedelta(days=14)).isoformat() in too_soon["fix"]
    moved = by_rule["DBT_RELATION_CHANGED model stg_items v1"]
    assert "stg_items_v1" in moved["changed"] and "alias: stg_items" in moved["fix"]
    avro_rename = by_rule["AVRO_FIELD_RENAMED subject engagement.events-value v4"]
    assert "'platform' looks renamed to 'client_platform'" in avro_rename["changed"]
    assert "aliases" in avro_rename["fix"]
    pinned = by_rule["AVRO_PINNED_READER subject engagement.events-value v4"]
    assert "session_id" in pinned["changed"] and "flink_engagement_job" in pinned["changed"]
    assert "sales_daily_report" in pinned["impact"]["exposures"]
    assert "app_build" in by_rule["AVRO_INCOMPATIBLE subject engagement.events-value v4"]["changed"]


def test_junit_has_one_failure_per_violation(history: History) -> None:
    failures = history.junit.findall(".//testcase/failure")
    assert len(failures) == len(EXPECTED)
    assert {f.get("type") for f in failures} == {rule for rule, _ in EXPECTED}
    assert history.junit.get("failures") == str(len(EXPECTED))


# --------------------------------------------------------------------------- the allowed path


def test_a_breaking_change_as_a_new_version_with_notice_passes(history: History) -> None:
    report = history.versioned
    assert report.violations == (), [(v.rule, v.changed) for v in report.violations]
    (change,) = report.changes
    assert change.name == "fct_sales_daily_engagement" and change.breaking
    assert any("removes column(s) likes, shares" in d for d in change.details)
    assert change.impact.exposures == ("sales_daily_report",)
    deprecated = [d for d in report.deprecations if d.model == "fct_sales_daily_engagement"]
    assert [(d.version, d.deprecation_date, d.superseded_by) for d in deprecated] == [
        ("1", TODAY + timedelta(days=21), "2")
    ]


def test_the_rule_ids_are_stable(history: History) -> None:
    # JSON carries the enum values CI logs and the weekly review show
    assert {v["rule"] for v in history.breaking_json["violations"]} <= {r.value for r in Rule}


# --------------------------------------------------------------------------- the weekly review


def test_the_digest_lists_the_weeks_changes_with_status_and_commits(history: History) -> None:
    d = history.digest
    entries = {e.change.name: e for e in d.entries}
    assert set(entries) == {"dim_items", "dim_users", "engagement.events-value", "fct_sales_daily_engagement"}
    assert entries["dim_items"].status == "safe"
    assert entries["fct_sales_daily_engagement"].status.startswith("breaking, versioned: v1 until")
    assert [c.sha for c in entries["engagement.events-value"].commits] == [
        history.commits["safe_dbt"],
        history.commits["safe_enum"],
    ]
    text = render_markdown(d)
    assert "| dbt_model `fct_sales_daily_engagement` | modified |" in text
    assert "Sales report v2 without likes and shares" in text
    assert f"| `fct_sales_daily_engagement` | v1 | {(TODAY + timedelta(days=21)).isoformat()} | 21 |" in text
