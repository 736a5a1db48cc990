"""Exactly-once under SIGKILL of the job and of the broker; SLO alerts fire and clear."""

from __future__ import annotations

import pytest

from starlab.settings import Settings
from streaming.scenario import Fault, RunOptions, run_stream
from streaming.slo import load_rules

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_exactly_once_with_job_and_broker_killed(isolated: Settings, tmp_path) -> None:
    s = isolated.model_copy(update={"data_dir": tmp_path / "data"})
    opts = RunOptions(
        events=200_000, rate=5_000, faults=[Fault.parse("kill-job@0.3"), Fault.parse("kill-broker@0.6")]
    )
    r = run_stream(s, opts, progress=print)
    rep = r.report
    assert len(r.faults_done) == 2, r.faults_done
    assert r.restored_from and r.restored_from[0] != "None"  # resumed from a checkpoint
    assert rep.expected_unique == 200_000
    assert rep.lost == 0
    assert rep.duplicated == 0
    assert rep.late_captured == rep.expected_late > 0
    assert rep.metric_mismatches == 0
    assert rep.ok, rep.to_dict()


def test_stall_fires_alerts_that_clear(isolated: Settings, tmp_path) -> None:
    s = isolated.model_copy(update={"data_dir": tmp_path / "data"})
    rules = load_rules(
        overrides={
            "FreshnessSLOBreach": {"threshold": 12, "for_s": 2, "clear_for_s": 8},
            "ConsumerLagHigh": {"threshold": 30_000, "for_s": 2, "clear_for_s": 8},
        }
    )
    # 50 s of input; the job hangs from 6 s to 21 s, then has 29 s to catch up
    # and stay clear for `clear_for_s` before the input ends.
    opts = RunOptions(events=100_000, rate=2_000, faults=[Fault.parse("stall@0.12:15")], rules=rules)
    r = run_stream(s, opts, progress=print)
    by_rule: dict[str, list[str]] = {}
    for a in r.alerts:
        by_rule.setdefault(str(a["rule"]), []).append(str(a["state"]))
    assert by_rule.get("FreshnessSLOBreach") == ["firing", "resolved"], r.alerts
    assert by_rule.get("ConsumerLagHigh") == ["firing", "resolved"], r.alerts
    assert r.report.ok
