"""The change request in a pull-request body (contracts/gate/change_request.py) and its template."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.gate.change_request import (
    SECTIONS,
    TEMPLATE_PATH,
    change_request_violations,
    check_change_request,
    sections,
)
from contracts.gate.model import ChangeKind, ContractChange, ContractKind, Rule

ROOT = Path(__file__).resolve().parents[4]
TEMPLATE = (ROOT / TEMPLATE_PATH).read_text()
FILLED = "\n".join(f"## {s}\n{s} is written down here for real.\n" for s in SECTIONS)
CHANGE = ContractChange(ContractKind.DBT_MODEL, "stg_users", ChangeKind.MODIFIED, ("x",), False)


def test_the_template_has_every_section_with_a_placeholder() -> None:
    found = sections(TEMPLATE)
    assert list(found) == list(SECTIONS)
    assert all(found[s] for s in SECTIONS), "each section carries a placeholder line"


def test_the_template_as_is_does_not_pass() -> None:
    result = check_change_request(TEMPLATE, TEMPLATE)
    assert not result.ok
    assert result.placeholder == SECTIONS


def test_a_filled_request_passes() -> None:
    result = check_change_request(FILLED, TEMPLATE)
    assert result.ok
    assert change_request_violations(result, [CHANGE]) == []


@pytest.mark.parametrize("filler", ["", "<!-- later -->", "TBD", "_todo_", "n/a"])
def test_empty_or_placeholder_sections_are_named(filler: str) -> None:
    body = FILLED.replace("Mitigation is written down here for real.", filler)
    result = check_change_request(body, TEMPLATE)
    assert not result.ok
    assert "Mitigation" in (*result.empty, *result.placeholder)
    (v,) = change_request_violations(result, [CHANGE])
    assert v.rule is Rule.CHANGE_REQUEST_INCOMPLETE and "Mitigation" in v.changed


def test_a_missing_section_is_named() -> None:
    body = FILLED.replace("## Timeline", "## Notes")
    (v,) = change_request_violations(check_change_request(body, TEMPLATE), [CHANGE])
    assert v.rule is Rule.CHANGE_REQUEST_INCOMPLETE and "Timeline: missing" in v.changed


def test_no_request_at_all_is_missing_but_only_for_contract_changes() -> None:
    result = check_change_request("Fixes a typo.", TEMPLATE)
    assert not result.present
    (v,) = change_request_violations(result, [CHANGE])
    assert v.rule is Rule.CHANGE_REQUEST_MISSING and "stg_users" in v.changed
    assert change_request_violations(result, []) == []


def test_headings_inside_code_fences_do_not_count() -> None:
    body = "```\n## Owner\nme\n```\n"
    assert check_change_request(body, TEMPLATE).present is False
