"""Recorded Debezium change events (real output of the stack's connector).

probe_changes.jsonl: a table with every PostgreSQL type the mapping covers
(snapshot read, insert, update, delete, tombstone), recorded from Debezium
3.7 on PostgreSQL 15 with the stack's connector settings. items_*/users_*:
the app team's tables at v1, and after items v2's expand migration.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

Records = Callable[[str], list[tuple[bytes | None, bytes | None]]]


def _records(name: str) -> list[tuple[bytes | None, bytes | None]]:
    out = []
    for line in (FIXTURES / f"{name}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        key = None if rec["key"] is None else json.dumps(rec["key"]).encode()
        value = None if rec["value"] is None else json.dumps(rec["value"]).encode()
        out.append((key, value))
    return out


@pytest.fixture
def recorded() -> Records:
    """(key, value) bytes of each record of a fixture file, as Kafka delivers them."""
    return _records
