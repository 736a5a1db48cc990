"""Confluent's REST response bodies, as starlab's schema registry returns them.

One `TypedDict` per JSON body shape that `starlab.registry.app` sends, with
Confluent's key names, checked against what confluent-kafka 2.16's
`SchemaRegistryClient` reads from them (`RegisteredSchema.from_dict`,
`Schema.from_dict`, `SchemaVersion.from_dict`, `ServerConfig.from_dict`,
`is_compatible`, `compatibilityLevel`, `error_code`/`message`). A key marked
`NotRequired` is sometimes absent on the wire, and absent is not null: the
registry leaves such a key out rather than sending `null`.

Typing only: FastAPI does not validate responses against these (see
`JSON_OBJECT` in `starlab.registry.app`); tests/unit/registry/test_bodies.py
checks real responses against them.

No `from __future__ import annotations` here: on Python 3.11 a TypedDict
whose annotations are strings gets `NotRequired` keys wrong in
`__required_keys__` / `__optional_keys__`, which the tests rely on.
"""

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "CompatibilityBody",
    "ConfigBody",
    "ConfigUpdateBody",
    "ErrorBody",
    "HealthBody",
    "ModeBody",
    "RegisteredId",
    "RootBody",
    "SchemaBody",
    "SchemaVersionBody",
    "SubjectVersion",
]


class RootBody(TypedDict):
    """`GET /`: an empty object, as Confluent's registry answers."""


class HealthBody(TypedDict):
    """`GET /health` (starlab's own, not Confluent's): liveness and a summary."""

    status: Literal["UP"]
    store: str
    """`SchemaStore.describe()`, e.g. `MemoryStore`."""
    subjects: int
    """Live subjects."""
    schemas: int
    """Distinct schemas (global ids)."""
    compatibility: str
    """The global compatibility level, e.g. `BACKWARD`."""


class ErrorBody(TypedDict):
    """Every refusal: Confluent's error code (e.g. 40401) and a message."""

    error_code: int
    message: str


class RegisteredId(TypedDict):
    """`POST /subjects/{subject}/versions`: the schema's global id."""

    id: int


class SchemaBody(TypedDict):
    """`GET /schemas/ids/{id}`: the schema text."""

    schema: str
    schemaType: NotRequired[str]
    """Omitted for AVRO, as Confluent does (clients default to AVRO); this registry stores AVRO only."""


class SubjectVersion(TypedDict):
    """One item of `GET /schemas/ids/{id}/versions`: where the schema is used."""

    subject: str
    version: int


class SchemaVersionBody(TypedDict):
    """`GET /subjects/{subject}/versions/{version}` and `POST /subjects/{subject}` (lookup)."""

    subject: str
    version: int
    id: int
    schema: str
    schemaType: NotRequired[str]
    """Omitted for AVRO, as Confluent does (clients default to AVRO); this registry stores AVRO only."""


class CompatibilityBody(TypedDict):
    """`POST /compatibility/subjects/{subject}/versions[/{version}]`."""

    is_compatible: bool
    messages: NotRequired[list[str]]
    """Only with `?verbose=true` (then present even when empty)."""


class ConfigBody(TypedDict):
    """`GET /config[/{subject}]` and `DELETE /config[/{subject}]` (the level before the delete)."""

    compatibilityLevel: str


class ConfigUpdateBody(TypedDict):
    """`PUT /config[/{subject}]`: Confluent echoes the request, so the key is `compatibility`."""

    compatibility: str


class ModeBody(TypedDict):
    """`GET /mode[/{subject}]`: always READWRITE here."""

    mode: Literal["READWRITE"]
