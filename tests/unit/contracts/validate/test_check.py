"""The pre-deploy checks on samples, without Kafka or a warehouse: each rule passes and fails."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import fastavro
import pytest

from contracts.gate.manifest import ColumnContract
from contracts.validate.check import check_relation, check_topic, validate, value_findings, warehouse_type
from contracts.validate.declared import (
    ContractVersion,
    DeclaredContracts,
    ModelContract,
    SubjectContract,
    ValueCheck,
    ValueTest,
)
from contracts.validate.model import (
    Check,
    ContractCheckFailed,
    RelationColumn,
    RelationSample,
    SampledRecord,
    TopicSample,
)
from contracts.validate.topics import Registry, current_records
from starlab.cdc.serde import wire
from starlab.schema import canonical_text, parse_schema


def record_schema(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Value", "namespace": "app.public.users", "fields": list(fields)}


V1 = record_schema({"name": "user_id", "type": "string"}, {"name": "home_platform", "type": "string"})
V2 = record_schema(
    {"name": "user_id", "type": "string"},
    {"name": "home_platform", "type": "string"},
    {"name": "opt_in", "type": ["null", "boolean"], "default": None},
)
RENAMED = record_schema({"name": "user_id", "type": "string"}, {"name": "platform", "type": "string"})


class FakeRegistry(Registry):
    """Schemas by id and a latest version per subject, in memory."""

    def __init__(self, schemas: dict[int, dict[str, Any]], latest: dict[str, tuple[int, int]]) -> None:
        super().__init__("mock://")
        self.schemas = schemas
        self.latest_ids = latest

    def writer(self, schema_id: int) -> Any:
        return fastavro.parse_schema(self.schemas[schema_id])

    def latest(self, subject: str) -> tuple[int, str] | None:
        found = self.latest_ids.get(subject)
        return None if found is None else (found[0], json.dumps(self.schemas[found[1]]))


def contract_version(n: int, schema: dict[str, Any]) -> ContractVersion:
    text = json.dumps(schema)
    return ContractVersion(n, canonical_text(parse_schema(text)), text)


def encoded(
    schema_id: int, schema: dict[str, Any], value: dict[str, Any], key: str, offset: int
) -> SampledRecord:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(schema), value)
    return SampledRecord(
        partition=0,
        offset=offset,
        key=base64.b64encode(key.encode()).decode(),
        value=base64.b64encode(wire(schema_id, buf.getvalue())).decode(),
    )


PLATFORM = ValueTest("home_platform", ValueCheck.ACCEPTED_VALUES, ("ios", "android", "web"))
USERS = SubjectContract(
    "app.users-value", "app.users", (contract_version(1, V1), contract_version(2, V2)), (PLATFORM,)
)


def sample(*records: SampledRecord, compacted: bool = True) -> TopicSample:
    return TopicSample(
        contract_topic="app.users",
        topic="t1.users",
        subject="app.users-value",
        exists=True,
        compacted=compacted,
        records=records,
    )


def test_a_sample_written_with_reviewed_versions_passes() -> None:
    registry = FakeRegistry({1: V1, 2: V2}, {"t1.users-value": (2, 2)})
    s = sample(
        encoded(1, V1, {"user_id": "u1", "home_platform": "ios"}, "u1", 0),
        encoded(2, V2, {"user_id": "u2", "home_platform": "web", "opt_in": True}, "u2", 1),
    )
    summary, findings = check_topic(s, USERS, registry)
    assert findings == []
    assert summary.records == 2 and summary.schema_ids == (1, 2)
    assert summary.registry_version == 2 and summary.contract_version == 2


def test_an_unreviewed_registered_schema_and_undecodable_records_are_findings() -> None:
    # the app renamed a column and the registry (mode NONE) took it: v3 is in no contract
    registry = FakeRegistry({1: V1, 3: RENAMED}, {"t1.users-value": (3, 3)})
    s = sample(encoded(3, RENAMED, {"user_id": "u1", "platform": "ios"}, "u1", 0))
    _, findings = check_topic(s, USERS, registry)
    checks = [f.check for f in findings]
    assert Check.SCHEMA_UNREVIEWED in checks
    assert Check.DECODE_CONTRACT in checks  # v2 needs home_platform, the record has none
    unreviewed = next(f for f in findings if f.check is Check.SCHEMA_UNREVIEWED)
    assert unreviewed.object == "subject t1.users-value v3"


def test_values_outside_the_declared_accepted_values_are_a_finding_on_the_current_state() -> None:
    registry = FakeRegistry({1: V1}, {"t1.users-value": (1, 1)})
    bad = sample(
        encoded(1, V1, {"user_id": "u1", "home_platform": "ipados"}, "u1", 0),
        encoded(1, V1, {"user_id": "u2", "home_platform": "ipados"}, "u2", 1),
    )
    _, findings = check_topic(bad, USERS, registry)
    assert [f.check for f in findings] == [Check.ACCEPTED_VALUES]
    assert findings[0].count == 2 and "'ipados'" in findings[0].detail
    # corrected later: on a table topic only each key's newest record counts
    fixed = sample(
        *bad.records,
        encoded(1, V1, {"user_id": "u1", "home_platform": "ios"}, "u1", 2),
        encoded(1, V1, {"user_id": "u2", "home_platform": "ios"}, "u2", 3),
    )
    assert check_topic(fixed, USERS, registry)[1] == []
    # the same history on an event topic is every record
    assert check_topic(sample(*fixed.records, compacted=False), USERS, registry)[1] != []


def test_current_records_keep_each_keys_newest_and_drop_tombstones() -> None:
    a1 = encoded(1, V1, {"user_id": "a", "home_platform": "ios"}, "a", 0)
    b1 = encoded(1, V1, {"user_id": "b", "home_platform": "ios"}, "b", 1)
    a2 = encoded(1, V1, {"user_id": "a", "home_platform": "web"}, "a", 2)
    b_gone = SampledRecord(partition=0, offset=3, key=b1.key, value=None)
    assert current_records(sample(a1, b1, a2, b_gone)) == [a2]


def test_a_missing_topic_is_a_note_not_a_finding() -> None:
    missing = TopicSample(
        contract_topic="app.users", topic="t1.users", subject="app.users-value", exists=False, compacted=False
    )
    summary, findings = check_topic(missing, USERS, FakeRegistry({}, {}))
    assert findings == [] and summary.note == "topic does not exist yet"


DIM = ModelContract(
    "dim_items v1",
    "marts.dim_items",
    (
        ColumnContract("item_id", "varchar"),
        ColumnContract("category", "varchar"),
        ColumnContract("created_at", "timestamp"),
    ),
    (ValueTest("category", ValueCheck.NOT_NULL),),
)


def relation(
    columns: tuple[tuple[str, str], ...], rows: tuple[dict[str, str | None], ...] = ()
) -> RelationSample:
    return RelationSample(
        model="dim_items v1",
        relation="marts.dim_items",
        exists=True,
        columns=tuple(RelationColumn(name=n, data_type=t) for n, t in columns),
        rows=rows,
    )


def test_a_relation_equal_to_its_contract_passes() -> None:
    good = relation(
        (("item_id", "VARCHAR"), ("category", "VARCHAR"), ("created_at", "TIMESTAMP")),
        ({"category": "news"}, {"category": "food"}),
    )
    summary, findings = check_relation(good, DIM)
    assert findings == [] and summary.rows == 2


def test_missing_extra_and_retyped_columns_and_nulls_are_findings() -> None:
    bad = relation(
        (("item_id", "INTEGER"), ("category", "VARCHAR"), ("brand", "VARCHAR")),
        ({"category": None}, {"category": "news"}),
    )
    _, findings = check_relation(bad, DIM)
    by_check = {f.check: f for f in findings}
    assert set(by_check) == {
        Check.RELATION_TYPE,
        Check.RELATION_MISSING_COLUMN,
        Check.RELATION_EXTRA_COLUMN,
        Check.NOT_NULL,
    }
    assert by_check[Check.RELATION_TYPE].object == "relation marts.dim_items column item_id"
    assert by_check[Check.RELATION_MISSING_COLUMN].object.endswith("column created_at")
    assert by_check[Check.NOT_NULL].count == 1


def test_a_relation_not_built_yet_is_a_note() -> None:
    summary, findings = check_relation(
        RelationSample(model="dim_items v1", relation="marts.dim_items", exists=False), DIM
    )
    assert findings == [] and summary.note == "not built yet"


@pytest.mark.parametrize(
    ("contract", "duckdb"),
    [
        ("varchar", "VARCHAR"),
        ("string", "VARCHAR"),
        ("bigint", "BIGINT"),
        ("timestamp", "TIMESTAMP"),
        ("decimal(18,2)", "DECIMAL(18,2)"),
    ],
)
def test_type_spellings_of_one_type_compare_equal(contract: str, duckdb: str) -> None:
    assert warehouse_type(contract) == warehouse_type(duckdb)


def test_accepted_values_ignore_nulls_like_dbt() -> None:
    tests = (ValueTest("p", ValueCheck.ACCEPTED_VALUES, ("a",)),)
    assert value_findings(tests, [{"p": None}, {"p": "a"}], "m", "relation r") == []


def test_the_report_collects_every_finding_and_fails_once() -> None:
    contracts = DeclaredContracts(root=Path("."), subjects=(USERS,), models=(DIM,))
    registry = FakeRegistry({1: V1}, {"t1.users-value": (1, 1)})
    report = validate(
        contracts,
        [sample(encoded(1, V1, {"user_id": "u1", "home_platform": "tv"}, "u1", 0))],
        [relation((("item_id", "VARCHAR"),))],
        registry=registry,
        interval=date(2026, 6, 1),
    )
    assert not report.passed
    assert set(report.checks()) == {Check.ACCEPTED_VALUES, Check.RELATION_MISSING_COLUMN}
    assert len(report.describe().splitlines()) == len(report.findings)
    error = ContractCheckFailed(report)
    assert "2026-06-01" in str(error) and f"(+{len(report.findings) - 1} more)" in str(error)
