"""The import rules of DESIGN.md, checked by import-linter with the contracts in pyproject.toml.

Stories sit above the kernel (the kernel imports no story), no story imports
another, and no package has an import cycle among its modules. The second
test proves the check can fail: the same contracts run on a scratch tree in
which the kernel imports a story.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from starlab.settings import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _run(cwd: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(extra_path or cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_repository_keeps_every_import_contract() -> None:
    proc = _run(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def _scratch_tree(tmp: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[importlinter]", "root_packages =", *[f"    {p}" for p in config["root_packages"]]]
    for n, contract in enumerate(config["contracts"]):
        lines += [
            "",
            f"[importlinter:contract:{n}]",
            f"name = {contract['name']}",
            f"type = {contract['type']}",
        ]
        for key in ("layers", "modules", "ancestors"):
            if key in contract:
                lines += [f"{key} =", *[f"    {v}" for v in contract[key]]]
    (tmp / ".importlinter").write_text("\n".join(lines) + "\n")
    for pkg in config["root_packages"]:
        (tmp / pkg).mkdir()
        (tmp / pkg / "__init__.py").write_text("")


def test_a_kernel_module_importing_a_story_breaks_the_layers(tmp_path: Path) -> None:
    _scratch_tree(tmp_path)
    assert _run(tmp_path).returncode == 0  # the empty tree keeps every contract
    (tmp_path / "starlab" / "demo.py").write_text("import streaming.cli\n")
    (tmp_path / "streaming" / "cli.py").write_text("")
    proc = _run(tmp_path)
    assert proc.returncode != 0
    assert "starlab imports no story BROKEN" in proc.stdout, proc.stdout


def test_a_story_importing_another_breaks_independence(tmp_path: Path) -> None:
    _scratch_tree(tmp_path)
    (tmp_path / "rankings" / "cache.py").write_text("from feature_cache import serving\n")
    (tmp_path / "feature_cache" / "serving.py").write_text("")
    proc = _run(tmp_path)
    assert "No story imports another BROKEN" in proc.stdout, proc.stdout


def test_a_cycle_inside_a_package_is_found(tmp_path: Path) -> None:
    _scratch_tree(tmp_path)
    (tmp_path / "rankings" / "errors.py").write_text("from rankings import gate\n")
    (tmp_path / "rankings" / "gate.py").write_text("from rankings import errors\n")
    proc = _run(tmp_path)
    assert "No import cycles inside a package BROKEN" in proc.stdout, proc.stdout
