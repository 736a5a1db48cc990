"""The replayed quarter's script: one YAML entry per upstream change, validated strictly.

Backs story 1's result "schema-related breakages fell from 4/quarter to 0"
with a quarter that is written down, not improvised: every change the app
team (or analytics) makes is an entry with its day, what it changes, whether
it is safe, breaking, or an urgent non-backward change, and for the latter
two the fix done the versioning way (a new subject version with
expand/contract and dual-write, or a new dbt model version with a
deprecation_date). Both arms of `starlab contracts replay` play the same
script; what differs is whether the gate stands between a change and
production.

What a change can touch (all real when replayed):

- `app_db`: SQL run against the app team's PostgreSQL as a numbered
  migration (captured by Debezium, re-encoded by the CDC bridge), with the
  SQL that undoes it (what on-call runs after a breakage);
- `contract`: the Avro version the pull request adds for a subject
  (`app.items-value`, `engagement.events-value`): field operations on the
  subject's latest version file. For the event subject the producer then
  writes with that version;
- `dbt`: file edits in dbt_project/ (replace a text, or copy a file with
  replacements). `{deprecation_date}` in a new text is the change's landing
  date plus the deprecation window.

A bad script is bad input: one line naming the file and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.errors import BadContractInput
from starlab.validation import one_line

EVENTS_SUBJECT = "engagement.events-value"
"""The subject the edge producer writes (contracts/subjects.yaml); a change to it is a producer change."""
DAYS_PER_WEEK = 7


class ChangeKind(StrEnum):
    SAFE = "safe"
    """Backward (and forward) compatible: lands after review."""
    BREAKING = "breaking"
    """Breaks a consumer as written; the fix is the versioning path."""
    URGENT = "urgent"
    """A non-backward change that must land fast: only the versioning path can do it safely."""


class Surface(StrEnum):
    APP_DB = "app_db"
    PRODUCER = "producer"
    DBT = "dbt"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- Avro field operations


class Fill(_Strict):
    """How the producer fills a field the engagement event does not have."""

    copy_from: str | None = Field(default=None, alias="copy")
    const: str | int | bool | None = None


class AddField(_Strict):
    name: str
    type: str | dict[str, Any] | list[Any]
    nullable: bool = True
    """True: `["null", type]` with default null, what the CDC bridge derives for a nullable column."""
    fill: Fill | None = None


class RenameField(_Strict):
    old: str = Field(alias="from")
    new: str = Field(alias="to")


class AvroOp(_Strict):
    """One field operation; exactly one of the three keys."""

    add: AddField | None = None
    drop: str | None = None
    rename: RenameField | None = None

    @model_validator(mode="after")
    def _one(self) -> AvroOp:
        if sum(x is not None for x in (self.add, self.drop, self.rename)) != 1:
            raise ValueError("an Avro operation has exactly one of add, drop, rename")
        return self


class ContractEdit(_Strict):
    subject: str
    avro: tuple[AvroOp, ...] = Field(min_length=1)


class AppDbEdit(_Strict):
    sql: str = Field(min_length=1)
    """Run as migration `NNNN_<change>.sql` when the change lands (one transaction)."""
    revert_sql: str | None = None
    """What on-call runs to undo it after a breakage (without the gate)."""


class ReplaceText(_Strict):
    file: str
    old: str = Field(min_length=1)
    new: str


class CopyFile(_Strict):
    src: str = Field(alias="from")
    dest: str = Field(alias="to")
    replace: tuple[tuple[str, str], ...] = ()


class DbtOp(_Strict):
    replace: ReplaceText | None = None
    copy_file: CopyFile | None = Field(default=None, alias="copy")

    @model_validator(mode="after")
    def _one(self) -> DbtOp:
        if (self.replace is None) == (self.copy_file is None):
            raise ValueError("a dbt operation has exactly one of replace, copy")
        return self


class Edits(_Strict):
    """What one commit changes."""

    title: str
    app_db: AppDbEdit | None = None
    contract: ContractEdit | None = None
    dbt: tuple[DbtOp, ...] = ()

    @property
    def is_empty(self) -> bool:
        return self.app_db is None and self.contract is None and not self.dbt


class Fix(Edits):
    """The versioning path of a breaking or urgent change."""

    after_days: int = Field(ge=0, le=30)
    """Days from the block (with the gate) or the page (without) until the fix commit."""
    review_days: int = Field(default=1, ge=0, le=30)
    """Review of the fix commit before it merges (0 for an urgent change's)."""


class Change(Edits):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,9}$")
    day: int = Field(ge=1)
    """Day of the quarter the pull request is opened (1 = the quarter's first day)."""
    review_days: int = Field(default=2, ge=0, le=30)
    """Review until merge; 0 for an urgent change merged the day it is opened."""
    kind: ChangeKind
    surface: Surface
    owner: str
    rationale: str
    fix: Fix | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Change:
        if self.kind is not ChangeKind.SAFE and self.fix is None:
            raise ValueError(f"a {self.kind.value} change needs a fix (its versioning path)")
        if self.is_empty:
            raise ValueError("a change edits app_db, contract or dbt")
        if self.surface is Surface.APP_DB and self.app_db is None:
            raise ValueError("an app_db change has an app_db edit")
        if self.surface is Surface.PRODUCER and (
            self.contract is None or self.contract.subject != EVENTS_SUBJECT
        ):
            raise ValueError(f"a producer change edits the contract of {EVENTS_SUBJECT}")
        if self.surface is Surface.DBT and not self.dbt:
            raise ValueError("a dbt change has dbt edits")
        if self.app_db is not None and self.kind is not ChangeKind.SAFE and self.app_db.revert_sql is None:
            raise ValueError("a non-safe app_db change gives its revert_sql (what on-call runs)")
        return self


