"""Draw the scaling plots of benchmarks/README.md from a results JSON file.

Usage::

    python benchmarks/run.py flow stream library --json results.json --plots   # measure and draw
    .bench-venv/bin/python benchmarks/plots.py results.json                    # draw from kept numbers
    .bench-venv/bin/python benchmarks/plots.py results.json --out /tmp/plots   # somewhere else

The input is what ``run.py --json`` writes (``{"machine", "quick", "benches": [...]}``) or what a
single ``bench_*.py --json`` writes (one benchmark). For each scaling benchmark present in it
(``flow``, ``stream``, ``library``) one PNG, ``<bench>.png``, is written into every ``--out``
directory: one panel per case, cost per evaluation / item against the size (x logarithmic; y
logarithmic only when a panel spans more than 10x, as flowno beside flowno_core does, otherwise
linear from 0), one line per implementation, the table's figure (``--metric``: the best of the
repetitions by default, or the median). A benchmark that is not in the file is left alone.

By default the PNGs go to ``benchmarks/plots/`` (shown by README.md on GitHub) and
``docs/plots/`` (the same bytes, shown by the docs site, which includes README.md verbatim from
docs/benchmarks.md: the relative path ``plots/<bench>.png`` resolves from ``benchmarks/`` in the
repository and from ``docs/`` in the site).

Output is deterministic: the Agg backend, a fixed size and resolution, no software version or
date in the PNG metadata, so the same numbers give the same bytes (with the same matplotlib).
matplotlib is installed in the benchmark venv by run.py; it is not a dependency of flowno_core.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = [os.path.join(HERE, "plots"), os.path.join(ROOT, "docs", "plots")]

# bench -> (figure title, x label, y label, cases in panel order)
SCALING: dict[str, tuple[str, str, str, list[str]]] = {
    "flow": ("flow: cost per node evaluation (per generation for cycle)",
             "nodes N (generations G for cycle)", "cost per evaluation",
             ["chain", "fanout", "diamond", "cycle"]),
    "stream": ("stream: 3-node pipeline, cost per item",
               "items K", "cost per item", ["pipeline"]),
    "library": ("library (flowno_nodes): cost per item",
                "items K", "cost per item", ["apply", "keep", "batch", "chain", "apply_async8"]),
}

# fixed colour and marker per implementation, so a name looks the same in every figure
STYLE: dict[str, tuple[str, str]] = {
    "flowno_core": ("#1f77b4", "o"),
    "flowno": ("#d62728", "s"),
    "asyncio": ("#2ca02c", "^"),
    "asyncio_queue": ("#2ca02c", "^"),
    "aiostream": ("#ff7f0e", "D"),
}
OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

WIDTH_IN = 10.0
PANEL_HEIGHT_IN = 3.4
DPI = 100
LOG_Y_ABOVE = 10.0
"""A panel's y axis is logarithmic when its largest figure exceeds this many times its smallest
(flowno's quadratic cost beside flowno_core's); otherwise it is linear from 0, which shows a flat
per-item cost as flat."""


class PlotError(Exception):
    """The plots cannot be drawn (matplotlib missing, unreadable input)."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotError(
            "benchmarks/plots.py needs matplotlib, which is not installed in this interpreter "
            f"({sys.executable}). benchmarks/run.py installs it into .bench-venv/; run "
            "'python benchmarks/run.py ... --plots', or '.bench-venv/bin/python benchmarks/plots.py "
            "RESULTS.json', or 'pip install matplotlib' here."
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def load(path: str) -> dict[str, Any]:
    """Read a run.py or bench_*.py JSON file; returns {bench: that bench's data}."""
    try:
        with open(path) as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PlotError(f"cannot read {path}: {exc}") from None
    benches = data.get("benches", [data] if "bench" in data else None)
    if benches is None:
        raise PlotError(f"{path}: neither run.py's nor a bench_*.py's --json output")
    return {b["bench"]: b for b in benches}


def _caption(bench: dict[str, Any], metric: str) -> str:
    sys.path.insert(0, HERE)
    try:
        import _common
    finally:
        sys.path.remove(HERE)
    return _common.describe_machine(bench.get("machine", {}), metric, bool(bench.get("quick")),
                                    bench.get("rounds") or 1)


def _impl_order(impls: list[str]) -> list[str]:
    known = [i for i in STYLE if i in impls]
    return known + sorted(i for i in impls if i not in STYLE)


def _size_label(n: int) -> str:
    return f"{n:,}"


