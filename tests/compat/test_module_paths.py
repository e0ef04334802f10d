"""flowno 0.1.19's module paths import under flowno_core with the same public names (issue 16).

flowno_0_1_19_modules.json lists every module of flowno 0.1.19 and its public names; it is made by
generate_flowno_modules.py (the rule for "public" is in that script's docstring), so this test does
not need flowno installed. ``flowno.x.y`` maps to ``flowno_core.x.y``: thin alias modules that
import the names from flowno_core's own modules. NOT_PROVIDED lists, with the reason, the flowno
names that have no flowno_core equivalent; every other name must be there.
"""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flowno_core

MODULES: dict[str, list[str]] = json.loads(Path(__file__).with_name("flowno_0_1_19_modules.json").read_text())

NOT_PROVIDED: dict[str, list[str]] = {
    "flowno's kernel and flow commands (objects yielded to flowno's loop): flowno_core's kernel has its"
    " own smaller command set (flowno_core.lowlevel), reached through traps; code that yielded these by"
    " hand uses sleep, spawn, exit, Event, Lock, the socket methods or Stream instead": [
        "Command", "ConditionNotifyCommand", "ConditionWaitCommand", "EventSetCommand", "EventWaitCommand",
        "ExitCommand", "JoinCommand", "LockAcquireCommand", "LockReleaseCommand", "SleepCommand",
        "SocketAcceptCommand", "SocketCommand", "SocketRecvCommand", "SocketSendCommand", "SpawnCommand",
        "StreamCancelCommand", "StreamCheckCommand", "StreamWaitCommand", "ResumeNodesCommand",
        "TerminateReachedLimitCommand", "TerminateWithExceptionCommand", "WaitForStartNextGenerationCommand",
    ],
    "typing scaffolding of flowno's @node overloads (per-arity protocols, class-call protocols, aliases of"
    " 'any node'): flowno_core types nodes with DraftNode's and FinalizedNode's own generics": [
        "MonoNode", "MonoNode0", "MonoNode0_0", "MonoNode0_1", "MonoNode1", "MonoNode2", "MonoNode_1",
        "StreamingNode", "StreamingNode0", "StreamingNode0_0", "StreamingNode0_1", "StreamingNode1",
        "StreamingNode2", "StreamingNode_1", "MonoDraftOutputPortRef", "StreamingDraftOutputPortRef",
        "ClassCall", "MonoClassCall", "StreamingClassCall", "AnyNode", "ObjectDraftNode", "ObjectFinalizedNode",
        "AnyFinalizedNode", "ObjectNode",
    ],
    "internals of flowno's @node (node factories, metaclass helpers, result wrappers): flowno_core's"
    " decorator is built differently; node and node.template are the API": [
        "create_class_node_subclass_single", "create_func_group_node_subclass", "create_func_node_factory_single",
        "create_func_node_factory_multiple", "node_meta_multiple_dec", "node_meta_single_dec", "EMPTY_LIST",
        "wrap_async_generator_direct", "wrap_async_generator_tuple", "wrap_coroutine_tuple",
        "AsyncGeneratorDirectWrapper", "AsyncGeneratorTupleWrapper",
    ],
    "state of flowno's Flow runtime (its event loop subclass, task records, stream bookkeeping, cycle"
    " super-nodes, the Some/Nothing option type, node contexts): flowno_core's runtime keeps this"
    " private (current_context() gives a node's context)": [
        "FlowEventLoop", "NodeTaskAndStatus", "StreamConsumerState", "StreamStateKey", "SuperNode", "Some",
        "Nothing", "NodeContext", "NodeContextFactoryProtocol", "StreamResult",
    ],
    "type aliases of flowno's internals (raw tasks, time values, stored data, task status)": [
        "AnyRawTask", "DeltaTime", "ObjectRawTask", "RawTask", "RawTaskPacket", "TaskHandlePacket", "Time",
        "DataGeneration", "Status",
    ],
    "helpers that format flowno's MissingDefaultError text; flowno_core's errors build their own": [
        "build_abbreviated_signature", "build_inline_signature", "build_param_text", "build_signature_display",
        "build_underline_line", "format_missing_defaults",
    ],
    "log_async's wrapper classes; flowno_core's log_async wraps without public classes": [
        "AsyncGeneratorWrapper", "CoroutineWrapper",
    ],
    "temporaries of flowno's import-time logging set-up (the parsed FLOWNO_LOG_TAG_FILTER)": [
        "raw_tag_filter", "tag_list",
    ],
    "flowno's one module-global selector; every flowno_core EventLoop owns its selector": ["sel"],
    "flowno's keyed queue of causes for its own scheduler; AsyncSetQueue covers a de-duplicated FIFO": [
        "AsyncMapQueue",
    ],
}
EXCEPTIONS = {name for names in NOT_PROVIDED.values() for name in names}

#: the packages that exist only as flowno's paths; ``import flowno_core`` must not load them
ALIAS_PACKAGES = ("flowno_core.core", "flowno_core.decorators", "flowno_core.utilities")
ALIAS_IO_MODULES = ("flowno_core.io.http_client", "flowno_core.io.http_server")


def core_path(flowno_path: str) -> str:
    return "flowno_core" + flowno_path[len("flowno"):]


