"""Avro schema handling for story 1: parsing and Confluent's compatibility modes.

`check()` is the one place compatibility is decided: the contracts CI gate
(`starlab contracts compat`) and the schema registry (`starlab.registry`) both
call it, so a change that passes CI is exactly a change the registry accepts.

Confluent's registry decides with Java Avro, so Java Avro is the reference:
`model` and `checker` port the parts of Java's parser and `SchemaCompatibility`
that decide, `corpus` generates the cases, and `reference` (with the Maven
project in `java/`) runs Java on them for the differential test.
"""

from starlab.schema.compatibility import (
    CompatibilityMode,
    CompatibilityResult,
    Incompatibility,
    InvalidCompatibilityModeError,
    InvalidDefaultError,
    SchemaFileError,
    SchemaJsonError,
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
    "InvalidDefaultError",
    "SchemaFileError",
    "SchemaJsonError",
    "SchemaParseError",
    "canonical_text",
    "check",
    "check_files",
    "load_schema",
    "parse_schema",
]
