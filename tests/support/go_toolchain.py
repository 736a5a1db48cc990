"""A Go new enough to build a tool from source: the machine's own, or Go's toolchain module.

The contract gate's workflow test builds actionlint with `go install`, and
actionlint 1.7.12 needs Go 1.25 (its go.mod). A machine may have no Go, or
Debian's golang-go (1.19), which is too old and too old to switch toolchains
itself (`GOTOOLCHAIN` arrived in 1.21). Go publishes every release as a
module, `golang.org/toolchain`, on the Go module proxy: the same zip the go
command fetches when `GOTOOLCHAIN` asks for a newer Go. It is fetched here
from proxy.golang.org (reachable wherever Go modules are), checked against
the SHA-256 pinned below, and unpacked under the project's `.starlab/`.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import urllib.request
import zipfile
from pathlib import Path

TOOLCHAIN = "go1.27.3"
"""The Go release taken from the proxy when the machine has no Go new enough."""
TOOLCHAIN_SHA256 = {
    # sha256 of https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go1.27.3.linux-amd64.zip,
    # whose go.sum line (h1:r0ub+FnqzZxoWm/dSUOI9DcIqYWn/mNYGFJcv7PyBzs=) the sumdb serves
    "linux-amd64": "af4c06478303fdd1bfb335fab86c7ccb9b12e529044a946a16a1c4bcc779f8d7",
}
PROXY = "https://proxy.golang.org"


class NoGo(Exception):
    """No usable Go here and none can be fetched (an unpinned platform)."""


def go_version(go: str) -> tuple[int, int]:
    """(major, minor) of a go binary, e.g. (1, 26) for go1.26.8."""
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, timeout=60)
    text = out.stdout.strip().removeprefix("go")
    parts = text.split(".")
    if out.returncode != 0 or len(parts) < 2 or not parts[0].isdigit() or not parts[1].isdigit():
        return (0, 0)
    return (int(parts[0]), int(parts[1]))


def machine_go() -> list[str]:
    """Go binaries this machine has: on PATH, then the official tarball's place."""
    found = [shutil.which("go"), "/usr/local/go/bin/go"]
    return list(dict.fromkeys(g for g in found if g and Path(g).is_file()))


def _platform() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    return f"{platform.system().lower()}-{arch.get(platform.machine().lower(), platform.machine())}"


def fetch_toolchain(into: Path, version: str = TOOLCHAIN) -> str:
    """Go `version` from the module proxy, unpacked into `into`; returns its `go` binary."""
    plat = _platform()
    expected = TOOLCHAIN_SHA256.get(plat) if version == TOOLCHAIN else None
    if expected is None:
        raise NoGo(f"no pinned checksum for Go {version} on {plat}")
    module = f"v0.0.1-{version}.{plat}"
    go = into / f"golang.org/toolchain@{module}" / "bin" / "go"
    if go.is_file():
        return str(go)
    into.mkdir(parents=True, exist_ok=True)
    archive = into / f"{module}.zip"
    url = f"{PROXY}/golang.org/toolchain/@v/{module}.zip"
    with urllib.request.urlopen(url, timeout=300) as response, archive.open("wb") as out:
        shutil.copyfileobj(response, out)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    if digest != expected:
        archive.unlink()
        raise NoGo(f"{url}: sha256 {digest}, expected {expected}")
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            path = Path(z.extract(info, into))
            mode = (info.external_attr >> 16) & 0o777
            if mode:  # zip keeps Unix modes here; extract() drops them (bin/go must stay executable)
                path.chmod(mode)
    archive.unlink()
    return str(go)


def ensure_go(minimum: tuple[int, int], toolchains: Path) -> str:
    """A go binary of at least `minimum`: the machine's if it has one, else the proxy's `TOOLCHAIN`."""
    for go in machine_go():
        if go_version(go) >= minimum:
            return go
    return fetch_toolchain(toolchains)
