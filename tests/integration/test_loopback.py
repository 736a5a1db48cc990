"""Issue 12: every process of the stack listens on 127.0.0.1 only, a running Flink job included.

Lists the listening TCP sockets of every process starlab started (the pid
files under the run dir and all their children: the job's Python driver, its
JVM, the exporters, Prometheus) while a job runs, and fails on any bind to
0.0.0.0 or ::. Before issue 12 the job's JVM listened on `*` twice (REST and
the blob server, plus Flink's Prometheus reporter) and its Python process
once (Beam's worker pool). The cluster topology's check is in test_cluster.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.settings import Settings
from starlab.stack.process import wildcard_listeners
from streaming.job import FlinkJob, JobOptions
from streaming.scenario import reset_stream

pytestmark = [pytest.mark.integration]


def test_no_process_of_the_stack_listens_beyond_loopback_while_a_job_runs(
    observed: Settings, tmp_path: Path
) -> None:
    s = observed.model_copy(update={"data_dir": tmp_path / "data", "events_topic": "loopback.events"})
    job = FlinkJob(
        s, JobOptions(checkpoint_interval_ms=1_000, group_id="starlab-flink-loopback"), name="loopback"
    )
    reset_stream(s, job)
    from starlab.kafka_io import ensure_topics
    from streaming.topics import stream_topics

    ensure_topics(s, stream_topics(s))
    try:
        job.start()
        job.wait_ready()
        assert job.proc.pid() is not None
        assert wildcard_listeners(s.run_dir) == []
    finally:
        job.stop()
