"""One story claim next to its measurement, and the rule that says if it holds.

Backs the promise of DESIGN.md that "every number a story claims ... is
something starlab measures on its own run and puts next to the claim": a
`Claim` carries the story's figure ("<5-minute freshness", "65-90 minutes",
"99.9% delivery success"), the comparator that turns the figure into a test,
the measured value, how it was measured and the command that reproduces it.
`passed` is derived, never stored by hand, so a report cannot say "pass" for a
number that does not meet the claim; a claim without a measurement is "not
measured", never a pass.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, StrEnum
from numbers import Real
from pathlib import PurePath
from typing import Any

from starlab.errors import StarlabError

__all__ = [
    "Claim",
    "ClaimedValue",
    "Comparator",
    "EvidenceError",
    "Measured",
    "Status",
    "format_value",
    "jsonable",
]

STORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""Story ids name files (`claims/<story>.json`): no slashes, no leading dot."""

EQ_REL_TOL = 1e-9
"""`==` compares floats with this relative tolerance: a measured 0.1 + 0.2
must equal a claimed 0.3, while any real difference still fails."""


class EvidenceError(StarlabError):
    """A claim or report file is malformed; the message says which and why."""


class Comparator(StrEnum):
    """How a measured value is tested against the claimed one."""

    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    RANGE = "range"
    """Inclusive `lo <= measured <= hi`, for claims like "65-90 minutes"."""


class Status(StrEnum):
    """The outcome printed in the report."""

    PASS = "pass"
    FAIL = "fail"
    NOT_MEASURED = "not measured"


ClaimedValue = float | str | tuple[float, float]
"""A number, a (lo, hi) pair for `range`, or a string for `==` on a label."""
Measured = float | str | None
"""A number, a string (only against a string claim), or None = not measured."""


def _is_number(value: object) -> bool:
    # numbers.Real covers int, float and numpy scalars; bool is excluded
    # because True as a latency is a bug, not 1 ms.
    return isinstance(value, Real) and not isinstance(value, bool)


def _normalize_claimed(comparator: Comparator, claimed: object) -> ClaimedValue:
    if comparator is Comparator.RANGE:
        if (
            isinstance(claimed, str)
            or not isinstance(claimed, Sequence)
            or len(claimed) != 2
            or not all(_is_number(x) for x in claimed)
        ):
            raise EvidenceError(f"a 'range' claim needs a (lo, hi) pair of numbers, got {claimed!r}")
        lo, hi = float(claimed[0]), float(claimed[1])
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise EvidenceError(f"range ({lo}, {hi}) must be finite with lo <= hi")
        return (lo, hi)
    if isinstance(claimed, str):
        if comparator is not Comparator.EQ:
            raise EvidenceError(
                f"a string claim ({claimed!r}) only works with '==', not {comparator.value!r}"
            )
        return claimed
    if not _is_number(claimed):
        raise EvidenceError(f"claimed must be a number, got {claimed!r}")
    value = float(claimed)  # type: ignore[arg-type]  # _is_number checked it is Real
    if not math.isfinite(value):
        raise EvidenceError(f"claimed must be finite, got {claimed!r}")
    return value


