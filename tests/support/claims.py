"""Which claims the story packages' code can record, read from the source with `ast`.

Shared by the tests that hold the code to the stories
(tests/unit/evidence/test_story_claims.py: every numbered claim of the story
files has a `Claim(...)`) and to the STAR scripts
(tests/unit/evidence/test_star.py: every Result figure names a claim its story
can record). Reading the source rather than running a demo checks every claim
a package can make, whether or not this machine can run its measurement.

Every `Claim(...)` call is read: its `story=` resolved through simple name
bindings (`STORY = "..."`, `story = BENCH_STORY`, `from x import STORY`) and
its `metric=` required to be a literal. A call the reader cannot resolve is
returned as `Unresolved` with the reason, never skipped, so a metric built at
run time fails the tests instead of escaping them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "rankings", "streaming", "feature_cache")
"""The story packages; each declares its evidence id in `<package>/__init__.py`."""


@dataclass(frozen=True)
class Emitted:
    """One `Claim(...)` call found in a story package."""

    story: str
    metric: str
    where: str
    """`path:line`, relative to the repository."""
    unit: str = ""
    """`unit=` when it is a string literal (the STAR tests use it), else empty."""


@dataclass(frozen=True)
class Unresolved:
    where: str
    why: str


def _is_claim_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id == "Claim") or (
        isinstance(f, ast.Attribute) and f.attr == "Claim"
    )


def _module_path(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


class _Names:
    """Names bound to one string in a module (any scope): literals, aliases, `from x import NAME`.

    A name bound to two strings, or to anything but a string or another name,
    resolves to None. Imports are followed lazily, only for the names asked.
    """

    def __init__(self, tree: ast.Module, root: Path, depth: int = 0) -> None:
        self.root, self.depth = root, depth
        self.literal: dict[str, set[str]] = {}
        self.alias: dict[str, set[str]] = {}
        self.imported: dict[str, tuple[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.imported[a.asname or a.name] = (node.module, a.name)
                continue
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                target, value = node.targets[0].id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
                target, value = node.target.id, node.value
            else:
                continue
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                self.literal.setdefault(target, set()).add(value.value)
            elif isinstance(value, ast.Name):
                self.alias.setdefault(target, set()).add(value.id)
            else:
                self.literal.setdefault(target, set()).add("\0")  # bound to something else

    def _values(self, name: str, hops: int = 0) -> set[str]:
        out = set(self.literal.get(name, ()))
        for other in self.alias.get(name, ()):
            out |= (self._values(other, hops + 1) if hops < 5 else set()) or {"\0"}
        if name in self.imported and name not in self.literal and name not in self.alias:
            module, original = self.imported[name]
            path = _module_path(module, self.root)
            if path is not None and self.depth < 3:
                tree = ast.parse(path.read_text(encoding="utf-8"))
                value = _Names(tree, self.root, self.depth + 1).get(original)
                out.add("\0" if value is None else value)
        return out

    def get(self, name: str) -> str | None:
        values = self._values(name)
        return next(iter(values)) if len(values) == 1 and "\0" not in values else None


def collect_claims(source: str, where: str, root: Path = ROOT) -> tuple[list[Emitted], list[Unresolved]]:
    """Every `Claim(...)` call of one module: its story and literal metric, or why they cannot be read."""
    tree = ast.parse(source)
    names = _Names(tree, root)
    found: list[Emitted] = []
    unresolved: list[Unresolved] = []
    for node in ast.walk(tree):
        if not _is_claim_call(node):
            continue
        assert isinstance(node, ast.Call)
        at = f"{where}:{node.lineno}"
        kw = {k.arg: k.value for k in node.keywords}
        if None in kw or node.args:
            unresolved.append(Unresolved(at, "positional or ** arguments: write story= and metric= out"))
            continue
        metric, story = kw.get("metric"), kw.get("story")
        if not (isinstance(metric, ast.Constant) and isinstance(metric.value, str)):
            unresolved.append(Unresolved(at, "metric= is not a string literal"))
            continue
        value: str | None = None
        if isinstance(story, ast.Constant) and isinstance(story.value, str):
            value = story.value
        elif isinstance(story, ast.Name):
            value = names.get(story.id)
        if value is None:
            unresolved.append(Unresolved(at, "story= is not a literal or a name bound to one string"))
            continue
        unit = kw.get("unit")
        unit_text = unit.value if isinstance(unit, ast.Constant) and isinstance(unit.value, str) else ""
        found.append(Emitted(value, metric.value, at, unit_text))
    return found, unresolved


def package_evidence_id(package: str, root: Path = ROOT) -> str:
    """`evidence_id="..."` of the `Story(...)` declared in `<package>/__init__.py`."""
    tree = ast.parse((root / package / "__init__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Story":
            for k in node.keywords:
                if k.arg == "evidence_id" and isinstance(k.value, ast.Constant):
                    return str(k.value.value)
    raise AssertionError(f"{package}/__init__.py declares no Story(evidence_id=...)")


def scan(packages: Iterable[str] = PACKAGES, root: Path = ROOT) -> tuple[list[Emitted], list[Unresolved]]:
    found: list[Emitted] = []
    unresolved: list[Unresolved] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            if "Claim(" not in source:
                continue
            f, u = collect_claims(source, str(path.relative_to(root)), root)
            found += f
            unresolved += u
    return found, unresolved
