"""The replay's child process (and its DAG tasks) read the caller's ContractsSettings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.replay.run import contracts_env
from contracts.settings import ContractsSettings


def test_the_environment_carries_every_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = ContractsSettings(
        replay_events_per_day=60, dag_retry_delay_s=3.0, replay_script=tmp_path / "q.yaml"
    )
    env = contracts_env(cfg)
    assert set(env) == {f"STARLAB_CONTRACTS_{name.upper()}" for name in ContractsSettings.model_fields}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert ContractsSettings(_env_file=None) == cfg  # type: ignore[call-arg]
