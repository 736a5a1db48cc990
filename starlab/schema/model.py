"""Avro schemas as Java Avro 1.12 parses them: what Confluent's registry accepts, and what it sees.

Backs story 1 ("the CI gate rejects exactly what Confluent's registry rejects"):
Confluent parses a schema being registered with Java Avro's `Schema.Parser`
(names validated, defaults validated) and refuses it with 42201 when that
throws. Python's `avro` parser draws the line elsewhere, in both directions
(measured by `tests/integration/schema/test_java_differential.py`):

- it does not validate defaults at all (Java: wrong type, out-of-range int or
  long, a record default missing a field without default, ...);
- it accepts field names, aliases and duplicate union branches Java refuses;
- it refuses what Java accepts: Unicode letters in names, forward references
  to a type defined later in the same schema, a reference to a type in the
  null namespace from inside a namespace, the same named type defined twice
  identically, an enum `default` that is not a string (Java ignores it),
  float defaults written as strings such as "1d" or "0x1p3".

So this module is a small port of the parts of Java's `Schema.parse` that
decide accept/refuse and the parts of the parsed schema the compatibility check
reads (names, aliases, fields, defaults, symbols, sizes), into plain objects.
`starlab.schema.compatibility` runs Java's `SchemaCompatibility` port on them.
Python's `avro` still builds the `avro.schema.Schema` objects the rest of
starlab uses; it no longer decides validity.

Identity matters as in Java: a named type is one object shared by every
reference to it, while every occurrence of a primitive, array, map or union is
its own object. The checker memoizes (reader, writer) pairs by identity, so
this keeps its recursion handling and reported locations the same as Java's.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PRIMITIVE_TYPES",
    "Array",
    "Enum",
    "Field",
    "Fixed",
    "InvalidDefaultProblem",
    "Map",
    "Named",
    "Node",
    "Primitive",
    "Record",
    "SchemaProblem",
    "Union",
    "parse",
    "to_json",
    "walk",
]

PRIMITIVE_TYPES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")

# Keys Java keeps out of a schema's / a field's custom properties (Schema.SCHEMA_RESERVED,
# ENUM_RESERVED, FIELD_RESERVED). Properties take part in Java's schema equality.
_SCHEMA_RESERVED = frozenset(
    {"doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type", "aliases"}
)
_ENUM_RESERVED = _SCHEMA_RESERVED | {"default"}
_FIELD_RESERVED = frozenset({"default", "doc", "name", "order", "type", "aliases"})
_ORDERS = frozenset({"ASCENDING", "DESCENDING", "IGNORE"})
# SystemLimitException.MAX_ARRAY_VM_LIMIT: the largest fixed size Java accepts.
_MAX_FIXED_SIZE = 2**31 - 1 - 8


class SchemaProblem(ValueError):
    """Java Avro's parser would refuse this schema; the message says why."""


class InvalidDefaultProblem(SchemaProblem):
    """A field default Java Avro refuses (wrong type, out of range, missing record field)."""


# --------------------------------------------------------------------------- model


@dataclass(eq=False)
class Node:
    """One schema node. `eq=False`: nodes compare and hash by identity, as Java's checker needs."""

    type: str
    """Avro type name, lower-case: `int`, `record`, `union`, ..."""
    props: dict[str, Any] = field(default_factory=dict, kw_only=True)
    """Custom properties (logicalType included), as Java keeps them for equality."""


@dataclass(eq=False)
class Primitive(Node):
    pass


@dataclass(eq=False)
class Array(Node):
    items: Node


@dataclass(eq=False)
class Map(Node):
    values: Node


@dataclass(eq=False)
class Union(Node):
    branches: list[Node]


