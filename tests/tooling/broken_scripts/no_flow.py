"""Mistake: the flow is built inside the `__main__` block, so nothing defines it at module level."""

from flowno_core import FlowHDL, node


@node
async def Hello() -> str:
    return "hello"


if __name__ == "__main__":
    with FlowHDL() as f:
        f.hello = Hello()
    f.run_until_complete()
