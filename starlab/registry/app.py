"""A Confluent-REST-compatible schema registry (the subset real clients use).

Backs story 1 (schema registry with Confluent compatibility modes checked in
CI): producers register the engagement-event contract, consumers and Flink's
`avro-confluent` format fetch writer schemas by id, and an incompatible change
is refused with HTTP 409 exactly as Confluent's registry refuses it, using the
same `starlab.schema.check` the CI gate runs.

Implemented, with Confluent's paths, bodies, response fields and error codes
(checked against confluent-kafka 2.16's `SchemaRegistryClient`):

- `POST /subjects/{subject}/versions` register -> `{"id": N}` (same schema, same id)
- `POST /subjects/{subject}` look a schema up in a subject
- `GET /subjects`, `GET /subjects/{subject}/versions`,
  `GET /subjects/{subject}/versions/{version|latest}[/schema]`
- `DELETE /subjects/{subject}[/versions/{version}]` (soft, then `?permanent=true`)
- `GET /schemas/ids/{id}[/schema|/versions|/subjects]`, `GET /schemas/types`
- `GET|PUT|DELETE /config[/{subject}]` compatibility level (default BACKWARD)
- `POST /compatibility/subjects/{subject}/versions[/{version|latest}]?verbose=true`
- `GET /mode[/{subject}]` (always READWRITE), `GET /`, `GET /health`

Errors are `{"error_code": ..., "message": ...}` with Confluent's codes:
40401 subject, 40402 version, 40403 schema not found, 40404-40407 delete
order, 40408 no subject-level config, 409 incompatible, 42201 invalid schema,
42202 invalid version, 42203 invalid compatibility level, 50001/50002 store.

A schema is invalid (42201) exactly where Java Avro's parser refuses it, which
is what Confluent checks at registration: invalid names, and defaults of the
wrong type or out of range (`starlab.schema.parse_schema`). Schemas already
stored are read without default validation, as Confluent reads them, so a
subject never becomes unreadable.

Avro only: other schema types and schema references get 42201 with a clear
message. Ids are global: the same canonical schema text gets the same id in
every subject, as in Confluent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from starlab.errors import StarlabError
from starlab.observability.http import instrument
from starlab.registry.bodies import (
    CompatibilityBody,
    ConfigBody,
    ConfigUpdateBody,
    ErrorBody,
    HealthBody,
    ModeBody,
    RegisteredId,
    RootBody,
    SchemaBody,
    SchemaVersionBody,
    SubjectVersion,
)
from starlab.registry.store import (
    MemoryStore,
    SchemaStore,
    SchemaVersion,
    StoreError,
    StoreUnavailableError,
)
from starlab.schema import (
    CompatibilityMode,
    CompatibilityResult,
    InvalidCompatibilityModeError,
    SchemaParseError,
    canonical_text,
    check,
    parse_schema,
)

__all__ = ["MEDIA_TYPE", "RegistryError", "SchemaRegistry", "create_app"]

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
MAX_VERSION = 2**31 - 1

VersionSpec = int | Literal["latest"]


class RegistryError(StarlabError):
    """A request the registry refuses, in Confluent's error vocabulary."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: object) -> RegistryError:
    return RegistryError(404, 40402, f"Version {version} not found for subject '{subject}'.")


def schema_not_found(detail: str = "Schema not found") -> RegistryError:
    return RegistryError(404, 40403, detail)


def invalid_schema(detail: str) -> RegistryError:
    return RegistryError(422, 42201, f"Invalid schema: {detail}")


def parse_version(value: str | int) -> VersionSpec:
    """`latest`, `-1` (Confluent's alias of latest) or 1..2^31-1; else 42202."""
    if isinstance(value, str) and value.strip().lower() == "latest":
        return "latest"
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number == -1:
        return "latest"
    if not 1 <= number <= MAX_VERSION:
        raise RegistryError(
            422,
            42202,
            f"The specified version '{value}' is not a valid version id. Allowed values are "
            f'between [1, {MAX_VERSION}] and the string "latest"',
        )
    return number


