"""docker-compose.yml, checked offline (no Docker engine on the dev machines).

The file is interpolated the way Compose does (`${VAR:-default}`, `$$`) with
an empty environment, then validated against the Compose specification JSON
schema vendored by check-jsonschema. On top of the schema: build contexts,
Dockerfiles and their COPY sources exist; bind-mounted host paths exist (or
are the run-time data/reports dirs); every image is pinned; every long-running
service has a healthcheck that its dependants can wait on; host ports do not
clash; every `STARLAB_*` name is a `Settings` field, its interpolation default
is the field's default, and the endpoints point at compose services; image
versions match the embedded stack's (Kafka pom, Flink pom, Settings).

Each check is a function from a compose dict to a list of problems, so the
negative tests below feed them a deliberately broken file.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from starlab.settings import ROOT, Settings

COMPOSE_FILE = ROOT / "docker-compose.yml"
ONE_SHOT_LABEL = "dev.starlab.one-shot"
"""Services with this label run to completion; they need no healthcheck."""
RUNTIME_DIRS = frozenset({"data", "reports"})
"""Bind-mounted host dirs created at run time (git-ignored): may be absent."""
PREFIX = "STARLAB_"

_VAR = re.compile(
    r"\$(?:\$"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_STARLAB_NAME = re.compile(r"\b" + PREFIX + r"[A-Z0-9_]+\b")


# --- loading and interpolation ---------------------------------------------


def compose_schema() -> dict[str, Any]:
    """The Compose specification schema as vendored by check-jsonschema."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


def interpolation_vars(text: str) -> list[tuple[str, str | None]]:
    """(name, default) of every `${NAME...}`/`$NAME`; default None if there is none."""
    out: list[tuple[str, str | None]] = []
    for m in _VAR.finditer(text):
        name = m.group("braced") or m.group("bare")
        if name is None:  # `$$`
            continue
        default = m.group("arg") if m.group("op") in (":-", "-") else None
        out.append((name, default))
    return out


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution over a loaded YAML tree."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("bare")
        if name is None:
            return "$"
        op, arg, have = m.group("op"), m.group("arg") or "", env.get(name)
        if op == ":-":
            return have if have else arg
        if op == "-":
            return arg if have is None else have
        if op == ":+":
            return arg if have else ""
        if op == "+":
            return "" if have is None else arg
        if op in (":?", "?") and not have:
            raise ValueError(f"required variable {name} is not set: {arg}")
        return have or ""

    return _VAR.sub(sub, value)


def load_compose(path: Path = COMPOSE_FILE, env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text("utf-8"))
    assert isinstance(raw, dict), f"{path} is not a mapping"
    doc: dict[str, Any] = interpolate(raw, env or {})
    return doc


def services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    svcs: dict[str, dict[str, Any]] = doc.get("services") or {}
    return svcs


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


# --- checks: each returns a list of problems -----------------------------


def schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def unpinned_images(doc: dict[str, Any]) -> list[str]:
    """Images without a version tag or digest, or tagged `latest`."""
    bad = []
    for name, svc in services(doc).items():
        image = svc.get("image")
        if image is None:
            if "build" not in svc:
                bad.append(f"{name}: neither image nor build")
            continue
        if "@sha256:" in image:
            continue
        last = image.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else ""
        if not tag or tag == "latest":
            bad.append(f"{name}: image {image!r} is not pinned to a version")
    return bad


def is_one_shot(svc: dict[str, Any]) -> bool:
    labels = svc.get("labels") or {}
    if isinstance(labels, list):
        labels = dict(item.split("=", 1) if "=" in item else (item, "") for item in labels)
    return str(labels.get(ONE_SHOT_LABEL, "")).lower() == "true"


def missing_healthchecks(doc: dict[str, Any]) -> list[str]:
    bad = []
    for name, svc in services(doc).items():
        hc = svc.get("healthcheck")
        has = isinstance(hc, dict) and not hc.get("disable") and bool(hc.get("test"))
        if not has and not is_one_shot(svc):
            bad.append(f"{name}: no healthcheck (and not labelled {ONE_SHOT_LABEL})")
        if is_one_shot(svc) and svc.get("restart", "no") != "no":
            bad.append(f"{name}: one-shot but restart={svc.get('restart')!r}")
    return bad


