"""Event columns and literals for Flink SQL, generated from the Avro contract."""

from __future__ import annotations

import json

import pytest

from starlab.events.model import SCHEMA_PATH
from starlab.flink.ddl import avro_schema_literal, event_columns, interval_hms, template_values
from starlab.flink.errors import FlinkConfigError


def test_interval_literal_for_hour_to_second() -> None:
    assert interval_hms(5_000) == "0:00:05"
    assert interval_hms(600_000) == "0:10:00"
    assert interval_hms(25 * 3_600_000 + 61_000) == "25:01:01"


@pytest.mark.parametrize("ms", [1_500, -1_000])
def test_interval_refuses_fractions_and_negatives(ms: int) -> None:
    with pytest.raises(FlinkConfigError, match=str(ms)):
        interval_hms(ms)


def test_avro_literal_is_one_line_with_quotes_doubled() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    schema["doc"] = "the user's event"
    literal = avro_schema_literal(json.dumps(schema, indent=2))
    assert "\n" not in literal
    assert "the user''s event" in literal
    assert json.loads(literal.replace("''", "'")) == schema


def test_template_values_carry_the_schema_literal() -> None:
    values = template_values()
    assert values["avro_schema"] == avro_schema_literal()
    assert set(values) == {"event_columns", "event_columns_nullable", "event_names", "avro_schema"}


def test_a_union_of_two_types_has_no_column_type() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    schema["fields"].append({"name": "odd", "type": ["null", "int", "string"]})
    with pytest.raises(FlinkConfigError, match="odd"):
        event_columns(json.dumps(schema))
