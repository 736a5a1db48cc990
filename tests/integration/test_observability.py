"""After `starlab up`: every component scraped, every story's rules loaded, Alertmanager wired.

Backs issue 11's "scrape targets for everything that runs". Each job must be
up and must export the one series its dashboards or SLOs read; a renamed
metric in an exporter's config (the JMX rules, the lag exporter) fails here,
not silently on a dashboard panel.
"""

from __future__ import annotations

import time

import httpx
import pytest

from starlab.observability.query import PromClient
from starlab.settings import Settings
from starlab.stack import manager

pytestmark = pytest.mark.integration

SERIES_BY_JOB = {
    "kafka": "kafka_server_brokertopicmetrics_messagesin_total",
    "kafka-lag": "starlab_kafka_lag_exporter_refresh_seconds",
    "redis": "redis_keyspace_hits_total",
    "postgres": "pg_up",
    "schema-registry": "http_requests_total",
    "alertmanager": "alertmanager_notifications_total",
    "prometheus": "prometheus_rule_group_rules",
}


@pytest.fixture(scope="module")
def watched(observed: Settings) -> Settings:
    manager.up(observed, ["redis-exporter", "postgres-exporter"], progress=lambda m: None)
    return observed


def test_every_component_is_a_healthy_target_with_its_series(watched: Settings) -> None:
    prom = PromClient(watched.prometheus_url)
    deadline = time.monotonic() + 30  # a target added by this start is scraped within a few intervals
    while True:
        # the single stack's targets: the cluster's brokers and registry are listed too
        # (one Prometheus for both topologies) and are down unless the cluster runs
        ours = [t for t in prom.targets() if t.job in SERIES_BY_JOB and t.labels.get("topology") != "cluster"]
        health = {t.job: t.health for t in ours}
        missing = {job for job, series in SERIES_BY_JOB.items() if not prom.query(f'{series}{{job="{job}"}}')}
        if (set(health) == set(SERIES_BY_JOB) and set(health.values()) == {"up"} and not missing) or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(1)
    assert health == dict.fromkeys(SERIES_BY_JOB, "up")
    assert not missing, f"jobs without their series: {sorted(missing)}"


def test_every_story_slo_group_is_loaded_and_alertmanager_is_discovered(watched: Settings) -> None:
    # A reload (a test that installed and removed its own rules) re-creates the rule
    # groups (health "unknown" until their first evaluation) and re-runs Alertmanager
    # discovery (the list is empty until it finishes): both settle within a few
    # evaluation intervals, so wait for that state instead of sampling one instant.
    deadline = time.monotonic() + 30
    while True:
        rules = httpx.get(f"{watched.prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        ams = httpx.get(f"{watched.prometheus_url}/api/v1/alertmanagers", timeout=5).json()["data"]
        ours = [r for g in rules if g["name"].startswith("starlab-slo-") for r in g["rules"]]
        settled = ams["activeAlertmanagers"] and all(r["health"] != "unknown" for r in ours)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    names = {g["name"] for g in rules}
    assert {"starlab-slo-stream", "starlab-slo-features", "starlab-slo-rankings"} <= names
    assert all(r["health"] == "ok" for r in ours), [r for r in ours if r["health"] != "ok"]
    assert [a["url"] for a in ams["activeAlertmanagers"]] == [f"{watched.alertmanager_url}/api/v2/alerts"]


def test_status_lists_prometheus_and_alertmanager_with_their_addresses(watched: Settings) -> None:
    health = {h.name: h for h in manager.status(watched)}
    assert health["prometheus"].healthy and health["prometheus"].address == "127.0.0.1:9190"
    assert health["alertmanager"].healthy and health["alertmanager"].address == "127.0.0.1:9193"
