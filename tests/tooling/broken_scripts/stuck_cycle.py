"""Mistake: a cycle that no default can start."""

from flowno_core import FlowHDL, node


@node
async def Inc(value: int) -> int:
    return value + 1


@node
async def Double(value: int) -> int:
    return value * 2


with FlowHDL() as f:
    f.inc = Inc(f.double)
    f.double = Double(f.inc)

if __name__ == "__main__":
    print("MAIN BLOCK RAN")