def test_the_module_list_is_flownos():
    assert len(MODULES) == 41
    assert {"flowno.core.flow_hdl", "flowno.decorators", "flowno.io.http_client", "flowno.utilities.logging"} <= set(
        MODULES
    )


@pytest.mark.parametrize("path", sorted(MODULES))
def test_every_flowno_module_path_imports_with_its_public_names(path):
    module = importlib.import_module(core_path(path))
    missing = sorted(name for name in MODULES[path] if name not in EXCEPTIONS and not hasattr(module, name))
    assert not missing, f"{core_path(path)} lacks flowno's {missing}"


@pytest.mark.parametrize("path", sorted(MODULES))
def test_aliases_are_flowno_cores_own_objects(path):
    module = importlib.import_module(core_path(path))
    for name in MODULES[path]:
        if name in flowno_core.__all__ and hasattr(module, name):
            assert getattr(module, name) is getattr(flowno_core, name), f"{core_path(path)}.{name}"


def test_the_exception_list_names_only_flowno_names_that_are_really_missing():
    listed = [name for names in NOT_PROVIDED.values() for name in names]
    assert len(listed) == len(set(listed))
    missing_somewhere = {
        name
        for path, names in MODULES.items()
        for name in names
        if not hasattr(importlib.import_module(core_path(path)), name)
    }
    assert set(listed) == missing_somewhere


def test_coverage_of_names_users_import():
    every_name = {name for names in MODULES.values() for name in names}
    covered = every_name - EXCEPTIONS
    assert len(covered) >= 90  # 91 of flowno's 180 distinct names; the rest are in NOT_PROVIDED
    for name in ("FlowHDL", "node", "Stream", "EventLoop", "sleep", "spawn", "AsyncQueue", "HttpClient",
                 "log_async", "FlowInstrument", "EventLoopInstrument", "MissingDefaultError", "TagFilter"):
        assert name in covered


def test_importing_flowno_core_does_not_load_the_alias_modules():
    code = textwrap.dedent(
        f"""
        import sys, flowno_core
        print([m for m in sys.modules if m.startswith({ALIAS_PACKAGES!r}) or m in {ALIAS_IO_MODULES!r}])
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


FLOWNO_PROGRAM = '''
from flowno.core.event_loop.event_loop import EventLoop
from flowno.core.event_loop.primitives import sleep, spawn
from flowno.core.event_loop.queues import AsyncQueue
from flowno.core.flow_hdl import FlowHDL
from flowno.core.node_base import Stream
from flowno.decorators import node
from flowno.utilities.logging import log_async
from flowno import LOG_LEVEL, TagFilter

@node
async def Numbers():
    await sleep(0.01)
    return 3

@node(stream_in=["words"])
async def Shout(words: Stream[str]):
    async for word in words:
        yield word.upper()

@node
async def Words(n: int):
    for i in range(n):
        yield f"w{i}"

with FlowHDL() as f:
    f.n = Numbers()
    f.words = Words(f.n)
    f.shout = Shout(f.words)

f.run_until_complete()
assert f.n.get_data() == (3,)
assert f.shout.get_data() == ("W0W1W2",)

@log_async
async def main():
    queue = AsyncQueue()
    async def produce():
        await queue.put(1)
    await spawn(produce())
    return await queue.get()

assert EventLoop().run_until_complete(main(), join=True) == 1
assert LOG_LEVEL == "ERROR" and TagFilter(["all"]).filter(None)
print("ok")
'''


def test_a_flowno_program_with_deep_imports_runs_after_the_rename():
    program = FLOWNO_PROGRAM.replace("flowno", "flowno_core")
    env_free = {k: v for k, v in __import__("os").environ.items() if not k.startswith("FLOWNO_LOG")}
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env_free
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_log_async_logs_calls_commands_and_results(caplog):
    from flowno_core.core.event_loop.event_loop import EventLoop
    from flowno_core.core.event_loop.primitives import sleep
    from flowno_core.utilities.logging import log_async

    @log_async
    async def fetch(n: int) -> int:
        await sleep(0)
        return n * 2

    @log_async
    async def chunks(count: int):
        for i in range(count):
            yield i

    async def main() -> list[int]:
        return [await fetch(21)] + [c async for c in chunks(2)]

    with caplog.at_level(logging.DEBUG, logger="flowno_core.utilities.logging"):
        assert EventLoop().run_until_complete(main(), join=True) == [42, 0, 1]
    text = caplog.text
    assert "Calling function: fetch(21)" in text
    assert "Finished coroutine: fetch(21) with result 42" in text
    assert "Async generator chunks(2) yielded 1" in text
    assert "Async generator chunks(2) completed" in text


def test_log_level_and_tag_filter_keep_flownos_meaning():
    from flowno_core import LOG_LEVEL, TagFilter

    assert LOG_LEVEL == LOG_LEVEL.upper()
    record = logging.LogRecord("flowno_core.flow", logging.INFO, __file__, 1, "m", None, None)
    record.tag = "flow"
    assert TagFilter(["flow"]).filter(record) and not TagFilter(["http"]).filter(record)
    assert TagFilter(["all"]).filter(record)
