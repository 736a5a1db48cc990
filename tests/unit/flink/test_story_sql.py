"""Every story's SQL renders through the kernel runner with every variable substituted.

The runner is the kernel's, the templates are the stories'; a template
variable no story value or standard value fills must fail here, not in the JVM.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", data_dir=tmp_path / "data")


def test_streaming_sql_renders_completely(settings: Settings) -> None:
    from streaming.job import FlinkJob, JobOptions

    sql = FlinkJob(settings, JobOptions(bounded=True)).rendered_sql()
    text = sql.text()
    assert "${" not in text
    assert "'scan.bounded.mode' = 'latest-offset'," in text
    assert len(sql.inserts) == 3


def test_feature_sql_renders_completely(settings: Settings) -> None:
    from feature_cache.precompute.job import FeatureJob
    from feature_cache.precompute.settings import PrecomputeSettings

    sql = FeatureJob(settings, PrecomputeSettings()).rendered_sql()
    assert "${" not in sql.text()
    assert len(sql.inserts) == 2
