"""Java Avro as the reference for starlab's compatibility checker: build it, run it, compare.

Backs story 1 ("`starlab contracts compat` agrees with Confluent's verdicts"):
Confluent's registry decides with Java Avro, so Java Avro is the oracle.

- `java/` (next to this file) holds a one-class Maven project, `AvroCompat`,
  that reads cases as JSON lines and answers with Java Avro 1.12's verdicts.
  It lives inside `starlab/schema/` because it is part of the checker's
  definition of done, not of the local stack (`starlab/stack/maven/` holds
  what `starlab up` runs).
- `build()` compiles it with `mvn -q -o package` into the git-ignored
  `<STARLAB_HOME>/avro-reference/build` (default `.starlab/`), and only when
  the pom or the Java source changed: their hash is kept beside the build,
  the same stamp pattern `starlab.stack.prereqs.resolve_jars` uses for the
  Kafka jars. The first build resolves from Maven Central (`-o` is retried
  online once); later ones are offline.
- `run_java()` sends a whole batch through one JVM (about a second for a
  thousand cases); `run_starlab()` answers the same cases with
  `starlab.schema.check`; `disagreement()` says how two answers differ.

Regenerate the unit-test fixture (Java's verdicts on a subset of the corpus):

    .venv/bin/python -m starlab.schema.reference --write-fixture tests/fixtures/schema/java_verdicts.jsonl

Run the whole corpus through both and list the disagreements:

    .venv/bin/python -m starlab.schema.reference
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from starlab.errors import StarlabError
from starlab.schema.compatibility import SchemaParseError, check, parse_schema
from starlab.schema.corpus import Case, fixture_subset, generate

__all__ = [
    "JAVA_DIR",
    "Case",
    "Reason",
    "ReferenceUnavailableError",
    "Verdict",
    "build",
    "disagreement",
    "run_java",
    "run_starlab",
]

JAVA_DIR = Path(__file__).with_name("java")
MAIN_CLASS = "dev.starlab.avrocompat.AvroCompat"
JAR_NAME = "starlab-avro-reference-1.jar"
# The JVM only parses JSON and walks small schemas: a small heap and the C1
# compiler (fast start-up) keep it light on the shared 2-core machine.
JVM_OPTIONS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

VerdictKind = Literal["compatible", "incompatible", "invalid"]


class ReferenceUnavailableError(StarlabError):
    """Java or Maven is missing, or the reference program does not build or run."""


# --------------------------------------------------------------------------- cases and verdicts


@dataclass(frozen=True)
class Reason:
    """One incompatibility: Java's `Incompatibility`, or the same fields from starlab."""

    type: str
    location: str
    message: str
    reader: str
    writer: str


@dataclass(frozen=True)
class Verdict:
    """A checker's answer to a `Case`."""

    id: str
    verdict: VerdictKind
    schema: str | None = None
    """For `invalid`: which schema was refused (`candidate` or `version N`)."""
    error: str | None = None
    """For `invalid`: the parser's message."""
    reasons: tuple[Reason, ...] = field(default=())

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Verdict:
        raw = data.get("incompatibilities") or []
        reasons = tuple(
            Reason(
                type=str(r["type"]),
                location=str(r["location"]),
                message=str(r["message"]),
                reader=str(r["reader"]),
                writer=str(r["writer"]),
            )
            for r in (raw if isinstance(raw, list) else [])
            if isinstance(r, dict)
        )
        kind = str(data["verdict"])
        if kind not in ("compatible", "incompatible", "invalid"):
            raise ReferenceUnavailableError(f"unexpected verdict {kind!r} for case {data.get('id')}")
        schema, error = data.get("schema"), data.get("error")
        return cls(
            id=str(data["id"]),
            verdict=kind,  # type: ignore[arg-type]  # checked just above
            schema=None if schema is None else str(schema),
            error=None if error is None else str(error),
            reasons=reasons,
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "verdict": self.verdict}
        if self.verdict == "invalid":
            out["schema"] = self.schema
            out["error"] = self.error
        out["incompatibilities"] = [r.__dict__ for r in self.reasons]
        return out


# --------------------------------------------------------------------------- build


