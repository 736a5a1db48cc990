"""Story 3's SLO alerts for one run: the shipped rules, scoped to the run, with a run's own margins.

Backs "SLO-based alerting (freshness, consumer lag) and a runbook" in a run of
minutes: the shipped rules (`streaming/slo.yaml`: 5 minutes of freshness,
100,000 records of lag, `for` 1 minute) are what production would page on,
and a 30 s stall never reaches them. A test or a demo renders a copy of the
same alerts with compressed thresholds, watching only its run:

- freshness by the run's own label (`run`, set by the harness' file_sd target),
- lag by the run's consumer group (each run has its own; the lag exporter
  labels series by group, not by run).

The copy adds one guard the shipped rule does not need: freshness is judged
only once committed output has flowed for `warmup_s`. A job's first
checkpoints after a start are slower than its steady state; the shipped
`for` of a minute rides over them, a `for` of seconds does not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import yaml

from starlab.observability.slo import AlertOverride, load_slo_file, render_scoped
from starlab.settings import ROOT

__all__ = ["SLO_FILE", "run_rules"]

SLO_FILE = ROOT / "streaming" / "slo.yaml"
FRESHNESS = "FreshnessSLOBreach"
LAG = "ConsumerLagHigh"


def run_rules(
    overrides: Mapping[str, AlertOverride | Mapping[str, float]],
    warmup_s: float = 0.0,
) -> Callable[[str, str], str]:
    """`RunOptions.alert_rules`: given (run id, consumer group), the rule file for that run."""

    def build(run_id: str, group: str) -> str:
        slo = load_slo_file(SLO_FILE)
        # freshness is labelled by run, lag by the run's consumer group
        fresh, lag = (
            yaml.safe_load(
                render_scoped(
                    slo,
                    group=f"run-{run_id}-{suffix}",
                    scope=scope,
                    alerts=[alert],
                    overrides={k: v for k, v in overrides.items() if k == alert},
                )
            )
            for alert, suffix, scope in (
                (FRESHNESS, "freshness", {"run": run_id}),
                (LAG, "lag", {"group": group}),
            )
        )
        if warmup_s > 0:
            started = f'starlab_stream_output_started_time_seconds{{run="{run_id}"}}'
            for rule in fresh["groups"][0]["rules"]:
                if rule.get("alert") == FRESHNESS:
                    rule["expr"] = f"({rule['expr']}) and on (run) (time() - {started}) > {warmup_s:g}"
        return yaml.safe_dump({"groups": fresh["groups"] + lag["groups"]}, sort_keys=False)

    return build
