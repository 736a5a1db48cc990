"""The in-venv entry script: strict SQL rendering, Flink settings, and no import outside the stdlib."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from starlab.flink import job_main
from starlab.flink.job_main import JobConfig, TemplateError, flink_settings, render_sql


def _write(d: Path, name: str, text: str) -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text)


def test_render_substitutes_strips_comments_and_splits_in_file_order(tmp_path: Path) -> None:
    _write(tmp_path, "10_insert.sql", "-- the insert\nINSERT INTO t SELECT * FROM ${src};\n")
    _write(
        tmp_path,
        "01_table.sql",
        "CREATE TABLE t (a INT) WITH ('topic' = '${topic}');\n-- done\nCREATE VIEW v AS SELECT 1;",
    )
    sql = render_sql(tmp_path, {"src": "events", "topic": "x.y"})
    assert sql.ddl == ("CREATE TABLE t (a INT) WITH ('topic' = 'x.y')", "CREATE VIEW v AS SELECT 1")
    assert sql.inserts == ("INSERT INTO t SELECT * FROM events",)
    assert sql.text().endswith("INSERT INTO t SELECT * FROM events;")


def test_a_missing_value_names_the_file_and_the_variable(tmp_path: Path) -> None:
    _write(tmp_path, "01_a.sql", "SELECT ${present}, ${absent};")
    with pytest.raises(TemplateError, match=r"01_a.sql: no value for \$\{absent\}"):
        render_sql(tmp_path, {"present": "1"})


def test_a_stray_dollar_is_an_error_not_literal_text(tmp_path: Path) -> None:
    _write(tmp_path, "01_a.sql", "SELECT '$';")
    with pytest.raises(TemplateError, match=r"01_a\.sql"):
        render_sql(tmp_path, {})


def test_an_empty_sql_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"no \*\.sql files"):
        render_sql(tmp_path, {})


def _cfg(**kw: object) -> JobConfig:
    base: dict[str, object] = {
        "name": "j",
        "pipeline_name": "starlab-j",
        "sql_dir": "/sql",
        "values": {"a": "b"},
        "jars": ["/jars/k.jar", "/jars/a.jar"],
        "checkpoint_dir": "/ck",
        "savepoint_dir": "file:///sp",
    }
    base.update(kw)
    return JobConfig(**base)  # type: ignore[arg-type]


def test_config_round_trips_through_json() -> None:
    cfg = _cfg(restore_from="/ck/x/chk-3", flink_conf={"k": "v"}, bounded=True)
    assert JobConfig.from_json(cfg.to_json()) == cfg


def test_flink_settings_defaults_then_story_overrides_then_restore() -> None:
    s = flink_settings(_cfg(flink_conf={"parallelism.default": "7", "x.y": "z"}, restore_from="/ck/chk-3"))
    assert s["pipeline.name"] == "starlab-j"
    assert s["pipeline.jars"] == "file:///jars/k.jar;file:///jars/a.jar"
    assert s["execution.checkpointing.interval"] == "5000 ms"
    assert s["execution.checkpointing.dir"] == "file:///ck"
    assert s["state.backend.type"] == "rocksdb"
    assert s["table.exec.state.ttl"] == "3600000 ms"
    assert s["parallelism.default"] == "7"  # flink_conf is applied last
    assert s["x.y"] == "z"
    assert s["execution.state-recovery.path"] == "/ck/chk-3"
    assert "execution.target" not in s


def test_flink_settings_target_a_remote_cluster() -> None:
    s = flink_settings(_cfg(flink_rest_url="http://jobmanager:8081"))
    assert (s["execution.target"], s["rest.address"], s["rest.port"]) == ("remote", "jobmanager", "8081")
    # a submission made while a restarted JobManager starts is retried every 0.5 s, for 60 s
    assert (s["rest.retry.delay"], s["rest.retry.max-attempts"]) == ("500 ms", "120")
    assert "rest.retry.delay" not in flink_settings(_cfg())  # the mini-cluster needs no retries


def test_the_entry_script_imports_only_the_standard_library() -> None:
    # It runs under the Flink venv's python: a starlab or third-party import
    # at module level would fail there (PyFlink is imported inside main()).
    tree = ast.parse(Path(job_main.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module}
    assert names - {"__future__"} <= set(sys.stdlib_module_names), names
