"""prometheus.yml and alertmanager.yml as `starlab up` renders them: valid, loopback-only, complete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from starlab.observability.config import alertmanager_config, prometheus_config
from starlab.settings import Settings

JOBS = {"prometheus", "alertmanager", "kafka", "kafka-lag", "redis", "postgres", "schema-registry", "flink"}


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_prometheus_config_scrapes_every_component_on_loopback(tmp_path: Path) -> None:
    cfg = yaml.safe_load(prometheus_config(_settings(tmp_path)))
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert set(jobs) >= JOBS
    for job in jobs.values():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                assert target.startswith("127.0.0.1:"), (job["job_name"], target)
    # the Flink reporter's whole port range, and the file_sd directory for processes
    assert len(jobs["flink"]["static_configs"][0]["targets"]) == 10
    (sd,) = jobs["processes"]["file_sd_configs"]
    assert sd["files"][0].endswith("prometheus/targets/*.json")
    assert cfg["global"]["scrape_interval"] == "1s"
    assert cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9193"]


def test_one_prometheus_scrapes_both_topologies_whichever_started_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STARLAB_TOPOLOGY", raising=False)
    monkeypatch.delenv("STARLAB_SCHEMA_REGISTRY_URL", raising=False)
    home = tmp_path / "home"
    single = prometheus_config(Settings(home=home, topology="single"))
    # A Prometheus started by `starlab --topology cluster up` keeps serving the single
    # stack afterwards: its file must not point the single jobs at the cluster.
    assert prometheus_config(Settings(home=home, topology="cluster")) == single
    jobs = {j["job_name"]: j for j in yaml.safe_load(single)["scrape_configs"]}
    groups = {
        job: {g["labels"]["topology"]: g["targets"] for g in jobs[job]["static_configs"]}
        for job in ("kafka", "schema-registry")
    }
    assert groups == {
        "kafka": {
            "single": ["127.0.0.1:9404"],
            "cluster": ["127.0.0.1:9405", "127.0.0.1:9406", "127.0.0.1:9407"],
        },
        "schema-registry": {"single": ["127.0.0.1:8081"], "cluster": ["127.0.0.1:8091"]},
    }


def test_alertmanager_sends_resolved_alerts_to_the_receiver(tmp_path: Path) -> None:
    cfg = yaml.safe_load(alertmanager_config(_settings(tmp_path)))
    (receiver,) = cfg["receivers"]
    (hook,) = receiver["webhook_configs"]
    assert hook["url"] == "http://127.0.0.1:9195/alerts"
    assert hook["send_resolved"] is True
    assert cfg["route"]["receiver"] == receiver["name"]


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by `starlab up`")
def test_promtool_accepts_the_rendered_prometheus_config(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    (s.prometheus_dir / "rules").mkdir(parents=True)
    path = tmp_path / "prometheus.yml"
    path.write_text(prometheus_config(s))
    proc = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is installed by `starlab up`")
def test_amtool_accepts_the_rendered_alertmanager_config(tmp_path: Path) -> None:
    path = tmp_path / "alertmanager.yml"
    path.write_text(alertmanager_config(_settings(tmp_path)))
    proc = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
