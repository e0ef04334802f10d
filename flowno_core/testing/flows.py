"""Random flows for property tests: a plain description, a builder, and a reference evaluator.

Theory of operation: a ``FlowSpec`` is a list of ``NodeSpec`` (which earlier-or-later nodes feed
each input, and which inputs have defaults). ``spec.build()`` turns it into a real ``FlowHDL``
(one hand-written DraftNode class per node) whose nodes compute a fixed arithmetic function of
their inputs; sources return ``100 * index + k`` on their k-th evaluation. ``reference_values``
computes, without any event loop, what generation k of every node must hold: cycles are broken
the way the runtime breaks them (in each strongly connected component the first member, in
definition order, whose in-cycle inputs all have defaults starts the cycle; those inputs are
*stitched*, i.e. read the producer's previous generation, or the default at generation 0), and
everything else is evaluated in lockstep, generation by generation, in topological order.

The hypothesis strategy ``flow_specs`` generates DAGs or graphs with cycles, with or without a
breakable default, so users can property-test their own cycle resolution:

    @given(flow_specs(cycles=True, breakable=True))
    def test_matches_reference(spec):
        f = spec.build()
        try:
            f.run_until_complete(stop_at_node_generation=(4,))
        except TerminateLimitReached:
            pass
        expected = reference_values(spec, 4)
        for index, node in enumerate(spec.finalized_nodes(f)):
            if node.generation is not None:
                assert node.get_data() == (expected[index][node.generation[0]],)

Streams: a ``NodeSpec`` with ``chunks > 0`` is an async-generator node, and ``stream_in[p]`` makes
port p a ``stream_in`` port (the node reads the whole stream; a streaming node with a stream port
passes it through, one chunk per chunk read). ``stream_flow_specs`` (in ``strategies``) generates
such flows. ``build(log=EvaluationLog())`` makes every node record each evaluation (its inputs as
seen, its value or chunks) in one shared log, for comparing runs evaluation by evaluation.
``reference_values`` does not model streams (it raises ValueError for them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._graph.description.draft import DraftNode
from .._graph.runtime.flowhdl import FlowHDL

MODULUS = 1_000_003


@dataclass(frozen=True)
class NodeSpec:
    """One node: ``inputs[p]`` is the index of the node feeding port p; ``defaults[p]`` its default
    (None = no default). ``chunks > 0`` makes it a streaming node (an async generator yielding that
    many chunks, or one chunk per chunk read when it has a stream port); ``stream_in[p]`` makes port
    p a ``stream_in`` port."""

    inputs: tuple[int, ...] = ()
    defaults: tuple[int | None, ...] = ()
    chunks: int = 0
    stream_in: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if len(self.defaults) != len(self.inputs):
            object.__setattr__(self, "defaults", tuple(self.defaults) + (None,) * (len(self.inputs) - len(self.defaults)))
        if len(self.stream_in) != len(self.inputs):
            object.__setattr__(self, "stream_in", tuple(self.stream_in) + (False,) * (len(self.inputs) - len(self.stream_in)))
        if self.chunks and sum(self.stream_in) > 1:
            raise ValueError("a streaming node passes through at most one stream port")

    def __repr__(self) -> str:
        """Python that rebuilds the spec (stream fields only when used, so plain specs print as before)."""
        extra = ""
        if self.chunks:
            extra += f", chunks={self.chunks}"
        if any(self.stream_in):
            extra += f", stream_in={self.stream_in!r}"
        return f"NodeSpec(inputs={self.inputs!r}, defaults={self.defaults!r}{extra})"

    def has_streams(self) -> bool:
        """True for a streaming node or one with a stream port."""
        return self.chunks > 0 or any(self.stream_in)


def compute(index: int, args: Sequence[int], evaluation: int) -> int:
    """What node ``index`` returns: sources count their evaluations, others mix their inputs."""
    if not args:
        return 100 * index + evaluation
    total = index + 1
    for position, value in enumerate(args):
        total = (total * 31 + value * (position + 3)) % MODULUS
    return total


@dataclass(frozen=True)
class FlowSpec:
    """A flow as plain data (see the module docstring)."""

    nodes: tuple[NodeSpec, ...]
    order: tuple[int, ...] = field(default=())  # definition order (default: 0..n-1)

    def definition_order(self) -> tuple[int, ...]:
        return self.order or tuple(range(len(self.nodes)))

    def edges(self) -> list[tuple[int, int, int]]:
        """(consumer, port, producer) for every input."""
        return [(i, p, src) for i, node in enumerate(self.nodes) for p, src in enumerate(node.inputs)]

    def reordered(self, order: Sequence[int]) -> "FlowSpec":
        return FlowSpec(self.nodes, tuple(order))

    def has_streams(self) -> bool:
        """True when some node streams or has a stream port."""
        return any(node.has_streams() for node in self.nodes)

    def build(self, clock: Any = None, log: "EvaluationLog | None" = None) -> FlowHDL:
        """A FlowHDL whose attribute ``n<i>`` is node i (defined in ``definition_order()``).

        With ``log``, every evaluation is recorded there (see ``EvaluationLog``).
        """
        classes = [_node_class(i, spec, log) for i, spec in enumerate(self.nodes)]
        with FlowHDL(clock=clock) as f:
            for i in self.definition_order():
                args = [getattr(f, f"n{src}") for src in self.nodes[i].inputs]
                setattr(f, f"n{i}", classes[i](*args))
        return f

    def finalized_nodes(self, f: FlowHDL) -> list[Any]:
        return [getattr(f, f"n{i}") for i in range(len(self.nodes))]


class RunawayFlowError(RuntimeError):
    """Raised by a logged node when its flow began more evaluations than ``EvaluationLog.max_evaluations``."""


@dataclass
class EvaluationLog:
    """What the nodes of one built flow did, shared by all of them.

    ``entries``: one ``(name, inputs, output)`` per evaluation, appended when the evaluation
    completes; ``name`` is ``"n<i>"``, ``inputs`` the arguments as seen (for a stream port the list
    of chunks read), ``output`` the value returned or the list of chunks yielded. ``cut``: the same
    for evaluations closed before they completed (a stop mid-stream), with what they had seen and
    yielded so far. A node beginning evaluation number ``max_evaluations + 1`` of the flow raises
    ``RunawayFlowError`` (a runaway flow ends with an error instead of running forever).
    """

    max_evaluations: int | None = None
    entries: list[tuple[str, tuple[Any, ...], Any]] = field(default_factory=list)
    cut: list[tuple[str, tuple[Any, ...], Any]] = field(default_factory=list)
    begun: int = 0

    def begin(self) -> None:
        self.begun += 1
        if self.max_evaluations is not None and self.begun > self.max_evaluations:
            raise RunawayFlowError(f"more than {self.max_evaluations} evaluations began")


def fold(values: Sequence[int]) -> int:
    """One int standing for a list of chunks (order and length matter)."""
    total = len(values)
    for value in values:
        total = (total * 37 + value) % MODULUS
    return total


def _node_class(index: int, spec: NodeSpec, log: EvaluationLog | None = None) -> type[DraftNode]:
    defaults = {p: d for p, d in enumerate(spec.defaults) if d is not None}
    name = f"n{index}"
    record = log.entries.append if log is not None else None

    async def read_all(args: tuple[Any, ...], seen: list[Any]) -> None:
        """Fill ``seen`` with the inputs: a stream becomes the list of its chunks (a defaulted port stays an int)."""
        for arg in args:
            if hasattr(arg, "__aiter__"):
                seen.append([])
                async for x in arg:
                    seen[-1].append(x)
            else:
                seen.append(arg)

    def ints(seen: Sequence[Any]) -> list[int]:
        return [fold(x) if isinstance(x, list) else x for x in seen]

    class Generated(DraftNode):
        _minimum_run_level: ClassVar[list[int]] = [1 if s else 0 for s in spec.stream_in]
        _default_values: ClassVar[dict[int, Any]] = defaults
        evaluations = 0

        def call(self, *args: Any) -> Any:
            evaluation = self.evaluations
            self.evaluations += 1
            if log is not None:
                log.begin()
            if spec.chunks:
                return self._stream(args, evaluation)
            return self._value(args, evaluation)

        async def _value(self, args: tuple[Any, ...], evaluation: int) -> tuple[int]:
            if not any(spec.stream_in):
                value = compute(index, args, evaluation)
                if record is not None:
                    record((name, args, value))
                return (value,)
            seen: list[Any] = []
            try:
                await read_all(args, seen)
            except BaseException:
                if log is not None:
                    log.cut.append((name, tuple(seen), None))
                raise
            value = compute(index, ints(seen), evaluation)
            if record is not None:
                record((name, tuple(seen), value))
            return (value,)

        async def _stream(self, args: tuple[Any, ...], evaluation: int) -> Any:
            through = next((p for p, s in enumerate(spec.stream_in) if s and hasattr(args[p], "__aiter__")), None)
            seen: list[Any] = list(args)
            if through is not None:
                seen[through] = []
            yielded: list[int] = []
            done = False
            try:
                if through is None:
                    base = compute(index, ints(seen), evaluation)
                    for j in range(spec.chunks):
                        yielded.append((base + 17 * j) % MODULUS)
                        yield (yielded[-1],)
                else:
                    async for x in args[through]:
                        seen[through].append(x)
                        yielded.append(compute(index, ints(seen) + [x], evaluation))
                        yield (yielded[-1],)
                done = True
            finally:
                if log is not None:
                    (log.entries if done else log.cut).append((name, tuple(seen), yielded))

    Generated.__name__ = Generated.__qualname__ = f"N{index}"
    return Generated


# -- the reference evaluator ------------------------------------------------------------------------
def _sccs(n: int, edges: dict[int, list[int]], members: set[int]) -> list[set[int]]:
    """Strongly connected components of the subgraph on ``members`` (consumer -> producer edges)."""
    import networkx as nx  # type: ignore[import-untyped]

    graph = nx.DiGraph()
    graph.add_nodes_from(members)
    for consumer in members:
        for producer in edges[consumer]:
            if producer in members:
                graph.add_edge(consumer, producer)
    return [set(c) for c in nx.strongly_connected_components(graph)]


def stitched_ports(spec: FlowSpec) -> set[tuple[int, int]] | None:
    """The (consumer, port) edges that start a cycle, or None if some cycle cannot be broken."""
    n = len(spec.nodes)
    rank = {node: position for position, node in enumerate(spec.definition_order())}
    producers = {i: list(node.inputs) for i, node in enumerate(spec.nodes)}
    stitched: set[tuple[int, int]] = set()
    pending = _sccs(n, producers, set(range(n)))
    while pending:
        component = pending.pop()
        if len(component) == 1:
            (only,) = component
            if only not in producers[only]:
                continue
        chosen = None
        for member in sorted(component, key=rank.__getitem__):
            ports = [p for p, src in enumerate(spec.nodes[member].inputs) if src in component]
            if all(spec.nodes[member].defaults[p] is not None for p in ports):
                chosen = member
                stitched.update((member, p) for p in ports)
                break
        if chosen is None:
            return None
        pending.extend(_sccs(n, producers, component - {chosen}))
    return stitched


def reference_values(spec: FlowSpec, generations: int) -> list[list[int]] | None:
    """``values[i][k]``: what node i holds at generation (k,), for k = 0..generations.

    None when a cycle cannot be broken (the flow must raise MissingDefaultError). Streams are not
    modelled: a spec with streaming nodes or stream ports raises ValueError.
    """
    if spec.has_streams():
        raise ValueError("reference_values does not model streams")
    stitched = stitched_ports(spec)
    if stitched is None:
        return None
    import networkx as nx  # type: ignore[import-untyped]

    n = len(spec.nodes)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for consumer, port, producer in spec.edges():
        if (consumer, port) not in stitched:
            graph.add_edge(producer, consumer)
    order = list(nx.lexicographical_topological_sort(graph))
    values: list[list[int]] = [[] for _ in range(n)]
    for k in range(generations + 1):
        for i in order:
            args = []
            node = spec.nodes[i]
            for port, producer in enumerate(node.inputs):
                if (i, port) in stitched:
                    default = node.defaults[port]
                    args.append(default if k == 0 else values[producer][k - 1])  # type: ignore[arg-type]
                else:
                    args.append(values[producer][k])
            values[i].append(compute(i, args, k))
    return values


def has_cycle(spec: FlowSpec) -> bool:
    n = len(spec.nodes)
    producers = {i: list(node.inputs) for i, node in enumerate(spec.nodes)}
    return any(len(c) > 1 or (next(iter(c)) in producers[next(iter(c))]) for c in _sccs(n, producers, set(range(n))))
