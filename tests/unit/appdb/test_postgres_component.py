"""The `postgres` stack component: addresses, server flags, access rules, missing binary.

Backs story 1's "the app team's database, started by `starlab up` like Redis"
without starting anything: what the component would run is checked here,
the running server in tests/integration/cdc.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from starlab.errors import StackError
from starlab.settings import Settings
from starlab.stack import manager, prereqs
from starlab.stack.components import POSTGRES_HBA, Postgres


def _flags(argv: list[str]) -> dict[str, str]:
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-c")


def test_defaults_keep_clear_of_a_system_postgres() -> None:
    s = Settings()
    assert (s.postgres.host, s.postgres.port) == ("127.0.0.1", 5433)
    assert (s.postgres.user, s.postgres.database) == ("app", "app")


def test_address_and_flags_follow_the_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 1000)
    s = Settings(home=tmp_path, postgres_url="postgresql://team:s%40cret@127.0.0.1:15433/shop")
    pg = Postgres(s)
    assert (pg.host, pg.port) == ("127.0.0.1", 15433)
    assert (s.postgres.user, s.postgres.password, s.postgres.database) == ("team", "s@cret", "shop")
    argv = pg.argv()
    flags = _flags(argv)
    assert flags["wal_level"] == "logical"  # what Debezium's pgoutput needs
    assert (flags["port"], flags["listen_addresses"]) == ("15433", "127.0.0.1")
    assert flags["unix_socket_directories"] == ""
    assert argv[argv.index("-D") + 1] == str((tmp_path / "postgres" / "data").resolve())
    assert not argv[0].endswith("setpriv")  # not root: runs as the caller


def test_as_root_the_server_runs_as_the_postgres_user(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pwd

    # The machine's users and binaries are not the subject: a `postgres` user and
    # setpriv exist here whatever this machine has.
    monkeypatch.setattr(pwd, "getpwnam", lambda name: pwd.struct_passwd((name, "x", 999, 999, "", "/", "")))
    monkeypatch.setattr(prereqs, "require_binary", lambda name, hint: f"/usr/bin/{name}")
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 0)
    argv = Postgres(Settings(home=tmp_path)).argv()
    assert argv[0].endswith("setpriv") and "--reuid=postgres" in argv


def test_only_the_app_and_lake_roles_may_log_in_and_only_app_replicates() -> None:
    hba = POSTGRES_HBA.format(
        database='"shop"', user='"team"', lake_database='"iceberg"', lake_user='"platform"'
    )
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules == [
        ["host", '"shop"', '"team"', "samehost", "scram-sha-256"],
        ["host", "replication", '"team"', "samehost", "scram-sha-256"],
        ["host", '"iceberg"', '"platform"', "samehost", "scram-sha-256"],
    ]


def test_the_lake_catalog_is_its_own_role_and_database_on_the_same_server() -> None:
    s = Settings(lake_catalog_url="postgresql://platform:p%40ss@127.0.0.1:5433/iceberg")
    assert (s.lake_catalog.user, s.lake_catalog.password, s.lake_catalog.database) == (
        "platform",
        "p@ss",
        "iceberg",
    )
    default = Settings()
    assert (default.lake_catalog.host, default.lake_catalog.port) == (
        default.postgres.host,
        default.postgres.port,
    )
    assert default.lake_catalog.database != default.postgres.database


def test_a_missing_postgresql_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prereqs, "_postgres_bin_dirs", lambda: [])
    with pytest.raises(StackError, match=r"apt-get install -y postgresql") as info:
        prereqs.postgres_bin_dir(install=False)
    assert "\n" not in str(info.value)


def test_connect_pulls_in_kafka_and_postgres_in_start_order() -> None:
    names = [c.name for c in manager.components(Settings(), ["connect"])]
    assert names == ["kafka", "postgres", "connect"]
    everything = [c.name for c in manager.components(Settings())]
    assert everything.index("schema-registry") < everything.index("postgres") < everything.index("connect")


def test_the_cluster_moves_out_of_a_home_others_cannot_reach(tmp_path: Path) -> None:
    # `mktemp -d` makes a 700 folder: a fresh clone there must still get a cluster
    # the postgres OS user can walk to, and find the same one on the next start.
    from starlab.stack.components import postgres_dir

    closed = tmp_path / "clone"
    (closed / ".starlab").mkdir(parents=True)
    closed.chmod(0o700)
    home = closed / ".starlab"
    try:
        moved = postgres_dir(home, run_as_other_user=True)
        assert not str(moved).startswith(str(closed))
        assert moved == postgres_dir(home, run_as_other_user=True)
        assert moved != postgres_dir(tmp_path / "other" / ".starlab", run_as_other_user=True)
        assert postgres_dir(home, run_as_other_user=False) == home / "postgres"
        closed.chmod(0o755)
        # tmp_path's own parents may be closed too (pytest makes them 700), so only
        # check the open case when nothing above is closed
        if all(p.stat().st_mode & 0o001 for p in closed.resolve().parents):
            assert postgres_dir(home, run_as_other_user=True) == home / "postgres"
    finally:
        closed.chmod(0o755)


def test_the_lake_role_is_created_in_single_user_mode_with_the_servers_wal_level(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A cluster that already has Debezium's logical slot refuses to start with the
    # default wal_level, single-user mode included: the step must pass the server's flags.
    monkeypatch.setattr(prereqs.os, "geteuid", lambda: 1000)
    pg = Postgres(Settings(home=tmp_path))
    pg._bin = Path("/usr/lib/postgresql/15/bin")
    pg.data.mkdir(parents=True)
    calls: list[tuple[list[str], str | None]] = []
    monkeypatch.setattr(
        Postgres, "_run_step", staticmethod(lambda argv, stdin, *a, **kw: calls.append((argv, stdin)))
    )
    pg._create_lake_catalog_db([])
    ((argv, stdin),) = calls
    assert argv[argv.index("--single") :][-1] == "postgres"
    assert _flags(argv)["wal_level"] == "logical"
    assert (
        stdin is not None and 'CREATE ROLE "lake"' in stdin and 'CREATE DATABASE "lake" OWNER "lake"' in stdin
    )
    assert (pg.data / "starlab-lake-catalog").exists()  # not again on the next start
