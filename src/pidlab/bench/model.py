"""The model's side of the benchmarks.  Each function returns plain numbers.

Scale and wrap run in a fresh interpreter (see worker.py) so that resident
memory is measured from a clean start; the others run in-process and take
the best of several repetitions, as timeit does.
"""

from __future__ import annotations

import gc
import time

import pidlab
from pidlab import CLONE_NEWPID

PID_MAX_LIMIT = 4194304


def _best(fn, reps: int) -> float:
    """The smallest time of `reps` runs of fn() (seconds)."""
    return _best_in_turns({None: fn}, reps)[None]


def _best_in_turns(fns: dict, reps: int) -> dict:
    """The smallest time of each fn over `reps` rounds in which they take turns, so
    that a slow moment of the machine does not land on one of them only."""
    best = {key: float("inf") for key in fns}
    for _ in range(reps):
        for key, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[key] = min(best[key], time.perf_counter() - t0)
    return best


def _nested(depth: int):
    """A fresh model and a task at nesting level `depth` (level 0 is the top)."""
    k = pidlab.Kernel()
    t = k.init
    for _ in range(depth):
        t = t.clone(CLONE_NEWPID).task
    return k, t


def _cycles(t, n: int) -> None:
    for _ in range(n):
        c = t.fork()
        c.task.exit_group(0)
        t.waitpid(c.pid, 0)


def churn_cycle(depth: int, n: int, reps: int = 5) -> float:
    """Seconds per fork -> exit_group -> waitpid cycle, by a task at level `depth`."""
    k, t = _nested(depth)
    _cycles(t, n)                           # warm up: allocator blocks, caches
    return _best(lambda: _cycles(t, n), reps) / n


def churn(n: int) -> dict:
    per = churn_cycle(1, n, reps=7)
    return {"cycles_per_s": 1 / per, "us_per_cycle": per * 1e6}


def depth(levels: list[int], n: int, reps: int = 7) -> dict:
    """The churn cycle at each level; the levels take turns, so that a slow moment of
    the machine does not land on one of them only."""
    tasks = {lvl: _nested(lvl)[1] for lvl in levels}
    for t in tasks.values():
        _cycles(t, n)                       # warm up
    best = _best_in_turns({lvl: (lambda t=t: _cycles(t, n)) for lvl, t in tasks.items()}, reps)
    out = {lvl: v / n for lvl, v in best.items()}
    base = out[levels[0]]
    return {f"level_{lvl}": {"us_per_cycle": v * 1e6, "relative": v / base} for lvl, v in out.items()}


def pidfds(n: int) -> dict:
    k = pidlab.Kernel()
    init = k.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)

    def open_close() -> None:
        for _ in range(n):
            init.close(init.pidfd_open(child.pid))

    def get_info() -> None:
        for _ in range(n):
            init.pidfd_get_info(fd, 0x7)

    def handles() -> None:
        for _ in range(n):
            h = init.name_to_handle_at(fd, "", pidlab.AT_EMPTY_PATH)
            init.close(init.open_by_handle_at(pidlab.FD_PIDFS_ROOT, h, pidlab.O_RDONLY))
    best = _best_in_turns({"pidfd_open_close_per_s": open_close, "get_info_per_s": get_info,
                           "handle_roundtrip_per_s": handles}, 7)
    return {key: n / t for key, t in best.items()}


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def scale(n: int, wrap_cycles: int = 0) -> dict:
    """Create n tasks in one namespace (the top one, pid_max 4194304): the init
    plus n - 1 children.  Then, if asked, free a few numbers and measure the
    allocator in the nearly full namespace (the wrap benchmark)."""
    k = pidlab.Kernel()
    init = k.init
    init.write_text("/proc/sys/kernel/pid_max", str(PID_MAX_LIMIT))
    gc.collect()
    before = _rss()
    fork = init.fork
    t0 = time.perf_counter()
    for _ in range(n - 1):
        fork()
    elapsed = time.perf_counter() - t0
    gc.collect()
    per_task = (_rss() - before) / n
    out = {"tasks": n, "seconds": elapsed, "bytes_per_task": per_task,
           "forks_per_s": (n - 1) / elapsed if elapsed else 0.0}
    if wrap_cycles:
        out["wrap"] = wrap(k, wrap_cycles)
    return out


def wrap(k, cycles: int, free: int = 2) -> dict:
    """Allocation in a namespace with only `free` numbers left: the cursor must
    wrap and search nearly full blocks every time."""
    from ..model.pid import alloc_pid, free_pid
    init = k.init
    ns = k.state.init_ns
    # Kill and reap `free` children spread over the number space.
    top = len(ns.idr.entries)               # children hold 2..top
    victims = [2 + i * ((top - 2) // max(free, 1)) for i in range(free)]
    for nr in victims:
        init.kill(nr, pidlab.SIGKILL)
        init.waitpid(nr, 0)
    live = len(ns.idr.entries)

    def alloc_free() -> None:
        for _ in range(cycles):
            free_pid(k.state, alloc_pid(k.state, ns, ()))

    def fork_cycles() -> None:
        for _ in range(cycles):
            c = init.fork()
            c.task.exit_group(0)
            init.waitpid(c.pid, 0)
    return {"live_tasks": live, "free_numbers": ns.pid_max - 1 - live,
            "alloc_free_us": _best(alloc_free, 7) / cycles * 1e6,
            "fork_cycle_us": _best(fork_cycles, 3) / cycles * 1e6}
