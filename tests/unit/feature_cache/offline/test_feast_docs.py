"""The Feast subprocesses' documents: what they really write parses, and a renamed figure fails by name."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from feature_cache.errors import FeatureCacheError
from feature_cache.offline.feast_docs import BlockLine, OfflineResult, OnlineResult, ReadyLine, read_doc

FACTS = {
    "feast_version": "0.67.0",
    "param_name": "filter_by_created_timestamp",
    "param_in_signature": True,
    "param_default": "False",
    "dask_store_supports_param": True,
    "feature_store_file": "/venvs/feast/lib/python3.11/site-packages/feast/feature_store.py",
}
# The shapes feast_job.py wrote in a real run (paths shortened, one dataset kept).
OFFLINE: dict[str, Any] = {
    "facts": FACTS,
    "datasets": [
        {
            "name": "late-corrections",
            "runs": [
                {"name": "feast", "rows": 1053, "seconds": 1.0979, "parquet": "/pit/feast.parquet"},
                {"name": "feast+created_filter", "error": "ValueError: no such column", "rows": 0},
            ],
        }
    ],
}
LATENCY = {"calls": 500.0, "p50_us": 373.8, "p95_us": 449.0, "p99_us": 497.4, "cpu_us_per_call": 332.1}
ONLINE: dict[str, Any] = {
    "facts": FACTS,
    "online": {
        "features": 10,
        "user_id": "u4102-00091",
        "feast_missing": [],
        "feast_get_online_features": LATENCY,
        "redis_hmget": LATENCY,
    },
}


def test_a_real_offline_result_reads_with_its_failed_run_kept() -> None:
    doc = read_doc(OfflineResult, json.dumps(OFFLINE), "result.json")
    ok, failed = doc.datasets[0].runs
    assert (ok.rows, ok.seconds, ok.parquet, ok.error) == (1053, 1.0979, "/pit/feast.parquet", None)
    assert failed.error == "ValueError: no such column" and failed.parquet is None
    assert doc.facts.param_default == "False"


@pytest.mark.parametrize("key", ["rows", "seconds", "parquet"])
def test_a_successful_run_without_a_figure_fails_instead_of_reading_zero(key: str) -> None:
    bad = copy.deepcopy(OFFLINE)
    del bad["datasets"][0]["runs"][0][key]
    with pytest.raises(FeatureCacheError) as err:
        read_doc(OfflineResult, json.dumps(bad), "/w/feast_offline_result.json")
    assert str(err.value) == (
        "/w/feast_offline_result.json: datasets[0].runs[0]: Value error, "
        "a run without an error must give rows, seconds and parquet"
    )


def test_an_online_result_reads_and_a_renamed_key_names_its_field() -> None:
    doc = read_doc(OnlineResult, json.dumps(ONLINE), "r.json")
    assert doc.online.feast_get_online_features.calls == 500 and doc.online.feast_missing == []
    bad = copy.deepcopy(ONLINE)
    bad["online"]["missing"] = bad["online"].pop("feast_missing")
    with pytest.raises(FeatureCacheError, match=r"^r\.json: online\.feast_missing: Field required$"):
        read_doc(OnlineResult, json.dumps(bad), "r.json")


def test_the_online_scripts_lines() -> None:
    ready = read_doc(ReadyLine, '{"ready": true, "feast_version": "0.67.0", "missing": []}', "first line")
    assert ready.ready and ready.missing == []
    block = read_doc(BlockLine, '{"ns": [1200, 900], "cpu_s": 0.0021}', "block")
    assert block.ns == [1200, 900] and block.cpu_s == 0.0021
    with pytest.raises(FeatureCacheError, match=r"^block: cpu_s: Field required$"):
        read_doc(BlockLine, '{"ns": [1200]}', "block")


def test_text_that_is_not_json_is_one_line() -> None:
    with pytest.raises(FeatureCacheError, match=r"^out\.json: Invalid JSON"):
        read_doc(OfflineResult, "Traceback (most recent call last)", "out.json")


def test_facts_read_as_the_reports_dataclass_and_a_missing_one_is_named() -> None:
    doc = read_doc(OfflineResult, json.dumps(OFFLINE), "r.json")
    assert dataclasses.is_dataclass(doc.facts)  # the PIT report writes it with dataclasses.asdict
    assert dataclasses.asdict(doc.facts) == FACTS
    bad = copy.deepcopy(OFFLINE)
    bad["facts"]["version"] = bad["facts"].pop("feast_version")
    with pytest.raises(FeatureCacheError, match=r"^r\.json: facts\.feast_version: Field required$"):
        read_doc(OfflineResult, json.dumps(bad), "r.json")
