"""The graph layer: node descriptions, the FlowHDL namespace, generations, the resolver (pure), and
the Flow runtime (the one module that talks to the kernel)."""