class AppSeed(_Strict):
    items: int = Field(default=60, ge=1, le=100_000)
    users: int = Field(default=200, ge=1, le=100_000)


class Script(_Strict):
    """A quarter of upstream changes."""

    quarter_start: date
    """First day of the quarter replayed without the gate; the gate's quarter follows it."""
    weeks: int = Field(default=13, ge=1, le=53)
    seed: int = 7
    app: AppSeed = AppSeed()
    history_days: int = Field(default=2, ge=1, le=30)
    """Days of events before day 1, so the first build has data."""
    quiet_days: tuple[int, ...] = ()
    """Days without a change that are replayed anyway: the runtime baseline."""
    changes: tuple[Change, ...] = Field(min_length=1)

    @property
    def days(self) -> int:
        return self.weeks * DAYS_PER_WEEK

    @model_validator(mode="after")
    def _days_and_ids(self) -> Script:
        ids = [c.id for c in self.changes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"change id used twice: {', '.join(dupes)}")
        for c in self.changes:
            if c.day > self.days:
                raise ValueError(f"change {c.id}: day {c.day} is after the quarter's last day {self.days}")
        for q in self.quiet_days:
            if not 1 <= q <= self.days:
                raise ValueError(f"quiet day {q} is outside 1..{self.days}")
        return self

    def change(self, change_id: str) -> Change:
        return next(c for c in self.changes if c.id == change_id)

    def fills(self) -> dict[str, Fill]:
        """Producer fills by field name, from every `add` and `rename` of the event subject."""
        out: dict[str, Fill] = {}
        for c in self.changes:
            for edits in (c, c.fix):
                if edits is None or edits.contract is None or edits.contract.subject != EVENTS_SUBJECT:
                    continue
                for op in edits.contract.avro:
                    if op.add is not None and op.add.fill is not None:
                        out[op.add.name] = op.add.fill
                    if op.rename is not None:
                        out[op.rename.new] = Fill.model_validate({"copy": op.rename.old})
        return out

    def counts(self) -> dict[ChangeKind, int]:
        return {k: sum(1 for c in self.changes if c.kind is k) for k in ChangeKind}