def _fingerprint() -> str:
    digest = hashlib.sha256()
    files = [JAVA_DIR / "pom.xml", *sorted((JAVA_DIR / "src").rglob("*.java"))]
    for path in files:
        digest.update(path.relative_to(JAVA_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _home(home: Path | None) -> Path:
    if home is None:
        from starlab.settings import get_settings

        home = get_settings().home
    return home.resolve() / "avro-reference"


def build(home: Path | None = None) -> str:
    """Build the reference program if its pom or source changed; return its Java classpath."""
    out = _home(home)
    build_dir = out / "build"
    stamp = out / ".source-sha"
    classpath = f"{build_dir / JAR_NAME}:{build_dir / 'lib'}/*"
    want = _fingerprint()
    if stamp.exists() and stamp.read_text() == want and (build_dir / JAR_NAME).exists():
        return classpath
    mvn = shutil.which("mvn")
    if mvn is None or shutil.which("java") is None:
        raise ReferenceUnavailableError("Java Avro reference needs `java` (17+) and `mvn` on PATH")
    if build_dir.exists():
        shutil.rmtree(build_dir)  # no class from an older source may survive
    out.mkdir(parents=True, exist_ok=True)
    base = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(JAVA_DIR / "pom.xml"),
        f"-Dstarlab.build.dir={build_dir}",
        "package",
    ]
    # Offline first (everything is in ~/.m2 after the first build); online once if not.
    for cmd in ([base[0], "-o", *base[1:]], base):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if proc.returncode == 0:
            stamp.write_text(want)
            return classpath
    last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    raise ReferenceUnavailableError(f"maven could not build {JAVA_DIR / 'pom.xml'}: {' | '.join(last)}")


def run_java(cases: Sequence[Case], home: Path | None = None, timeout_s: float = 600) -> list[Verdict]:
    """Java Avro's verdicts on `cases`, in order, from one JVM."""
    classpath = build(home)
    java = shutil.which("java")
    if java is None:
        raise ReferenceUnavailableError("`java` is not on PATH")
    stdin = "".join(case.to_json() + "\n" for case in cases)
    proc = subprocess.run(
        [java, *JVM_OPTIONS, "-cp", classpath, MAIN_CLASS],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout_s,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise ReferenceUnavailableError(f"Java reference failed (exit {proc.returncode}): {' | '.join(tail)}")
    # split("\n"), not splitlines(): Jackson leaves U+2028 and friends raw inside strings.
    verdicts = [Verdict.from_json(json.loads(line)) for line in proc.stdout.split("\n") if line.strip()]
    if [v.id for v in verdicts] != [c.id for c in cases]:
        raise ReferenceUnavailableError(
            f"Java reference answered {len(verdicts)} of {len(cases)} cases, or out of order"
        )
    return verdicts


# --------------------------------------------------------------------------- starlab's side


def run_starlab(case: Case) -> Verdict:
    """starlab's answer to a case, through the public API the CLI and the registry use."""
    try:
        result = check(
            case.candidate,
            list(case.history),
            case.mode,
            candidate_label="candidate",
            validate_history=True,
        )
        # Java accepted every text if we get here; Python's `avro` must be able
        # to build each one too, or `load_schema` would refuse a valid file.
        for label, text in [("candidate", case.candidate)] + [
            (f"version {i + 1}", h) for i, h in enumerate(case.history)
        ]:
            parse_schema(text, source=label)
    except SchemaParseError as exc:
        return Verdict(case.id, "invalid", schema=exc.source, error=exc.problem)
    reasons = tuple(
        Reason(i.kind, i.location, i.detail, i.reader, i.writer) for i in result.incompatibilities
    )
    return Verdict(case.id, "compatible" if result.is_compatible else "incompatible", reasons=reasons)


def disagreement(java: Verdict, ours: Verdict) -> str | None:
    """None if starlab agrees with Java, else what differs, in one line.

    Agreement is the verdict; for an invalid schema also which one; for an
    incompatible pair also that every (type, location, reader, writer) Java
    reports is among starlab's reasons (starlab may add reasons: the causes
    inside a union branch). Java reports no location for the exception
    Confluent turns into "incompatible", so that one is matched on type only.
    """
    if java.verdict != ours.verdict:
        detail = java.error if java.verdict == "invalid" else ours.error
        return f"java={java.verdict} starlab={ours.verdict}" + (f" ({detail})" if detail else "")
    if java.verdict == "invalid" and java.schema != ours.schema:
        return f"both invalid, but java refused {java.schema} and starlab {ours.schema}"
    mine = {(r.type, r.location, r.reader, r.writer) for r in ours.reasons}
    mine_exceptions = {(r.type, r.reader, r.writer) for r in ours.reasons if r.type == "EXCEPTION"}
    for r in java.reasons:
        if r.type == "EXCEPTION":
            if (r.type, r.reader, r.writer) not in mine_exceptions:
                return f"java reason missing: EXCEPTION [{r.reader} <- {r.writer}] {r.message}"
        elif (r.type, r.location, r.reader, r.writer) not in mine:
            return f"java reason missing: {r.type} at {r.location} [{r.reader} <- {r.writer}] {r.message}"
    return None


# --------------------------------------------------------------------------- command line


def _compare_all(cases: Sequence[Case], java: Sequence[Verdict]) -> list[str]:
    problems: list[str] = []
    for case, theirs in zip(cases, java, strict=True):
        diff = disagreement(theirs, run_starlab(case))
        if diff is not None:
            problems.append(f"{case.id}: {diff}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m starlab.schema.reference",
        description="Compare starlab's Avro compatibility checker with Java Avro on the generated corpus.",
    )
    parser.add_argument(
        "--write-fixture",
        type=Path,
        metavar="PATH",
        help="write Java's verdicts on the corpus subset to PATH (JSON lines) instead of comparing",
    )
    parser.add_argument("--seed", type=int, default=None, help="corpus seed (default: the corpus default)")
    args = parser.parse_args(argv)

    cases = generate() if args.seed is None else generate(seed=args.seed)
    try:
        if args.write_fixture is not None:
            subset = fixture_subset(cases)
            verdicts = run_java(subset)
            args.write_fixture.parent.mkdir(parents=True, exist_ok=True)
            with args.write_fixture.open("w", encoding="utf-8") as out:
                for case, verdict in zip(subset, verdicts, strict=True):
                    line = {"case": json.loads(case.to_json()), "java": verdict.to_json()}
                    out.write(json.dumps(line, sort_keys=True) + "\n")
            print(f"wrote Java's verdicts on {len(subset)} cases to {args.write_fixture}")
            return 0
        java = run_java(cases)
    except ReferenceUnavailableError as exc:
        print(f"reference: {exc}", file=sys.stderr)
        return 2
    problems = _compare_all(cases, java)
    for problem in problems:
        print(problem)
    print(f"{len(cases)} cases, {len(problems)} disagreements")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
