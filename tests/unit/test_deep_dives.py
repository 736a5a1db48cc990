"""docs/deep-dives.md answers every follow-up of the story files, and what it names exists.

The story files list "likely deep follow-ups" for stories 1-4, four
practice prompts for all of them, and parts (a)-(f) of the fan-out story
(004). `FOLLOW_UPS` lists each, paraphrased, under an id; the doc carries the
id visibly at the start of its entry's bold heading (`**[S3-F1] ...**`), so a
follow-up without an entry fails here.

Every entry (tagged or not) must name at least one function in a file, as
`` `path.py` (`function`) `` or a pytest node id `` `path.py::test_name` ``,
and at least one command, `` `starlab ...` `` or `` `make ...` ``. Then:

- every backticked repository path exists (`reports/` and `.starlab/` are
  written by runs, not kept in git, and are skipped);
- every name in `` `path.py` (`a`, `B.c`) `` (a function, class,
  `Class.member` or module constant) exists in its Python file (read with
  `ast`, never imported); for a SQL or YAML file, the name (a view, a macro,
  an alert, a key) appears in it as a word;
- every `starlab ...` command resolves in the Typer tree with the story
  groups added (`starlab.cli.app`, as tests/unit/test_cli.py uses it): each
  subcommand exists, each `--option` belongs to the command it is given to,
  and a value of a choice parameter is one of its choices. Commands are
  resolved, never invoked. Leading `VAR=value` assignments are stripped;
- every `make` target is in the Makefile.

`test_the_checker_rejects` feeds made-up references through the same
checks, so a checker that accepts everything fails.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, get_args

import pytest
import typer

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "deep-dives.md"

FOLLOW_UPS: tuple[tuple[str, str], ...] = (
    # Story 1: data contracts and schema changes.
    ("S1-F1", "how CI enforced the contracts: one rule and its failure path"),
    ("S1-F2", "an incompatible change under an urgent deadline"),
    ("S1-F3", "developer friction against reliability, quantified"),
    # Story 2: the daily ranking table on a pulled-forward deadline.
    ("S2-F1", "the quality checks, their thresholds and SQL"),
    ("S2-F2", "what was cut, and what deferring it cost"),
    ("S2-F3", "the unmitigated risk and how it was watched"),
    # Story 3: batch to streaming.
    ("S3-F1", "exactly-once: idempotent sinks, checkpoints"),
    ("S3-F2", "out-of-order events: correctness against latency"),
    ("S3-F3", "backfill, and finding and repairing batch/stream drift"),
    # Story 4: build or buy a feature store.
    ("S4-F1", "sensitivity of the TCO model"),
    ("S4-F2", "point-in-time correctness and leakage"),
    ("S4-F3", "vendor missing its SLOs: mitigation and rollback"),
    # Practice prompts, for every story.
    ("P-1", "the alert or dashboard that showed the problem"),
    ("P-2", "what two more weeks would have bought"),
    ("P-3", "winning over a skeptical stakeholder with data"),
    ("P-4", "the automation that stops a recurrence"),
    # Story 004: influencing a fan-out design without authority, parts (a)-(f).
    ("FO-A", "stakes, timeline and measurable risks"),
    ("FO-B", "building alignment: people, data, experiments, the decision doc"),
    ("FO-C", "the trade-offs and their quantified impact"),
    ("FO-D", "handling the challenge in the live design review"),
    ("FO-E", "the decision and its measured outcome"),
    ("FO-F", "when the chosen design regresses under unexpected load"),
)

GENERATED = ("reports/", ".starlab/")
"""Paths a run writes (gitignored): named in the doc, not expected in a checkout."""

_EXTENSIONS = r"(?:py|sql|yaml|yml|md|json|toml)"
_PATH = re.compile(rf"^\.?[\w*-][\w.*/-]*\.{_EXTENSIONS}(?:::[\w.:]+)?$")
_DIR = re.compile(r"^\.?[\w-]+(?:/[\w.-]+)*/$")
_FENCE = re.compile(r"^```.*?^```[ \t]*$", re.S | re.M)
_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`)(?P<code>(?:(?!\n[ \t]*\n).)+?)(?<!`)(?P=ticks)(?!`)", re.S)
"""A code span as CommonMark pairs them: a run of n backticks up to the next run of exactly n,
inside one paragraph (so `` `file` `` is one span, and its inner backticks pair nothing)."""
_NAME = r"`[A-Za-z_][\w.]*`"
_FUNCTION_REF = re.compile(rf"`(?P<path>[^`\s]+\.{_EXTENSIONS})`\s*\((?P<names>{_NAME}(?:,\s*{_NAME})*)\)")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
_ID = re.compile(r"^\*\*\[(?P<id>[A-Z0-9]+-[A-Z0-9]+)\]")


@dataclass(frozen=True)
class Entry:
    id: str | None
    title: str
    text: str


def parse_entries(doc: str) -> list[Entry]:
    """An entry starts at a line opening with `**` and runs to the next entry, heading or rule."""
    entries: list[Entry] = []
    lines: list[str] = []

    def close() -> None:
        if lines:
            text = "\n".join(lines)
            m = _ID.match(text)
            title = text[2 : text.find("**", 2)] if "**" in text[2:] else text
            entries.append(Entry(m["id"] if m else None, " ".join(title.split()), text))
            lines.clear()

    in_fence = False
    for line in doc.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and (line.startswith("#") or line.strip() == "---"):
            close()
            continue
        if not in_fence and line.startswith("**"):
            close()
            lines.append(line)
        elif lines:
            lines.append(line)
    close()
    return entries


def _unfenced(text: str) -> str:
    return _FENCE.sub("", text)


def code_spans(text: str) -> list[str]:
    return [" ".join(m["code"].split()) for m in _SPAN.finditer(_unfenced(text))]


def command_of(span: str) -> list[str] | None:
    """The argv of a `starlab`/`make` command span (leading VAR=value stripped), else None."""
    try:
        tokens = shlex.split(span)
    except ValueError:
        return None
    while tokens and _ENV.match(tokens[0]):
        tokens = tokens[1:]
    if len(tokens) >= 2 and tokens[0] in ("starlab", "make"):
        return tokens
    return None


def function_refs(text: str) -> list[tuple[str, str]]:
    """(path, name) of each `path` (`name`, ...) and each `path::node` reference."""
    body = _unfenced(text)
    refs = [
        (m["path"], name.strip("`"))
        for m in _FUNCTION_REF.finditer(body)
        for name in re.findall(_NAME, m["names"])
    ]
    for span in code_spans(body):
        if _PATH.match(span) and "::" in span:
            path, _, node = span.partition("::")
            refs.append((path, node.replace("::", ".")))
    return refs


def paths(text: str) -> list[str]:
    found = []
    for span in code_spans(text):
        if command_of(span) is None and (_PATH.match(span) or _DIR.match(span)):
            found.append(span.partition("::")[0])
    return found


# -- what exists --------------------------------------------------------------


def path_problem(path: str) -> str | None:
    if path.startswith(GENERATED):
        return None
    if "*" in path:
        return None if any(REPO.glob(path)) else f"{path}: no file matches"
    target = REPO / path
    if path.endswith("/"):
        return None if target.is_dir() else f"{path}: no such directory"
    return None if target.is_file() else f"{path}: no such file"


def _members(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names[t.id] = node
    return names


@cache
def _tree(path: str) -> ast.Module:
    return ast.parse((REPO / path).read_text(), filename=path)


def function_problem(path: str, name: str) -> str | None:
    """None when `name` (a def, class, constant or Class.member) exists in `path`."""
    where = f"{path} ({name})"
    if (problem := path_problem(path)) is not None:
        return problem
    if path.startswith(GENERATED):
        return f"{where}: a generated file cannot be checked; name the code that writes it"
    if not path.endswith(".py"):
        text = (REPO / path).read_text()
        return None if re.search(rf"\b{re.escape(name)}\b", text) else f"{where}: not in the file"
    tree = _tree(path)
    head, *rest = name.split(".")
    node: ast.stmt | None = _members(tree.body).get(head)
    if node is None and not rest:
        # A nested def: an Airflow task inside its DAG function, a closure.
        nested = (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
        node = next((n for n in nested if n.name == head), None)
    for part in rest:
        node = _members(node.body).get(part) if isinstance(node, ast.ClassDef) else None
    return None if node is not None else f"{where}: no such function, class or name"


@cache
def _cli() -> Any:
    from starlab.cli import app  # importing it adds every registered story's group

    return typer.main.get_command(app)


@cache
def _make_targets() -> frozenset[str]:
    text = (REPO / "Makefile").read_text()
    return frozenset(m[1] for m in re.finditer(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, re.M))


def _options(cmd: Any) -> dict[str, Any]:
    return {
        opt: p for p in cmd.params if p.param_type_name == "option" for opt in (*p.opts, *p.secondary_opts)
    }


def _choices(param: Any) -> list[str] | None:
    """The allowed values of a choice parameter (an Enum annotation in Typer), else None."""
    choices = getattr(getattr(param, "type", None), "choices", None)
    if choices is not None:
        return [str(c) for c in choices]
    stack = [getattr(getattr(param, "type_descriptor", None), "annotation", None)]
    while stack:
        t = stack.pop()
        if isinstance(t, type) and issubclass(t, Enum):
            return [str(m.value) for m in t]
        stack.extend(get_args(t))
    return None


def _choice_problem(where: str, param: Any, value: str) -> str | None:
    choices = _choices(param)
    if choices is None or value in choices:
        return None
    return f"{where}: {value!r} is not one of {choices}"


def command_problem(tokens: list[str]) -> str | None:
    """None when the command resolves: every subcommand, option and choice exists."""
    shown = " ".join(tokens)
    if tokens[0] == "make":
        missing = [
            t for t in tokens[1:] if not t.startswith("-") and "=" not in t and t not in _make_targets()
        ]
        return f"`{shown}`: no make target {missing}" if missing else None
    node = _cli()
    used_args = 0
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--help":
            return None
        if token.startswith("-"):
            name, eq, value = token.partition("=")
            param = _options(node).get(name)
            if param is None:
                return f"`{shown}`: {node.name} has no option {name}"
            if not param.is_flag and not eq:
                i += 1
                if i == len(tokens):
                    return f"`{shown}`: {name} needs a value"
                value = tokens[i]
            if not param.is_flag and (problem := _choice_problem(f"`{shown}`", param, value)):
                return problem
        elif getattr(node, "commands", None) is not None:
            sub = node.commands.get(token)
            if sub is None:
                return f"`{shown}`: {node.name} has no command {token!r} (it has {sorted(node.commands)})"
            node = sub
        else:
            arguments = [p for p in node.params if p.param_type_name == "argument"]
            if not arguments:
                return f"`{shown}`: {node.name} takes no argument, got {token!r}"
            param = arguments[min(used_args, len(arguments) - 1)]
            if param.nargs != -1 and used_args >= sum(p.nargs for p in arguments):
                return f"`{shown}`: {node.name} takes no further argument, got {token!r}"
            if problem := _choice_problem(f"`{shown}`", param, token):
                return problem
            used_args += 1
        i += 1
    if getattr(node, "commands", None) is not None:
        return f"`{shown}`: {node.name} is a group; name one of {sorted(node.commands)}"
    return None


def problems(text: str) -> list[str]:
    """Every reference of `text` that does not resolve."""
    found = [p for path in paths(text) if (p := path_problem(path))]
    found += [p for path, name in function_refs(text) if (p := function_problem(path, name))]
    found += [p for span in code_spans(text) if (argv := command_of(span)) and (p := command_problem(argv))]
    return found


def entry_problems(entry: Entry) -> list[str]:
    """What an entry lacks: a function in a file, a command."""
    lacks = []
    if not function_refs(entry.text):
        lacks.append(f"{entry.title!r}: names no function in a file (`path.py` (`function`))")
    if not any(command_of(s) for s in code_spans(entry.text)):
        lacks.append(f"{entry.title!r}: gives no `starlab ...` or `make ...` command")
    return lacks


# -- the doc ------------------------------------------------------------------


@cache
def _entries() -> tuple[Entry, ...]:
    return tuple(parse_entries(DOC.read_text()))


def test_follow_up_ids_are_unique() -> None:
    ids = [i for i, _ in FOLLOW_UPS]
    assert len(ids) == len(set(ids))


def test_every_follow_up_has_one_entry() -> None:
    tagged = [e.id for e in _entries() if e.id is not None]
    listed = [i for i, _ in FOLLOW_UPS]
    missing = [f"{i} ({what})" for i, what in FOLLOW_UPS if i not in tagged]
    assert not missing, f"no entry in docs/deep-dives.md for: {missing}"
    assert sorted(tagged) == sorted(set(tagged)), "an id tags two entries"
    assert set(tagged) <= set(listed), (
        f"ids in the doc that FOLLOW_UPS does not list: {set(tagged) - set(listed)}"
    )


def test_every_entry_names_code_and_a_command() -> None:
    lacks = [p for e in _entries() for p in entry_problems(e)]
    assert not lacks, "\n".join(lacks)


def test_every_reference_in_the_doc_resolves() -> None:
    found = problems(DOC.read_text())
    assert not found, "\n".join(found)


def test_the_doc_has_commands_functions_and_paths_to_check() -> None:
    doc = DOC.read_text()
    assert len([s for s in code_spans(doc) if command_of(s)]) >= len(FOLLOW_UPS)
    assert len(function_refs(doc)) >= len(FOLLOW_UPS)
    assert len(paths(doc)) >= len(FOLLOW_UPS)


# -- the checker can fail -----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "`starlab stream nosuch`",
        "`starlab stream run --nosuch 3`",
        "`STARLAB_TOPOLOGY=cluster starlab lake status --snapshot`",
        "`starlab features loadtest --design C`",
        "`starlab features`",
        "`starlab lake evolve a b`",
        "`make nosuch`",
        "`streaming/no_such_module.py`",
        "`streaming/reconcile.py` (`no_such_function`)",
        "`streaming/job.py` (`FlinkJob.no_such_method`)",
        "`streaming/sql/01_source.sql` (`no_such_view`)",
        "`streaming/reconcile.py::test_nothing`",
        "`feature_cache/no_such_dir/`",
        "`` `a` (`b`) `` and then `starlab stream nosuch`",
    ],
)
def test_the_checker_rejects(text: str) -> None:
    assert problems(text), f"{text} was accepted"


def test_the_checker_accepts() -> None:
    text = (
        "`STARLAB_TOPOLOGY=cluster starlab stream run --events 10 --fault kill-job@0.3 --no-record`, "
        "`starlab --topology cluster up`, `starlab contracts compat v1.avsc v2.avsc --mode BACKWARD`, "
        "`starlab demo features`, `make test-unit`, `streaming/job.py` (`FlinkJob.stop`), "
        "`streaming/telemetry.py` (`StreamTelemetry.latencies_ms`), "
        "`dags/rankings_daily.py` (`gx_checkpoint`), "
        "`streaming/sql/01_source.sql` (`deduped`), `reports/latest/evidence.md`, `feature_cache/tco/`"
    )
    assert problems(text) == []


def test_an_entry_without_a_command_or_code_is_reported() -> None:
    (entry,) = parse_entries("**[S1-F1] A question.** An answer naming `streaming/job.py` only.\n")
    assert entry.id == "S1-F1"
    assert len(entry_problems(entry)) == 2
