"""The blue/green flag document: atomic changes, history, leases, rollback target (story 2)."""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rankings.errors import BadRecord
from rankings.publish.state import (
    BuildRecord,
    BuildStatus,
    Color,
    ControlState,
    ControlStore,
    HistoryDetails,
    HistoryEntry,
    Lease,
)


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
    assert [h.action for h in store.history()] == ["flip"]
    assert store.history()[0].build_id == "b1"


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


# --- reading the flag, its history and build records back: one-line errors ------------


def stored_flag(tmp_path: Path) -> tuple[ControlStore, dict[str, Any]]:
    """A flag with a live build, a standby build and a lease, as `ControlStore` writes it."""
    store = ControlStore(tmp_path)
    with store.change("flip", build_id="b2") as st:
        st.live_color, st.live_build_id, st.previous_build_id, st.generation = Color.GREEN, "b2", "b1", 2
        st.colors[Color.GREEN] = record("b2", Color.GREEN, BuildStatus.LIVE)
        st.colors[Color.BLUE] = record("b1", Color.BLUE, BuildStatus.STANDBY)
        st.lease = Lease(
            "b3", Color.BLUE, "pid:1", "h", "2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"
        )
        st.dirty = [Color.BLUE]
    return store, json.loads(store.path.read_text())


BLUE_LIVE = {"build_id": "b1", "color": "blue", "status": "live", "started_at": "2026-03-10T00:00:00+00:00"}
"""A stored build record with only its required keys."""


def flag_error(store: ControlStore, message: str) -> str:
    """`pytest.raises(match=...)` for a one-line error about the flag file."""
    return rf"^{re.escape(str(store.path))}: {message}$"


def test_a_stored_flag_reads_back_equal(tmp_path: Path) -> None:
    store, data = stored_flag(tmp_path)
    st = store.read()
    assert st.live_color is Color.GREEN and st.colors[Color.BLUE].status is BuildStatus.STANDBY
    assert st.lease is not None and st.lease.color is Color.BLUE
    assert ControlState.from_dict(data) == st
    assert ControlState.from_dict(json.loads(json.dumps(st.to_dict()))) == st


def test_a_flag_without_the_sync_fields_still_reads(tmp_path: Path) -> None:
    store, data = stored_flag(tmp_path)
    for key in ("view_color", "served_build_id", "served_at"):
        del data[key]
    store.path.write_text(json.dumps(data))
    st = store.read()
    assert (st.view_color, st.served_build_id, st.served_at) == (None, None, None)
    assert st.live_color is Color.GREEN


@pytest.mark.parametrize("key", ["live_color", "generation", "colors", "lease", "dirty"])
def test_a_renamed_flag_key_fails_instead_of_reading_as_nothing_live(tmp_path: Path, key: str) -> None:
    store, data = stored_flag(tmp_path)
    data[key + "_v2"] = data.pop(key)
    store.path.write_text(json.dumps(data))
    with pytest.raises(BadRecord, match=flag_error(store, f"{key}: Field required")):
        store.read()


