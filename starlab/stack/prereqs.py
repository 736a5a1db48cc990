"""What the local stack needs from the machine, and installing what is missing.

Java and Maven run Kafka (and Kafka Connect with Debezium) and resolve their
jars; Debian's redis-server is the cache and Debian's PostgreSQL the app
team's database (story 1); the Flink job has its own virtual environment because PyFlink pins
protobuf < 6 and numpy < 2.2 while dbt and Airflow need newer ones. Each check
fails with one line that says what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from starlab.errors import StackError
from starlab.settings import ROOT, Settings

MAVEN_DIR = ROOT / "starlab" / "stack" / "maven"
FLINK_REQUIREMENTS = ROOT / "starlab" / "stack" / "flink-requirements.txt"


def require_binary(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"`{name}` is not on PATH: {hint}")
    return path


def require_java() -> str:
    java = require_binary("java", "install a JDK 17+ (Debian: apt-get install openjdk-17-jre-headless)")
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    # 'openjdk version "17.0.15"' or '"1.8.0_392"': Kafka 4 needs 17 or newer.
    try:
        version = out.split('"')[1]
        major = int(version.split(".")[0])
        if major == 1:
            major = int(version.split(".")[1])
    except (IndexError, ValueError):
        return java
    if major < 17:
        raise StackError(
            f"Java {version} found; Kafka 4 needs Java 17+ (apt-get install openjdk-17-jre-headless)"
        )
    return java


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def resolve_jars(settings: Settings, which: str, quiet: bool = True) -> Path:
    """Copy the jars named by `maven/<which>/pom.xml` into `<home>/jars/<which>`.

    The first run downloads from Maven Central into ~/.m2; later runs reuse the
    copy unless the pom changed (its hash is kept beside the jars).
    """
    pom = MAVEN_DIR / which / "pom.xml"
    out = settings.jars_dir / which
    stamp = out / ".pom-sha"
    want = _fingerprint(pom)
    if stamp.exists() and stamp.read_text() == want and any(out.glob("*.jar")):
        return out
    mvn = require_binary("mvn", "install Maven 3 (Debian: apt-get install maven)")
    require_java()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cmd = [mvn, "-B", "-f", str(pom), "dependency:copy-dependencies", f"-DoutputDirectory={out.resolve()}"]
    if quiet:
        cmd.insert(1, "-q")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise StackError(f"maven could not resolve {pom.relative_to(ROOT)}: {' | '.join(last)}")
    stamp.write_text(want)
    return out


def debian_binary(binary: str, package: str, install: bool = True) -> str:
    """Path of `binary`, installing Debian's `package` when root and allowed.

    Used for the servers starlab takes from the distribution rather than a
    registry: redis-server, Prometheus, Alertmanager and the two exporters.
    Only the binary is used; the package's own service units never start
    (starlab runs each server with its own flags and data dir).
    """
    found = shutil.which(binary)
    if found:
        return found
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            f"{binary} is missing: install it (Debian/Ubuntu: sudo apt-get install -y {package})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    for cmd in (["apt-get", "update", "-q"], install_cmd):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise StackError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip().splitlines()[-1:]}")
    found = shutil.which(binary)
    if not found:
        raise StackError(f"{binary} still missing after apt-get install {package}")
    return found


def redis_server_binary(install: bool = True) -> str:
    """Path of redis-server, installing Debian's package when root and allowed."""
    return debian_binary("redis-server", "redis-server", install)


