"""The `connect` stack component: worker and Debezium settings, health from the REST status.

Backs story 1's CDC claims (Debezium in Kafka Connect, JSON with schemas, a
publication made by a migration, decimals as strings) by checking the files
the component writes; the running worker is tested in tests/integration/cdc.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from starlab.appdb import PUBLICATION
from starlab.errors import StackError
from starlab.settings import Settings
from starlab.stack.components import (
    CONNECT_WORKER_PROPERTIES,
    DEBEZIUM_CONNECTOR_PROPERTIES,
    KafkaConnect,
    connector_status_problem,
)


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def test_worker_uses_json_with_schemas_and_a_file_offset_store() -> None:
    p = _props(
        CONNECT_WORKER_PROPERTIES.format(
            bootstrap="127.0.0.1:19092",
            offsets="/h/connect/offsets.dat",
            plugin_path="/h/p",
            host="127.0.0.1",
            port=18083,
        )
    )
    assert p["key.converter"] == p["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert p["key.converter.schemas.enable"] == p["value.converter.schemas.enable"] == "true"
    assert p["offset.storage.file.filename"] == "/h/connect/offsets.dat"
    assert p["listeners"] == "http://127.0.0.1:18083"


def test_connector_settings_follow_settings_and_the_app_schema(tmp_path: Path) -> None:
    s = Settings(
        home=tmp_path,
        postgres_url="postgresql://app:pw@127.0.0.1:15433/app",
        cdc_topic_prefix="t-1",
        cdc_connector="c1",
    )
    c = KafkaConnect(s)
    p = _props(
        DEBEZIUM_CONNECTOR_PROPERTIES.format(
            name=s.cdc_connector,
            pg_host="127.0.0.1",
            pg_port=15433,
            pg_user="app",
            pg_password="pw",
            pg_database="app",
            prefix=s.cdc_topic_prefix,
            tables="public.items,public.users",
            publication=PUBLICATION,
            slot=c.slot,
        )
    )
    assert p["plugin.name"] == "pgoutput"
    assert p["decimal.handling.mode"] == "string"
    assert (p["publication.name"], p["publication.autocreate.mode"]) == (PUBLICATION, "disabled")
    assert p["topic.prefix"] == "t-1" and c.slot == "starlab_t_1"
    assert p["topic.creation.default.retention.ms"] == "-1"  # the backfill replays from offset 0
    assert (c.host, c.port) == ("127.0.0.1", 8083)


def test_heap_comes_from_settings(tmp_path: Path) -> None:
    argv = KafkaConnect(Settings(home=tmp_path, connect_heap="192m")).argv()
    assert "-Xmx192m" in argv and "org.apache.kafka.connect.cli.ConnectStandalone" in argv


def test_health_needs_connector_and_every_task_running() -> None:
    running = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    assert connector_status_problem(running) is None
    failed = {
        "connector": {"state": "RUNNING"},
        "tasks": [
            {"id": 0, "state": "FAILED", "trace": "org.postgresql.util.PSQLException: FATAL: password\n at x"}
        ],
    }
    assert (
        connector_status_problem(failed)
        == "task 0 FAILED: org.postgresql.util.PSQLException: FATAL: password"
    )
    assert connector_status_problem({"connector": {"state": "RUNNING"}, "tasks": []}) == "no task yet"
    assert connector_status_problem([]) == "status is not a JSON object"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_start_without_postgres_is_one_line(tmp_path: Path) -> None:
    s = Settings(
        home=tmp_path,
        kafka_bootstrap=f"127.0.0.1:{_closed_port()}",
        postgres_url=f"postgresql://app:app@127.0.0.1:{_closed_port()}/app",
        connect_url=f"http://127.0.0.1:{_closed_port()}",
    )
    with pytest.raises(StackError, match=r"connect: kafka at .* is not running; start it first") as info:
        KafkaConnect(s).start()
    assert "\n" not in str(info.value)
