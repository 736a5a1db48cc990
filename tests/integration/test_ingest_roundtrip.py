"""Avro events through the registry to Kafka and back, counted against the manifest."""

from __future__ import annotations

import httpx
import pytest

from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.ingest_check import check_ingest
from starlab.events.producer import EdgeProducer
from starlab.settings import Settings

pytestmark = pytest.mark.integration


def test_roundtrip_matches_manifest(isolated: Settings) -> None:
    gen = Generator(GeneratorConfig(events=5_000, duplicate_rate=0.05, malformed_rate=0.02, seed=11))
    with EdgeProducer(isolated) as producer:
        for emission in gen.emissions():
            producer.send(emission.raw)
    m = gen.manifest
    assert producer.stats.delivery_failures == 0
    assert producer.stats.accepted == m.valid_emissions
    assert producer.stats.dead_lettered == len(m.malformed)

    check = check_ingest(isolated, m)
    assert check.events_read == m.valid_emissions  # duplicates included: dedup is downstream
    assert check.distinct_ids == len(m.unique_ids) == 5_000
    assert check.dlq_read == len(m.malformed) > 0
    assert sum(check.dlq_reasons.values()) == check.dlq_read
    assert "?" not in check.dlq_reasons
    assert check.ok, check

    # The producer registered the contract under the topic's value subject.
    r = httpx.get(f"{isolated.schema_registry_url}/subjects/{isolated.events_topic}-value/versions/latest")
    assert r.status_code == 200
    assert "EngagementEvent" in r.json()["schema"]
