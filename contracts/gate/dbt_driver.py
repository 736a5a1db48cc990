"""Child process of the gate: dbt's own `state:modified` contract check, one model at a time.

Backs story 1's "contract checks in CI" on dbt's rules rather than a copy of
them. dbt-core decides breaking changes to enforced contracts while it
evaluates `state:modified` (removed columns, data_type changes, removed
constraints, contract disabled, a version deleted before its deprecation
date), but it raises at the FIRST breaking model and only warns for
unversioned ones. To report every model in one run, this process:

1. parses the head project (and the base one, when given) with dbtRunner,
   both with the same profile and absolute warehouse/lake paths: a
   different DuckDB file name would mark every source modified;
2. for each model whose contract differs (`contract_candidates`), writes a
   state manifest equal to the head's except for that model's nodes, which
   are the base's, and runs `dbt ls --select state:modified --state <it>`
   with `UnversionedBreakingChange` as an error. Only that model can differ,
   so dbt's verdict is about it alone.

All invocations share one process and the head's parsed manifest
(`dbtRunner(manifest=...)`), so N models cost N selector evaluations, not N
dbt start-ups. It runs as a subprocess because dbt configures logging,
flags and adapters globally. Input and output are JSON files (see
`DriverRequest`/`DriverResult` in contracts/gate/dbt_state.py).

Usage: python -m contracts.gate.dbt_driver REQUEST.json RESULT.json
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contracts.gate.manifest import ManifestView, changed_contracts, continuation

UNVERSIONED_AS_ERROR = json.dumps({"error": ["UnversionedBreakingChange"]})
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def contract_candidates(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """Names of models whose contract differs between two manifest.json documents."""
    return changed_contracts(ManifestView.from_json(base), ManifestView.from_json(head))


def isolated_state(base: Mapping[str, Any], head: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The head manifest with `model`'s nodes taken from the base: the only difference dbt can see.

    A model versioned by this change keeps its old node under the id of the
    version that continues it (`continuation`), so dbt compares the two
    contracts instead of reporting the unversioned node as deleted.
    """
    old_view, new_view = ManifestView.from_json(base), ManifestView.from_json(head)
    successor = continuation(old_view.versions_of(model), new_view.versions_of(model))
    state = copy.deepcopy(dict(head))
    nodes = dict(state["nodes"])

    def is_model(uid: str, node: Mapping[str, Any]) -> bool:
        return node.get("resource_type") == "model" and node.get("name") == model

    for uid, node in list(nodes.items()):
        if is_model(uid, node):
            del nodes[uid]
    for uid, node in base["nodes"].items():
        if is_model(uid, node):
            nodes[successor.unique_id if successor else uid] = node
    state["nodes"] = nodes
    return state


def _common(project: str, profiles: str, target: Path, logs: Path) -> list[str]:
    paths = {"--project-dir": project, "--profiles-dir": profiles, "--target-path": str(target)}
    return [*(part for pair in paths.items() for part in pair), "--log-path", str(logs), "--quiet"]


def main(request_path: str, result_path: str) -> int:
    from dbt.cli.main import dbtRunner  # heavy: only in the child process

    req = json.loads(Path(request_path).read_text())
    work = Path(req["work_dir"])
    profiles = req["profiles_dir"]
    result: dict[str, Any] = {"verdicts": [], "error": None}

    def parse(project: str, name: str) -> tuple[Any, Path] | None:
        target = work / f"{name}_target"
        # No partial parsing: with the files of another commit in the same
        # folder, dbt 1.11 kept a stale schema file here (a column added in
        # the new commit was missing from the manifest). A full parse is a
        # few seconds; a wrong verdict is not an option.
        res = dbtRunner().invoke(
            ["parse", *_common(project, profiles, target, work / f"{name}_logs"), "--no-partial-parse"]
        )
        if not res.success:
            message = str(res.exception or "dbt parse failed").strip().splitlines()
            side = "base" if name == "base" else "head"
            result["error"] = f"dbt parse of the {side} project failed: {message[0] if message else '?'}"
            return None
        return res.result, target / "manifest.json"

    head_name = req.get("head_name", "head")
    head = parse(req["head_project"], head_name)
    if head is None:
        Path(result_path).write_text(json.dumps(result))
        return 0
    head_manifest, head_json_path = head
    result["head_manifest"] = str(head_json_path)
    if req.get("base_project"):
        base = parse(req["base_project"], "base")
        if base is None:
            Path(result_path).write_text(json.dumps(result))
            return 0
        result["base_manifest"] = str(base[1])
        base_json = json.loads(base[1].read_text())
        head_json = json.loads(head_json_path.read_text())
        for model in contract_candidates(base_json, head_json):
            state_dir = work / "state" / model
            state_dir.mkdir(parents=True, exist_ok=True)
            (state_dir / "manifest.json").write_text(json.dumps(isolated_state(base_json, head_json, model)))
            options = {
                "--select": "state:modified",
                "--state": str(state_dir),
                "--resource-type": "model",
                "--output": "json",
                "--output-keys": "unique_id",
                "--warn-error-options": UNVERSIONED_AS_ERROR,
            }
            res = dbtRunner(manifest=head_manifest).invoke(
                [
                    "ls",
                    *_common(req["head_project"], profiles, work / f"{head_name}_target", work / "ls_logs"),
                    *(part for pair in options.items() for part in pair),
                ]
            )
            lines = res.result if res.success and isinstance(res.result, list) else []
            modified = [json.loads(line)["unique_id"] for line in lines]
            message = None if res.success else ANSI.sub("", str(res.exception or "dbt ls failed")).strip()
            breaking = message is not None and (
                type(res.exception).__name__ == "ContractBreakingChangeError"
                or "breaking change to contract" in message.lower()
            )
            if message is not None and not breaking:
                first = message.splitlines()[0]
                result["error"] = f"dbt ls --select state:modified failed for {model}: {first}"
                break
            result["verdicts"].append(
                {"model": model, "modified": modified, "breaking": breaking, "message": message}
            )
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
