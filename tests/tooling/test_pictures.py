"""Pictures of flows: DOT and Mermaid parsed back line by line (right boxes, arrows, styles, escaping),
``python -m flowno_core graph`` in a subprocess, and the README's picture of the quickstart."""

from __future__ import annotations

import os
import re
import runpy
import shutil
import sys

import pytest
from toolhelpers import BROKEN, ROOT, run_cli

from flowno_core import FlowHDL, Stream, node
from flowno_core.tooling.pictures import to_dot, to_mermaid

# -- parsers: every line of a picture must match the grammar the renderers promise ----------------------
DOT_STRING = r'"((?:[^"\\]|\\.)*)"'
DOT_HEADER = re.compile(rf"^digraph {DOT_STRING} \{{$")
DOT_BOX = re.compile(rf"^  (n\d+) \[label={DOT_STRING}\];$")
DOT_ARROW = re.compile(rf'^  (n\d+) -> (n\d+) \[label={DOT_STRING}(?:, style="([a-z,]+)")?\];$')
MERMAID_BOX = re.compile(r'^\s+(n\d+)\["([^"]*)"\]$')
MERMAID_ARROW = re.compile(r'^    (n\d+) (-->|-\.->|==>)\|"([^"]*)"\| (n\d+)$')
MERMAID_KINDS = {"-->": "plain", "-.->": "stream", "==>": "start"}


def dot_unescape(text: str) -> list[str]:
    """The lines of a DOT label: ``\\n`` separates lines, ``\\x`` is ``x`` otherwise."""
    lines, current, chars = [], [], iter(text)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            if escaped == "n":
                lines.append("".join(current))
                current = []
            else:
                current.append(escaped)
        else:
            current.append(char)
    return lines + ["".join(current)]


def mermaid_unescape(text: str) -> list[str]:
    """The lines of a Mermaid label, after checking that no syntax or HTML character is left raw."""
    pieces = text.split("<br/>")
    for piece in pieces:
        raw = re.sub(r"#\d+;", "", piece)
        assert not set(raw) & set('"#%&<>|`\\;'), piece
    return [re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), piece) for piece in pieces]


def parse_dot(text: str) -> tuple[str, dict[str, list[str]], set[tuple[str, str, str, str]]]:
    """(graph name, {box: label lines}, {(source label, target label, arrow label, style)})."""
    lines = text.splitlines()
    header = DOT_HEADER.match(lines[0])
    assert header, lines[0]
    assert lines[1:3] == ["  rankdir=LR;", "  node [shape=box];"] and lines[-1] == "}"
    boxes: dict[str, list[str]] = {}
    arrows = []
    for line in lines[3:-1]:
        box, arrow = DOT_BOX.match(line), DOT_ARROW.match(line)
        assert box or arrow, line
        if box:
            boxes[box.group(1)] = dot_unescape(box.group(2))
        else:
            source, target, label, style = arrow.groups()  # type: ignore[union-attr]
            arrows.append((source, target, "".join(dot_unescape(label)), style or ""))
    name = "".join(dot_unescape(header.group(1)))
    return name, boxes, {(boxes[s][0], boxes[t][0], label, style) for s, t, label, style in arrows}


