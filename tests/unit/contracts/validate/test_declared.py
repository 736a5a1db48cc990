"""What the pre-deploy check validates against: names mapped to the live ones, value tests from dbt."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.validate.declared import (
    ValueCheck,
    ValueTest,
    live_topic,
    load_declared,
    localize_schema,
    value_tests,
)
from starlab.settings import ROOT, Settings

MANIFEST = Path(__file__).resolve().parents[3] / "fixtures" / "contracts" / "validate" / "manifest.json"
ISOLATED = Settings(cdc_topic_prefix="t9", events_topic="t9.events")


def test_contract_topics_follow_the_settings() -> None:
    assert live_topic("engagement.events", ISOLATED) == "t9.events"
    assert live_topic("app.items", ISOLATED) == "t9.items"
    assert live_topic("app.public.users", ISOLATED) == "t9.public.users"
    assert live_topic("features.user.v1", ISOLATED) == "features.user.v1"  # no setting names it
    assert live_topic("app.items", Settings()) == "app.items"  # the defaults map to themselves


def test_cdc_namespaces_move_to_the_live_prefix() -> None:
    schema = {"type": "record", "name": "Value", "namespace": "app.public.items", "fields": []}
    assert localize_schema(schema, ISOLATED)["namespace"] == "t9.public.items"
    events = {"type": "record", "name": "EngagementEvent", "namespace": "dev.starlab.events", "fields": []}
    assert localize_schema(events, ISOLATED) == events


def test_value_tests_are_not_null_and_accepted_values_without_a_where_filter() -> None:
    tests = value_tests(json.loads(MANIFEST.read_text()))
    assert tests["model.starlab.dim_items.v1"] == (ValueTest("category", ValueCheck.NOT_NULL),)
    assert tests["source.starlab.lake.users"] == (
        ValueTest("home_platform", ValueCheck.ACCEPTED_VALUES, ("ios", "android", "web")),
    )
    assert "source.starlab.lake.events" not in tests  # filtered by where: left to dbt


def test_the_repositorys_subjects_and_a_manifests_contracted_models_are_loaded() -> None:
    declared = load_declared(ROOT, MANIFEST, ISOLATED)
    names = {s.subject for s in declared.subjects}
    assert {"engagement.events-value", "app.items-value", "app.users-value"} <= names
    assert not any(n.endswith("-key") for n in names)
    users = next(s for s in declared.subjects if s.subject == "app.users-value")
    # the topic is landed into source lake.users (contracts/consumers.yaml): its tests apply to the topic
    assert users.value_tests == (
        ValueTest("home_platform", ValueCheck.ACCEPTED_VALUES, ("ios", "android", "web")),
    )
    assert '"t9.public.users"' in users.latest.text
    (model,) = declared.models  # the view without a contract is not checked
    assert model.label == "dim_items v1" and model.relation == "marts.dim_items"
    assert [c.name for c in model.columns] == ["item_id", "category"]


def test_without_a_manifest_only_subjects_are_checked() -> None:
    declared = load_declared(ROOT, None, Settings())
    assert declared.models == () and declared.subjects
