"""dbt's verdict itemized, and the rules dbt does not check (contracts/gate/dbt_state.py, no dbt run).

The verdicts here stand in for dbt's `state:modified` answer; the
integration test (tests/integration/contracts/test_gate_history.py) gets
them from dbt itself.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from contracts.gate.dbt_driver import isolated_state
from contracts.gate.dbt_state import DbtFindings, DbtState, DbtVerdict, dbt_findings
from contracts.gate.manifest import ManifestView
from contracts.gate.model import GatePolicy, Rule

from .manifests import manifest, model

TODAY = date(2026, 12, 1)
COLS = {"item_id": "varchar", "users": "bigint", "ctr": "double"}
LINEAGE = {"model.starlab.fct.v1": ["exposure.starlab.sales_daily_report"]}


Node = tuple[str, dict[str, Any]]


def findings(base: list[Node], head: list[Node], verdict: DbtVerdict | None = None) -> DbtFindings:
    state = DbtState(
        ManifestView.from_json(manifest(*base, child_map=LINEAGE)),
        ManifestView.from_json(manifest(*head, child_map=LINEAGE)),
        {verdict.model: verdict} if verdict else {},
    )
    return dbt_findings(state, change_date=TODAY, policy=GatePolicy())


BREAKING = DbtVerdict(
    "fct", (), True, "Breaking change to contract Error in model fct\n  - Columns were removed"
)


def test_dbts_verdict_is_itemized_per_column() -> None:
    head = model("fct", {"item_id": "varchar", "distinct_users": "bigint", "ctr": "varchar"})
    out = findings([model("fct", COLS)], [head], BREAKING)
    rules = sorted((v.rule, v.object) for v in out.violations)
    assert rules == [
        (Rule.DBT_COLUMN_RENAMED, "model fct v1"),
        (Rule.DBT_COLUMN_TYPE_CHANGED, "model fct v1"),
    ]
    rename = next(v for v in out.violations if v.rule is Rule.DBT_COLUMN_RENAMED)
    assert "users looks renamed to distinct_users" in rename.changed
    assert "2026-12-15" in rename.fix and "version 2" in rename.fix
    assert rename.impact.exposures == ("sales_daily_report",)
    assert rename.evidence[0].startswith("Breaking change to contract")
    (change,) = out.changes
    assert change.breaking and change.paths == (
        "dbt_project/models/marts/_fct.yml",
        "dbt_project/models/marts/fct.sql",
    )


def test_without_dbts_verdict_a_column_diff_is_not_a_violation() -> None:
    # dbt is the authority on "breaking" (e.g. a version past its deprecation date)
    out = findings([model("fct", COLS)], [model("fct", {"item_id": "varchar"})], None)
    assert out.violations == []
    assert out.changes[0].details == ("fct v1: removes column(s) users, ctr",)


def test_an_added_column_is_a_safe_change() -> None:
    out = findings([model("fct", COLS)], [model("fct", {**COLS, "brand": "varchar"})])
    (change,) = out.changes
    assert not change.breaking and out.violations == []


def test_a_moved_relation_is_a_violation_even_when_dbt_is_fine() -> None:
    out = findings([model("fct", COLS)], [model("fct", COLS, alias="fct_v1")])
    (v,) = out.violations
    assert v.rule is Rule.DBT_RELATION_CHANGED and "alias: fct" in v.fix


def test_a_new_version_with_notice_passes_and_is_marked_breaking() -> None:
    d = (TODAY + timedelta(days=20)).isoformat() + "T00:00:00+00:00"
    head = [
        model("fct", COLS, latest=2, deprecation=d),
        model("fct", {"item_id": "varchar"}, version=2, latest=2, alias="fct_v2"),
    ]
    out = findings([model("fct", COLS)], head)
    assert out.violations == []
    (change,) = out.changes
    assert change.breaking
    assert "fct v2 vs fct v1: removes column(s) users, ctr" in change.details
    (dep,) = out.deprecations
    assert (dep.model, dep.version, dep.superseded_by) == ("fct", "1", "2")


def test_a_new_version_without_notice_fails() -> None:
    head = [model("fct", COLS, latest=2), model("fct", COLS, version=2, latest=2, alias="fct_v2")]
    (v,) = findings([model("fct", COLS)], head).violations
    assert v.rule is Rule.DBT_VERSION_NOT_DEPRECATED and v.object == "model fct v1"


def test_an_unversioned_contracted_model_is_told_to_version() -> None:
    verdict = DbtVerdict(
        "fct",
        (),
        True,
        "Compilation Error\n  [WARNING]: Breaking change to contracted, unversioned model fct",
    )
    old = model("fct", COLS, version=None, latest=None)
    new = model("fct", {"item_id": "varchar", "ctr": "double"}, version=None, latest=None)
    out = findings([old], [new], verdict)
    assert sorted(v.rule for v in out.violations) == [Rule.DBT_COLUMN_REMOVED, Rule.DBT_CONTRACT_UNVERSIONED]
    removed = next(v for v in out.violations if v.rule is Rule.DBT_COLUMN_REMOVED)
    assert removed.object == "model fct" and "version the model" in removed.fix
    # dbt's words without its generic header: what made the unversioned change an error
    assert removed.evidence[0] == "Breaking change to contracted, unversioned model fct"


def test_a_removed_version_is_reported_when_dbt_says_so() -> None:
    verdict = DbtVerdict("fct", (), True, "Breaking change to contract\n  was deleted or renamed")
    base = [model("fct", COLS, latest=2), model("fct", COLS, version=2, latest=2, alias="fct_v2")]
    head = [model("fct", COLS, version=2, latest=2, alias="fct_v2")]
    out = findings(base, head, verdict)
    assert [v.rule for v in out.violations] == [Rule.DBT_VERSION_REMOVED]
    assert out.violations[0].object == "model fct v1"


def test_a_breaking_verdict_with_nothing_to_itemize_is_still_reported() -> None:
    # e.g. a constraint removed: dbt's words are the evidence
    verdict = DbtVerdict(
        "fct", (), True, "Breaking change to contract\n  - Enforced constraints were removed"
    )
    old = model("fct", COLS, materialized="table")
    new = model("fct", COLS, materialized="view")
    (v,) = findings([old], [new], verdict).violations
    assert v.rule is Rule.DBT_CONTRACT_BROKEN and v.changed.startswith("Breaking change to contract")


def test_versioning_an_unversioned_model_in_place_is_safe() -> None:
    # `versions:` added, v1 aliased to the old relation: dbt's node id changes, the contract does not
    old = model("fct", COLS, version=None, latest=None)
    out = findings([old], [model("fct", COLS)])
    assert out.violations == []
    (change,) = out.changes
    assert not change.breaking and "fct versioned as fct v1" in change.details


def test_versioning_that_moves_the_relation_is_caught_even_before_a_contract() -> None:
    # staging models had no contract at the base; their relation names are still what code reads
    old = model("stg", COLS, version=None, latest=None, enforced=False)
    (v,) = findings([old], [model("stg", COLS, alias="stg_v1")]).violations
    assert v.rule is Rule.DBT_RELATION_CHANGED
    assert v.changed == "builds marts.stg_v1 instead of marts.stg" and "alias: stg" in v.fix


def test_the_isolated_state_keeps_a_versioned_models_old_node_under_its_successors_id() -> None:
    old_uid, old_node = model("fct", COLS, version=None, latest=None)
    other = model("dim", {"id": "varchar"})
    base = manifest((old_uid, old_node), other)
    head = manifest(model("fct", COLS), model("dim", {"id": "varchar", "x": "int"}))
    state = isolated_state(base, head, "fct")
    assert state["nodes"]["model.starlab.fct.v1"] is not None
    assert state["nodes"]["model.starlab.fct.v1"]["version"] is None  # the base's node, re-keyed
    assert old_uid not in state["nodes"]
    assert "x" in state["nodes"]["model.starlab.dim.v1"]["columns"]  # every other model is the head's
