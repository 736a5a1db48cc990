"""file_sd registration: atomic files, pruned when their process is gone, clear port-range errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from starlab.errors import ConfigError
from starlab.observability.targets import port_range, register, serve_metrics, targets_dir
from starlab.settings import Settings


def test_register_writes_a_file_sd_entry_and_removes_it(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    t = register(s, "starlab-stream", "127.0.0.1:9281", {"run": "r1"})
    (entry,) = json.loads(t.path.read_text())
    assert entry == {"targets": ["127.0.0.1:9281"], "labels": {"job": "starlab-stream", "run": "r1"}}
    t.remove()
    assert not list(targets_dir(s).iterdir())


def test_a_dead_processs_file_is_pruned_by_the_next_registration(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = targets_dir(s) / f"producer-{int(dead.stdout)}-9282.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("[]")
    live = register(s, "materializer", "127.0.0.1:9283")
    assert not stale.exists()
    assert live.path.exists()


def test_serve_metrics_serves_the_registry_on_loopback(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, process_metrics_ports="9280-9299")
    reg = CollectorRegistry()
    Gauge("starlab_test_value", "a value", registry=reg).set(42)
    ep = serve_metrics(s, "unit", registry=reg)
    try:
        body = httpx.get(f"http://127.0.0.1:{ep.port}/metrics", timeout=5).text
        assert "starlab_test_value 42.0" in body
        assert ep.target.path.exists()
    finally:
        ep.close()
    assert not ep.target.path.exists()


@pytest.mark.parametrize("spec", ["9280", "a-b", "9300-9280", "0-10"])
def test_a_bad_port_range_names_the_expected_form(spec: str) -> None:
    with pytest.raises(ConfigError, match="LOW"):
        port_range(spec)