# --------------------------------------------------------------------------- Avro operations


def apply_avro_ops(schema: dict[str, Any], ops: tuple[AvroOp, ...]) -> dict[str, Any]:
    """A new version of a record schema: fields added (at the end), dropped or renamed in place."""
    out = json.loads(json.dumps(schema))
    fields: list[dict[str, Any]] = out["fields"]
    names = [f["name"] for f in fields]
    for op in ops:
        if op.add is not None:
            if op.add.name in names:
                raise BadContractInput(f"avro add: field {op.add.name!r} already exists")
            field: dict[str, Any] = {"name": op.add.name, "type": op.add.type}
            if op.add.nullable:
                field = {"name": op.add.name, "type": ["null", op.add.type], "default": None}
            fields.append(field)
        elif op.drop is not None:
            if op.drop not in names:
                raise BadContractInput(f"avro drop: no field {op.drop!r}")
            fields[:] = [f for f in fields if f["name"] != op.drop]
        elif op.rename is not None:
            if op.rename.old not in names:
                raise BadContractInput(f"avro rename: no field {op.rename.old!r}")
            for f in fields:
                if f["name"] == op.rename.old:
                    f["name"] = op.rename.new
        names = [f["name"] for f in fields]
    return dict(out)


# --------------------------------------------------------------------------- loading


def load_script(path: Path) -> Script:
    """Read and validate a replay script; any problem is `BadContractInput` in one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadContractInput(f"replay script: cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadContractInput(f"replay script {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise BadContractInput(
            f"replay script {path}: expected a mapping at the top, got {type(data).__name__}"
        )
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        raise BadContractInput(f"replay script {path}: {one_line(exc)}") from None


SHORT_QUARTER: dict[str, tuple[int, int]] = {"C01": (2, 1), "B1": (4, 1), "B2": (7, 1), "U1": (10, 0)}
"""Change id -> (day, review days) of the two-week quarter: one safe change (items gets a
nullable brand), two breaking ones (items renames created_at; the producer renames platform)
and the urgent one (the Sales report table renames events and drops shares, which only a new
model version ships the same day)."""


def short_quarter(source: Path, dest: Path, keep: Mapping[str, tuple[int, int]] = SHORT_QUARTER) -> Path:
    """Write to `dest` a two-week quarter of `source`'s changes named in `keep`, on closer days.

    Taken from the real script rather than written apart, so a short replay (the
    integration test's, the report test's small demo) plays the changes the demo
    replays. Validated like any script before it is written.
    """
    load_script(source)  # a bad source fails here, in one line
    # The source's own YAML, not a dump of the model: the short script says what the long one says.
    full: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    changes = [
        {**c, "day": keep[c["id"]][0], "review_days": keep[c["id"]][1]}
        for c in full["changes"]
        if c["id"] in keep
    ]
    missing = set(keep) - {c["id"] for c in changes}
    if missing:
        raise BadContractInput(f"replay script {source}: no change {', '.join(sorted(missing))}")
    short = {**full, "weeks": 2, "quiet_days": [], "changes": changes}
    try:
        Script.model_validate(short)
    except ValidationError as exc:
        raise BadContractInput(f"short quarter of {source}: {one_line(exc)}") from None
    dest.write_text(yaml.safe_dump(short, sort_keys=False), encoding="utf-8")
    return dest


__all__ = [
    "EVENTS_SUBJECT",
    "SHORT_QUARTER",
    "AddField",
    "AppDbEdit",
    "AvroOp",
    "Change",
    "ChangeKind",
    "ContractEdit",
    "CopyFile",
    "DbtOp",
    "Edits",
    "Fill",
    "Fix",
    "RenameField",
    "ReplaceText",
    "Script",
    "Surface",
    "apply_avro_ops",
    "load_script",
    "short_quarter",
]
