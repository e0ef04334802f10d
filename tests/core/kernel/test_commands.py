"""The command set: one frozen slotted dataclass per command, an explicit dispatch table that covers
every command, and traps that yield exactly one command each."""

import dataclasses

import pytest

from flowno_core import EventLoop
from flowno_core._kernel import commands, traps
from flowno_core._kernel.commands import ALL_COMMANDS


def test_dispatch_table_covers_every_command():
    loop = EventLoop()
    assert set(loop._dispatch) == set(ALL_COMMANDS)
    for command_class in ALL_COMMANDS:
        assert callable(loop._dispatch[command_class])


def test_all_commands_lists_every_command_class_of_the_module():
    defined = {
        value
        for value in vars(commands).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == commands.__name__
    }
    assert defined == set(ALL_COMMANDS)


@pytest.mark.parametrize("command_class", ALL_COMMANDS, ids=lambda c: c.__name__)
def test_commands_are_frozen_slotted_dataclasses(command_class):
    params = command_class.__dataclass_params__
    assert params.frozen
    assert "__slots__" in vars(command_class)
    fields = [f.name for f in dataclasses.fields(command_class)]
    instance = command_class(*([None] * len(fields)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instance, fields[0], 1)


@pytest.mark.parametrize(
    ("trap", "args", "expected"),
    [
        (traps.sleep_trap, (1.5,), commands.Sleep(1.5)),
        (traps.sleep_trap, (0,), commands.SLEEP_ZERO),
        (traps.sleep_trap, (-3,), commands.SLEEP_ZERO),
        (traps.park_trap, (commands.Park("w"),), commands.Park("w")),
        (traps.exit_trap, (7, None), commands.Exit(7, None)),
        (traps.wait_io_trap, ("sock", True), commands.WaitIO("sock", True)),
    ],
)
def test_each_trap_yields_exactly_one_command_and_returns_what_it_is_sent(trap, args, expected):
    gen = trap(*args)
    assert gen.send(None) == expected
    with pytest.raises(StopIteration) as stop:
        gen.send("reply")
    if trap is traps.exit_trap or trap is traps.wait_io_trap:
        assert stop.value.value is None
    else:
        assert stop.value.value == "reply"


def test_spawn_trap_yields_a_spawn_command():
    async def child():
        return None

    coro = child()
    gen = traps.spawn_trap(coro)
    command = gen.send(None)
    assert command == commands.Spawn(coro)
    gen.close()
    coro.close()
