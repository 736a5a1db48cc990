"""Avro subjects at the base vs the head (contracts/gate/avro.py): the kernel's check plus what it cannot see.

Pure: schema files in a temp dir, no git, no registry.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import BadContractInput
from contracts.gate.avro import AvroFindings, compare_subjects, field_renames, weaker
from contracts.gate.declarations import ConsumersFile, SubjectsFile
from contracts.gate.model import Impact, Rule
from starlab.schema import CompatibilityMode as M

V1: dict[str, Any] = {
    "type": "record",
    "name": "Event",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "session_id", "type": "string"},
        {"name": "platform", "type": {"type": "enum", "name": "Platform", "symbols": ["ios", "web"]}},
    ],
}
PINNED = {"name": "flink", "kind": "flink_job", "reader_schema": "pinned"}


def with_fields(
    base: dict[str, Any], drop: tuple[str, ...] = (), add: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out["fields"] = [f for f in out["fields"] if f["name"] not in drop] + list(add)
    return out


def run(
    tmp_path: Path,
    base_versions: list[dict[str, Any]],
    head_versions: list[dict[str, Any]],
    *,
    mode: str = "BACKWARD_TRANSITIVE",
    base_mode: str | None = None,
    consumers: list[dict[str, Any]] | None = None,
) -> AvroFindings:
    def side(name: str, versions: list[dict[str, Any]], m: str) -> SubjectsFile:
        entries = []
        for i, schema in enumerate(versions, 1):
            path = f"schemas/v{i}.avsc"
            (tmp_path / name / "schemas").mkdir(parents=True, exist_ok=True)
            (tmp_path / name / path).write_text(json.dumps(schema))
            entries.append({"version": i, "path": path})
        return SubjectsFile.model_validate(
            {"subjects": [{"subject": "t-value", "compatibility": m, "versions": entries}]}
        )

    base = side("base", base_versions, base_mode or mode)
    head = side("head", head_versions, mode)
    cmap = ConsumersFile.model_validate(
        {"topics": {"t": {"format": "avro", "consumers": consumers if consumers is not None else [PINNED]}}}
    )
    return compare_subjects(
        base,
        head,
        base_root=tmp_path / "base",
        head_root=tmp_path / "head",
        consumers=cmap,
        impact_of_topic=lambda topic: Impact(consumers=("flink",)),
    )


def rules(found: AvroFindings) -> list[Rule]:
    return sorted(v.rule for v in found.violations)


def test_an_optional_field_is_a_safe_new_version(tmp_path: Path) -> None:
    v2 = with_fields(V1, add=({"name": "country", "type": ["null", "string"], "default": None},))
    found = run(tmp_path, [V1], [V1, v2])
    assert found.violations == []
    (change,) = found.changes
    assert not change.breaking and "v2 adds field(s) country" in change.details
    assert change.impact.consumers == ("flink",)


def test_a_required_field_breaks_backward_once_per_reason(tmp_path: Path) -> None:
    v2 = with_fields(V1, add=({"name": "country", "type": "string", "default": ""},))
    v3 = with_fields(v2, add=({"name": "build", "type": "int"},))
    found = run(tmp_path, [V1, v2], [V1, v2, v3], consumers=[])  # v2 is already there: only v3 is new
    (v,) = found.violations
    assert v.rule is Rule.AVRO_INCOMPATIBLE and v.object == "subject t-value v3"
    assert "build" in v.changed and "v1, v2" in v.changed and len(v.evidence) == 2
    assert "default" in v.fix


def test_dropping_a_field_passes_backward_but_not_a_pinned_reader(tmp_path: Path) -> None:
    v2 = with_fields(V1, drop=("session_id",))
    assert run(tmp_path, [V1], [V1, v2], consumers=[]).violations == []
    (v,) = run(tmp_path, [V1], [V1, v2]).violations
    assert v.rule is Rule.AVRO_PINNED_READER and "session_id" in v.changed and "pinned by flink" in v.changed


def test_a_planned_pinned_consumer_does_not_block(tmp_path: Path) -> None:
    v2 = with_fields(V1, drop=("session_id",))
    assert run(tmp_path, [V1], [V1, v2], consumers=[{**PINNED, "status": "planned"}]).violations == []


def test_a_rename_is_named_with_the_alias_that_fixes_it(tmp_path: Path) -> None:
    v2 = copy.deepcopy(V1)
    v2["fields"][1]["name"] = "session_key"
    (v,) = run(tmp_path, [V1], [V1, v2]).violations
    assert v.rule is Rule.AVRO_FIELD_RENAMED
    assert "'session_id' looks renamed to 'session_key'" in v.changed
    assert '"aliases": ["session_id"]' in v.fix
    aliased = copy.deepcopy(v2)
    aliased["fields"][1].update({"aliases": ["session_id"], "default": ""})
    assert field_renames(V1, aliased) == []


def test_an_edited_version_and_a_removed_one_are_violations(tmp_path: Path) -> None:
    edited = with_fields(V1, add=({"name": "x", "type": ["null", "int"], "default": None},))
    assert rules(run(tmp_path / "a", [V1], [edited])) == [Rule.AVRO_VERSION_EDITED]
    v2 = with_fields(V1, add=({"name": "x", "type": ["null", "int"], "default": None},))
    assert rules(run(tmp_path / "b", [V1, v2], [V1])) == [Rule.AVRO_VERSION_REMOVED]


def test_a_relaxed_mode_is_a_violation_and_the_old_mode_still_judges(tmp_path: Path) -> None:
    v2 = with_fields(V1, add=({"name": "country", "type": "string"},))
    found = run(tmp_path, [V1], [V1, v2], mode="NONE", base_mode="BACKWARD", consumers=[])
    assert rules(found) == [Rule.AVRO_INCOMPATIBLE, Rule.AVRO_MODE_WEAKENED]


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        (M.BACKWARD, M.BACKWARD_TRANSITIVE, True),
        (M.FULL_TRANSITIVE, M.BACKWARD_TRANSITIVE, False),
        (M.FORWARD_TRANSITIVE, M.BACKWARD_TRANSITIVE, True),
        (M.NONE, M.FORWARD, True),
        (M.BACKWARD, M.NONE, False),
        (M.BACKWARD_TRANSITIVE, M.BACKWARD, False),
    ],
)
def test_which_mode_changes_relax_the_contract(new: M, old: M, expected: bool) -> None:
    assert weaker(new, old) is expected


def test_a_topic_missing_from_the_consumer_map_is_reported(tmp_path: Path) -> None:
    found = compare_subjects(
        SubjectsFile(),
        SubjectsFile.model_validate({"subjects": [{"subject": "x-value", "versions": []}]}),
        base_root=tmp_path,
        head_root=tmp_path,
        consumers=ConsumersFile(),
        impact_of_topic=lambda topic: Impact(),
    )
    assert rules(found) == [Rule.MAP_INCOMPLETE]


def test_an_invalid_schema_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "v1.avsc").write_text('{"type": "record", "name": "E", "fields": [{"name": "a"}]}')
    subjects = SubjectsFile.model_validate(
        {"subjects": [{"subject": "t-value", "versions": [{"version": 1, "path": "v1.avsc"}]}]}
    )
    with pytest.raises(BadContractInput, match=r"v1\.avsc"):
        compare_subjects(
            SubjectsFile(),
            subjects,
            base_root=tmp_path,
            head_root=tmp_path / "head",
            consumers=ConsumersFile(),
            impact_of_topic=lambda topic: Impact(),
        )
