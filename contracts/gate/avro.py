"""Avro subjects at the base vs the working tree, judged by the kernel's compatibility check.

Backs story 1's "schema registry + contract checks in CI" and "backward-
compatible changes by default": every new version of a subject is checked
with `starlab.schema.check` (the same function the registry runs at
registration, so CI and the registry cannot disagree) against every earlier
version under the subject's mode. On top of the mode, three things the
registry cannot see:

- a consumer that decodes with a pinned schema (the Flink job reads with the
  schema it was deployed with) must be able to read the new version with the
  old one: FORWARD against the version it runs, whatever the subject's mode
  (AVRO_PINNED_READER). Under BACKWARD_TRANSITIVE alone, dropping a field the
  Flink job declares NOT NULL would register fine and stop the job;
- registered versions are immutable: a version file edited in place or
  removed is a violation even when the new text would be compatible;
- a removed and an added field of the same type are named as a likely
  rename, with the alias that would make it one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avro.schema import Schema

from contracts.errors import BadContractInput
from contracts.gate.declarations import (
    SUBJECTS_FILE,
    ConsumersFile,
    ConsumerStatus,
    ReaderSchema,
    Subject,
    SubjectsFile,
)
from contracts.gate.model import ChangeKind, ContractChange, ContractKind, Impact, Rule, Violation
from contracts.gate.renames import Column, Rename, likely_renames
from starlab.schema import CompatibilityMode, Incompatibility, SchemaParseError, canonical_text, check
from starlab.schema import parse_schema as kernel_parse

ImpactOf = Callable[[str], Impact]


@dataclass(frozen=True)
class LoadedVersion:
    version: int
    path: str
    schema: Schema
    canonical: str
    json: Mapping[str, Any]


@dataclass
class AvroFindings:
    changes: list[ContractChange] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


def load_versions(subject: Subject, root: Path, label: str) -> list[LoadedVersion]:
    """Read and parse every version file of `subject` under `root` (bad file -> exit 2)."""
    out: list[LoadedVersion] = []
    for v in subject.versions:
        path = root / v.path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BadContractInput(
                f"{label}: {subject.subject} v{v.version}: cannot read {v.path}: {exc.strerror or exc}"
            ) from None
        try:
            schema = kernel_parse(text, source=f"{label}: {v.path}")
        except SchemaParseError as exc:
            raise BadContractInput(str(exc)) from None
        out.append(LoadedVersion(v.version, v.path, schema, canonical_text(schema), json.loads(text)))
    return out


def weaker(new: CompatibilityMode, old: CompatibilityMode) -> bool:
    """True if `new` accepts a change `old` would refuse (fewer directions, or not transitive)."""
    directions_kept = (new.new_reads_old or not old.new_reads_old) and (
        new.old_reads_new or not old.old_reads_new
    )
    checks_any = old.new_reads_old or old.old_reads_new
    return not directions_kept or (checks_any and old.transitive and not new.transitive)


# --------------------------------------------------------------------------- renames


def _strip_docs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_docs(v) for k, v in node.items() if k != "doc"}
    if isinstance(node, list):
        return [_strip_docs(x) for x in node]
    return node


def _fields(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    fields = record.get("fields")
    return list(fields) if isinstance(fields, list) else []


def field_renames(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Rename]:
    """Likely renames between two record schemas' top-level fields (an alias makes it a real rename)."""
    old_fields = {f["name"]: f for f in _fields(old)}
    new_fields = {f["name"]: f for f in _fields(new)}
    aliased = {a for f in new_fields.values() for a in f.get("aliases", [])}

    def type_text(f: Mapping[str, Any]) -> str:
        return json.dumps(_strip_docs(f["type"]), sort_keys=True)

    removed = [
        Column(n, type_text(f)) for n, f in old_fields.items() if n not in new_fields and n not in aliased
    ]
    added = [
        Column(n, type_text(f))
        for n, f in new_fields.items()
        if n not in old_fields and not set(f.get("aliases", [])) & set(old_fields)
    ]
    return likely_renames(removed, added)


# --------------------------------------------------------------------------- fixes


def _fix(item: Incompatibility, pinned: bool) -> str:
    name = item.field_path or item.location
    if item.kind == "READER_FIELD_MISSING_DEFAULT_VALUE":
        if pinned:
            return (
                f"keep field '{name}' (readers deployed with the old schema require it); remove it only "
                "after a version that gives it a default is deployed everywhere"
            )
        return f"give field '{name}' a default (or make it [\"null\", ...] with default null)"
    if item.kind == "MISSING_ENUM_SYMBOLS":
        return (
            f"keep the symbols of '{name}', or give the enum a default in a version every reader runs first"
        )
    if item.kind == "TYPE_MISMATCH":
        return (
            f"keep the type of '{name}' (only Avro promotions such as int->long, string<->bytes are "
            "compatible); add a new field for the new type"
        )
    if item.kind == "NAME_MISMATCH":
        return f"keep the type name at '{name}', or list the old full name in its aliases"
    if item.kind == "FIXED_SIZE_MISMATCH":
        return f"keep the size of the fixed type at '{name}'"
    if item.kind == "MISSING_UNION_BRANCH":
        return f"keep every branch of the union at '{name}' (add branches, never remove them)"
    return f"make '{name}' compatible under the subject's mode, or register it as a new subject"


