"""contracts/subjects.yaml and contracts/consumers.yaml: valid, complete, and in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.errors import BadContractInput
from contracts.gate.declarations import (
    ReaderSchema,
    load_consumers,
    load_subjects,
)
from starlab.appdb.schema import CDC_TABLES
from starlab.cdc.serde import CDC_COMPATIBILITY
from starlab.events.model import SCHEMA_PATH
from starlab.schema import CompatibilityMode, load_schema
from starlab.settings import Settings

ROOT = Path(__file__).resolve().parents[4]


def test_every_subject_has_a_mode_and_readable_version_files() -> None:
    subjects = load_subjects(ROOT)
    assert subjects.defaults.compatibility is CompatibilityMode.BACKWARD_TRANSITIVE
    names = [s.subject for s in subjects.subjects]
    assert "engagement.events-value" in names
    for subject in subjects.subjects:
        assert subjects.mode_of(subject) is not None
        for version in subject.versions:
            load_schema(ROOT / version.path)  # raises if unreadable or invalid


def test_the_event_schema_has_one_home() -> None:
    # the newest version is the file the producer and Flink read (the kernel's), not a copy of it
    (events,) = [s for s in load_subjects(ROOT).subjects if s.subject == "engagement.events-value"]
    assert ROOT / events.versions[-1].path == SCHEMA_PATH
    copies = [
        p
        for p in (ROOT / "contracts").rglob("*.avsc")
        if p.read_text() == (ROOT / events.versions[0].path).read_text()
    ]
    assert copies == []


def test_every_subjects_topic_is_in_the_consumer_map() -> None:
    consumers = load_consumers(ROOT)
    for subject in load_subjects(ROOT).subjects:
        entry = consumers.topics[subject.topic]
        assert entry.format == "avro" and entry.consumers, subject.topic


def test_the_map_covers_the_stream_and_cdc_topics_with_their_consumers() -> None:
    defaults = Settings.model_fields
    topics = {defaults[k].default for k in ("events_topic", "dlq_topic", "late_topic", "metrics_topic")}
    prefix = defaults["cdc_topic_prefix"].default
    topics |= {f"{prefix}.public.{t.name}" for t in CDC_TABLES} | {f"{prefix}.{t.name}" for t in CDC_TABLES}
    consumers = load_consumers(ROOT)
    assert topics <= set(consumers.topics)
    events = {c.name: c for c in consumers.consumers_of("engagement.events")}
    assert events["flink_engagement_job"].reader_schema is ReaderSchema.PINNED
    assert events["lake_events"].dbt_source == "lake.events"
    assert "stream_reconciliation" in {c.name for c in consumers.consumers_of("engagement.metrics.1m")}
    for entry in consumers.topics.values():
        for c in entry.consumers:
            assert c.code is None or (ROOT / c.code).exists() or c.status.value == "planned", c.code


def test_every_checked_in_cdc_schema_is_a_listed_version_with_the_bridges_mode() -> None:
    subjects = load_subjects(ROOT)
    listed = {v.path for s in subjects.subjects for v in s.versions}
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "contracts" / "cdc" / "schemas").rglob("*.avsc")}
    assert files and files <= listed
    for subject in subjects.subjects:
        if subject.versions[0].path.startswith("contracts/cdc/"):
            # one fact, two homes: the bridge sets it in the registry, the gate checks with it
            assert subjects.mode_of(subject).value == CDC_COMPATIBILITY, subject.subject


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("subjects: [\n  - subject: a\n   versions: []", "not valid YAML at line"),
        (
            "subjects:\n  - subject: a-value\n    compatibility: SIDEWAYS\n    versions: []",
            "unknown compatibility mode",
        ),
        (
            "subjects:\n  - subject: a-value\n    versions: [{version: 2, path: x.avsc}]",
            "versions must be 1..n",
        ),
        ("subjects:\n  - subject: a-value\n    versoins: []", "versoins"),
    ],
)
def test_bad_declarations_are_one_line_bad_input(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts" / "subjects.yaml").write_text(text)
    with pytest.raises(BadContractInput, match=message) as err:
        load_subjects(tmp_path, "working tree")
    assert "\n" not in str(err.value)


def test_no_declarations_at_the_base_means_no_contracts(tmp_path: Path) -> None:
    assert load_subjects(tmp_path).subjects == ()
    assert load_consumers(tmp_path).topics == {}