@dataclass(eq=False)
class Named(Node):
    name: str
    """Simple name (Java `getName()`): the part after the last dot."""
    namespace: str | None
    aliases: tuple[str, ...] = ()
    """As Java's `getAliases()` returns them: qualified with this type's namespace
    unless written with a dot; an alias in the null namespace under a namespaced
    type comes back as `.Name` (and so never matches a writer's full name)."""
    doc: str | None = None
    written: dict[str, Any] = field(default_factory=dict)
    """The definition's JSON as written (for rebuilding it, see `to_json`)."""

    @property
    def fullname(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(eq=False)
class Field:
    name: str
    type: Node
    pos: int
    aliases: tuple[str, ...] = ()
    """Exactly as written: Java neither qualifies nor validates field aliases."""
    has_default: bool = False
    default: Any = None
    order: str = "ASCENDING"
    props: dict[str, Any] = field(default_factory=dict)
    written: dict[str, Any] = field(default_factory=dict)
    """The field's JSON as written (its default before Java's float conversion)."""


@dataclass(eq=False)
class Record(Named):
    fields: list[Field] = field(default_factory=list)

    def field_named(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(eq=False)
class Enum(Named):
    symbols: tuple[str, ...] = ()
    default: str | None = None


@dataclass(eq=False)
class Fixed(Named):
    size: int = 0


@dataclass(eq=False)
class _Ref(Node):
    """A name not defined yet where it is used (Java's "unresolved schema").

    Until resolution Java treats it as an empty record with a unique name; it is
    replaced by the named type once the whole schema is parsed.
    """

    target: str


# --------------------------------------------------------------------------- helpers


def _name_problem(name: object) -> str | None:
    """Java's `NameValidator.UTF_VALIDATOR`, on UTF-16 code units like Java."""
    if not isinstance(name, str):
        return "Null name"
    if not name:
        return "Empty name"

    def letter(c: str) -> bool:
        # Outside the BMP Java sees two surrogates, which are not letters.
        return ord(c) <= 0xFFFF and unicodedata.category(c) in ("Lu", "Ll", "Lt", "Lm", "Lo")

    if not (letter(name[0]) or name[0] == "_"):
        return f"Illegal initial character: {name}"
    for c in name[1:]:
        if not (letter(c) or c == "_" or (ord(c) <= 0xFFFF and unicodedata.category(c) == "Nd")):
            return f"Illegal character in: {name}"
    return None


def _validate_name(name: object) -> str:
    problem = _name_problem(name)
    if problem is not None:
        raise SchemaProblem(problem)
    assert isinstance(name, str)
    return name


_JAVA_WHITESPACE = "".join(chr(i) for i in range(33))
# java.lang.Double.parseDouble's grammar (FloatingDecimal.readJavaFormatString):
# optional sign, NaN / Infinity, a decimal or a hex float (binary exponent
# required), with an optional f/F/d/D suffix on numbers. ASCII digits only.
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?[0-9]+)[fFdD]?)"
)


def java_parse_double(text: str) -> float | None:
    """`Double.parseDouble(text)`, or None where Java throws NumberFormatException."""
    s = text.strip(_JAVA_WHITESPACE)
    if not _JAVA_DOUBLE.fullmatch(s):
        return None
    body = s.rstrip("fFdD") if "x" not in s.lower() and not s.endswith(("NaN", "Infinity")) else s
    sign = -1.0 if body.startswith("-") else 1.0
    unsigned = body.lstrip("+-")
    if unsigned == "NaN":
        return math.nan
    if unsigned == "Infinity":
        return sign * math.inf
    if unsigned[:2].lower() == "0x":
        return sign * float.fromhex(unsigned.rstrip("fFdD"))
    return sign * float(unsigned)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _valid_default(node: Node, value: Any, resolved: bool, depth: int = 0) -> bool:
    """Java's `Schema.isValidDefault` (Avro 1.12): is `value` (JSON) a valid default for `node`?

    A union default may match *any* branch (Avro 1.11 and older: the first only).
    Before resolution an unresolved name acts as an empty record (Java's
    placeholder), so only a JSON object passes then. A record whose field
    defaults nest without end is refused (Java overflows its stack on it).
    """
    if depth > 100:
        return False
    t = node.type
    if isinstance(node, _Ref):
        return isinstance(value, dict)
    if t in ("string", "bytes", "enum", "fixed"):
        return isinstance(value, str)
    if t == "int":
        return _is_int(value) and -(2**31) <= value < 2**31
    if t == "long":
        return _is_int(value) and -(2**63) <= value < 2**63
    if t in ("float", "double"):
        return _is_int(value) or isinstance(value, float)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "null":
        return value is None
    if isinstance(node, Array):
        return isinstance(value, list) and all(
            _valid_default(node.items, v, resolved, depth + 1) for v in value
        )
    if isinstance(node, Map):
        return isinstance(value, dict) and all(
            _valid_default(node.values, v, resolved, depth + 1) for v in value.values()
        )
    if isinstance(node, Union):
        return any(_valid_default(b, value, resolved, depth + 1) for b in node.branches)
    if isinstance(node, Record):
        if not isinstance(value, dict):
            return False
        for f in node.fields:
            if f.name in value:
                sub = value[f.name]
            elif f.has_default:
                sub = f.default
            else:
                return False  # Java: isValidValue(schema, null) is false
            if not _valid_default(f.type, sub, resolved, depth + 1):
                return False
        return True
    return False


