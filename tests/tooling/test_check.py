"""``python -m flowno_core check``: one broken script per mistake, the report formats, exit statuses,
and the analysis itself (in process), with its cycle rule checked against the reference model."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from toolhelpers import BROKEN, run_cli

from flowno_core import FlowHDL, Stream, node
from flowno_core.errors import MissingDefaultError
from flowno_core.testing.flows import stitched_ports
from flowno_core.testing.strategies import flow_specs
from flowno_core.tooling.analysis import check_flow
from flowno_core.tooling.wiring import cycles

# -- the broken scripts, in a subprocess ---------------------------------------------------------------
EXPECTED = {
    "too_many_arguments.py": (
        1,
        [
            "too_many_arguments.py:12: error: f: total (Add) is given 3 arguments, but Add(a, b) takes 2; "
            "the run would fail with a TypeError",
            "    hint: remove the extra argument (the constant 3), or add a parameter to Add",
            "f: 1 error (4 nodes)",
        ],
    ),
    "unconnected_input.py": (
        1,
        [
            "unconnected_input.py:17: error: f: input 'b' of total (Add) is not connected and has no default value",
            "    hint: pass an argument for 'b' where total (Add) is created, or give 'b' a default in the "
            "definition of Add",
            "unconnected_input.py:18: error: f: input 'factor' of scaled (Scale) is not connected and has no "
            "default value",
            "note: the script stopped at the end of the `with` block of f (unconnected_input.py:16); what it "
            "defines after that was not checked",
            "f: 2 errors (3 nodes)",
        ],
    ),
    "stuck_cycle.py": (
        1,
        [
            "stuck_cycle.py:17: error: f: the cycle of inc (Inc), double (Double) cannot start: every member "
            "has an input from inside the cycle without a default (inc (Inc): 'value'; double (Double): 'value')",
            "    hint: give 'value' a default in the definition of Inc (or do the same for another member of "
            "the cycle)",
            "f: 1 error (2 nodes)",
        ],
    ),
    "stream_from_plain_producer.py": (
        0,
        [
            "stream_from_plain_producer.py:19: warning: f: input 'words' of loud (Shout) is declared in "
            "stream_in, but text (Text) does not stream: it arrives as a stream of one item",
            "    hint: make the producer an async generator that yields its chunks, or remove 'words' from "
            "stream_in to receive the value itself",
            "f: OK, 1 warning (2 nodes)",
        ],
    ),
    "undeclared_stream.py": (
        0,
        [
            "undeclared_stream.py:14: warning: f: loud (Shout) iterates 'words' with `async for`, but 'words' "
            "is not declared in stream_in: it receives the final value of words (Words), not its stream",
            '    hint: declare it: @node(stream_in=["words"])',
            "f: OK, 1 warning (3 nodes)",
        ],
    ),
    "no_flow.py": (
        1,
        [
            "no_flow.py: error: no module-level FlowHDL found",
            "    hint: define the flow at module level: `with FlowHDL() as f:` outside any function and "
            'outside the `if __name__ == "__main__":` block',
        ],
    ),
}


def test_every_broken_script_has_its_expectation():
    assert {path.name for path in BROKEN.glob("*.py")} == set(EXPECTED) | {"unknown_keyword.py"}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_check_reports_the_mistake_with_a_hint(script):
    status, lines = EXPECTED[script]
    result = run_cli("check", script, cwd=BROKEN)
    assert result.returncode == status, result.stdout + result.stderr
    printed = result.stdout.splitlines()
    for line in lines:
        assert line in printed, (line, printed)
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unknown_keyword_is_a_load_error_of_one_line_with_its_location():
    result = run_cli("check", "unknown_keyword.py", cwd=BROKEN)
    assert result.returncode == 2
    first, *rest = result.stdout.splitlines()
    assert first.startswith("unknown_keyword.py:12: error: TypeError: ")
    assert "unexpected keyword argument 'c'" in first
    assert all(line.startswith("    hint: ") for line in rest)  # a hint line only if the error carries one
    assert "Traceback" not in result.stdout + result.stderr


def test_the_main_block_does_not_run():
    result = run_cli("check", "stuck_cycle.py", cwd=BROKEN)
    assert "MAIN BLOCK RAN" not in result.stdout + result.stderr


def test_check_passes_the_quickstart_and_reports_it_as_json():
    result = run_cli("check", "examples/quickstart.py", "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == {
        "script": "examples/quickstart.py",
        "exit_status": 0,
        "flows": [{"name": "f", "nodes": 5, "errors": 0, "warnings": 0}],
        "findings": [],
        "load_error": None,
        "notes": [],
    }


def test_json_findings_name_flow_node_port_and_hint():
    result = run_cli("check", "unconnected_input.py", "--format", "json", cwd=BROKEN)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["exit_status"] == 1
    assert report["flows"] == [{"name": "f", "nodes": 3, "errors": 2, "warnings": 0}]
    assert report["findings"][1] == {
        "severity": "error",
        "kind": "unconnected-input",
        "flow": "f",
        "node": "scaled (Scale)",
        "port": "factor",
        "message": "input 'factor' of scaled (Scale) is not connected and has no default value",
        "hint": "pass an argument for 'factor' where scaled (Scale) is created, or give 'factor' a default in "
        "the definition of Scale",
        "location": "unconnected_input.py:18",
    }


def test_json_load_error():
    result = run_cli("check", "unknown_keyword.py", "--format", "json", cwd=BROKEN)
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["exit_status"] == 2 and report["flows"] == [] and report["findings"] == []
    assert report["load_error"]["type"] == "TypeError"
    assert report["load_error"]["location"] == "unknown_keyword.py:12"


def test_what_the_script_prints_goes_to_stderr_so_json_stays_parseable(tmp_path):
    script = tmp_path / "chatty.py"
    script.write_text(
        "from flowno_core import FlowHDL, node\n"
        "print('hello from the script')\n"
        "@node\n"
        "async def One() -> int:\n"
        "    return 1\n"
        "with FlowHDL() as f:\n"
        "    f.one = One()\n"
    )
    result = run_cli("check", str(script), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["flows"] == [{"name": "f", "nodes": 1, "errors": 0, "warnings": 0}]
    assert "hello from the script" in result.stderr


def test_load_errors_print_one_line_with_location_and_the_errors_hint(tmp_path):
    (tmp_path / "syntax.py").write_text("x = 1\ndef broken(:\n")
    (tmp_path / "hinted.py").write_text(
        "error = ValueError('the config is missing\\nsecond line')\n"
        "error.add_note('hint: create config.toml')\n"
        "raise error\n"
    )
    syntax = run_cli("check", "syntax.py", cwd=tmp_path)
    assert syntax.returncode == 2
    assert syntax.stdout.splitlines()[0].startswith("syntax.py:2: error: SyntaxError: ")
    hinted = run_cli("check", "hinted.py", cwd=tmp_path)
    assert hinted.returncode == 2
    assert hinted.stdout.splitlines() == [
        "hinted.py:3: error: ValueError: the config is missing",
        "    hint: create config.toml",
    ]
    missing = run_cli("check", "no/such/script.py", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stdout.splitlines() == ["no/such/script.py: error: FileNotFoundError: no such file: no/such/script.py"]
    for result in (syntax, hinted, missing):
        assert "Traceback" not in result.stdout + result.stderr


def test_flows_before_a_failing_block_are_still_checked(tmp_path):
    script = tmp_path / "two.py"
    script.write_text(
        "from flowno_core import FlowHDL, node\n"
        "@node\n"
        "async def Add(a, b):\n"
        "    return a + b\n"
        "with FlowHDL() as first:\n"
        "    first.sum = Add(1, 2, 3)\n"
        "with FlowHDL() as second:\n"
        "    second.sum = Add(1)\n"
    )
    result = run_cli("check", "two.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "first: 1 error (4 nodes)" in result.stdout
    assert "second: 1 error (2 nodes)" in result.stdout  # its Add and the constant 1
    assert "two.py:8: error: second: input 'b' of sum (Add) is not connected and has no default value" in result.stdout


# -- the analysis, in process --------------------------------------------------------------------------
@node
async def Words(text: str):
    for word in text.split():
        yield word


@node(stream_in=["words"])
async def Joined(words: Stream[str]) -> str:
    return " ".join([word async for word in words])


@node
async def Gathered(words) -> list[str]:
    return [word async for word in words]  # an async comprehension over an undeclared stream


@node
async def Inc(value: int) -> int:
    return value + 1


@node
class Counter:
    count = 0

    async def call(self, tick: int) -> int:
        self.count += tick
        return self.count


def kinds(findings):
    return [(finding.kind, finding.node, finding.port) for finding in findings]


def test_a_clean_streaming_flow_has_no_findings():
    with FlowHDL() as f:
        f.words = Words("a b c")
        f.joined = Joined(f.words)
    assert check_flow("f", f._flow.nodes) == []


def test_a_class_node_with_too_many_arguments():
    with FlowHDL() as f:
        f.counter = Counter(1, 2)
    (finding,) = check_flow("f", f._flow.nodes)
    assert kinds([finding]) == [("too-many-arguments", "counter (Counter)", None)]
    assert "Counter(tick) takes 1" in finding.message


def test_an_async_comprehension_over_an_undeclared_stream_is_found():
    with FlowHDL() as f:
        f.words = Words("a b")
        f.gathered = Gathered(f.words)
    (finding,) = check_flow("f", f._flow.nodes)
    assert kinds([finding]) == [("undeclared-stream", "gathered (Gathered)", "words")]
    assert finding.hint == 'declare it: @node(stream_in=["words"])'
    assert finding.location is not None and finding.location.endswith(f"test_check.py:{Gathered.__wrapped__.__code__.co_firstlineno + 2}")


def test_a_stream_input_fed_by_a_constant_is_a_warning():
    with FlowHDL() as f:
        f.joined = Joined("not a stream")
    (finding,) = check_flow("f", f._flow.nodes)
    assert finding.severity == "warning"
    assert "the constant 'not a stream' does not stream" in finding.message


def test_every_stuck_cycle_is_reported_errors_before_warnings():
    with FlowHDL() as f:
        f.a = Inc(f.b)
        f.b = Inc(f.a)
        f.loop = Inc(f.loop)
        f.joined = Joined("x")
    assert kinds(check_flow("f", f._flow.nodes)) == [
        ("stuck-cycle", "a (Inc)", "value"),
        ("stuck-cycle", "loop (Inc)", "value"),
        ("stream-from-plain-producer", "joined (Joined)", "words"),
    ]


def test_library_operators_raise_no_false_alarm():
    from flowno_nodes import batch, collect, count_items, from_iterable, keep, merge

    with FlowHDL() as f:
        f.raw = from_iterable([1, 2, 3])
        f.other = from_iterable([4, 5])
        f.valid = keep(f.raw, lambda x: x > 1)
        f.both = merge(f.valid, f.other)  # a node class written by hand, taking *streams
        f.batches = batch(f.both, size=2)
        f.result = collect(f.batches)
        f.kept = count_items(f.valid)
        f.joined = Joined(f.both)
    assert check_flow("f", f._flow.nodes) == []


@settings(max_examples=60, deadline=None)
@given(flow_specs(cycles=True, breakable=None, max_nodes=6))
def test_cycle_starts_agree_with_the_reference_model_and_the_runtime_check(spec):
    f = spec.build()
    found = cycles(f._flow.nodes)
    expected = stitched_ports(spec)
    index = {id(node): i for i, node in enumerate(spec.finalized_nodes(f))}
    if expected is None:
        assert found.stuck
    else:
        assert not found.stuck
        assert {(index[id(start.node)], port) for start in found.starts for port in start.ports} == expected
    runtime_stuck = any(isinstance(problem, MissingDefaultError) for problem in f._flow.check())
    reported = any(finding.kind == "stuck-cycle" for finding in check_flow("f", f._flow.nodes))
    assert reported == runtime_stuck == (expected is None)

