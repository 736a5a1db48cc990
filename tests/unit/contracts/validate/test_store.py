"""The contract_gate DAG's per-interval files: samples and the report round-trip as the same types."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from contracts.errors import ContractsError
from contracts.validate import store
from contracts.validate.model import (
    Check,
    Finding,
    RelationColumn,
    RelationSample,
    SampledRecord,
    TopicSample,
    ValidationReport,
)
from starlab.settings import Settings


def test_each_interval_has_its_own_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    a, b = store.interval_dir(settings, date(2026, 6, 1)), store.interval_dir(settings, date(2026, 6, 2))
    assert a != b and a == tmp_path / "contracts" / "gate" / "2026-06-01"


def test_samples_and_the_report_read_back_equal(tmp_path: Path) -> None:
    topics = (
        TopicSample(
            contract_topic="app.users",
            topic="t.users",
            subject="app.users-value",
            exists=True,
            compacted=True,
            records=(SampledRecord(partition=0, offset=4, key="a2V5", value=None),),
        ),
    )
    relations = (
        RelationSample(
            model="dim_items v1",
            relation="marts.dim_items",
            exists=True,
            columns=(RelationColumn(name="item_id", data_type="VARCHAR"),),
            rows=({"item_id": None},),
        ),
    )
    report = ValidationReport(
        interval=date(2026, 6, 1),
        contracts_root="/repo",
        topics=(),
        relations=(),
        findings=(Finding(check=Check.NOT_NULL, contract="dim_items v1", object="x", detail="1 null"),),
    )
    assert store.read_topics(store.write_topics(tmp_path / store.TOPICS, topics)) == topics
    assert store.read_relations(store.write_relations(tmp_path / store.RELATIONS, relations)) == relations
    again = store.read_report(store.write_model(tmp_path / store.REPORT, report))
    assert again == report and not again.passed


def test_a_missing_file_is_a_contracts_error(tmp_path: Path) -> None:
    with pytest.raises(ContractsError, match="cannot read"):
        store.read_topics(tmp_path / "nope.json")
