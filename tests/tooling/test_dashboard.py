"""The live dashboard over HTTP on loopback: the page, the event stream, bad requests, the command
line, and that nothing is left running afterwards."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from dashhelpers import LABELS, EventReader, gated_flow, nodes_by_label
from flowno_core import FlowHDL, node
from flowno_core.errors import TerminateLimitReached
from flowno_core.instrumentation import FlowInstrument
from flowno_core.tooling.dashboard import Dashboard
from flowno_core.tooling.dashboard.layout import columns_of, cycle_edges, layered_layout
from flowno_core.tooling.dashboard.server import _FlowView
from toolhelpers import ROOT

TIMEOUT = 20.0


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def dashboard_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "flowno_core-dashboard" and t.is_alive()]


# ------------------------------------------------------------------------------------- layout
def test_layout_puts_every_edge_left_to_right_except_the_ones_closing_a_cycle():
    nodes = list(range(6))
    edges = [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4), (4, 1), (5, 5), (0, 4)]
    layout = layered_layout(nodes, edges, {n: 100.0 + 10 * n for n in nodes})
    assert layout.back_edges == {(4, 1), (5, 5)}
    for source, target in edges:
        if (source, target) not in layout.back_edges:
            assert layout.boxes[source].column < layout.boxes[target].column
    for a in nodes:  # no two boxes overlap
        for b in nodes:
            if a < b:
                one, two = layout.boxes[a], layout.boxes[b]
                apart_x = one.x + one.width <= two.x or two.x + two.width <= one.x
                apart_y = one.y + one.height <= two.y or two.y + two.height <= one.y
                assert apart_x or apart_y, (a, b)
    assert all(0 <= box.x and box.x + box.width <= layout.width for box in layout.boxes.values())
    assert all(0 <= box.y and box.y + box.height <= layout.height for box in layout.boxes.values())
    assert layered_layout(nodes, edges, {n: 100.0 for n in nodes}) == layered_layout(nodes, edges, {n: 100.0 for n in nodes})


def test_layout_pieces_on_their_own():
    assert cycle_edges([0, 1, 2], [(0, 1), (1, 2), (2, 0)]) == {(2, 0)}
    assert columns_of([0, 1, 2, 3], [(0, 3), (1, 2), (2, 3)]) == {0: 0, 1: 0, 2: 1, 3: 2}
    empty = layered_layout([], [], {})
    assert empty.boxes == {} and empty.width > 0
    deep = list(range(3000))  # no recursion on depth
    assert layered_layout(deep, list(zip(deep, deep[1:])), {}).boxes[2999].column == 2999


def test_chunk_rates_are_measured_over_a_window_and_fall_to_zero_when_quiet():
    view = _FlowView(0, "flow 1")
    view.set_graph("flow 1", [(0, "source (Numbers)", "Numbers")], [])
    view.set_state(10.0, "running", 1, [("running", [0, 0], 0, 0, 0)])
    view.set_state(11.0, "running", 1, [("running", [0, 9], 0, 0, 10)])
    assert view.state()["nodes"][0]["chunks_per_second"] == 10.0
    view.set_state(12.0, "running", 1, [("running", [0, 19], 0, 0, 20)])
    assert view.state()["nodes"][0]["chunks_per_second"] == 10.0
    assert view.measure(13.5) is True  # quiet since 12.0: the window still holds the last second
    assert 0 < view.state()["nodes"][0]["chunks_per_second"] < 10.0
    view.measure(14.5)
    assert view.state()["nodes"][0]["chunks_per_second"] == 0.0


# ------------------------------------------------------------------------------------- HTTP
def test_page_and_assets_are_served_from_the_package():
    with Dashboard(port=0, announce=False) as dash:
        assert dash.url == f"http://127.0.0.1:{dash.port}/"
        status, headers, body = get(dash.url)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b'<script src="/dashboard.js"' in body and b"://" not in body  # nothing from elsewhere
        status, headers, script = get(dash.url + "dashboard.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert b"EventSource" in script and b"innerHTML" not in script  # text goes in as text only
        assert set(re.findall(rb"\w+://[^\"' ]+", script)) == {b"http://www.w3.org/2000/svg"}  # (a namespace)
        status, headers, style = get(dash.url + "dashboard.css")
        assert status == 200 and headers["content-type"].startswith("text/css") and b"://" not in style
        assert "default-src 'self'" in headers["content-security-policy"]
        status, headers, body = get(dash.url + "state")
        assert status == 200 and json.loads(body)["state"]["flows"] == []


def test_bad_requests_are_answered_and_the_dashboard_keeps_serving():
    with Dashboard(port=0, announce=False) as dash:
        assert get(dash.url + "no-such-page")[0] == 404
        assert get(dash.url + "events/../../etc/passwd")[0] == 404
        connection = http.client.HTTPConnection("127.0.0.1", dash.port, timeout=TIMEOUT)
        connection.request("POST", "/", body=b"x")
        assert connection.getresponse().status == 405
        connection.close()
        assert get(dash.url, headers={"X-Huge": "x" * 40_000})[0] == 431
        with socket.create_connection(("127.0.0.1", dash.port), timeout=TIMEOUT) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        assert get(dash.url)[0] == 200


def test_the_event_stream_sends_every_node_by_label_with_advancing_counters():
    gate = threading.Event()
    flow = gated_flow(gate)

    def on_state(state):
        if state["flows"] and nodes_by_label(state["flows"][0]).get("source (Numbers)", {}).get("chunks") == 1:
            gate.set()  # seen the first chunk while the source waits: let it go on

    with Dashboard(port=0, interval=0.05, announce=False) as dash:
        reader = EventReader(dash.url, on_state).start()
        assert dash.wait_for_clients(1, timeout=TIMEOUT)
        flow.run_until_complete()
    reader.join()
    assert gate.is_set()
    assert [event.event for event in reader.events][-1] == "end"
    graphs = reader.parsed("graph")
    drawn = graphs[-1]["flows"][0]
    assert {n["label"] for n in drawn["nodes"]} == LABELS  # (the hidden Constant(3) is not drawn)
    by_id = {n["id"]: n["label"] for n in drawn["nodes"]}
    assert {(by_id[e["source"]], by_id[e["target"]], e["streaming"], e["port"]) for e in drawn["edges"]} == {
        ("source (Numbers)", "total (Total)", True, "values"),
        ("total (Total)", "double (Double)", False, "x"),
    }
    states = [s["flows"][0] for s in reader.parsed("state") if s["flows"]]
    for state in states:
        assert set(nodes_by_label(state)) == LABELS
    chunks = [nodes_by_label(s)["source (Numbers)"]["chunks"] for s in states]
    assert chunks == sorted(chunks) and chunks[0] == 0 and 1 in chunks and chunks[-1] == 3
    final = nodes_by_label(states[-1])
    assert states[-1]["run"] == "completed" and states[-1]["runs"] == 1
    assert {label: final[label]["evaluations"] for label in LABELS} == dict.fromkeys(LABELS, 1)
    assert final["double (Double)"]["generation"] == [0] and final["total (Total)"]["failed"] == 0
    assert any(n["phase"] == "stalled" for s in states for n in s["nodes"] if n["label"] == "total (Total)")
    assert flow.double.get_data() == (6,)


def test_a_failing_node_shows_in_the_latest_errors():
    gate = threading.Event()
    gate.set()
    flow = gated_flow(gate, fail=True)
    with Dashboard(port=0, announce=False) as dash:
        with pytest.raises(ValueError, match="refusing to double 3"):
            flow.run_until_complete()
        state = json.loads(get(dash.url + "state")[2])["state"]
    flow_state = state["flows"][0]
    assert flow_state["run"] == "failed"
    assert nodes_by_label(flow_state)["double (Double)"]["failed"] == 1
    [error] = state["errors"]
    assert error["node"] == "double (Double)" and error["generation"] == [0]
    assert error["error"] == "ValueError: refusing to double 3"


def test_it_joins_the_active_instrument_and_counts_every_run_of_a_flow():
    class Counter(FlowInstrument):
        def __init__(self):
            super().__init__()
            self.starts = 0

        def on_flow_start(self, flow):
            self.starts += 1

    @node
    async def Inc(x: int = 0) -> int:
        return x + 1

    with FlowHDL() as f:
        f.inc = Inc(f.inc)
    with Counter() as counter, Dashboard(port=0, announce=False) as dash:
        for limit in (2, 4):
            with pytest.raises(TerminateLimitReached):
                f.run_until_complete(stop_at_node_generation=(limit,))
        state = json.loads(get(dash.url + "state")[2])
    assert counter.starts == 2
    [drawn] = state["graph"]["flows"]
    assert [e["back"] for e in drawn["edges"]] == [True]  # the cycle's edge is drawn going back
    [flow_state] = state["state"]["flows"]
    assert flow_state["runs"] == 2 and flow_state["run"] == "limit reached"
    assert nodes_by_label(flow_state)["inc (Inc)"]["generation"] == [4]


def test_nothing_is_left_running_after_the_block():
    before = dashboard_threads()
    with Dashboard(port=0, announce=False) as dash:
        port = dash.port
        reader = EventReader(dash.url).start()
        assert dash.wait_for_clients(1, timeout=TIMEOUT)
        assert len(dashboard_threads()) == len(before) + 1
    reader.join()  # the open stream got its end event
    assert dash.clients == 0
    assert dashboard_threads() == before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
    with pytest.raises(RuntimeError, match="closed"):
        dash.start()


def test_a_port_in_use_is_named_in_the_error():
    with Dashboard(port=0, announce=False) as dash:
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{dash.port} .*choose another port, or 0"):
            Dashboard(port=dash.port, announce=False).start()


def test_announce_prints_the_url_to_stderr(capsys):
    with Dashboard(port=0) as dash:
        pass
    assert capsys.readouterr().err == f"flowno_core: dashboard at {dash.url}\n"


# ------------------------------------------------------------------------------------- command line
SCRIPT = textwrap.dedent(
    """
    import sys
    from flowno_core import FlowHDL, node

    @node
    async def Numbers(count: int):
        for index in range(count):
            yield index

    @node(stream_in=["values"])
    async def Total(values):
        total = 0
        async for value in values:
            total += value
        return total

    with FlowHDL() as f:
        f.source = Numbers(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
        f.total = Total(f.source)
    """
)


def cli(*args: str, **options):
    return subprocess.Popen(
        [sys.executable, "-m", "flowno_core", *args], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options,
    )


def test_run_dashboard_serves_during_the_run_and_ends_with_it(tmp_path: Path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    process = cli("run", "--dashboard", str(script))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert err.startswith("flowno_core: dashboard at http://127.0.0.1:")
    assert "running flow 'f'" in err
    process = cli("run", "--dashboard", "0", str(script), "5")  # a port, then the script and its argument
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    process = cli("run", "--dashboard")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "the script to run is missing" in err


def test_run_dashboard_keep_serves_the_last_state_until_ctrl_c(tmp_path: Path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    process = cli("run", "--dashboard", "--dashboard-keep", str(script), "4")
    try:
        assert process.stderr is not None
        lines = []
        while not lines or "stays at" not in lines[-1]:
            line = process.stderr.readline()
            assert line, f"the command ended early: {lines}"
            lines.append(line)
        url = lines[-1].split("stays at ")[1].split()[0]
        state = json.loads(get(url + "state")[2])["state"]
        assert nodes_by_label(state["flows"][0])["source (Numbers)"]["chunks"] == 4
        assert state["flows"][0]["run"] == "completed"
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
        assert process.returncode == 0, rest
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_the_cli_dashboard_imports_nothing_when_not_asked(tmp_path: Path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT + "\nimport sys\nprint(sorted(m for m in sys.modules if 'dashboard' in m or 'opentelemetry' in m))\n")
    process = cli("run", str(script))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip() == "[]"