def bad_dependencies(doc: dict[str, Any]) -> list[str]:
    """Unknown targets; waiting on health of a service that has none; plain lists."""
    svcs, bad = services(doc), []
    for name, svc in svcs.items():
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            bad.append(f"{name}: depends_on without conditions (use service_healthy)")
            continue
        for dep, spec in deps.items():
            if dep not in svcs:
                bad.append(f"{name}: depends on unknown service {dep!r}")
                continue
            cond = (spec or {}).get("condition", "service_started")
            target = svcs[dep]
            if cond == "service_healthy" and not target.get("healthcheck"):
                bad.append(f"{name}: waits for {dep} healthy, but {dep} has no healthcheck")
            if cond != "service_healthy" and not is_one_shot(target):
                bad.append(f"{name}: depends on {dep} with {cond}, not service_healthy")
    return bad


def _build(svc: dict[str, Any]) -> tuple[str, str] | None:
    build = svc.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        return build, "Dockerfile"
    return build.get("context", "."), build.get("dockerfile", "Dockerfile")


def dockerfiles(doc: dict[str, Any], root: Path) -> dict[Path, Path]:
    """Dockerfile -> its build context, for every service that builds."""
    out = {}
    for svc in services(doc).values():
        b = _build(svc)
        if b is not None:
            context = (root / b[0]).resolve()
            out[(context / b[1]).resolve()] = context
    return out


def missing_build_paths(doc: dict[str, Any], root: Path) -> list[str]:
    bad = []
    for name, svc in services(doc).items():
        b = _build(svc)
        if b is None:
            continue
        context = root / b[0]
        if not context.is_dir():
            bad.append(f"{name}: build context {b[0]!r} is not a directory")
        elif not (context / b[1]).is_file():
            bad.append(f"{name}: dockerfile {b[1]!r} not found in {b[0]!r}")
    return bad


def copy_sources(dockerfile: Path) -> list[str]:
    """Sources of COPY/ADD lines taken from the build context (not --from=)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text("utf-8"))
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or parts[0].upper() not in ("COPY", "ADD"):
            continue
        args = parts[1:]
        if any(a.startswith("--from=") for a in args):
            continue
        args = [a for a in args if not a.startswith("--")]
        out.extend(args[:-1])
    return out


def missing_copy_sources(dockerfile: Path, context: Path) -> list[str]:
    return [
        f"{dockerfile.relative_to(ROOT) if dockerfile.is_relative_to(ROOT) else dockerfile}: "
        f"COPY source {src!r} not in the build context"
        for src in copy_sources(dockerfile)
        if not (context / src).exists()
    ]


def bind_mounts(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(service, host path) of every bind mount; named volumes are skipped."""
    out = []
    for name, svc in services(doc).items():
        for vol in svc.get("volumes") or []:
            if isinstance(vol, str):
                src = vol.split(":", 1)[0]
                if src.startswith((".", "/", "~")):
                    out.append((name, src))
            elif vol.get("type") == "bind":
                out.append((name, vol["source"]))
    return out


def missing_bind_sources(doc: dict[str, Any], root: Path) -> list[str]:
    bad = []
    for name, src in bind_mounts(doc):
        path = Path(src)
        if path.is_absolute() or src.startswith("~"):
            bad.append(f"{name}: bind mount {src!r} is outside the repository")
            continue
        rel = Path(*[p for p in path.parts if p != "."]) if path.parts else path
        if rel.parts and rel.parts[0] == "..":
            bad.append(f"{name}: bind mount {src!r} is outside the repository")
        elif rel.parts and rel.parts[0] in RUNTIME_DIRS:
            continue  # created at run time (mkdir -p data reports)
        elif not (root / rel).exists():
            bad.append(f"{name}: bind mount source {src!r} does not exist")
    return bad


def host_port_clashes(doc: dict[str, Any]) -> list[str]:
    seen: dict[tuple[str, str], str] = {}
    bad = []
    for name, svc in services(doc).items():
        for port in svc.get("ports") or []:
            if isinstance(port, dict):
                ip, published = str(port.get("host_ip", "")), str(port.get("published", ""))
            else:
                parts = str(port).rsplit("/", 1)[0].split(":")
                if len(parts) == 1:
                    continue  # container port only: Docker picks a free host port
                ip = parts[0] if len(parts) == 3 else ""
                published = parts[-2]
            key = ("" if ip in ("", "0.0.0.0") else ip, published)
            wildcard = ("", published)
            other = seen.get(key) or seen.get(wildcard)
            if other is None and key == wildcard:
                other = next((s for (i, p), s in seen.items() if p == published), None)
            if other is not None:
                bad.append(f"{name}: host port {published} already published by {other}")
            seen[key] = name
    return bad


