"""The documents Feast's subprocesses hand back, read through pydantic: a renamed key fails, never reads as 0.

Feast runs in its own venv (feast_compare.py), so JSON is the only contact
between its jobs and starlab: `feast_job.py` writes one result file per run
(offline joins, or the online read bench) and `feature_cache/bench/feast_online.py`
prints one line per block of timed reads. Those figures become story 4's
point-in-time and read-latency claims, so each is required here: a job that
wrote `row` instead of `rows` fails with the file and the field, instead of
recording a join of 0 rows in 0 s. The only optional figures are those of a
Feast run that failed and says why (`error`), which the comparison reports as
such.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.dataclasses import dataclass as pydantic_dataclass

from feature_cache.errors import FeatureCacheError
from starlab.validation import one_line

__all__ = [
    "BlockLine",
    "DatasetDoc",
    "FeastFacts",
    "LatencyDoc",
    "OfflineResult",
    "OnlineDoc",
    "OnlineResult",
    "ReadyLine",
    "RunDoc",
    "read_doc",
]


class _Doc(BaseModel):
    # Extra keys are allowed: the job may report more (a traceback, the user id) than is read here.
    model_config = ConfigDict(frozen=True, extra="ignore")


D = TypeVar("D", bound=_Doc)


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="ignore"))
class FeastFacts:
    """What the job read from the installed Feast, not from documentation.

    A (pydantic) dataclass rather than a model: it is also a field of the
    PIT report, which `dataclasses.asdict` writes out whole.
    """

    feast_version: str
    param_name: str
    param_in_signature: bool
    """`filter_by_created_timestamp` is a parameter of FeatureStore.get_historical_features."""
    param_default: str | None
    dask_store_supports_param: bool
    """The file (dask) offline store sets supports_filter_by_created_timestamp."""
    feature_store_file: str


class RunDoc(_Doc):
    """One `get_historical_features` run: its output, or the error Feast raised."""

    name: str
    rows: int | None = None
    seconds: float | None = None
    parquet: str | None = None
    error: str | None = None

    @model_validator(mode="after")
    def _output_or_error(self) -> Self:
        if self.error is None and (self.rows is None or self.seconds is None or self.parquet is None):
            raise ValueError("a run without an error must give rows, seconds and parquet")
        return self


class DatasetDoc(_Doc):
    name: str
    runs: list[RunDoc]


class OfflineResult(_Doc):
    """`feast_job.py` in offline mode: the facts and every dataset's runs."""

    facts: FeastFacts
    datasets: list[DatasetDoc]


class LatencyDoc(_Doc):
    calls: int
    p50_us: float
    p95_us: float
    p99_us: float
    cpu_us_per_call: float


class OnlineDoc(_Doc):
    features: int
    feast_missing: list[str]
    feast_get_online_features: LatencyDoc
    redis_hmget: LatencyDoc


class OnlineResult(_Doc):
    """`feast_job.py` in online mode: Feast's read against a plain HMGET on the same Redis."""

    facts: FeastFacts
    online: OnlineDoc


class ReadyLine(_Doc):
    """`feast_online.py`'s first line: Feast is set up, and which features it could not read."""

    ready: bool
    feast_version: str
    missing: list[str]


class BlockLine(_Doc):
    """One block of timed `get_online_features` calls: each call's nanoseconds and the block's CPU."""

    ns: list[int]
    cpu_s: float


def read_doc(model: type[D], text: str, source: str | Path) -> D:
    """`text` (JSON) as `model`, or one line naming `source` and the field that is wrong."""
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise FeatureCacheError(f"{source}: {one_line(exc)}") from None
