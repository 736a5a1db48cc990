"""Confluent's schema compatibility modes, decided exactly as Java Avro decides them.

Backs story 1 (data contracts and schema changes): "every schema change is
checked against the registered history in CI with the registry's
compatibility mode", agreeing with Confluent's verdicts. The same function
answers the `starlab contracts compat` gate and the registry's
`POST /subjects/{s}/versions` (409 on incompatible), so the CI gate and the
registry can never disagree.

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

Confluent decides each (reader, writer) pair with Java Avro's
`SchemaCompatibility` and refuses at registration what Java's `Schema.Parser`
refuses (invalid names, invalid defaults, ...). Python's `avro` package
differs from Java on both counts, so starlab carries small ports of the two
Java classes (`starlab.schema.model` for the parser's accept/refuse rules,
`starlab.schema.checker` for the pair check) and keeps Python's `avro` for the
`avro.schema.Schema` objects the rest of starlab uses. Java Avro itself is the
reference: `starlab.schema.reference` runs it on a generated corpus
(`starlab.schema.corpus`) and `tests/integration/schema/test_java_differential.py`
asserts that every verdict agrees; `tests/fixtures/schema/java_verdicts.jsonl`
keeps Java's verdicts on a subset for the unit tests.

This module chooses the (reader, writer) pairs per mode and turns Java's
findings into reasons that name the field path.
"""

from __future__ import annotations

import json
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

import avro.errors
import avro.name
import avro.schema
from avro.schema import Schema

from starlab.errors import ConfigError, StarlabError
from starlab.schema import model
from starlab.schema.checker import EXCEPTION, Finding, check_pair, pointer_tokens