class _GivenSettings(Settings):
    """Settings from the given values and defaults only: no process environment, no .env."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def only_given(values: dict[str, Any]) -> Settings:
    return _GivenSettings(**values)


def settings_names() -> dict[str, str]:
    """STARLAB_<FIELD> -> field name, for every field of Settings."""
    return {PREFIX + field.upper(): field for field in Settings.model_fields}


def unknown_starlab_names(text: str) -> list[str]:
    """STARLAB_* names anywhere in the file (keys, interpolations) that are no Settings field."""
    known = settings_names()
    return sorted({n for n in _STARLAB_NAME.findall(text) if n not in known})


def default_mismatches(text: str) -> list[str]:
    """`${STARLAB_X:-d}` whose d is not Settings' default for x; variables without defaults."""
    known, bad = settings_names(), []
    for name, default in interpolation_vars(text):
        if default is None:
            bad.append(f"${{{name}}} has no default: `docker compose up` needs no .env")
            continue
        field = known.get(name)
        if field is None:
            continue
        want = Settings.model_fields[field].default
        if default != str(want):
            bad.append(f"{name}: compose default {default!r} != Settings default {want!r}")
    return bad


def endpoint_problems(doc: dict[str, Any]) -> list[str]:
    """Every starlab container's settings parse, and its endpoints are compose services."""
    svcs, bad = services(doc), []
    for name, svc in svcs.items():
        env = {k: v for k, v in environment(svc).items() if k.startswith(PREFIX)}
        if not env:
            continue
        fields = settings_names()
        try:
            s = only_given({fields[k]: v for k, v in env.items() if k in fields})
        except Exception as exc:  # pydantic.ValidationError, with every field's message
            bad.append(f"{name}: STARLAB_* values are not valid settings: {exc}")
            continue
        hosts: dict[str, list[str | None]] = {
            "STARLAB_KAFKA_BOOTSTRAP": [hp.rsplit(":", 1)[0] for hp in s.kafka_bootstrap.split(",")],
            "STARLAB_SCHEMA_REGISTRY_URL": [urlsplit(s.schema_registry_url).hostname],
            "STARLAB_REDIS_URL": [urlsplit(s.redis_url).hostname],
            "STARLAB_FLINK_REST_URL": [urlsplit(s.flink_rest_url).hostname if s.flink_rest_url else None],
        }
        for var, hs in hosts.items():
            if var not in env:
                bad.append(f"{name}: {var} not set (the default points at 127.0.0.1)")
            for h in hs:
                if var in env and h not in svcs:
                    bad.append(f"{name}: {var} host {h!r} is not a compose service")
    return bad


# --- version facts the compose stack shares with the embedded one ----------


def _pom(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    for el in root.iter():  # drop the Maven namespace
        el.tag = el.tag.split("}", 1)[-1]
    return root


def pom_versions(path: Path) -> dict[str, str]:
    """artifactId -> version, with ${properties} resolved."""
    root = _pom(path)
    props = {el.tag: (el.text or "").strip() for el in root.findall("properties/*")}
    out = {}
    for dep in root.findall("dependencies/dependency"):
        version = (dep.findtext("version") or "").strip()
        version = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(str(m.group(1)), str(m.group(0))), version)
        out[(dep.findtext("artifactId") or "").strip()] = version
    return out


def image_tag(doc: dict[str, Any], service: str) -> str:
    image: str = services(doc)[service]["image"]
    return image.rsplit(":", 1)[1]


def dockerfile_from(dockerfile: Path) -> list[str]:
    return re.findall(r"^FROM\s+(?:--\S+\s+)?(\S+)", dockerfile.read_text("utf-8"), flags=re.M)


def dockerfile_args(dockerfile: Path) -> dict[str, str]:
    return dict(
        re.findall(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)", dockerfile.read_text("utf-8"), flags=re.M)
    )


# --- tests on the real file ---------------------------------------------------


@pytest.fixture(scope="module")
def text() -> str:
    return COMPOSE_FILE.read_text("utf-8")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load_compose()


def test_vendored_compose_schema_is_found() -> None:
    schema = compose_schema()
    assert schema.get("title") == "Compose Specification"
    assert "services" in schema["properties"]


def test_compose_file_matches_the_compose_specification(doc: dict[str, Any]) -> None:
    assert schema_errors(doc) == []


def test_expected_services_are_there(doc: dict[str, Any]) -> None:
    assert set(services(doc)) >= {
        "kafka",
        "schema-registry",
        "flink-jobmanager",
        "flink-taskmanager",
        "redis",
        "airflow",
        "app",
    }