# --------------------------------------------------------------------------- service


class SchemaRegistry:
    """Confluent's registry semantics over a `SchemaStore` (no HTTP here).

    Writes hold the store's lock across check-then-write, so two concurrent
    registrations cannot both take the same id or version.
    """

    def __init__(
        self,
        store: SchemaStore,
        default_compatibility: CompatibilityMode = CompatibilityMode.BACKWARD,
    ) -> None:
        self.store = store
        self.default_compatibility = default_compatibility

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _canonical(subject: str, payload: dict[str, Any]) -> str:
        schema_type = payload.get("schemaType")
        if schema_type not in (None, "AVRO"):
            raise invalid_schema(
                f"schemaType {schema_type!r} is not supported; this registry stores AVRO only"
            )
        if payload.get("references"):
            raise invalid_schema("schema references are not supported by this registry")
        text = payload.get("schema")
        if not isinstance(text, str) or not text.strip():
            raise invalid_schema("the request has no 'schema' string")
        try:
            parsed = parse_schema(text, source=f"schema for subject '{subject}'")
        except SchemaParseError as exc:
            raise invalid_schema(str(exc)) from None
        return canonical_text(parsed)

    def _all_versions(self, subject: str) -> list[SchemaVersion]:
        versions = self.store.versions(subject, include_deleted=True)
        if not versions:
            raise subject_not_found(subject)
        return versions

    def compatibility_level(self, subject: str | None = None) -> CompatibilityMode:
        """The effective level: the subject's own, else the global one, else the default."""
        if subject is not None:
            own = self.store.compatibility(subject)
            if own is not None:
                return own
        return self.store.compatibility(None) or self.default_compatibility

    def _check(self, subject: str, canonical: str, history: list[SchemaVersion]) -> CompatibilityResult:
        return check(
            canonical,
            [v.schema for v in history],
            self.compatibility_level(subject),
            history_labels=[f"version {v.version}" for v in history],
        )

    # ----------------------------------------------------------------- schemas
    def register(self, subject: str, payload: dict[str, Any]) -> int:
        """Register a schema under a subject; return its global id (409 if incompatible)."""
        canonical = self._canonical(subject, payload)
        with self.store.lock:
            all_versions = self.store.versions(subject, include_deleted=True)
            live = [v for v in all_versions if not v.deleted]
            for v in live:
                if v.schema == canonical:
                    return v.schema_id  # idempotent: same schema, same id, no new version
            result = self._check(subject, canonical, live)
            if not result.is_compatible:
                raise RegistryError(
                    409,
                    409,
                    f'Schema being registered is incompatible with an earlier schema for subject "'
                    f'{subject}", details: [{"; ".join(result.messages)}]',
                )
            schema_id = self.store.id_for_schema(canonical) or self.store.next_schema_id()
            # Soft-deleted versions keep their numbers: a new version never reuses one.
            number = max((v.version for v in all_versions), default=0) + 1
            self.store.put_version(SchemaVersion(subject, number, schema_id, canonical))
            return schema_id

    def lookup(
        self, subject: str, payload: dict[str, Any], *, include_deleted: bool = False
    ) -> SchemaVersion:
        """The version of `subject` holding this schema (40401 / 40403 if none)."""
        canonical = self._canonical(subject, payload)
        versions = self.store.versions(subject, include_deleted=include_deleted)
        if not versions:
            raise subject_not_found(subject)
        for v in reversed(versions):
            if v.schema == canonical:
                return v
        raise schema_not_found(f"Schema not found in subject '{subject}'")

    def schema(self, schema_id: int) -> str:
        text = self.store.schema_by_id(schema_id)
        if text is None:
            raise schema_not_found(f"Schema {schema_id} not found")
        return text

    def schema_versions(self, schema_id: int, *, include_deleted: bool = False) -> list[SchemaVersion]:
        self.schema(schema_id)  # 40403 for an unknown id
        return self.store.versions_of_schema(schema_id, include_deleted=include_deleted)

    # ----------------------------------------------------------------- subjects
    def subjects(
        self, prefix: str = "", *, include_deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        if deleted_only:
            live = set(self.store.subjects())
            names = [s for s in self.store.subjects(include_deleted=True) if s not in live]
        else:
            names = self.store.subjects(include_deleted=include_deleted)
        return [s for s in names if s.startswith(prefix)]

    def versions(
        self, subject: str, *, include_deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        versions = self.store.versions(subject, include_deleted=include_deleted or deleted_only)
        if deleted_only:
            versions = [v for v in versions if v.deleted]
        elif not versions:
            raise subject_not_found(subject)
        return [v.version for v in versions]

    def get_version(
        self, subject: str, version: str | int, *, include_deleted: bool = False
    ) -> SchemaVersion:
        spec = parse_version(version)
        versions = self.store.versions(subject, include_deleted=include_deleted)
        if not versions:
            raise subject_not_found(subject)
        if spec == "latest":
            return versions[-1]
        for v in versions:
            if v.version == spec:
                return v
        raise version_not_found(subject, spec)

    def delete_version(self, subject: str, version: str | int, *, permanent: bool = False) -> int:
        spec = parse_version(version)
        with self.store.lock:
            all_versions = self._all_versions(subject)
            if spec == "latest":
                live = [v for v in all_versions if not v.deleted]
                if not live:
                    raise version_not_found(subject, "latest")
                target = live[-1]
            else:
                found = [v for v in all_versions if v.version == spec]
                if not found:
                    raise version_not_found(subject, spec)
                target = found[0]
            if permanent:
                if not target.deleted:
                    raise RegistryError(
                        404,
                        40407,
                        f"Subject '{subject}' Version {target.version} was not deleted first "
                        "before being permanently deleted",
                    )
                self.store.remove_version(subject, target.version)
            else:
                if target.deleted:
                    raise RegistryError(
                        404,
                        40406,
                        f"Subject '{subject}' Version {target.version} was soft deleted. "
                        "Set permanent=true to delete permanently",
                    )
                self.store.soft_delete(target)
            return target.version

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        with self.store.lock:
            all_versions = self._all_versions(subject)
            live = [v for v in all_versions if not v.deleted]
            if permanent:
                if live:
                    raise RegistryError(
                        404,
                        40405,
                        f"Subject '{subject}' was not deleted first before being permanently deleted",
                    )
                for v in all_versions:
                    self.store.remove_version(subject, v.version)
                deleted = [v.version for v in all_versions]
            else:
                if not live:
                    raise RegistryError(
                        404,
                        40404,
                        f"Subject '{subject}' was soft deleted. Set permanent=true to delete permanently",
                    )
                for v in live:
                    self.store.soft_delete(v)
                deleted = [v.version for v in live]
            # Like Confluent: deleting a subject drops its compatibility level.
            if self.store.compatibility(subject) is not None:
                self.store.set_compatibility(subject, None)
            return deleted

    # ----------------------------------------------------------------- compatibility
    def test_compatibility(
        self, subject: str, payload: dict[str, Any], version: str | int | None
    ) -> CompatibilityResult:
        """Check against one version (`version`) or, with None, the subject's history.

        Against one version, that version is the whole history, in the
        direction(s) of the subject's level. With no version the level decides
        (latest only, or every version for *_TRANSITIVE). A subject with no
        versions accepts anything, as in Confluent.
        """
        canonical = self._canonical(subject, payload)
        live = self.store.versions(subject)
        if version is None:
            history = live
        else:
            spec = parse_version(version)
            history = live[-1:] if spec == "latest" else [self.get_version(subject, spec)]
        return self._check(subject, canonical, history)

    @staticmethod
    def _mode(payload: dict[str, Any]) -> CompatibilityMode:
        value = payload.get("compatibility") or payload.get("compatibilityLevel")
        try:
            if not isinstance(value, str):
                raise InvalidCompatibilityModeError(str(value))
            return CompatibilityMode.parse(value)
        except InvalidCompatibilityModeError:
            raise RegistryError(
                422,
                42203,
                "Invalid compatibility level. Valid values are none, backward, forward, full, "
                "backward_transitive, forward_transitive, and full_transitive",
            ) from None

    def set_config(self, subject: str | None, payload: dict[str, Any]) -> CompatibilityMode:
        mode = self._mode(payload)
        with self.store.lock:
            self.store.set_compatibility(subject, mode)
        return mode

    def get_config(self, subject: str | None, *, default_to_global: bool = False) -> CompatibilityMode:
        if subject is None:
            return self.compatibility_level(None)
        own = self.store.compatibility(subject)
        if own is not None:
            return own
        if default_to_global:
            return self.compatibility_level(None)
        raise RegistryError(
            404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
        )

    def delete_config(self, subject: str | None) -> CompatibilityMode:
        with self.store.lock:
            previous = self.get_config(subject)
            if subject is None and self.store.compatibility(None) is None:
                return previous
            self.store.set_compatibility(subject, None)
            return previous


# --------------------------------------------------------------------------- HTTP


class SchemaRegistryResponse(JSONResponse):
    """Confluent's media type; clients also accept plain JSON."""

    media_type = MEDIA_TYPE


def _error(status: int, error_code: int, message: str) -> JSONResponse:
    body: ErrorBody = {"error_code": error_code, "message": message}
    return SchemaRegistryResponse(status_code=status, content=body)


async def json_body(request: Request) -> dict[str, Any]:
    """The JSON object body, whatever the Content-Type.

    Confluent clients send `application/vnd.schemaregistry.v1+json`, curl users
    often `application/json` or nothing at all; all of them mean JSON.
    """
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise RegistryError(400, 400, f"Unrecognized request body: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryError(422, 422, "The request body must be a JSON object")
    return data


Body = Annotated[dict[str, Any], Depends(json_body)]

T = TypeVar("T")

# FastAPI's response models for the JSON routes, exactly the models they had
# when these routes were annotated `-> dict[str, Any]`. Without an explicit
# `response_model` FastAPI would take the return annotation (a TypedDict of
# `starlab.registry.bodies`) as the model: pydantic refuses `typing.TypedDict`
# on Python < 3.12, and a model built from one would coerce values, drop
# undeclared keys and change /openapi.json. The TypedDicts are for the type
# checker; the bytes on the wire are the handlers' dicts, as before.
JSON_OBJECT = dict[str, Any]
JSON_OBJECTS = list[dict[str, Any]]
STR_OBJECT = dict[str, str]


def _version_json(v: SchemaVersion) -> SchemaVersionBody:
    # schemaType is omitted for AVRO, as Confluent does; clients default to AVRO.
    return {"subject": v.subject, "version": v.version, "id": v.schema_id, "schema": v.schema}


def _compat_json(result: CompatibilityResult, verbose: bool) -> CompatibilityBody:
    body: CompatibilityBody = {"is_compatible": result.is_compatible}
    if verbose:
        body["messages"] = result.messages
    return body


def _page(items: list[T], offset: int, limit: int) -> list[T]:
    items = items[max(offset, 0) :]
    return items if limit < 0 else items[:limit]


def create_app(
    store: SchemaStore | None = None,
    *,
    default_compatibility: CompatibilityMode = CompatibilityMode.BACKWARD,
) -> FastAPI:
    """The registry app over `store` (a fresh `MemoryStore` if None).

    The store is closed when the app shuts down.
    """
    registry = SchemaRegistry(store or MemoryStore(), default_compatibility)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            registry.store.close()

    app = FastAPI(
        title="starlab schema registry",
        description=__doc__,
        default_response_class=SchemaRegistryResponse,
        lifespan=lifespan,
    )
    app.state.registry = registry
    instrument(app)  # /metrics for Prometheus (starlab/observability/http.py)

    @app.exception_handler(RegistryError)
    async def _registry_error(_req: Request, exc: RegistryError) -> JSONResponse:
        return _error(exc.status, exc.error_code, exc.message)

    @app.exception_handler(StoreUnavailableError)
    async def _store_timeout(_req: Request, exc: StoreUnavailableError) -> JSONResponse:
        return _error(500, 50002, f"Operation timed out: {exc}")

    @app.exception_handler(StoreError)
    async def _store_error(_req: Request, exc: StoreError) -> JSONResponse:
        return _error(500, 50001, f"Error in the backend data store: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.status_code, f"HTTP {exc.status_code} {exc.detail}")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return _error(422, 422, f"Invalid request: {problems}")

    # ------------------------------------------------------------- root
    @app.get("/", response_model=JSON_OBJECT)
    def root() -> RootBody:
        return {}

    @app.get("/health", response_model=JSON_OBJECT)
    def health() -> HealthBody:
        """Liveness and a summary; the stack manager polls this."""
        return {
            "status": "UP",
            "store": registry.store.describe(),
            "subjects": len(registry.store.subjects()),
            "schemas": registry.store.schema_count(),
            "compatibility": registry.compatibility_level().value,
        }

    # ------------------------------------------------------------- schemas
    @app.get("/schemas/types")
    def schema_types() -> list[str]:
        return ["AVRO"]

    @app.get("/schemas/ids/{schema_id}", response_model=JSON_OBJECT)
    def get_schema(schema_id: int) -> SchemaBody:
        return {"schema": registry.schema(schema_id)}

    @app.get("/schemas/ids/{schema_id}/schema")
    def get_raw_schema(schema_id: int) -> Response:
        return Response(registry.schema(schema_id), media_type=MEDIA_TYPE)

    @app.get("/schemas/ids/{schema_id}/versions", response_model=JSON_OBJECTS)
    def get_schema_versions(
        schema_id: int, deleted: bool = False, offset: int = 0, limit: int = -1
    ) -> list[SubjectVersion]:
        found = registry.schema_versions(schema_id, include_deleted=deleted)
        return _page([{"subject": v.subject, "version": v.version} for v in found], offset, limit)

    @app.get("/schemas/ids/{schema_id}/subjects")
    def get_schema_subjects(
        schema_id: int, deleted: bool = False, offset: int = 0, limit: int = -1
    ) -> list[str]:
        found = registry.schema_versions(schema_id, include_deleted=deleted)
        return _page(sorted({v.subject for v in found}), offset, limit)

    # ------------------------------------------------------------- subjects
    @app.get("/subjects")
    def list_subjects(
        subject_prefix: Annotated[str, Query(alias="subjectPrefix")] = "",
        deleted: bool = False,
        deleted_only: bool = False,
        # the Python client sends deleted_only, Confluent's docs say deletedOnly
        deleted_only_alias: Annotated[bool, Query(alias="deletedOnly")] = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[str]:
        names = registry.subjects(
            subject_prefix, include_deleted=deleted, deleted_only=deleted_only or deleted_only_alias
        )
        return _page(names, offset, limit)

    @app.post("/subjects/{subject}/versions", response_model=JSON_OBJECT)
    def register(subject: str, body: Body, normalize: bool = False) -> RegisteredId:
        # `normalize` is accepted and needs no work: ids are always assigned
        # on the canonical text, so formatting never creates a new id.
        return {"id": registry.register(subject, body)}

    @app.post("/subjects/{subject}", response_model=JSON_OBJECT)
    def lookup(subject: str, body: Body, deleted: bool = False, normalize: bool = False) -> SchemaVersionBody:
        return _version_json(registry.lookup(subject, body, include_deleted=deleted))

    @app.get("/subjects/{subject}/versions")
    def list_versions(
        subject: str,
        deleted: bool = False,
        deleted_only: bool = False,
        # the Python client sends deleted_only, Confluent's docs say deletedOnly
        deleted_only_alias: Annotated[bool, Query(alias="deletedOnly")] = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[int]:
        found = registry.versions(
            subject, include_deleted=deleted, deleted_only=deleted_only or deleted_only_alias
        )
        return _page(found, offset, limit)

    @app.get("/subjects/{subject}/versions/{version}", response_model=JSON_OBJECT)
    def get_version(subject: str, version: str, deleted: bool = False) -> SchemaVersionBody:
        return _version_json(registry.get_version(subject, version, include_deleted=deleted))

    @app.get("/subjects/{subject}/versions/{version}/schema")
    def get_version_schema(subject: str, version: str, deleted: bool = False) -> Response:
        found = registry.get_version(subject, version, include_deleted=deleted)
        return Response(found.schema, media_type=MEDIA_TYPE)

    @app.delete("/subjects/{subject}/versions/{version}")
    def delete_version(subject: str, version: str, permanent: bool = False) -> int:
        return registry.delete_version(subject, version, permanent=permanent)

    @app.delete("/subjects/{subject}")
    def delete_subject(subject: str, permanent: bool = False) -> list[int]:
        return registry.delete_subject(subject, permanent=permanent)

    # ------------------------------------------------------------- compatibility
    @app.post("/compatibility/subjects/{subject}/versions/{version}", response_model=JSON_OBJECT)
    def test_compatibility(
        subject: str, version: str, body: Body, verbose: bool = False, normalize: bool = False
    ) -> CompatibilityBody:
        return _compat_json(registry.test_compatibility(subject, body, version), verbose)

    @app.post("/compatibility/subjects/{subject}/versions", response_model=JSON_OBJECT)
    def test_compatibility_all(
        subject: str, body: Body, verbose: bool = False, normalize: bool = False
    ) -> CompatibilityBody:
        return _compat_json(registry.test_compatibility(subject, body, None), verbose)

    # ------------------------------------------------------------- config
    @app.get("/config", response_model=JSON_OBJECT)
    def get_global_config() -> ConfigBody:
        return {"compatibilityLevel": registry.get_config(None).value}

    @app.put("/config", response_model=JSON_OBJECT)
    def put_global_config(body: Body) -> ConfigUpdateBody:
        return {"compatibility": registry.set_config(None, body).value}

    @app.delete("/config", response_model=JSON_OBJECT)
    def delete_global_config() -> ConfigBody:
        return {"compatibilityLevel": registry.delete_config(None).value}

    @app.get("/config/{subject}", response_model=JSON_OBJECT)
    def get_subject_config(
        subject: str,
        default_to_global: Annotated[bool, Query(alias="defaultToGlobal")] = False,
    ) -> ConfigBody:
        level = registry.get_config(subject, default_to_global=default_to_global)
        return {"compatibilityLevel": level.value}

    @app.put("/config/{subject}", response_model=JSON_OBJECT)
    def put_subject_config(subject: str, body: Body) -> ConfigUpdateBody:
        return {"compatibility": registry.set_config(subject, body).value}

    @app.delete("/config/{subject}", response_model=JSON_OBJECT)
    def delete_subject_config(subject: str) -> ConfigBody:
        return {"compatibilityLevel": registry.delete_config(subject).value}

    # ------------------------------------------------------------- mode
    @app.get("/mode", response_model=STR_OBJECT)
    def get_global_mode() -> ModeBody:
        return {"mode": "READWRITE"}

    @app.get("/mode/{subject}", response_model=STR_OBJECT)
    def get_subject_mode(subject: str) -> ModeBody:
        return {"mode": "READWRITE"}

    return app
