"""prometheus.yml and alertmanager.yml for the local stack, rendered from settings.

Scrape jobs: Prometheus and Alertmanager themselves, the brokers' JMX agents
(the single broker and the cluster's three nodes),
the consumer-lag exporter, the Redis and PostgreSQL exporters, the schema
registry, every port of Flink's reporter range, and the file_sd directory
where short-lived Python processes announce themselves (`targets.py`).
Rules are every `*.yml` under `<prometheus_dir>/rules/`: `starlab up`
renders the stories' SLO files there, and a test may add its own file and
reload.

Alertmanager sends every group to starlab's webhook receiver, resolved
notifications included; grouping waits are a second so that a demo's alert
reaches the receiver within a few seconds of Prometheus firing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import yaml

from starlab.observability.targets import port_range, targets_dir

if TYPE_CHECKING:
    from starlab.settings import Settings

__all__ = ["alertmanager_config", "hostport", "prometheus_config"]


def hostport(url: str) -> str:
    u = httpx.URL(url)
    return f"{u.host}:{u.port}"


def _static(job: str, targets: list[str], path: str = "/metrics") -> dict[str, object]:
    return {"job_name": job, "metrics_path": path, "static_configs": [{"targets": targets}]}


def _both(job: str, single: list[str], cluster: list[str]) -> dict[str, object]:
    groups = [{"targets": single, "labels": {"topology": "single"}}]
    groups.append({"targets": cluster, "labels": {"topology": "cluster"}})
    return {"job_name": job, "metrics_path": "/metrics", "static_configs": groups}


def prometheus_config(settings: Settings) -> str:
    """The same file whichever topology `settings` name (the addresses of both are in it)."""
    from starlab.settings import Settings

    interval = f"{settings.scrape_interval_s}s"
    # The cluster topology's settings point the clients at the cluster: the single
    # stack's addresses are what the same environment gives without it.
    single = Settings(topology="single") if settings.clustered else settings
    cluster_kafka = [f"127.0.0.1:{p}" for p in port_range(settings.cluster_kafka_jmx_ports)]
    flink = [f"127.0.0.1:{p}" for p in port_range(settings.flink_metrics_ports)]
    pg = settings.postgres
    scrape: list[dict[str, object]] = [
        _static("prometheus", [hostport(settings.prometheus_url)]),
        _static("alertmanager", [hostport(settings.alertmanager_url)]),
        # Both topologies' brokers and registries, labelled: one Prometheus serves either,
        # whichever topology started it (a server that is not running is a target that
        # is down, like an idle Flink port).
        _both("kafka", [f"{single.kafka_host}:{single.kafka_jmx_port}"], cluster_kafka),
        _both(
            "schema-registry",
            [hostport(single.schema_registry_url)],
            [hostport(settings.cluster_schema_registry_url)],
        ),
        _static("kafka-lag", [f"127.0.0.1:{settings.lag_exporter_port}"]),
        _static("redis", [f"127.0.0.1:{settings.redis_exporter_port}"]),
        _static("postgres", [f"{pg.host}:{settings.postgres_exporter_port}"]),
        _static("flink", flink),
        {
            "job_name": "processes",
            # the job label comes from each file (`targets.register`)
            "file_sd_configs": [
                {"files": [str((targets_dir(settings) / "*.json").resolve())], "refresh_interval": "5s"}
            ],
        },
    ]
    for job in scrape:
        # A scrape must finish inside one interval; a target that is down
        # (a Flink port nobody holds) fails at once with "connection refused".
        job["scrape_timeout"] = interval
    cfg = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str((settings.prometheus_dir / "rules" / "*.yml").resolve())],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [hostport(settings.alertmanager_url)]}]}]
        },
        "scrape_configs": scrape,
    }
    return "# Rendered by `starlab up` from starlab/observability/config.py; edits are overwritten.\n" + (
        yaml.safe_dump(cfg, sort_keys=False)
    )


def alertmanager_config(settings: Settings) -> str:
    cfg = {
        "route": {
            "receiver": "starlab",
            # one notification per alert and label set, so the receiver's log reads as a timeline
            "group_by": ["..."],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "starlab",
                "webhook_configs": [
                    {"url": f"{settings.alert_receiver_url}/alerts", "send_resolved": True, "max_alerts": 0}
                ],
            }
        ],
    }
    return "# Rendered by `starlab up` from starlab/observability/config.py; edits are overwritten.\n" + (
        yaml.safe_dump(cfg, sort_keys=False)
    )
