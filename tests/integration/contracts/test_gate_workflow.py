"""The contract gate's GitHub workflow, validated offline: the workflow schema and actionlint.

Story 1's "contract checks in CI": .github/workflows/contracts.yml must be a
workflow GitHub accepts and free of the mistakes actionlint finds (bad
expressions, untrusted input inlined into scripts, unknown action inputs).
Both tools run locally: check-jsonschema ships GitHub's workflow schema
(`vendor.github-workflows`), and actionlint is built from source with Go
into .starlab/bin (git-ignored) the first time (about 1-2 min; the PyPI
wrapper downloads from GitHub, which is not reachable here). A machine
without a new enough Go gets Go's toolchain module from the Go proxy
(tests/support/go_toolchain.py), so the test never skips.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.go_toolchain import TOOLCHAIN, NoGo, ensure_go, fetch_toolchain, go_version

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "contracts.yml"
ACTIONLINT_VERSION = "v1.7.12"
ACTIONLINT_GO = (1, 25)
"""The Go its go.mod names (`go 1.25.0`)."""


def ensure_actionlint(bin_dir: Path = ROOT / ".starlab" / "bin", version: str = ACTIONLINT_VERSION) -> Path:
    """The actionlint binary in `bin_dir`, built with `go install` if missing.

    With the machine's Go when it is new enough (1.25, actionlint's go.mod), else with Go's
    toolchain module from the Go proxy (tests/support/go_toolchain.py): no machine skips this.
    """
    binary = bin_dir / "actionlint"
    if binary.exists():
        return binary
    go = ensure_go(ACTIONLINT_GO, bin_dir.parent / "go-toolchain")
    bin_dir.mkdir(parents=True, exist_ok=True)
    cache = bin_dir.parent / "go"  # module and build caches stay project-local too
    env = {
        **os.environ,
        "GOBIN": str(bin_dir),
        "GOPATH": str(cache),
        "GOCACHE": str(cache / "cache"),
        "GOTOOLCHAIN": "local",  # build with this go, never switch again
    }
    proc = subprocess.run(
        [go, "install", f"github.com/rhysd/actionlint/cmd/actionlint@{version}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return binary


def test_the_workflow_matches_githubs_schema() -> None:
    tool = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(tool), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_finds_nothing() -> None:
    binary = ensure_actionlint()
    proc = subprocess.run(
        [str(binary), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_an_inlined_pull_request_body(tmp_path: Path) -> None:
    # The check can fail: the body written straight into the script is a script injection.
    bad = WORKFLOW.read_text().replace(
        """        env:
          PR_BODY: ${{ github.event.pull_request.body }}
        run: printf '%s\\n' "$PR_BODY" > "$RUNNER_TEMP/pr-body.md\"""",
        """        run: echo "${{ github.event.pull_request.body }}" > "$RUNNER_TEMP/pr-body.md\"""",
    )
    assert bad != WORKFLOW.read_text()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    target = tmp_path / ".github" / "workflows" / "contracts.yml"
    target.write_text(bad)
    proc = subprocess.run(
        [str(ensure_actionlint()), "-no-color", str(target)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and "github.event.pull_request.body" in proc.stdout


def test_the_workflow_runs_the_gate_the_way_the_story_says() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["gate"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be in the clone
    run = next(s["run"] for s in steps if "starlab contracts check" in s.get("run", ""))
    assert '--base "origin/$BASE_REF"' in run
    assert "--change-request" in run and "--junit-xml reports/contracts/gate.xml" in run
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/contracts/gate.xml"
    assert any("make setup" in s.get("run", "") for s in steps)
    # PyYAML reads the key `on` as True
    assert "edited" in workflow[True]["pull_request"]["types"]


def test_a_machine_without_go_gets_the_toolchain_module_from_the_proxy() -> None:
    # The path a machine with no Go (or Debian's 1.19) takes in ensure_actionlint; this machine
    # has its own Go, so the fetch is exercised here rather than left to the first such machine.
    go = fetch_toolchain(ROOT / ".starlab" / "go-toolchain")
    assert go_version(go) == (1, 27)
    proc = subprocess.run([go, "version"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith(f"go version {TOOLCHAIN} "), proc.stdout + proc.stderr
    with pytest.raises(NoGo, match="no pinned checksum"):
        fetch_toolchain(ROOT / ".starlab" / "go-toolchain", version="go1.20.1")
