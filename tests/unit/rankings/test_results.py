"""A candidate passed between the DAG's tasks as JSON (`to_dict` / `from_dict`) reads back exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rankings.errors import BadRecord
from rankings.publish.gate import CheckResult
from rankings.publish.results import Candidate


def candidate() -> Candidate:
    return Candidate(
        build_id="20261122T041557Z-blue-bd51",
        color="blue",
        as_of_date="2026-11-21",
        generation_seen=4,
        previous_build_id="20261121T041557Z-green-aa10",
        previous_served_rows=300,
        full_refresh=False,
        dbt_wall_s=12.5,
        dbt_model_s={"rankings": 3.25, "stg_events": 1.0},
        ranking_date="2026-11-21",
        rows=900,
        served_rows=300,
        duplicate_rate=0.0,
        checks=[
            CheckResult("dbt", "dbt_build", True, "12 data/unit tests passed", "all pass"),
            CheckResult("gx", "row_count_served_date", True, 300, "150..450 rows", "previous build 300"),
        ],
    )


def as_xcom(cand: Candidate) -> dict[str, Any]:
    """What the next task gets: the JSON Airflow stored."""
    data: dict[str, Any] = json.loads(json.dumps(cand.to_dict()))
    return data


def test_a_candidate_round_trips_through_to_dict_and_from_dict() -> None:
    cand = candidate()
    back = Candidate.from_dict(as_xcom(cand))
    assert back == cand
    assert back.gate_passed and back.checks[1].observed == 300


def test_fields_with_a_default_may_be_absent() -> None:
    d = as_xcom(candidate())
    for key in ("dbt_invocation_id", "dbt_wall_s", "dbt_model_s", "duplicate_rate", "checks"):
        del d[key]
    back = Candidate.from_dict(d)
    assert (back.dbt_wall_s, back.dbt_model_s, back.checks) == (0.0, {}, [])


@pytest.mark.parametrize("key", ["build_id", "generation_seen", "full_refresh", "previous_served_rows"])
def test_a_renamed_required_key_names_the_key(key: str) -> None:
    d = as_xcom(candidate())
    d[key + "_v2"] = d.pop(key)
    with pytest.raises(BadRecord, match=rf"^candidate: {key}: Field required$"):
        Candidate.from_dict(d)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"generation_seen": "4"}, "generation_seen: Input should be a valid integer"),
        ({"full_refresh": 0}, "full_refresh: Input should be a valid boolean"),
        ({"dbt_model_s": {"rankings": "3.25"}}, r"dbt_model_s.rankings: Input should be a valid number"),
        (
            {"checks": [{"source": "gx", "name": "n", "observed": 1, "expected": "e"}]},
            r"checks\[0\].passed: Field required",
        ),
        ({"checks": "all passed"}, r"checks: Input should be a valid (array|list)"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRecord, match=rf"^build_started xcom: {message}$"):
        Candidate.from_dict({**as_xcom(candidate()), **change}, source="build_started xcom")


def test_data_that_is_not_an_object_is_one_line() -> None:
    with pytest.raises(BadRecord, match=r"^candidate: Input should be an object$"):
        Candidate.from_dict(["20261122T041557Z-blue-bd51"])
