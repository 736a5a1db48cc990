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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from pydantic import TypeAdapter, ValidationError

from rankings.errors import BadRecord, RankingsTransientError
from starlab.atomic import write_json_atomic
from starlab.validation import one_line

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
    def from_dict(cls, d: object, source: str = "build record") -> BuildRecord:
        """Rebuild a record from `asdict` output, or `BadRecord` naming `source` and the field.

        The fields without a default are required; the others may be absent, as
        before, and unknown keys are ignored.
        """
        return validate_json_data(_BUILD_RECORD, d, source)


_BUILD_RECORD = TypeAdapter(BuildRecord)


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
    def from_dict(cls, d: object, source: str = "rankings flag") -> ControlState:
        """Rebuild the flag from `to_dict` output, or `BadRecord` naming `source` and the field.

        Every field has a default so that `ControlState()` is the empty flag (no
        file yet), but a stored flag must carry `_FLAG_KEYS`: read as defaults,
        a renamed `live_color` would mean "nothing live" and the next build would
        go into the live table.
        """
        if isinstance(d, Mapping):
            missing = [k for k in _FLAG_KEYS if k not in d]
            if missing:
                raise BadRecord(f"{source}: {', '.join(missing)}: Field required")
        return validate_json_data(_CONTROL_STATE, d, source)


_CONTROL_STATE = TypeAdapter(ControlState)
_FLAG_KEYS = ("live_color", "live_build_id", "previous_build_id", "generation", "colors", "lease", "dirty")
"""Required in a stored flag. `view_color`, `served_build_id` and `served_at` may be absent:
None there only means "not synced yet", which the next publish repairs."""


class HistoryDetails(TypedDict, total=False):
    """What a change adds to its history line: the keyword arguments of `ControlStore.change`."""

    build_id: str
    owner: str
    reason: str
    color: str
    failures: list[str]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of `history.jsonl`: a change of the flag, as `ControlStore.change` logged it."""

    at: str
    action: str
    live_color: Color | None
    """The flag after the change."""
    live_build_id: str | None
    generation: int
    # The `HistoryDetails` the change was given; absent ones stay None.
    build_id: str | None = None
    owner: str | None = None
    reason: str | None = None
    color: Color | None = None
    failures: tuple[str, ...] = ()


_HISTORY_ENTRY = TypeAdapter(HistoryEntry)


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
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise BadRecord(f"{self.path}: not valid JSON: {e}") from None
        return ControlState.from_dict(data, source=str(self.path))

    @contextmanager
    def change(self, action: str, **details: Unpack[HistoryDetails]) -> Iterator[ControlState]:
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

    def _append_history(self, action: str, state: ControlState, details: HistoryDetails) -> None:
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

    def history(self, last: int | None = None) -> list[HistoryEntry]:
        """The flag's changes, oldest first (the `last` ones only if given).

        A malformed line is a `BadRecord` naming the file, line number and field.
        """
        if not self.history_path.exists():
            return []
        lines = self.history_path.read_text(encoding="utf-8").splitlines()
        first = len(lines) - last + 1 if last and last < len(lines) else 1
        return [
            validate_json_text(_HISTORY_ENTRY, line, f"{self.history_path}:{n}")
            for n, line in enumerate(lines[first - 1 :], start=first)
            if line.strip()
        ]


T = TypeVar("T")


def validate_json_text(adapter: TypeAdapter[T], text: str, where: str) -> T:
    """`text`, a JSON document starlab wrote, as the adapter's type; else a one-line `BadRecord`.

    Strict JSON mode: "blue" is a valid `Color`, but "3" is no int and 1 no bool,
    so a value of the wrong type fails instead of being coerced. Unknown keys
    are ignored (pydantic's default for dataclasses).
    """
    try:
        return adapter.validate_json(text, strict=True)
    except ValidationError as e:
        raise BadRecord(f"{where}: {one_line(e)}") from None


def validate_json_data(adapter: TypeAdapter[T], data: object, where: str) -> T:
    """`validate_json_text` for already parsed JSON (a `json.loads` result, an Airflow XCom).

    Validated as JSON text rather than as Python objects: strict Python mode
    would refuse "blue" for a `Color`, lax mode would take "3" for an int.
    """
    try:
        text = json.dumps(data)
    except (TypeError, ValueError) as e:
        raise BadRecord(f"{where}: not JSON data: {e}") from None
    return validate_json_text(adapter, text, where)


__all__ = [
    "BuildRecord",
    "BuildStatus",
    "Color",
    "ControlState",
    "ControlStore",
    "HistoryDetails",
    "HistoryEntry",
    "Lease",
    "utcnow_iso",
    "validate_json_data",
    "validate_json_text",
]
