"""Child process of bench_startup.py's ``first_run`` case (not a benchmark on its own).

``python -S _startup_child.py PACKAGE`` imports PACKAGE (flowno_core or flowno), builds the
2-node cycle ``f.a = Inc(f.b)``, ``f.b = Inc(f.a)`` and runs it with
``stop_at_node_generation=(9,)``, then builds and runs the same flow again, and prints one line:
``{"first_build": s, "first_run": s, "later_build": s, "later_run": s, "networkx": [...],
"file": ...}`` (seconds; ``networkx``: whether it was in ``sys.modules`` after the import, after
the first run and after the later run).

Only the two runs are what the benchmark is about; the builds are timed too, so that work moved
from the first run into the build shows. Nothing but the package is imported before the runs
(``json`` imports ``re``, which could hide a lazy import of it, so it comes last).
"""

import sys
from time import perf_counter


async def inc(x: int = 0) -> int:
    return x + 1


def main() -> None:
    name = sys.argv[1]
    pkg = __import__(name)
    networkx = ["networkx" in sys.modules]
    Inc = pkg.node(inc)

    def build() -> tuple[object, float]:
        t0 = perf_counter()
        with pkg.FlowHDL() as f:
            f.a = Inc(f.b)
            f.b = Inc(f.a)
        return f, perf_counter() - t0

    def run(f: object) -> float:
        t0 = perf_counter()
        try:
            f.run_until_complete(stop_at_node_generation=(9,))  # type: ignore[attr-defined]
        except pkg.TerminateLimitReached:  # both packages end a limited run by raising it
            pass
        dt = perf_counter() - t0
        a, b = f.a.get_data(), f.b.get_data()  # type: ignore[attr-defined]
        # generation 9 of one node: a_g = 2g + 1, b_g = 2g + 2; the other node may be one behind
        if a is None or b is None or max(a[0], b[0]) < 19:
            raise AssertionError(f"cycle ended early: a={a} b={b}")
        return dt

    f1, first_build = build()
    first_run = run(f1)
    networkx.append("networkx" in sys.modules)
    f2, later_build = build()
    later_run = run(f2)
    networkx.append("networkx" in sys.modules)

    import json

    print(json.dumps({"first_build": first_build, "first_run": first_run, "later_build": later_build,
                      "later_run": later_run, "networkx": networkx, "file": pkg.__file__}))


if __name__ == "__main__":
    main()
