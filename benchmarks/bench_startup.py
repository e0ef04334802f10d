"""Start-up benchmarks: import time and a flow's first run (flowno_core vs flowno vs asyncio vs aiostream).

Cases (milliseconds, lower is better). Every measurement is a fresh interpreter started by the job's
worker: ``python -S`` with ``PYTHONPATH`` = (a ``--baseline`` export, if any) + this checkout (for
flowno_core only) + the venv's site-packages, and the working directory set to an empty temporary
directory (so ``import flowno_core`` cannot pick up the checkout through the current directory).
``-S`` leaves out ``site``: the editable install's finder, which ``site`` loads at every start-up,
imports ``re``, ``pathlib``, ``enum``, ``fnmatch`` and more, and would make those free for every
package measured.

* ``import`` (size 1): the wall time of ``python -S -c "import X"`` minus that of
  ``python -S -c "pass"``. The two commands alternate (pass, import, then import, pass, ...), 20
  pairs (5 with ``--quick``) after 2 untimed pairs; each sample is one import run minus the fastest
  ``pass`` run of the job, so the table's best is (fastest import run) - (fastest pass run). It
  includes interpreter teardown of what the import loaded, which a user also waits for.
* ``first_run`` (size 10: generations of the cycle): ``_startup_child.py`` in a fresh interpreter
  imports the package, builds the 2-node cycle ``f.a = Inc(f.b)``, ``f.b = Inc(f.a)`` (``Inc(x:
  int = 0) -> x + 1``), runs it with ``stop_at_node_generation=(9,)`` (both packages end that run by
  raising ``TerminateLimitReached``, which is caught), then builds and runs the same flow again.
  One job yields four rows: ``first_run`` and ``later_run`` (the timed ``run_until_complete``
  calls), and ``first_build`` / ``later_build`` (the ``with FlowHDL()`` blocks; no target, shown so
  that work moved from the first run into the build is visible). 15 processes (4 with ``--quick``)
  after one untimed process; best of the processes. Each process also reports whether
  ``networkx`` is in ``sys.modules`` after the first run.

Byte-code: this environment may set ``PYTHONDONTWRITEBYTECODE=1``, and an import that has to
compile from source measures the compiler. Every job therefore uses its own byte-code cache
(``PYTHONPYCACHEPREFIX`` = a fresh temporary directory; nothing is written into the checkout, the
venv or the standard library), removes ``PYTHONDONTWRITEBYTECODE`` from the children's
environment, runs the command once untimed (which caches every module it loads) and
``python -m compileall -q`` over the package's directory before the timed runs. A ``.pyc`` written
during the timed runs (a source edited meanwhile) is reported in a note under the table.

Targets (issue 11): flowno_core's import <= asyncio's; flowno_core's first run <= 2x a later run;
``networkx`` not in ``sys.modules`` after flowno_core's first run. flowno's figures are shown
without a target.
"""

from __future__ import annotations

import os
import shutil
import site
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import _common as c

BENCH = "startup"
IMPLS = ["flowno_core", "flowno", "asyncio", "aiostream"]
FLOW_IMPLS = ["flowno_core", "flowno"]
GENERATIONS = 10  # stop_at_node_generation=(9,) in _startup_child.py
CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_startup_child.py")
RUN_ROWS = ["first_run", "later_run", "first_build", "later_build"]


def plan(quick: bool) -> list[c.Job]:
    jobs = [c.Job("import", 1, impl, 5 if quick else 20, timeout=300) for impl in IMPLS]
    jobs += [c.Job("first_run", GENERATIONS, impl, 4 if quick else 15, timeout=300) for impl in FLOW_IMPLS]
    return jobs


def probe(impl: str) -> None:
    if impl in FLOW_IMPLS:
        c.flow_package(impl)
    elif impl == "aiostream":
        c.import_or_unavailable("aiostream")


