"""The capacity command reads the feature cache's memory figures from its JSON, strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.bench.capacity import load_feature_memory
from streaming.errors import StreamConfigError


def _write(tmp_path: Path, **doc: object) -> Path:
    path = tmp_path / "mem.json"
    path.write_text(json.dumps(doc))
    return path


def test_demo_keys_scale_the_measured_keys_per_user(tmp_path: Path) -> None:
    path = _write(tmp_path, users=20_000, keys=100_000, bytes=32_600_000, demo_users=5_000, redis_version="7")
    assert load_feature_memory(path) == (100_000, 32_600_000, 25_000)


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"users": 1, "keys": 5, "bytes": 10}, "not a feature memory measurement"),
        ({"users": 1, "keys": 0, "bytes": 10, "demo_users": 1}, "must be positive"),
        ({"users": "x", "keys": 5, "bytes": 10, "demo_users": 1}, "not a feature memory measurement"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, doc: dict[str, object], problem: str) -> None:
    path = _write(tmp_path, **doc)
    with pytest.raises(StreamConfigError, match=problem) as err:
        load_feature_memory(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_missing_file_says_which_command_makes_it(tmp_path: Path) -> None:
    with pytest.raises(StreamConfigError, match="starlab features memory"):
        load_feature_memory(tmp_path / "nope.json")
