"""The `contract_gate` DAG (story 1): DagBag integrity, and `dag.test()` on a passing and a failing sample.

Airflow runs in a subprocess with `AIRFLOW_HOME` from the stack (a migrated
SQLite DB), as in tests/dags/test_rankings_daily.py; one subprocess does the
DagBag check and both runs. Scenario, on the stack's Kafka and registry with
this test's own topic names and data dir:

- live data that keeps the contracts: 20 events written by the edge producer
  with version 1 of the event subject, and a warehouse relation
  `marts.dim_items` equal to its contract in a small manifest (the CDC topics
  of this prefix do not exist: a note, not a finding);
- `dag.test()` for one interval: every task succeeds, the deploy is recorded
  with the contracts' commit;
- then the app registers a version nobody reviewed (an optional field added
  straight in the registry) and writes with it, and a NULL lands in a
  not_null column; `dag.test()` for the next interval: `validate` fails once
  (no retry), `deploy` and `publish` are upstream_failed, and the report has
  both findings.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from starlab.settings import ROOT, Settings
from starlab.stack import manager
from starlab.stack.components import airflow_env

pytestmark = pytest.mark.integration
DAGS = {
    "contract_gate": ROOT / "dags" / "contract_gate.py",
    "analytics_daily": ROOT / "dags" / "analytics_daily.py",
}
MANIFEST = ROOT / "tests" / "fixtures" / "contracts" / "validate" / "manifest.json"
GOOD_DAY = date(2026, 7, 1)
BAD_DAY = GOOD_DAY + timedelta(days=1)
HEAVY = (
    "duckdb",
    "fastavro",
    "confluent_kafka",
    "dbt",
    "contracts.validate.topics",
    "contracts.replay.pipeline",
)

RUNNER = f"""
import importlib.util, json, sys
from datetime import datetime, timedelta, timezone
from airflow.dag_processing.dagbag import DagBag

out = {{"dagbag": {{}}}}
for name, path in {json.dumps({k: str(v) for k, v in DAGS.items()})}.items():
    bag = DagBag(dag_folder=path)
    dag = bag.dags.get(name)
    out["dagbag"][name] = {{
        "errors": {{k: str(v) for k, v in bag.import_errors.items()}},
        "heavy_imports": sorted(m for m in {HEAVY!r} if m in sys.modules),
        "tags": sorted(dag.tags) if dag else [],
        "retries": {{t.task_id: t.retries for t in dag.tasks}} if dag else {{}},
        "doc_md": (dag.doc_md or "") if dag else "",
        "catchup": dag.catchup if dag else None,
        "downstream": {{t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks}} if dag else {{}},
    }}
print("RESULT " + json.dumps(out), flush=True)
if len(sys.argv) < 2:
    sys.exit(0)

import duckdb
from airflow.utils.session import create_session
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from starlab.events.model import schema_str
from starlab.settings import Settings

