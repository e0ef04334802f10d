"""Tools around flows, built only on the graph's descriptions and the runtime's instrument hooks:
reading a flow without running it (``wiring`` turns its nodes into plain wires and works out which
default starts each cycle; ``analysis`` finds the mistakes behind ``python -m flowno_core check``;
``pictures`` draws a flow as Graphviz DOT or Mermaid for ``graph`` and ``FlowHDL.to_dot()`` /
``to_mermaid()``), and watching one run (tracing, progress, the dashboard, OpenTelemetry). Each
module is imported only by the command or method that needs it, and networkx only when a graph
algorithm runs.
"""
