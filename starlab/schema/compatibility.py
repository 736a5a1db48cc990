"""Confluent's schema compatibility modes, built on Apache Avro's own checker.

Backs story 1 (data contracts and schema changes): "every schema change is
checked against the registered history in CI with the registry's
compatibility mode". The same function answers the `starlab contracts compat`
gate and the registry's `POST /subjects/{s}/versions` (409 on incompatible), so
the CI gate and the registry can never disagree.

Modes mean exactly what Confluent Schema Registry says they mean:

| mode                 | the candidate is checked against | direction                       |
|----------------------|----------------------------------|---------------------------------|
| BACKWARD             | the latest version               | new schema reads old data       |
| BACKWARD_TRANSITIVE  | every previous version           | new schema reads old data       |
| FORWARD              | the latest version               | old schema reads new data       |
| FORWARD_TRANSITIVE   | every previous version           | old schema reads new data       |
| FULL                 | the latest version               | both                            |
| FULL_TRANSITIVE      | every previous version           | both                            |
| NONE                 | nothing                          | -                               |

Schema resolution itself is Avro's (`avro.compatibility.ReaderWriterCompatibilityChecker`,
a port of Java Avro's `SchemaCompatibility`, which Confluent's registry also
uses); this module only chooses the (reader, writer) pairs per mode and turns
the checker's findings into reasons that name the field path.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import avro.compatibility as avro_compat
import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)
from avro.schema import ArraySchema, MapSchema, RecordSchema, Schema, UnionSchema

from starlab.errors import ConfigError, StarlabError

__all__ = [
    "CompatibilityMode",
    "CompatibilityResult",
    "Incompatibility",
    "InvalidCompatibilityModeError",
    "SchemaParseError",
    "canonical_text",
    "check",
    "check_files",
    "load_schema",
    "parse_schema",
]


# --------------------------------------------------------------------------- errors


class SchemaParseError(StarlabError):
    """A schema file or text is not valid JSON or not a valid Avro schema.

    Terminal (retrying cannot help). `source` says where the text came from,
    `problem` what is wrong with it; `str()` is one line for the CLI.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")


class InvalidCompatibilityModeError(ConfigError):
    """A compatibility mode name that Confluent's registry does not know."""


# --------------------------------------------------------------------------- modes


class CompatibilityMode(StrEnum):
    """Confluent Schema Registry's compatibility levels (same names and meaning)."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        """Checked against every previous version, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def new_reads_old(self) -> bool:
        """Backward direction: the candidate (reader) must read the history (writer)."""
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def old_reads_new(self) -> bool:
        """Forward direction: the history (reader) must read the candidate (writer)."""
        return self.value.startswith(("FORWARD", "FULL"))

    @classmethod
    def parse(cls, value: str) -> CompatibilityMode:
        """Case-insensitive lookup; `backward-transitive` is accepted too."""
        key = value.strip().upper().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InvalidCompatibilityModeError(
                f"unknown compatibility mode {value!r}; use one of {allowed}"
            ) from None


# --------------------------------------------------------------------------- parsing

# Keys first in this order, the rest alphabetically: stable and readable output.
_TYPE_KEY_ORDER = (
    "type", "name", "namespace", "doc", "aliases", "fields", "symbols", "default",
    "items", "values", "size", "logicalType", "precision", "scale",
)  # fmt: skip
_FIELD_KEY_ORDER = ("name", "type", "doc", "default", "order", "aliases")


def _keys(node: dict[str, Any], order: Sequence[str]) -> list[str]:
    return [k for k in order if k in node] + sorted(k for k in node if k not in order)


def _order_schema(node: Any) -> Any:
    """Reorder the keys of a schema's JSON form; defaults and custom props stay as written."""
    if isinstance(node, list):  # a union
        return [_order_schema(branch) for branch in node]
    if not isinstance(node, dict):  # a type name
        return node
    out: dict[str, Any] = {}
    for key in _keys(node, _TYPE_KEY_ORDER):
        value = node[key]
        if key == "fields" and isinstance(value, list):
            out[key] = [_order_field(f) for f in value]
        elif key in ("type", "items", "values"):
            out[key] = _order_schema(value)
        else:
            out[key] = value
    return out


