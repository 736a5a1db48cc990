"""One home per fact: lateness, the DQ thresholds and the event columns are defined once.

Where a second copy must exist (dbt needs a var default to run by hand), the
copy is checked here against its home, so a drift fails CI instead of
silently changing what one side measures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from rankings.settings import DEFAULT_MAX_NULL_RATIO, RankingsSettings
from starlab.dbt import kernel_vars
from starlab.events.model import ALLOWED_LATENESS_MS, SCHEMA_PATH
from starlab.flink.ddl import event_columns, template_values
from starlab.settings import ROOT

DBT = ROOT / "dbt_project"
SQL_DIR = ROOT / "streaming" / "sql"


def _dbt_vars() -> dict[str, Any]:
    return dict(yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"])


# --- lateness: starlab/events/model.py ------------------------------------------------


def test_dbt_lateness_default_is_the_kernel_value() -> None:
    assert _dbt_vars()["allowed_lateness_minutes"] * 60_000 == ALLOWED_LATENESS_MS
    assert kernel_vars()["allowed_lateness_minutes"] == ALLOWED_LATENESS_MS // 60_000


def test_no_model_hard_codes_the_lateness() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (DBT / "models").rglob("*.sql")
        if re.search(r"interval\s+'?10'?\s+minute", p.read_text(), re.IGNORECASE)
    ]
    assert offenders == []
    assert "allowed_lateness_minutes" in (DBT / "models" / "staging" / "stg_events.sql").read_text()


def test_flink_watermark_comes_from_the_kernel() -> None:
    source = (SQL_DIR / "01_source.sql").read_text()
    assert "INTERVAL '${lateness_hms}'" in source
    assert not re.search(r"INTERVAL '0?:?10:00'", source)


# --- DQ thresholds: rankings/settings.py --------------------------------------------------


def test_dbt_dq_var_defaults_are_the_gate_settings() -> None:
    v, cfg = _dbt_vars(), RankingsSettings()
    assert v["max_duplicate_rate"] == cfg.max_duplicate_rate
    assert v["min_items_per_ranking_date"] == cfg.min_served_rows


def _rankings_columns() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DBT / "models" / "marts" / "_rankings.yml").read_text())
    model = next(m for m in doc["models"] if m["name"] == "rankings")
    cols = list(model.get("columns", []))
    for version in model.get("versions", []):  # a versioned model may carry its columns per version
        cols += [c for c in version.get("columns", []) if isinstance(c, dict) and "name" in c]
    return cols


def test_dbt_null_ratio_tests_match_the_gate_settings() -> None:
    checked = 0
    for col in _rankings_columns():
        for t in col.get("data_tests", []) or []:
            if isinstance(t, dict) and "null_ratio_below" in t:
                max_ratio = t["null_ratio_below"]["arguments"]["max_ratio"]
                assert max_ratio == DEFAULT_MAX_NULL_RATIO[col["name"]], col["name"]
                checked += 1
    assert checked >= 1  # the test would pass vacuously if the YAML moved


# --- event columns: starlab/events/engagement_event.avsc ------------------------------


def test_flink_sql_has_no_hand_written_event_column_list() -> None:
    names = [f["name"] for f in json.loads(SCHEMA_PATH.read_text())["fields"]]
    listed = ", ".join(names[:4])  # the start of a hand-written SELECT list
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text()
        assert listed not in text, f"{path.name} lists the event columns by hand"
        assert not re.search(r"^\s*session_id\s+STRING", text, re.MULTILINE), path.name


def test_generated_columns_follow_the_avro_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    cols = event_columns()
    assert [c.name for c in cols] == [f["name"] for f in schema["fields"]]
    nullable = {c.name for c in cols if c.nullable}
    assert nullable == {f["name"] for f in schema["fields"] if isinstance(f["type"], list)}
    values = template_values()
    assert values["event_names"].split(", ") == [c.name for c in cols]
    assert "event_ts" in values["event_columns"] and "TIMESTAMP(3) NOT NULL" in values["event_columns"]


def test_a_new_avro_field_reaches_the_flink_columns(tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    schema["fields"].append({"name": "country", "type": ["null", "string"], "default": None})
    values = template_values(json.dumps(schema))
    assert values["event_names"].endswith("country")
    assert "country" in values["event_columns_nullable"]
