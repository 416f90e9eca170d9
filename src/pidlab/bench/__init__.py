"""pidlab's benchmark suite: the model and the live kernel side by side.

`run()` measures everything in one run and returns rows for one table (and
the raw figures for JSON).  Benchmarks are not tests: the targets are shown
against the figures, never asserted.  `smoke=True` runs every benchmark at
a tiny size so that the suite keeps working (the test suite does that).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
from typing import Any, Callable

from . import explore as explorebench
from . import live as livebench
from . import model as modelbench

DEPTHS = (1, 8, 16, 32)
FULL_NS = 4_194_303                     # every number of a pid_max 4194304 namespace


@dataclasses.dataclass
class Sizes:
    churn: int
    vfork: int
    depth: int
    pidfd: int
    scale: tuple[int, ...]
    wrap: int
    hold: int
    backend: int
    native: int
    guest: tuple[int, int, int]         # the guest's C loop, Python agent and native agent

    @classmethod
    def full(cls) -> "Sizes":
        return cls(churn=20_000, vfork=50_000, depth=5_000, pidfd=100_000,
                   scale=(1_000_000, FULL_NS), wrap=20_000, hold=5_000, backend=200,
                   native=2_000, guest=(2_000, 50, 200))

    @classmethod
    def smoke(cls) -> "Sizes":
        return cls(churn=200, vfork=200, depth=50, pidfd=500, scale=(2_000,), wrap=50,
                   hold=50, backend=5, native=5, guest=(20, 2, 5))


@dataclasses.dataclass
class Row:
    benchmark: str
    model: str
    target: str = ""
    met: bool | None = None
    live: str = ""
    backend: str = ""


@dataclasses.dataclass
class Report:
    rows: list[Row]
    results: dict[str, Any]
    machine: dict[str, str]
    smoke: bool

    def markdown(self) -> str:
        """The table as Markdown, with the machine it ran on."""
        lines = ["| benchmark | model | target | met | live kernel (C) | live backend |",
                 "|---|---|---|---|---|---|"]
        for r in self.rows:
            met = {True: "yes", False: "**no**", None: ""}[r.met]
            lines.append(f"| {r.benchmark} | {r.model} | {r.target} | {met} | {r.live} | "
                         f"{r.backend} |")
        m = self.machine
        lines += ["", f"Machine: {m['cpu']}, {m['cpus']} CPUs, Linux {m['kernel']}, "
                      f"{m['implementation']} {m['python']}, {m['model']}; run {m['date']}."]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict:
        return {"machine": self.machine, "smoke": self.smoke, "results": self.results,
                "table": [dataclasses.asdict(r) for r in self.rows]}


def _backend_row(label: str, c_ns: float | None, python_s: float | None,
                 native_s: float | None, target: Callable[[bool], bool | None]) -> Row:
    """The live backend's churn: the native agent against its target, the Python agent
    beside it, and the C fork loop of the same kernel (the ceiling)."""
    both = ", ".join(x for x in (native_s and f"native {_fmt_rate(1 / native_s)}",
                                 python_s and f"python {_fmt_rate(1 / python_s)}") if x)
    return Row(label, "", "≥ 1,000/s", target(1 / native_s >= 1000) if native_s else None,
               c_ns and f"fork {_fmt_rate(1e9 / c_ns)}" or "", both)


def machine() -> dict[str, str]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"kernel": platform.release(), "cpu": cpu, "cpus": str(os.cpu_count()),
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "model": model_build(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def model_build() -> str:
    """Which model ran: the pure package, or `make fast`'s copy with modules compiled by mypyc."""
    import importlib
    compiled = []
    for name in ("idr", "pid", "pid_namespace", "task", "fork", "exit", "signal", "pidfs",
                 "kernel"):
        mod = importlib.import_module(f"pidlab.model.{name}")
        if not (mod.__file__ or "").endswith(".py"):
            compiled.append(name)
    return f"mypyc-compiled model ({', '.join(compiled)})" if compiled else "pure-Python model"


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}/s"


