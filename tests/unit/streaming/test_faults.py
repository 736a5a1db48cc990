"""What a fault cost, read from a run's output arrivals and lag samples; which faults need the cluster."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from starlab.settings import Settings
from streaming.errors import StreamConfigError
from streaming.faults import fault_impact, fault_impacts
from streaming.scenario import Fault, RunOptions, run_stream


def test_the_pause_is_the_longest_gap_in_committed_output_after_the_fault() -> None:
    # output every 5 s (a checkpoint), the fault at 100, nothing until 118, then every 5 s
    arrivals = [float(t) for t in range(60, 100, 5)] + [118.0, 123.0, 128.0]
    lag = [(float(t), 500) for t in range(80, 100)] + [(float(t), 9_000) for t in range(100, 125)]
    lag += [(float(t), 400) for t in range(125, 140)]
    impact = fault_impact("kill-tm", 100.0, 140.0, arrivals, lag, slack_records=1_000)
    assert impact.pause_s == 18.0
    assert impact.recovery_s == 25.0  # lag back within one checkpoint of input of its 500 before


def test_a_fault_whose_output_never_came_back_pauses_to_the_end_and_never_recovers() -> None:
    impact = fault_impact("kill-jm", 10.0, 70.0, [5.0], [(5.0, 0), (20.0, 5_000), (60.0, 9_000)], 100)
    assert impact.pause_s == 60.0
    assert impact.recovery_s is None


def test_lag_that_was_low_before_the_longest_pause_ended_does_not_count_as_recovery() -> None:
    arrivals = [101.0, 130.0]
    lag = [(95.0, 0), (102.0, 0), (110.0, 4_000), (131.0, 0)]
    impact = fault_impact("kill-broker", 100.0, 140.0, arrivals, lag, 100)
    assert impact.pause_s == 29.0
    assert impact.recovery_s == 31.0


@pytest.mark.parametrize("text", ["kill-tm@0.5", "kill-jm@0.8"])
def test_cluster_faults_parse_but_the_single_topology_refuses_them(text: str, tmp_path: Path) -> None:
    fault = Fault.parse(text)
    with pytest.raises(StreamConfigError, match="cluster topology"):
        run_stream(Settings(home=tmp_path), RunOptions(faults=[fault]))


def test_an_unknown_fault_names_every_kind() -> None:
    with pytest.raises(StreamConfigError, match="kill-job\\|kill-broker\\|kill-tm\\|kill-jm\\|stall"):
        Fault.parse("kill-zk@0.5")


def test_a_run_without_faults_has_no_impacts_and_faults_are_taken_in_start_order() -> None:
    assert fault_impacts([], 100.0, [1.0, 2.0], [(1.0, 0)], 10) == []
    impacts = fault_impacts([("kill-jm", 50.0), ("kill-tm", 20.0)], 90.0, [21.0, 40.0, 51.0, 80.0], [], 10)
    assert [(i.fault, i.pause_s) for i in impacts] == [("kill-tm", 19.0), ("kill-jm", 29.0)]


def test_output_that_stopped_before_the_next_fault_is_paused_up_to_it() -> None:
    # kill-tm at 20: one commit at 21, then nothing until kill-jm at 60 (seen in a cluster run,
    # reported as a 0.1 s pause before the window's end counted)
    impacts = fault_impacts([("kill-tm", 20.0), ("kill-jm", 60.0)], 200.0, [21.0, 150.0, 155.0], [], 10)
    assert [(i.fault, i.pause_s) for i in impacts] == [("kill-tm", 39.0), ("kill-jm", 90.0)]


def test_a_jobmanager_kill_resubmits_the_job_while_the_jobmanager_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The overlap ADR 0008 measured (pause 31-38 s -> 20-25 s): the resubmission begins
    before the new JobManager is up, not after it and its TaskManagers are back."""
    from streaming import faults

    events: list[str] = []
    resubmitting = threading.Event()

    class JobManager:
        def __init__(self, settings: Settings) -> None:
            pass

        def kill(self) -> None:
            events.append("kill")

        def start(self) -> None:
            # A sequential harness would resubmit only after this returns: the wait fails then.
            assert resubmitting.wait(30), "the job was not resubmitted while the JobManager started"
            events.append("jobmanager up")

    def resubmit() -> Path:
        assert events == ["kill"]  # never before the old JobManager is dead
        resubmitting.set()
        return tmp_path / "chk-7"

    monkeypatch.setattr(faults, "FlinkJobManager", JobManager)
    monkeypatch.setattr(faults, "wait_for_slots", lambda settings, slots: events.append(f"{slots} slots"))
    r = faults.kill_jobmanager(Settings(data_dir=tmp_path), resubmit)
    assert events == ["kill", "jobmanager up", "4 slots"]
    assert r.restored_from == tmp_path / "chk-7"
    assert 0 <= r.rest_up_s <= r.slots_s and r.resubmitted_s >= 0
