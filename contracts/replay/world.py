"""One replay arm's live world: its own app database, Debezium, topics, subjects, lake and warehouse.

Backs story 1's replayed quarter with the real moving parts, isolated so the
two arms (and the stack's own demo data) never see each other:

- a private PostgreSQL and Kafka Connect worker with Debezium (the stack's
  components, on free ports, under the arm's folder), seeded with the
  generator's items and users and migrated to items v2 (expand), like the
  app database of the demo;
- the arm's own CDC topic prefix and events topic on the shared Kafka, and
  so its own subjects in the shared registry. Their compatibility is set
  before anything registers: the subjects' modes from
  contracts/subjects.yaml with the gate, NONE without it (before the story,
  the registry stored schemas but judged none);
- the arm's data dir (lake, warehouse) and the kernel's CDC bridge landing
  the dims from the arm's Avro topics.

Everything is removed at the end (processes stopped, topics and subjects
deleted) unless kept for inspection.
"""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import httpx

from contracts.errors import ContractsError, ContractsTransientError
from contracts.gate.declarations import KEY_SUFFIX, VALUE_SUFFIX, load_subjects
from contracts.replay.script import Fill, Script
from contracts.validate.declared import live_topic
from starlab.appdb import CDC_TABLES, connect, seed_from_generator
from starlab.events.generator import Generator, GeneratorConfig
from starlab.events.model import Event
from starlab.kafka_io import delete_topics, end_offsets
from starlab.settings import ROOT, Settings

NO_COMPATIBILITY = "NONE"
CAPTURE_TIMEOUT_S = 90.0
"""Longest wait for Debezium to put the day's changes into the change topics (it takes well
under a second idle, several under load; the wait ends as soon as they are there)."""
TRAFFIC_ROWS = 3
"""Rows of each table the app touches per replayed day, so the current shape flows through CDC."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def arm_settings(base: Settings, root: Path, tag: str) -> Settings:
    """The arm's settings: its own home, data dir, database, Connect worker, topic names."""
    return base.model_copy(
        update={
            "home": root / "stack",
            "data_dir": root / "data",
            "duckdb_path": None,
            "airflow_home": base.airflow_home_dir,
            "postgres_url": f"postgresql://app:app@127.0.0.1:{free_port()}/app",
            "connect_url": f"http://127.0.0.1:{free_port()}",
            "cdc_topic_prefix": tag,
            "cdc_connector": f"{tag}-app",
            "events_topic": f"{tag}.events",
            "dlq_topic": f"{tag}.events.dlq",
            "late_topic": f"{tag}.events.late",
            "metrics_topic": f"{tag}.metrics",
        }
    )


def settings_env(settings: Settings) -> dict[str, str | None]:
    """STARLAB_* variables that make `Settings()` in a task equal `settings` (None: unset it)."""
    out: dict[str, str | None] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        out[f"STARLAB_{name.upper()}"] = None if value is None else str(value)
    return out


