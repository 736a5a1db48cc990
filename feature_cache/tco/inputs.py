"""The TCO model's inputs: a YAML file of named assumptions, validated by pydantic.

Backs story 4's "built a TCO model ... engineering hours, infra, egress, and
support" and the issue's rule that every assumption is named: each number in
`inputs.yaml` is a `{value, why}` pair, so a reader of the decision sees the
reason next to the figure. A bad file (missing input, unknown key, negative
cost, weights not summing to 100, a string where a number belongs) raises
`TcoInputError`, a `FeatureCacheConfigError` whose message is one line:
`<file>: <field path>: <problem>`.
"""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from feature_cache.errors import FeatureCacheConfigError

__all__ = [
    "DEFAULT_INPUTS_PATH",
    "Assumption",
    "InputIssue",
    "OptionInputs",
    "OptionName",
    "Options",
    "ScoringInputs",
    "SharedInputs",
    "TcoInputError",
    "TcoInputs",
    "Weights",
    "load_inputs",
    "parse_inputs",
]

DEFAULT_INPUTS_PATH = Path(__file__).with_name("inputs.yaml")
"""The story's default assumptions, shipped next to the code that reads them."""

WEIGHTS_TOTAL_PCT = 100.0
"""Criteria weights are percentages of the decision and must add up to this."""

_WEIGHTS_TOL_PCT = 1e-6
"""Float slack for the sum (33.3 + 33.3 + 33.4 must pass)."""

_INPUT_REPR_CHARS = 40
"""How much of an offending value the one-line message quotes."""


class OptionName(StrEnum):
    """The two options of the build-vs-buy decision."""

    build = "build"
    buy = "buy"


# --- assumptions ------------------------------------------------------------
# Strict floats: YAML "12" (a string) is a mistake to report, not to coerce;
# an int is still a valid float. Booleans and NaN/inf are refused.


_Why = Annotated[str, Field(min_length=1, pattern=r"^[^\n]*\S[^\n]*$")]
"""One line that says where the number comes from (non-blank, no newline)."""


class Assumption(BaseModel):
    """A named number and the one-line reason for its value."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    value: float = Field(strict=True, allow_inf_nan=False)
    """The number, in the unit the field name states."""
    why: _Why
    """Its source or reasoning, one line."""


class NonNegative(Assumption):
    """A cost, an effort or a duration: never below zero."""

    value: float = Field(strict=True, allow_inf_nan=False, ge=0)


class Positive(Assumption):
    """A rate or a scale that is divided by: strictly above zero."""

    value: float = Field(strict=True, allow_inf_nan=False, gt=0)


class GrowthPct(Assumption):
    """A compound monthly growth rate in percent; above -100 (a quantity cannot vanish below zero)."""

    value: float = Field(strict=True, allow_inf_nan=False, gt=-100)


class UptimePct(Assumption):
    """An availability in percent of a month."""

    value: float = Field(strict=True, allow_inf_nan=False, gt=0, le=100)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class SharedInputs(_Section):
    """Prices both options pay alike."""

    labor_rate_usd_hour: Positive
    """Loaded cost of one engineering hour; prices the one-off effort and turns annual labor into hours."""


class OptionInputs(_Section):
    """One option's cost, delivery and reliability assumptions."""

    label: Annotated[str, Field(min_length=1)]
    """How tables and plots name the option."""
    compute_usd_month: NonNegative
    """Serving and materialization compute once live."""
    storage_usd_month: NonNegative
    """Online and offline feature storage once live."""
    egress_usd_month: NonNegative
    """Network egress in month 1 at the volume of that month (charged once live)."""
    egress_growth_pct_month: GrowthPct
    """Compound monthly growth of egress with data volume, from month 1."""
    licence_usd_month: NonNegative
    """Licence and support fees, billed from signature (month 1)."""
    labor_usd_year: NonNegative
    """Annual engineering cost of operating the option once live (on-call, upgrades, backfills)."""
    build_hours: NonNegative
    """One-off engineering hours to deliver (build or integrate), spread over the delivery period."""
    delivery_weeks: NonNegative
    """Weeks from decision to first value; nothing runs in production before."""
    slo_uptime_pct: UptimePct
    """Availability the option is expected (or contracted) to keep."""


class Options(_Section):
    """Both options, keyed by name; the model compares exactly these two."""

    build: OptionInputs
    buy: OptionInputs

    def get(self, name: OptionName) -> OptionInputs:
        """The inputs of option `name`."""
        return self.build if name is OptionName.build else self.buy


