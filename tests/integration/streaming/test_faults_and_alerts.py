"""Exactly-once under SIGKILL of the job and of the broker; SLO alerts fire and clear through Prometheus."""

from __future__ import annotations

import pytest

from starlab.observability.query import PromClient
from starlab.settings import Settings
from streaming.alerts import run_rules
from streaming.scenario import Fault, RunOptions, run_stream

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_job_killed_while_its_broker_recovers_comes_back_by_itself(isolated: Settings, tmp_path) -> None:
    """Issue 12's cascade: 1 s checkpoints, the job killed at 20% and 70%, the broker at 45%.

    At 8,000 events/s the second kill lands while the broker is still coming
    back and the first restart may still be under way. Before the restart
    retried with back-off (and the two kills took turns on the job) this run
    aborted with "flink-job exited at start".

    It is also the single topology's exactly-once test under a job kill and a
    broker kill (a separate run of 200,000 events with both kills took 175 s
    of CI and checked nothing this one does not; the cluster's fault test
    runs 200,000 events with 5 s checkpoints).
    """
    s = isolated.model_copy(update={"data_dir": tmp_path / "data"})
    faults = [Fault.parse(f) for f in ("kill-job@0.2", "kill-broker@0.45", "kill-job@0.7")]
    opts = RunOptions(events=80_000, rate=8_000, checkpoint_interval_ms=1_000, faults=faults)
    r = run_stream(s, opts, progress=print)
    assert len(r.faults_done) == 3 and len(r.restored_from) == 2, r.faults_done
    assert "None" not in r.restored_from  # each restart resumed from a checkpoint, not from scratch
    assert r.report.expected_unique == 80_000
    assert (r.report.lost, r.report.duplicated, r.report.metric_mismatches) == (0, 0, 0)
    assert r.report.late_captured == r.report.expected_late > 0
    assert r.report.ok, r.report.to_dict()
    assert [i.fault for i in r.impacts] == ["kill-job", "kill-broker", "kill-job"]


# The stall test's margins, derived instead of guessed. The job commits its
# source offsets at each checkpoint, so even a healthy job lags by up to one
# checkpoint interval of input (plus the checkpoint's own duration); a stalled
# job's lag grows by RATE every second. ConsumerLagHigh must fire (lag above
# the threshold for FOR_S, seen by a monitor that samples about once a second)
# and must not fire while healthy, so the threshold sits halfway between the
# healthy ceiling and the lag the stall holds for long enough. (At 30,000 with
# a 15 s stall the threshold was exactly the stall's backlog and the alert
# fired in 1 of 2 runs.)
#
# The path is the production one: the harness exports the newest committed
# event time, the lag exporter the group's lag; Prometheus scrapes both and
# evaluates the rules every SCRAPE_S, Alertmanager notifies the receiver. That
# adds up to SCRAPE_S of scrape age plus SCRAPE_S of evaluation to what the
# rule sees, within SAMPLING_MARGIN_S.
#
# Both alerts must also RESOLVE before the input ends (after it, nothing new
# is committed and freshness only ages): the job must drain the stall's
# backlog and then stay clear for CLEAR_FOR_S. The drain rate is the margin
# that depends on the machine: with 2 cores shared by Kafka, Flink and other
# jobs (load average 6) the job was seen draining at only a few times the
# input rate, and at 2,000 events/s with 38 s left the alerts never cleared.
# So the input rate is low and the time left after the stall is long enough
# for a job draining at just DRAIN_FACTOR x the input rate.
RATE = 1_000  # events/s
CHECKPOINT_S = 5
# A healthy job's output is at most one checkpoint interval behind, plus the
# checkpoint's own duration (up to ~5 s on 2 loaded cores: a run at load
# average 6 sat at 13 s of freshness when healthy and never cleared a 12.5 s
# threshold), plus producing and sampling (~2 s).
HEALTHY_DELAY_S = CHECKPOINT_S + 5 + 2
STALL_S = 30
FOR_S = 2
CLEAR_FOR_S = 8  # keep_firing_for: resolve only after 8 s clear, not on the first dip
SCRAPE_S = 1  # STARLAB_SCRAPE_INTERVAL_S, the stack's default
SAMPLING_MARGIN_S = (
    5  # scrape age + evaluation (2 x SCRAPE_S), the stall starting mid-interval, 2 loaded cores
)
HELD_S = STALL_S - FOR_S - SAMPLING_MARGIN_S  # how far past healthy the stall surely pushes, held FOR_S
HEALTHY_LAG_CEILING = RATE * HEALTHY_DELAY_S
LAG_HELD_LONG_ENOUGH = RATE * (HEALTHY_DELAY_S + HELD_S)
LAG_THRESHOLD = (HEALTHY_LAG_CEILING + LAG_HELD_LONG_ENOUGH) // 2
FRESHNESS_THRESHOLD_S = HEALTHY_DELAY_S + HELD_S / 2
INPUT_S = 150
# The run's freshness alert is judged only after WARMUP_S of committed output: with
# rules compressed to a 2 s `for`, the job's first, slower checkpoints under
# load aged the output to 17.5 s once and fired the freshness alert before the
# stall began (the production rules' 60 s `for` rides over that by itself).
WARMUP_S = 20
# The first committed output came 22 s after the input started at load average
# 8 (job start, first checkpoints): the stall must begin after that plus the
# warm-up, or the alerts are first evaluated mid-stall.
FIRST_OUTPUT_MAX_S = 25
STALL_AT = 0.34  # of the records: the stall starts 51 s in and ends at 81 s
DRAIN_FACTOR = 2.5  # the slowest drain we allow for: 2.5x the input rate
BACKLOG = RATE * (STALL_S + HEALTHY_DELAY_S)
DRAIN_S = BACKLOG / (RATE * (DRAIN_FACTOR - 1))
TIME_LEFT_S = INPUT_S * (1 - STALL_AT) - STALL_S