def _try(fn: Callable[[], Any], results: dict, key: str) -> Any:
    """Run a live measurement; record why it could not run instead of failing."""
    try:
        value = fn()
    except (livebench.LiveUnavailable, OSError, subprocess.SubprocessError) as e:
        results.setdefault("live_unavailable", {})[key] = str(e)
        return None
    return value


def _scale_worker(n: int, wrap: int) -> dict:
    """Scale runs in a fresh interpreter so that resident memory starts clean."""
    args = [sys.executable, "-m", "pidlab.bench.worker", "scale", str(n)]
    if wrap:
        args.append(str(wrap))
    r = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"scale benchmark failed: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout)


def run(smoke: bool = False, live: bool = True, only: set[str] | None = None,
        progress: Callable[[str], None] = lambda msg: None, guest: bool = True) -> Report:
    """Every benchmark (or those in `only`); the live side's build directory is
    removed when the run ends, whatever happens.  `guest`: the live backend's churn
    inside the 6.12 virtual machine too."""
    try:
        return _run(smoke, live, only, progress, guest)
    finally:
        livebench.cleanup()


def _run(smoke: bool, live: bool, only: set[str] | None,
         progress: Callable[[str], None], guest: bool) -> Report:
    sizes = Sizes.smoke() if smoke else Sizes.full()
    res: dict[str, Any] = {"sizes": dataclasses.asdict(sizes)}
    rows: list[Row] = []

    def want(name: str) -> bool:
        return only is None or name in only

    def target(ok: bool) -> bool | None:
        return None if smoke else ok

    if want("churn"):
        progress("churn")
        m = modelbench.churn(sizes.churn)
        res["churn"] = {"model": m}
        lc = lv = lb = None
        if live:
            lc = _try(lambda: livebench.churn(sizes.churn), res, "churn_fork")
            lv = _try(lambda: livebench.churn(sizes.vfork, vfork=True), res, "churn_vfork")
            lb = _try(lambda: livebench.backend_churn(sizes.backend), res, "churn_backend")
            ln = _try(lambda: livebench.backend_churn(sizes.native, "native"), res,
                      "churn_native")
            res["churn"]["live"] = {"fork_ns": lc, "vfork_ns": lv, "backend_s": lb,
                                    "native_s": ln}
        live_txt = ", ".join(x for x in (
            lc and f"fork {_fmt_rate(1e9 / lc)}", lv and f"vfork {_fmt_rate(1e9 / lv)}") if x)
        rows.append(Row("churn: fork → exit_group → waitpid at level 1",
                        _fmt_rate(m["cycles_per_s"]), "≥ 100,000/s",
                        target(m["cycles_per_s"] >= 100_000), live_txt,
                        lb and _fmt_rate(1 / lb) or ""))
        if live:
            rows.append(_backend_row("live backend: churn through LiveKernel(agent='native')",
                                     lc, lb, ln, target))
            g = None
            if guest:
                progress(f"churn inside the {livebench.GUEST} guest")
                g = _try(lambda: livebench.guest_churn(*sizes.guest), res, "churn_guest")
            else:
                res.setdefault("live_unavailable", {})["churn_guest"] = "not asked (--no-guest)"
            res["churn"]["guest"] = g
            if g is not None:
                num = {k: v for k, v in g.items() if isinstance(v, float)}
                for k, v in g.items():
                    if not isinstance(v, float) and k != "accel":
                        res.setdefault("live_unavailable", {})[f"churn_guest_{k}"] = v
                rows.append(_backend_row(f"live backend: the same inside the {livebench.GUEST} guest "
                                         f"({g.get('accel', 'TCG')})", num.get("fork_ns"),
                                         num.get("python_s"), num.get("native_s"), target))

    if want("scale") or want("wrap"):
        # wrap measures the allocator in a nearly full namespace: it runs inside the
        # largest scale run, which fills one (alone, it fills it without a scale row).
        kernel_mem = None
        if live and want("scale"):
            progress("scale (live memory per process)")
            kernel_mem = _try(lambda: livebench.memory(sizes.hold), res, "memory")
        if want("scale"):
            res["scale"] = {"live": kernel_mem, "model": {}}
        for n in sizes.scale if want("scale") else sizes.scale[-1:]:
            wrap = sizes.wrap if n == sizes.scale[-1] and want("wrap") else 0
            progress(f"scale {n:,} tasks" if want("scale") else
                     f"wrap (first fills a namespace with {n:,} tasks)")
            m = _scale_worker(n, wrap)
            if want("scale"):
                res["scale"]["model"][str(n)] = {k: v for k, v in m.items() if k != "wrap"}
                full = n == FULL_NS
                ok = m["bytes_per_task"] <= 1024 and (not full or m["seconds"] <= 60)
                rows.append(Row(f"scale: {n:,} tasks in one namespace",
                                f"{m['seconds']:.1f} s, {m['bytes_per_task']:.0f} B/task",
                                "≤ 60 s, ≤ 1 KiB/task" if full else "≤ 1 KiB/task", target(ok),
                                kernel_mem and f"{kernel_mem['bytes_per_process'] / 1024:.0f} "
                                f"KiB/process ({sizes.hold:,} sleeping)" or ""))
            if "wrap" in m:
                w = m["wrap"]
                res["wrap"] = {**w, "namespace_tasks": n}
                rows.append(Row(f"wrap: alloc + free with {w['free_numbers']:,} free numbers",
                                f"{w['alloc_free_us']:.2f} µs (fork cycle {w['fork_cycle_us']:.1f} µs)",
                                "≤ 5 µs", target(w["alloc_free_us"] <= 5)))

    if want("depth"):
        progress("depth")
        m = modelbench.depth(list(DEPTHS), sizes.depth)
        res["depth"] = {"model": m}
        lvals: dict[int, float] = {}
        if live:
            for lvl in DEPTHS:
                v = _try(lambda lvl=lvl: livebench.churn(sizes.depth, depth=lvl), res,
                         f"depth_{lvl}")
                if v is not None:
                    lvals[lvl] = v
            res["depth"]["live_ns"] = lvals
        for lvl in DEPTHS[1:]:
            rel = m[f"level_{lvl}"]["relative"]
            lrel = lvals[lvl] / lvals[1] if 1 in lvals and lvl in lvals else None
            rows.append(Row(f"depth: fork cycle at level {lvl} vs level 1",
                            f"{rel:.2f}× ({m[f'level_{lvl}']['us_per_cycle']:.1f} µs)",
                            "≤ 2×" if lvl == 32 else "", target(rel <= 2) if lvl == 32 else None,
                            f"{lrel:.2f}×" if lrel else ""))

    if want("pidfd"):
        progress("pidfds")
        m = modelbench.pidfds(sizes.pidfd)
        res["pidfd"] = {"model": m}
        lp = _try(lambda: livebench.pidfds(sizes.pidfd), res, "pidfd") if live else None
        res["pidfd"]["live"] = lp
        names = (("pidfd_open_close_per_s", "pidfd: pidfd_open + close", "≥ 200,000/s", 200_000),
                 ("get_info_per_s", "pidfd: PIDFD_GET_INFO", "", None),
                 ("handle_roundtrip_per_s", "pidfd: name_to_handle_at + open_by_handle_at",
                  "", None))
        for key, label, tgt, need in names:
            rows.append(Row(label, _fmt_rate(m[key]), tgt,
                            target(m[key] >= need) if need else None,
                            lp and _fmt_rate(lp[key]) or ""))

    if want("explore"):
        # The race explorer: schedules per second (CPU time, the forked shards' included;
        # wall time beside it, since other work on the machine takes the CPU away).
        progress("explore (the race explorer)")
        res["explore"] = explorebench.run(smoke)
        for label, case in res["explore"].items():
            for jobs in (1, 2):
                m = case.get(f"jobs_{jobs}")
                if m is None:
                    continue
                rows.append(Row(f"explore: {label} at {case['version']}, jobs={jobs}",
                                f"{m['per_s_cpu']:,.0f}/s CPU, {m['per_s_wall']:,.0f}/s wall "
                                f"({m['schedules']:,} schedules)", f"≥ {explorebench.TARGET:,}/s",
                                target(m["per_s_cpu"] >= explorebench.TARGET)))
    return Report(rows, res, machine(), smoke)
