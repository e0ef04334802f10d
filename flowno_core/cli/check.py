"""``python -m flowno_core check script.py``: find the mistakes in a script's flows without running them.

The script is inspected (``scripts.inspect_script``: its ``__main__`` block does not run), every
flow it defines at module level is analysed (``tooling.analysis``), and the findings are printed
as ``file:line: severity: flow: message`` with a hint line each, then one summary line per flow;
``--format json`` prints the same report as one JSON object. A block that ends in the error
"input ... is not connected" still gets a report: every such input of that flow is listed.

Exit status: 0 when flows were found and none has an error (warnings allowed), 1 when a flow has an
error or the script defines no module-level flow, 2 when the script cannot be loaded (the error is
printed as one line with its ``file:line``, without a traceback).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any

from .._graph.description.naming import user_name
from ..tooling.analysis import Finding, Locator, check_flow, unconnected_inputs
from .scripts import ErrorLine, InspectedScript, describe_error, flows_in, inspect_script

NO_FLOW_HINT = (
    "define the flow at module level: `with FlowHDL() as f:` outside any function and outside "
    'the `if __name__ == "__main__":` block'
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="find the mistakes in the flows a script defines, without running them",
        description="Find the mistakes in the flows a script defines at module level, without running "
        "them. Exit status: 0 clean (warnings allowed), 1 errors found or no flow, 2 the script "
        "cannot be loaded.",
    )
    parser.add_argument("script", help="the Python script that defines the flows")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    parser.set_defaults(handler=command)


@dataclass
class FlowSummary:
    name: str
    nodes: int
    errors: int = 0
    warnings: int = 0


@dataclass
class ScriptReport:
    """Everything ``check`` found in one script."""

    script: str
    flows: list[FlowSummary] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    load_error: ErrorLine | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if self.load_error is not None:
            return 2
        return 1 if any(finding.severity == "error" for finding in self.findings) else 0

    def as_dict(self) -> dict[str, Any]:
        error = self.load_error
        return {
            "script": self.script,
            "exit_status": self.exit_status,
            "flows": [vars(summary) for summary in self.flows],
            "findings": [finding.as_dict() for finding in self.findings],
            "load_error": None if error is None else vars(error),
            "notes": self.notes,
        }


def command(args: argparse.Namespace) -> int:
    report = check_script(args.script)
    print(json.dumps(report.as_dict(), indent=2) if args.format == "json" else as_text(report))
    return report.exit_status


def check_script(path: str) -> ScriptReport:
    inspected = inspect_script(path)
    report = ScriptReport(path)
    for name, flow in flows_in(inspected.namespace):
        add_flow(report, name, check_flow(name, flow._flow.nodes, locator(inspected, name)), len(flow._flow.nodes))
    if inspected.error is not None:
        error = describe_error(inspected.error, path)
        stopped = inspected.stopped_in
        found = [] if stopped is None else unconnected_inputs(stopped[0], stopped[1]._drafts, locator(inspected, stopped[0]))
        if stopped is None or not found:
            report.load_error = error
            return report
        add_flow(report, stopped[0], found, len(stopped[1]._drafts))
        report.notes.append(
            f"the script stopped at the end of the `with` block of {stopped[0]} ({error.location}); "
            "what it defines after that was not checked"
        )
    if not report.flows:
        report.findings.append(
            Finding("error", "no-flow", None, None, None, "no module-level FlowHDL found", NO_FLOW_HINT, path)
        )
    return report


def add_flow(report: ScriptReport, name: str, findings: list[Finding], nodes: int) -> None:
    summary = FlowSummary(name, nodes)
    summary.errors = sum(finding.severity == "error" for finding in findings)
    summary.warnings = len(findings) - summary.errors
    report.flows.append(summary)
    report.findings.extend(findings)


def locator(inspected: InspectedScript, flow: str) -> Locator:
    """Where the script assigns a node of ``flow`` (``f.total = ...``)."""
    return lambda node: inspected.location_of(flow, user_name(node))


def as_text(report: ScriptReport) -> str:
    lines = []
    if report.load_error is not None:
        lines.append(str(report.load_error))
        if report.load_error.hint:
            lines.append(f"    hint: {report.load_error.hint}")
        return "\n".join(lines)
    for finding in report.findings:
        flow = f"{finding.flow}: " if finding.flow else ""
        lines.append(f"{finding.location or report.script}: {finding.severity}: {flow}{finding.message}")
        lines.append(f"    hint: {finding.hint}")
    lines.extend(f"note: {note}" for note in report.notes)
    for summary in report.flows:
        lines.append(f"{summary.name}: {_counts(summary)} ({summary.nodes} nodes)")
    return "\n".join(lines)


def _counts(summary: FlowSummary) -> str:
    parts = [f"{summary.errors} error{'s' * (summary.errors != 1)}"] if summary.errors else ["OK"]
    if summary.warnings:
        parts.append(f"{summary.warnings} warning{'s' * (summary.warnings != 1)}")
    return ", ".join(parts)
