"""evidence.schema.json: a valid report passes; a claim without a method or a reproduce command fails.

Every rejection is checked against a document that is valid but for the one
change, so a test cannot pass because the document was broken anyway.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from starlab.evidence import (
    Claim,
    Environment,
    EvidenceError,
    build_report,
    evidence_document,
    evidence_schema,
    jsonable,
    load_story_records,
    record,
    validate_evidence,
)
from starlab.evidence.schema import SCHEMA_PATH


def claim(**kw: Any) -> Claim:
    base: dict[str, Any] = {
        "story": "3-streaming",
        "claim": "freshness < 5 minutes (p95)",
        "metric": "freshness_p95",
        "unit": "min",
        "claimed": 5,
        "comparator": "<",
        "measured": 2.4,
        "method": "now - max(ingest_ts) sampled every 10 s",
        "command": "starlab stream slo",
    }
    base.update(kw)
    return Claim(**base)


@pytest.fixture
def document(tmp_path: Path, env: Environment) -> dict[str, Any]:
    """A valid evidence.json: one claim of each comparator shape, measured and not."""
    claims = [
        claim(),
        claim(claim="freshness 65-90 min", metric="f", comparator="range", claimed=(65, 90), measured=None),
        claim(claim="delivery", metric="d", comparator="==", claimed="exactly-once", measured="exactly-once"),
    ]
    record(claims, "3-streaming", tmp_path, params={"events": 20000, "seed": 7}, repo_root=tmp_path)
    doc = evidence_document(
        load_story_records(tmp_path), run_id="r1", generated_at="2026-12-02T12:05:01+00:00", environment=env
    )
    result: dict[str, Any] = jsonable(doc)
    return result


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = evidence_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_the_schema_ships_inside_the_package() -> None:
    # hatch's wheel target lists `starlab`: every file under it that git does not ignore is packed.
    assert SCHEMA_PATH.parent.name == "evidence"
    assert SCHEMA_PATH.parent.parent.name == "starlab"
    assert SCHEMA_PATH.is_file()


def test_a_valid_report_validates(document: dict[str, Any]) -> None:
    validate_evidence(document)  # no exception


def _drop(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["claims"][0].pop(field)


def _set(field: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["claims"][0].__setitem__(field, value)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (_drop("method"), "$.claims[0]"),
        (_set("method", ""), "$.claims[0].method"),
        (_set("method", "   "), "$.claims[0].method"),
        (_set("method", None), "$.claims[0].method"),
        (_drop("command"), "$.claims[0]"),
        (_set("command", ""), "$.claims[0].command"),
        (_set("command", "\t"), "$.claims[0].command"),
        (_drop("story"), "$.claims[0]"),
        (_drop("metric"), "$.claims[0]"),
        (_drop("measured"), "$.claims[0]"),
        (_set("status", "maybe"), "$.claims[0].status"),
        (_set("comparator", "~"), "$.claims[0].comparator"),
        (_set("claimed", [1, 2]), "$.claims[0].claimed"),  # a pair needs the range comparator
        (_set("measured", None), "$.claims[0].status"),  # not measured, yet "pass"
        (_set("measured", True), "$.claims[0].measured"),
        (lambda d: d["environment"].pop("git_commit"), "$.environment"),
        (lambda d: d["environment"].__setitem__("topology", "mesh"), "$.environment.topology"),
        (lambda d: d["stories"][0]["params"].__setitem__("sizes", [1, 2]), "$.stories[0].params.sizes"),
        (lambda d: d.pop("run_id"), "$"),
        (lambda d: d.__setitem__("schema_version", 1), "$.schema_version"),
        (lambda d: d.__setitem__("claims", []), "$.claims"),
    ],
)
def test_each_rule_can_fail(
    document: dict[str, Any], change: Callable[[dict[str, Any]], None], path: str
) -> None:
    validate_evidence(copy.deepcopy(document))  # valid before the one change
    change(document)
    with pytest.raises(EvidenceError, match=r"does not match evidence\.schema\.json") as info:
        validate_evidence(document)
    message = str(info.value)
    assert f" at {path}: " in message
    assert "\n" not in message


def test_the_version_1_bare_list_is_rejected(document: dict[str, Any]) -> None:
    with pytest.raises(EvidenceError, match=r"at \$: .* is not of type 'object'"):
        validate_evidence(document["claims"])


def test_a_long_error_stays_one_short_line(document: dict[str, Any]) -> None:
    document["claims"][0]["claimed"] = {"lots": "x" * 1000}
    with pytest.raises(EvidenceError) as info:
        validate_evidence(document)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("field", ["method", "command"])
def test_build_report_refuses_a_claim_without_method_or_command(
    tmp_path: Path, env: Environment, field: str
) -> None:
    # Claim itself accepts an empty string (a story may fill it in later); the report does not.
    record([claim(), claim(metric="other", **{field: ""})], "3-streaming", tmp_path, repo_root=tmp_path)
    with pytest.raises(EvidenceError, match=rf"at \$\.claims\[1\]\.{field}: '' should be non-empty"):
        build_report(tmp_path, run_id="r1", environment=env)
    # Nothing written: a bad report never replaces the last good one.
    assert not (tmp_path / "latest/evidence.json").exists()
    assert not (tmp_path / "r1").exists()


def test_a_built_report_matches_the_schema(tmp_path: Path, env: Environment) -> None:
    record([claim()], "3-streaming", tmp_path, repo_root=tmp_path)
    built = build_report(tmp_path, environment=env)
    validate_evidence(json.loads(built.json_path.read_text()))
