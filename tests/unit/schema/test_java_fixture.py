"""starlab's checker against Java Avro's recorded verdicts, with no process started.

Backs story 1 ("agreeing with Confluent's verdicts") in the unit suite: the
fixture holds a representative subset of the generated corpus
(`starlab.schema.corpus.fixture_subset`) with the verdicts the Java reference
program gave (`starlab/schema/java/`). It is produced by Java, never by hand:

    .venv/bin/python -m starlab.schema.reference --write-fixture tests/fixtures/schema/java_verdicts.jsonl

Regenerate it when the corpus or the Avro version changes; the integration
test `tests/integration/schema/test_java_differential.py` runs the whole corpus
through Java live.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from starlab.schema import CompatibilityMode, corpus
from starlab.schema.reference import Case, Verdict, disagreement, run_starlab

FIXTURE = Path(__file__).parents[2] / "fixtures" / "schema" / "java_verdicts.jsonl"


def _load() -> list[tuple[Case, Verdict]]:
    lines = FIXTURE.read_text(encoding="utf-8").split("\n")
    rows = [json.loads(line) for line in lines if line.strip()]
    return [(Case.from_json(row["case"]), Verdict.from_json(row["java"])) for row in rows]


RECORDED = _load()


def test_the_fixture_is_the_current_corpus_subset() -> None:
    # A corpus change without regenerating the fixture would silently test less.
    expected = corpus.fixture_subset(corpus.generate())
    assert [c for c, _ in RECORDED] == expected


def test_the_fixture_covers_every_mode_family_and_verdict() -> None:
    assert {c.mode for c, _ in RECORDED} == set(CompatibilityMode)
    assert len({c.kind for c, _ in RECORDED}) >= 14
    verdicts = Counter(v.verdict for _, v in RECORDED)
    assert min(verdicts[k] for k in ("compatible", "incompatible", "invalid")) >= 30, verdicts


@pytest.mark.parametrize(("case", "java"), RECORDED, ids=[c.id for c, _ in RECORDED])
def test_starlab_agrees_with_java(case: Case, java: Verdict) -> None:
    diff = disagreement(java, run_starlab(case))
    assert diff is None, f"{diff}\nhistory: {case.history}\ncandidate: {case.candidate}"
