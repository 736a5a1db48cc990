"""The rules where Java Avro (Confluent's reference) and Python's `avro` package disagree.

Backs story 1 ("agreeing with Confluent's verdicts"): each test pins one rule
the differential test against Java found, with Java's answer, so a change back
to Python's behaviour fails here with a name that says which rule broke.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from starlab.schema import (
    CompatibilityMode,
    InvalidDefaultError,
    SchemaParseError,
    canonical_text,
    check,
    parse_schema,
)
from starlab.schema.model import java_parse_double

M = CompatibilityMode


def record(*fields: dict[str, Any], name: str = "Event", namespace: str | None = "ns", **extra: Any) -> str:
    body: dict[str, Any] = {"type": "record", "name": name}
    if namespace is not None:
        body["namespace"] = namespace
    return json.dumps({**body, "fields": list(fields), **extra}, ensure_ascii=False)


def fld(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


ID = fld("id", "string")


# --------------------------------------------------------------------------- names and aliases


def test_a_simple_record_alias_means_the_readers_namespace() -> None:
    old = record(ID, name="Click")
    renamed = record(ID, name="View", aliases=["Click"])  # Java reads it as ns.Click
    assert check(renamed, [old], M.BACKWARD).is_compatible
    # ... so it does not match a writer in the null namespace.
    assert not check(renamed, [record(ID, name="Click", namespace=None)], M.BACKWARD).is_compatible
    # `.Click` is the null-namespace name, which Java never matches against a writer's full name.
    dotted = record(ID, name="View", aliases=[".Click"])
    assert not check(dotted, [record(ID, name="Click", namespace=None)], M.BACKWARD).is_compatible


def test_record_names_match_on_the_simple_name_only() -> None:
    moved = record(ID, namespace="elsewhere")
    assert check(moved, [record(ID)], M.FULL).is_compatible
    result = check(record(ID, name="Other"), [record(ID)], M.BACKWARD)
    assert [(i.kind, i.location) for i in result.incompatibilities] == [("NAME_MISMATCH", "/name")]


def test_a_field_alias_matching_two_writer_fields_is_incompatible() -> None:
    old = record(ID, fld("a", "int"), fld("b", "int"))
    new = record(ID, fld("c", "int", aliases=["a", "b"]))
    result = check(new, [old], M.BACKWARD)
    # Java throws; Confluent reports the pair incompatible. The reason names the field.
    assert not result.is_compatible
    [reason] = result.incompatibilities
    assert (reason.kind, reason.location, reason.field_path) == ("EXCEPTION", "/fields/1", "c")
    assert "matches multiple fields" in reason.detail


def test_a_field_alias_equal_to_its_own_name_breaks_compatibility() -> None:
    old = record(ID, fld("a", "int"))
    new = record(ID, fld("a", "int", aliases=["a"]))  # Java finds `a` twice: by name and by alias
    assert not check(new, [old], M.BACKWARD).is_compatible
    assert check(new, [old], M.FORWARD).is_compatible


def test_a_non_union_reader_of_a_writer_union_reports_the_branch_index() -> None:
    old = record(ID, fld("n", ["null", "int"], default=None))
    new = record(ID, fld("n", "int"))
    [reason] = check(new, [old], M.BACKWARD).incompatibilities
    assert (reason.location, reason.field_path) == ("/fields/1/type/0", "n")
    assert reason.detail == "reader type: INT not compatible with writer type: NULL"


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        ("int", "a"),
        ("int", 1.0),
        ("int", True),
        ("int", 2**31),
        ("long", 2**63),
        ("boolean", "true"),
        ("null", 0),
        ("double", "inf"),  # Java's Double.parseDouble knows Infinity, not inf
        (["null", "double"], "1.5"),  # the string-to-number rule is for float/double fields only
        ({"type": "array", "items": "int"}, [1, "x"]),
        ({"type": "map", "values": "int"}, {"a": "x"}),
        ({"type": "record", "name": "Sub", "fields": [{"name": "a", "type": "int"}]}, {}),
        (["null", "int"], "s"),
    ],
)
def test_defaults_java_refuses_are_invalid_defaults(type_: Any, default: Any) -> None:
    text = record(ID, fld("x", type_, default=default))
    with pytest.raises(InvalidDefaultError, match="invalid default for field x"):
        parse_schema(text, source="x.avsc")
    with pytest.raises(InvalidDefaultError):
        check(text, [], M.NONE)


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        (["null", "int"], 1),  # Avro 1.12: any branch (1.11 and older: the first only)
        (["int", "null"], None),
        ("double", "NaN"),
        ("double", "1d"),
        ("float", "0x1p3"),
        ("double", " 1.5 "),
        ("float", 1),
        ("bytes", "\u0100"),
        ({"type": "fixed", "name": "F", "size": 4}, "ab"),  # Java checks it is a string, not its length
        ({"type": "enum", "name": "K", "symbols": ["A"]}, "Z"),  # ... and not that it is a symbol
        ({"type": "record", "name": "Sub", "fields": [{"name": "a", "type": "int", "default": 1}]}, {}),
    ],
)
def test_defaults_java_accepts_are_valid(type_: Any, default: Any) -> None:
    parse_schema(record(ID, fld("x", type_, default=default)))


def test_java_parse_double_follows_javas_grammar() -> None:
    assert java_parse_double("1d") == 1.0
    assert java_parse_double("0x1p3") == 8.0
    assert java_parse_double("-Infinity") == -math.inf
    assert math.isnan(java_parse_double("NaN") or 0.0)
    assert java_parse_double("\t2.5e1F ") == 25.0
    for bad in ("inf", "nan", "1,5", "", "0x1", "\u0661"):
        assert java_parse_double(bad) is None, bad


def test_history_defaults_are_validated_only_when_asked() -> None:
    stored = record(ID, fld("x", "int", default="a"))  # registered before validation existed
    assert check(record(ID), [stored], M.BACKWARD).is_compatible  # the registry keeps reading it
    with pytest.raises(InvalidDefaultError) as info:
        check(record(ID), [stored], M.BACKWARD, validate_history=True)  # the CLI reads files fresh
    assert info.value.source == "version 1"


# --------------------------------------------------------------------------- what the parser accepts


def test_unicode_letters_in_names_are_valid_other_characters_are_not() -> None:
    parse_schema(record(fld("prénom", "string"), name="Événement"))
    parse_schema(record(fld("k", {"type": "enum", "name": "Saison", "symbols": ["Été", "Hiver"]})))
    for bad in ("1x", "a-b", "a b"):
        with pytest.raises(SchemaParseError, match="Illegal"):
            parse_schema(record(fld(bad, "int")))


def test_forward_references_and_equal_redefinitions_are_valid() -> None:
    sub = {"type": "record", "name": "Sub", "fields": [fld("a", "int")]}
    forward = record(fld("a", "Sub"), fld("b", sub))
    schema = parse_schema(forward)
    assert "Sub" in canonical_text(schema)
    assert check(forward, [forward], M.FULL).is_compatible
    parse_schema(record(fld("a", sub), fld("b", {**sub, "doc": "docs do not count"})))
    with pytest.raises(SchemaParseError, match="Can't redefine"):
        parse_schema(record(fld("a", sub), fld("b", {**sub, "fields": [fld("a", "long")]})))


def test_a_reference_falls_back_to_the_null_namespace() -> None:
    point = {"type": "record", "name": "Point", "namespace": "", "fields": [fld("x", "int")]}
    holder = {"type": "record", "name": "Holder", "namespace": "geo", "fields": [fld("p", "Point")]}
    text = record(fld("a", point), fld("b", holder), name="Shape", namespace=None)
    parse_schema(text)  # Java finds geo.Point missing and takes Point


def test_what_java_ignores_is_ignored() -> None:
    enum = {"type": "enum", "name": "K", "symbols": ["A"], "default": 1}  # not a string: no default
    parse_schema(record(fld("k", enum)))
    parse_schema(json.dumps({**json.loads(record(ID)), "namespace": 7, "doc": ["x"]}))
    parse_schema(record(fld("a", "int", order="DESCENDING")))


@pytest.mark.parametrize(
    "text",
    [
        record(ID, aliases="Old"),
        record(ID, aliases=["1bad"]),
        record(fld("u", ["null", {"type": "record", "name": "S", "fields": []}, "S"])),
        '{"type": "record", "name": "R", "fields": [{"name": "x", "type": "double", "default": NaN}]}',
    ],
    ids=["aliases-not-a-list", "alias-invalid-name", "duplicate-named-branch", "json-nan-literal"],
)
def test_what_java_refuses_is_refused(text: str) -> None:
    with pytest.raises(SchemaParseError):
        parse_schema(text)


def test_a_null_namespace_type_inside_a_namespace_keeps_its_name() -> None:
    # Python's `avro` reads a nested `"namespace": ""` as "inherit": here that would make
    # two types named ns.Code. Java keeps ns.Code (the enum) and Code (the record).
    code_record = {"type": "record", "name": "Code", "namespace": "", "fields": [fld("x", "int")]}
    code_enum = {"type": "enum", "name": "Code", "symbols": ["A"]}
    text = record(fld("k", code_enum), fld("r", code_record), name="Holder", namespace="ns")
    stored = canonical_text(parse_schema(text))  # what the registry keeps
    assert '"namespace":""' in stored
    assert canonical_text(parse_schema(stored)) == stored
    assert check(stored, [text], M.FULL).is_compatible
