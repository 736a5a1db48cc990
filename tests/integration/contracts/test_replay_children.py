"""The replay's child processes: progress forwarded, results merged, a failure stops the other arm.

`run_replay` plays each arm in its own process (contracts/replay/run.py). These
tests drive its process handling with a stand-in runner (a few lines of Python
given as the command), so they need no stack and take seconds: what they
check is the parent's side (lines, results, errors, interrupts, the deadline),
which the real replay test cannot provoke on purpose.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from contracts.errors import ContractsError, ContractsTransientError
from contracts.replay.model import Arm, ReplayResult
from contracts.replay.run import _Child, _run_children
from contracts.replay.runner import PROGRESS, RunnerResult

pytestmark = pytest.mark.integration

# argv: request result mode. Modes: ok (print progress, write the prepared result),
# fail (once a waiting sibling is ready, write an error result), wait (sleep until
# interrupted; say so in a file).
STAND_IN = f"""
import signal, sys, time
from pathlib import Path
request, result, mode = sys.argv[1:4]
here = Path(request).parent
if mode == "wait":
    def stop(*_):
        (here / "interrupted").write_text("SIGINT")
        sys.exit(130)
    signal.signal(signal.SIGINT, stop)
    (here / "ready").write_text("")  # the handler is in place: an interrupt now is seen
    print("{PROGRESS}waiting", flush=True)
    time.sleep(60)
    sys.exit(0)
if mode == "fail":  # fail only once the waiting sibling can be interrupted (no start-up race)
    deadline = time.monotonic() + 20
    while not list(here.parent.glob("runner-*/ready")) and time.monotonic() < deadline:
        time.sleep(0.01)
print("{PROGRESS}" + here.name + " day 1", flush=True)
print("a log line that is not progress", flush=True)
Path(result).write_text((here / ("ok.json" if mode == "ok" else "fail.json")).read_text())
"""


def _result(arm: Arm) -> ReplayResult:
    return ReplayResult(
        script="s.yaml", changes=0, arms=(), wall_s=1.0, retry_delay_s=3.0, real=(arm.value,), simulated=()
    )


def _child(tmp: Path, arm: Arm) -> _Child:
    folder = tmp / f"runner-{arm.value}"
    folder.mkdir()
    (folder / "ok.json").write_text(RunnerResult(result=_result(arm)).model_dump_json())
    (folder / "fail.json").write_text(RunnerResult(error=f"{arm.value} broke").model_dump_json())
    (folder / "request.json").write_text("{}")
    return _Child(folder / "request.json", folder / "result.json", folder / "tail", env={})


def _run(tmp: Path, modes: dict[Arm, str], timeout_s: float = 30.0) -> tuple[list[ReplayResult], list[str]]:
    """Run one stand-in child per arm, each in the mode `modes` gives it (through modes.json)."""
    (tmp / "stand_in.py").write_text(STAND_IN)
    (tmp / "modes.json").write_text(json.dumps({a.value: m for a, m in modes.items()}))
    lines: list[str] = []
    children = [_child(tmp, arm) for arm in modes]
    results = _run_children(children, timeout_s, lines.append, cmd=(sys.executable, str(tmp / "dispatch.py")))
    return results, lines


@pytest.fixture
def dispatch(tmp_path: Path) -> Path:
    """The command each child runs: its arm is its folder's name, its mode is in modes.json."""
    (tmp_path / "dispatch.py").write_text(
        "import json, runpy, sys\n"
        "from pathlib import Path\n"
        "modes = json.loads((Path(__file__).parent / 'modes.json').read_text())\n"
        "arm = Path(sys.argv[1]).parent.name.removeprefix('runner-')\n"
        "sys.argv = [sys.argv[0], sys.argv[1], sys.argv[2], modes[arm]]\n"
        "runpy.run_path(str(Path(__file__).parent / 'stand_in.py'), run_name='__main__')\n"
    )
    return tmp_path


def test_both_children_report_progress_and_results(dispatch: Path) -> None:
    modes = {Arm.WITHOUT_GATE: "ok", Arm.WITH_GATE: "ok"}
    results, lines = _run(dispatch, modes)
    assert [r.real for r in results] == [("without_gate",), ("with_gate",)]  # in the children's order
    assert sorted(lines) == ["runner-with_gate day 1", "runner-without_gate day 1"]  # prefix gone
    assert (dispatch / "runner-with_gate" / "tail").read_text() == "a log line that is not progress"


def test_a_failed_arm_interrupts_the_other_and_its_error_is_raised(dispatch: Path) -> None:
    modes = {Arm.WITHOUT_GATE: "wait", Arm.WITH_GATE: "fail"}
    t0 = time.monotonic()
    with pytest.raises(ContractsError, match="replay failed: with_gate broke"):
        _run(dispatch, modes)
    assert time.monotonic() - t0 < 30  # not the waiting child's 60 s
    # SIGINT, not SIGKILL: the runner's `finally` (which stops its arm's services) ran
    assert (dispatch / "runner-without_gate" / "interrupted").read_text() == "SIGINT"


def test_the_deadline_interrupts_every_child(dispatch: Path) -> None:
    modes = {Arm.WITHOUT_GATE: "wait", Arm.WITH_GATE: "wait"}
    # Start-up takes well under a second when idle; 10 s leaves room for a starved machine
    # (an interrupt before a child's handler is in place would find no file written).
    with pytest.raises(ContractsTransientError, match="longer than 10 s"):
        _run(dispatch, modes, timeout_s=10.0)
    for arm in modes:
        assert (dispatch / f"runner-{arm.value}" / "interrupted").exists()