def ensure_flink_venv(settings: Settings) -> Path:
    """Create the Flink job's virtual environment from the locked requirements."""
    venv = settings.flink_venv_dir
    python = venv / "bin" / "python"
    stamp = venv / ".requirements-sha"
    want = _fingerprint(FLINK_REQUIREMENTS)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    # The project's venv carries uv (dev group); a PATH uv works as well.
    uv = str(Path(sys.executable).with_name("uv"))
    if not Path(uv).exists():
        uv = shutil.which("uv") or uv
    if not Path(uv).exists():
        raise StackError("`uv` is needed to build the Flink environment: pip install uv")
    for cmd in (
        [uv, "venv", "-q", "--allow-existing", "--python", "3.11", str(venv)],
        [uv, "pip", "install", "-q", "--python", str(python), "-r", str(FLINK_REQUIREMENTS)],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"building the Flink venv failed: {proc.stderr.strip()[-300:]}")
    stamp.write_text(want)
    return python


def pyflink_home(settings: Settings) -> Path:
    """The PyFlink package in the Flink venv: a Flink distribution (bin/, lib/, plugins/, conf/)."""
    found = sorted(settings.flink_venv_dir.glob("lib/python3*/site-packages/pyflink"))
    if not found:
        raise StackError(f"no pyflink package under {settings.flink_venv_dir}; `starlab up flink` builds it")
    return found[-1].resolve()


FLINK_CLASSPATH_JARS = (
    "hadoop-client-api-",
    "hadoop-client-runtime-",
    "commons-logging-",
    "sqlite-jdbc-",
    "postgresql-",
)
"""Jars (by name prefix) for the JVM's own class path, not a job's `pipeline.jars`:

- Hadoop's client: Iceberg's Flink catalog needs `org.apache.hadoop.conf.Configuration`
  even on a local file system, and Flink loads `org.apache.hadoop.*` parent-first: from
  `pipeline.jars` the catalog factory fails with NoClassDefFoundError;
- the catalog's JDBC drivers: `java.sql.DriverManager` does not see a driver in the
  user-code class loader ("No suitable driver" in tasks).
"""


def flink_classpath_jars(settings: Settings) -> list[Path]:
    """The `FLINK_CLASSPATH_JARS` among the resolved Flink jars (a job's JVM, a session cluster's)."""
    jars = settings.jars_dir / "flink"
    return [p.resolve() for p in sorted(jars.glob("*.jar")) if p.name.startswith(FLINK_CLASSPATH_JARS)]


POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
"""Where Debian's postgresql-NN packages put initdb and postgres (not on PATH)."""


def _postgres_bin_dirs() -> list[Path]:
    on_path = shutil.which("initdb")
    # Resolved: /usr/local/bin/initdb may be a link into /usr/lib/postgresql/NN/bin.
    found = [Path(on_path).resolve().parent] if on_path else []
    # Highest major version first: /usr/lib/postgresql/15/bin before /13/bin.
    debian = sorted(
        (p for p in Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")) if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    return found + debian


def postgres_bin_dir(install: bool = True) -> Path:
    """Directory holding `initdb` and `postgres`, installing Debian's `postgresql` when root.

    The package's post-install starts a cluster of its own on 5432; starlab's
    runs on its own port (5433 by default) from its own data directory.
    """
    dirs = _postgres_bin_dirs()
    if dirs:
        return dirs[0]
    if not install or os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(
            "PostgreSQL is missing (no initdb): install it "
            "(Debian/Ubuntu: sudo apt-get install -y postgresql)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "postgresql"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise StackError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip().splitlines()[-1:]}")
    dirs = _postgres_bin_dirs()
    if not dirs:
        raise StackError("initdb still missing after apt-get install postgresql")
    return dirs[0]


def postgres_run_as() -> list[str]:
    """Argv prefix that drops root to the `postgres` OS user; empty when not root.

    PostgreSQL refuses to run as root. `setpriv` (util-linux) execs in place,
    so the pid starlab records is the postmaster's own.
    """
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "running as root but there is no `postgres` OS user to run PostgreSQL as: "
            "install Debian's postgresql package or run starlab as a normal user"
        ) from None
    setpriv = require_binary("setpriv", "install util-linux (Debian: apt-get install util-linux)")
    return [setpriv, "--reuid=postgres", "--regid=postgres", "--init-groups"]
