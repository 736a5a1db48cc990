"""Fixtures of the offline-store unit tests: an in-memory DuckDB history and a helper to write versions.

No process is started: DuckDB runs in-process, Feast and Redis are not
involved (their side is the integration test's). Test modules define their
own instants: with --import-mode=importlib a test cannot import conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest

from feature_cache.offline.history import FeatureVersion, HistoryStore
from feature_cache.offline.schema import DEFAULT_SCHEMA

AddVersion = Callable[..., None]


@pytest.fixture
def store() -> Iterator[HistoryStore]:
    with HistoryStore.open(":memory:", DEFAULT_SCHEMA) as s:
        yield s


@pytest.fixture
def add(store: HistoryStore) -> AddVersion:
    """add(user, group, event_ts, created_ts, **values): one version, appended at once (seq = write order)."""

    def _add(user: str, group: str, event: datetime, created: datetime, **values: object) -> None:
        store.append([FeatureVersion(user, group, event, created, values)])  # type: ignore[arg-type]

    return _add
