"""Avro schema handling for story 1: parsing and Confluent's compatibility modes.

`check()` is the one place compatibility is decided: the contracts CI gate
(`starlab contracts compat`) and the schema registry (`starlab.registry`) both
call it, so a change that passes CI is exactly a change the registry accepts.
"""

from starlab.schema.compatibility import (
    CompatibilityMode,
    CompatibilityResult,
    Incompatibility,
    InvalidCompatibilityModeError,
    SchemaParseError,
    canonical_text,
    check,
    check_files,
    load_schema,
    parse_schema,
)

__all__ = [
    "CompatibilityMode",
    "CompatibilityResult",
    "Incompatibility",
    "InvalidCompatibilityModeError",
    "SchemaParseError",
    "canonical_text",
    "check",
    "check_files",
    "load_schema",
    "parse_schema",
]
