"""The DAG's XCom `TypedDict`s (`rankings.publish.xcom`) match the dataclasses and `to_dict`s they mirror.

The DAG casts `asdict(...)` / `to_dict()` to these types, so nothing but this
test notices a field added, renamed or retyped on one side only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict
from typing import Any, get_type_hints

import pytest

from rankings.publish.gate import CheckResult
from rankings.publish.results import Candidate, FlipResult, InputsReport, PublishMetrics, WarmReport
from rankings.publish.warehouse import LakeStats
from rankings.publish.xcom import CandidateXCom, CheckXCom, FlipXCom, InputsXCom, MetricsXCom, WarmXCom


def _field_types(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(
    ("xcom", "cls"),
    [(FlipXCom, FlipResult), (WarmXCom, WarmReport), (MetricsXCom, PublishMetrics)],
)
def test_an_asdict_xcom_has_the_dataclass_fields_and_types(xcom: type, cls: type) -> None:
    assert xcom.__required_keys__ == {f.name for f in dataclasses.fields(cls)}
    assert get_type_hints(xcom) == _field_types(cls)


def test_the_candidate_xcom_has_every_candidate_field_and_its_type() -> None:
    assert CandidateXCom.__required_keys__ == {f.name for f in dataclasses.fields(Candidate)}
    expected = _field_types(Candidate) | {"checks": list[CheckXCom]}
    assert get_type_hints(CandidateXCom) == expected


def test_the_check_xcom_has_every_check_field() -> None:
    assert CheckXCom.__required_keys__ == {f.name for f in dataclasses.fields(CheckResult)}
    hints = get_type_hints(CheckXCom)
    field_types = _field_types(CheckResult)
    assert {k: v for k, v in hints.items() if k != "observed"} == {
        k: v for k, v in field_types.items() if k != "observed"
    }
    assert field_types["observed"] is Any  # to_dict narrows it to a JSON scalar


def test_real_to_dict_outputs_have_exactly_the_xcom_keys() -> None:
    cand = Candidate("b2", "green", "2026-11-21", 4, "b1", 300, False)
    cand.checks = [CheckResult("gx", "row_count_served_date", True, 300, "150..450 rows")]
    d = json.loads(json.dumps(cand.to_dict()))
    assert set(d) == CandidateXCom.__required_keys__
    assert all(set(c) == CheckXCom.__required_keys__ for c in d["checks"])
    flip = FlipResult(live_color="green", build_id="b2", previous_build_id="b1", view_synced=True)
    assert set(asdict(flip)) == FlipXCom.__required_keys__
    warm = WarmReport("b2", "b1", 4, 80, 0.01, "2026-11-22T04:20:00+00:00")
    assert set(asdict(warm)) == WarmXCom.__required_keys__
    metrics = PublishMetrics(**dict.fromkeys((f.name for f in dataclasses.fields(PublishMetrics)), None))
    assert set(metrics.to_dict()) == MetricsXCom.__required_keys__


def test_the_inputs_xcom_values_have_the_report_types() -> None:
    assert InputsXCom.__required_keys__ == {"as_of_date", "input_age_s", "parts"}
    hints = get_type_hints(InputsXCom)
    assert hints["input_age_s"] == get_type_hints(InputsReport)["input_age_s"]
    assert hints["parts"] == get_type_hints(LakeStats)["parts"]
