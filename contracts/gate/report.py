"""The gate's report three ways: for people, as JSON, as JUnit XML for CI.

Backs story 1's follow-up "how did CI checks enforce contracts? Example rule
and failure path": the human text is what a pull-request author reads in
the CI log (each violation: rule, object, what changed, the fix, the
consumers); JUnit puts one failed test per violation in the CI's test view;
JSON is for tools (the replay counts blocked changes from it).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from datetime import date
from enum import Enum
from typing import Any

from contracts.gate.model import GateReport, Rule, Violation

# About the pull request, not a contract: no consumers to name.
_NO_IMPACT = {Rule.CHANGE_REQUEST_MISSING, Rule.CHANGE_REQUEST_INCOMPLETE}


def _short(commit: str) -> str:
    return commit[:10] if len(commit) == 40 else commit


def render_human(report: GateReport) -> str:
    lines = [
        f"contracts check: base {report.base_ref} ({_short(report.base_commit)}) -> {_short(report.head)}; "
        f"change date {report.change_date.isoformat()}; deprecation notice >= "
        f"{report.policy.min_deprecation_days} days",
        f"checked {report.subjects_checked} Avro subject(s) and "
        + (
            f"{report.models_checked} contracted dbt model(s)"
            if report.dbt_parsed
            else "no dbt model (the dbt project and the subjects are unchanged: dbt not started)"
        )
        + f"; {len(report.changes)} contract change(s)",
    ]
    if report.changes:
        lines.append("")
        lines.append("changes:")
        for c in report.changes:
            tag = "breaking" if c.breaking else "safe"
            lines.append(f"  {c.change.value:8} {c.kind.value} {c.name} ({tag})")
            lines += [f"           - {d}" for d in c.details]
            lines.append(f"           impact: {c.impact.describe()}")
    if report.violations:
        lines.append("")
        lines.append(f"violations ({len(report.violations)}):")
        for i, v in enumerate(report.violations, 1):
            lines += _violation(i, v)
    lines.append("")
    if report.passed:
        lines.append("PASSED: no contract violation")
    else:
        lines.append(
            f"FAILED: {len(report.violations)} violation(s) ({', '.join(sorted(set(report.rules())))})"
        )
    return "\n".join(lines)


def _violation(i: int, v: Violation) -> list[str]:
    out = [
        f"  {i}. [{v.rule.value}] {v.object}",
        f"     changed: {v.changed}",
        f"     fix:     {v.fix}",
    ]
    if v.rule not in _NO_IMPACT:
        out.append(f"     impact:  {v.impact.describe()}")
    if v.evidence:
        out.append(f"     checker: {v.evidence[0].strip()}")
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_json(report: GateReport) -> str:
    data = _plain(asdict(report))
    data["passed"] = report.passed
    data["exit_code"] = report.exit_code
    return json.dumps(data, indent=2)


def to_junit(report: GateReport) -> str:
    """One failed test case per violation, one passed case per clean change (or one for the gate)."""
    suite = ET.Element(
        "testsuite",
        name="starlab contracts check",
        timestamp=report.change_date.isoformat(),
        tests="0",
        failures=str(len(report.violations)),
        errors="0",
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("base_ref", report.base_ref),
        ("base_commit", report.base_commit),
        ("head", report.head),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    count = 0
    for v in report.violations:
        case = ET.SubElement(suite, "testcase", classname=f"contracts.{v.rule.value}", name=v.object)
        failure = ET.SubElement(case, "failure", type=v.rule.value, message=v.changed)
        failure.text = "\n".join(
            [f"changed: {v.changed}", f"fix: {v.fix}", f"impact: {v.impact.describe()}", *v.evidence]
        )
        count += 1
    clean = [c for c in report.changes if not report.violations_of(c.name)]
    for c in clean:
        case = ET.SubElement(suite, "testcase", classname=f"contracts.{c.kind.value}", name=c.name)
        ET.SubElement(case, "system-out").text = "\n".join(c.details)
        count += 1
    if count == 0:
        ET.SubElement(suite, "testcase", classname="contracts.gate", name="no contract changes")
        count = 1
    suite.set("tests", str(count))
    root = ET.Element("testsuites", name="contracts", tests=str(count), failures=str(len(report.violations)))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


__all__ = ["render_human", "to_json", "to_junit"]
