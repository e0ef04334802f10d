"""mypy, with no plugin, checks the wiring of function nodes: parameter types and output types."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SAMPLE = textwrap.dedent(
    """
    from flowno_core import FlowHDL, Stream, node

    @node
    async def Add(x: int, y: int = 1) -> int:
        return x + y

    @node(stream_in=["xs"])
    async def Total(xs: Stream[int]) -> int:
        return 0

    with FlowHDL() as f:
        f.a = Add(1, 2)
        f.b = Add(f.a, 3)          # a node or a forward reference fits any parameter
        f.c = Add("not an int")    # flagged: the parameter is an int
        f.t = Total(f.b)           # a value producer fits a stream port (a one-item stream)

    reveal_type(Add)
    """
)


def test_mypy_sees_the_parameters_of_a_node_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"), str(sample)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"MYPYPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    output = result.stdout
    node_type = "flowno_core._node_types.Node2[int, int, flowno_core._graph.description.ports.Output[int]]"
    assert f'Revealed type is "{node_type}"' in output, output
    errors = [line for line in output.splitlines() if ": error:" in line]
    assert len(errors) == 1, output
    assert 'sample.py:15' in errors[0] and 'incompatible type "str"; expected "int | Output[int]"' in errors[0], output