def _json_equal(a: Any, b: Any) -> bool:
    """Jackson's JsonNode equality: 1 and 1.0 differ, as do 1 and true."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def java_equal(a: Node, b: Node, seen: set[tuple[int, int]] | None = None) -> bool:
    """Java's `Schema.equals`: names, structure, defaults and custom properties.

    Docs, aliases and an enum's default do not count, so Java lets a schema
    define the same named type twice when only those differ.
    """
    if a is b:
        return True
    if type(a) is not type(b) or a.type != b.type or not _json_equal(a.props, b.props):
        return False
    if isinstance(a, _Ref):
        return False  # each unresolved placeholder has its own generated name
    if isinstance(a, Named) and isinstance(b, Named) and a.fullname != b.fullname:
        return False
    if isinstance(a, Array) and isinstance(b, Array):
        return java_equal(a.items, b.items, seen)
    if isinstance(a, Map) and isinstance(b, Map):
        return java_equal(a.values, b.values, seen)
    if isinstance(a, Union) and isinstance(b, Union):
        return len(a.branches) == len(b.branches) and all(
            java_equal(x, y, seen) for x, y in zip(a.branches, b.branches, strict=True)
        )
    if isinstance(a, Enum) and isinstance(b, Enum):
        return a.symbols == b.symbols
    if isinstance(a, Fixed) and isinstance(b, Fixed):
        return a.size == b.size
    if isinstance(a, Record) and isinstance(b, Record):
        seen = set() if seen is None else seen
        key = (id(a), id(b))
        if key in seen:  # recursive types: assume equal while comparing
            return True
        seen.add(key)
        if len(a.fields) != len(b.fields):
            return False
        for fa, fb in zip(a.fields, b.fields, strict=True):
            if (
                fa.name != fb.name
                or fa.order != fb.order
                or fa.has_default != fb.has_default
                or (fa.has_default and not _json_equal(fa.default, fb.default))
                or not _json_equal(fa.props, fb.props)
                or not java_equal(fa.type, fb.type, seen)
            ):
                return False
        return True
    return isinstance(a, Primitive)


def _props(node: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in reserved}


def _text(node: dict[str, Any], key: str) -> str | None:
    """Jackson's `textValue()`: the string, or None for anything that is not one."""
    value = node.get(key)
    return value if isinstance(value, str) else None


def _aliases(node: dict[str, Any]) -> list[str] | None:
    if "aliases" not in node:
        return None
    value = node["aliases"]
    if not isinstance(value, list):
        raise SchemaProblem(f"aliases not an array: {value!r}")
    out: list[str] = []
    for alias in value:
        if not isinstance(alias, str):
            raise SchemaProblem(f"alias not a string: {alias!r}")
        if alias not in out:  # a LinkedHashSet in Java
            out.append(alias)
    return out


# --------------------------------------------------------------------------- parser


