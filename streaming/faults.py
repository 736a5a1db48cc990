"""Crashes of the cluster's parts during a live stream, and what each cost (issue 12).

Backs story 3's follow-up "and when a broker dies?": on the cluster topology
a fault test SIGKILLs, one after the other,

- the Kafka node that leads the most input partitions (its partitions fail
  over to in-sync replicas; `acks=all` and `min.insync.replicas=2` mean no
  acknowledged record is lost);
- the TaskManager running the most tasks (Flink restarts the job from its
  latest checkpoint, with exponential back-off, on the slots left);
- the JobManager (without HA nothing remembers the job: the JobManager is
  restarted and the job resubmitted from its latest retained checkpoint).

Each fault's cost is read from the run itself: the longest time without new
committed output after the fault began, and the time until consumer lag is
back to where it was before.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import httpx

from starlab.settings import Settings
from starlab.stack.cluster import FlinkJobManager, FlinkTaskManager, KafkaNode, wait_for_slots
from starlab.stack.components import Kafka
from streaming.errors import FaultInjectionError

CLUSTER_FAULTS = ("kill-tm", "kill-jm")
"""Faults that exist only on the cluster topology."""


def leading_node(settings: Settings, topic: str) -> int:
    """The node id leading the most partitions of `topic` (ties: the lowest id)."""
    from confluent_kafka.admin import AdminClient

    md = AdminClient({"bootstrap.servers": settings.kafka_bootstrap}).list_topics(topic, timeout=10)
    parts = md.topics[topic].partitions
    leaders = Counter(p.leader for p in parts.values() if p.leader >= 0)
    if not leaders:
        raise FaultInjectionError(f"no partition of {topic} has a leader")
    return min(leaders, key=lambda node: (-leaders[node], node))


def kill_broker(settings: Settings) -> str:
    """SIGKILL the broker (on the cluster: the input's busiest leader) and start it again."""
    if not settings.clustered:
        broker = Kafka(settings)
        broker.proc.kill()
        time.sleep(2)
        broker.start()
        return "kafka"
    node = KafkaNode(settings, leading_node(settings, settings.events_topic))
    node.proc.kill()
    time.sleep(2)
    node.start()
    return node.name


def busiest_taskmanager(settings: Settings) -> int:
    """Index (1 or 2) of the TaskManager with the most slots in use."""
    r = httpx.get(f"{settings.cluster_flink_rest_url}/taskmanagers", timeout=5)
    r.raise_for_status()
    used = {tm["id"]: tm["slotsNumber"] - tm["freeSlots"] for tm in r.json().get("taskmanagers", [])}
    if not used:
        raise FaultInjectionError("no TaskManager is registered with the JobManager")
    busiest = max(sorted(used), key=lambda tm: used[tm])
    return int(busiest.rsplit("-", 1)[1])


def kill_taskmanager(settings: Settings) -> str:
    """SIGKILL the busiest TaskManager, then start it again so the cluster is whole.

    The job does not wait for it: with two slots per TaskManager a
    parallelism-2 job restarts on the other one as soon as the JobManager
    misses the heartbeats (5 s). The job's slots are spread over both
    (`taskmanager.load-balance.mode: SLOTS`), so the other one already ran
    half of it, warm (ADR 0008: 26-30 s without output instead of 39 s).
    """
    tm = FlinkTaskManager(settings, busiest_taskmanager(settings))
    tm.kill()
    tm.start()
    return tm.name


@dataclass(frozen=True)
class JobManagerRestart:
    """Where a JobManager kill's time went, each figure from the SIGKILL on."""

    rest_up_s: float
    """Until the new JobManager answered on REST."""
    slots_s: float
    """Until both TaskManagers had registered their slots again."""
    resubmitted_s: float
    """Until the job was submitted again (its driver started at the kill)."""
    restored_from: Path | None
    """The checkpoint the resubmitted job restores."""


def kill_jobmanager(settings: Settings, resubmit: Callable[[], Path | None]) -> JobManagerRestart:
    """SIGKILL the JobManager, start it again, and resubmit the job while it starts.

    Without HA the new JobManager knows no job, so `resubmit` (the job's
    restart from its newest checkpoint, told the JobManager is new) runs
    at once beside the JobManager's start instead of after it: the driver's
    Python and JVM start and the SQL planning take as long as the
    JobManager's start, and its REST client retries the submission until
    the JobManager answers. The TaskManagers keep running and register with
    the new JobManager; the job's tasks are deployed once they have.
    """
    t0 = time.monotonic()
    jm = FlinkJobManager(settings)
    jm.kill()
    with ThreadPoolExecutor(1, thread_name_prefix="resubmit") as pool:
        submitted = pool.submit(lambda: (resubmit(), time.monotonic()))
        jm.start()
        rest_up = time.monotonic() - t0
        wait_for_slots(settings, 4)
        slots = time.monotonic() - t0
        restored_from, submitted_at = submitted.result()
    return JobManagerRestart(round(rest_up, 2), round(slots, 2), round(submitted_at - t0, 2), restored_from)


@dataclass(frozen=True)
class FaultImpact:
    """What one fault cost the pipeline, measured on the run."""

    fault: str
    pause_s: float
    """Longest time without new committed output from the fault's start on
    (exactly-once output is committed at each checkpoint, so a clean run
    shows gaps of about one checkpoint interval)."""
    recovery_s: float | None
    """From the fault's start until consumer lag was back within one
    checkpoint interval of input of its level before the fault; None if it never was."""


def fault_impact(
    fault: str,
    started_at: float,
    until: float,
    output_times: list[float],
    lag_samples: list[tuple[float, int]],
    slack_records: int,
    next_fault: bool = False,
) -> FaultImpact:
    """The pause and recovery of a fault that began at `started_at`, looked at up to `until`.

    `output_times` are the wall-clock arrival times of committed output rows;
    `lag_samples` are (time, consumer lag) pairs; `slack_records` is how far
    above its pre-fault level the lag may be and count as recovered. When
    `until` is the start of a `next_fault`, output that stopped before it
    and did not resume counts as paused up to it (a kill-tm whose job never
    checkpointed again before the JobManager was killed); the last fault's
    window ends with the run, where output stops because the input did.
    """
    arrivals = sorted(t for t in output_times if started_at <= t <= until)
    points = [started_at, *arrivals] if arrivals else [started_at, until]
    if arrivals and next_fault:
        points.append(until)
    pause_s, pause_end = max((b - a, b) for a, b in pairwise(points))
    before = [lag for at, lag in lag_samples if started_at - 10 <= at < started_at]
    baseline = max(before) if before else 0
    # The lag rises while output pauses; its return to the pre-fault level
    # counts only after the longest pause has ended.
    recovered = next(
        (at - started_at for at, lag in lag_samples if at >= pause_end and lag <= baseline + slack_records),
        None,
    )
    return FaultImpact(fault, round(pause_s, 2), round(recovered, 2) if recovered is not None else None)


def fault_impacts(
    faults: list[tuple[str, float]],
    now: float,
    output_times: list[float],
    lag_samples: list[tuple[float, int]],
    slack_records: int,
) -> list[FaultImpact]:
    """`fault_impact` of each (kind, start) in start order, each looked at up to the next one's
    start (the last up to `now`): overlapping faults share the blame of the first."""
    ordered = sorted(faults, key=lambda f: f[1])
    ends = [start for _, start in ordered[1:]] + [now] if ordered else []
    return [
        fault_impact(kind, start, end, output_times, lag_samples, slack_records, next_fault=i < len(ends) - 1)
        for i, ((kind, start), end) in enumerate(zip(ordered, ends, strict=True))
    ]


__all__ = [
    "CLUSTER_FAULTS",
    "FaultImpact",
    "JobManagerRestart",
    "busiest_taskmanager",
    "fault_impact",
    "fault_impacts",
    "kill_broker",
    "kill_jobmanager",
    "kill_taskmanager",
    "leading_node",
]