# --------------------------------------------------------------------------- comparison


def _grouped(items: Sequence[Incompatibility]) -> list[list[Incompatibility]]:
    groups: dict[tuple[str, str, str], list[Incompatibility]] = {}
    for item in items:
        groups.setdefault((item.kind, item.field_path or item.location, item.detail), []).append(item)
    return list(groups.values())


@dataclass
class _SubjectContext:
    subject: str
    topic: str
    impact: Impact
    pinned: tuple[str, ...]
    findings: AvroFindings

    def add(self, rule: Rule, obj: str, changed: str, fix: str, evidence: Sequence[str] = ()) -> None:
        self.findings.violations.append(
            Violation(rule, self.subject, obj, changed, fix, self.impact, tuple(evidence))
        )


def _check_candidate(
    ctx: _SubjectContext,
    candidate: LoadedVersion,
    history: Sequence[LoadedVersion],
    mode: CompatibilityMode,
    pinned_version: LoadedVersion | None,
) -> list[str]:
    """All findings for one new (or edited) version; returns detail lines for the change."""
    obj = f"subject {ctx.subject} v{candidate.version}"
    result = check(
        candidate.schema,
        [h.schema for h in history],
        mode,
        candidate_label=f"v{candidate.version}",
        history_labels=[f"v{h.version}" for h in history],
    )
    backward = list(result.incompatibilities)
    forward: list[Incompatibility] = []
    if pinned_version is not None and ctx.pinned:
        readers = ", ".join(ctx.pinned)
        forward = list(
            check(
                candidate.schema,
                [pinned_version.schema],
                CompatibilityMode.FORWARD,
                candidate_label=f"v{candidate.version}",
                history_labels=[f"v{pinned_version.version} (pinned by {readers})"],
            ).incompatibilities
        )
    previous = history[-1] if history else None
    renames = field_renames(previous.json, candidate.json) if previous else []
    for rename in renames:
        related = [i for i in backward if i.field_path == rename.new] + [
            i for i in forward if i.field_path == rename.old
        ]
        if not related:
            continue  # compatible anyway (e.g. both optional): not a breaking rename
        backward = [i for i in backward if i not in related]
        forward = [i for i in forward if i not in related]
        ctx.add(
            Rule.AVRO_FIELD_RENAMED,
            obj,
            f"field '{rename.old}' looks renamed to '{rename.new}' (same type, name similarity "
            f"{rename.similarity}); readers of either side lose the value",
            f'add "aliases": ["{rename.old}"] to field \'{rename.new}\' and give it a default, '
            f"or keep '{rename.old}' beside it until every reader has moved",
            [str(i) for i in related],
        )
    # A transitive mode finds the same reason once per earlier version: one
    # violation per reason, naming every version it concerns.
    for items in _grouped(backward):
        first = items[0]
        writers = ", ".join(sorted({i.writer for i in items}, key=lambda w: (len(w), w)))  # v2 < v10
        ctx.add(
            Rule.AVRO_INCOMPATIBLE,
            obj,
            f"{first.field_path or first.location}: {first.detail} ({first.reader} reading data "
            f"of {writers}; mode {mode.value})",
            _fix(first, pinned=False),
            [str(i) for i in items],
        )
    for items in _grouped(forward):
        first = items[0]
        ctx.add(
            Rule.AVRO_PINNED_READER,
            obj,
            f"{first.field_path or first.location}: {first.detail} ({first.reader} reading "
            f"v{candidate.version} data)",
            _fix(first, pinned=True),
            [str(i) for i in items],
        )
    details = []
    if previous:
        old_names = {f["name"] for f in _fields(previous.json)}
        new_names = {f["name"] for f in _fields(candidate.json)}
        if new_names - old_names:
            details.append(f"v{candidate.version} adds field(s) {', '.join(sorted(new_names - old_names))}")
        if old_names - new_names:
            details.append(
                f"v{candidate.version} removes field(s) {', '.join(sorted(old_names - new_names))}"
            )
    return details


