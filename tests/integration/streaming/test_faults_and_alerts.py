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


# The stall test's margins, derived instead of guessed. The job commits its
# source offsets at each checkpoint, so even a healthy job lags by up to one
# checkpoint interval of input (plus the checkpoint's own duration); a stalled
# job's lag grows by RATE every second. ConsumerLagHigh must fire (lag above
# the threshold for FOR_S, seen by a monitor that samples about once a second)
# and must not fire while healthy, so the threshold sits halfway between the
# healthy ceiling and the lag the stall holds for long enough. (At 30,000 with
# a 15 s stall the threshold was exactly the stall's backlog and the alert
# fired in 1 of 2 runs.)
RATE = 2_000  # events/s
CHECKPOINT_S = 5
STALL_S = 25
FOR_S = 2
SAMPLING_MARGIN_S = 5  # monitor sampling, the stall starting mid-interval, scheduling on 2 cores
HEALTHY_LAG_CEILING = RATE * (CHECKPOINT_S + 1)
LAG_HELD_LONG_ENOUGH = RATE * (STALL_S - FOR_S - SAMPLING_MARGIN_S)
LAG_THRESHOLD = (HEALTHY_LAG_CEILING + LAG_HELD_LONG_ENOUGH) // 2
# Freshness: healthy output is at most ~one checkpoint old; a stall ages it 1 s per s.
FRESHNESS_THRESHOLD_S = (CHECKPOINT_S + 2 + (STALL_S - FOR_S - SAMPLING_MARGIN_S)) / 2


def test_stall_margins_are_wide() -> None:
    # the derivation above leaves at least 5 s of input on each side of the threshold
    assert LAG_THRESHOLD - HEALTHY_LAG_CEILING >= 5 * RATE
    assert LAG_HELD_LONG_ENOUGH - LAG_THRESHOLD >= 5 * RATE
    assert FRESHNESS_THRESHOLD_S - (CHECKPOINT_S + 2) >= 5


def test_stall_fires_alerts_that_clear(isolated: Settings, tmp_path) -> None:
    s = isolated.model_copy(update={"data_dir": tmp_path / "data"})
    rules = load_rules(
        overrides={
            "FreshnessSLOBreach": {"threshold": FRESHNESS_THRESHOLD_S, "for_s": FOR_S, "clear_for_s": 8},
            "ConsumerLagHigh": {"threshold": LAG_THRESHOLD, "for_s": FOR_S, "clear_for_s": 8},
        }
    )
    # 70 s of input; the job hangs from 7 s to 32 s, then has 38 s to work off
    # the 50,000-event backlog (~20k events/s here) and stay clear for
    # `clear_for_s` before the input ends.
    events = 140_000
    opts = RunOptions(
        events=events,
        rate=RATE,
        checkpoint_interval_ms=CHECKPOINT_S * 1000,
        faults=[Fault.parse(f"stall@0.1:{STALL_S}")],
        rules=rules,
    )
    r = run_stream(s, opts, progress=print)
    by_rule: dict[str, list[str]] = {}
    for a in r.alerts:
        by_rule.setdefault(str(a["rule"]), []).append(str(a["state"]))
    assert by_rule.get("FreshnessSLOBreach") == ["firing", "resolved"], r.alerts
    assert by_rule.get("ConsumerLagHigh") == ["firing", "resolved"], r.alerts
    assert r.report.ok
