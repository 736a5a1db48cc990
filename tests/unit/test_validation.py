"""starlab.validation: pydantic's errors as one line naming each field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from starlab.validation import one_line


class _Claim(BaseModel):
    measured: float


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    story: str
    claims: list[_Claim]
    params: dict[str, int] = {}


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        _File.model_validate(data)
    return info.value


def test_list_items_are_indexed_and_fields_dotted() -> None:
    err = _error({"story": "s", "claims": [{"measured": 1}, {"measurd": 2}]})
    assert one_line(err) == "claims[1].measured: Field required"


def test_an_unknown_key_comes_before_the_missing_one_it_explains() -> None:
    err = _error({"stroy": "s", "claims": []})
    assert one_line(err).startswith("stroy: Extra inputs are not permitted; story: Field required")


def test_only_the_first_errors_are_shown_and_the_rest_counted() -> None:
    err = _error({"claims": [{}, {}, {}, {}]})
    assert one_line(err, shown=2).endswith("(+3 more)")
    assert one_line(err, shown=2).count(";") == 1


def test_an_error_of_the_whole_document_is_its_message_alone() -> None:
    # The caller puts the file's path first: "claims.json: Input should be ..."
    assert one_line(_error([1, 2])) == "Input should be a valid dictionary or instance of _File"


def test_a_bad_dict_value_names_its_key() -> None:
    err = _error({"story": "s", "claims": [], "params": {"events": "many"}})
    assert one_line(err).startswith("params.events: Input should be a valid integer")
