"""A Flink job's metrics for Prometheus, served on 127.0.0.1 only (issue 12, item 7).

Every starlab process listens on 127.0.0.1 only. Flink's Prometheus reporter
(`PrometheusReporterFactory`) cannot: it has a port option and no host
option, and binds its HTTP server on every interface (`*:PORT`). So the
metrics take two steps instead:

1. Flink's JMX reporter (`reporter_conf`), configured without a port, opens
   no JMX/RMI listener: it only registers one MBean per metric in the JVM's
   platform MBean server;
2. Prometheus' JMX exporter, as a java agent in the same JVM
   (`agent_jvm_option`), reads those MBeans and serves `/metrics` on
   127.0.0.1:PORT, with rules (`flink-jmx.yml`) that rebuild the Prometheus
   reporter's names and labels (`flink_jobmanager_job_numRestarts{job_name}`,
   ...), so the SLO rules and dashboards keep their queries.

Each job process takes its own port from `STARLAB_FLINK_METRICS_PORTS`
(`free_port`); Prometheus scrapes the whole range.
"""

from __future__ import annotations

import socket
from pathlib import Path

from starlab.errors import StackError
from starlab.settings import Settings, port_range

RULES = Path(__file__).resolve().parent / "flink-jmx.yml"
"""The JMX exporter's rules: Flink's MBeans -> the Prometheus reporter's series."""

REPORTER = "jmx"
"""The reporter's name in Flink's configuration (`metrics.reporter.<name>.*`)."""

METRIC_NAMES = (
    "*numRecordsIn*",
    "*numRecordsOut*",
    "*currentInputWatermark*",
    "*lastCheckpoint*",
    "*numberOfCompletedCheckpoints*",
    "*numberOfFailedCheckpoints*",
    "*numRestarts*",
    "*uptime*",
    "*pendingRecords*",
    "*currentEmitEventTimeLag*",
)
"""What the dashboards and SLOs read (records in and out, watermarks,
checkpoints, restarts, the Kafka source's backlog and lag). Only these get an
MBean: an unfiltered job registers thousands of per-operator metrics."""


def reporter_jars(settings: Settings) -> list[Path]:
    """Flink's JMX reporter as the PyFlink wheel ships it (no download), for the JVM class path.

    The reporter is not in flink-dist, only in the wheel's `plugins/metrics-jmx/`,
    and the local mini-cluster of a PyFlink job does not load reporters from
    `FLINK_PLUGINS_DIR` (issue 11): the jar must be on the JVM's class path,
    like the Hadoop jars (`HADOOP_CLASSPATH`).
    """
    venv = settings.flink_venv_dir
    jars = venv.glob("lib/python3*/site-packages/pyflink/plugins/metrics-jmx/flink-metrics-jmx-*.jar")
    return sorted(p.resolve() for p in jars)


def reporter_conf() -> dict[str, str]:
    """Flink configuration for the JMX reporter, without a port: MBeans only, no listener.

    With `metrics.reporter.jmx.port` set, the reporter would start a JMX
    connector server (RMI) on that port, on every interface: it must stay unset.
    No scope format is needed: the MBean's domain is the metric's logical
    scope (`org.apache.flink.taskmanager.job.task.operator.numRecordsIn`), and
    every scope variable becomes a key property, which the rules read by name.
    """
    prefix = f"metrics.reporter.{REPORTER}"
    return {
        f"{prefix}.factory.class": "org.apache.flink.metrics.jmx.JMXReporterFactory",
        # one filter, `scope:names`: the names are a comma-separated list
        f"{prefix}.filter.includes": "*:" + ",".join(METRIC_NAMES),
    }


def agent_jars(settings: Settings) -> list[Path]:
    """The JMX exporter java agents `starlab up` resolves (also used for the Kafka broker)."""
    return sorted((settings.jars_dir / "jmx").glob("jmx_prometheus_javaagent-*.jar"))


def agent_jvm_option(settings: Settings, port: int) -> str | None:
    """`-javaagent:<jar>=127.0.0.1:<port>:<rules>`, or None when the agent jar is absent.

    The host is explicit: without it the agent's HTTP server binds every
    interface. Pass it in `JVM_ARGS` of the job process's environment (PyFlink's
    launcher puts `JVM_ARGS` on the java command line; `env.java.opts.all` is
    read only from `$FLINK_CONF_DIR/config.yaml`, never from the job's own
    configuration, which is set after the JVM has started).
    """
    jars = agent_jars(settings)
    if not jars:
        return None
    return f"-javaagent:{jars[-1].resolve()}=127.0.0.1:{port}:{RULES}"


def free_port(settings: Settings) -> int:
    """The first port of `STARLAB_FLINK_METRICS_PORTS` that 127.0.0.1 can still bind.

    A bind test, not a connect test: it also sees a port taken by a listener on
    every interface, or one that has bound but not yet accepted. The agent
    binds only once the JVM starts, seconds later, so two job processes started
    together may pick the same port; the second JVM then fails at start (the
    agent cannot bind) and the caller starts it again.
    """
    for port in port_range(settings.flink_metrics_ports):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # as the JVM does: a port in TIME_WAIT after a job stopped is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise StackError(
        f"no free port in STARLAB_FLINK_METRICS_PORTS={settings.flink_metrics_ports} "
        "for a Flink job's /metrics; stop a job or widen the range"
    )


__all__ = [
    "METRIC_NAMES",
    "REPORTER",
    "RULES",
    "agent_jars",
    "agent_jvm_option",
    "free_port",
    "reporter_conf",
    "reporter_jars",
]
