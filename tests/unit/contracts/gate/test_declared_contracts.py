"""Story 1's 8 critical tables in dbt_project/: enforced contracts, versions, relation names, exposures.

Static (YAML only, no dbt): what `starlab contracts check` protects must be
declared; the relation names code reads (staging.*, marts.rankings_<color>,
marts.fct_item_metrics_1m) stay what they were when the models became
versioned (dbt would otherwise build <name>_v1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[4] / "dbt_project"
CRITICAL = {
    "stg_events",
    "stg_items",
    "stg_users",
    "int_item_engagement_daily",
    "rankings",
    "fct_item_metrics_1m",
    "dim_items",
    "fct_sales_daily_engagement",
}


def properties() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    models: dict[str, dict[str, Any]] = {}
    exposures: dict[str, dict[str, Any]] = {}
    for path in (PROJECT / "models").rglob("*.yml"):
        doc = yaml.safe_load(path.read_text()) or {}
        models.update({m["name"]: m for m in doc.get("models", [])})
        exposures.update({e["name"]: e for e in doc.get("exposures", [])})
    return models, exposures


def test_eight_critical_models_have_enforced_versioned_contracts() -> None:
    models, _ = properties()
    contracted = {n for n, m in models.items() if m.get("config", {}).get("contract", {}).get("enforced")}
    assert contracted >= CRITICAL and len(contracted) >= 8
    for name in CRITICAL:
        model = models[name]
        versions = [v["v"] for v in model["versions"]]
        assert model["latest_version"] in versions, name
        assert all(c.get("data_type") for c in model["columns"]), f"{name}: every column needs a data_type"


def test_versioning_keeps_the_relation_names_code_reads() -> None:
    models, _ = properties()
    for name in CRITICAL - {"rankings"}:
        latest = next(v for v in models[name]["versions"] if v["v"] == models[name]["latest_version"])
        assert latest["config"]["alias"] == name, name
    # rankings: its SQL sets alias=rankings_alias() (rankings_blue / rankings_green), which wins
    assert "alias=rankings_alias()" in (PROJECT / "models" / "marts" / "rankings.sql").read_text()


def test_the_consumers_are_exposures_on_the_contracted_models() -> None:
    _, exposures = properties()
    expected = {
        "ranking_api": "ref('rankings')",
        "sales_daily_report": "ref('fct_sales_daily_engagement')",
        "stream_reconciliation": "ref('fct_item_metrics_1m')",
    }
    for name, ref in expected.items():
        assert ref in exposures[name]["depends_on"], name
        assert exposures[name]["owner"]["name"]


def test_new_marts_have_their_keys_tested() -> None:
    models, _ = properties()

    def tests_of(model: dict[str, Any], column: str) -> set[str]:
        col = next(c for c in model["columns"] if c["name"] == column)
        return {t if isinstance(t, str) else next(iter(t)) for t in col.get("data_tests", [])}

    assert {"unique", "not_null"} <= tests_of(models["dim_items"], "item_id")
    sales = models["fct_sales_daily_engagement"]
    combos = [
        t["unique_combination_of_columns"]["arguments"]["combination_of_columns"] for t in sales["data_tests"]
    ]
    assert ["event_date", "category"] in combos
    assert "not_null" in tests_of(sales, "event_date") and "not_null" in tests_of(sales, "category")
