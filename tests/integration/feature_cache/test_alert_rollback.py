"""The 004 story's auto-rollback as an alert: FeatureP95High fires, the receiver trips the kill switch.

Backs "guardrails (kill-switch, error budget alerts, auto-rollback if p95 >
250 ms ...)" on the production path: the serving app's `/metrics` is scraped
through file_sd, the shipped rule (`feature_cache/slo.yaml`) is evaluated by
Prometheus, Alertmanager notifies starlab's receiver, and the receiver POSTs
the alert's `action_body` to its `action_url`, the breaching instance's own
`/admin/killswitch`, templated from the alert's `instance` label.

The copy of the rule watches this app only (scoped by `instance`) with its
threshold at 0 s, so any traffic breaches it: the test is about the path
(scrape, rule, `for`, notification, action), which a real 250 ms breach
takes too, a minute later.
"""

from __future__ import annotations

import time

import httpx
import pytest

from feature_cache.bench.rig import APP_FACTORY, app_env
from feature_cache.deps.fleet import DependencyFleet
from feature_cache.settings import Design, FeatureCacheSettings
from starlab.observability.live import alerts_for, installed_rules
from starlab.observability.slo import load_slo_file, render_scoped
from starlab.serving.process import AppServer
from starlab.settings import ROOT, Settings

pytestmark = pytest.mark.integration


def test_the_p95_alert_trips_the_breaching_instances_kill_switch(observed: Settings, prefix: str) -> None:
    started = time.time()
    with (
        DependencyFleet(FeatureCacheSettings().fleet_config(failure_rate=0.0)) as fleet,
        AppServer(
            APP_FACTORY,
            env=app_env(Design.B, fleet, observed.redis_url, prefix, scoring=False, guardrail_armed=False),
            metrics_job="feature-api",
        ) as app,
    ):
        instance = f"{app.host}:{app.port}"
        rules = render_scoped(
            load_slo_file(ROOT / "feature_cache" / "slo.yaml"),
            group=f"rollback-{prefix.split(':')[0]}",
            scope={"instance": instance},
            alerts=["FeatureP95High"],
            overrides={"FeatureP95High": {"threshold": 0.0, "for_s": 2, "keep_firing_for_s": 5}},
        )
        with installed_rules(observed, prefix.split(":")[0], rules), httpx.Client(base_url=app.base_url) as c:
            assert c.get("/admin/state").json()["killswitch"]["on"] is False
            deadline = time.monotonic() + 60
            state = {}
            i = 0
            while time.monotonic() < deadline:
                c.get(f"/features/u{i % 500:05d}")
                i += 1
                if i % 50 == 0:
                    state = c.get("/admin/state").json()["killswitch"]
                    if state["on"]:
                        break
                time.sleep(0.01)
    assert state.get("on") is True, f"kill switch still off after {i} requests"
    assert "FeatureP95High" in state["reason"]
    fired = [a for a in alerts_for(observed, started, alertname="FeatureP95High", instance=instance)]
    assert fired and fired[0].status == "firing"
    assert fired[0].action == f"POST http://{instance}/admin/killswitch -> 200"
    assert fired[0].annotations["runbook_url"] == "docs/runbooks/feature-p95-high.md"