def _order_field(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    return {k: _order_schema(node[k]) if k == "type" else node[k] for k in _keys(node, _FIELD_KEY_ORDER)}


def canonical_text(schema: Schema) -> str:
    """The schema's identity text: compact JSON with a fixed key order.

    Like Confluent (which compares Java Avro's `Schema.toString()`), whitespace
    and key order do not matter but docs, defaults and aliases do: two texts
    with the same canonical text get the same global schema id.
    """
    return json.dumps(_order_schema(schema.to_json()), separators=(",", ":"))


def _check_defaults(data: Any, source: str) -> None:
    """Reject defaults that do not match their field's type.

    Java Avro (and Confluent's registry, for newly registered schemas) validate
    defaults; Python's `avro` does not. fastavro's parser does, so it is run as
    a second opinion, and only its default-value findings are reported: `avro`
    stays the authority on everything else.
    """
    import fastavro

    try:
        fastavro.parse_schema(data, _write_hint=False, _force=True)
    except fastavro.schema.SchemaParseException as exc:
        if str(exc).startswith("Default value"):
            raise SchemaParseError(source, f"invalid Avro schema: {exc}") from None
    except Exception:  # anything else is avro's call, and avro accepted it
        return


def parse_schema(text: str, source: str = "<schema>", *, validate_defaults: bool = True) -> Schema:
    """Parse Avro schema JSON text; raise `SchemaParseError` naming `source` if invalid."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaParseError(
            source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    try:
        schema = avro.schema.make_avsc_object(data)
    except (avro.errors.AvroException, TypeError, ValueError, AttributeError, KeyError) as exc:
        # avro raises SchemaParseException for most problems, but a wrong JSON
        # shape (e.g. `"fields": 3`) can surface as a plain Python error.
        raise SchemaParseError(source, f"invalid Avro schema: {exc}") from None
    if validate_defaults:
        _check_defaults(data, source)
    return schema


def load_schema(path: str | Path) -> Schema:
    """Read and parse an `.avsc` file; unreadable or invalid -> `SchemaParseError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SchemaParseError(str(p), f"cannot read file: {reason}") from None
    return parse_schema(text, source=str(p))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Incompatibility:
    """One reason a reader schema cannot read data written with a writer schema."""

    kind: str
    """Avro's incompatibility type, upper-case as in Confluent's messages
    (`READER_FIELD_MISSING_DEFAULT_VALUE`, `TYPE_MISMATCH`, ...)."""
    location: str
    """JSON-pointer-like path in the reader schema, e.g. `/fields/3/type`."""
    field_path: str | None
    """Dotted field names along `location` (e.g. `address.zip`), when resolvable."""
    detail: str
    """What is wrong, in words."""
    reader: str
    """Which schema reads (e.g. `new schema` or `version 2`)."""
    writer: str
    """Which schema wrote the data."""

    def __str__(self) -> str:
        where = f"{self.location} ({self.field_path})" if self.field_path else self.location
        return f"{where}: {self.detail} [reader: {self.reader}, writer: {self.writer}]"


@dataclass(frozen=True)
class CompatibilityResult:
    """The outcome of checking a candidate against its history under one mode."""

    mode: CompatibilityMode
    is_compatible: bool
    incompatibilities: tuple[Incompatibility, ...] = ()
    checked_against: tuple[str, ...] = ()
    """Labels of the history schemas the mode compared the candidate with."""

    @property
    def reasons(self) -> list[str]:
        """One human-readable line per incompatibility, each naming the field path."""
        return [str(i) for i in self.incompatibilities]

    @property
    def messages(self) -> list[str]:
        """Registry-style messages: the reasons plus the mode that produced them."""
        if self.is_compatible:
            return []
        return [*self.reasons, f"{{compatibility: '{self.mode.value}'}}"]


# --------------------------------------------------------------------------- checker glue


@dataclass(frozen=True)
class _Finding:
    kind: SchemaIncompatibilityType
    message: str
    location: str
    raw_location: tuple[str, ...]
    reader: Schema
    writer: Schema
    """The (reader, writer) pair being checked when the finding was made."""


class _LocatingChecker(ReaderWriterCompatibilityChecker):
    """Avro's checker plus two things it loses: paths under writer unions and pairing.

    1. Upstream calls `get_compatibility(reader, branch)` without a location
       for each branch of a writer union, so a finding there is reported at
       `/` (making an optional field required would not name the field). Here
       a call without a location inherits the location being checked.
    2. Upstream merges findings into *sets* of messages and locations, so with
       two problems one can no longer tell which message belongs to which
       path. Every finding is made by `avro.compatibility.incompatible`; a thin
       wrapper (below) reports each one to the active checker, with the pair
       of schemas being compared at that moment.
    """

    def __init__(self) -> None:
        super().__init__()
        self._stack: list[tuple[Schema, Schema, list[str]]] = []
        self.findings: list[_Finding] = []

    def get_compatibility(
        self,
        reader: Schema,
        writer: Schema,
        reference_token: str = ReaderWriterCompatibilityChecker.ROOT_REFERENCE_TOKEN,
        location: list[str] | None = None,
    ) -> SchemaCompatibilityResult:
        if location is None and self._stack:
            parent = self._stack[-1][2]
            location, reference_token = parent[:-1], parent[-1]
        return super().get_compatibility(reader, writer, reference_token, location)

    def calculate_compatibility(
        self, reader: Schema, writer: Schema, location: list[str]
    ) -> SchemaCompatibilityResult:
        self._stack.append((reader, writer, location))
        try:
            return super().calculate_compatibility(reader, writer, location)
        finally:
            self._stack.pop()

    def record(
        self,
        kind: SchemaIncompatibilityType,
        message: str,
        location: list[str],
        result: SchemaCompatibilityResult,
    ) -> None:
        if self._stack:
            reader, writer, _ = self._stack[-1]
            self.findings.append(
                _Finding(kind, message, next(iter(result.locations)), tuple(location), reader, writer)
            )

    def run(self, reader: Schema, writer: Schema, location: Sequence[str] = ()) -> SchemaCompatibilityResult:
        """Check with this checker receiving the findings (thread- and task-safe)."""
        token = _ACTIVE.set(self)
        try:
            if location:
                return self.get_compatibility(reader, writer, location[-1], list(location[:-1]))
            return self.get_compatibility(reader, writer)
        finally:
            _ACTIVE.reset(token)


_ACTIVE: contextvars.ContextVar[_LocatingChecker | None] = contextvars.ContextVar(
    "starlab_avro_checker", default=None
)
_original_incompatible = getattr(avro_compat.incompatible, "__wrapped__", avro_compat.incompatible)


def _recording_incompatible(
    incompat_type: SchemaIncompatibilityType, message: str, location: list[str]
) -> SchemaCompatibilityResult:
    """`avro.compatibility.incompatible`, unchanged, that also tells the active checker."""
    result = _original_incompatible(incompat_type, message, location)
    checker = _ACTIVE.get()
    if checker is not None:
        checker.record(incompat_type, message, location, result)
    return result


_recording_incompatible.__wrapped__ = _original_incompatible  # type: ignore[attr-defined]
# Module-level functions of avro.compatibility look `incompatible` up at call
# time, so replacing the attribute reaches every finding. Outside `run()` the
# wrapper only forwards.
avro_compat.incompatible = _recording_incompatible


def _describe(kind: SchemaIncompatibilityType, message: str) -> str:
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return f"reader field '{message}' has no default and is missing in writer"
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        return f"reader enum lacks writer symbol(s) {message} and has no enum default"
    if kind is SchemaIncompatibilityType.name_mismatch:
        return f"reader type name differs from writer's ({message})"
    if kind is SchemaIncompatibilityType.fixed_size_mismatch:
        return f"fixed size differs ({message})"
    return message  # type_mismatch / missing_union_branch messages are already prose


def _union_branch(union: UnionSchema, token: str) -> Schema | None:
    wanted = {"fields": RecordSchema, "items": ArraySchema, "values": MapSchema}.get(token)
    if wanted is None:
        return None
    matches = [s for s in union.schemas if isinstance(s, wanted)]
    return matches[0] if len(matches) == 1 else None


def _field_path(reader: Schema, location: str) -> str | None:
    """Best effort: turn `/fields/2/type/fields/0` into `address.zip` (reader names)."""
    tokens = [t for t in location.split("/") if t]
    names: list[str] = []
    node: Schema | None = reader
    i = 0
    while i < len(tokens) and node is not None:
        token = tokens[i]
        if isinstance(node, UnionSchema) and token in ("fields", "items", "values"):
            node = _union_branch(node, token)
            continue
        if token == "fields" and isinstance(node, RecordSchema) and i + 1 < len(tokens):
            index = int(tokens[i + 1]) if tokens[i + 1].isdigit() else -1
            if not 0 <= index < len(node.fields):
                break
            fld = node.fields[index]
            names.append(fld.name)
            node = fld.type
            i += 2
        elif token == "type":
            i += 1  # the field's type is already `node`
        elif token == "items" and isinstance(node, ArraySchema):
            names.append("[]")
            node = node.items
            i += 1
        elif token == "values" and isinstance(node, MapSchema):
            names.append("{}")
            node = node.values
            i += 1
        else:
            break
    text = ".".join(names).replace(".[]", "[]").replace(".{}", "{}")
    return text or None


def _same_named_branch(union: UnionSchema, writer: Schema) -> Schema | None:
    """The reader union's branch meant to read `writer` (same type, same name if named)."""
    name = getattr(writer, "fullname", None)
    matches = [b for b in union.schemas if b.type == writer.type and getattr(b, "fullname", None) == name]
    return matches[0] if len(matches) == 1 else None


def _union_causes(finding: _Finding, depth: int) -> list[_Finding]:
    """Why a union branch did not match: Avro reports only "reader union lacking
    writer type: RECORD" at the union; for an optional record (["null", R]) the
    useful answer is the field inside R that broke, so check that branch pair."""
    reader, writer, raw = finding.reader, finding.writer, list(finding.raw_location)
    if not isinstance(reader, UnionSchema) or depth > 8:
        return []
    if isinstance(writer, UnionSchema):  # union vs union: the token is the writer branch index
        if not raw or not raw[-1].isdigit() or int(raw[-1]) >= len(writer.schemas):
            return []
        writer, raw = writer.schemas[int(raw[-1])], raw[:-1]
    branch = _same_named_branch(reader, writer)
    if branch is None or branch.type not in ("record", "array", "map", "enum", "fixed"):
        return []
    return _findings(branch, writer, raw, depth + 1)


def _findings(reader: Schema, writer: Schema, location: Sequence[str] = (), depth: int = 0) -> list[_Finding]:
    checker = _LocatingChecker()
    result = checker.run(reader, writer, location)
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    # Keep what made it into the final result: a reader union tries every
    # branch, and the branches that did not match leave findings that do not count.
    kept: dict[tuple[SchemaIncompatibilityType, str, str], _Finding] = {}
    for f in checker.findings:
        key = (f.kind, f.message, f.location)
        if (
            f.kind in result.incompatibilities
            and f.message in result.messages
            and f.location in result.locations
            and key not in kept
        ):
            kept[key] = f
    out: list[_Finding] = []
    for f in kept.values():
        out.append(f)
        if f.kind is SchemaIncompatibilityType.missing_union_branch:
            out += [c for c in _union_causes(f, depth) if c not in out]
    if not out:  # cannot happen with avro 1.12; keep the verdict honest anyway
        out = [
            _Finding(SchemaIncompatibilityType.type_mismatch, m, loc, (), reader, writer)
            for m, loc in zip(sorted(result.messages), sorted(result.locations), strict=False)
        ]
    return out


def _check_pair(
    reader: Schema, writer: Schema, reader_label: str, writer_label: str
) -> list[Incompatibility]:
    """All reasons `reader` cannot read data written with `writer` (empty = compatible)."""
    return [
        Incompatibility(
            kind=f.kind.value.upper(),
            location=f.location,
            field_path=_field_path(reader, f.location),
            detail=_describe(f.kind, f.message),
            reader=reader_label,
            writer=writer_label,
        )
        for f in _findings(reader, writer)
    ]


# --------------------------------------------------------------------------- API

SchemaLike = str | Schema


@lru_cache(maxsize=512)
def _parse_cached(text: str, source: str) -> Schema:
    # History schemas are re-checked on every registration; parsing dominates.
    return parse_schema(text, source=source, validate_defaults=False)


def _as_schema(value: SchemaLike, label: str, *, candidate: bool) -> Schema:
    if isinstance(value, Schema):
        return value
    if candidate:
        return parse_schema(value, source=label)
    return _parse_cached(value, label)


def _pairs(mode: CompatibilityMode, n_history: int) -> Iterator[tuple[int, bool]]:
    """(history index, candidate-is-reader) pairs the mode requires, newest first."""
    if mode is CompatibilityMode.NONE or n_history == 0:
        return
    indexes = range(n_history - 1, -1, -1) if mode.transitive else [n_history - 1]
    for index in indexes:
        if mode.new_reads_old:
            yield index, True
        if mode.old_reads_new:
            yield index, False


def check(
    candidate: SchemaLike,
    history: Sequence[SchemaLike],
    mode: CompatibilityMode | str,
    *,
    candidate_label: str = "new schema",
    history_labels: Sequence[str] | None = None,
) -> CompatibilityResult:
    """Check `candidate` against `history` (oldest first) under a Confluent mode.

    Texts are parsed with `parse_schema` (invalid -> `SchemaParseError`); parsed
    `avro.schema.Schema` objects are used as they are. Labels only name the
    schemas in the reasons (default: "new schema" and "version 1..n").
    """
    mode = mode if isinstance(mode, CompatibilityMode) else CompatibilityMode.parse(mode)
    labels = (
        list(history_labels)
        if history_labels is not None
        else [f"version {i + 1}" for i in range(len(history))]
    )
    if len(labels) != len(history):
        raise ValueError("history_labels must have one label per history schema")
    new = _as_schema(candidate, candidate_label, candidate=True)
    # Parse the whole history up front: a broken file is bad input (exit 2),
    # even where the mode would not have compared against it.
    old = [_as_schema(s, label, candidate=False) for s, label in zip(history, labels, strict=True)]

    found: list[Incompatibility] = []
    compared: dict[str, None] = {}
    for index, new_is_reader in _pairs(mode, len(old)):
        compared[labels[index]] = None
        if new_is_reader:
            found += _check_pair(new, old[index], candidate_label, labels[index])
        else:
            found += _check_pair(old[index], new, labels[index], candidate_label)
    return CompatibilityResult(
        mode=mode,
        is_compatible=not found,
        incompatibilities=tuple(found),
        checked_against=tuple(compared),
    )


def check_files(paths: Sequence[str | Path], mode: CompatibilityMode | str) -> CompatibilityResult:
    """`starlab contracts compat V1.avsc [V2.avsc ...] NEW.avsc --mode MODE` in one call.

    The last path is the candidate, the others its history, oldest first.
    Raises `SchemaParseError` for an unreadable or invalid file and
    `InvalidCompatibilityModeError` for an unknown mode (both: exit 2).
    """
    if not paths:
        raise ConfigError("give at least one schema file (the candidate)")
    mode = mode if isinstance(mode, CompatibilityMode) else CompatibilityMode.parse(mode)
    schemas = [load_schema(p) for p in paths]
    names = [Path(p).name for p in paths]
    # Two files may share a name in different folders: fall back to full paths.
    if len(set(names)) != len(names):
        names = [str(p) for p in paths]
    return check(
        schemas[-1],
        schemas[:-1],
        mode,
        candidate_label=names[-1],
        history_labels=names[:-1],
    )
