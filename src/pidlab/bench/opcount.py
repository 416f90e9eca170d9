"""Where a churn cycle's time goes, counted rather than timed.

    python -m pidlab.bench.opcount [--cycles N] [--depth D] [--fork-only]

Counts the bytecode instructions and Python calls that one fork -> exit_group
-> waitpid cycle (or one fork) executes, per function, with sys.settrace and
f_trace_opcodes.  Unlike a timer, the count does not drift with the machine's
speed, so it shows what a change to the model really saves.
"""

from __future__ import annotations

import argparse
import collections
import sys
from typing import Any, Callable

import pidlab
from pidlab import CLONE_NEWPID


def count(step: Callable[[], None], cycles: int) -> tuple[collections.Counter, collections.Counter]:
    """(opcodes, calls) per function name over `cycles` calls of step()."""
    ops: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            ops[frame.f_code.co_qualname] += 1
        elif event == "call":
            calls[frame.f_code.co_qualname] += 1
        return trace

    old = sys.gettrace()
    sys.settrace(trace)
    try:
        for _ in range(cycles):
            step()
    finally:
        sys.settrace(old)
    return ops, calls


def churn_step(depth: int, fork_only: bool) -> Callable[[], None]:
    k = pidlab.Kernel()
    t = k.init
    for _ in range(depth):
        t = t.clone(CLONE_NEWPID).task
    if fork_only:
        return t.fork

    def cycle() -> None:
        c = t.fork()
        c.task.exit_group(0)
        t.waitpid(c.pid, 0)
    for _ in range(1000):       # past the first numbers and the tables' growth
        cycle()
    return cycle


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pidlab.bench.opcount", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--depth", type=int, default=1, help="nesting level of the forking task")
    ap.add_argument("--fork-only", action="store_true", help="count a fork alone")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv)
    step = churn_step(a.depth, a.fork_only)
    ops, calls = count(step, a.cycles)
    n = a.cycles
    what = "fork" if a.fork_only else "fork -> exit_group -> waitpid cycle"
    print(f"per {what} at level {a.depth}: {sum(ops.values()) / n:,.0f} bytecode instructions, "
          f"{sum(calls.values()) / n:,.0f} Python calls")
    print(f"{'opcodes':>8} {'calls':>6}  function")
    for name, v in ops.most_common(a.top):
        print(f"{v / n:8.1f} {calls[name] / n:6.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
