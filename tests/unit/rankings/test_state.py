"""The blue/green flag document: atomic changes, history, leases, rollback target (story 2)."""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rankings.publish.state import BuildRecord, BuildStatus, Color, ControlState, ControlStore, Lease


def record(build: str, color: Color, status: BuildStatus) -> BuildRecord:
    return BuildRecord(build_id=build, color=color, status=status, started_at="2026-03-10T00:00:00+00:00")


def test_colors_alternate_and_blue_goes_first() -> None:
    assert Color.BLUE.other is Color.GREEN and Color.GREEN.other is Color.BLUE
    assert Color.GREEN.table == "marts.rankings_green"
    st = ControlState()
    assert st.idle_color is Color.BLUE
    st.live_color = Color.BLUE
    assert st.idle_color is Color.GREEN


def test_a_change_is_written_atomically_with_its_history(tmp_path: Path) -> None:
    store = ControlStore(tmp_path)
    with store.change("flip", build_id="b1") as st:
        st.live_color, st.live_build_id, st.generation = Color.GREEN, "b1", 1
        st.colors[Color.GREEN] = record("b1", Color.GREEN, BuildStatus.LIVE)
    again = store.read()
    assert again.live_color is Color.GREEN and again.colors[Color.GREEN].status is BuildStatus.LIVE
    assert json.loads(store.path.read_text())["live_build_id"] == "b1"
    assert [h["action"] for h in store.history()] == ["flip"]
    assert store.history()[0]["build_id"] == "b1"


def test_a_failed_change_writes_nothing(tmp_path: Path) -> None:
    store = ControlStore(tmp_path)
    with pytest.raises(RuntimeError), store.change("flip") as st:
        st.live_color = Color.BLUE
        raise RuntimeError("refused half way")
    assert store.read().live_color is None
    assert store.history() == []


def test_rollback_target_is_only_an_intact_standby_table() -> None:
    st = ControlState(live_color=Color.GREEN, live_build_id="b2", previous_build_id="b1")
    st.colors[Color.GREEN] = record("b2", Color.GREEN, BuildStatus.LIVE)
    st.colors[Color.BLUE] = record("b1", Color.BLUE, BuildStatus.STANDBY)
    assert st.rollback_target() is st.colors[Color.BLUE]
    for status in (BuildStatus.BUILDING, BuildStatus.REFUSED, BuildStatus.VALIDATED):
        st.colors[Color.BLUE] = record("b3", Color.BLUE, status)  # a newer build overwrote it
        assert st.rollback_target() is None
    st.colors[Color.BLUE] = record("b1", Color.BLUE, BuildStatus.STANDBY)
    st.previous_build_id = None
    assert st.rollback_target() is None


def test_lease_liveness() -> None:
    now = datetime.now(UTC)
    later, earlier = (now + timedelta(hours=1)).isoformat(), (now - timedelta(seconds=1)).isoformat()
    host = socket.gethostname()
    assert Lease("b", Color.BLUE, f"pid:{os.getpid()}", host, now.isoformat(), later).is_alive()
    assert not Lease("b", Color.BLUE, f"pid:{os.getpid()}", host, now.isoformat(), earlier).is_alive()
    # a pid that cannot exist (above pid_max) on this host: the CLI run crashed
    assert not Lease("b", Color.BLUE, "pid:99999999", host, now.isoformat(), later).is_alive()
    # an Airflow run's tasks live in other processes: only the expiry counts
    assert Lease("b", Color.BLUE, "airflow:dag/run", host, now.isoformat(), later).is_alive()


def test_state_round_trips_through_json() -> None:
    st = ControlState(live_color=Color.BLUE, live_build_id="b1", generation=3, dirty=[Color.GREEN])
    st.colors[Color.BLUE] = record("b1", Color.BLUE, BuildStatus.LIVE)
    st.lease = Lease(
        "b2", Color.GREEN, "pid:1", "h", "2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"
    )
    back = ControlState.from_dict(json.loads(json.dumps(st.to_dict())))
    assert back == st
