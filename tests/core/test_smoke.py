from flowno_core import sleep, spawn


async def test_spawn_join_in_virtual_time(virtual_clock):
    async def child(x):
        await sleep(3600)
        return x * 2

    handle = await spawn(child(21))
    assert await handle.join() == 42
    assert virtual_clock.now() >= 3600
