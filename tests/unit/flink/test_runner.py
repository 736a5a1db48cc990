"""The kernel's Flink runner without a process: options, standard values, config and rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.flink.errors import FlinkConfigError
from starlab.flink.runner import DeliveryGuarantee, FlinkJob, RunnerOptions, standard_values
from starlab.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", data_dir=tmp_path / "data", kafka_bootstrap="127.0.0.1:39092")


def test_standard_values_follow_the_options(settings: Settings) -> None:
    unbounded = standard_values(settings, "j", RunnerOptions())
    assert unbounded["bounded_option"] == ""
    assert unbounded["sink_guarantee"] == "'sink.delivery-guarantee' = 'exactly-once',"
    assert unbounded["bootstrap"] == "127.0.0.1:39092"
    assert unbounded["txn_prefix"] == "starlab-j"
    bounded = standard_values(
        settings, "j", RunnerOptions(bounded=True, delivery_guarantee=DeliveryGuarantee.AT_LEAST_ONCE)
    )
    assert bounded["bounded_option"] == "'scan.bounded.mode' = 'latest-offset',"
    assert bounded["sink_guarantee"] == "'sink.delivery-guarantee' = 'at-least-once',"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"checkpoint_interval_ms": 10}, "checkpoint_interval_ms"),
        ({"parallelism": 0}, "parallelism"),
        ({"state_ttl_ms": 5}, "state_ttl_ms"),
        ({"delivery_guarantee": "twice"}, "delivery_guarantee"),
    ],
)
def test_bad_options_name_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(FlinkConfigError, match=field):
        RunnerOptions(**kw)  # type: ignore[arg-type]


def test_story_values_override_standard_ones_and_reach_the_config(settings: Settings, tmp_path: Path) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "01.sql").write_text("CREATE TABLE t WITH ('p' = '${txn_prefix}', 'b' = '${bootstrap}');")
    job = FlinkJob(settings, "j", sql, {"txn_prefix": "mine"}, RunnerOptions(parallelism=1))
    cfg = job.config()
    assert cfg.values["txn_prefix"] == "mine"
    assert cfg.parallelism == 1
    assert cfg.checkpoint_dir == str(settings.home.resolve() / "flink" / "j" / "checkpoints")
    assert cfg.restore_from is None
    assert job.rendered_sql().ddl == ("CREATE TABLE t WITH ('p' = 'mine', 'b' = '127.0.0.1:39092')",)


def test_a_missing_template_value_is_a_config_error_before_any_process(
    settings: Settings, tmp_path: Path
) -> None:
    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "01.sql").write_text("SELECT ${nobody_set_this};")
    job = FlinkJob(settings, "j", sql, {})
    with pytest.raises(FlinkConfigError, match="nobody_set_this"):
        job.rendered_sql()
    with pytest.raises(FlinkConfigError, match="nobody_set_this"):
        job.start()  # fails before the venv, the jars or a process are touched
    assert not job.base.exists()


def test_restore_picks_the_newest_completed_checkpoint(settings: Settings, tmp_path: Path) -> None:
    import os

    sql = tmp_path / "sql"
    sql.mkdir()
    (sql / "01.sql").write_text("SELECT 1;")
    job = FlinkJob(settings, "j", sql, {})
    for n, mtime in (("chk-1", 100), ("chk-2", 200), ("chk-3", 300)):
        d = job.checkpoint_dir / "abc" / n
        d.mkdir(parents=True)
        if n != "chk-3":  # chk-3 never completed: no _metadata
            (d / "_metadata").write_text("")
            os.utime(d / "_metadata", (mtime, mtime))
    assert job.config(restore=True).restore_from == str(job.checkpoint_dir / "abc" / "chk-2")


def test_hadoop_and_jdbc_drivers_go_on_the_class_path_not_in_pipeline_jars(settings: Settings) -> None:
    jars = settings.jars_dir / "flink"
    jars.mkdir(parents=True)
    names = [
        "flink-sql-connector-kafka-5.0.0-2.2.jar",
        "iceberg-flink-runtime-2.1-1.11.0.jar",
        "hadoop-client-api-3.3.6.jar",
        "hadoop-client-runtime-3.3.6.jar",
        "commons-logging-1.1.3.jar",
        "sqlite-jdbc-3.50.3.0.jar",
        "postgresql-42.7.14.jar",
    ]
    for name in names:
        (jars / name).write_bytes(b"")
    job = FlinkJob(settings, "j", sql_dir=Path(__file__).parent, values={})
    on_classpath = {Path(p).name for p in job.jvm_classpath().split(":")}
    assert on_classpath == set(names[2:])
    assert {Path(p).name for p in job.config().jars} == set(names[:2])


def test_extra_jvm_options_reach_the_job_jvm_after_the_metrics_agent(settings: Settings) -> None:
    tuned = settings.model_copy(update={"flink_job_jvm_opts": " -XX:+UseParallelGC "})
    job = FlinkJob(tuned, "j", Path(), {})
    args = job.jvm_args().split(" ")
    assert args[-1] == "-XX:+UseParallelGC"
    assert (args[0].startswith("-javaagent:") and len(args) == 2) or args == ["-XX:+UseParallelGC"]
    assert "-XX" not in FlinkJob(settings, "j", Path(), {}).jvm_args()  # nothing extra by default
