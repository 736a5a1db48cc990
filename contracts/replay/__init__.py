"""Story 1's replayed quarter: scripted upstream changes without and with the gate, on real DAG runs.

Backs the story's results, "schema-related breakages fell from 4/quarter to
0", "p95 DAG runtime variance dropped 35% due to fewer retries; on-call pages
fell 60%" and "average lead time for changes stayed at ~2 days", with
measured figures: `starlab contracts replay` (contracts/replay/command.py).

What is real: each change applied (SQL migrations in a private PostgreSQL
captured by Debezium and re-encoded by the CDC bridge; the Avro versions the
producer registers and writes; edits of a copy of dbt_project/), git commits
and `run_gate` on each pull request, the registry, Kafka, the lake and the
warehouse, and every DAG run (`dag.test()` of contract_gate and
analytics_daily, dbt builds and tests, retries and their waits, measured in
wall seconds). What is simulated: the calendar (replayed days run back to
back; only days with a deployment and the script's quiet days are
replayed), review and fix times (so the lead times), the retry delay
(seconds instead of minutes), story 3's Flink job (a reader with its pinned
schema), the app's traffic (a few updates and generated events a day) and
on-call's response (the script's fix, at least a day after the page). The
same lists are in every result (`ReplayResult.real`, `.simulated`).

Function API (typed results in `contracts.replay.model`):
- `load_script(path) -> Script` (contracts/replay/quarter.yaml is the quarter)
- `run_replay(settings, cfg, *, script=None, arms=(...), work_dir=None, keep=False, progress=...)
  -> ReplayResult`
- `render_human(result) -> str`, `plot_breakages(result, reports_dir) -> Path`
- story 1's claims from a result: `contracts.evidence.claims_from_replay(result)`

Heavy modules (Airflow, Kafka, PostgreSQL) load inside these functions'
modules only when called; importing this package is cheap.
"""

from contracts.replay.model import Arm, ArmResult, Breakage, ChangeOutcome, DagRunRecord, Reach, ReplayResult
from contracts.replay.script import Change, ChangeKind, Script, Surface, load_script

__all__ = [
    "Arm",
    "ArmResult",
    "Breakage",
    "Change",
    "ChangeKind",
    "ChangeOutcome",
    "DagRunRecord",
    "Reach",
    "ReplayResult",
    "Script",
    "Surface",
    "load_script",
]
