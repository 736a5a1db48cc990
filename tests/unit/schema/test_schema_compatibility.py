"""Confluent compatibility modes on hand-written schemas where the modes disagree.

Backs story 1: the CI gate must reject exactly what Confluent's registry would
reject, and say which field broke. Each case pins the verdict of every mode,
so a mode wired the wrong way round (reader/writer swapped, transitive checking
only the latest) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from starlab.errors import StarlabError
from starlab.schema import (
    CompatibilityMode,
    InvalidCompatibilityModeError,
    SchemaParseError,
    canonical_text,
    check,
    check_files,
    load_schema,
    parse_schema,
)

M = CompatibilityMode


def record(*fields: dict[str, Any], name: str = "Event") -> str:
    return json.dumps({"type": "record", "name": name, "namespace": "t", "fields": list(fields)})


def fld(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


ID = fld("id", "string")


def verdicts(candidate: str, history: list[str]) -> dict[CompatibilityMode, bool]:
    return {mode: check(candidate, history, mode).is_compatible for mode in M}


def expect(**by_mode: bool) -> dict[CompatibilityMode, bool]:
    return {M(name): value for name, value in by_mode.items()}


# --------------------------------------------------------------------------- modes, 2 versions


def test_adding_a_field_without_default_is_forward_but_not_backward() -> None:
    old = record(ID)
    new = record(ID, fld("score", "int"))
    assert verdicts(new, [old]) == expect(
        BACKWARD=False,
        BACKWARD_TRANSITIVE=False,
        FORWARD=True,
        FORWARD_TRANSITIVE=True,
        FULL=False,
        FULL_TRANSITIVE=False,
        NONE=True,
    )


def test_adding_a_field_with_default_is_fully_compatible() -> None:
    old = record(ID)
    new = record(ID, fld("score", "int", default=0))
    assert all(verdicts(new, [old]).values())


def test_removing_a_field_without_default_is_backward_but_not_forward() -> None:
    old = record(ID, fld("score", "int"))
    new = record(ID)
    assert verdicts(new, [old]) == expect(
        BACKWARD=True,
        BACKWARD_TRANSITIVE=True,
        FORWARD=False,
        FORWARD_TRANSITIVE=False,
        FULL=False,
        FULL_TRANSITIVE=False,
        NONE=True,
    )


def test_removing_a_field_that_had_a_default_is_fully_compatible() -> None:
    old = record(ID, fld("score", "int", default=0))
    new = record(ID)
    assert all(verdicts(new, [old]).values())


def test_int_to_long_promotion_is_backward_only() -> None:
    old = record(ID, fld("count", "int"))
    new = record(ID, fld("count", "long"))
    assert verdicts(new, [old]) == expect(
        BACKWARD=True,
        BACKWARD_TRANSITIVE=True,
        FORWARD=False,
        FORWARD_TRANSITIVE=False,
        FULL=False,
        FULL_TRANSITIVE=False,
        NONE=True,
    )
    reasons = check(new, [old], M.FORWARD).reasons
    # Java Avro's own message (type names upper-case), as Confluent reports it.
    assert reasons == [
        "/fields/1/type (count): reader type: INT not compatible with writer type: LONG "
        "[reader: version 1, writer: new schema]"
    ]


def test_adding_an_enum_symbol_is_backward_only_unless_the_old_enum_has_a_default() -> None:
    def with_enum(symbols: list[str], **enum_extra: Any) -> str:
        enum = {"type": "enum", "name": "Kind", "symbols": symbols, **enum_extra}
        return record(ID, fld("kind", enum))

    old, new = with_enum(["click", "view"]), with_enum(["click", "view", "share"])
    assert verdicts(new, [old]) == expect(
        BACKWARD=True,
        BACKWARD_TRANSITIVE=True,
        FORWARD=False,
        FORWARD_TRANSITIVE=False,
        FULL=False,
        FULL_TRANSITIVE=False,
        NONE=True,
    )
    [reason] = check(new, [old], M.FORWARD).reasons
    assert reason.startswith("/fields/1/type/symbols (kind): reader enum lacks writer symbol(s)")
    assert "share" in reason

    # Avro >= 1.9: an enum default lets old readers map unknown symbols.
    old_with_default = with_enum(["click", "view"], default="view")
    new_with_default = with_enum(["click", "view", "share"], default="view")
    assert all(verdicts(new_with_default, [old_with_default]).values())


def test_making_an_optional_field_required_names_the_field() -> None:
    old = record(ID, fld("dwell_ms", ["null", "int"], default=None))
    new = record(ID, fld("dwell_ms", "int"))
    result = check(new, [old], M.BACKWARD)
    assert not result.is_compatible
    # Java's location: the trailing 0 is the writer union's branch (null) the reader cannot read.
    assert result.reasons == [
        "/fields/1/type/0 (dwell_ms): reader type: INT not compatible with writer type: NULL "
        "[reader: new schema, writer: version 1]"
    ]
    assert check(new, [old], M.FORWARD).is_compatible


def test_renaming_a_field_with_an_alias_is_backward_compatible() -> None:
    old = record(ID, fld("ts", "long"))
    new = record(ID, fld("event_ts", "long", aliases=["ts"]))
    assert check(new, [old], M.BACKWARD).is_compatible
    assert not check(new, [old], M.FORWARD).is_compatible


# --------------------------------------------------------------------------- transitive

# v1 -> v2 adds `score` with a default, v3 drops the default: v3 reads v2 data
# (v2 always wrote score) but not v1 data (which has no score).
V1 = record(ID)
V2 = record(ID, fld("score", "int", default=0))
V3_NO_DEFAULT = record(ID, fld("score", "int"))


def test_backward_transitive_fails_where_backward_passes() -> None:
    history = [V1, V2]
    assert check(V3_NO_DEFAULT, history, M.BACKWARD).is_compatible
    result = check(V3_NO_DEFAULT, history, M.BACKWARD_TRANSITIVE)
    assert not result.is_compatible
    assert result.reasons == [
        "/fields/1 (score): reader field 'score' has no default and is missing in writer "
        "[reader: new schema, writer: version 1]"
    ]
    assert result.checked_against == ("version 2", "version 1")


def test_forward_transitive_fails_where_forward_passes() -> None:
    # v1 requires `score`; v2 gives it a default; v3 drops it. v2 readers cope, v1 readers do not.
    v1 = record(ID, fld("score", "int"))
    v2 = record(ID, fld("score", "int", default=0))
    v3 = record(ID)
    assert check(v3, [v1, v2], M.FORWARD).is_compatible
    result = check(v3, [v1, v2], M.FORWARD_TRANSITIVE)
    assert not result.is_compatible
    assert [(i.reader, i.writer, i.location) for i in result.incompatibilities] == [
        ("version 1", "new schema", "/fields/1")
    ]


def test_full_transitive_fails_where_full_passes() -> None:
    v1 = record(ID, fld("score", "int"))
    v2 = record(ID, fld("score", "int", default=0))
    v3 = record(ID)
    assert check(v3, [v1, v2], M.FULL).is_compatible
    assert not check(v3, [v1, v2], M.FULL_TRANSITIVE).is_compatible


def test_non_transitive_modes_compare_with_the_latest_only() -> None:
    # v1 is incompatible with everything after it; only *_TRANSITIVE may notice.
    v1 = record(ID, fld("legacy", "string"))
    v2 = record(ID, fld("score", "int", default=0))
    v3 = record(ID, fld("score", "int", default=0), fld("extra", "int", default=1))
    for mode in (M.BACKWARD, M.FORWARD, M.FULL):
        assert check(v3, [v1, v2], mode).is_compatible, mode
        assert check(v3, [v1, v2], mode).checked_against == ("version 2",)
    assert not check(v3, [v1, v2], M.FORWARD_TRANSITIVE).is_compatible
    assert check(v3, [v1, v2], M.BACKWARD_TRANSITIVE).is_compatible


def test_none_and_empty_history_accept_anything() -> None:
    assert check(record(fld("x", "int")), [record(fld("x", "string"))], M.NONE).is_compatible
    for mode in M:
        assert check(V3_NO_DEFAULT, [], mode).is_compatible


# --------------------------------------------------------------------------- reasons


def test_each_problem_is_its_own_reason_with_its_own_path() -> None:
    old = record(ID, fld("count", "string"))
    new = record(ID, fld("count", "int"), fld("a", "int"), fld("b", "string"))
    result = check(new, [old], M.BACKWARD)
    assert [(i.kind, i.location, i.field_path) for i in result.incompatibilities] == [
        ("TYPE_MISMATCH", "/fields/1/type", "count"),
        ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/2", "a"),
        ("READER_FIELD_MISSING_DEFAULT_VALUE", "/fields/3", "b"),
    ]
    assert "reader field 'a' has no default and is missing in writer" in result.reasons[1]


def test_a_change_inside_an_optional_nested_record_is_located() -> None:
    def with_address(*address_fields: dict[str, Any]) -> str:
        address = {"type": "record", "name": "Address", "fields": list(address_fields)}
        return record(ID, fld("address", ["null", address], default=None))

    old = with_address(fld("zip", "int"))
    new = with_address(fld("zip", "string"))
    result = check(new, [old], M.BACKWARD)
    assert not result.is_compatible
    paths = {(i.location, i.field_path) for i in result.incompatibilities}
    # Java only says the union lacks a branch (writer branch 1); the cause inside is reported too.
    assert ("/fields/1/type/1", "address") in paths
    assert ("/fields/1/type/1/fields/0/type", "address.zip") in paths


def test_labels_name_the_schemas_in_reasons() -> None:
    result = check(
        V3_NO_DEFAULT,
        [V1],
        "backward",
        candidate_label="new.avsc",
        history_labels=["v1.avsc"],
    )
    assert result.reasons[0].endswith("[reader: new.avsc, writer: v1.avsc]")
    assert result.messages[-1] == "{compatibility: 'BACKWARD'}"


# --------------------------------------------------------------------------- parsing and modes


def test_mode_parse_is_case_insensitive_and_rejects_unknown_names() -> None:
    assert CompatibilityMode.parse("full-transitive") is M.FULL_TRANSITIVE
    assert CompatibilityMode.parse(" backward ") is M.BACKWARD
    with pytest.raises(InvalidCompatibilityModeError, match="SIDEWAYS"):
        CompatibilityMode.parse("SIDEWAYS")
    assert issubclass(InvalidCompatibilityModeError, StarlabError)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"type": "record", "name": "A",', "invalid JSON at line 1 column 32"),
        ('{"type": "record", "name": "A", "fields": [{"name": "x", "type": "nope"}]}', "nope"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', "Duplicate enum symbol"),
        ('{"type": "record", "name": "A", "fields": 3}', "invalid Avro schema"),
        (
            '{"type": "record", "name": "A", "fields": [{"name": "x", "type": "int", "default": null}]}',
            "invalid default for field x",
        ),
    ],
)
def test_parse_schema_errors_name_the_source_and_the_problem(text: str, problem: str) -> None:
    with pytest.raises(SchemaParseError) as info:
        parse_schema(text, source="contracts/bad.avsc")
    assert str(info.value).startswith("contracts/bad.avsc: ")
    assert problem in str(info.value)
    assert isinstance(info.value, StarlabError)


def test_an_invalid_history_schema_is_an_error_not_a_verdict() -> None:
    with pytest.raises(SchemaParseError, match="version 1"):
        check(V1, ["{not json"], M.NONE)


def test_canonical_text_ignores_whitespace_and_key_order_but_not_docs() -> None:
    a = parse_schema('{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}')
    b = parse_schema('{\n "fields": [ {"type": "int", "name": "x"} ],\n "name": "A",\n "type": "record"\n}')
    c = parse_schema('{"type":"record","name":"A","doc":"d","fields":[{"name":"x","type":"int"}]}')
    assert canonical_text(a) == canonical_text(b)
    assert canonical_text(a) != canonical_text(c)
    assert canonical_text(a) == '{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}'
    # Idempotent: the canonical text parses back to itself.
    assert canonical_text(parse_schema(canonical_text(c))) == canonical_text(c)


def test_the_engagement_event_contract_parses() -> None:
    from starlab.events.model import SCHEMA_PATH

    schema = load_schema(SCHEMA_PATH)
    assert schema.get_prop("name") == "EngagementEvent"


# --------------------------------------------------------------------------- files (CLI shape)


def test_check_files_uses_the_last_file_as_candidate(tmp_path: Path) -> None:
    (tmp_path / "v1.avsc").write_text(V1)
    (tmp_path / "v2.avsc").write_text(V2)
    (tmp_path / "new.avsc").write_text(V3_NO_DEFAULT)
    paths = [tmp_path / "v1.avsc", tmp_path / "v2.avsc", tmp_path / "new.avsc"]
    assert check_files(paths, "BACKWARD").is_compatible
    result = check_files(paths, "BACKWARD_TRANSITIVE")
    assert not result.is_compatible
    assert result.reasons[0].endswith("[reader: new.avsc, writer: v1.avsc]")


def test_check_files_reports_missing_and_invalid_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.avsc"
    with pytest.raises(SchemaParseError, match=r"missing\.avsc: cannot read file"):
        check_files([missing, tmp_path / "x.avsc"], M.BACKWARD)
    bad = tmp_path / "bad.avsc"
    bad.write_text("{")
    (tmp_path / "ok.avsc").write_text(V1)
    with pytest.raises(SchemaParseError, match=r"bad\.avsc: invalid JSON"):
        check_files([bad, tmp_path / "ok.avsc"], M.BACKWARD)
    with pytest.raises(InvalidCompatibilityModeError):
        check_files([tmp_path / "ok.avsc"], "LOOSE")
