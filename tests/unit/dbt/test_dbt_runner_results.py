"""dbt's run results read by the kernel's runner: node names, versions and per-model times."""

from __future__ import annotations

from starlab.dbt import DbtRun, NodeResult


def test_a_versioned_model_is_named_by_its_model_not_its_version() -> None:
    v2 = NodeResult("model.starlab.dim_items.v2", "success", 0.3, None, None)
    assert (v2.kind, v2.name, v2.version) == ("model", "dim_items", "v2")
    plain = NodeResult("model.starlab.rankings", "success", 0.2, None, None)
    assert (plain.name, plain.version) == ("rankings", None)
    test = NodeResult("test.starlab.not_null_rankings_item_id.abc123", "pass", 0.01, 0, None)
    assert test.name == "not_null_rankings_item_id"
    unit = NodeResult("unit_test.starlab.rankings.test_score_decays", "pass", 0.01, None, None)
    assert unit.name == "test_score_decays"


def test_model_times_sum_a_models_versions() -> None:
    run = DbtRun(args=[], returncode=0, wall_s=1.0, output="")
    run.nodes = [
        NodeResult("model.starlab.int_item_engagement_daily.v1", "success", 0.5, None, None),
        NodeResult("model.starlab.int_item_engagement_daily.v2", "success", 0.25, None, None),
        NodeResult("model.starlab.rankings", "success", 0.2, None, None),
        NodeResult("test.starlab.not_null_rankings_item_id.abc", "pass", 0.01, 0, None),
    ]
    assert run.model_times() == {"int_item_engagement_daily": 0.75, "rankings": 0.2}