def plot_bench(bench: dict[str, Any], metric: str, out_dirs: list[str]) -> list[str]:
    """Draw one benchmark's figure into every directory of ``out_dirs``; returns the paths."""
    plt = _pyplot()
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

    name = bench["bench"]
    title, xlabel, ylabel, cases = SCALING[name]
    rows = [r for r in bench["results"] if r.get("status") == "ok"
            and r.get(metric) is not None]
    cases = [case for case in cases if any(r["case"] == case for r in rows)]
    if not cases:
        return []
    ncols = 1 if len(cases) == 1 else 2
    nrows = math.ceil(len(cases) / ncols)
    with plt.rc_context({"font.size": 9, "axes.titlesize": 10, "legend.fontsize": 8,
                         "svg.hashsalt": "flowno_core", "path.simplify": False}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_IN, PANEL_HEIGHT_IN * nrows + 0.9),
                                 squeeze=False)
        others = iter(OTHER_COLOURS * 4)
        colours = {i: STYLE[i] for i in STYLE}
        for k, case in enumerate(cases):
            ax = axes[k // ncols][k % ncols]
            case_rows = [r for r in rows if r["case"] == case]
            unit = next((r["unit"] for r in case_rows if r.get("unit")), "")
            sizes = sorted({r["size"] for r in case_rows})
            for impl in _impl_order(list(dict.fromkeys(r["impl"] for r in case_rows))):
                if impl not in colours:
                    colours[impl] = (next(others), "v")
                colour, marker = colours[impl]
                pts = sorted((r["size"], r[metric]) for r in case_rows if r["impl"] == impl)
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                label = impl if len(pts) > 1 else f"{impl} (at {_size_label(xs[0])} only)"
                ax.plot(xs, ys, color=colour, marker=marker, linewidth=1.6, markersize=5, label=label)
            values = [r[metric] for r in case_rows if r[metric] > 0]
            log_y = bool(values) and max(values) / min(values) > LOG_Y_ABOVE
            ax.set_xscale("log")
            if log_y:
                ax.set_yscale("log")
            else:
                ax.set_ylim(0, max(values, default=1) * 1.15)
            ax.xaxis.set_major_locator(FixedLocator(sizes))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: _size_label(round(v))))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            if log_y:  # label 1-2-5 steps: a decade or two would otherwise show one or two labels
                ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                ax.yaxis.set_minor_locator(NullLocator())
            if len(sizes) > 1:
                lo, hi = math.log10(sizes[0]), math.log10(sizes[-1])
                pad = (hi - lo) * 0.08
                ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
            ax.set_title(case)
            ax.set_xlabel(xlabel + ", log scale")
            ax.set_ylabel(f"{ylabel} ({unit}{', log scale' if log_y else ''})")
            ax.grid(True, which="both", linewidth=0.4, alpha=0.5)
            ax.legend(loc="best")
        for k in range(len(cases), nrows * ncols):
            axes[k // ncols][k % ncols].set_visible(False)
        fig.suptitle(f"{title}: {metric} of the repetitions (lower is better)", fontsize=11)
        fig.text(0.01, 0.005, textwrap.fill(_caption(bench, metric), 170), fontsize=7,
                 va="bottom", ha="left")
        fig.tight_layout(rect=(0, 0.04, 1, 0.97))
        paths = []
        for out in out_dirs:
            os.makedirs(out, exist_ok=True)
            path = os.path.join(out, f"{name}.png")
            fig.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
            paths.append(path)
        plt.close(fig)
    return paths


def make_plots(path: str, out_dirs: list[str] | None = None, metric: str = "best") -> list[str]:
    """Draw every scaling benchmark found in the results file ``path``; returns the PNG paths."""
    benches = load(path)
    written: list[str] = []
    for name in SCALING:
        if name in benches:
            written += plot_bench(benches[name], metric, out_dirs or DEFAULT_OUT)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="a JSON file written by run.py --json or bench_*.py --json")
    parser.add_argument("--out", action="append", default=None, metavar="DIR",
                        help="write the PNGs here (repeatable; default: benchmarks/plots and docs/plots)")
    parser.add_argument("--metric", choices=["best", "median"], default="best",
                        help="which figure of the repetitions to plot (default: best, like the tables)")
    args = parser.parse_args(argv)
    try:
        written = make_plots(args.results, args.out, args.metric)
    except PlotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not written:
        print(f"{args.results}: no flow, stream or library results to plot", file=sys.stderr)
        return 1
    for p in written:
        print(f"wrote {os.path.relpath(p)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
