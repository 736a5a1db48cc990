"""The replay script: the real quarter loads, bad scripts are one-line errors naming the file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import BadContractInput
from contracts.replay.script import (
    EVENTS_SUBJECT,
    AvroOp,
    ChangeKind,
    Surface,
    apply_avro_ops,
    load_script,
    short_quarter,
)
from contracts.settings import DEFAULT_SCRIPT

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "contracts" / "replay"


def test_the_quarter_has_twelve_changes_of_every_kind_on_every_surface() -> None:
    script = load_script(DEFAULT_SCRIPT)
    counts = script.counts()
    assert len(script.changes) >= 12
    assert (
        counts[ChangeKind.SAFE] >= 1 and counts[ChangeKind.BREAKING] >= 1 and counts[ChangeKind.URGENT] == 1
    )
    assert {c.surface for c in script.changes} == set(Surface)
    assert script.days == 91 and all(1 <= c.day <= 91 for c in script.changes)
    for change in script.changes:
        if change.kind is not ChangeKind.SAFE:
            assert change.fix is not None, change.id
    urgent = next(c for c in script.changes if c.kind is ChangeKind.URGENT)
    assert urgent.review_days == 0 and urgent.fix is not None and urgent.fix.after_days == 0
    # the urgent change lands the versioning way: a new model version with a deprecation date
    texts = [op.replace.new for op in urgent.fix.dbt if op.replace is not None]
    assert any("deprecation_date: {deprecation_date}" in t and "- v: 2" in t for t in texts)


def test_fills_give_the_producer_a_value_for_every_new_event_field() -> None:
    fills = load_script(DEFAULT_SCRIPT).fills()
    assert fills["client_platform"].copy_from == "platform"  # the expand's dual-write
    assert fills["app_version"].const == "7.4.0"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bad_syntax.yaml", "is not valid YAML at line"),
        ("bad_field.yaml", "changes[0].fix.after_days: Input should be a valid integer"),
        ("breaking_without_fix.yaml", "a breaking change needs a fix"),
        ("unknown_key.yaml", "changes[0].app_db.sqll: Extra inputs are not permitted"),
        ("day_out_of_quarter.yaml", "day 95 is after the quarter's last day 91"),
    ],
)
def test_a_bad_script_is_one_line_naming_the_file_and_the_field(name: str, expected: str) -> None:
    path = FIXTURES / name
    with pytest.raises(BadContractInput) as info:
        load_script(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert expected in message, message


def test_a_missing_script_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadContractInput, match="cannot read"):
        load_script(tmp_path / "nope.yaml")


def test_avro_ops_add_nullable_fields_at_the_end_rename_in_place_and_drop() -> None:
    schema = {
        "type": "record",
        "name": "Value",
        "fields": [{"name": "id", "type": "string"}, {"name": "created_at", "type": "long"}],
    }
    ops = (
        AvroOp.model_validate({"rename": {"from": "created_at", "to": "created_ts"}}),
        AvroOp.model_validate({"add": {"name": "brand", "type": "string"}}),
        AvroOp.model_validate({"add": {"name": "n", "type": "int", "nullable": False}}),
        AvroOp.model_validate({"drop": "id"}),
    )
    out = apply_avro_ops(schema, ops)
    assert out["fields"] == [
        {"name": "created_ts", "type": "long"},
        {"name": "brand", "type": ["null", "string"], "default": None},
        {"name": "n", "type": "int"},
    ]
    assert schema["fields"][0]["name"] == "id"  # the input is not modified


def test_avro_ops_on_missing_or_existing_fields_are_bad_input() -> None:
    schema = {"type": "record", "name": "V", "fields": [{"name": "id", "type": "string"}]}
    with pytest.raises(BadContractInput, match="no field 'x'"):
        apply_avro_ops(schema, (AvroOp.model_validate({"drop": "x"}),))
    with pytest.raises(BadContractInput, match="already exists"):
        apply_avro_ops(schema, (AvroOp.model_validate({"add": {"name": "id", "type": "string"}}),))


def test_an_avro_op_has_exactly_one_key() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        AvroOp.model_validate({"drop": "a", "rename": {"from": "b", "to": "c"}})


def test_producer_changes_edit_the_event_subject() -> None:
    script = load_script(DEFAULT_SCRIPT)
    for c in script.changes:
        if c.surface is Surface.PRODUCER:
            assert c.contract is not None and c.contract.subject == EVENTS_SUBJECT


def test_the_short_quarter_keeps_the_real_changes_on_the_days_given(tmp_path: Path) -> None:
    full = {c.id: c for c in load_script(DEFAULT_SCRIPT).changes}
    short = load_script(short_quarter(DEFAULT_SCRIPT, tmp_path / "short.yaml", {"B1": (3, 1), "U1": (9, 0)}))
    assert short.weeks == 2 and short.quiet_days == ()
    assert [(c.id, c.day, c.review_days) for c in short.changes] == [("B1", 3, 1), ("U1", 9, 0)]
    for c in short.changes:  # everything but the day and the review is the real change
        real = full[c.id]
        assert c.model_copy(update={"day": real.day, "review_days": real.review_days}) == real


def test_a_short_quarter_of_a_change_the_script_lacks_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BadContractInput, match=r"no change Z9$"):
        short_quarter(DEFAULT_SCRIPT, tmp_path / "short.yaml", {"B1": (3, 1), "Z9": (4, 1)})