spec = importlib.util.spec_from_file_location("contract_gate_under_test", {str(DAGS["contract_gate"])!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
conf = {{"contracts_root": {str(ROOT)!r}, "manifest": {str(MANIFEST)!r}}}


def run(day):
    # the run after the interval [day, day+1), in UTC (Airflow refuses naive datetimes)
    logical = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) + timedelta(days=1)
    dr = mod.contract_gate_dag.test(logical_date=logical, run_conf=conf)
    with create_session() as s:
        tasks = {{ti.task_id: [str(ti.state), ti.try_number] for ti in dr.get_task_instances(session=s)}}
    return {{"state": str(dr.state), "tasks": tasks, "interval": str(dr.data_interval_start)}}


out["ok"] = run(sys.argv[1])

# The app team registers a version straight in the registry (nobody reviewed it) and writes with it,
settings = Settings()
v2 = json.loads(schema_str())
v2["fields"].append({{"name": "ab_bucket", "type": ["null", "string"], "default": None}})
registry = SchemaRegistryClient({{"url": settings.schema_registry_url}})
serialize = AvroSerializer(registry, json.dumps(v2), conf={{"auto.register.schemas": True}})
record = {{"event_id": "unreviewed-1", "user_id": "u000001", "item_id": "i00001", "event_type": "click",
          "event_ts": 1782864000000, "ingest_ts": 1782864000500, "platform": "ios", "session_id": "s1",
          "dwell_ms": None, "ab_bucket": "b"}}
producer = Producer({{"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True}})
producer.produce(settings.events_topic, key=b"unreviewed-1",
                 value=serialize(record, SerializationContext(settings.events_topic, MessageField.VALUE)))
producer.flush(30)
# and a NULL reaches a column the contract declares not_null.
con = duckdb.connect(str(settings.warehouse_path))
con.execute("insert into marts.dim_items values ('i99999', null)")
con.close()

out["bad"] = run(sys.argv[2])
print("RESULT " + json.dumps(out, default=str), flush=True)
"""


def run_airflow(env: dict[str, str], *args: str, timeout: float = 900) -> dict[str, Any]:
    # The bound catches a hung run, not a slow one (two DAG runs of six tasks, ~1 min on 2 busy cores).
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    tail = f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert lines and proc.returncode == 0, tail
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    result["log"] = proc.stdout[-40000:] + proc.stderr[-40000:]
    return result


@pytest.fixture(scope="module")
def airflow(stack: Settings) -> dict[str, str]:
    manager.up(stack, ["airflow"], progress=lambda m: None)  # idempotent: migrates once
    return {**os.environ, **airflow_env(stack)}


def test_dagbag_has_no_import_errors_tags_retries_and_no_io_at_import(airflow: dict[str, str]) -> None:
    bags = run_airflow(airflow)["dagbag"]
    gate, analytics = bags["contract_gate"], bags["analytics_daily"]
    for bag in (gate, analytics):
        assert bag["errors"] == {}
        assert "story-1" in bag["tags"] and "contracts" in bag["tags"]
        assert all(n >= 1 for n in bag["retries"].values()), bag["retries"]
        assert bag["catchup"] is False
        assert bag["heavy_imports"] == []  # DuckDB, Kafka, Avro and dbt are imported inside tasks only
    assert "contract_gate" in gate["doc_md"] and "upstream_failed" in gate["doc_md"]
    down = gate["downstream"]
    assert set(down["resolve_contracts"]) >= {"sample_topics", "sample_warehouse"}
    assert down["sample_topics"] == ["validate"] and down["sample_warehouse"] == ["validate"]
    for up, after in itertools.pairwise(["validate", "deploy", "publish"]):
        assert down[up] == [after]
    for up, after in itertools.pairwise(["stream_consumer", "build", "report"]):
        assert analytics["downstream"][up] == [after]


@pytest.fixture(scope="module")
def runs(
    stack: Settings, airflow: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    import duckdb

    from starlab.events.generator import Generator, GeneratorConfig
    from starlab.events.producer import EdgeProducer
    from starlab.kafka_io import delete_topics

    tag = f"t{uuid.uuid4().hex[:8]}"
    data = tmp_path_factory.mktemp("contract_gate") / "data"
    settings = stack.model_copy(
        update={
            "data_dir": data,
            "duckdb_path": None,
            "events_topic": f"{tag}.events",
            "dlq_topic": f"{tag}.events.dlq",
            "cdc_topic_prefix": tag,
        }
    )
    # Live data that keeps the contracts: events written with version 1 ...
    emissions = Generator(GeneratorConfig(seed=5, events=20, items=10, users=10)).emissions()
    with EdgeProducer(settings) as producer:
        stats = producer.send_all(e.raw for e in emissions if e.event is not None)
    assert stats.delivery_failures == 0 and stats.accepted >= 20
    # ... and a relation equal to its contract (the fixture manifest's dim_items v1).
    data.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("create schema marts")
    con.execute("create table marts.dim_items (item_id varchar, category varchar)")
    con.execute("insert into marts.dim_items values ('i00001', 'news'), ('i00002', 'food')")
    con.close()
    env = {
        **airflow,
        "STARLAB_DATA_DIR": str(data.resolve()),
        "STARLAB_EVENTS_TOPIC": settings.events_topic,
        "STARLAB_DLQ_TOPIC": settings.dlq_topic,
        "STARLAB_CDC_TOPIC_PREFIX": tag,
        "STARLAB_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "STARLAB_SCHEMA_REGISTRY_URL": settings.schema_registry_url,
    }
    env.pop("STARLAB_DUCKDB_PATH", None)
    out = run_airflow(env, GOOD_DAY.isoformat(), BAD_DAY.isoformat())
    out["data"] = str(data)
    yield out
    delete_topics(settings, [settings.events_topic, settings.dlq_topic])
    import httpx

    httpx.delete(f"{settings.schema_registry_url}/subjects/{settings.events_topic}-value", timeout=10)
    httpx.delete(
        f"{settings.schema_registry_url}/subjects/{settings.events_topic}-value?permanent=true", timeout=10
    )


def _gate_file(runs: dict[str, Any], day: date, name: str) -> Path:
    return Path(runs["data"]) / "contracts" / "gate" / day.isoformat() / name


def test_a_sample_that_keeps_the_contracts_passes_and_the_deploy_is_recorded(runs: dict[str, Any]) -> None:
    ok = runs["ok"]
    assert ok["state"] == "success", runs["log"][-3000:]
    assert {state for state, _ in ok["tasks"].values()} == {"success"}, ok["tasks"]
    assert ok["interval"].startswith(GOOD_DAY.isoformat())  # keyed on the data interval, not on now
    report = json.loads(_gate_file(runs, GOOD_DAY, "report.json").read_text())
    assert report["findings"] == []
    events = next(t for t in report["topics"] if t["subject"] == "engagement.events-value")
    assert events["records"] >= 20 and events["registry_version"] == 1
    assert any(t["note"] == "topic does not exist yet" for t in report["topics"])  # this prefix has no CDC
    deploy = json.loads(_gate_file(runs, GOOD_DAY, "deploy.json").read_text())
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    assert deploy["commit"] == head.strip() and deploy["interval"] == GOOD_DAY.isoformat()
    assert _gate_file(runs, GOOD_DAY, "publish.json").exists()


def test_a_violation_fails_validate_once_and_blocks_deploy_and_publish(runs: dict[str, Any]) -> None:
    bad = runs["bad"]
    assert bad["state"] == "failed"
    assert bad["tasks"]["validate"] == ["failed", 1]  # a broken contract is not retried
    for task in ("resolve_contracts", "sample_topics", "sample_warehouse"):
        assert bad["tasks"][task][0] == "success", bad["tasks"]
    assert bad["tasks"]["deploy"][0] == "upstream_failed" and bad["tasks"]["publish"][0] == "upstream_failed"
    report = json.loads(_gate_file(runs, BAD_DAY, "report.json").read_text())
    checks = {f["check"] for f in report["findings"]}
    assert checks == {"SCHEMA_UNREVIEWED", "NOT_NULL"}, report["findings"]
    assert not _gate_file(runs, BAD_DAY, "deploy.json").exists()
    assert "SCHEMA_UNREVIEWED" in runs["log"]  # every finding is in the task log
