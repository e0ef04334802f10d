"""The generated node types for every number of parameters, under mypy and pyright.

One generated module holds, for n = 0 to 10 parameters with 0 to n trailing defaults, a function
node and a class node whose parameter i is typed ``int`` for even i and ``str`` for odd i. Each is
called with all its arguments, with only the required ones, and once per position with a literal of
the wrong type (which must be reported on that line, and only there), and once with an ``Output``
of the wrong type. Nodes of more than eight parameters are not checked argument by argument, so
nothing may be reported for them. Both checkers run once over the module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_CHECKED = 8
LARGEST = 10


def type_of(i: int) -> str:
    return "int" if i % 2 == 0 else "str"


def good_value(i: int) -> str:
    return "1" if i % 2 == 0 else "'a'"


def bad_value(i: int) -> str:
    return "'a'" if i % 2 == 0 else "1"


def generated_module() -> tuple[str, set[int]]:
    """The module's text, and the lines on which an error must be reported."""
    lines = ["from flowno_core import FlowHDL, node", ""]
    expected: set[int] = set()
    cases = []
    for n in range(LARGEST + 1):
        for defaults in range(n + 1):
            required = n - defaults
            params = ", ".join(
                f"p{i}: {type_of(i)}" + (f" = {good_value(i)}" if i >= required else "") for i in range(n)
            )
            lines += [
                "@node",
                f"async def F{n}_{defaults}({params}) -> int:",
                "    return 0",
                "",
                "@node",
                f"class C{n}_{defaults}:",
                f"    async def call(self{', ' if n else ''}{params}) -> int:",
                "        return 0",
                "",
            ]
            cases.append((n, required, f"F{n}_{defaults}"))
            cases.append((n, required, f"C{n}_{defaults}"))
    lines += ["@node", "async def Text() -> str:", "    return 'a'", ""]
    lines += ["with FlowHDL() as f:", "    f.text = Text()"]
    for n, required, name in cases:
        checked = n <= MAX_CHECKED
        lines.append(f"    f.{name.lower()}_all = {name}({', '.join(good_value(i) for i in range(n))})")
        lines.append(f"    f.{name.lower()}_required = {name}({', '.join(good_value(i) for i in range(required))})")
        for wrong in range(n):
            arguments = [good_value(i) for i in range(n)]
            arguments[wrong] = bad_value(wrong)
            lines.append(f"    f.{name.lower()}_bad{wrong} = {name}({', '.join(arguments)})")
            if checked:
                expected.add(len(lines))
        if n and type_of(0) == "int":
            lines.append(f"    f.{name.lower()}_output = {name}(f.text{', ' if n > 1 else ''}"
                         f"{', '.join(good_value(i) for i in range(1, n))})")
            if checked:
                expected.add(len(lines))
    return "\n".join(lines) + "\n", expected


def test_the_checked_arity_is_the_same_everywhere() -> None:
    from flowno_core import mypy_plugin

    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import generate_node_types
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert generate_node_types.MAX_ARITY == mypy_plugin.MAX_CHECKED_INPUTS == MAX_CHECKED


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[int]]:
    text, expected = generated_module()
    path = tmp_path_factory.mktemp("arity") / "arity_flows.py"
    path.write_text(text)
    return path, expected


def test_mypy_reports_exactly_the_wrong_arguments(module: tuple[Path, set[int]], tmp_path: Path) -> None:
    path, expected = module
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nplugins = flowno_core.mypy_plugin\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file", str(config),
         "--cache-dir", str(tmp_path / "cache"), str(path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    reported = {int(line.split(":")[1]) for line in result.stdout.splitlines() if ": error:" in line}
    assert reported == expected, (sorted(reported - expected)[:5], sorted(expected - reported)[:5])


def test_pyright_reports_exactly_the_wrong_arguments(module: tuple[Path, set[int]], tmp_path: Path) -> None:
    path, expected = module
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"extraPaths": [str(ROOT)], "pythonVersion": "3.11"}))
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--project", str(config),
         "--pythonpath", sys.executable, str(path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
    )
    diagnostics = json.loads(result.stdout)["generalDiagnostics"]
    reported = {d["range"]["start"]["line"] + 1 for d in diagnostics if d["severity"] == "error"}
    assert reported == expected, (sorted(reported - expected)[:5], sorted(expected - reported)[:5])


def test_the_generated_flows_describe_without_error(module: tuple[Path, set[int]]) -> None:
    """The good calls are real wiring: the module's nodes build a flow (the bad literals too, since
    a literal's type is not checked at run time)."""
    path, _ = module
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
