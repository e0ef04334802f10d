"""The flow layer, in three rooms (arrows point from each room only to the ones below it):

* ``runtime/``: the glue to the kernel: ``Flow`` and ``FlowHDL``, scheduling, evaluation, streams,
  how runs end, instruments, ``current_flow``/``current_node``;
* ``description/``: what a flow is made of: ports, draft nodes and the ``@node`` decorator, the
  ``FlowHDLView`` namespace, finalized nodes and their stored data;
* ``rules/``: pure functions and tables that import nothing else of flowno_core: the generation
  algebra, the staleness rule, the resolver, accumulation, the node/lap/run lifecycle tables.
"""
