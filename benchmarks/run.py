"""Run every benchmark side by side (flowno_core vs flowno 0.1.19 vs asyncio vs aiostream).

Usage (from anywhere; needs only a Python >= 3.11 and access to PyPI the first time)::

    python benchmarks/run.py                 # set up .bench-venv/ if needed, run everything
    python benchmarks/run.py --quick         # smoke run: small sizes, 2 repetitions
    python benchmarks/run.py kernel stream   # a subset (kernel, flow, stream, http, startup)
    python benchmarks/run.py --markdown      # also print markdown tables for benchmarks/README.md
    python benchmarks/run.py --reinstall     # rebuild the venv's packages
    python benchmarks/run.py flow --update-readme   # re-measure and rewrite README's flow tables
    python benchmarks/run.py flow stream --baseline e325ce2 --rounds 2   # working tree vs that commit
    python benchmarks/run.py flow stream library --plots   # also redraw the scaling plots (plots.py)

Set-up: ``<repo>/.bench-venv`` is created with this interpreter's ``venv`` module and gets
``flowno==0.1.19``, ``aiostream``, ``h11``, ``matplotlib`` (for ``--plots`` only) and flowno_core from this checkout, installed *editable*,
so a re-run always measures the current working tree. The venv is re-used while the pinned
requirements are unchanged (``BENCH_VENV=/path`` puts it elsewhere). ``--no-venv`` runs with the current interpreter instead (whatever it has
installed; missing implementations are reported, not fatal).

Every ``bench_*.py`` script is then run in that venv; each one runs every (case, size,
implementation) in its own subprocess and prints its table. At the end this script prints all
tables together, the target checks, and with ``--markdown`` the same as markdown to paste into
benchmarks/README.md; ``--update-readme`` writes them into README.md itself (between the
``<!-- results:NAME -->`` markers of the benchmarks that ran). ``--json PATH`` keeps the raw numbers.
``--plots`` then runs ``plots.py`` in the venv on those numbers: one PNG per scaling benchmark that ran
(flow, stream, library) into ``benchmarks/plots/`` and ``docs/plots/``, the figures README.md shows.

``--baseline REV`` (repeatable) adds ``core@<short sha>``: flowno_core as it was at git revision REV,
exported once into ``.bench-baseline/<sha>/`` and imported by its workers through ``PYTHONPATH``
(see _common.py), measured job by job next to the working tree's flowno_core.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV = os.environ.get("BENCH_VENV") or os.path.join(ROOT, ".bench-venv")
BENCHES = ["kernel", "flow", "stream", "http", "startup", "bridge", "library"]
REQUIREMENTS = ["flowno==0.1.19", "aiostream", "h11", "matplotlib"]  # matplotlib: plots.py only


def venv_python() -> str:
    sub = "Scripts" if os.name == "nt" else "bin"
    exe = "python.exe" if os.name == "nt" else "python"
    return os.path.join(VENV, sub, exe)


def ensure_venv(reinstall: bool) -> str:
    """Create/refresh the benchmark venv; returns its interpreter."""
    py = venv_python()
    stamp_path = os.path.join(VENV, "flowno-core-bench.stamp")
    stamp = hashlib.sha256(json.dumps([REQUIREMENTS, ROOT, sys.version]).encode()).hexdigest()
    if not os.path.exists(py):
        print(f"creating {VENV}", flush=True)
        if subprocess.run([sys.executable, "-m", "venv", VENV]).returncode != 0:
            sys.exit("could not create the venv (on Debian/Ubuntu: apt-get install python3-venv); "
                     "or install flowno==0.1.19 aiostream h11 matplotlib and this repository yourself and use --no-venv")
        reinstall = True
    if not reinstall and os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        return py
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing " + ", ".join(REQUIREMENTS) + f" and flowno_core (editable, {ROOT})", flush=True)
    subprocess.run(pip + ["--upgrade", "pip"], check=False)
    subprocess.run(pip + REQUIREMENTS, check=True)
    subprocess.run(pip + ["-e", ROOT], check=True)
    check = subprocess.run([py, "-c", "import flowno_core, flowno, aiostream, h11, matplotlib; print(flowno_core.__file__)"],
                           capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"benchmark venv is broken:\n{check.stderr}")
    if not os.path.abspath(check.stdout.strip()).startswith(ROOT):
        print(f"warning: flowno_core is imported from {check.stdout.strip()}, not from {ROOT}")
    with open(stamp_path, "w") as fh:
        fh.write(stamp)
    return py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("benches", nargs="*", choices=BENCHES + [[]], default=[],
                        help=f"which benchmarks to run: any of {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 repetitions")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per job")
    parser.add_argument("--impl", default=None, help="comma list of implementations")
    parser.add_argument("--case", default=None, help="comma list of cases")
    parser.add_argument("--metric", choices=["best", "median"], default="best",
                        help="which repetition the tables show: the best (default; least "
                        "disturbed by other load) or the median")
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    parser.add_argument("--json", default=None, help="write all raw results to this JSON file")
    parser.add_argument("--rounds", type=int, default=None,
                        help="run each benchmark's job list this many times (round-robin) and pool the samples")
    parser.add_argument("--no-venv", action="store_true", help="use this interpreter as it is")
    parser.add_argument("--reinstall", action="store_true", help="reinstall the venv's packages")
    parser.add_argument("--update-readme", action="store_true",
                        help="write the measured tables into benchmarks/README.md (full runs only)")
    parser.add_argument("--plots", action="store_true",
                        help="draw the scaling plots (flow, stream, library) into benchmarks/plots/ and docs/plots/")
    parser.add_argument("--baseline", action="append", default=[], metavar="REV",
                        help="also measure flowno_core at git revision REV, as core@<short sha> (repeatable)")
    args = parser.parse_args()

    sys.path.insert(0, HERE)
    import importlib

    import _common as c

    benches = args.benches or BENCHES
    baselines = [c.export_revision(rev) for rev in args.baseline]  # a bad REV stops here, before any run
    py = sys.executable if args.no_venv else ensure_venv(args.reinstall)
    started = time.time()
    all_results: list[dict] = []
    machine: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in benches:
            out = os.path.join(tmp, f"{bench}.json")
            cmd = [py, os.path.join(HERE, f"bench_{bench}.py"), "--json", out, "--metric", args.metric]
            for flag in ("quick",):
                if getattr(args, flag):
                    cmd.append(f"--{flag}")
            for opt in ("reps", "impl", "case", "rounds"):
                if getattr(args, opt) is not None:
                    cmd += [f"--{opt}", str(getattr(args, opt))]
            for _, export in baselines:
                cmd += ["--baseline", os.path.basename(export)]
            print(f"\n##### {bench}", flush=True)
            proc = subprocess.run(cmd)
            if proc.returncode != 0 or not os.path.exists(out):
                print(f"!! bench_{bench}.py failed (exit {proc.returncode})", flush=True)
                continue
            with open(out) as fh:
                data = json.load(fh)
            machine = data["machine"]
            all_results.append(data)

    # Summary: every table again, then markdown / README update if asked.
    print("\n" + "=" * 100)
    print(f"SUMMARY  {c.describe_machine(machine, args.metric, args.quick, args.rounds or 1)}  "
          f"[{time.time() - started:.0f}s]\n")
    sections: dict[str, str] = {}
    for data in all_results:
        module = importlib.import_module(f"bench_{data['bench']}")
        results = [c.Result(**r) for r in data["results"]]
        print(c.report(module, results, args.metric, markdown=False) + "\n")
        md = c.report(module, results, args.metric, markdown=True).split("\n", 1)[1]  # drop "### name"
        sections[data["bench"]] = (c.describe_machine(data["machine"], args.metric, args.quick, data.get("rounds", 1))
                                   + "\n\n" + md)
    if args.markdown:
        print("-" * 100 + "\nMarkdown for benchmarks/README.md (one block per <!-- results:NAME --> marker):\n")
        for name, body in sections.items():
            print(f"<!-- results:{name} -->\n{body}\n<!-- /results:{name} -->\n")
    if args.update_readme:
        if args.quick or args.impl or args.case or args.baseline:
            print("\n--update-readme ignored: only full runs (no --quick/--impl/--case/--baseline) go into the README")
        else:
            update_readme(sections)
    payload = {"machine": machine, "quick": args.quick, "metric": args.metric, "benches": all_results}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(payload, fh, indent=1)
    if args.plots:
        draw_plots(py, payload, args.metric)


def draw_plots(py: str, payload: dict, metric: str) -> None:
    """Run plots.py with the venv's interpreter (it has matplotlib) on this run's results."""
    if not any(data["bench"] in ("flow", "stream", "library") for data in payload["benches"]):
        print("\n--plots: no flow, stream or library results in this run; nothing drawn")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "results.json")
        with open(path, "w") as fh:
            json.dump(payload, fh)
        print(flush=True)
        proc = subprocess.run([py, os.path.join(HERE, "plots.py"), path, "--metric", metric], check=False)
    if proc.returncode != 0:
        print(f"!! plots.py failed (exit {proc.returncode})", flush=True)


def update_readme(sections: dict[str, str]) -> None:
    """Replace the text between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` markers."""
    path = os.path.join(HERE, "README.md")
    with open(path) as fh:
        text = fh.read()
    for name, body in sections.items():
        start, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
        i, j = text.find(start), text.find(end)
        if i < 0 or j < i:
            print(f"README.md has no {start} ... {end} block; {name} not updated")
            continue
        text = text[: i + len(start)] + "\n" + body + "\n" + text[j:]
        print(f"README.md: {name} results updated")
    with open(path, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
