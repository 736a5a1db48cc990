"""Reading a story's claims file back (`StoryRecord.from_dict`): one-line errors, old files still load."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from starlab.evidence.claim import Claim, ClaimedValue, EvidenceError, Measured
from starlab.evidence.store import StoryRecord, load_story_records, record


def claim(claim: str, claimed: ClaimedValue, comparator: str, measured: Measured) -> Claim:
    return Claim(
        story="3-streaming",
        claim=claim,
        metric=claim.split()[0],
        unit="min",
        claimed=claimed,
        comparator=comparator,
        measured=measured,
        method="p95 over the run",
        command="starlab stream slo",
    )


def claims() -> list[Claim]:
    return [
        claim("freshness < 5 min", 5, "<", 2.4),
        claim("loss < 0.1%", 0.1, "<", None),  # not measured: `measured` is null, not absent
        claim("lag 1-3 min", (1, 3), "range", 2),
    ]


def stored(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A claims file as `record` writes it, and its JSON."""
    path = record(
        claims(), "3-streaming", tmp_path, topology="single", params={"events": 20000}, repo_root=tmp_path
    )
    return path, json.loads(path.read_text())


def rewrite(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data))


def test_a_record_round_trips_through_to_dict_and_from_dict(tmp_path: Path) -> None:
    _, data = stored(tmp_path)
    rec = StoryRecord.from_dict(data)
    assert rec.claims == tuple(claims())
    assert (rec.topology, rec.params) == ("single", {"events": 20000})
    assert StoryRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_a_file_from_before_recorded_at_commit_and_topology_still_loads(tmp_path: Path) -> None:
    path, data = stored(tmp_path)
    for key in ("recorded_at", "git_commit", "topology", "params"):
        del data[key]
    rewrite(path, data)
    [rec] = load_story_records(tmp_path)
    assert (rec.recorded_at, rec.git_commit, rec.topology, dict(rec.params)) == ("", None, None, {})
    assert rec.claims == tuple(claims())


@pytest.mark.parametrize("key", ["story", "claims"])
def test_a_renamed_required_key_names_the_file_and_the_key(tmp_path: Path, key: str) -> None:
    path, data = stored(tmp_path)
    data[key + "_v2"] = data.pop(key)
    rewrite(path, data)
    with pytest.raises(EvidenceError, match=rf"^{re.escape(str(path))}: {key}: Field required$"):
        load_story_records(tmp_path)


def test_a_claim_without_measured_names_the_file_and_the_claim(tmp_path: Path) -> None:
    # a renamed `measured` must not read as "not measured"
    path, data = stored(tmp_path)
    data["claims"][2]["measured_value"] = data["claims"][2].pop("measured")
    rewrite(path, data)
    with pytest.raises(EvidenceError, match=rf"^{re.escape(str(path))}: claims\[2\]: .*lacks measured$"):
        load_story_records(tmp_path)


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("recorded_at", 1733140000, "recorded_at"),  # was str()-ed before
        ("git_commit", ["abc"], "git_commit"),  # was read as "no commit" before
        ("topology", 2, "topology"),
        ("params", [1, 2], "params"),
        ("story", None, "story"),
        ("claims", {"0": {}}, "claims"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_field(
    tmp_path: Path, key: str, value: object, field: str
) -> None:
    path, data = stored(tmp_path)
    data[key] = value
    rewrite(path, data)
    with pytest.raises(EvidenceError, match=rf"^{re.escape(str(path))}: {field}: Input should be a valid"):
        load_story_records(tmp_path)


@pytest.mark.parametrize(
    ("claim", "match"),
    [
        ("not a claim", r"claims\[1\]: Input should be a valid dictionary"),
        ({"details": "abc"}, r"claims\[1\]: "),  # dict("abc") would be a bare ValueError
        ({"measured": [2.4]}, r"claims\[1\]: measured must be a number"),
        ({"comparator": "~"}, r"claims\[1\]: comparator '~'"),
    ],
)
def test_a_malformed_claim_names_its_index(tmp_path: Path, claim: object, match: str) -> None:
    _, data = stored(tmp_path)
    data["claims"][1] = {**data["claims"][1], **claim} if isinstance(claim, dict) else claim
    with pytest.raises(EvidenceError, match=rf"^claims file: {match}"):
        StoryRecord.from_dict(data, source="claims file")


def test_a_file_that_is_not_an_object_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match=r"^x.json: expected a JSON object, got list$"):
        StoryRecord.from_dict([], source="x.json")
