"""examples/llm_pipeline.py runs as a script: with its own fake endpoint by default, and against the
endpoint given by FLOWNO_LLM_BASE_URL (here a fake one of the tests) with the key from
OPENAI_API_KEY. It runs in a subprocess, as a user would start it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from nodehelpers import ServerThread, chat_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llm_pipeline.py"
KEY = "sk-example-test-13579"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("llm_pipeline_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_example(output: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "FLOWNO_LLM_"))}
    # run against this source tree whatever is installed in the environment
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), "--output", str(output), "--prompt", "What is a stream?"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


def test_example_runs_with_its_own_fake_endpoint(tmp_path: Path):
    output = tmp_path / "answer.txt"
    result = run_example(output)
    assert result.returncode == 0, result.stderr
    expected = "".join(load_example().fake_tokens("What is a stream?"))
    assert output.read_text() == expected.upper()
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Asking the local fake endpoint http://127.0.0.1:")
    assert "[progress] 10 tokens, 10 words" in lines
    assert f"Done: {len(expected.split())} words; wrote {len(expected.encode())} bytes to {output}" in lines
    assert f"Answer: {expected}" in lines


def test_example_uses_the_endpoint_and_key_from_the_environment(tmp_path: Path):
    output = tmp_path / "answer.txt"
    server, log = chat_server(["Real", " endpoint", " answer."], require_key=KEY)
    with ServerThread(server) as url:
        result = run_example(output, FLOWNO_LLM_BASE_URL=url + "/v1", OPENAI_API_KEY=KEY, FLOWNO_LLM_MODEL="m-1")
    assert result.returncode == 0, result.stderr
    assert output.read_text() == "REAL ENDPOINT ANSWER."
    assert log.authorizations == [f"Bearer {KEY}"]
    assert log.requests[0]["model"] == "m-1"
    assert log.requests[0]["messages"][-1] == {"role": "user", "content": "What is a stream?"}
    assert result.stdout.startswith(f"Asking {url}/v1 (model m-1)")
    assert KEY not in result.stdout + result.stderr