def test_stall_margins_are_wide() -> None:
    # at least 5 s of input on each side of the lag threshold, and of age on
    # each side of the freshness threshold
    assert LAG_THRESHOLD - HEALTHY_LAG_CEILING >= 5 * RATE
    assert LAG_HELD_LONG_ENOUGH - LAG_THRESHOLD >= 5 * RATE
    assert FRESHNESS_THRESHOLD_S - HEALTHY_DELAY_S >= 5
    assert HEALTHY_DELAY_S + HELD_S - FRESHNESS_THRESHOLD_S >= 5
    # a slow drain plus the clear period fits in the time left, with 20 s to spare
    assert TIME_LEFT_S - (DRAIN_S + CLEAR_FOR_S + CHECKPOINT_S) >= 20
    # the warm-up (from the first output) ends before the stall
    assert INPUT_S * STALL_AT - (FIRST_OUTPUT_MAX_S + WARMUP_S) >= 5


def test_stall_fires_alerts_that_clear(isolated: Settings, observed: Settings, tmp_path) -> None:
    s = isolated.model_copy(update={"data_dir": tmp_path / "data"})
    opts = RunOptions(
        events=RATE * INPUT_S,
        rate=RATE,
        checkpoint_interval_ms=CHECKPOINT_S * 1000,
        faults=[Fault.parse(f"stall@{STALL_AT}:{STALL_S}")],
        alert_rules=run_rules(
            {
                "FreshnessSLOBreach": {
                    "threshold": FRESHNESS_THRESHOLD_S,
                    "for_s": FOR_S,
                    "keep_firing_for_s": CLEAR_FOR_S,
                },
                "ConsumerLagHigh": {
                    "threshold": LAG_THRESHOLD,
                    "for_s": FOR_S,
                    "keep_firing_for_s": CLEAR_FOR_S,
                },
            },
            warmup_s=WARMUP_S,
        ),
    )
    r = run_stream(s, opts, progress=print)
    (stall,) = r.fault_windows
    by_rule: dict[str, list[str]] = {}
    for a in r.alerts:
        by_rule.setdefault(a.alertname, []).append(a.status)
    # each alert fired once and resolved once, as Alertmanager delivered them to the webhook
    assert by_rule.get("FreshnessSLOBreach") == ["firing", "resolved"], r.alerts
    assert by_rule.get("ConsumerLagHigh") == ["firing", "resolved"], r.alerts
    for a in r.alerts:
        # nothing fired before the stall (warm-up, healthy lag) ...
        assert a.started > stall.started_at, (a, stall)
        if a.status == "resolved":
            # ... and each resolved after the job came back, while input still flowed
            # (not because the run's freshness series left Prometheus at the end)
            assert a.ended is not None and stall.ended_at < a.ended < r.input_ended_at, (
                a,
                stall,
                r.input_ended_at,
            )
            assert a.annotations["runbook_url"].startswith("docs/runbooks/")
    assert r.report.ok
    # Flink's own reporter was scraped during the run (its checkpoints, from the job's JVM)
    prom = PromClient(s.prometheus_url)
    completed = prom.query(
        f"max(max_over_time(flink_jobmanager_job_numberOfCompletedCheckpoints[{INPUT_S}s]))",
        at=r.input_ended_at,
    )
    assert completed and completed[0].v >= INPUT_S / CHECKPOINT_S / 2, completed
    # and Prometheus' view of the run sits beside the exact figures
    assert r.prometheus is not None and r.prometheus.freshness_p95_s is not None
