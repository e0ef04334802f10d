"""Shared machinery for the benchmark scripts: jobs, worker subprocesses, timing, tables, targets.

Theory of operation
-------------------
Every ``bench_*.py`` script defines a *plan* (a list of ``Job``: case x size x implementation), a
``run_job`` function that measures one job inside the current process, a ``probe`` that says whether
an implementation is usable here, and a list of target checks. ``main(module)`` gives each script the
same command line:

* without ``--worker`` it is the *orchestrator*: it probes every implementation once, then runs each
  job in its own fresh subprocess (``sys.executable script --worker JSON``), so implementations never
  share a process, an import, a garbage collector or a leaked structure, and a hung job is killed
  after its timeout. It prints one table per benchmark plus the target checks.
* with ``--worker`` it measures one job and prints one ``@@RESULT@@ {json}`` line per row it
  measured (``run_job`` returns a Result, or a list of them when one job yields several rows).

Timing: each job runs a smaller warm-up first, then ``reps`` timed repetitions (fewer when they
exceed the 60 s ``TIME_BUDGET``) with a
``gc.collect()`` before each. Every repetition builds its own fresh objects (loop, flow, queues)
outside the timed region where the API allows; the timed region is measured with
``time.perf_counter``. Tables show the best of the repetitions (the machine is shared, and the best
run is the one least disturbed by other load; ``--metric median`` shows medians); ratios are
computed from the same figure. Both figures and every sample are kept in the JSON output.

Baselines: ``--baseline REV`` (repeatable) measures flowno_core as it was at git revision ``REV``
beside the working tree. ``export_revision`` copies that revision's ``flowno_core/`` into
``.bench-baseline/<sha>/`` (``git archive``; the directory ignores itself in git), every flowno_core
job gets a twin named ``core@<short sha>`` right after it, and that twin's workers run with
``PYTHONPATH`` at the export, so ``import flowno_core`` finds the old code before the editable
install's finder (which sits after the path finder in ``sys.meta_path``). Each worker reports
the file it imported and the orchestrator rejects a baseline result that came from anywhere else.
Reports then add ``core vs core@<sha>`` columns and a spread table (n, best, median, quartiles).

Nothing here is imported by the test suite; benchmarks never assert.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import importlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

RESULT_MARK = "@@RESULT@@ "
CORE = "flowno_core"
BASELINE = "core@"  # a baseline implementation is named core@<short sha>
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE_DIR = os.path.join(REPO, ".bench-baseline")


class Unavailable(Exception):
    """Raised by a probe or a job when an implementation cannot run here (message says why)."""


# --------------------------------------------------------------------------------------------
# jobs and results
# --------------------------------------------------------------------------------------------
@dataclass
class Job:
    """One measurement: ``case`` at ``size`` for ``impl``, ``reps`` timed repetitions."""

    case: str
    size: int
    impl: str
    reps: int = 5
    timeout: float = 600.0
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    bench: str
    case: str
    size: int
    impl: str
    status: str  # ok | unavailable | timeout | error
    unit: str = ""
    higher_is_better: bool = False
    best: float | None = None
    median: float | None = None
    samples: list[float] = field(default_factory=list)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, metric: str) -> float | None:
        if self.status != "ok":
            return None
        return self.best if metric == "best" else self.median


def cost_result(bench: str, job: Job, times: list[float], ops: int, unit: str = "us/op",
                **extra: Any) -> Result:
    """A lower-is-better result: seconds per repetition -> microseconds per operation."""
    per_op = [t / ops * 1e6 for t in times]
    note = f"{len(times)} of {job.reps} repetitions (time budget)" if len(times) < job.reps else ""
    return Result(bench, job.case, job.size, job.impl, "ok", unit, False, min(per_op),
                  statistics.median(per_op), per_op, note=note, extra=dict(extra))


def rate_result(bench: str, job: Job, rates: list[float], unit: str, **extra: Any) -> Result:
    """A higher-is-better result (requests/s, MB/s)."""
    return Result(bench, job.case, job.size, job.impl, "ok", unit, True, max(rates),
                  statistics.median(rates), list(rates), extra=dict(extra))


TIME_BUDGET = 60.0
"""Seconds of timed work per job after which no further repetition starts (a slow implementation
gets fewer repetitions instead of hitting the job timeout; at least one always runs)."""


def repeat(run_once: Callable[[int], float], size: int, reps: int, warmup_size: int | None,
           budget: float = TIME_BUDGET) -> list[float]:
    """Warm up once at ``warmup_size`` (if any), then time up to ``reps`` runs at ``size``.

    ``run_once(n)`` does one complete run at size ``n`` and returns the seconds of its timed region.
    Stops early once ``budget`` seconds of wall time have been spent on the timed runs.
    """
    if warmup_size:
        run_once(warmup_size)
    times = []
    started = time.perf_counter()
    for _ in range(reps):
        gc.collect()
        times.append(run_once(size))
        if time.perf_counter() - started > budget:
            break
    return times


# --------------------------------------------------------------------------------------------
# implementation probes shared by several scripts
# --------------------------------------------------------------------------------------------
def import_or_unavailable(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{name}: not installed ({exc})") from None


def flow_package(name: str) -> Any:
    """The package ``name`` if it has flowno's flow API (node, FlowHDL), else Unavailable."""
    pkg = import_or_unavailable(name)
    if not all(hasattr(pkg, attr) for attr in ("node", "FlowHDL")):
        raise Unavailable(f"{name}: flow runtime not available yet")
    return pkg


