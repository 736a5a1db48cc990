"""The change request a contract change must carry in its pull-request body.

Backs story 1's "created a change request template: owner, rationale,
rollout plan, impact, mitigation, and timeline": a pull request that changes
a contract (any subject or contracted model, safe or breaking) fails the
gate unless its body has every section of
.github/PULL_REQUEST_TEMPLATE/contract-change.md filled in: present,
non-empty once HTML comments are removed, and not the template's own
placeholder text. The weekly review reads the same sections.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.gate.model import ContractChange, Rule, Violation

TEMPLATE_PATH = Path(".github/PULL_REQUEST_TEMPLATE/contract-change.md")
SECTIONS = ("Owner", "Rationale", "Rollout plan", "Impact", "Mitigation", "Timeline")
# Words that stand for "not written yet" in any template.
GENERIC_PLACEHOLDERS = frozenset({"tbd", "todo", "tba", "n/a", "na", "-", "...", "none yet", "?"})

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def _normalize(text: str) -> str:
    text = _COMMENT.sub("", text)
    return " ".join(text.split()).strip().lower()


def sections(markdown: str) -> dict[str, str]:
    """Body text under each known section heading (any level, case-insensitive)."""
    wanted = {s.lower(): s for s in SECTIONS}
    found: dict[str, list[str]] = {}
    current: str | None = None
    in_fence = False
    for line in _COMMENT.sub("", markdown).splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line.strip())
        if heading:
            title = heading.group(2).strip().rstrip(":").lower()
            current = wanted.get(title)
            if current is not None:
                found.setdefault(current, [])
            continue
        if current is not None:
            found[current].append(line)
    return {name: "\n".join(lines).strip() for name, lines in found.items()}


@dataclass(frozen=True)
class ChangeRequestCheck:
    present: bool
    """At least one section of the template is in the body."""
    missing: tuple[str, ...]
    empty: tuple[str, ...]
    placeholder: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.present and not (self.missing or self.empty or self.placeholder)


def check_change_request(body: str, template: str | None = None) -> ChangeRequestCheck:
    """Judge a pull-request body; `template` supplies the placeholder text of each section."""
    found = sections(body)
    placeholders: Mapping[str, str] = (
        {k: _normalize(v) for k, v in sections(template).items()} if template else {}
    )
    missing = tuple(s for s in SECTIONS if s not in found)
    empty = tuple(s for s in SECTIONS if s in found and not _normalize(found[s]))
    placeholder = tuple(
        s
        for s in SECTIONS
        if s in found
        and _normalize(found[s])
        and (
            _normalize(found[s]) == placeholders.get(s)
            or _normalize(found[s]).strip("_*. ") in GENERIC_PLACEHOLDERS
        )
    )
    return ChangeRequestCheck(bool(found), missing, empty, placeholder)


def change_request_violations(
    result: ChangeRequestCheck, changes: Sequence[ContractChange]
) -> list[Violation]:
    """A violation when contract changes come without a filled change request; none otherwise."""
    if not changes or result.ok:
        return []
    what = ", ".join(f"{c.kind.value} {c.name}" for c in changes)
    if not result.present:
        return [
            Violation(
                Rule.CHANGE_REQUEST_MISSING,
                "change request",
                "pull-request body",
                f"contract change(s) ({what}) without a change request",
                f"paste {TEMPLATE_PATH} into the pull-request body and fill every section "
                f"({', '.join(SECTIONS)})",
            )
        ]
    problems = [
        *(f"{s}: missing" for s in result.missing),
        *(f"{s}: empty" for s in result.empty),
        *(f"{s}: still the template's placeholder" for s in result.placeholder),
    ]
    return [
        Violation(
            Rule.CHANGE_REQUEST_INCOMPLETE,
            "change request",
            "pull-request body",
            f"change request for {what} is incomplete: {'; '.join(problems)}",
            "fill "
            + ", ".join(dict.fromkeys([*result.missing, *result.empty, *result.placeholder]))
            + " in the pull-request body",
        )
    ]


__all__ = [
    "SECTIONS",
    "TEMPLATE_PATH",
    "ChangeRequestCheck",
    "change_request_violations",
    "check_change_request",
    "sections",
]
