"""The blue/green flag: which color is live, what each color's table holds, and its history.

Backs story 2's "blue/green tables with a feature flag to switch consumers"
and "rollback": the flag is a small JSON document, `<data_dir>/rankings/state.json`,
replaced atomically (write + rename) under an advisory file lock, with every
change appended to `history.jsonl`.

Why a file and not a `control.live_color` table in the warehouse: DuckDB allows
one writing process per file, and `dbt build` holds that write lock for the
whole build. A flag inside the warehouse could not be flipped back while a
build runs, and a rollback has to work at once. The flag is mirrored into the
warehouse as the view `marts.rankings_live` for table consumers (dashboards)
whenever the publisher holds the warehouse anyway (see `publish.sync_live_view`).

What the state tracks beyond the live color, because two tables are only a
safe rollback if we know what is in them:
- `colors[c]`: the build the table of color `c` holds now and its status
  (building, refused, validated, live, standby, rolled_back);
- `lease`: the build in progress (one writer per DuckDB file), with its pid so
  a crashed run's lease can be taken over;
- `dirty`: colors whose incremental state cannot be trusted (a refused or
  rolled-back build wrote into them): their next build is a bounded
  `--full-refresh`, so a fixed input is re-read instead of being skipped as
  "already processed".
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from rankings.errors import RankingsTransientError
from starlab.atomic import write_json_atomic

LOCK_TIMEOUT_S = 10.0
"""How long a flag change waits for another one; changes hold the lock for milliseconds."""


class Color(StrEnum):
    """The two physical tables: `marts.rankings_blue` and `marts.rankings_green`."""

    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Color:
        return Color.GREEN if self is Color.BLUE else Color.BLUE

    @property
    def table(self) -> str:
        return f"marts.rankings_{self.value}"


class BuildStatus(StrEnum):
    BUILDING = "building"
    """dbt is writing the table (or crashed while doing so)."""
    REFUSED = "refused"
    """The DQ gate refused it; never served."""
    VALIDATED = "validated"
    """Passed the gate, not flipped yet."""
    LIVE = "live"
    STANDBY = "standby"
    """Was live until the last flip; the table is intact, so it is the rollback target."""
    ROLLED_BACK = "rolled_back"
    """Was live, then rolled back from by an operator."""


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class BuildRecord:
    """One build of one color: what its table holds once the build has run."""

    build_id: str
    color: Color
    status: BuildStatus
    started_at: str
    as_of_date: str | None = None
    """The dbt var (a data interval's date); None = newest date in the lake."""
    ranking_date: str | None = None
    """The ranking date served from this build (the table's newest)."""
    rows: int | None = None
    served_rows: int | None = None
    max_ingested_at: str | None = None
    """Newest lake ingest time behind the table (ISO, UTC): its freshness reference."""
    full_refresh: bool = False
    finished_at: str | None = None
    published_at: str | None = None
    reason: str | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildRecord:
        d = dict(d)
        d["color"] = Color(d["color"])
        d["status"] = BuildStatus(d["status"])
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Lease:
    """A build in progress: one writer per warehouse file, from dbt build to flip or refusal."""

    build_id: str
    color: Color
    owner: str
    """`pid:<pid>` for a CLI run (liveness checked by pid); `airflow:<dag>/<run>` for a DAG
    run, whose tasks run in different processes (liveness by expiry only)."""
    host: str
    started_at: str
    expires_at: str
    """A lease is never held longer than the dbt timeout plus an hour."""

    def is_alive(self, now: datetime | None = None) -> bool:
        """False once expired, or when a CLI owner's pid is gone on this host."""
        now = now or datetime.now(UTC)
        if now >= datetime.fromisoformat(self.expires_at):
            return False
        if self.owner.startswith("pid:") and self.host == socket.gethostname():
            try:
                os.kill(int(self.owner.removeprefix("pid:")), 0)
            except ProcessLookupError:
                return False
            except (PermissionError, ValueError):
                return True
        return True


@dataclass
class ControlState:
    """The whole flag document."""

    live_color: Color | None = None
    live_build_id: str | None = None
    previous_build_id: str | None = None
    """The build that was live before the current one (rollback target if intact)."""
    generation: int = 0
    """Incremented by every flip and rollback: a flip is a compare-and-set on it."""
    colors: dict[Color, BuildRecord] = field(default_factory=dict)
    lease: Lease | None = None
    dirty: list[Color] = field(default_factory=list)
    view_color: Color | None = None
    """The color `marts.rankings_live` pointed at after the last successful sync."""
    served_build_id: str | None = None
    """The build the Redis serving pointer was last moved to (what the API serves)."""
    served_at: str | None = None
    """When that pointer move happened: the publish time freshness is measured at."""

    @property
    def idle_color(self) -> Color:
        """The color a new build goes into: the one that is not live (blue first)."""
        return self.live_color.other if self.live_color else Color.BLUE

    def live_record(self) -> BuildRecord | None:
        return self.colors.get(self.live_color) if self.live_color else None

    def rollback_target(self) -> BuildRecord | None:
        """The previous live build, if the idle table still holds it untouched."""
        if self.live_color is None or self.previous_build_id is None:
            return None
        rec = self.colors.get(self.live_color.other)
        if rec and rec.build_id == self.previous_build_id and rec.status is BuildStatus.STANDBY:
            return rec
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["colors"] = {str(c): asdict(r) for c, r in self.colors.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ControlState:
        lease = d.get("lease")
        return cls(
            live_color=Color(d["live_color"]) if d.get("live_color") else None,
            live_build_id=d.get("live_build_id"),
            previous_build_id=d.get("previous_build_id"),
            generation=int(d.get("generation", 0)),
            colors={Color(c): BuildRecord.from_dict(r) for c, r in (d.get("colors") or {}).items()},
            lease=Lease(**{**lease, "color": Color(lease["color"])}) if lease else None,
            dirty=[Color(c) for c in d.get("dirty", [])],
            view_color=Color(d["view_color"]) if d.get("view_color") else None,
            served_build_id=d.get("served_build_id"),
            served_at=d.get("served_at"),
        )


class ControlStore:
    """Read and change the flag; every change is locked, atomic and appended to history."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "state.json"
        self.history_path = folder / "history.jsonl"
        self._lock_path = folder / "state.lock"

    def read(self) -> ControlState:
        """A consistent snapshot (the file is replaced atomically, so no lock is needed)."""
        if not self.path.exists():
            return ControlState()
        return ControlState.from_dict(json.loads(self.path.read_text(encoding="utf-8")))

    @contextmanager
    def change(self, action: str, **details: Any) -> Iterator[ControlState]:
        """Lock, load, let the caller mutate, then write and log `action` (only if no exception)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock_path.open("a") as lock:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RankingsTransientError(
                            f"the rankings flag {self.path} is locked by another process for "
                            f"> {LOCK_TIMEOUT_S:.0f} s"
                        ) from None
                    time.sleep(0.05)
            try:
                state = self.read()
                yield state
                write_json_atomic(self.path, state.to_dict())
                self._append_history(action, state, details)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append_history(self, action: str, state: ControlState, details: dict[str, Any]) -> None:
        entry = {
            "at": utcnow_iso(),
            "action": action,
            "live_color": state.live_color,
            "live_build_id": state.live_build_id,
            "generation": state.generation,
            **details,
        }
        with self.history_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, default=str) + "\n")

    def history(self, last: int | None = None) -> list[dict[str, Any]]:
        if not self.history_path.exists():
            return []
        lines = self.history_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in (lines[-last:] if last else lines) if line.strip()]


__all__ = [
    "BuildRecord",
    "BuildStatus",
    "Color",
    "ControlState",
    "ControlStore",
    "Lease",
    "utcnow_iso",
]
