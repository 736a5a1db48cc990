"""Fixtures of the RFC tests: a small prices document and measurements whose costs are checked by hand.

`small_document()` is a complete prices file as the YAML parser returns it
(plain dicts), with round numbers so every line of `test_model.py` can be
worked out on paper; `small_prices` is the same document validated;
`small_measurements` are measurements sized to scale by round factors.
Tests get them as fixtures (pytest runs with --import-mode=importlib, so a
conftest is not importable by name).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from streaming.rfc.measure import HostInfo, Measurement, MeasurementSet
from streaming.rfc.prices import Prices, parse_prices

SRC = "test value"

# 86,400 x 1,024 events/day = 1,024 events/s mean, 2,048/s at the x2 peak.
EVENTS_PER_DAY = 88_473_600


def _n(value: float) -> dict[str, Any]:
    return {"value": value, "source": SRC}


def _small_document() -> dict[str, Any]:
    return {
        "as_of": "2026-12-01",
        "region": "test-region",
        "currency": "USD",
        "volume": {
            "events_per_day": _n(EVENTS_PER_DAY),
            "peak_factor": _n(2),
            "wire_bytes_per_event": _n(1024),
            "lake_bytes_per_event": _n(1024),
            "lake_retention_days": _n(10),
        },
        "compute": {"vcpu_hour_usd": _n(0.05), "gb_hour_usd": _n(0.01)},
        "storage": {
            "object_gb_month_usd": _n(0.03),
            "block_gb_month_usd": _n(0.1),
            "put_per_1000_usd": _n(0.005),
            "get_per_1000_usd": _n(0.001),
        },
        "network": {"inter_az_gb_usd": _n(0.02)},
        "batch": {
            "utilization": _n(0.5),
            "jobs": {
                "metrics": {
                    "size_vs_measured": 1,
                    "runs_per_day": {"status_quo": 1, "option_a": 0, "option_b": 0},
                    "source": SRC,
                },
                "reconciliation": {
                    "size_vs_measured": 1,
                    "runs_per_day": {"status_quo": 0, "option_a": 0.5, "option_b": 0.5},
                    "source": SRC,
                },
                "other": {
                    "size_vs_measured": 2,
                    "runs_per_day": {"status_quo": 1, "option_a": 1, "option_b": 1},
                    "source": SRC,
                },
            },
        },
        "option_a": {
            "flink": {
                "target_utilization": _n(0.5),
                "jobmanager_vcpu": _n(1),
                "jobmanager_gb": _n(2),
                "checkpoint_interval_s": _n(10),
                "data_files_per_commit": _n(2),
                "metadata_files_per_commit": _n(3),
                "gets_per_commit": _n(1),
            },
            "kafka": {
                "brokers": _n(3),
                "vcpu_per_broker": _n(2),
                "gb_per_broker": _n(4),
                "disk_gb_per_broker": _n(100),
                "replication_factor": _n(3),
                "retention_days": _n(2),
                "availability_zones": _n(3),
                "consumer_groups": _n(1),
                "target_utilization": _n(0.5),
                "disk_fill_target": _n(0.5),
            },
        },
        "option_b": {
            "kinesis": {
                "shard_hour_usd": _n(0.015),
                "put_unit_per_million_usd": _n(0.014),
                "extended_retention_shard_hour_usd": _n(0.02),
                "retention_days": _n(2),
                "shard_ingest_mb_per_s": _n(1),
                "shard_records_per_s": _n(1000),
                "put_unit_kb": _n(25),
                "records_per_put": _n(1),
            },
            "functions": {
                "gb_second_usd": _n(0.00001),
                "requests_per_million_usd": _n(0.2),
                "gb_per_vcpu": _n(2),
                "cpu_busy_fraction": _n(0.5),
                "runtime_cpu_factor": _n(1),
                "batch_size": _n(1024),
                "max_batching_window_s": _n(60),
            },
            "dedup_store": {"write_per_million_usd": _n(1.0), "writes_per_event": _n(1)},
            "delta": {"files_per_commit": _n(2), "gets_per_commit": _n(1)},
        },
    }


def _small_measurements(
    *, stream_e2e_p95_s: float | None = 4.0, kafka_cpu_s: float = 256.0
) -> MeasurementSet:
    return MeasurementSet(
        measured_at=datetime(2026, 11, 30, 9, 30, tzinfo=UTC),
        host=HostInfo(cpu_model="test cpu", cores=2, memory_gb=8.0, os="Linux test"),
        # 884,736 events: the batch run scales x100 to a day.
        batch=Measurement(
            name="batch", events=884_736, wall_s=30.0, cpu_s=36.0, peak_rss_gb=1.0, gb_hours=0.05
        ),
        # 1,024,000 events in 1,000 s: 500 CPU-us/event, 1/1,024 GiB-s/event (1 GiB at 1,024/s).
        stream=Measurement(
            name="stream", events=1_024_000, wall_s=1000.0, cpu_s=512.0, peak_rss_gb=1.5, gb_hours=1000 / 3600
        ),
        # 250 CPU-us/event, 2/1,024 GiB-s/event (2 GiB at 1,024/s).
        kafka=Measurement(
            name="kafka",
            events=1_024_000,
            wall_s=1000.0,
            cpu_s=kafka_cpu_s,
            peak_rss_gb=2.5,
            gb_hours=2000 / 3600,
        ),
        stream_e2e_p95_s=stream_e2e_p95_s,
        notes="hand-checked test case",
    )


def _write_yaml(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def small_document() -> Callable[[], dict[str, Any]]:
    """Builder of the small prices document (a fresh dict per call, safe to mutate)."""
    return _small_document


@pytest.fixture
def small_prices() -> Prices:
    return parse_prices(_small_document(), Path("small.yaml"))


@pytest.fixture
def small_measurements() -> Callable[..., MeasurementSet]:
    """Builder of the small measurements: `small_measurements(kafka_cpu_s=..., stream_e2e_p95_s=None)`."""
    return _small_measurements


@pytest.fixture
def write_yaml() -> Callable[[Path, object], Path]:
    return _write_yaml
