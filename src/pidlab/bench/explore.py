"""The race explorer's speed: schedules per second of shipped litmus tests.

Each case is a litmus test of pidlab/examples/litmus explored at one version with
the command line's defaults (depth-first, 2 preemptions), with jobs=1 and jobs=2
(jobs=N shards the search over N forked processes; each --max-schedules cap would
apply per shard, so the full runs use none).
CPU time is the process's own (time.process_time) plus that of the forked shards
it waited for (os.times' children fields), so that jobs=2 is not credited with CPU
it did not count.  `breakdown()` splits the time of a schedule between what every
schedule does: building the Kernel, the setup lines, the interleaved run, and the
snapshot and canonical outcome that identify the end state; `profile()` gives
cProfile's view of one whole exploration.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from importlib import resources

TARGET = 10_000                     # schedules/s, issue 14 item 7

# (label, litmus test, version).  pid-reuse-kill is the four-task case: three racing
# threads (the reaper that forks again, the kill by number, the kill by pidfd) and
# the new child, whose death by SIGTERM runs as a task of its own (a woken thread).
CASES = (("(a) exit-info-race", "exit-info-race", "6.16.0"),
         ("(d) two-waiters", "two-waiters", "6.18"),
         ("(h) pid-reuse-kill, 4 tasks", "pid-reuse-kill", "6.18"))


def program(name: str):
    from .. import script
    path = resources.files("pidlab") / "examples" / "litmus" / f"{name}.pidlab"
    return script.parse_litmus(path.read_text(encoding="utf-8"), f"{name}.pidlab").compile()


def _cpu() -> float:
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def measure(name: str, version: str, jobs: int = 1, max_schedules: int | None = None,
            reps: int = 3) -> dict:
    """The fastest of `reps` explorations (by wall time), with its CPU time."""
    import pidlab
    prog = program(name)
    best = None
    for _ in range(reps):
        c0, w0 = _cpu(), time.perf_counter()
        x = pidlab.explore(prog.setup, prog.threads, version=version, final=prog.final,
                           jobs=jobs, max_schedules=max_schedules)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        if best is None or wall < best["wall_s"]:
            best = {"schedules": x.schedules, "exhaustive": x.exhaustive, "wall_s": wall,
                    "cpu_s": cpu, "per_s_wall": x.schedules / wall,
                    "per_s_cpu": x.schedules / cpu if cpu else 0.0, "tasks": _tasks(prog, x)}
    return best


def _tasks(prog, x) -> int:
    """The most tasks that ran in one schedule (woken tasks included), over the first
    schedule of every distinct outcome, replayed with a trace."""
    import pidlab
    from ..explore import _token
    most = 0
    for o in x.outcomes:
        w = x.witness(lambda out, o=o: out == o)
        steps = pidlab.trace(prog.setup, prog.threads, _token(x.version, x.changes, w.choices),
                             final=prog.final)
        most = max(most, 1 + max(s.thread for s in steps))
    return most


def breakdown(name: str, version: str, n: int = 200) -> dict:
    """CPU microseconds of each part of one schedule, timed apart (best of 3 rounds of n):
    Kernel() construction; the setup lines on it; one whole schedule as the search runs
    it (run_schedule: kernel, setup, the interleaved threads and the after block,
    snapshot and canonical outcome), taking no preemption; and, on its end state, the
    snapshot and the canonical outcome alone.  The interleaved run is the whole less
    the other parts."""
    from ..explore import _default, canon, run_schedule
    from ..model import Kernel
    prog = program(name)

    def timed(fn) -> float:
        # CPU time: on a machine shared with other work, wall time measures the others.
        best = float("inf")
        for _ in range(3):
            t0 = time.process_time()
            for _ in range(n):
                fn()
            best = min(best, time.process_time() - t0)
        return best / n * 1e6

    def setup() -> None:
        k = Kernel(version=version)
        prog.setup(k)
        if k.state.runq:
            k.state.run_pending()
    r = run_schedule(prog.setup, prog.threads, _default, version, None, prog.final, keep=True)
    kernel = timed(lambda: Kernel(version=version))
    with_setup = timed(setup)
    whole = timed(lambda: run_schedule(prog.setup, prog.threads, _default, version, None,
                                       prog.final))
    snap = timed(r.kernel.snapshot)
    can = timed(lambda: canon(r.outcome))
    return {"schedule_us": whole,
            "parts_us": {"Kernel() construction": kernel, "setup lines": with_setup - kernel,
                         "interleaved run (threads, after block, scheduler)":
                             whole - with_setup - snap - can,
                         "snapshot": snap, "canonical outcome": can}}


def profile(name: str, version: str) -> list[tuple[str, float]]:
    """cProfile of one exploration (jobs=1): the eight functions with the most own time,
    in microseconds per schedule.  (cProfile follows greenlet switches poorly: a
    thread's time may land on the function that switched to it.)"""
    import pidlab
    prog = program(name)
    prof = cProfile.Profile()
    prof.enable()
    x = pidlab.explore(prog.setup, prog.threads, version=version, final=prog.final)
    prof.disable()
    st = pstats.Stats(prof)
    top = sorted(st.stats.items(), key=lambda kv: -kv[1][2])[:8]
    return [(f"{os.path.basename(k[0])}:{k[2]}", v[2] / x.schedules * 1e6) for k, v in top]


def run(smoke: bool = False) -> dict:
    """Every case with jobs=1 and jobs=2, the breakdown of a schedule and the profile.
    smoke: the first 20 schedules of each, jobs=1 only, no profile."""
    out = {}
    for label, name, version in CASES:
        if smoke:
            out[label] = {"litmus": name, "version": version,
                          "jobs_1": measure(name, version, 1, 20, 1),
                          "breakdown": breakdown(name, version, 2)}
            continue
        out[label] = {"litmus": name, "version": version,
                      "jobs_1": measure(name, version, 1, None, 2),
                      "jobs_2": measure(name, version, 2, None, 2),
                      "breakdown": breakdown(name, version),
                      "profile": profile(name, version)}
    return out