def test_a_renamed_key_of_a_build_record_inside_the_flag_names_its_path(tmp_path: Path) -> None:
    store, data = stored_flag(tmp_path)
    data["colors"]["blue"]["state"] = data["colors"]["blue"].pop("status")
    store.path.write_text(json.dumps(data))
    with pytest.raises(BadRecord, match=flag_error(store, "colors.blue.status: Field required")):
        store.read()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"generation": "2"}, "generation: Input should be a valid integer"),
        ({"live_color": "red"}, "live_color: Input should be 'blue' or 'green'"),
        ({"dirty": "blue"}, "dirty: Input should be a valid (list|array)"),
        ({"lease": {"build_id": "b3"}}, r"lease.color: Field required; lease.owner: Field required; .*"),
        (
            {"colors": {"blue": {**BLUE_LIVE, "rows": "9"}}},
            r"colors.blue.rows: Input should be a valid integer",
        ),
        ({"colors": {"purple": BLUE_LIVE}}, r"colors.purple\[key\]: Input should be 'blue' or 'green'"),
    ],
)
def test_a_flag_value_of_the_wrong_type_names_the_field(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    store, data = stored_flag(tmp_path)
    store.path.write_text(json.dumps({**data, **change}))
    with pytest.raises(BadRecord, match=flag_error(store, message)):
        store.read()


def test_a_broken_flag_is_never_changed(tmp_path: Path) -> None:
    # a misread flag written back would lose what it says: the change must stop before writing
    store, data = stored_flag(tmp_path)
    data["generation"] = "2"
    store.path.write_text(text := json.dumps(data))
    with pytest.raises(BadRecord), store.change("flip", build_id="b3") as st:
        st.generation += 1
    assert store.path.read_text() == text
    assert [h.action for h in store.history()] == ["flip"]


def test_a_flag_file_that_is_not_json_names_the_file(tmp_path: Path) -> None:
    store, _ = stored_flag(tmp_path)
    store.path.write_text('{"live_color": "green",')
    with pytest.raises(BadRecord, match=flag_error(store, "not valid JSON: .*")):
        store.read()


def test_a_build_record_round_trips() -> None:
    rec = BuildRecord(
        build_id="b1",
        color=Color.BLUE,
        status=BuildStatus.REFUSED,
        started_at="2026-03-10T00:00:00+00:00",
        as_of_date="2026-03-09",
        rows=120,
        served_rows=60,
        full_refresh=True,
        reason="row count collapse",
    )
    assert BuildRecord.from_dict(json.loads(json.dumps(asdict(rec)))) == rec


def test_a_build_record_with_a_renamed_key_names_it() -> None:
    d = asdict(record("b1", Color.BLUE, BuildStatus.LIVE))
    d["build"] = d.pop("build_id")
    with pytest.raises(BadRecord, match=r"^build record: build_id: Field required$"):
        BuildRecord.from_dict(d)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("status", "gone", "status: Input should be 'building', .*"),
        ("rows", 12.5, "rows: Input should be a valid integer"),
        ("full_refresh", 1, "full_refresh: Input should be a valid boolean"),
        ("reason", 7, "reason: Input should be a valid string"),
    ],
)
def test_a_build_record_value_of_the_wrong_type_names_the_field(
    key: str, value: object, message: str
) -> None:
    d = {**asdict(record("b1", Color.BLUE, BuildStatus.LIVE)), key: value}
    with pytest.raises(BadRecord, match=rf"^blue.json: {message}$"):
        BuildRecord.from_dict(d, source="blue.json")


def history_lines(store: ControlStore) -> list[dict[str, Any]]:
    return [json.loads(line) for line in store.history_path.read_text().splitlines()]


def write_history(store: ControlStore, lines: list[dict[str, Any]]) -> None:
    store.history_path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_history_lines_read_back_typed(tmp_path: Path) -> None:
    store, _ = stored_flag(tmp_path)
    with store.change("refused", build_id="b3", failures=["gx check a failed", "dbt check b failed"]):
        pass
    with store.change("view_synced", color="green"):
        pass
    flip, refused, synced = store.history()
    assert flip == HistoryEntry(
        at=flip.at, action="flip", live_color=Color.GREEN, live_build_id="b2", generation=2, build_id="b2"
    )
    assert refused.failures == ("gx check a failed", "dbt check b failed")
    assert synced.color is Color.GREEN and synced.build_id is None
    assert store.history(last=2) == [refused, synced]
    # the file format is unchanged: the details sit beside the flag's fields
    assert history_lines(store)[1] == {
        "at": refused.at,
        "action": "refused",
        "live_color": "green",
        "live_build_id": "b2",
        "generation": 2,
        "build_id": "b3",
        "failures": ["gx check a failed", "dbt check b failed"],
    }


def test_a_history_line_with_a_renamed_key_names_the_line(tmp_path: Path) -> None:
    store, _ = stored_flag(tmp_path)
    with store.change("served", build_id="b2"):
        pass
    lines = history_lines(store)
    lines[1]["act"] = lines[1].pop("action")
    write_history(store, lines)
    where = re.escape(f"{store.history_path}:2")
    with pytest.raises(BadRecord, match=rf"^{where}: action: Field required$"):
        store.history()
    with pytest.raises(BadRecord, match=rf"^{where}: "):
        store.history(last=1)  # the line number counts from the file's start


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("generation", "2", "generation: Input should be a valid integer"),
        ("live_color", 1, "live_color: Input should be 'blue' or 'green'"),
        ("failures", "one failure", "failures: Input should be a valid (array|tuple)"),
    ],
)
def test_a_history_value_of_the_wrong_type_names_the_field(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    store, _ = stored_flag(tmp_path)
    write_history(store, [{**history_lines(store)[0], key: value}])
    with pytest.raises(BadRecord, match=rf"^{re.escape(str(store.history_path))}:1: {message}$"):
        store.history()


def test_every_change_detail_has_a_history_field() -> None:
    # `change` writes HistoryDetails; a detail HistoryEntry lacks would be dropped on reading
    base = {"at", "action", "live_color", "live_build_id", "generation"}
    assert set(HistoryDetails.__annotations__) == {f.name for f in fields(HistoryEntry)} - base
