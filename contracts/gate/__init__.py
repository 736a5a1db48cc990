"""Story 1's CI gate: every contract at a base ref vs the working tree, all violations in one run.

"Implemented schema registry + contract checks in CI" made runnable: Avro
subjects (contracts/subjects.yaml) are judged by the kernel's compatibility
check under their mode, dbt model contracts by dbt's own `state:modified`
check (one model at a time, so every breaking model is reported), breaking
changes are allowed only as a new model version with a 14-day deprecation,
likely renames are named, and every change carries its impact from dbt's
lineage and the topic -> consumer map (contracts/consumers.yaml). The
command is `starlab contracts check --base REF` (contracts/gate/command.py);
`starlab contracts digest` is the weekly review built on the same run.
"""

from contracts.gate.check import GateInputs, run_gate
from contracts.gate.model import (
    ChangeKind,
    ContractChange,
    ContractKind,
    Deprecation,
    GatePolicy,
    GateReport,
    Impact,
    Rule,
    Violation,
)

__all__ = [
    "ChangeKind",
    "ContractChange",
    "ContractKind",
    "Deprecation",
    "GateInputs",
    "GatePolicy",
    "GateReport",
    "Impact",
    "Rule",
    "Violation",
    "run_gate",
]