class World:
    """Start, drive and remove one arm's live pieces."""

    def __init__(self, base: Settings, script: Script, root: Path, tag: str, *, judged: bool) -> None:
        self.script = script
        self.root = root
        self.tag = tag
        self.judged = judged
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)  # PostgreSQL runs as its own OS user when starlab runs as root
        self.settings = arm_settings(base, root, tag)
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        jars = home / "jars"
        if not jars.exists():
            base.jars_dir.mkdir(parents=True, exist_ok=True)
            jars.symlink_to(base.jars_dir.resolve(), target_is_directory=True)  # reuse resolved jars
        from starlab.stack.components import KafkaConnect, Postgres

        self.postgres = Postgres(self.settings)
        self.connect = KafkaConnect(self.settings)
        self.started = False

    # --- lifecycle -----------------------------------------------------------------

    def live_subjects(self) -> dict[str, str]:
        """Live subject -> compatibility mode the arm gives it (before anything registers)."""
        contracts = load_subjects(ROOT)
        out: dict[str, str] = {}
        for s in contracts.subjects:
            suffix = VALUE_SUFFIX if s.subject.endswith(VALUE_SUFFIX) else KEY_SUFFIX
            live = f"{live_topic(s.topic, self.settings)}{suffix}"
            out[live] = contracts.mode_of(s).value if self.judged else NO_COMPATIBILITY
        return out

    def _set_modes(self) -> None:
        for subject, mode in self.live_subjects().items():
            try:
                r = httpx.put(
                    f"{self.settings.schema_registry_url}/config/{subject}",
                    json={"compatibility": mode},
                    timeout=10,
                )
            except httpx.HTTPError as exc:
                raise ContractsTransientError(f"registry unreachable: {exc}") from None
            if r.status_code != 200:
                raise ContractsError(f"registry: PUT /config/{subject} -> {r.status_code} {r.text[:200]}")

    def start(self) -> None:
        """Registry modes, the app database (seeded, items v2), Debezium, the first CDC landing."""
        from contracts.cdc import apply_items_v2_expand

        self._set_modes()
        self.postgres.start()
        self.started = True
        with connect(self.settings) as conn:
            apply_items_v2_expand(conn)
            conn.commit()
            seed_from_generator(conn, self.generator_config(0))
            conn.commit()
        self.connect.start()
        sizes = {"items": self.script.app.items, "users": self.script.app.users}
        prefix = self.settings.cdc_topic_prefix
        self.wait_for_capture({f"{prefix}.public.{t}": n for t, n in sizes.items()}, before={})
        self.bridge()

    def stop(self, *, keep_files: bool = False) -> None:
        if self.started:
            self.connect.stop()
            self.postgres.stop()
        prefix = self.settings.cdc_topic_prefix
        topics = [
            *(f"{prefix}.public.{t.name}" for t in CDC_TABLES),
            *(f"{prefix}.{t.name}" for t in CDC_TABLES),
            self.settings.events_topic,
            self.settings.dlq_topic,
        ]
        try:
            delete_topics(self.settings, topics)
            url = self.settings.schema_registry_url
            for subject in httpx.get(f"{url}/subjects", timeout=10).json():
                if subject.startswith(f"{prefix}."):
                    httpx.delete(f"{url}/subjects/{subject}", timeout=10)
                    httpx.delete(f"{url}/subjects/{subject}?permanent=true", timeout=10)
            for subject in self.live_subjects():
                httpx.delete(f"{url}/config/{subject}", timeout=10)
        except (httpx.HTTPError, ContractsError):
            pass  # best effort: a unique prefix keeps leftovers out of everyone's way
        if not keep_files:
            shutil.rmtree(self.root, ignore_errors=True)

    # --- the app database ------------------------------------------------------------

    def generator_config(self, day: int, events: int = 1) -> GeneratorConfig:
        return GeneratorConfig(
            seed=self.script.seed * 1000 + day + 500,
            events=events,
            items=self.script.app.items,
            users=self.script.app.users,
        )

    def change_topics(self) -> list[str]:
        return [f"{self.settings.cdc_topic_prefix}.public.{t.name}" for t in CDC_TABLES]

    def apply_migrations(self, migrations: Path) -> tuple[str, ...]:
        from starlab.appdb import apply_migrations

        with connect(self.settings, autocommit=True) as conn:
            return apply_migrations(conn, migrations).applied

    def app_traffic(self, day: int) -> None:
        """The app keeps working: a few rows of each table change (Debezium emits their current shape)."""
        from psycopg import sql

        sizes = {"items": self.script.app.items, "users": self.script.app.users}
        with connect(self.settings) as conn:
            for table in CDC_TABLES:
                offset = (day * TRAFFIC_ROWS) % max(1, sizes.get(table.name, TRAFFIC_ROWS) - TRAFFIC_ROWS)
                conn.execute(
                    sql.SQL(
                        "UPDATE {t} SET {k} = {k} WHERE {k} IN "
                        "(SELECT {k} FROM {t} ORDER BY {k} LIMIT {n} OFFSET {o})"
                    ).format(
                        t=sql.Identifier(table.name),
                        k=sql.Identifier(table.key[0]),
                        n=sql.Literal(TRAFFIC_ROWS),
                        o=sql.Literal(offset),
                    )
                )
            conn.commit()

    def capture_marks(self) -> dict[str, int]:
        out = {}
        for topic in self.change_topics():
            try:
                out[topic] = sum(end_offsets(self.settings, topic).values())
            except Exception:  # the topic does not exist before Debezium's first change
                out[topic] = 0
        return out

    def wait_for_capture(self, expected: Mapping[str, int], before: Mapping[str, int]) -> None:
        """Until each change topic grew by `expected` records since `before` (Debezium is asynchronous)."""
        deadline = time.monotonic() + CAPTURE_TIMEOUT_S
        while True:
            now = self.capture_marks()
            if all(now.get(t, 0) - before.get(t, 0) >= n for t, n in expected.items()):
                return
            if time.monotonic() > deadline:
                raise ContractsTransientError(
                    f"Debezium did not capture the day's changes within {CAPTURE_TIMEOUT_S:.0f} s "
                    f"({now} vs {dict(before)})"
                )
            time.sleep(0.2)

    def bridge(self) -> int:
        from starlab.cdc import run_bridge

        return run_bridge(self.settings, idle_timeout_s=0.5).changes

    # --- the producer ---------------------------------------------------------------------

    def events_for(self, day: int, when: date, n: int) -> list[Event]:
        """`n` generated events of date `when` (retried copies included, malformed ones not)."""
        start = datetime.combine(when, dtime(1), tzinfo=UTC)
        cfg = GeneratorConfig(
            seed=self.script.seed * 1000 + day + 500,
            events=n,
            items=self.script.app.items,
            users=self.script.app.users,
            start_ms=int(start.timestamp() * 1000),
            rate_per_s=n / timedelta(hours=20).total_seconds(),
        )
        return [e.event for e in Generator(cfg).emissions() if e.event is not None]

    def produce(self, day: int, when: date, schema_text: str, fills: Mapping[str, Fill], n: int) -> int:
        from contracts.replay.producer import VersionedProducer

        with VersionedProducer(self.settings, schema_text, fills) as producer:
            return producer.send_all(self.events_for(day, when, n)).sent


__all__ = ["NO_COMPATIBILITY", "World", "arm_settings", "free_port", "settings_env"]