class _Parser:
    """One `new Schema.Parser()`: a fresh name context per schema text."""

    def __init__(self, validate_defaults: bool) -> None:
        self.validate_defaults = validate_defaults
        self.defined: dict[str, Named] = {}
        self.records: list[Record] = []

    # ----------------------------------------------------------------- names
    @staticmethod
    def _split_name(name: str, space: str | None) -> tuple[str, str | None]:
        """Java's `new Name(name, space)`: a dotted name carries its own namespace."""
        if "." in name:
            space, simple = name.rsplit(".", 1)
        else:
            simple = name
        _validate_name(simple)
        return simple, (space or None)

    def _name_of(self, node: dict[str, Any], current: str | None) -> tuple[str, str | None]:
        space = _text(node, "namespace")
        name = _text(node, "name")
        if name is None:
            raise SchemaProblem(f"No name in schema: {node.get('name')!r}")
        simple, space = self._split_name(name, space if space is not None else current)
        full = f"{space}.{simple}" if space else simple
        if full in PRIMITIVE_TYPES:
            raise SchemaProblem(f"Schemas may not be named after primitives: {full}")
        return simple, space

    def _alias_names(self, node: dict[str, Any], space: str | None) -> tuple[str, ...]:
        out: list[str] = []
        for alias in _aliases(node) or []:
            a_name, a_space = self._split_name(alias, space)
            # Schema.NamedSchema.getAliases(): ".X" for a null-namespace alias of a namespaced type.
            if a_space is None and space is not None:
                text = f".{a_name}"
            else:
                text = f"{a_space}.{a_name}" if a_space else a_name
            if text not in out:
                out.append(text)
        return tuple(out)

    def _define(self, named: Named) -> None:
        """ParseContext.put: names validated part by part; an equal redefinition is allowed."""
        for part in named.fullname.split(".")[:-1]:
            problem = _name_problem(part)
            if problem is not None:
                raise SchemaProblem(f'Namespace part "{part}" is invalid: {problem}')
        known = self.defined.get(named.fullname)
        if known is None:
            self.defined[named.fullname] = named
        elif not java_equal(known, named):
            raise SchemaProblem(f"Can't redefine: {named.fullname}")

    def _find(self, name: str, space: str | None) -> Node:
        """ParseContext.find: the name in the current namespace, then as written."""
        if name in PRIMITIVE_TYPES:
            return Primitive(name)
        full = f"{space}.{name}" if space and "." not in name else name
        found = self.defined.get(full) or self.defined.get(name)
        return found if found is not None else _Ref("record", target=full)

    # ----------------------------------------------------------------- types
    def parse(self, node: Any, space: str | None) -> Node:
        if isinstance(node, str):
            return self._find(node, space)
        if isinstance(node, list):
            return self._union(node, space)
        if not isinstance(node, dict):
            raise SchemaProblem(f"Schema not yet supported: {node!r}")
        kind = _text(node, "type")
        if kind is None:
            raise SchemaProblem(f"No type: {node.get('type')!r}")
        if kind in PRIMITIVE_TYPES:
            return Primitive(kind, props=_props(node, _SCHEMA_RESERVED))
        if kind in ("record", "error"):
            return self._record(node, space)
        if kind == "enum":
            return self._enum(node, space)
        if kind in ("array", "map"):
            key = "items" if kind == "array" else "values"
            if key not in node:
                raise SchemaProblem(f"{kind.capitalize()} has no {key} type")
            inner = self.parse(node[key], space)
            props = _props(node, _SCHEMA_RESERVED)
            return Array("array", inner, props=props) if kind == "array" else Map("map", inner, props=props)
        if kind == "fixed":
            return self._fixed(node, space)
        raise SchemaProblem(
            f'type {kind!r}: a schema "type" MUST be a primitive type or one of '
            '"enum", "fixed", "record", "error", "array" or "map"'
        )

    def _union(self, node: list[Any], space: str | None) -> Union:
        branches = [self.parse(b, space) for b in node]
        for b in branches:
            if isinstance(b, Union):
                raise SchemaProblem("Nested union: a union cannot contain a union")
        return Union("union", branches)

    def _record(self, node: dict[str, Any], space: str | None) -> Record:
        name, own_space = self._name_of(node, space)
        record = Record("record", name=name, namespace=own_space, written=node)
        fields = node.get("fields")
        if not isinstance(fields, list):
            raise SchemaProblem(f"Record has no fields: {record.fullname}")
        seen: set[str] = set()
        for pos, f in enumerate(fields):
            parsed = self._field(f, pos, own_space)
            if parsed.name in seen:
                raise SchemaProblem(f"Duplicate field {parsed.name} in record {record.fullname}")
            seen.add(parsed.name)
            record.fields.append(parsed)
        record.props = _props(node, _SCHEMA_RESERVED)
        record.aliases = self._alias_names(node, own_space)
        self._define(record)
        self.records.append(record)
        return record

    def _field(self, node: Any, pos: int, space: str | None) -> Field:
        name = _text(node, "name") if isinstance(node, dict) else None
        if name is None or not isinstance(node, dict):
            raise SchemaProblem(f"No field name: {node!r}")
        if "type" not in node:
            raise SchemaProblem(f"No field type: {name}")
        ftype = self.parse(node["type"], space)
        order = "ASCENDING"
        if "order" in node:
            raw = node["order"]
            order = raw.upper() if isinstance(raw, str) else ""
            if order not in _ORDERS:
                raise SchemaProblem(f"field {name}: invalid order {raw!r}")
        has_default = "default" in node
        default = node.get("default")
        if has_default and ftype.type in ("float", "double") and isinstance(default, str):
            # Schema.parseField turns a string default of a float/double field into a number.
            number = java_parse_double(default)
            if number is None:
                raise InvalidDefaultProblem(
                    f"invalid default for field {name}: {default!r} is not a number (NumberFormatException)"
                )
            default = number
        _validate_name(name)
        result = Field(
            name=name,
            type=ftype,
            pos=pos,
            has_default=has_default,
            default=default,
            order=order,
            props=_props(node, _FIELD_RESERVED),
            written=node,
        )
        if has_default and self.validate_defaults:
            self._check_default(result, resolved=False)
        result.aliases = tuple(_aliases(node) or ())
        return result

    def _enum(self, node: dict[str, Any], space: str | None) -> Enum:
        name, own_space = self._name_of(node, space)
        symbols = node.get("symbols")
        if not isinstance(symbols, list):
            raise SchemaProblem(f"Enum has no symbols: {name}")
        seen: set[str] = set()
        for symbol in symbols:
            checked = _validate_name(symbol if isinstance(symbol, str) else None)
            if checked in seen:
                raise SchemaProblem(f"Duplicate enum symbol: {checked}")
            seen.add(checked)
        default = _text(node, "default")  # Java ignores a default that is not a string
        if default is not None and default not in seen:
            raise SchemaProblem(f"The Enum Default: {default} is not in the enum symbol set: {symbols}")
        enum = Enum(
            "enum",
            name=name,
            namespace=own_space,
            symbols=tuple(symbols),
            default=default,
            props=_props(node, _ENUM_RESERVED),
            written=node,
        )
        enum.aliases = self._alias_names(node, own_space)
        self._define(enum)
        return enum

    def _fixed(self, node: dict[str, Any], space: str | None) -> Fixed:
        name, own_space = self._name_of(node, space)
        raw = node.get("size")
        # Jackson's isInt(): a JSON integer that fits an int (not 4.0, not "4").
        if not isinstance(raw, int) or isinstance(raw, bool) or not -(2**31) <= raw < 2**31:
            raise SchemaProblem(f"Invalid or no size: {raw!r}")
        size = raw
        if size < 0 or size > _MAX_FIXED_SIZE:
            raise SchemaProblem(f"Invalid fixed size: {size}")
        fixed = Fixed(
            "fixed",
            name=name,
            namespace=own_space,
            size=size,
            props=_props(node, _SCHEMA_RESERVED),
            written=node,
        )
        fixed.aliases = self._alias_names(node, own_space)
        self._define(fixed)
        return fixed

    def _check_default(self, f: Field, resolved: bool) -> None:
        if not _valid_default(f.type, f.default, resolved):
            raise InvalidDefaultProblem(
                f"invalid default for field {f.name}: {_short(f.default)} is not a valid {_describe(f.type)}"
            )

    # ----------------------------------------------------------------- resolution
    def _resolve(self, node: Node) -> Node:
        if isinstance(node, _Ref):
            target = self.defined.get(node.target)
            if target is None:
                raise SchemaProblem(f"Undefined name: {node.target}")
            return target
        return node

    def resolve(self, top: Node) -> Node:
        """Replace placeholders by their named types; check what needed them resolved."""
        done: set[int] = set()

        def visit(node: Node) -> Iterator[Node]:
            if id(node) in done:
                return
            done.add(id(node))
            yield node
            children: list[Node] = []
            if isinstance(node, Array):
                node.items = self._resolve(node.items)
                children = [node.items]
            elif isinstance(node, Map):
                node.values = self._resolve(node.values)
                children = [node.values]
            elif isinstance(node, Union):
                node.branches = [self._resolve(b) for b in node.branches]
                children = node.branches
            elif isinstance(node, Record):
                for f in node.fields:
                    f.type = self._resolve(f.type)
                children = [f.type for f in node.fields]
            for child in children:
                yield from visit(child)

        top = self._resolve(top)
        everything = [*visit(top)]
        for record in self.records:
            everything += [*visit(record)]
        for node in everything:
            if isinstance(node, Union):
                # UnionSchema's constructor, run again by Java's resolver on the resolved branches.
                names: set[str] = set()
                for b in node.branches:
                    key = b.fullname if isinstance(b, Named) else b.type
                    if key in names:
                        raise SchemaProblem(f"Duplicate in union: {key}")
                    names.add(key)
        if self.validate_defaults:
            # Java's resolver rebuilds every field (new Field(field, schema)), which
            # validates each default again, now against the resolved type.
            for record in self.records:
                for f in record.fields:
                    if f.has_default:
                        self._check_default(f, resolved=True)
        return top