def test_images_are_pinned(doc: dict[str, Any]) -> None:
    assert unpinned_images(doc) == []
    for dockerfile in dockerfiles(doc, ROOT):
        for base in dockerfile_from(dockerfile):
            if base.lower() == "scratch" or (":" not in base.rsplit("/", 1)[-1] and "@" not in base):
                pytest.fail(f"{dockerfile.relative_to(ROOT)}: FROM {base} is not pinned")
            assert not base.endswith(":latest"), f"{dockerfile}: FROM {base}"


def test_healthchecks_and_dependencies(doc: dict[str, Any]) -> None:
    assert missing_healthchecks(doc) == []
    assert bad_dependencies(doc) == []


def test_build_contexts_dockerfiles_and_copy_sources_exist(doc: dict[str, Any]) -> None:
    assert missing_build_paths(doc, ROOT) == []
    files = dockerfiles(doc, ROOT)
    assert files, "no service builds an image"
    for dockerfile, context in files.items():
        assert missing_copy_sources(dockerfile, context) == []
        ignore = dockerfile.with_name(dockerfile.name + ".dockerignore")
        top = context / ".dockerignore"
        ignored = (ignore.read_text() if ignore.exists() else "") + (top.read_text() if top.exists() else "")
        assert ".venv" in ignored.split(), f"{dockerfile}: the host .venv would be sent as build context"


def test_bind_mounts_exist_or_are_runtime_dirs(doc: dict[str, Any]) -> None:
    assert missing_bind_sources(doc, ROOT) == []
    # The run-time dirs are the settings' defaults and git-ignored.
    defaults = only_given({})
    assert {defaults.data_dir.as_posix(), defaults.reports_dir.as_posix()} == RUNTIME_DIRS
    ignored = (ROOT / ".gitignore").read_text().split()
    assert {f"{d}/" for d in RUNTIME_DIRS} <= set(ignored)
    mounted = {Path(src).parts[-1] for _, src in bind_mounts(doc)}
    assert mounted >= RUNTIME_DIRS, "the app must mount ./data and ./reports"


def test_host_ports_do_not_clash(doc: dict[str, Any]) -> None:
    assert host_port_clashes(doc) == []


def test_starlab_names_are_settings_fields(text: str) -> None:
    assert _STARLAB_NAME.findall(text), "the compose file sets no STARLAB_* variable"
    assert unknown_starlab_names(text) == []


def test_interpolation_defaults_equal_settings_defaults(text: str) -> None:
    assert default_mismatches(text) == []


def test_starlab_services_point_at_compose_endpoints(doc: dict[str, Any]) -> None:
    assert endpoint_problems(doc) == []
    app = environment(services(doc)["app"])
    assert app["STARLAB_FLINK_REST_URL"] == "http://flink-jobmanager:8081"


def test_redis_eviction_uses_the_settings_values(doc: dict[str, Any]) -> None:
    cmd = services(doc)["redis"]["command"]
    defaults = only_given({})
    assert cmd[cmd.index("--maxmemory") + 1] == defaults.redis_maxmemory
    assert cmd[cmd.index("--maxmemory-policy") + 1] == defaults.redis_maxmemory_policy


def test_versions_match_the_embedded_stack(doc: dict[str, Any]) -> None:
    maven = ROOT / "starlab" / "stack" / "maven"
    kafka_pom = pom_versions(maven / "kafka" / "pom.xml")
    assert image_tag(doc, "kafka") == kafka_pom["kafka_2.13"]

    flink_version = str(Settings.model_fields["flink_version"].default)
    flink_df = ROOT / "docker" / "flink" / "Dockerfile"
    assert any(b.startswith(f"flink:{flink_version}-") and "java17" in b for b in dockerfile_from(flink_df))
    args = dockerfile_args(flink_df)
    flink_pom = pom_versions(maven / "flink" / "pom.xml")
    assert args["KAFKA_CONNECTOR_VERSION"] == flink_pom["flink-sql-connector-kafka"]
    assert args["AVRO_CONFLUENT_VERSION"] == flink_pom["flink-sql-avro-confluent-registry"]
    reqs = (ROOT / "starlab" / "stack" / "flink-requirements.txt").read_text()
    assert f"apache-flink=={flink_version}" in reqs.split()
    assert image_tag(doc, "flink-jobmanager") == flink_version


# --- the checks can fail: a deliberately broken compose file --------------------


