"""starlab's Avro compatibility checker against Java Avro, on the whole generated corpus.

Backs story 1 ("`starlab contracts compat` agrees with Confluent's verdicts"):
Confluent's registry decides with Java Avro 1.12 (`Schema.Parser` to accept a
schema, `SchemaCompatibility` per reader/writer pair), so every case of
`starlab.schema.corpus` goes through Java (one JVM, built by
`starlab.schema.reference`) and through `starlab.schema.check`, and every
verdict must match: compatible, incompatible, or invalid (and which schema).
For incompatible pairs every reason Java gives must also be among starlab's,
at the same location.

Needs `java` (17+) and `mvn` (the first run resolves Avro from Maven Central,
later runs build offline); no other service.

    .venv/bin/pytest -m integration tests/integration/schema/test_java_differential.py
"""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from starlab.schema import corpus
from starlab.schema.reference import Case, Verdict, disagreement, run_java, run_starlab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("java") is None or shutil.which("mvn") is None,
        reason="the Java Avro reference needs java and mvn",
    ),
]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return corpus.generate()


@pytest.fixture(scope="module")
def java(cases: list[Case]) -> list[Verdict]:
    return run_java(cases)


def test_the_corpus_covers_what_the_story_claims(cases: list[Case], java: list[Verdict]) -> None:
    assert len(cases) >= 1000
    assert {c.mode for c in cases} == set(corpus.MODES)
    families = Counter(c.kind for c in cases)
    for family in ("primitives", "promotions", "unions", "enums", "aliases", "namespaces", "fixed"):
        assert families[family] >= 40, family
    for family in ("nested", "logical", "fields", "invalid-defaults", "parse", "transitive", "random"):
        assert families[family] >= 40, family
    # Every verdict occurs, so agreement is not agreement on a single answer.
    outcomes = Counter(v.verdict for v in java)
    assert min(outcomes[k] for k in ("compatible", "incompatible", "invalid")) >= 100, outcomes
    # Transitive histories where only an older version conflicts: the latest-only mode passes.
    by_id = {c.id: v for c, v in zip(cases, java, strict=True)}
    assert by_id["transitive/readded-with-other-type/BACKWARD"].verdict == "compatible"
    assert by_id["transitive/readded-with-other-type/BACKWARD_TRANSITIVE"].verdict == "incompatible"


def test_starlab_agrees_with_java_on_every_case(cases: list[Case], java: list[Verdict]) -> None:
    problems: list[str] = []
    for case, theirs in zip(cases, java, strict=True):
        ours = run_starlab(case)
        diff = disagreement(theirs, ours)
        if diff is not None:
            history = " | ".join(case.history) or "(none)"
            problems.append(
                f"{case.id}\n    {diff}\n    mode: {case.mode.value}\n    history: {history}\n"
                f"    candidate: {case.candidate}"
            )
    assert not problems, f"{len(problems)} of {len(cases)} cases disagree with Java Avro:\n" + "\n".join(
        problems
    )