def parse_mermaid(text: str) -> tuple[dict[str, list[str]], set[tuple[str, str, str, str]]]:
    """({box: label lines}, {(source label, target label, arrow label, kind)})."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    boxes: dict[str, list[str]] = {}
    arrows = []
    for line in lines[1:]:
        if MERMAID_FRAME.match(line) or line.strip() == "end":
            continue  # (frames: see ``mermaid_frames``)
        box, arrow = MERMAID_BOX.match(line), MERMAID_ARROW.match(line)
        assert box or arrow, line
        if box:
            boxes[box.group(1)] = mermaid_unescape(box.group(2))
        else:
            source, link, label, target = arrow.groups()  # type: ignore[union-attr]
            arrows.append((source, target, "".join(mermaid_unescape(label)), MERMAID_KINDS[link]))
    return boxes, {(boxes[s][0], boxes[t][0], label, kind) for s, t, label, kind in arrows}


MERMAID_FRAME = re.compile(r'^\s*subgraph (g\d+) \["(.*)"\]$')


def mermaid_frames(text: str) -> dict[str, list[str]]:
    """{frame label: ids of the boxes inside it, at any depth}."""
    frames: dict[str, list[str]] = {}
    open_frames: list[str] = []
    for line in text.splitlines()[1:]:
        frame = MERMAID_FRAME.match(line)
        if frame:
            label = "".join(mermaid_unescape(frame.group(2)))
            open_frames.append(label)
            frames[label] = []
        elif line.strip() == "end":
            open_frames.pop()
        elif (box := MERMAID_BOX.match(line)) is not None:
            for label in open_frames:
                frames[label].append(box.group(1))
    assert not open_frames
    return frames


def quickstart() -> FlowHDL:
    return runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="quickstart_picture")["f"]


QUICKSTART_BOXES = [
    ["words (Words)", "text = 'streams flow through flowno core while…"],
    ["loud (Shout)"],
    ["show (Show)"],
    ["count (Count)"],
]


# -- the pictures, in process ----------------------------------------------------------------------------
def test_quickstart_dot_has_named_boxes_folded_constant_and_dashed_streams():
    name, boxes, arrows = parse_dot(quickstart().to_dot("f"))
    assert name == "f"
    assert list(boxes.values()) == QUICKSTART_BOXES  # the constant is in Words' box, not a box of its own
    assert arrows == {
        ("words (Words)", "loud (Shout)", "0 → words", "dashed"),
        ("loud (Shout)", "show (Show)", "0 → words", "dashed"),
        ("loud (Shout)", "count (Count)", "0 → text", ""),
    }


def test_quickstart_mermaid_draws_the_same_graph_with_dotted_streams():
    boxes, arrows = parse_mermaid(quickstart().to_mermaid())
    assert list(boxes.values()) == QUICKSTART_BOXES
    assert arrows == {
        ("words (Words)", "loud (Shout)", "0 → words", "stream"),
        ("loud (Shout)", "show (Show)", "0 → words", "stream"),
        ("loud (Shout)", "count (Count)", "0 → text", "plain"),
    }


@node
async def Increment(value: int = 0) -> int:
    return value + 1


@node
async def Double(value: int) -> int:
    return value * 2


@node
async def Add(a: int, b: int) -> int:
    return a + b


@node(stream_in=["items"])
async def Relay(items: Stream[int] | None = None):
    if items is None:
        yield 0
    else:
        async for item in items:
            yield item + 1


def test_the_input_whose_default_starts_a_cycle_is_marked():
    with FlowHDL() as f:
        f.inc = Increment(f.dbl)
        f.dbl = Double(f.inc)
        f.total = Add(f.total, 5)  # a self-loop without a default: stuck, nothing to mark
        f.relay = Relay(f.relay)  # a streaming self-loop started by its default
    _, boxes, arrows = parse_dot(f.to_dot())
    assert arrows == {
        ("dbl (Double)", "inc (Increment)", "0 → value (starts with default 0)", "bold"),
        ("inc (Increment)", "dbl (Double)", "0 → value", ""),
        ("total (Add)", "total (Add)", "0 → a", ""),
        ("relay (Relay)", "relay (Relay)", "0 → items (starts with default None)", "dashed,bold"),
    }
    assert boxes["n2"] == ["total (Add)", "b = 5"]
    _, drawn = parse_mermaid(f.to_mermaid())
    assert ("dbl (Double)", "inc (Increment)", "0 → value (starts with default 0)", "start") in drawn
    assert ("relay (Relay)", "relay (Relay)", "0 → items (starts with default None)", "stream") in drawn


@node.template
def AddThenDouble(view, x, y=1):
    view.added = Add(x, y)
    return Double(view.added)


def test_a_templates_nodes_are_drawn_in_a_frame_named_as_the_call_was_assigned():
    with FlowHDL() as f:
        f.result = AddThenDouble(2)
        f.again = AddThenDouble(f.result)
    text = f.to_mermaid()
    boxes, arrows = parse_mermaid(text)
    assert [lines[0] for lines in boxes.values()] == ["added (Add)", "result (Double)", "added (Add)", "again (Double)"]
    assert boxes["n0"] == ["added (Add)", "a = 2", "b = 1"]  # the template's arguments, as constants
    assert mermaid_frames(text) == {"result (AddThenDouble)": ["n0", "n1"], "again (AddThenDouble)": ["n2", "n3"]}
    assert ("result (Double)", "added (Add)", "0 → a", "plain") in arrows
    dot = f.to_dot()
    assert dot.count("subgraph cluster_") == 2 and 'label="again (AddThenDouble)";' in dot


HOSTILE_CLASS = 'Ev"il<b>]; x-->y %% |#`'
HOSTILE_NAME = 'we"ird\nname\\l'
HOSTILE_VALUE = '"]; n9["pwned\n#35;|x|<br/>&amp;'


def hostile_flow() -> FlowHDL:
    async def source(a, b=1):
        return a

    source.__name__ = HOSTILE_CLASS
    Evil = node(source)
    with FlowHDL() as f:
        setattr(f, HOSTILE_NAME, Evil(HOSTILE_VALUE))
        f.ok = Evil(getattr(f, HOSTILE_NAME))
    return f


def test_hostile_names_and_values_cannot_break_dot():
    name, boxes, arrows = parse_dot(hostile_flow().to_dot('g"raph\n'))
    assert name == 'g"raph\\x0a'  # unprintable characters are shown, never written raw
    assert list(boxes.values()) == [
        [f"we\"ird\\x0aname\\l ({HOSTILE_CLASS})", f"a = {HOSTILE_VALUE!r}"],
        [f"ok ({HOSTILE_CLASS})"],
    ]
    assert arrows == {(boxes["n0"][0], boxes["n1"][0], "0 → a", "")}


def test_hostile_names_and_values_cannot_break_mermaid():
    boxes, arrows = parse_mermaid(hostile_flow().to_mermaid())
    assert list(boxes.values()) == [
        [f"we\"ird\nname\\l ({HOSTILE_CLASS})", f"a = {HOSTILE_VALUE!r}"],
        [f"ok ({HOSTILE_CLASS})"],
    ]
    assert arrows == {(boxes["n0"][0], boxes["n1"][0], "0 → a", "plain")}


def test_flowhdl_methods_delegate_to_the_pictures_module():
    f = quickstart()
    assert f.to_dot("f") == to_dot(f._flow.nodes, "f")
    assert f.to_mermaid() == to_mermaid(f._flow.nodes)


def test_the_readme_shows_the_quickstart_picture_as_to_mermaid_draws_it_now():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)```", readme, re.DOTALL)
    assert blocks == [quickstart().to_mermaid()]


# -- python -m flowno_core graph ---------------------------------------------------------------------------
def test_graph_prints_dot_by_default_and_mermaid_on_request():
    dot = run_cli("graph", "examples/quickstart.py")
    assert dot.returncode == 0, dot.stderr
    assert dot.stdout == quickstart().to_dot("f")
    mermaid = run_cli("graph", "examples/quickstart.py", "--format", "mermaid")
    assert mermaid.returncode == 0, mermaid.stderr
    assert mermaid.stdout == quickstart().to_mermaid()


def test_graph_of_several_flows_and_choosing_one(tmp_path):
    (tmp_path / "two.py").write_text(
        "from flowno_core import FlowHDL, node\n"
        "@node\n"
        "async def One() -> int:\n"
        "    return 1\n"
        "with FlowHDL() as first:\n"
        "    first.one = One()\n"
        "with FlowHDL() as second:\n"
        "    second.uno = One()\n"
    )
    both = run_cli("graph", "two.py", "--format", "mermaid", cwd=tmp_path)
    assert both.returncode == 0
    assert [line for line in both.stdout.splitlines() if line.startswith("%%")] == ["%% flow first", "%% flow second"]
    chosen = run_cli("graph", "two.py", "--flow", "second", cwd=tmp_path)
    assert chosen.returncode == 0
    assert parse_dot(chosen.stdout)[0] == "second"
    unknown = run_cli("graph", "two.py", "--flow", "third", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "two.py has no flow named 'third' (its flows: first, second)" in unknown.stderr
    svg = run_cli("graph", "two.py", "--format", "svg", cwd=tmp_path)
    assert svg.returncode == 2
    assert "choose one of first, second with --flow NAME" in svg.stderr


def test_graph_of_a_script_without_flows_or_that_cannot_load():
    none = run_cli("graph", "no_flow.py", cwd=BROKEN)
    assert none.returncode == 1
    assert none.stderr.strip() == "flowno_core graph: no_flow.py: no module-level FlowHDL found"
    broken = run_cli("graph", "unknown_keyword.py", cwd=BROKEN)
    assert broken.returncode == 2
    assert broken.stderr.startswith("flowno_core graph: unknown_keyword.py:12: error: TypeError: ")
    assert "Traceback" not in broken.stderr and broken.stdout == ""


def test_svg_without_graphviz_says_what_to_do(tmp_path):
    result = run_cli("graph", "examples/quickstart.py", "--format", "svg", path=str(tmp_path))
    assert result.returncode == 2
    assert "needs Graphviz's `dot` program, which is not on PATH: install Graphviz" in result.stderr
    assert "or use --format dot or --format mermaid" in result.stderr
    assert result.stdout == ""


def test_svg_is_what_dot_makes_of_the_dot_picture(tmp_path):
    fake = tmp_path / "dot"  # records its arguments and input, so the hand-over itself is checked
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "print('<svg>', ' '.join(sys.argv[1:]), sys.stdin.read(), '</svg>', sep='|')\n"
    )
    fake.chmod(0o755)
    result = run_cli("graph", "examples/quickstart.py", "--format", "svg", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"<svg>|-Tsvg|{quickstart().to_dot('f')}|</svg>\n"


@pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it, and there this test must run)",
)
def test_svg_with_graphviz():
    result = run_cli("graph", "examples/quickstart.py", "--format", "svg")
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout and "words (Words)" in result.stdout and "count (Count)" in result.stdout
