"""Library logging: a NullHandler by default, flowno's FLOWNO_LOG_* variables when set (SPEC §0.2)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from flowno_core import _logging


def test_the_library_logger_has_only_a_null_handler_by_default():
    logger = logging.getLogger("flowno_core")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


def run_with_env(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)


def test_flowno_log_level_sends_records_to_the_console(tmp_path):
    code = "import logging, flowno_core; logging.getLogger('flowno_core.x').warning('hello %s', 'there')"
    import os

    env = {**os.environ, "FLOWNO_LOG_LEVEL": "warning"}
    result = run_with_env(env, code)
    assert "hello there" in result.stderr
    quiet = run_with_env({k: v for k, v in os.environ.items() if not k.startswith("FLOWNO_LOG")}, code)
    assert "hello there" not in quiet.stderr


def test_flowno_log_file_and_console_switch(tmp_path):
    import os

    log_file = tmp_path / "flow.log"
    env = {**os.environ, "FLOWNO_LOG_LEVEL": "INFO", "FLOWNO_LOG_FILE": str(log_file), "FLOWNO_LOG_CONSOLE": "false"}
    code = "import logging, flowno_core; logging.getLogger('flowno_core.y').info('to the file')"
    result = run_with_env(env, code)
    assert "to the file" not in result.stderr
    assert "to the file" in log_file.read_text()


def test_tag_filter_keeps_only_the_listed_tags():
    keep = _logging.TagFilter(["flow"])
    record = logging.LogRecord("flowno_core", logging.INFO, __file__, 1, "m", None, None)
    assert keep.filter(record) is False  # untagged records count as "all", which is not "flow"
    record.tag = "FLOW"
    assert keep.filter(record) is True
    assert _logging.TagFilter(["all"]).filter(record) is True


def test_propagate_variable():
    logger = logging.getLogger("flowno_core")
    before = logger.propagate
    try:
        _logging.configure_from_environment({"FLOWNO_LOG_PROPAGATE": "false"})
        assert logger.propagate is False
        _logging.configure_from_environment({"FLOWNO_LOG_PROPAGATE": "true"})
        assert logger.propagate is True
    finally:
        logger.propagate = before


FLOW_CODE = """
from flowno_core import FlowHDL, node

@node
async def Words():
    yield "a"
    yield "b"

@node
async def Fails(text: str) -> int:
    raise ValueError(text)

with FlowHDL() as f:
    f.words = Words()
    f.bad = Fails(f.words)
try:
    f.run_until_complete()
except ValueError:
    pass
"""


def test_debug_level_logs_a_run_naming_nodes_as_written():
    env = {**os.environ, "FLOWNO_LOG_LEVEL": "DEBUG"}
    lines = run_with_env(env, FLOW_CODE).stderr.splitlines()
    messages = [line.split("flowno_core.flow:", 1)[1] for line in lines if "flowno_core.flow:" in line]
    assert messages[0].startswith("run of <Flow#") and messages[0].endswith("started")
    assert "words (Words): evaluation started" in messages
    assert "words (Words): published chunk ('a',) at generation (0, 0)" in messages
    assert "bad (Fails): failed: ValueError('ab')" in messages
    assert not any("Constant" in message for message in messages)  # the hidden constants are not logged


def test_debug_logging_by_tag_and_nothing_at_the_default_level():
    only_flow = run_with_env({**os.environ, "FLOWNO_LOG_LEVEL": "DEBUG", "FLOWNO_LOG_TAG_FILTER": "flow"}, FLOW_CODE)
    tagged = [line for line in only_flow.stderr.splitlines() if "flowno_core.flow:" in line]
    assert tagged and all("run of" in line for line in tagged)
    quiet = run_with_env({key: value for key, value in os.environ.items() if not key.startswith("FLOWNO_LOG")}, FLOW_CODE)
    assert quiet.stderr == ""