# ------------------------------------------------------------------------------------------------
# fresh interpreters
# ------------------------------------------------------------------------------------------------
class Children:
    """Runs ``python -S`` children for one implementation with a private byte-code cache."""

    def __init__(self, impl: str) -> None:
        self.impl = impl
        self.tmp = tempfile.mkdtemp(prefix="flowno-bench-startup-")
        self.cwd = os.path.join(self.tmp, "cwd")
        self.cache = os.path.join(self.tmp, "pycache")
        os.makedirs(self.cwd)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = self.cache
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]  # a baseline's export
        if impl == c.CORE:
            paths.append(c.REPO)
        user_site = [site.getusersitepackages()] if site.ENABLE_USER_SITE else []
        paths += [p for p in site.getsitepackages() + user_site if p not in paths and os.path.isdir(p)]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        self.env = env

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, *args: str) -> tuple[float, str]:
        """Seconds of wall time of ``python -S args`` and its stdout; raises if it fails."""
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-S", *args], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, check=False)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"python -S {' '.join(args)[:80]} failed: {tail[0]}")
        return dt, proc.stdout

    def compile_package(self, package_file: str) -> None:
        """Byte-compile the package's directory into this cache (errors, e.g. a file being edited,
        are left to the import to report)."""
        target = os.path.dirname(package_file) if package_file.endswith("__init__.py") else package_file
        subprocess.run([sys.executable, "-S", "-m", "compileall", "-q", target], env=self.env, cwd=self.cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def cache_state(self) -> dict[str, int]:
        state = {}
        for folder, _, files in os.walk(self.cache):
            for name in files:
                path = os.path.join(folder, name)
                state[path] = os.stat(path).st_mtime_ns
        return state


def _compiled_note(before: dict[str, int], after: dict[str, int]) -> str:
    written = sum(1 for path, mtime in after.items() if before.get(path) != mtime)
    return f"{written} .pyc written during the timed runs (a source changed meanwhile?)" if written else ""


def _expected_file(impl: str) -> str | None:
    """The package file this worker imports (the children must import the same one)."""
    if impl == "asyncio":
        import asyncio

        return asyncio.__file__
    return getattr(c.import_or_unavailable(impl), "__file__", None)


def _check_same_file(impl: str, got: str) -> None:
    want = _expected_file(impl)
    if want is None or os.path.realpath(got) != os.path.realpath(want):
        raise RuntimeError(f"{impl}: the children import {got}, this worker {want}")


# ------------------------------------------------------------------------------------------------
# cases
# ------------------------------------------------------------------------------------------------
def _import_job(job: c.Job, kids: Children) -> c.Result:
    code = f"import {job.impl}"
    probe_code = (f"import sys; n = len(sys.modules); import {job.impl}; "
                  f"print({job.impl}.__file__); print(len(sys.modules) - n)")
    _, out = kids.run("-c", probe_code)  # caches every module the import loads
    package_file, modules = out.strip().splitlines()[-2:]
    _check_same_file(job.impl, package_file)
    kids.compile_package(package_file)
    for _ in range(2):  # untimed: file-system caches
        kids.run("-c", "pass")
        kids.run("-c", code)
    before = kids.cache_state()
    empty: list[float] = []
    loaded: list[float] = []
    for i in range(job.reps):
        for which in (("pass", "import") if i % 2 == 0 else ("import", "pass")):
            if which == "pass":
                empty.append(kids.run("-c", "pass")[0])
            else:
                loaded.append(kids.run("-c", code)[0])
    note = _compiled_note(before, kids.cache_state())
    floor = min(empty)
    samples = [(t - floor) * 1e3 for t in loaded]
    return c.Result(BENCH, job.case, job.size, job.impl, "ok", "ms", False, min(samples),
                    statistics.median(samples), samples, note=note,
                    extra={"pass_ms": [t * 1e3 for t in empty], "import_ms": [t * 1e3 for t in loaded],
                           "modules_loaded": int(modules)})


def _first_run_job(job: c.Job, kids: Children) -> list[c.Result]:
    import json

    _, out = kids.run(CHILD, job.impl)  # untimed process: caches every module the runs load
    first = json.loads(out.strip().splitlines()[-1])
    _check_same_file(job.impl, first["file"])
    kids.compile_package(first["file"])
    before = kids.cache_state()
    records = [json.loads(kids.run(CHILD, job.impl)[1].strip().splitlines()[-1]) for _ in range(job.reps)]
    note = _compiled_note(before, kids.cache_state())
    results = []
    for row in RUN_ROWS:
        ms = [r[row] * 1e3 for r in records]
        extra: dict[str, Any] = {}
        if row == "first_run":
            extra = {"networkx_after_import": [r["networkx"][0] for r in records],
                     "networkx_after_first_run": [r["networkx"][1] for r in records],
                     "ratio_in_process": [r["first_run"] / r["later_run"] for r in records]}
        results.append(c.Result(BENCH, row, job.size, job.impl, "ok", "ms", False, min(ms), statistics.median(ms),
                                ms, note=note if row == "first_run" else "", extra=extra))
    return results


def run_job(job: c.Job) -> c.Result | list[c.Result]:
    probe(job.impl)  # also imports flowno_core here, so a baseline's origin can be checked
    kids = Children(job.impl)
    try:
        if job.case == "import":
            return _import_job(job, kids)
        if job.case == "first_run":
            return _first_run_job(job, kids)
        raise ValueError(job.case)
    finally:
        kids.close()


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
def _first_vs_later(table: c.Table, impl: str, label: str) -> c.Check | None:
    first, later = table.get("first_run", GENERATIONS, impl), table.get("later_run", GENERATIONS, impl)
    if first is None and later is None:
        return None
    has_target = impl == c.CORE
    target = "first / later <= 2" if has_target else "(no target; figures only)"
    a, b = table.value("first_run", GENERATIONS, impl), table.value("later_run", GENERATIONS, impl)
    if a is None or b is None or b == 0:
        return c.Check(label, target, c._why_missing(table, "first_run", GENERATIONS, [impl]),
                       "n/a" if has_target else "info")
    ratios = (first.extra.get("ratio_in_process") if first else None) or []
    measured = f"{a / b:.2f}x ({a:.3g} ms -> {b:.3g} ms)"
    if ratios:
        measured += f"; per process, median {statistics.median(ratios):.2f}x"
    return c.Check(label, target, measured, ("met" if a / b <= 2.0 else "MISSED") if has_target else "info")


def _networkx(table: c.Table, impl: str, label: str) -> c.Check | None:
    r = table.get("first_run", GENERATIONS, impl)
    if r is None:
        return None
    has_target = impl == c.CORE
    target = "not in sys.modules after the first run" if has_target else "(no target; figures only)"
    flags = r.extra.get("networkx_after_first_run") if r.status == "ok" else None
    if not flags:
        return c.Check(label, target, c._why_missing(table, "first_run", GENERATIONS, [impl]),
                       "n/a" if has_target else "info")
    hits = sum(1 for f in flags if f)
    at_import = sum(1 for f in r.extra.get("networkx_after_import", []) if f)
    if not hits:
        measured = "not imported"
    else:
        measured = f"imported ({hits} of {len(flags)} processes"
        measured += f"; already by the import in {at_import})" if at_import else ")"
    return c.Check(label, target, measured, ("met" if not hits else "MISSED") if has_target else "info")


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    out = []
    if any(r.case == "import" for r in results):
        out.append(c.speedup_check(table, "import", 1, "asyncio", 1.0, "#11 import flowno_core <= import asyncio"))
    for impl in FLOW_IMPLS:
        tag = "#11 " if impl == c.CORE else ""
        for chk in (_first_vs_later(table, impl, f"{tag}{impl}: first run <= 2x a later run"),
                    _networkx(table, impl, f"{tag}{impl}: no networkx after the first run")):
            if chk is not None:
                out.append(chk)
    return out


if __name__ == "__main__":
    c.main(__import__(__name__))