def compare_subjects(
    base: SubjectsFile,
    head: SubjectsFile,
    *,
    base_root: Path,
    head_root: Path,
    consumers: ConsumersFile,
    impact_of_topic: ImpactOf,
    base_label: str = "base",
) -> AvroFindings:
    """Every subject's changes and violations between the base and the head declarations."""
    findings = AvroFindings()
    for subject in head.subjects:
        topic = subject.topic
        pinned = tuple(
            c.name
            for c in consumers.consumers_of(topic)
            if c.reader_schema is ReaderSchema.PINNED and c.status is ConsumerStatus.LIVE
        )
        ctx = _SubjectContext(subject.subject, topic, impact_of_topic(topic), pinned, findings)
        if topic not in consumers.topics:
            ctx.add(
                Rule.MAP_INCOMPLETE,
                f"subject {subject.subject}",
                f"topic '{topic}' is not in contracts/consumers.yaml, so nobody is told when it breaks",
                f"add '{topic}' with its consumers to contracts/consumers.yaml",
            )
        head_versions = load_versions(subject, head_root, "working tree")
        before = base.get(subject.subject)
        base_versions = load_versions(before, base_root, base_label) if before else []
        paths = (str(SUBJECTS_FILE), *(v.path for v in subject.versions))
        details: list[str] = []

        mode = head.mode_of(subject)
        if before is not None:
            old_mode = base.mode_of(before)
            if old_mode != mode:
                details.append(f"mode {old_mode.value} -> {mode.value}")
            if weaker(mode, old_mode):
                ctx.add(
                    Rule.AVRO_MODE_WEAKENED,
                    f"subject {subject.subject}",
                    f"compatibility mode relaxed from {old_mode.value} to {mode.value}",
                    f"keep {old_mode.value}; a change it refuses goes to a new subject (topic) instead",
                )
            # New versions are judged by the stricter of the two modes: relaxing
            # the mode in the same change must not let a break through unseen.
            mode = old_mode if weaker(mode, old_mode) else mode

        by_number = {v.version: v for v in base_versions}
        pinned_version = base_versions[-1] if base_versions else None
        for v in head_versions:
            old = by_number.get(v.version)
            history = [h for h in head_versions if h.version < v.version]
            if old is None:
                details.append(f"v{v.version} added ({v.path})")
                details += _check_candidate(ctx, v, history, mode, pinned_version)
            elif old.canonical != v.canonical:
                details.append(f"v{v.version} edited in place ({v.path})")
                ctx.add(
                    Rule.AVRO_VERSION_EDITED,
                    f"subject {subject.subject} v{v.version}",
                    f"registered version {v.version} changed in place ({v.path})",
                    f"restore {v.path} as it was and add the change as version {len(head_versions) + 1}",
                )
                # Data written with the registered text is in the topic: the new
                # text must read it too, and pinned readers run the old text.
                _check_candidate(ctx, v, [*history, old], mode, old)
            elif old.path != v.path:
                details.append(f"v{v.version} moved {old.path} -> {v.path} (same schema)")
        for old in base_versions:
            if old.version not in {v.version for v in head_versions}:
                details.append(f"v{old.version} removed")
                ctx.add(
                    Rule.AVRO_VERSION_REMOVED,
                    f"subject {subject.subject} v{old.version}",
                    f"registered version {old.version} ({old.path}) was removed from the history",
                    "restore it: data written with it stays in the topic and every later version is "
                    "checked against it",
                )
        if before is None:
            change = ChangeKind.ADDED
            details.insert(0, f"new subject, mode {mode.value}, {len(head_versions)} version(s)")
        elif details:
            change = ChangeKind.MODIFIED
        else:
            continue
        broken = any(
            v.contract == subject.subject and v.rule is not Rule.MAP_INCOMPLETE for v in findings.violations
        )
        findings.changes.append(
            ContractChange(
                ContractKind.AVRO_SUBJECT, subject.subject, change, tuple(details), broken, ctx.impact, paths
            )
        )
    for before in base.subjects:
        if head.get(before.subject) is None:
            impact = impact_of_topic(before.topic)
            findings.violations.append(
                Violation(
                    Rule.AVRO_SUBJECT_REMOVED,
                    before.subject,
                    f"subject {before.subject}",
                    f"subject removed from {SUBJECTS_FILE} while topic '{before.topic}' has consumers",
                    "keep the subject until its consumers have moved (list them in the change request), "
                    "then remove it together with the topic",
                    impact,
                )
            )
            findings.changes.append(
                ContractChange(
                    ContractKind.AVRO_SUBJECT,
                    before.subject,
                    ChangeKind.REMOVED,
                    ("subject removed",),
                    True,
                    impact,
                    (str(SUBJECTS_FILE),),
                )
            )
    return findings


__all__ = ["AvroFindings", "LoadedVersion", "compare_subjects", "field_renames", "load_versions", "weaker"]
