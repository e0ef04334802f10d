"""Every script in examples/ runs as a user would start it, and prints what it promises.

The scripts are found by a glob, so a new example is never forgotten: each runs in a subprocess
(``sys.executable``, cwd = the repository root, this source tree first on the path, no
``OPENAI_*``/``FLOWNO_LLM_*`` variables so the LLM examples use their own fake endpoints), must
exit 0 with nothing on stderr, and must print the lines listed for it in ``EXPECTED``. A script
missing from ``EXPECTED`` fails: add the lines that show it did its job.

tests/nodes/test_examples_llm.py checks more of examples/llm_pipeline.py (the file it writes, a
real endpoint and key taken from the environment).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.py"))

# script -> (extra arguments, substrings its stdout must contain); "{tmp}" is a fresh directory
EXPECTED: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "quickstart.py": ((), [
        "STREAMS FLOW THROUGH FLOWNO CORE WHILE THE REST OF THE GRAPH KEEPS WORKING",
        "printed 13 chunks; the final text has 13 words",
    ]),
    "sensor_pipeline.py": ((), [
        (  # four readings fill a batch (the failed read None was dropped by keep)
            "batch 1: 4 readings: mean 21.18, min 21.0, max 21.4\n"
            # the fifth does not wait for the second burst: the batch's 0.1 s run out during the pause
            "batch 2: 1 reading: mean 21.30, min 21.3, max 21.3\n"
            # the last batch is shorter (the glitch 999.0 was dropped); the inlet's close ends it
            "batch 3: 2 readings: mean 21.55, min 21.5, max 21.6\n"
            "kept 7 of 9 readings; run completed\n"
        ),
    ]),
    "llm_pipeline.py": (("--output", "{tmp}/answer.txt", "--prompt", "What is a stream?"), [
        "Asking the local fake endpoint http://127.0.0.1:",
        "[progress] 10 tokens, 10 words",
        "Done: 35 words; wrote 200 bytes to ",
        "Answer: You asked: 'What is a stream?'. Streams let a pipeline start working",
    ]),
    "llm_asyncio_sdk.py": ((), [
        "Asking the local fake endpoint http://127.0.0.1:",
        (  # the answers come back in question order, though the calls overlap
            "Q: What is a stream?\nA: An answer to 'What is a stream?'.\n"
            "Q: Why feedback loops?\nA: An answer to 'Why feedback loops?'.\n"
            "Q: What does the bridge do?\nA: An answer to 'What does the bridge do?'.\n"
        ),
    ]),
    "http_fetch.py": ((), [
        "Serving the weather API at http://127.0.0.1:",
        "  reading 1: 20.5 C (mean so far 20.50)\n",
        "  reading 5: 21.0 C (mean so far 21.20)\n",
        "stations: ['north', 'south']\n  north: offset -1.5 C\n  south: offset +2.0 C\n",
        "5 events streamed; mean 21.20 C",
    ]),
    "error_policies.py": ((), [
        "FetchOrders tried at t = [0.0, 1.0, 3.0] (virtual seconds)",
        "rates: skipped, tolerated (ConnectionError: the rates service is down)",
        "stock: skipped, an error of the run (NodeTimeoutError: node stock (FetchStock) timed out",
        "summary: 'orders worth 135.50 EUR; stock unknown'",
        "alert: 'big day: 135.50 in orders'",
        "delivery: skipped, tolerated (SkipGeneration: no delivery on Sun)",
        "report.ok = False; errors: [('FetchStock#0', 'timed_out')]",
        "run completed in 3.00 s: 11 evaluations, 1 failure, 2 skipped",
        "FetchOrders#0            1         0        0     3.00 s",
    ]),
    "checkpoints.py": ((), [
        "first run: stopped after page 3; fetched pages [0, 1, 2, 3]; outcome cancelled",
        "saved total so far: 99 at generation (2,)",
        "resumed run: fetched pages [3, 4, 5, 6, 7]; total 864",
        "straight run: fetched pages [0, 1, 2, 3, 4, 5, 6, 7]; total 864",
        "resumed == straight: True",
    ]),
    "offload.py": ((), [
        "sha256 of 16 MiB: 341aacac661ccb21... (on a worker thread)",
        "primes below 120000: 11301 (counted in 4 parts in worker processes)",
        "largest prime below 120000: 119993 (to_process)",
        "the loop kept running: 40 heartbeats meanwhile",
        "run completed in ",
    ]),
    "testing_flows.py": ((), [
        "moving average: 40 random cases passed",
        "random flows: 25 random cases passed",
        "example: readings [4, 8, 6, 2], window 2 -> [4.0, 6.0, 7.0, 4.0]",
    ]),
    "pictures_and_tracing.py": ((), [
        "```mermaid\nflowchart LR\n",
        'n0 -.->|"0 → values"| n1',
        'n3 ==>|"0 → count (starts with default 0)"| n3',
        "tracks ['run', 'numbers (Numbers)', 'total (Total)', 'report (Report)', 'counter (Counter)']",
        "7 slices (evaluations and the run), 10 publish marks, 7 hand-off arrows",
        "result: total 6; counter reached 3",
        "0.100s  numbers (Numbers)  gen (0, 0)  chunk: 0",
        "0.750s  Flow#0             run limit reached",
    ]),
    "watch_tokens.py": ((), [
        "streaming: Your order #### ships today. It arrives in # days. Thanks for waiting.\n",
        "final value at generation (0,): 'Your order #### ships today. It arrives in # days. Thanks for waiting.'",
        "13 chunks; run completed",
        "first sentence only: 'Your order #### ships today.'",
    ]),
}


def run_example(name: str, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FLOWNO_LLM_"))}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environment["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        check=False, cwd=ROOT, env=environment, capture_output=True, text=True, encoding="utf-8", timeout=60,
    )


def test_there_are_at_least_eight_examples() -> None:
    assert len(EXAMPLES) >= 8, EXAMPLES


def test_every_expectation_names_an_existing_example() -> None:
    assert sorted(set(EXPECTED) - set(EXAMPLES)) == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs_and_prints_what_it_promises(name: str, tmp_path: Path) -> None:
    assert name in EXPECTED, f"examples/{name} has no entry in EXPECTED (tests/test_examples.py): add the lines it must print"
    args, lines = EXPECTED[name]
    result = run_example(name, tuple(arg.replace("{tmp}", str(tmp_path)) for arg in args))
    assert result.returncode == 0, f"examples/{name} exited with {result.returncode}:\n{result.stderr}"
    assert result.stderr == ""
    missing = [line for line in lines if line not in result.stdout]
    assert missing == [], f"examples/{name} did not print {missing}; it printed:\n{result.stdout}"


def test_every_example_has_a_docstring_saying_how_to_run_it() -> None:
    for name in EXAMPLES:
        source = (ROOT / "examples" / name).read_text(encoding="utf-8")
        assert source.startswith('"""'), f"examples/{name} has no module docstring"
        assert f"examples/{name}" in source.split('"""')[1], f"examples/{name}: the docstring does not say how to run it"
