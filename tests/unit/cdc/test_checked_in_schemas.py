"""The checked-in CDC schemas are exactly what the bridge derives, and evolve compatibly.

Backs story 1's "versioned schemas, backward-compatible changes by default":
contracts/cdc/schemas/<subject>/vN.avsc must equal the derivation of the
recorded Debezium events for that version, and each version must pass the
registry's check (the same `starlab.schema.check`) against the earlier ones
under the CDC subjects' mode. A breaking change of the items table (a NOT
NULL column added) is shown to fail that check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from starlab.cdc import CDC_COMPATIBILITY, parse_change
from starlab.schema import check
from starlab.settings import ROOT

SCHEMAS = ROOT / "contracts" / "cdc" / "schemas"
DERIVED = {
    # subject/version: (fixture, which schema of its first event)
    "app.items-key/v1": ("items_v1_insert", "key"),
    "app.items-value/v1": ("items_v1_insert", "row"),
    "app.items-value/v2": ("items_v2_dualwrite", "row"),
    "app.users-key/v1": ("users_v1_insert", "key"),
    "app.users-value/v1": ("users_v1_insert", "row"),
}


def _file(subject_version: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((SCHEMAS / f"{subject_version}.avsc").read_text())
    return data


def test_every_checked_in_version_is_listed_here() -> None:
    on_disk = {f"{p.parent.name}/{p.stem}" for p in SCHEMAS.glob("*/*.avsc")}
    assert on_disk == set(DERIVED)


@pytest.mark.parametrize("subject_version", sorted(DERIVED))
def test_derivation_equals_the_checked_in_file(recorded, subject_version: str) -> None:
    fixture, which = DERIVED[subject_version]
    ev = parse_change(*recorded(fixture)[0])
    assert ev is not None
    schema = ev.key_schema if which == "key" else ev.row_schema
    assert schema.avro() == _file(subject_version)


def _versions(subject: str) -> list[str]:
    return [p.read_text() for p in sorted((SCHEMAS / subject).glob("v*.avsc"), key=lambda p: int(p.stem[1:]))]


@pytest.mark.parametrize("subject", sorted({k.split("/")[0] for k in DERIVED}))
def test_each_version_is_compatible_with_all_earlier_ones(subject: str) -> None:
    versions = _versions(subject)
    for n in range(1, len(versions)):
        result = check(versions[n], versions[:n], CDC_COMPATIBILITY)
        assert result.is_compatible, (subject, n + 1, result.reasons)


def test_a_not_null_column_added_to_items_is_refused_under_the_cdc_mode() -> None:
    v1 = _file("app.items-value/v1")
    fields = v1["fields"]
    assert isinstance(fields, list)
    breaking = {**v1, "fields": [*fields, {"name": "quality", "type": "double"}]}
    result = check(json.dumps(breaking), _versions("app.items-value"), CDC_COMPATIBILITY)
    assert not result.is_compatible
    assert any("quality" in r for r in result.reasons), result.reasons


def test_dropping_the_deprecated_column_is_refused_too() -> None:
    # The contract phase of items v2 cannot simply drop `category` on the same
    # subject: FULL protects readers still on v1. It needs the versioned path.
    v2 = _file("app.items-value/v2")
    fields = v2["fields"]
    assert isinstance(fields, list)
    dropped = {**v2, "fields": [f for f in fields if isinstance(f, dict) and f["name"] != "category"]}
    assert not check(json.dumps(dropped), _versions("app.items-value"), CDC_COMPATIBILITY).is_compatible


def test_schema_files_parse_as_the_registry_parses_them() -> None:
    from starlab.schema import parse_schema

    for path in SCHEMAS.glob("*/*.avsc"):
        parse_schema(path.read_text(), str(Path(path).relative_to(ROOT)))