__all__ = [
    "CompatibilityMode",
    "CompatibilityResult",
    "Incompatibility",
    "InvalidCompatibilityModeError",
    "InvalidDefaultError",
    "SchemaFileError",
    "SchemaJsonError",
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


class SchemaFileError(SchemaParseError):
    """The schema file is missing or unreadable (`problem` starts with `cannot read file`)."""


class SchemaJsonError(SchemaParseError):
    """The text is not JSON as Java Avro's parser (Jackson) reads it."""


class InvalidDefaultError(SchemaParseError):
    """A field default Java Avro refuses at parse time (Confluent: 422 / 42201 at registration)."""


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
    known = _MODELS.get(id(schema))
    if known is not None and not known.as_written:
        # Python's own JSON of a rebuilt schema can lose a null namespace; the Java
        # model's JSON (namespaces explicit, `""` for none) reads back as Java read it.
        return json.dumps(_order_schema(model.to_json(known.java)), separators=(",", ":"))
    return json.dumps(_order_schema(schema.to_json()), separators=(",", ":"))


def _reject_constant(token: str) -> Any:
    # Jackson (Java Avro's JSON parser) refuses NaN and Infinity literals; Python's json takes them.
    raise ValueError(f"{token} is not valid JSON")


def _decode(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise SchemaJsonError(
            source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise SchemaJsonError(source, f"invalid JSON: {exc}") from None


def _java_model(data: Any, source: str, *, validate_defaults: bool) -> model.Node:
    """The schema as Java Avro parses it; refused where Java refuses it."""
    try:
        return model.parse(data, validate_defaults=validate_defaults)
    except model.InvalidDefaultProblem as exc:
        raise InvalidDefaultError(source, str(exc)) from None
    except model.SchemaProblem as exc:
        raise SchemaParseError(source, f"invalid Avro schema: {exc}") from None
    except RecursionError:
        raise SchemaParseError(source, "invalid Avro schema: nested too deeply") from None


# Python's NamedSchema turns `"namespace": ""` into "inherit the enclosing one",
# so a null-namespace type inside a namespaced record cannot be written for it;
# the fallback writes this instead and `_JavaNames.add_name` maps it back.
_NULL_SPACE = "\x00"


class _JavaNames(avro.name.Names):
    """Python's name table with Java's lookup: the name in the current namespace, then as written.

    Inside namespace `n`, a reference `B` finds `n.B`, else a `B` defined in the
    null namespace (Java's `ParseContext.find`); Python stops at `n.B`.
    """

    def _found(self, name_attr: str, space_attr: str | None) -> str | None:
        full = avro.name.Name(name_attr, space_attr, self.default_namespace, validate_name=False).fullname
        for candidate in (full, name_attr):
            if candidate is not None and candidate in self.names:
                return candidate
        return None

    def add_name(self, name_attr: str, space_attr: str | None, new_schema: Any) -> avro.name.Name:
        if space_attr == _NULL_SPACE:
            space_attr = ""  # the null namespace, which Python's Name understands as ""
        return super().add_name(name_attr, space_attr, new_schema)

    def has_name(self, name_attr: str, space_attr: str | None = None) -> bool:
        return self._found(name_attr, space_attr) is not None

    def get_name(self, name_attr: str, space_attr: str | None = None) -> avro.schema.NamedSchema | None:
        found = self._found(name_attr, space_attr)
        return None if found is None else self.names[found]


def _python_ready(node: Any) -> Any:
    """The JSON with what Java ignores removed, so Python's parser need not judge it.

    Java reads `namespace`, `doc` and an enum's `default` with `textValue()` and
    drops anything that is not a string; Python's parser chokes on them.
    """
    if isinstance(node, list):
        return [_python_ready(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("namespace", "doc") and not isinstance(value, str):
            continue
        if key == "default" and node.get("type") == "enum" and not isinstance(value, str):
            continue
        if key == "order" and isinstance(value, str):
            value = value.lower()  # Java accepts any case
        if key in ("type", "items", "values"):
            value = _python_ready(value)
        elif key == "fields" and isinstance(value, list):
            value = [_python_field(f) for f in value]
        out[key] = value
    return out


def _python_field(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {
        k: (_python_ready(v) if k == "type" else v)
        for k, v in node.items()
        if k != "doc" or isinstance(v, str)
    }
    if isinstance(out.get("order"), str):
        out["order"] = out["order"].lower()
    return out


def _python_fallback(java: model.Node) -> Schema:
    """Build Python's objects from the Java model when Python cannot parse the text as written.

    Forward references and equal redefinitions are written out in the order a
    single-pass parser needs (`model.to_json`), with every namespace explicit;
    enums are built first with symbol validation off, because Python checks
    nested enum symbols against ASCII names whatever its top-level flag says.
    """
    names = _JavaNames(validate_names=False)
    enums: dict[str, model.Enum] = {}
    for node in model.walk(java):
        if isinstance(node, model.Enum):
            enums.setdefault(node.fullname, node)  # an equal redefinition: the first one wins
    for e in enums.values():
        props = dict(e.props)
        if e.default is not None:
            props["default"] = e.default
        doc = e.written.get("doc")
        avro.schema.EnumSchema(
            e.name,
            e.namespace or _NULL_SPACE,
            list(e.symbols),
            names=names,
            doc=doc if isinstance(doc, str) else None,
            other_props=props,
            validate_enum_symbols=False,
            validate_names=False,
        )
    data = model.to_json(java, predefined=frozenset(enums), null_namespace=_NULL_SPACE)
    return avro.schema.make_avsc_object(
        _python_ready(data), names=names, validate_enum_symbols=False, validate_names=False
    )


def _java_names(java: model.Node) -> set[str]:
    return {n.fullname for n in model.walk(java) if isinstance(n, model.Named)}


def _to_python_avro(data: Any, java: model.Node, source: str) -> tuple[Schema, bool]:
    """Python's `avro.schema.Schema` for a schema Java accepted, and whether it was built from
    the text as written (False: rebuilt from the Java model, see `_python_fallback`)."""
    errors = (avro.errors.AvroException, TypeError, ValueError, AttributeError, KeyError)
    with warnings.catch_warnings():
        # Java ignores an invalid logical type silently; Python warns, then ignores it too.
        warnings.simplefilter("ignore")
        names = _JavaNames(validate_names=False)
        try:
            schema = avro.schema.make_avsc_object(
                _python_ready(data), names=names, validate_enum_symbols=False, validate_names=False
            )
            # Python may also name a type differently (a nested `"namespace": ""`).
            if set(names.names) == _java_names(java):
                return schema, True
        except errors:
            pass
        try:
            return _python_fallback(java), False
        except errors as exc:
            # Java accepts it and Python's `avro` cannot hold it: a limitation of
            # the Python package, not an invalid schema, so say exactly that.
            raise SchemaParseError(
                source, f"valid Avro schema that Python's avro package cannot represent: {exc}"
            ) from None


@dataclass(frozen=True)
class _Parsed:
    java: model.Node
    validated: bool
    """Defaults were validated."""
    as_written: bool
    """Python's objects came from the text as written (else from the Java model)."""


# What `parse_schema` knows about the `avro.schema.Schema` objects it built, by
# object id (Schema objects are not hashable); an entry goes when its object does.
_MODELS: dict[int, _Parsed] = {}


def parse_schema(text: str, source: str = "<schema>", *, validate_defaults: bool = True) -> Schema:
    """Parse Avro schema JSON text; raise `SchemaParseError` naming `source` where Java Avro would.

    `InvalidDefaultError` (a `SchemaParseError`) for a default Java refuses;
    `validate_defaults=False` accepts those, as Confluent reads stored schemas.
    """
    data = _decode(text, source)
    java = _java_model(data, source, validate_defaults=validate_defaults)
    schema, as_written = _to_python_avro(data, java, source)
    _MODELS[id(schema)] = _Parsed(java, validate_defaults, as_written)
    weakref.finalize(schema, _MODELS.pop, id(schema), None)
    return schema


def _read(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SchemaFileError(str(p), f"cannot read file: {reason}") from None


def load_schema(path: str | Path) -> Schema:
    """Read and parse an `.avsc` file; unreadable or invalid -> `SchemaParseError`."""
    return parse_schema(_read(path), source=str(path))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Incompatibility:
    """One reason a reader schema cannot read data written with a writer schema."""

    kind: str
    """Java Avro's incompatibility type, as in Confluent's messages
    (`READER_FIELD_MISSING_DEFAULT_VALUE`, `TYPE_MISMATCH`, ...), or `EXCEPTION`
    where Java's check throws (a reader field alias matching two writer fields)."""
    location: str
    """Java's JSON pointer into the reader schema, e.g. `/fields/3/type`; a number
    right after `type`, `items` or `values` is the writer union branch."""
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


# --------------------------------------------------------------------------- findings -> reasons


def _describe(f: Finding) -> str:
    """Java's message in words, keeping Java's own text where it already is prose."""
    if f.kind == "READER_FIELD_MISSING_DEFAULT_VALUE":
        return f"reader field '{f.message}' has no default and is missing in writer"
    if f.kind == "MISSING_ENUM_SYMBOLS":
        return f"reader enum lacks writer symbol(s) {f.message} and has no enum default"
    if f.kind == "NAME_MISMATCH":
        return f"reader type name differs from writer's ({f.message})"
    if f.kind == "FIXED_SIZE_MISMATCH":
        return f"fixed size differs ({f.message})"
    if f.kind == EXCEPTION:
        # Confluent answers "Unexpected exception during compatibility check" here.
        return f"Java Avro cannot check this pair: {f.message}"
    return f.message  # TYPE_MISMATCH / MISSING_UNION_BRANCH messages are already prose


def _branch_for(union: model.Union, token: str) -> model.Node | None:
    wanted = {"fields": model.Record, "items": model.Array, "values": model.Map}.get(token)
    matches = [b for b in union.branches if wanted is not None and isinstance(b, wanted)]
    return matches[0] if len(matches) == 1 else None


def _field_path(reader: model.Node, location: str) -> str | None:
    """Turn Java's `/fields/2/type/fields/0/type` into `address.zip` (reader field names).

    A number right after `type`, `items` or `values` is the index of a *writer*
    union branch (Java adds it when a non-union reader reads a writer union) and
    names nothing in the reader.
    """
    tokens = pointer_tokens(location)
    names: list[str] = []
    node: model.Node | None = reader
    i = 0
    while i < len(tokens) and node is not None:
        token = tokens[i]
        if isinstance(node, model.Union) and token in ("fields", "items", "values"):
            node = _branch_for(node, token)
            continue
        if token == "fields" and isinstance(node, model.Record) and i + 1 < len(tokens):
            index = int(tokens[i + 1]) if tokens[i + 1].isdigit() else -1
            if not 0 <= index < len(node.fields):
                break
            fld = node.fields[index]
            names.append(fld.name)
            node = fld.type
            i += 2
        elif token == "type" or token.isdigit():
            i += 1
        elif token == "items" and isinstance(node, model.Array):
            names.append("[]")
            node = node.items
            i += 1
        elif token == "values" and isinstance(node, model.Map):
            names.append("{}")
            node = node.values
            i += 1
        else:
            break
    text = ".".join(names).replace(".[]", "[]").replace(".{}", "{}")
    return text or None


def _same_branch(union: model.Union, writer: model.Node) -> model.Node | None:
    """The reader union's branch meant to read `writer`: same type, and same full name if named."""
    name = writer.fullname if isinstance(writer, model.Named) else None
    matches = [
        b
        for b in union.branches
        if b.type == writer.type and (b.fullname if isinstance(b, model.Named) else None) == name
    ]
    return matches[0] if len(matches) == 1 else None


def _union_causes(finding: Finding, depth: int) -> list[Finding]:
    """Why a union branch did not match. Java says only "reader union lacking
    writer type: RECORD"; for an optional record (["null", R]) the useful answer
    is the field inside R that broke, so that branch pair is checked at the
    same location (plus the writer branch index when the writer is a union)."""
    reader, writer = finding.reader, finding.writer
    if not isinstance(reader, model.Union) or depth > 8:
        return []
    tokens = pointer_tokens(finding.location)
    if isinstance(writer, model.Union):  # union vs union: the last token is the writer branch index
        if not tokens or not tokens[-1].isdigit() or int(tokens[-1]) >= len(writer.branches):
            return []
        writer = writer.branches[int(tokens[-1])]
    branch = _same_branch(reader, writer)
    if branch is None or branch.type not in ("record", "array", "map", "enum", "fixed"):
        return []
    out: list[Finding] = []
    for cause in check_pair(branch, writer, tuple(tokens) or ("",)):
        out.append(cause)
        if cause.kind == "MISSING_UNION_BRANCH":
            out += _union_causes(cause, depth + 1)
    return out


def _findings(reader: model.Node, writer: model.Node) -> list[Finding]:
    """Java's findings for the pair, each MISSING_UNION_BRANCH followed by its causes."""
    out: list[Finding] = []
    for f in check_pair(reader, writer):
        out.append(f)
        if f.kind == "MISSING_UNION_BRANCH":
            out += [c for c in _union_causes(f, 0) if c not in out]
    return out


def _check_pair(
    reader: model.Node, writer: model.Node, reader_label: str, writer_label: str
) -> list[Incompatibility]:
    """All reasons `reader` cannot read data written with `writer` (empty = compatible)."""
    return [
        Incompatibility(
            kind=f.kind,
            location=f.location,
            field_path=_field_path(reader, f.location),
            detail=_describe(f),
            reader=reader_label,
            writer=writer_label,
        )
        for f in _findings(reader, writer)
    ]


# --------------------------------------------------------------------------- API

SchemaLike = str | Schema


@lru_cache(maxsize=512)
def _model_cached(text: str, source: str, validate_defaults: bool) -> model.Node:
    # History schemas are re-checked on every registration; parsing dominates.
    # The checker never mutates a model, so sharing one between calls is safe.
    return _java_model(_decode(text, source), source, validate_defaults=validate_defaults)


def _as_model(value: SchemaLike, label: str, *, validate_defaults: bool) -> model.Node:
    if isinstance(value, str):
        return _model_cached(value, label, validate_defaults)
    known = _MODELS.get(id(value))
    if known is not None and (known.validated or not validate_defaults):
        return known.java
    # A Schema built elsewhere: read it back the way Java would read its JSON.
    return _java_model(value.to_json(), label, validate_defaults=validate_defaults)


def _pairs(mode: CompatibilityMode, n_history: int) -> list[tuple[int, bool]]:
    """(history index, candidate-is-reader) pairs the mode requires, newest first."""
    if mode is CompatibilityMode.NONE or n_history == 0:
        return []
    indexes = range(n_history - 1, -1, -1) if mode.transitive else [n_history - 1]
    out: list[tuple[int, bool]] = []
    for index in indexes:
        if mode.new_reads_old:
            out.append((index, True))
        if mode.old_reads_new:
            out.append((index, False))
    return out


def check(
    candidate: SchemaLike,
    history: Sequence[SchemaLike],
    mode: CompatibilityMode | str,
    *,
    candidate_label: str = "new schema",
    history_labels: Sequence[str] | None = None,
    validate_history: bool = False,
) -> CompatibilityResult:
    """Check `candidate` against `history` (oldest first) under a Confluent mode.

    Texts are parsed as Java Avro parses them (invalid -> `SchemaParseError`,
    a refused default -> `InvalidDefaultError`). The candidate's defaults are
    always validated, as Confluent validates a schema being registered; the
    history's only with `validate_history=True` (the CLI, which reads every file
    fresh), since a registry must keep reading what it stored. Labels only name
    the schemas in the reasons (default: "new schema" and "version 1..n").
    """
    mode = mode if isinstance(mode, CompatibilityMode) else CompatibilityMode.parse(mode)
    labels = (
        list(history_labels)
        if history_labels is not None
        else [f"version {i + 1}" for i in range(len(history))]
    )
    if len(labels) != len(history):
        raise ValueError("history_labels must have one label per history schema")
    new = _as_model(candidate, candidate_label, validate_defaults=True)
    # Parse the whole history up front: a broken file is bad input (exit 2),
    # even where the mode would not have compared against it.
    old = [
        _as_model(s, label, validate_defaults=validate_history)
        for s, label in zip(history, labels, strict=True)
    ]

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

    The last path is the candidate, the others its history, oldest first; every
    file is validated like a schema being registered. Raises `SchemaParseError`
    (`InvalidDefaultError` for a refused default) for an unreadable or invalid
    file and `InvalidCompatibilityModeError` for an unknown mode (all: exit 2).
    """
    if not paths:
        raise ConfigError("give at least one schema file (the candidate)")
    mode = mode if isinstance(mode, CompatibilityMode) else CompatibilityMode.parse(mode)
    texts = [_read(p) for p in paths]
    names = [Path(p).name for p in paths]
    # Two files may share a name in different folders: fall back to full paths.
    if len(set(names)) != len(names):
        names = [str(p) for p in paths]
    # Errors name the path as given; reasons use the short labels.
    for text, path in zip(texts, paths, strict=True):
        _model_cached(text, str(path), True)
    return check(
        texts[-1],
        texts[:-1],
        mode,
        candidate_label=names[-1],
        history_labels=names[:-1],
        validate_history=True,
    )