class Weights(_Section):
    """Criteria weights in percent, agreed with the stakeholders; they must add up to 100."""

    cost: NonNegative
    reliability: NonNegative
    time_to_value: NonNegative
    maintainability: NonNegative

    @model_validator(mode="after")
    def _sum_to_100(self) -> Weights:
        parts = {name: a.value for name, a in self.items()}
        total = sum(parts.values())
        if abs(total - WEIGHTS_TOTAL_PCT) > _WEIGHTS_TOL_PCT:
            terms = " + ".join(f"{k} {v:g}" for k, v in parts.items())
            raise ValueError(f"must sum to {WEIGHTS_TOTAL_PCT:g}, got {total:g} ({terms})")
        return self

    def items(self) -> Iterator[tuple[str, NonNegative]]:
        """(criterion, weight) in the declared order."""
        for name in type(self).model_fields:
            yield name, getattr(self, name)


class ScoringInputs(_Section):
    """Where the 0-100 scales of the non-cost criteria start and end."""

    uptime_floor_pct: UptimePct
    """Uptime that scores 0 on reliability."""
    uptime_ceiling_pct: UptimePct
    """Uptime that scores 100 on reliability."""
    maintenance_ceiling_hours_month: Positive
    """Maintenance hours per month that score 0 on maintainability."""

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> ScoringInputs:
        floor, ceiling = self.uptime_floor_pct.value, self.uptime_ceiling_pct.value
        if floor >= ceiling:
            raise ValueError(f"uptime_floor_pct ({floor:g}) must be below uptime_ceiling_pct ({ceiling:g})")
        return self


class TcoInputs(_Section):
    """The whole model: shared prices, the two options, the weights, the scoring scales."""

    shared: SharedInputs
    options: Options
    weights: Weights
    scoring: ScoringInputs


# --- errors -----------------------------------------------------------------


@dataclass(frozen=True)
class InputIssue:
    """One problem of an input file: where (dotted field path) and what."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class TcoInputError(FeatureCacheConfigError):
    """The TCO inputs file is unreadable or invalid; the message is one line naming each field."""

    def __init__(self, path: Path, issues: tuple[InputIssue, ...]) -> None:
        self.path = path
        self.issues = issues
        super().__init__(f"{path}: " + "; ".join(str(i) for i in issues))


def _short(value: object) -> str:
    text = repr(value).replace("\n", " ")
    if len(text) > _INPUT_REPR_CHARS:
        text = text[: _INPUT_REPR_CHARS - 3] + "..."
    return text


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class reached by following `loc` from `TcoInputs`, for key suggestions."""
    cls: type[BaseModel] = TcoInputs
    for part in loc:
        field = cls.model_fields.get(str(part))
        ann = field.annotation if field is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        cls = ann
    return cls


def _field_path(loc: tuple[int | str, ...]) -> str:
    # `options.buy.compute_usd_month` names the assumption; its `.value` is
    # implied, so the path a reader searches the YAML for stays short.
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[-1] == "value":
        parts.pop()
    return ".".join(parts) or "(top level)"


_BOUND_OPS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}


def _problem(err: ErrorDetails) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = tuple(err["loc"])
    if kind == "missing":
        return "missing input"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (expected one of: {', '.join(known)})"
        return "unknown key" + (hint if known else "")
    if kind in _BOUND_OPS:
        bound = next(iter(ctx.values()))
        name = _field_path(loc).rsplit(".", 1)[-1]
        # "negative cost" is the mistake people make; say so in their terms.
        what = "is a cost and must be" if "_usd_" in f"{name}_" and bound == 0 else "must be"
        return f"{what} {_BOUND_OPS[kind]} {bound:g}, got {_short(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"must be a number, got {_short(value)}"
    if kind == "finite_number":
        return f"must be a finite number, got {_short(value)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(loc)
        expected = "a mapping"
        if model is not None and issubclass(model, Assumption):
            expected = "a mapping {value: <number>, why: <one line>}"
        # An empty YAML block ("shared:" with nothing under it) parses as None.
        got = "nothing" if value is None else _short(value)
        return f"expected {expected}, got {got}"
    if kind in ("string_type", "string_too_short", "string_pattern_mismatch"):
        return f"must be one non-empty line of text, got {_short(value)}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {_short(value)}"


def _issues(exc: ValidationError) -> tuple[InputIssue, ...]:
    return tuple(InputIssue(_field_path(tuple(e["loc"])), _problem(e)) for e in exc.errors())


# --- loading ----------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML keeps the last one silently,
    which would let a second `compute_usd_month` line override the first unseen."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_inputs(data: object, path: Path) -> TcoInputs:
    """Validate already-parsed YAML; `path` only names the file in the error."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise TcoInputError(path, (InputIssue("(top level)", f"expected a mapping, got {got}"),))
    try:
        return TcoInputs.model_validate(data)
    except ValidationError as exc:
        raise TcoInputError(path, _issues(exc)) from None


def load_inputs(path: Path = DEFAULT_INPUTS_PATH) -> TcoInputs:
    """Read and validate a TCO inputs file; `TcoInputError` (one line) if it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TcoInputError(path, (InputIssue("(file)", f"cannot read: {exc.strerror or exc}"),)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        issue = InputIssue(where, f"invalid YAML: {' '.join(problem.split())}")
        raise TcoInputError(path, (issue,)) from None
    return parse_inputs(data, path)
