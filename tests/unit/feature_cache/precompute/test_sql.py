"""The feature job's SQL: fully rendered, event columns from the Avro contract, outputs as in features.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from feature_cache.precompute.features import PRECOMPUTE_SCHEMA
from feature_cache.precompute.job import SQL_DIR, FeatureJob, FeatureJobOptions
from feature_cache.precompute.settings import PrecomputeSettings
from starlab.events.model import SCHEMA_PATH
from starlab.flink import ddl
from starlab.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", data_dir=tmp_path / "data", events_topic="ev.t")


def _render(settings: Settings, cfg: PrecomputeSettings | None = None, bounded: bool = False) -> str:
    job = FeatureJob(settings, cfg or PrecomputeSettings(), FeatureJobOptions(bounded=bounded))
    return job.rendered_sql().text()


def test_every_template_variable_is_substituted(settings: Settings) -> None:
    used = {m for p in SQL_DIR.glob("*.sql") for m in re.findall(r"\$\{(\w+)\}", p.read_text())}
    job = FeatureJob(settings, PrecomputeSettings())
    assert used <= set(job.runner.values), used - set(job.runner.values)
    text = _render(settings)
    assert "${" not in text and "$" not in text


def test_topics_watermark_and_exactly_once_come_from_the_settings(settings: Settings) -> None:
    cfg = PrecomputeSettings(topic="f.t", late_topic="f.late", watermark_delay_ms=7_000, group_id="gj")
    text = _render(settings, cfg, bounded=True)
    assert "'topic' = 'ev.t'" in text and "'topic' = 'f.t'" in text and "'topic' = 'f.late'" in text
    assert "event_ts - INTERVAL '0:00:07' HOUR TO SECOND" in text
    assert "'properties.group.id' = 'gj'" in text
    assert text.count("'sink.delivery-guarantee' = 'exactly-once',") == 2
    assert "'scan.bounded.mode' = 'latest-offset'," in text
    assert "'properties.isolation.level' = 'read_committed'" in text


def test_the_event_columns_come_from_the_avro_contract(settings: Settings) -> None:
    text = _render(settings)
    values = ddl.template_values()
    source = text[text.index("CREATE TABLE events") :].split(") WITH", 1)[0]
    assert values["event_columns"] in source
    assert values["avro_schema"] in text
    names = [f["name"] for f in json.loads(SCHEMA_PATH.read_text())["fields"]]
    assert f"SELECT {', '.join(names)}, produce_ts, is_late, watermark_ts" in text


def test_no_sql_file_lists_the_event_columns_by_hand() -> None:
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text()
        assert not re.search(r"^\s*(session_id|ingest_ts|dwell_ms)\s+\w+", text, re.MULTILINE), path.name
        assert "event_id, user_id, item_id" not in text, path.name


def test_the_sink_columns_and_group_names_match_the_feature_schema() -> None:
    sinks = (SQL_DIR / "03_sinks.sql").read_text()
    inserts = (SQL_DIR / "10_inserts.sql").read_text()
    for group in PRECOMPUTE_SCHEMA.groups:
        row = re.search(rf"^\s*{group.name}\s+ROW<(.*?)>,", sinks, re.MULTILINE | re.DOTALL)
        assert row is not None, group.name
        fields = [f.split()[0] for f in row.group(1).replace("\n", " ").split(",")]
        assert tuple(fields) == group.feature_names, group.name
        assert f"'{group.name}'" in inserts, group.name