def _normalize_measured(comparator: Comparator, claimed: ClaimedValue, measured: object) -> Measured:
    if measured is None:
        return None
    if isinstance(measured, bool):
        # Boolean checks ("exactly-once held") are recorded as 1.0 / 0.0 so
        # they compare with a claimed 1 and stay numbers in JSON.
        return 1.0 if measured else 0.0
    if isinstance(measured, str):
        if not isinstance(claimed, str):
            raise EvidenceError(f"measured {measured!r} is a string but the claim {claimed!r} is numeric")
        return measured
    if not _is_number(measured):
        raise EvidenceError(f"measured must be a number, a string or None, got {measured!r}")
    value = float(measured)  # type: ignore[arg-type]  # _is_number checked it is Real
    # NaN/inf is what a failed measurement looks like (0/0, an empty window):
    # it is no measurement, and JSON cannot carry it anyway.
    return value if math.isfinite(value) else None


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A story claim, the value this run measured and whether it holds.

    Units: `claimed` and `measured` are in `unit` (convert before building
    the claim: minutes for "65-90 minutes", fractions or "%" as written).
    """

    story: str
    """Story id, also the file name of its claims: "1-contracts", "3-streaming"."""
    claim: str
    """Short paraphrase with the story's figure: "freshness < 5 minutes (p95)"."""
    metric: str
    """What is measured, e.g. "freshness_p95" (a formula in `starlab.metrics`)."""
    unit: str
    """Unit of claimed and measured: "min", "ms", "%", "ratio", "USD/month"."""
    claimed: ClaimedValue
    """The story's figure: a number, (lo, hi) for `range`, or a label for `==`."""
    comparator: str
    """One of "<", "<=", ">", ">=", "==", "range"; stored as a `Comparator`."""
    measured: Measured = None
    """This run's value; None (also NaN/inf) means not measured, never a pass."""
    method: str
    """How it was measured, in a sentence: data, window, formula."""
    command: str
    """The command that reproduces the measurement, e.g. `starlab stream slo`."""
    details: dict[str, Any] = field(default_factory=dict)
    """Anything that helps read the number: counts, a LatencySummary dict, notes."""

    def __post_init__(self) -> None:
        # Frozen dataclass: normalise through object.__setattr__, once, so
        # `passed` can trust the types.
        if not isinstance(self.story, str) or not STORY_ID.fullmatch(self.story):
            raise EvidenceError(f"story id {self.story!r} must match {STORY_ID.pattern} (it names a file)")
        try:
            comparator = Comparator(self.comparator)
        except ValueError:
            choices = ", ".join(repr(c.value) for c in Comparator)
            raise EvidenceError(
                f"comparator {self.comparator!r} of claim {self.claim!r} is not one of {choices}"
            ) from None
        claimed = _normalize_claimed(comparator, self.claimed)
        measured = _normalize_measured(comparator, claimed, self.measured)
        if not isinstance(self.details, Mapping):
            raise EvidenceError(f"details must be a dict, got {type(self.details).__name__}")
        object.__setattr__(self, "comparator", comparator)
        object.__setattr__(self, "claimed", claimed)
        object.__setattr__(self, "measured", measured)
        object.__setattr__(self, "details", dict(self.details))

    # --- outcome -------------------------------------------------------------

    @property
    def passed(self) -> bool | None:
        """True/False from the comparator; None when not measured."""
        m, c = self.measured, self.claimed
        if m is None:
            return None
        if isinstance(m, str) or isinstance(c, str):
            return m == c
        if isinstance(c, tuple):
            return c[0] <= m <= c[1]
        match self.comparator:
            case Comparator.LT:
                return m < c
            case Comparator.LE:
                return m <= c
            case Comparator.GT:
                return m > c
            case Comparator.GE:
                return m >= c
            case _:  # EQ; RANGE was handled by the tuple branch
                return math.isclose(m, c, rel_tol=EQ_REL_TOL, abs_tol=1e-12)

    @property
    def status(self) -> Status:
        """pass / fail / not measured."""
        p = self.passed
        if p is None:
            return Status.NOT_MEASURED
        return Status.PASS if p else Status.FAIL

    def with_measured(self, measured: Measured, **details: Any) -> Claim:
        """A copy with the measurement filled in and `details` merged."""
        return dataclasses.replace(self, measured=measured, details={**self.details, **details})

    # --- text ----------------------------------------------------------------

    def claimed_text(self) -> str:
        """The claim as a condition: "< 5 min", "65\u201390 min" (en dash), "== exactly-once"."""
        c = self.claimed
        if isinstance(c, tuple):
            body = f"{format_value(c[0])}\u2013{format_value(c[1])}"  # en dash, as in the stories
        else:
            body = f"{self.comparator} {format_value(c)}"
        return f"{body} {self.unit}".strip()

    def measured_text(self) -> str:
        """The measured value with its unit, or "—" when not measured.

        A float is shown as short as its verdict allows: as many decimals as the
        claimed figure has (at most 4) and at least 3 significant digits, then
        more (up to 6) while the shown value would be judged differently from
        the exact one or would sit on the claimed bound. So 1.8333 days reads
        "1.83" and -96.4399 % "-96.4", while 10.0412 % against "<= 10" reads
        "10.04" (not a passing-looking "10") and 99.965 % against ">= 99.95"
        reads "99.97" (not "100"). The JSON keeps the exact value.
        """
        m = self.measured
        if m is None:
            return "—"
        text = self._short(m) if isinstance(m, float) else format_value(m)
        return f"{text} {self.unit}".strip()

    def _short(self, m: float) -> str:
        if not math.isfinite(m) or m == 0 or (m.is_integer() and abs(m) < 1e15):
            return format_value(m)
        claimed = self.claimed if isinstance(self.claimed, tuple) else (self.claimed,)
        decimals = max((_decimals(c) for c in claimed if not isinstance(c, str)), default=0)
        magnitude = math.floor(math.log10(abs(m))) + 1  # digits before the point (<= 0 below 1)
        digits = min(6, max(3, magnitude + min(decimals, 4)))
        verdict = self.passed
        while digits < 6:
            shown = float(f"{m:.{digits}g}")
            # the shown figure must get the exact one's verdict and must not sit on the claimed bound
            if self.with_measured(shown).passed == verdict and shown not in claimed:
                break
            digits += 1
        return f"{m:.{digits}g}"

    # --- JSON ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field plus the derived `passed` and `status`."""
        c = self.claimed
        return {
            "story": self.story,
            "claim": self.claim,
            "metric": self.metric,
            "unit": self.unit,
            "claimed": list(c) if isinstance(c, tuple) else c,
            "comparator": str(self.comparator),
            "measured": self.measured,
            "passed": self.passed,
            "status": str(self.status),
            "method": self.method,
            "command": self.command,
            "details": jsonable(self.details, "details"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Claim:
        """Rebuild a claim from `to_dict` output; `passed`/`status` are recomputed.

        Keys this class does not know (`passed`, `recorded_at`, ...) are ignored.
        `measured` is required even though null is a valid value: a stored claim
        whose key was renamed or dropped must fail here, not read as "not measured".
        """
        required = (
            "story",
            "claim",
            "metric",
            "unit",
            "claimed",
            "comparator",
            "measured",
            "method",
            "command",
        )
        missing = [k for k in required if k not in data]
        if missing:
            raise EvidenceError(f"claim {data.get('claim', data)!r} lacks {', '.join(missing)}")
        claimed = data["claimed"]
        if isinstance(claimed, list):
            claimed = tuple(claimed)
        return cls(
            story=data["story"],
            claim=data["claim"],
            metric=data["metric"],
            unit=data["unit"],
            claimed=claimed,
            comparator=data["comparator"],
            measured=data["measured"],
            method=data["method"],
            command=data["command"],
            details=dict(data.get("details") or {}),
        )


def format_value(value: float | str) -> str:
    """A number as people write it: 320, 0.0003, 99.965, 0.98015 (6 significant digits)."""
    if isinstance(value, str):
        return value
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _decimals(value: float) -> int:
    """Decimals of a figure as `format_value` writes it: 99.95 -> 2, 0.005 -> 3, 300 -> 0."""
    text = format_value(value)
    return len(text.partition(".")[2]) if "e" not in text else 0


def jsonable(value: Any, where: str = "value") -> Any:
    """`value` as plain JSON types, or `EvidenceError` naming the offending path.

    Converts what measurements commonly hold: tuples/sets to lists, paths and
    dates to strings, enums to their value, dataclasses to dicts, numpy
    scalars through `.item()`. Non-finite floats become the strings "nan" /
    "inf" / "-inf": valid JSON that still shows what happened.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Enum):
        return jsonable(value.value, where)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value), where)
    item = getattr(value, "item", None)
    if callable(item):  # numpy scalar
        return jsonable(item(), where)
    raise EvidenceError(f"{where} of type {type(value).__name__} cannot be written as JSON")
