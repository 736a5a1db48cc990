"""The edge contract: each violation gets its stable reason code."""

from __future__ import annotations

import json

import pytest

from starlab.events.model import ContractViolation, Event, parse_event

GOOD = {
    "event_id": "e1",
    "user_id": "u1",
    "item_id": "i1",
    "event_type": "click",
    "event_ts": 1_767_225_600_000,
    "ingest_ts": 1_767_225_601_000,
    "platform": "ios",
    "session_id": "s1",
    "dwell_ms": None,
}


def raw(**changes: object) -> bytes:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


def test_valid_event_round_trips() -> None:
    event = parse_event(raw())
    assert event == Event(**GOOD)
    assert parse_event(event.to_json_bytes()) == event
    assert event.delay_ms == 1000


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b'{"event_id": "e1", "user', "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (raw(item_id=...), "missing_field"),
        (raw(user_id=None), "missing_field"),
        (raw(event_ts="2026-01-01T00:00:00Z"), "bad_type"),
        (raw(event_ts=True), "bad_type"),
        (raw(event_type="swipe"), "unknown_enum"),
        (raw(platform="tv"), "unknown_enum"),
        (raw(event_id=""), "bad_value"),
        (raw(dwell_ms=-5), "bad_value"),
        (raw(event_ts=1_767_225_601_000 + 6 * 60_000), "bad_value"),
    ],
)
def test_violations_have_reason_codes(record: bytes, reason: str) -> None:
    with pytest.raises(ContractViolation) as info:
        parse_event(record)
    assert info.value.reason == reason
