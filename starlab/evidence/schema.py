"""The JSON Schema every evidence.json must match, and the check that applies it.

Backs issue 13's "evidence.json must be validated against a JSON Schema kept
in the repo": `evidence.schema.json` (draft 2020-12) sits beside this module,
`build_report` validates what it is about to write and `load_run` what it
reads. A claim without a method or a reproduce command fails here, even
though `Claim` itself accepts one while a story is still filling it in.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from starlab.evidence.claim import EvidenceError

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "evidence_schema", "validate_evidence"]

SCHEMA_VERSION = 2
"""evidence.json's `schema_version`. 1 was the bare list of claims written before run ids."""

SCHEMA_PATH = Path(__file__).with_name("evidence.schema.json")
"""Shipped inside the package (hatch includes non-Python files of listed packages)."""

_MAX_MESSAGE = 160  # a jsonschema message can quote a whole claim; one line is the rule


@cache
def evidence_schema() -> dict[str, Any]:
    """The schema as a dict, read once."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(evidence_schema())


def validate_evidence(document: object, source: str = "evidence.json") -> None:
    """Raise `EvidenceError` naming the JSON path of the most relevant error, if `document` is invalid.

    The message is one line: "evidence.json does not match evidence.schema.json at
    $.claims[2].method: '' should be non-empty".
    """
    error = best_match(_validator().iter_errors(document))
    if error is None:
        return
    message = " ".join(error.message.split())
    if len(message) > _MAX_MESSAGE:
        # Cut the middle: jsonschema quotes the instance first and says what is wrong last.
        tail = _MAX_MESSAGE // 3
        message = f"{message[: _MAX_MESSAGE - tail - 1]}\u2026{message[-tail:]}"
    raise EvidenceError(f"{source} does not match {SCHEMA_PATH.name} at {error.json_path}: {message}")