def _short(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(node: Node) -> str:
    if isinstance(node, Named):
        return f"{node.type} {node.fullname}"
    if isinstance(node, Union):
        return "union [" + ", ".join(_describe(b) for b in node.branches) + "]"
    if isinstance(node, Array):
        return f"array of {_describe(node.items)}"
    if isinstance(node, Map):
        return f"map of {_describe(node.values)}"
    return node.type


def walk(top: Node) -> Iterator[Node]:
    """Every node reachable from `top`, each once, depth first in document order."""
    seen: set[int] = set()
    stack: list[Node] = [top]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, Array):
            stack.append(node.items)
        elif isinstance(node, Map):
            stack.append(node.values)
        elif isinstance(node, Union):
            stack.extend(reversed(node.branches))
        elif isinstance(node, Record):
            stack.extend(reversed([f.type for f in node.fields]))


def to_json(top: Node, predefined: frozenset[str] = frozenset(), null_namespace: str = "") -> Any:
    """The schema as JSON any single-pass parser reads: each named type defined at its
    first use with an explicit namespace (`""` for none), every later use by full name.

    Java resolves forward references and lets a type be defined twice when the
    definitions are equal; Python's `avro` parser does neither, so this is what
    starlab hands it for such schemas. Names in `predefined` are always
    written as references (the caller has built those types already);
    `null_namespace` is what is written for "no namespace" (Java reads `""`).
    """
    emitted: set[str] = set(predefined)

    def emit(node: Node) -> Any:
        if isinstance(node, Named):
            if node.fullname in emitted:
                return node.fullname
            emitted.add(node.fullname)
            out: dict[str, Any] = {
                k: v for k, v in node.written.items() if k not in ("fields", "name", "namespace")
            }
            out.update(name=node.name, namespace=node.namespace or null_namespace)
            if isinstance(node, Record):
                out["fields"] = [
                    {**{k: v for k, v in f.written.items() if k != "type"}, "type": emit(f.type)}
                    for f in node.fields
                ]
            return out
        if isinstance(node, Array):
            return {**node.props, "type": "array", "items": emit(node.items)}
        if isinstance(node, Map):
            return {**node.props, "type": "map", "values": emit(node.values)}
        if isinstance(node, Union):
            return [emit(b) for b in node.branches]
        return {**node.props, "type": node.type} if node.props else node.type

    return emit(top)


def parse(data: Any, *, validate_defaults: bool = True) -> Node:
    """Parse decoded schema JSON as `new Schema.Parser().parse(text)` does (Avro 1.12).

    Raises `SchemaProblem` (or `InvalidDefaultProblem`) where Java would throw.
    `validate_defaults=False` is `Parser.setValidateDefaults(false)`: how
    Confluent reads schemas it has already stored.
    """
    parser = _Parser(validate_defaults)
    top = parser.parse(data, None)
    return parser.resolve(top)