def stream_package(name: str) -> Any:
    pkg = flow_package(name)
    if not hasattr(pkg, "Stream"):
        raise Unavailable(f"{name}: streaming not available yet")
    return pkg


def io_package(name: str) -> Any:
    """``name.io`` if it exports HttpClient and HttpServer, else Unavailable.

    (An empty ``flowno_core/io`` directory imports as a namespace package, so check the names.)
    """
    import_or_unavailable(name)
    try:
        io = importlib.import_module(f"{name}.io")
    except ImportError:
        io = None
    if io is None or not all(hasattr(io, attr) for attr in ("HttpClient", "HttpServer")):
        raise Unavailable(f"{name}: {name}.io not available yet")
    return io


# --------------------------------------------------------------------------------------------
# baselines: flowno_core at an earlier git revision
# --------------------------------------------------------------------------------------------
def export_revision(rev: str) -> tuple[str, str]:
    """Export ``flowno_core/`` of git revision ``rev`` into ``.bench-baseline/<sha>/`` (once per
    commit) and return (implementation name ``core@<short sha>``, that directory)."""

    def git(*args: str) -> bytes:
        proc = subprocess.run(["git", "-C", REPO, *args], capture_output=True)
        if proc.returncode != 0:
            sys.exit(f"--baseline {rev}: git {args[0]} failed: {proc.stderr.decode().strip()}")
        return proc.stdout

    sha = git("rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    dest = os.path.join(BASELINE_DIR, sha)
    if not os.path.exists(dest):
        os.makedirs(BASELINE_DIR, exist_ok=True)
        with open(os.path.join(BASELINE_DIR, ".gitignore"), "w") as fh:
            fh.write("# benchmark baselines (benchmarks/run.py --baseline); not part of the repository\n*\n")
        archive = git("archive", sha, CORE)
        tmp = tempfile.mkdtemp(dir=BASELINE_DIR)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        os.rename(tmp, dest)  # complete or absent, never half-written
    return BASELINE + git("rev-parse", "--short", sha).decode().strip(), dest


def _wrong_import(impl: str, imported: str | None, export: str | None) -> str | None:
    """Why a baseline worker's flowno_core is not the exported one (None if it is, or no baseline)."""
    if export is None or (imported and os.path.abspath(imported).startswith(export + os.sep)):
        return None
    return f"{impl}: imported flowno_core from {imported}, not from {export}"


# --------------------------------------------------------------------------------------------
# targets
# --------------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    target: str
    measured: str
    status: str  # met | MISSED | pending | n/a


class Table:
    """Index of results by (case, size, impl) with the chosen metric."""

    def __init__(self, results: Iterable[Result], metric: str) -> None:
        self.metric = metric
        self.by_key = {(r.case, r.size, r.impl): r for r in results}

    def get(self, case: str, size: int, impl: str) -> Result | None:
        return self.by_key.get((case, size, impl))

    def value(self, case: str, size: int, impl: str) -> float | None:
        r = self.get(case, size, impl)
        return None if r is None else r.value(self.metric)

    def speedup(self, case: str, size: int, other: str, impl: str = CORE) -> float | None:
        """How many times faster ``impl`` is than ``other`` (> 1: impl is faster)."""
        mine, theirs = self.get(case, size, impl), self.get(case, size, other)
        if mine is None or theirs is None:
            return None
        a, b = mine.value(self.metric), theirs.value(self.metric)
        if a is None or b is None or a == 0 or b == 0:
            return None
        return a / b if mine.higher_is_better else b / a


def speedup_check(table: Table, case: str, size: int, other: str, minimum: float, label: str) -> Check:
    """flowno_core must be at least ``minimum`` times as fast as ``other`` on (case, size)."""
    target = f">= {minimum:g}x {other}" if minimum != 1 else f"at least as fast as {other}"
    s = table.speedup(case, size, other)
    if s is None:
        return Check(label, target, _why_missing(table, case, size, [CORE, other]), _pending(table, case, size))
    return Check(label, target, f"{s:.2f}x", "met" if s >= minimum else "MISSED")


def growth_check(table: Table, case: str, small: int, large: int, maximum: float, label: str,
                 impl: str = CORE, show_spread: bool = False) -> Check:
    """Per-operation cost of ``impl`` at ``large`` must be <= ``maximum`` x the cost at ``small``.

    The status uses the table's metric (the best of the pooled samples by default). With
    ``show_spread`` the measured text also gives the ratio of the medians and, for each size, the
    number of pooled samples and their interquartile range relative to the median."""
    target = f"cost({large:,}) / cost({small:,}) <= {maximum:g}"
    a, b = table.value(case, small, impl), table.value(case, large, impl)
    if a is None or b is None:
        return Check(label, target, _why_missing(table, case, small, [impl]) if a is None
                     else _why_missing(table, case, large, [impl]), _pending(table, case, small))
    measured = f"{b / a:.2f}x ({a:.3g} -> {b:.3g})"
    if show_spread:
        ra, rb = table.get(case, small, impl), table.get(case, large, impl)
        assert ra is not None and rb is not None
        if ra.median and rb.median:
            other = "best" if table.metric == "median" else "median"
            va, vb = (ra.best, rb.best) if other == "best" else (ra.median, rb.median)
            if va and vb:
                measured += f"; by {other} {vb / va:.2f}x"
        measured += f"; n {len(ra.samples)} / {len(rb.samples)}, IQR/median {_iqr(ra)} / {_iqr(rb)}"
    return Check(label, target, measured, "met" if b / a <= maximum else "MISSED")


def ratio_check(table: Table, case: str, size: int, other: str, maximum: float, label: str,
                what: str = "cost") -> Check:
    """flowno_core's figure on (case, size) must be <= ``maximum`` x ``other``'s (lower is better)."""
    target = f"{what} <= {maximum:g}x {other}'s"
    a, b = table.value(case, size, CORE), table.value(case, size, other)
    if a is None or b is None or b == 0:
        return Check(label, target, _why_missing(table, case, size, [CORE, other]), _pending(table, case, size))
    return Check(label, target, f"{a / b:.2f}x ({a:.3g} vs {b:.3g})", "met" if a / b <= maximum else "MISSED")


def _iqr(r: Result) -> str:
    """Interquartile range of a result's samples as a fraction of their median."""
    if len(r.samples) < 2 or not r.median:
        return "-"
    q1, _, q3 = statistics.quantiles(r.samples, n=4, method="inclusive")
    return f"{(q3 - q1) / abs(r.median):.1%}"


def _pending(table: Table, case: str, size: int) -> str:
    r = table.get(case, size, CORE)
    return "pending" if r is not None and r.status == "unavailable" and "not available yet" in r.note else "n/a"


def _why_missing(table: Table, case: str, size: int, impls: list[str]) -> str:
    for impl in impls:
        r = table.get(case, size, impl)
        if r is None:
            return f"{impl}: not run"
        if r.status != "ok":
            note = r.note or r.status
            return note if note.startswith(impl) else f"{impl}: {note}"
    return "-"


# --------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------
def fmt_value(v: float | None) -> str:
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell(r: Result | None, metric: str) -> str:
    if r is None:
        return ""
    if r.status == "ok":
        return fmt_value(r.value(metric))
    if r.status == "unavailable":
        return "pending" if r.impl == CORE and "not available yet" in r.note else "n/a"
    return r.status


def render(bench: str, impls: list[str], results: list[Result], checks: list[Check], metric: str,
           markdown: bool, size_label: str = "size") -> str:
    """One results table (rows: case x size; columns: implementations then flowno_core speedups)."""
    table = Table(results, metric)
    others = [i for i in impls if i != CORE]
    header = ["case", size_label, "unit"] + impls + [f"core vs {o}" for o in others]
    rows = []
    for case, size in _row_keys(results):
        unit = next((r.unit for r in results if r.case == case and r.size == size and r.unit), "")
        row = [case, f"{size:,}", unit]
        row += [cell(table.get(case, size, i), metric) for i in impls]
        for o in others:
            s = table.speedup(case, size, o)
            row.append("" if s is None else f"{s:.2f}x")
        rows.append(row)
    notes = sorted({r.note if r.note.startswith(r.impl) else f"{r.impl}: {r.note}"
                    for r in results if r.note and r.status != "ok"})
    notes += sorted({f"{r.impl} {r.case} {r.size:,}: {r.note}" for r in results if r.note and r.status == "ok"})
    out = [f"### {bench}" if markdown else f"== {bench} ({metric} of the repetitions; "
           "'core vs X' = how many times faster flowno_core is than X) =="]
    out.append(_grid(header, rows, markdown))
    if any(i.startswith(BASELINE) for i in impls):
        out += ["", spread(results, [i for i in impls if i == CORE or i.startswith(BASELINE)], markdown, size_label)]
    if checks:
        out.append("")
        out.append(_grid(["target", "goal", "measured", "status"],
                         [[c.name, c.target, c.measured, c.status] for c in checks], markdown))
    if notes:
        out.append("")
        out += [f"* {n}" if markdown else f"  note: {n}" for n in notes]
    return "\n".join(out)


def spread(results: list[Result], impls: list[str], markdown: bool, size_label: str = "size") -> str:
    """flowno_core and its baselines sample by sample: n, best, median, quartiles, and both ratios."""
    best, median = Table(results, "best"), Table(results, "median")
    header = ["case", size_label, "unit", "impl", "n", "best", "median", "q1 - q3", "IQR / median",
              "core vs it (best)", "core vs it (median)"]
    rows = []
    for case, size in _row_keys(results):
        for impl in impls:
            r = best.get(case, size, impl)
            if r is None:
                continue
            row = [case, f"{size:,}", r.unit, impl, str(len(r.samples))]
            if r.status != "ok" or not r.samples or r.median is None:
                rows.append(row + [cell(r, "best"), "", "", "", "", ""])
                continue
            q1, _, q3 = (statistics.quantiles(r.samples, n=4, method="inclusive") if len(r.samples) > 1
                         else [r.median] * 3)
            row += [fmt_value(r.best), fmt_value(r.median), f"{fmt_value(q1)} - {fmt_value(q3)}",
                    f"{(q3 - q1) / r.median:.1%}"]
            ratios = [None, None] if impl == CORE else [t.speedup(case, size, impl) for t in (best, median)]
            rows.append(row + ["" if x is None else f"{x:.2f}x" for x in ratios])
    title = "spread of every pooled sample; 'core vs it' > 1: the working tree is faster than that revision"
    return (f"*{title}*\n\n" if markdown else f"-- {title} --\n") + _grid(header, rows, markdown)


def _row_keys(results: list[Result]) -> list[tuple[str, int]]:
    """(case, size) pairs: cases in the order they were run, sizes ascending."""
    case_order = list(dict.fromkeys(r.case for r in results))
    return sorted({(r.case, r.size) for r in results}, key=lambda k: (case_order.index(k[0]), k[1]))


def _grid(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda r: "  ".join(str(x).rjust(w) if i >= 2 else str(x).ljust(w)  # noqa: E731
                             for i, (x, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def describe_machine(info: dict[str, Any], metric: str, quick: bool, rounds: int = 1) -> str:
    """One line saying when, where and on what code a set of results was measured."""
    code = f"flowno_core commit {info.get('commit', '-')}"
    if info.get("dirty"):
        code += " plus uncommitted changes in flowno_core/"
    for name, export in info.get("baselines", {}).items():
        code += f", {name} = commit {os.path.basename(export)}"
    return (f"Measured {info.get('date', '?')} on {info.get('cpus', '?')} cores, Python {info.get('python', '?')}, "
            f"{code}, flowno {info.get('flowno', '-')}, aiostream {info.get('aiostream', '-')}, "
            f"h11 {info.get('h11', '-')}; {metric} of the repetitions"
            f"{f' pooled over {rounds} rounds' if rounds > 1 else ''}{' (QUICK MODE: smoke sizes)' if quick else ''}.")


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    for name in ("flowno_core", "flowno", "aiostream", "h11"):
        try:
            from importlib.metadata import version

            info[name] = version(name.replace("_", "-"))
        except Exception:
            info[name] = "-"
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        info["commit"] = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, timeout=10).stdout.strip() or "-"
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--", "../flowno_core"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["dirty"] = bool(dirty)
    except Exception:
        info["commit"] = "-"
        info["dirty"] = False
    return info


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------
def _run_subprocess(script: str, payload: dict[str, Any], timeout: float,
                    pythonpath: str | None = None) -> tuple[str, list[dict], str]:
    """Run one worker (with ``pythonpath`` first on ``PYTHONPATH`` if given); returns (status,
    the result dicts it printed (one per ``@@RESULT@@`` line; empty unless status is ok), stderr
    tail)."""
    cmd = [sys.executable, script, "--worker", json.dumps(payload)]
    env = None
    if pythonpath:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the worker's own process group (it and its server)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return "timeout", [], (err or "")[-2000:]
    found = [json.loads(line[len(RESULT_MARK):]) for line in out.splitlines() if line.startswith(RESULT_MARK)]
    if found:
        return "ok", found, (err or "")[-2000:]
    return "error", [], ((err or "") + (out or ""))[-2000:]


def merge_rounds(results: list[Result]) -> list[Result]:
    """Combine the results of several rounds of the same jobs: samples (and list-valued extras)
    pooled, best and median recomputed; a job that failed in one round keeps the successful rounds
    (with a note)."""
    merged: dict[tuple[str, int, str], Result] = {}
    for r in results:
        key = (r.case, r.size, r.impl)
        m = merged.get(key)
        if m is None:
            merged[key] = Result(**asdict(r))
            continue
        if m.status != "ok" and r.status == "ok":
            r.note = (r.note + "; " if r.note else "") + f"another round: {m.status}"
            merged[key] = Result(**asdict(r))
            continue
        if r.status != "ok" or m.status != "ok":
            if r.status != "ok" and m.status == "ok":
                m.note = (m.note + "; " if m.note else "") + f"another round: {r.status}"
            continue
        m.samples += r.samples
        for k, v in r.extra.items():  # list-valued extras are per-sample records: pool them too
            if isinstance(v, list) and isinstance(m.extra.get(k), list):
                m.extra[k] = m.extra[k] + v
        m.best = max(m.samples) if m.higher_is_better else min(m.samples)
        m.median = statistics.median(m.samples)
    return list(merged.values())


def orchestrate(module: Any, script: str, jobs: list[Job], verbose: bool = True, rounds: int = 1,
                baselines: dict[str, str] | None = None) -> list[Result]:
    """Probe the implementations, then run every job in its own subprocess, ``rounds`` times over
    (round-robin, every other round in reverse order, so a burst of load from elsewhere does not hit
    one implementation only). ``baselines`` maps a ``core@<sha>`` name to its exported tree."""
    bench = module.BENCH
    baselines = baselines or {}
    availability: dict[str, str | None] = {}
    for impl in dict.fromkeys(j.impl for j in jobs):
        status, found, err = _run_subprocess(script, {"probe": impl}, 120, baselines.get(impl))
        res = found[0] if found else None
        if status == "ok" and res is not None:
            availability[impl] = res["unavailable"] or _wrong_import(impl, res["imported"], baselines.get(impl))
            if res["imported"] and verbose:
                print(f"  {impl}: flowno_core from {res['imported']}", flush=True)
        else:
            availability[impl] = f"probe failed: {err.strip().splitlines()[-1] if err.strip() else status}"
        if availability[impl] and verbose:
            print(f"  {availability[impl]}", flush=True)
    results: list[Result] = []
    for job in [j for k in range(max(1, rounds)) for j in (jobs if k % 2 == 0 else jobs[::-1])]:
        reason = availability.get(job.impl)
        if reason:
            results.append(Result(bench, job.case, job.size, job.impl, "unavailable", note=reason))
            continue
        t0 = time.perf_counter()
        status, found, err = _run_subprocess(script, {"job": asdict(job)}, job.timeout, baselines.get(job.impl))
        wall = time.perf_counter() - t0
        batch: list[Result] = []
        if status == "ok":
            for res in found:  # a job may report several rows (e.g. startup's first and later run)
                r = Result(**res)
                wrong = _wrong_import(job.impl, r.extra.get("imported"), baselines.get(job.impl))
                if wrong and r.status == "ok":
                    r = Result(bench, r.case, r.size, job.impl, "error", note=wrong)
                batch.append(r)
        elif status == "timeout":
            batch.append(Result(bench, job.case, job.size, job.impl, "timeout", note=f"killed after {job.timeout:.0f}s"))
        else:
            last = err.strip().splitlines()[-1] if err.strip() else "no output"
            batch.append(Result(bench, job.case, job.size, job.impl, "error", note=last[:200]))
        results += batch
        if verbose:
            for r in batch:
                shown = f"{fmt_value(r.median)} {r.unit} (best {fmt_value(r.best)})" if r.status == "ok" else \
                    f"{r.status}: {r.note}"
                print(f"  {bench:6} {r.case:14} {r.size:>9,} {job.impl:13} {shown}   [{wall:.1f}s]", flush=True)
            if batch[0].status == "error" and err.strip():
                print("    " + "\n    ".join(err.strip().splitlines()[-8:]), file=sys.stderr, flush=True)
    return merge_rounds(results)


def worker(module: Any, payload: dict[str, Any]) -> None:
    """Probe or measure in this process; a ``core@<sha>`` implementation runs as flowno_core (its
    PYTHONPATH points at the exported revision). Reports the flowno_core file imported, if any."""
    impl = payload["probe"] if "probe" in payload else payload["job"]["impl"]
    as_impl = CORE if impl.startswith(BASELINE) else impl
    if "probe" in payload:
        try:
            module.probe(as_impl)
            out: dict[str, Any] = {"unavailable": None}
        except Unavailable as exc:
            out = {"unavailable": str(exc).replace(CORE, impl, 1)}  # a baseline's message names it
        out["imported"] = getattr(sys.modules.get(CORE), "__file__", None)
        print(RESULT_MARK + json.dumps(out), flush=True)
        return
    job = Job(**{**payload["job"], "impl": as_impl})
    try:
        outcome: Result | list[Result] = module.run_job(job)
    except Unavailable as exc:
        outcome = Result(module.BENCH, job.case, job.size, impl, "unavailable", note=str(exc).replace(CORE, impl, 1))
    for result in outcome if isinstance(outcome, list) else [outcome]:  # run_job may return several rows
        result.impl = impl
        result.extra["imported"] = getattr(sys.modules.get(CORE), "__file__", None)
        print(RESULT_MARK + json.dumps(asdict(result)), flush=True)


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small sizes and 2 repetitions (smoke run)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per job")
    parser.add_argument("--impl", default=None, help="comma list of implementations to run")
    parser.add_argument("--case", default=None, help="comma list of cases to run")
    parser.add_argument("--metric", choices=["best", "median"], default="best",
                        help="which repetition the tables show: the best (default; least "
                        "disturbed by other load) or the median")
    parser.add_argument("--markdown", action="store_true", help="also print the tables as markdown")
    parser.add_argument("--json", default=None, help="write the results to this JSON file")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the whole job list this many times (round-robin) and pool the samples")
    parser.add_argument("--baseline", action="append", default=[], metavar="REV",
                        help="also measure flowno_core at git revision REV, as core@<short sha> (repeatable)")


def select_jobs(module: Any, args: argparse.Namespace, baselines: Iterable[str] = ()) -> list[Job]:
    """The plan, each flowno_core job followed by its twin for every baseline, then filtered."""
    jobs = [twin for j in module.plan(args.quick)
            for twin in [j] + ([replace(j, impl=b) for b in baselines] if j.impl == CORE else [])]
    if args.impl:
        keep = set(args.impl.split(","))
        jobs = [j for j in jobs if j.impl in keep]
    if args.case:
        keep = set(args.case.split(","))
        jobs = [j for j in jobs if j.case in keep]
    if args.reps is not None:
        for j in jobs:
            j.reps = max(1, args.reps)
    return jobs


def report(module: Any, results: list[Result], metric: str, markdown: bool) -> str:
    table = Table(results, metric)
    checks = module.checks(table, results)
    at = module.IMPLS.index(CORE) + 1
    baselines = [i for i in dict.fromkeys(r.impl for r in results) if i.startswith(BASELINE)]
    impls = module.IMPLS[:at] + baselines + module.IMPLS[at:]
    return render(module.BENCH, impls, results, checks, metric, markdown, getattr(module, "SIZE_LABEL", "size"))


def main(module: Any) -> None:
    """Command line shared by every bench script (see the module docstring)."""
    parser = argparse.ArgumentParser(description=module.__doc__.splitlines()[0])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    add_common_args(parser)
    args = parser.parse_args()
    if args.worker is not None:
        worker(module, json.loads(args.worker))
        return
    script = os.path.abspath(module.__file__)
    baselines = dict(export_revision(rev) for rev in args.baseline)
    jobs = select_jobs(module, args, baselines)
    print(f"[{module.BENCH}] {len(jobs)} jobs with {sys.executable}", flush=True)
    results = orchestrate(module, script, jobs, rounds=args.rounds, baselines=baselines)
    print()
    print(report(module, results, args.metric, markdown=False))
    if args.markdown:
        print()
        print(report(module, results, args.metric, markdown=True))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": {**machine_info(), "baselines": baselines}, "quick": args.quick,
                       "rounds": args.rounds, "bench": module.BENCH, "results": [asdict(r) for r in results]},
                      fh, indent=1)
