"""SLOs as Prometheus rules: each story's SLO file, rendered by the kernel.

Backs the stories' alerting claims as rules Prometheus evaluates: story 3's
"SLO-based alerting (freshness, consumer lag) and a runbook", story 4's
"error budget alerts, auto-rollback if p95 > 250 ms or failure rate > 0.5%"
and "99.9% uptime, <1% monthly error budget", and story 2's "API p95 < 200 ms".
A story names its file in `Story.slo` (e.g. `streaming/slo.yaml`); `starlab
up` renders each one with `render()` into `<prometheus_dir>/rules/` and checks
it with promtool first. The kernel knows no story: metric names, thresholds
and runbooks all live in the story's file.

An SLO file (`SloFile`) has three lists:

- `recordings`: SLIs as plain recording rules, named `slo:<what>`. One that
  no alert reads must say `dashboard_only: true`.
- `thresholds`: `(<expr>) <op> <threshold>` held for `for_s`, kept firing for
  `keep_firing_for_s` after it clears (hysteresis, so a recovering job that
  dips under the line once does not resolve and re-fire).
- `burn_rates`: the SRE workbook's multiwindow, multi-burn-rate alerts
  (chapter 5, table 5-8): `slo:<name>_error:ratio_rate<w>` is recorded for
  1h, 5m, 6h and 30m, and `<Name>ErrorBudgetBurn` pages when the error ratio
  over both windows of a pair is above `factor * (1 - objective)`: 14.4x over
  1h and 5m (2% of a 30-day budget in an hour), 6x over 6h and 30m (5% in six
  hours). The long window keeps a short spike from paging; the short one
  makes the alert resolve soon after the burn stops.

Placeholders in expressions, replaced as text (PromQL's own braces, such as
`handler="/features/{user_id}"`, are left alone):

- `{window}` (only in a burn rate's `error_ratio`): the window, e.g. `[{window}]`.
- `{scope}`: the last matcher(s) of a selector, written `metric{{scope}}` or
  `metric{job="x",{scope}}`. The shipped rules render it as nothing
  (`metric`, `metric{job="x"}`). `render_scoped(slo, group="test-stall-ab12",
  scope={"run": "ab12"})` renders `metric{run="ab12"}` and
  `metric{job="x",run="ab12"}`, so the copy of the rules watches one run only.
  Put it on every raw metric selector whose labels can tell runs apart.

Time: `time_scale` divides every duration of the rendered rules: range
selectors (`[5m]`), subqueries, `offset`, `for` and `keep_firing_for`. A demo
uses 60, which turns the burn-rate pairs 1h/5m and 6h/30m into 1m/5s and
6m/30s. Thresholds are never scaled, and a range never drops below
`min_range_s` (5 s: `rate()` needs two samples, and the demo scrapes every
second).

Overrides (`render(..., overrides=...)`, `render_scoped(..., overrides=...)`):
per alert name, a new `threshold`, `for_s`, `keep_firing_for_s` (final
seconds, not divided by `time_scale`: a test states the margins it waits
for) and extra `annotations`, e.g. the `action_url` starlab's alert receiver
POSTs the alert's `action_body` to when it fires.

Ordering: Prometheus evaluates the groups of a file concurrently, and a
recording read from another group may lag one evaluation (the promtool test
of issue 11 was flaky, 2 in 30, until the order was fixed). So each story is
one group, and its rules come in dependency order: the recordings, the
burn-rate recordings, then the alerts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from starlab.errors import ConfigError, StackError
from starlab.validation import one_line

__all__ = [
    "BURN_PAIRS",
    "MIN_RANGE_S",
    "AlertOverride",
    "BurnPair",
    "BurnRateSlo",
    "Recording",
    "SloFile",
    "ThresholdAlert",
    "check_with_promtool",
    "group_name",
    "load_slo_file",
    "render",
    "render_scoped",
]

MIN_RANGE_S = 5
"""Shortest range a scaled window may get: `rate()` needs two samples in it, and the
demo scrapes every second (issue 11's measurements used 5 s too)."""

WINDOW = "{window}"
SCOPE = "{scope}"

Severity = Literal["page", "ticket"]
Unit = Literal["seconds", "ratio", "count"]
"""How an alert's description prints its value and threshold (duration, percent, number)."""

_RECORD = r"^slo:[a-zA-Z_][a-zA-Z0-9_:]*$"
_CAMEL = r"^[A-Z][A-Za-z0-9]*$"
_SNAKE = r"^[a-z][a-z0-9_]*$"
_STORY = r"^[a-z][a-z0-9_-]*$"
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_RUNBOOK = r"^[A-Za-z0-9_-][A-Za-z0-9_./-]*\.md$"
_RESERVED_LABELS = frozenset(
    {"alertname", "severity", "slo", "story", "rule_group", "long_window", "short_window"}
)
_RESERVED_ANNOTATIONS = frozenset({"summary", "description", "runbook_url"})
_NAME_CHARS = "A-Za-z0-9_:"
# PromQL durations: 90s, 5m, 1h30m, 250ms
_DUR = r"(?:\d+(?:ms|[smhdwy]))+"
_DUR_PART = re.compile(r"(\d+)(ms|[smhdwy])")
_DUR_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_RANGE = re.compile(rf"\[(?P<range>{_DUR})(?P<sub>:(?P<step>{_DUR})?)?\]")
_OFFSET = re.compile(rf"\boffset\s+(?P<off>{_DUR})")
_SCOPE_LAST = re.compile(r",\s*\{scope\}\s*\}")
_SCOPE_ONLY = re.compile(r"\{\{scope\}\s*\}")


# --- the SLO file ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_scope_placement(expr: str) -> str:
    placed = len(_SCOPE_LAST.findall(expr)) + len(_SCOPE_ONLY.findall(expr))
    if expr.count(SCOPE) != placed:
        raise ValueError(
            '{scope} must be the last matcher of a selector: metric{{scope}} or metric{a="b",{scope}}'
        )
    return expr


def _check_labels(labels: dict[str, str]) -> dict[str, str]:
    for key in labels:
        if not _LABEL.match(key):
            raise ValueError(f"label name {key!r} is not a Prometheus label name")
        if key in _RESERVED_LABELS:
            raise ValueError(f"label {key!r} is set by the renderer")
    return labels


def _check_annotations(annotations: dict[str, str]) -> dict[str, str]:
    for key in annotations:
        if not _LABEL.match(key):
            raise ValueError(f"annotation name {key!r} is not a Prometheus label name")
        if key in _RESERVED_ANNOTATIONS:
            raise ValueError(f"annotation {key!r} is set by the renderer")
    return annotations


Expr = Annotated[str, Field(min_length=1)]


def _check_runbook(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("a runbook path stays inside the repository (no '..')")
    return path


Runbook = Annotated[str, Field(pattern=_RUNBOOK), AfterValidator(_check_runbook)]
"""Repo-relative path of a runbook, e.g. docs/runbooks/freshness-slo-breach.md."""


class Recording(_Model):
    """An SLI as a plain recording rule."""

    record: Annotated[str, Field(pattern=_RECORD)]
    """The series' name: `slo:<what>[:<operation>]`."""
    expr: Expr
    dashboard_only: bool = False
    """No alert reads it; it is there for a dashboard or a runbook's "check" step."""

    @field_validator("expr")
    @classmethod
    def _scope(cls, v: str) -> str:
        return _check_scope_placement(v)


class ThresholdAlert(_Model):
    """`(<expr>) <op> <threshold>` for `for_s`, kept firing `keep_firing_for_s` after it clears."""

    name: Annotated[str, Field(pattern=_CAMEL)]
    slo: Annotated[str, Field(pattern=_SNAKE)]
    """Which objective it guards (the `slo` label): freshness, consumer_lag, ..."""
    expr: Expr
    op: Literal[">", "<"]
    threshold: float
    unit: Unit = "count"
    for_s: Annotated[float, Field(ge=0)]
    keep_firing_for_s: Annotated[float, Field(ge=0)]
    severity: Severity
    summary: Annotated[str, Field(min_length=1)]
    runbook: Runbook
    labels: dict[str, str] = Field(default_factory=dict)
    """Extra labels for Alertmanager's routing."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Extra annotations, e.g. the receiver's `action_body` (summary, description and
    runbook_url are rendered)."""

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_annotations(v)

    @field_validator("expr")
    @classmethod
    def _scope(cls, v: str) -> str:
        return _check_scope_placement(v)

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_labels(v)


class BurnRateSlo(_Model):
    """An objective alerted on by its error-budget burn rate (multiwindow, multi-burn-rate)."""

    name: Annotated[str, Field(pattern=_SNAKE)]
    """snake_case. The alert is its CamelCase + `ErrorBudgetBurn`; the SLI is
    `slo:<name>_error:ratio_rate<w>`."""
    objective: Annotated[float, Field(gt=0, lt=1)]
    """Fraction of good events (or of good time), e.g. 0.999."""
    error_ratio: Expr
    """PromQL giving the fraction of bad events over `[{window}]`."""
    severity: Severity = "page"
    for_s: Annotated[float, Field(ge=0)] = 0
    """0, as the SRE workbook has it: the short window already filters blips, a `for` only delays."""
    keep_firing_for_s: Annotated[float, Field(ge=0)] | None = None
    """None: each pair keeps firing for its short window (5m, 30m)."""
    summary: Annotated[str, Field(min_length=1)]
    runbook: Runbook
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_annotations(v)

    @field_validator("error_ratio")
    @classmethod
    def _window_and_scope(cls, v: str) -> str:
        if WINDOW not in v:
            raise ValueError("must contain {window}, e.g. rate(x[{window}])")
        return _check_scope_placement(v)

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_labels(v)

    @property
    def alert(self) -> str:
        return "".join(p.capitalize() for p in self.name.split("_")) + "ErrorBudgetBurn"


class SloFile(_Model):
    """One story's SLOs: what `Story.slo` points at."""

    story: Annotated[str, Field(pattern=_STORY)]
    """The story's name (`Story.name`); it names the rule group and the `story` label."""
    recordings: tuple[Recording, ...] = ()
    thresholds: tuple[ThresholdAlert, ...] = ()
    burn_rates: tuple[BurnRateSlo, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> SloFile:
        for kind, names in (
            ("recording", [r.record for r in self.recordings]),
            ("alert", [t.name for t in self.thresholds] + [b.alert for b in self.burn_rates]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} name(s): {', '.join(dupes)}")
        records = [r.record for r in self.recordings]
        for i, r in enumerate(self.recordings):
            later = _references(r.expr, records[i:])
            if later:
                raise ValueError(
                    f"recording {r.record} reads {', '.join(sorted(later))}, not recorded before it"
                )
        return self

    def alert_names(self) -> list[str]:
        return [t.name for t in self.thresholds] + [b.alert for b in self.burn_rates]


class AlertOverride(_Model):
    """A caller's replacement values for one alert (a test's compressed margins).

    Given in the rendered file's own seconds: `time_scale` does not divide them.
    """

    threshold: float | None = None
    """Threshold alerts only."""
    for_s: Annotated[float, Field(ge=0)] | None = None
    keep_firing_for_s: Annotated[float, Field(ge=0)] | None = None
    annotations: dict[str, str] | None = None
    """Added to the alert's own, e.g. `action_url`: where the receiver POSTs when it fires
    (the URL of the app a test started)."""

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else _check_annotations(v)


def load_slo_file(path: Path | str) -> SloFile:
    """Read and validate one SLO file; any problem is a one-line ConfigError naming the path."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the SLO file: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with story, recordings, thresholds, burn_rates")
    try:
        return SloFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from None


# --- durations ---------------------------------------------------------------------------


def _seconds(duration: str) -> float:
    return sum(int(n) * _DUR_SECONDS[u] for n, u in _DUR_PART.findall(duration))


def _duration(seconds: int) -> str:
    """Whole seconds as a Prometheus duration: 3600 -> 1h, 300 -> 5m, 90 -> 90s, 0 -> 0s."""
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _scaled(seconds: float, time_scale: float, floor: int = 1) -> int:
    """`seconds / time_scale` in whole seconds, at least `floor`; 0 stays 0 (`for: 0s`)."""
    if seconds <= 0:
        return 0
    return max(floor, round(seconds / time_scale))


def _scale_expr(expr: str, time_scale: float, min_range_s: int) -> str:
    if time_scale == 1 and min_range_s <= 1:
        return expr

    def rng(m: re.Match[str]) -> str:
        out = _duration(_scaled(_seconds(m["range"]), time_scale, min_range_s))
        if m["sub"] is None:
            return f"[{out}]"
        step = "" if m["step"] is None else _duration(_scaled(_seconds(m["step"]), time_scale))
        return f"[{out}:{step}]"

    expr = _RANGE.sub(rng, expr)
    return _OFFSET.sub(lambda m: f"offset {_duration(_scaled(_seconds(m['off']), time_scale))}", expr)


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BurnPair:
    """One row of the SRE workbook's table 5-8."""

    long_s: int
    short_s: int
    factor: float
    """Burn rate that fires the pair: 14.4x spends 2% of a 30-day budget in 1 h."""


BURN_PAIRS = (BurnPair(3600, 300, 14.4), BurnPair(21600, 1800, 6.0))
"""The two paging pairs: 1h/5m at 14.4x and 6h/30m at 6x."""


def group_name(slo: SloFile) -> str:
    """The shipped rule group of a story: `starlab-slo-<story>`."""
    return f"starlab-slo-{slo.story}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _references(expr: str, names: Iterable[str]) -> set[str]:
    return {n for n in names if re.search(rf"(?<![{_NAME_CHARS}]){re.escape(n)}(?![{_NAME_CHARS}])", expr)}


def _rename(expr: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        expr = re.sub(rf"(?<![{_NAME_CHARS}]){re.escape(old)}(?![{_NAME_CHARS}])", new, expr)
    return expr


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _apply_scope(expr: str, scope: Mapping[str, str]) -> str:
    if not scope:
        return _SCOPE_ONLY.sub("", _SCOPE_LAST.sub("}", expr))
    matchers = ",".join(f'{k}="{_escape(v)}"' for k, v in scope.items())
    return expr.replace(SCOPE, matchers)


def _value(unit: Unit) -> str:
    fn = {"seconds": "humanizeDuration", "ratio": "humanizePercentage", "count": "humanize"}[unit]
    return "{{ $value | " + fn + " }}"


def _show(x: float, unit: Unit) -> str:
    if unit == "ratio":
        return f"{x * 100:g}%"
    if unit == "seconds":
        if 0 < x < 1:
            return f"{x * 1000:g}ms"
        return _duration(int(x)) if float(x).is_integer() else f"{x:g}s"
    return _num(x)


@dataclass(frozen=True)
class _Rule:
    """One rule before scoping and renaming; `expr` still holds `{scope}`."""

    expr: str
    record: str | None = None
    alert: str | None = None
    for_: str = "0s"
    keep: str = "0s"
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()


def _burn_record(b: BurnRateSlo, window_s: int, time_scale: float, min_range_s: int) -> str:
    return f"slo:{b.name}_error:ratio_rate{_duration(_scaled(window_s, time_scale, min_range_s))}"


def _record_names(slo: SloFile) -> list[str]:
    windows = sorted({w for p in BURN_PAIRS for w in (p.short_s, p.long_s)})
    return [r.record for r in slo.recordings] + [
        _burn_record(b, w, 1, 1) for b in slo.burn_rates for w in windows
    ]


def _annotation_pairs(
    summary: str, description: str, runbook: str, extra: Mapping[str, str], override: Mapping[str, str] | None
) -> tuple[tuple[str, str], ...]:
    more = {**extra, **(override or {})}
    return (
        ("summary", summary),
        ("description", description),
        ("runbook_url", runbook),
        *sorted(more.items()),
    )


def _final_s(file_s: float, override_s: float | None, time_scale: float) -> int:
    """A `for`/`keep_firing_for` in rendered seconds: the file's value scaled, an override as given."""
    return _scaled(file_s, time_scale) if override_s is None else _scaled(override_s, 1)


def _plan(
    slo: SloFile, *, group: str, overrides: Mapping[str, AlertOverride], time_scale: float, min_range_s: int
) -> tuple[list[_Rule], list[_Rule]]:
    """Recordings and alerts of one story in evaluation order, durations scaled, `{scope}` still in."""

    def scaled(expr: str) -> str:
        return _scale_expr(expr, time_scale, min_range_s)

    recs = [_Rule(expr=scaled(r.expr), record=r.record) for r in slo.recordings]
    alerts: list[_Rule] = []
    base = (("story", slo.story), ("rule_group", group))
    for t in slo.thresholds:
        o = overrides.get(t.name, AlertOverride())
        threshold = t.threshold if o.threshold is None else o.threshold
        for_ = _duration(_final_s(t.for_s, o.for_s, time_scale))
        keep = _duration(_final_s(t.keep_firing_for_s, o.keep_firing_for_s, time_scale))
        simple = re.fullmatch(rf"[{_NAME_CHARS}]+(\{{[^}}]*\}})?", t.expr.replace(SCOPE, ""))
        lhs = t.expr if simple else f"({t.expr})"
        word = "above" if t.op == ">" else "below"
        description = (
            f"Now {_value(t.unit)}; fires when {word} {_show(threshold, t.unit)} for {for_} "
            f"and keeps firing {keep} after it clears."
        )
        alerts.append(
            _Rule(
                expr=scaled(f"{lhs} {t.op} {_num(threshold)}"),
                alert=t.name,
                for_=for_,
                keep=keep,
                labels=(("severity", t.severity), ("slo", t.slo), *base, *sorted(t.labels.items())),
                annotations=_annotation_pairs(
                    t.summary, description, t.runbook, t.annotations, o.annotations
                ),
            )
        )
    windows = sorted({w for p in BURN_PAIRS for w in (p.short_s, p.long_s)})
    for b in slo.burn_rates:
        o = overrides.get(b.alert, AlertOverride())
        for w in windows:
            expr = scaled(b.error_ratio.replace(WINDOW, _duration(w)))
            recs.append(_Rule(expr=expr, record=_burn_record(b, w, time_scale, min_range_s)))
        budget = round(1 - b.objective, 12)
        for p in BURN_PAIRS:
            long_w = _duration(_scaled(p.long_s, time_scale, min_range_s))
            short_w = _duration(_scaled(p.short_s, time_scale, min_range_s))
            bound = f"({_num(p.factor)} * {_num(budget)})"
            expr = (
                f"{_burn_record(b, p.long_s, time_scale, min_range_s)} > {bound} and "
                f"{_burn_record(b, p.short_s, time_scale, min_range_s)} > {bound}"
            )
            keep_file = b.keep_firing_for_s if b.keep_firing_for_s is not None else float(p.short_s)
            description = (
                f"Error ratio {_value('ratio')} over {long_w}, and over {short_w} too: above "
                f"{_num(p.factor)}x the error budget of {_show(budget, 'ratio')} "
                f"(objective {_show(b.objective, 'ratio')})."
            )
            alerts.append(
                _Rule(
                    expr=expr,
                    alert=b.alert,
                    for_=_duration(_final_s(b.for_s, o.for_s, time_scale)),
                    keep=_duration(_final_s(keep_file, o.keep_firing_for_s, time_scale)),
                    labels=(
                        ("severity", b.severity),
                        ("slo", b.name),
                        *base,
                        ("long_window", long_w),
                        ("short_window", short_w),
                        *sorted(b.labels.items()),
                    ),
                    annotations=_annotation_pairs(
                        b.summary, description, b.runbook, b.annotations, o.annotations
                    ),
                )
            )
    return recs, alerts


def _overrides(
    files: Sequence[SloFile], overrides: Mapping[str, AlertOverride | Mapping[str, float]] | None
) -> dict[str, AlertOverride]:
    out: dict[str, AlertOverride] = {}
    thresholds = {t.name for f in files for t in f.thresholds}
    burns = {b.alert for f in files for b in f.burn_rates}
    for name, value in (overrides or {}).items():
        try:
            o = value if isinstance(value, AlertOverride) else AlertOverride.model_validate(dict(value))
        except ValidationError as exc:
            raise ConfigError(f"override of {name}: {one_line(exc)}") from None
        if name not in thresholds | burns:
            known = ", ".join(sorted(thresholds | burns)) or "none"
            raise ConfigError(f"override of {name}: no such alert (known: {known})")
        if name in burns and o.threshold is not None:
            raise ConfigError(
                f"override of {name}: a burn-rate alert has no threshold (its objective sets it)"
            )
        out[name] = o
    return out


def _check_scale(time_scale: float, min_range_s: int) -> None:
    if not time_scale > 0:
        raise ConfigError(f"time_scale must be > 0, got {time_scale}")
    if min_range_s < 1:
        raise ConfigError(f"min_range_s must be >= 1, got {min_range_s}")


def _dependencies(exprs: Iterable[str], by_name: Mapping[str, _Rule]) -> set[str]:
    """The recordings `exprs` read, directly or through other recordings."""
    seen: set[str] = set()
    todo = list(exprs)
    while todo:
        for name in _references(todo.pop(), by_name) - seen:
            seen.add(name)
            todo.append(by_name[name].expr)
    return seen


def _rule_dict(r: _Rule, renames: Mapping[str, str], scope: Mapping[str, str]) -> dict[str, Any]:
    expr = _apply_scope(_rename(r.expr, renames), scope)
    if r.record is not None:
        return {"record": renames.get(r.record, r.record), "expr": expr}
    return {
        "alert": r.alert,
        "expr": expr,
        "for": r.for_,
        "keep_firing_for": r.keep,
        "labels": dict(r.labels),
        "annotations": dict(r.annotations),
    }


def _dump(groups: list[dict[str, Any]], time_scale: float, source: str) -> str:
    header = (
        f"# Rendered by starlab/observability/slo.py from {source}; edits are overwritten.\n"
        f"# time_scale {_num(time_scale)}: every window, `for` and `keep_firing_for` is divided by it.\n"
    )
    return header + yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000, allow_unicode=True)


def render(
    files: Sequence[SloFile],
    time_scale: float = 1.0,
    overrides: Mapping[str, AlertOverride | Mapping[str, float]] | None = None,
    *,
    min_range_s: int = MIN_RANGE_S,
) -> str:
    """The shipped Prometheus rule file of `files`: one group per story, `{scope}` left empty.

    `overrides` maps an alert name to replacement values (`AlertOverride` or a
    dict of its fields); an unknown name is a ConfigError, so a typo cannot
    leave the intended rule untouched.
    """
    _check_scale(time_scale, min_range_s)
    stories = [f.story for f in files]
    for kind, names in (
        ("story", stories),
        ("recording", [n for f in files for n in _record_names(f)]),
        ("alert", [a for f in files for a in f.alert_names()]),
    ):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"{kind} name(s) declared by more than one SLO file: {', '.join(dupes)}")
    ov = _overrides(files, overrides)
    groups = []
    for f in files:
        group = group_name(f)
        recs, alerts = _plan(f, group=group, overrides=ov, time_scale=time_scale, min_range_s=min_range_s)
        groups.append({"name": group, "rules": [_rule_dict(r, {}, {}) for r in [*recs, *alerts]]})
    return _dump(groups, time_scale, "the SLO files of " + ", ".join(stories))


def render_scoped(
    slo: SloFile,
    *,
    group: str,
    scope: Mapping[str, str] | None = None,
    alerts: Collection[str] | None = None,
    overrides: Mapping[str, AlertOverride | Mapping[str, float]] | None = None,
    time_scale: float = 1.0,
    min_range_s: int = MIN_RANGE_S,
) -> str:
    """A self-contained copy of one story's alerts that watches one run, for a test.

    - `group`: the copy's rule group (must differ from the shipped one). Its
      alerts carry `rule_group=<group>`, so Alertmanager never merges them
      with the shipped alerts of the same name.
    - `scope`: label -> value, rendered into every `{scope}` as exact
      matchers. An alert whose expression and recordings hold no `{scope}`
      cannot be scoped: a ConfigError, not a copy that silently watches
      every run.
    - `alerts`: the alert names to copy (default: all of the file's). The
      recordings they read come along, renamed `slo_<group>:...` so they never
      collide with the shipped series, in the same group and before the
      alerts that read them.
    - `overrides`, `time_scale`, `min_range_s`: as in `render()`.

    Example: the stall test's freshness alert on its own run, with a 10 s
    objective::

        render_scoped(load_slo_file(ROOT / "streaming/slo.yaml"), group="test-stall-ab12",
                      scope={"run": "ab12"}, alerts=["FreshnessSLOBreach"],
                      overrides={"FreshnessSLOBreach": {"threshold": 10, "for_s": 5, "keep_firing_for_s": 5}})
    """
    _check_scale(time_scale, min_range_s)
    scope = dict(scope or {})
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", group):
        raise ConfigError(f"group {group!r}: use lower-case letters, digits, '-' and '_'")
    if group == group_name(slo):
        raise ConfigError(f"group {group!r} is the shipped group of story {slo.story}: pick another name")
    for key in scope:
        if not _LABEL.match(key):
            raise ConfigError(f"scope label {key!r} is not a Prometheus label name")
    known = slo.alert_names()
    wanted = list(dict.fromkeys(known if alerts is None else alerts))
    unknown = [a for a in wanted if a not in known]
    if unknown:
        raise ConfigError(f"{slo.story}: no alert named {', '.join(unknown)} (known: {', '.join(known)})")
    ov = _overrides([slo], overrides)
    stray = sorted(set(ov) - set(wanted))
    if stray:
        raise ConfigError(
            f"override of {', '.join(stray)}: not among the alerts rendered ({', '.join(wanted)})"
        )
    recs, all_alerts = _plan(slo, group=group, overrides=ov, time_scale=time_scale, min_range_s=min_range_s)
    chosen = [a for a in all_alerts if a.alert in wanted]
    by_name = {r.record: r for r in recs if r.record is not None}
    if scope:
        for a in chosen:
            sources = [a.expr, *(by_name[n].expr for n in _dependencies([a.expr], by_name))]
            if not any(SCOPE in s for s in sources):
                raise ConfigError(f"{a.alert}: neither its expression nor its recordings hold {{scope}}")
    needed = _dependencies((a.expr for a in chosen), by_name)
    prefix = "slo_" + group.replace("-", "_")
    renames = {n: prefix + n[len("slo") :] for n in needed}
    kept = [r for r in recs if r.record in needed]
    rules = [_rule_dict(r, renames, scope) for r in [*kept, *chosen]]
    matchers = ", ".join(f"{k}={v}" for k, v in scope.items()) or "nothing"
    return _dump(
        [{"name": group, "rules": rules}], time_scale, f"the SLO file of {slo.story}, scoped to {matchers}"
    )


# --- promtool ----------------------------------------------------------------------------


def check_with_promtool(text: str) -> None:
    """`promtool check rules` on rendered rules; a rejection is a ConfigError with promtool's words."""
    promtool = shutil.which("promtool")
    if promtool is None:
        raise StackError(
            "`promtool` is not on PATH: install Debian's prometheus package (apt-get install prometheus)"
        )
    with tempfile.TemporaryDirectory(prefix="starlab-slo-") as tmp:
        path = Path(tmp) / "rules.yml"
        path.write_text(text)
        proc = subprocess.run(
            [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
        )
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        detail = " | ".join(ln.replace(str(path), "<rules>") for ln in lines if not ln.startswith("Checking"))
        raise ConfigError(f"promtool check rules rejected the rendered SLO rules: {detail}")
