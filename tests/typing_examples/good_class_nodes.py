"""Class nodes (checked through flowno_core.mypy_plugin) and a multi-output node: no error."""

from flowno_core import FlowHDL, node


@node(multiple_outputs=True)
async def Split(text: str) -> tuple[str, int]:
    return text, len(text)


@node
class Counter:
    count = 0

    async def call(self, value: str, step: int = 1) -> int:
        self.count += step
        return self.count


with FlowHDL() as f:
    f.parts = Split("hello")
    f.counter = Counter(f.parts.output(0))
    f.stepped = Counter("x", 2)