@pytest.fixture
def broken(doc: dict[str, Any]) -> dict[str, Any]:
    bad = copy.deepcopy(doc)
    svcs = bad["services"]
    svcs["redis"]["image"] = "redis"  # no tag
    svcs["kafka"]["image"] = "apache/kafka:latest"
    del svcs["redis"]["healthcheck"]  # app waits on it healthy
    svcs["flink-jobmanager"]["build"] = {"context": "docker/nope", "dockerfile": "Dockerfile"}
    svcs["airflow"]["volumes"].append("./no-such-dir:/x")
    svcs["airflow"]["volumes"].append("/etc:/host-etc:ro")
    svcs["airflow"]["ports"].append("127.0.0.1:8081:8080")  # the registry's host port
    svcs["app"]["environment"] = {
        **svcs["app"]["environment"],
        "STARLAB_REDIS_URL": "redis://127.0.0.1:6380/0",
    }
    svcs["app"]["environment"]["STARLAB_API_PORT"] = "not-a-port"
    svcs["app"]["depends_on"]["ghost"] = {"condition": "service_healthy"}
    return bad


def test_schema_rejects_a_broken_file(doc: dict[str, Any]) -> None:
    broken = copy.deepcopy(doc)
    broken["services"]["kafka"]["ports"] = 9092  # not a list
    broken["services"]["kafka"]["restrat"] = "always"  # misspelt key
    errors = schema_errors(broken)
    assert any(e.startswith("services/kafka") and "restrat" in e for e in errors), errors
    assert any(e.startswith("services/kafka/ports") for e in errors), errors


def test_checks_catch_a_broken_file(broken: dict[str, Any]) -> None:
    assert unpinned_images(broken) == [
        "kafka: image 'apache/kafka:latest' is not pinned to a version",
        "redis: image 'redis' is not pinned to a version",
    ]
    assert missing_healthchecks(broken) == ["redis: no healthcheck (and not labelled dev.starlab.one-shot)"]
    deps = bad_dependencies(broken)
    assert any("waits for redis healthy" in d for d in deps) and any("ghost" in d for d in deps), deps
    assert missing_build_paths(broken, ROOT) == [
        "flink-jobmanager: build context 'docker/nope' is not a directory"
    ]
    assert missing_bind_sources(broken, ROOT) == [
        "airflow: bind mount source './no-such-dir' does not exist",
        "airflow: bind mount '/etc' is outside the repository",
    ]
    assert host_port_clashes(broken) == ["airflow: host port 8081 already published by schema-registry"]
    problems = endpoint_problems(broken)
    assert any(p.startswith("app: STARLAB_* values are not valid settings") for p in problems), problems
    del broken["services"]["app"]["environment"]["STARLAB_API_PORT"]
    assert endpoint_problems(broken) == ["app: STARLAB_REDIS_URL host '127.0.0.1' is not a compose service"]


def test_name_and_default_checks_catch_mistakes() -> None:
    text = (
        "environment:\n"
        "  STARLAB_KAFKA_BOOTSTRAP: kafka:9092\n"
        "  STARLAB_APP_COMMAND: starlab demo\n"
        "  STARLAB_REDIS_MAXMEMORY: ${STARLAB_REDIS_MAXMEMORY:-512mb}\n"
        "  X: ${NO_DEFAULT} $${NOT_A_VARIABLE}\n"
    )
    assert unknown_starlab_names(text) == ["STARLAB_APP_COMMAND"]
    assert default_mismatches(text) == [
        "STARLAB_REDIS_MAXMEMORY: compose default '512mb' != Settings default '256mb'",
        "${NO_DEFAULT} has no default: `docker compose up` needs no .env",
    ]


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $$HOME $SET", env) == "v d  d $HOME v"
    assert interpolate({"a": ["${UNSET:-1}", 2]}, env) == {"a": ["1", 2]}
    with pytest.raises(ValueError, match="UNSET"):
        interpolate("${UNSET:?must be set}", env)


def test_copy_sources_are_checked(tmp_path: Path) -> None:
    (tmp_path / "present.txt").write_text("x")
    df = tmp_path / "Dockerfile"
    df.write_text(
        "FROM python:3.11-slim\n"
        "COPY --from=builder /uv /bin/\n"
        "COPY --chown=a:b present.txt \\\n  missing/ /app/\n"
    )
    assert copy_sources(df) == ["present.txt", "missing/"]
    assert [p.split(": ", 1)[1] for p in missing_copy_sources(df, tmp_path)] == [
        "COPY source 'missing/' not in the build context"
    ]
