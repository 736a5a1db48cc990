"""A private app database and Connect worker for the CDC tests, on the shared Kafka and registry.

The tests change the app database's schema (items v2, a breaking column), so
they never touch the stack's own `postgres`/`connect`: this fixture starts
its own PostgreSQL and Connect (the real stack components) on free ports
with a unique topic prefix, against the Kafka and registry from settings,
and removes its topics and subjects at the end.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from starlab.appdb import connect, seed_from_generator
from starlab.events.generator import GeneratorConfig
from starlab.kafka_io import delete_topics
from starlab.settings import Settings
from starlab.stack.components import KafkaConnect, Postgres

SEED = GeneratorConfig(seed=3, items=20, users=10)


@dataclass
class CdcStack:
    settings: Settings
    postgres: Postgres
    connect: KafkaConnect
    connect_start_s: float
    """Worker start until the connector and its task report RUNNING (snapshot included)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cdc(stack: Settings) -> Iterator[CdcStack]:
    tag = f"t{uuid.uuid4().hex[:8]}"
    # Not pytest's tmp_path: it is private to root (0700), and PostgreSQL runs as
    # the postgres OS user when the tests run as root.
    home = Path(tempfile.mkdtemp(prefix="starlab-cdc-"))
    home.chmod(0o755)
    stack.jars_dir.mkdir(parents=True, exist_ok=True)
    (home / "jars").symlink_to(stack.jars_dir.resolve(), target_is_directory=True)  # reuse resolved jars
    settings = stack.model_copy(
        update={
            "home": home,
            "data_dir": home / "data",
            "postgres_url": f"postgresql://app:app@127.0.0.1:{_free_port()}/app",
            "connect_url": f"http://127.0.0.1:{_free_port()}",
            "cdc_topic_prefix": tag,
            "cdc_connector": f"{tag}-app",
        }
    )
    pg, worker = Postgres(settings), KafkaConnect(settings)
    try:
        pg.start()
        with connect(settings) as conn:
            seed_from_generator(conn, SEED)
        t0 = time.monotonic()
        worker.start()
        yield CdcStack(settings, pg, worker, time.monotonic() - t0)
    finally:
        worker.stop()
        pg.stop()
        delete_topics(
            settings, [f"{tag}.public.items", f"{tag}.public.users", f"{tag}.items", f"{tag}.users"]
        )
        for subject in httpx.get(f"{settings.schema_registry_url}/subjects", timeout=5).json():
            if subject.startswith(f"{tag}."):
                httpx.delete(f"{settings.schema_registry_url}/subjects/{subject}", timeout=5)
                httpx.delete(f"{settings.schema_registry_url}/subjects/{subject}?permanent=true", timeout=5)
        shutil.rmtree(home, ignore_errors=True)
