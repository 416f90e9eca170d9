"""pidlab.stress: the race explorer's threads on a real kernel, really at the same time.

    x = pidlab.stress(setup, [reap, peek], runs=1000, final=check)   # the running kernel
    x = pidlab.stress(setup, [reap, peek], runs=50, kernel="6.12")   # in the 6.12 guest
    x.outcomes                          # {outcome: runs}, entries as pidlab.explore makes them
    print(x.histogram())
    c = x.check()                       # against pidlab.explore at the kernel's own version
    c.forbidden                         # {outcome: runs} the model says cannot happen: a model bug

What klitmus7 is to herd7: the same threads as `pidlab.explore`, on the live
kernel, `runs` times.  Each run starts from a fresh sandbox (a new LiveKernel:
a fresh pid namespace whose init is pid 1, so the numbers are the model's),
runs `setup`, then the threads, each as the task(s) it calls, with their first
calls released together by the agents at one CLOCK_MONOTONIC instant
(live/race.py), then `final` once the sandbox has settled.  Every observed
outcome must be one the model allows at that kernel's version; one it forbids
is a bug of the model, reported with its count.

A thread's entry is what it returned, `Errno(e)`, `WOULD_BLOCK` or `EXITED`,
as in `explore`, or `LOST` when its task died or stopped in the middle of a
call (killed by another thread): the call's result never came back, so the
check lets that entry be anything.  A kernel in a virtual machine ("6.1",
"6.12") runs the whole loop inside the guest, in one round trip: the
functions travel there by value (cloudpickle).
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import re
import statistics
import threading
import time
from typing import Any, Callable, Iterable

from .api import BackendUnavailable, Child, PidlabError, StatResult
from .explore import (WOULD_BLOCK, Crashed, Errno, Exploration, Verdicts, _outcome, canon,
                      explore)

MARGIN_NS = (300_000, 5_000_000, 2_000_000_000)   # the release's lead: least, first, most
# The bound of the exploration a check compares with grows from 2 until no schedule needs
# as many preemptions as the bound allows (then every schedule is covered: one with more
# preemptions would have a prefix that, run on without preempting, needs exactly the
# bound), or until the next bound would not fit in CHECK_BUDGET seconds (each one costs a
# few times the last: the last bound's exploration is the check's, and it says so).
FIRST_BOUND, LAST_BOUND = 2, 32
CHECK_BUDGET = 20.0
GUEST_RUN_BOUND = 30.0                  # seconds a guest may take per run before the host gives up


class _Lost:
    __slots__ = ()

    def __repr__(self) -> str:
        return "LOST"

    def __reduce__(self) -> str:
        return "LOST"


LOST = _Lost()          # the thread's task died during a call, before its answer came back


class ModelBug(AssertionError):
    """A real kernel did what the model says it cannot: outcomes the model forbids."""

    def __init__(self, message: str, check: "Check") -> None:
        super().__init__(message)
        self.check = check


# ---------------------------------------------------------------- numbers of one machine

@dataclasses.dataclass(frozen=True, slots=True)
class Label:
    """A number only one machine gives (a pidfs inode, a device, a namespace inode),
    replaced by its rank of first appearance in the run: <ino#1>, <dev#1>, <ns#2>.
    Equal numbers get equal labels, so a condition comparing two of them reads the
    same on the model and on every kernel (as script.Labeller does for traces)."""

    kind: str
    rank: int

    def __str__(self) -> str:
        return f"<{self.kind}#{self.rank}>"

    __repr__ = __str__


_INODE_LINK = re.compile(r"\b([a-z_]+):\[(\d+)\]")    # pid:[4026531836], pidfd:[553006]


class Relabel:
    """Labels the machine-specific numbers of one run, in the order they appear: the
    setup's values first (seen, so that a thread's st_ino equal to the setup's gets
    the setup's label), then the outcome's."""

    __slots__ = ("maps",)

    def __init__(self) -> None:
        self.maps: dict[str, dict[Any, Label]] = {}

    def label(self, kind: str, value: Any) -> Label:
        m = self.maps.setdefault(kind, {})
        if value not in m:
            m[value] = Label(kind, len(m) + 1)
        return m[value]

    def __call__(self, v: Any) -> Any:
        if isinstance(v, StatResult):
            return dataclasses.replace(v, st_ino=self.label("ino", v.st_ino),
                                       st_dev=self.label("dev", v.st_dev))
        if isinstance(v, str):
            return _INODE_LINK.sub(
                lambda m: f"{m.group(1)}:[{self.label('ino', (m.group(1), m.group(2)))}]", v)
        if isinstance(v, tuple) and not hasattr(v, "_fields"):
            return tuple(self(e) for e in v)
        if isinstance(v, list):
            return [self(e) for e in v]
        if isinstance(v, frozenset):
            return frozenset(self(e) for e in v)
        if isinstance(v, dict):
            return {a: self(b) for a, b in v.items()}
        if type(v).__name__ == "Bindings" and dataclasses.is_dataclass(v):
            return dataclasses.replace(v, values=self(v.values))     # a litmus block's names
        return v


def setup_values(state: Any) -> Any:
    """What a setup bound, in binding order (a litmus setup's names, or the state's)."""
    env = getattr(state, "env", state)
    if isinstance(env, dict):
        return tuple(canon(v) for v in env.values())
    return canon(env)


def model_setup_values(setup: Callable, version: str) -> Any:
    """setup_values of `setup` on a fresh model at `version` (the model is
    deterministic: every schedule's setup binds the same)."""
    from . import model
    with model.Kernel(version=version) as k:
        return setup_values(setup(k))


def relabel(outcome: tuple, setup: Any = None) -> tuple:
    """`outcome` with its machine-specific numbers as Labels, numbered after the
    setup's (see Relabel)."""
    r = Relabel()
    if setup is not None:
        r(setup)
    return r(outcome)


def relabel_setup(values: dict) -> dict:
    """A setup's names with their machine-specific numbers as Labels."""
    r = Relabel()
    return {n: r(v) for n, v in values.items()}


# ---------------------------------------------------------------- the result

@dataclasses.dataclass
class Stress(Verdicts):
    """What `runs` runs of the threads on one live kernel gave."""

    kernel: str                         # "host", or the guest's series ("6.12")
    version: str                        # the kernel's version as the model names it: "6.18.44"
    release: str                        # uname -r
    runs: int
    outcomes: dict                      # {outcome: runs}
    elapsed: float
    spreads: list = dataclasses.field(default_factory=list, repr=False)  # ns, one per run
    late: int = 0                       # runs whose first calls reached an agent after the release
    names: tuple = ()                   # the threads' names (and "final")
    checked: "Check | None" = None
    _setup: Any = dataclasses.field(default=None, repr=False)
    _threads: Any = dataclasses.field(default=None, repr=False)
    _final: Any = dataclasses.field(default=None, repr=False)

    @property
    def per_second(self) -> float:
        return self.runs / self.elapsed if self.elapsed else 0.0

    def spread(self) -> dict:
        """How close together the first calls left their agents, over the runs (µs):
        the difference between the first and the last departure of a run."""
        s = sorted(self.spreads)
        if not s:
            return {"runs": 0}
        return {"runs": len(s), "median": statistics.median(s) / 1000,
                "p90": s[min(len(s) - 1, int(len(s) * 0.9))] / 1000, "max": s[-1] / 1000,
                "late": self.late}

    def histogram(self, pred: Callable[[tuple], bool] | None = None) -> str:
        """klitmus7's histogram: runs per outcome, `*>` where pred holds, `:>` otherwise."""
        lines = [f"Histogram ({len(self.outcomes)} states)"]
        width = len(str(max(self.outcomes.values(), default=0)))
        for o, n in sorted(self.outcomes.items(), key=lambda kv: (-kv[1], repr(kv[0]))):
            mark = "*>" if pred is not None and pred(o) else ":>"
            lines.append(f"{n:<{width}} {mark}{format_outcome(o, self.names)}")
        return "\n".join(lines)

    def summary(self) -> str:
        where = "this machine" if self.kernel == "host" else f"the {self.kernel} guest"
        sp = self.spread()
        lines = [f"Stress on Linux {self.version} ({where}, {self.release}): {self.runs} runs in "
                 f"{self.elapsed:.1f} s ({self.per_second:.1f} runs/s)"]
        if sp["runs"]:
            lines.append(f"First calls released together: spread median {sp['median']:.0f} µs, "
                         f"p90 {sp['p90']:.0f} µs, max {sp['max']:.0f} µs over {sp['runs']} runs; "
                         f"{self.late} late")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary() + "\n" + self.histogram()

    def check(self, exploration: Exploration | None = None, *,
              max_preemptions: int | None = None) -> "Check":
        """Compare the outcomes seen with the ones the model allows: those of `exploration`,
        or of pidlab.explore of the same threads at this kernel's version (bound: see
        model_exploration)."""
        if exploration is None:
            if self._setup is None:
                raise ValueError("this Stress has no threads to explore: pass an exploration")
            exploration = model_exploration(self._setup, self._threads, self.version,
                                            self._final, max_preemptions)
        c = compare(self, exploration)
        self.checked = c
        return c


@dataclasses.dataclass
class Check:
    """The runs of a Stress against the schedules of an Exploration."""

    kernel_version: str
    model_version: str
    max_preemptions: int
    exhaustive: bool                    # no schedule needed as many preemptions as allowed
    schedules: int
    names: tuple
    forbidden: dict                     # {outcome: runs}: seen, and the model has no schedule for it
    failed: dict                        # {outcome: runs}: a live entry crashed (not a verdict)
    unseen: dict                        # {outcome: schedules}: the model allows it, no run gave it

    @property
    def ok(self) -> bool:
        return not self.forbidden and not self.failed

    def report(self) -> str:
        bound = (f"every schedule (up to {self.max_preemptions} preemptions, none needed more)"
                 if self.exhaustive else f"schedules with at most {self.max_preemptions} "
                 "preemptions (not every one)")
        lines = [f"Model: pidlab.explore at {self.model_version}, {self.schedules} schedules, "
                 f"{bound}"]
        if self.model_version != self.kernel_version:
            lines.append(f"  (the kernel is {self.kernel_version})")
        if self.forbidden:
            n = sum(self.forbidden.values())
            lines.append(f"MODEL BUG: Linux {self.kernel_version} gave {len(self.forbidden)} "
                         f"outcome(s) the model forbids, in {n} run(s):")
            if not self.exhaustive:
                lines.append(f"  (or a schedule with more than {self.max_preemptions} "
                             "preemptions allows it: check again with a larger bound)")
            for o, k in sorted(self.forbidden.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {k} × {format_outcome(o, self.names)}")
        if self.failed:
            lines.append("Runs that failed (a crashed entry: the stress itself, not a verdict):")
            for o, k in sorted(self.failed.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {k} × {format_outcome(o, self.names)}")
        if not self.forbidden and not self.failed:
            lines.append("Every outcome seen is one the model allows.")
        if self.unseen:
            lines.append("Allowed by the model, never seen in the runs (information):")
            for o, k in sorted(self.unseen.items(), key=lambda kv: -kv[1]):
                lines.append(f"  {format_outcome(o, self.names)} ({k} schedules)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def raise_if_forbidden(self) -> None:
        if self.forbidden:
            raise ModelBug(self.report(), self)
        if self.failed:
            raise PidlabError(self.report())


def allowed(outcome: tuple, model: Iterable[tuple]) -> bool:
    """Whether the model has `outcome` (a LOST entry matches any value there)."""
    model = model if isinstance(model, (dict, set, frozenset)) else list(model)
    if outcome in model:
        return True
    if not any(e is LOST for e in outcome):
        return False
    return any(len(m) == len(outcome) and all(a is LOST or a == b for a, b in zip(outcome, m))
               for m in model)


def compare(x: Stress, model: Exploration) -> Check:
    # The model's outcomes with their machine-specific numbers labelled as the runs'
    # are (run_here): a pidfs inode number is the model's 3 and Linux's 553006.
    base = model_setup_values(x._setup, model.version) if x._setup is not None else None
    outcomes: dict = {}
    for m, n in model.outcomes.items():
        m = relabel(m, base)
        outcomes[m] = outcomes.get(m, 0) + n
    forbidden, failed = {}, {}
    for o, n in x.outcomes.items():
        if allowed(o, outcomes):
            continue
        (failed if any(isinstance(e, Crashed) for e in o) else forbidden)[o] = n
    unseen = {m: n for m, n in outcomes.items()
              if not any(allowed(o, (m,)) for o in x.outcomes)}
    top = max(model.by_preemptions, default=0)
    return Check(x.version, model.version, model.max_preemptions,
                 model.complete and top < model.max_preemptions, model.schedules, x.names,
                 forbidden, failed, unseen)


def model_exploration(setup: Callable, threads: Iterable[Callable], version: str,
                      final: Callable | None = None, max_preemptions: int | None = None,
                      budget: float = CHECK_BUDGET) -> Exploration:
    """pidlab.explore at `version`: with `max_preemptions`, or with the bound grown from
    FIRST_BOUND until it covers every schedule or the next would exceed `budget` seconds
    (Check.exhaustive says which)."""
    threads = list(threads)
    if max_preemptions is not None:
        return explore(setup, threads, version=version, final=final,
                       max_preemptions=max_preemptions)
    spent = last = 0.0
    b = FIRST_BOUND
    while True:
        x = explore(setup, threads, version=version, final=final, max_preemptions=b)
        spent += x.elapsed
        growth = x.elapsed / last if last else 4.0
        last = x.elapsed
        if max(x.by_preemptions, default=0) < b or b >= LAST_BOUND or \
                spent + x.elapsed * max(growth, 1.0) > budget:
            return x
        b += 1


def format_entry(v: Any) -> str:
    if isinstance(v, Errno) or v is WOULD_BLOCK or v is LOST:
        return str(v) if isinstance(v, Errno) else repr(v)
    if isinstance(v, Crashed):
        return f"crashed({v.error})"
    if isinstance(v, Child):
        return f"Child(pid={v.pid}, pidfd={v.pidfd})"
    if isinstance(v, tuple):
        return "(" + ", ".join(format_entry(e) for e in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def format_outcome(o: tuple, names: tuple = ()) -> str:
    parts = []
    for i, e in enumerate(o):
        name = names[i] if i < len(names) else f"t{i}"
        parts.append(f"{name}={format_entry(e)}")
    return "; ".join(parts)


# ---------------------------------------------------------------- running

def _names(threads: list[Callable], final: Callable | None) -> tuple:
    names = []
    for i, fn in enumerate(threads):
        n = getattr(fn, "__name__", "") or ""
        names.append(n if n.isidentifier() and n not in names else f"t{i}")
    return tuple(names) + (("final",) if final is not None else ())


def stress(setup: Callable, threads: Iterable[Callable], runs: int = 1000,
           kernel: str | None = None, final: Callable | None = None, *, check: bool = False,
           timeout: float = 10.0, max_preemptions: int | None = None) -> Stress:
    """Run `threads` on a live kernel after `setup`, really at the same time, `runs` times.

    kernel is as for LiveKernel: None (or the running kernel's series) is this machine's
    kernel, "6.1" / "6.12" a guest's.  check=True compares the outcomes with the model's
    at the kernel's version (Stress.check) and raises ModelBug for outcomes it forbids.
    `timeout` bounds every call and every settle, as LiveKernel's does."""
    threads = list(threads)
    if not threads or not all(callable(t) for t in threads):
        raise TypeError("threads must be a non-empty list of callables fn(k, state)")
    if not callable(setup):
        raise TypeError("setup must be a callable setup(k) -> state")
    if final is not None and not callable(final):
        raise TypeError("final must be a callable final(k, state, outcome) or None")
    if not isinstance(runs, int) or isinstance(runs, bool):
        raise TypeError("runs must be an int")
    if runs < 1:
        raise ValueError("runs must be at least 1")
    series = _series(kernel)
    if series == "host":
        data = run_here(setup, threads, runs, final, timeout)
    else:
        from .live import remote
        data = remote.run_in_guest(series, run_here, (setup, threads, runs, final, timeout),
                                   timeout=60.0 + runs * GUEST_RUN_BOUND,
                                   by_value=[setup, final, *threads])
    x = Stress(series, names=_names(threads, final), _setup=setup, _threads=threads,
               _final=final, **data)
    if check:
        x.check(max_preemptions=max_preemptions).raise_if_forbidden()
    return x


def _series(kernel: str | None) -> str:
    from .live import images
    from .live.kernel import running_series
    if kernel is None or kernel == "host":
        return "host"
    if not isinstance(kernel, str):
        raise TypeError("kernel must be a str such as '6.12'")
    if kernel == running_series():
        return "host"
    if kernel not in images.SERIES:
        raise BackendUnavailable(
            f"no live kernel {kernel!r}: this machine runs {running_series()}, and pidlab "
            f"boots {', '.join(images.SERIES)} in a virtual machine")
    return kernel


def _thread_entry(fn: Callable, k: Any, s: Any) -> Any:
    from .live.race import Unanswered
    try:
        return _outcome(lambda: fn(k, s))
    except Unanswered:
        return LOST


def run_here(setup: Callable, threads: list[Callable], runs: int, final: Callable | None,
             timeout: float) -> dict:
    """The stress loop on this machine's kernel (a guest runs it too, for its own)."""
    from .live import kernel as livekernel
    from .live.race import Race, settle
    previous = livekernel.HOLDER_START
    if threading.active_count() == 1:
        # No other thread: each run's holder may be forked from this process, which
        # costs a fraction of an interpreter's start.
        livekernel.HOLDER_START = "fork"
    outcomes: dict = {}
    spreads: list[int] = []
    late = 0
    margin = MARGIN_NS[1]
    needs: collections.deque = collections.deque(maxlen=16)
    version = release = ""
    t0 = time.perf_counter()
    try:
        for _ in range(runs):
            k = livekernel.LiveKernel(timeout=timeout)
            try:
                version, release = k.version, k.release
                s = setup(k)
                k._settle()
                base = time.monotonic_ns()
                race = Race(k, base + margin)
                k._race = race
                try:
                    entries = race.run([functools.partial(_thread_entry, fn, k, s)
                                        for fn in threads], timeout)
                finally:
                    k._race = None
                settle(k)
                outcome = tuple(entries)
                if final is not None:
                    outcome += (_outcome(lambda: final(k, s, outcome)),)
                outcome = relabel(outcome, setup_values(s))
            finally:
                k.close()
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            stamps = list(race.stamps.values())
            if stamps:
                got = max(g for g, _ in stamps)
                late += got > race.release
                # Twice the time the last of them usually needs to arrive: one slow run
                # (a late agent is only less in step) must not slow every run after it.
                needs.append(got - base)
                usual = sorted(needs)[len(needs) * 3 // 4]
                margin = min(max(2 * usual, MARGIN_NS[0]), MARGIN_NS[2])
            if len(stamps) >= 2:
                spreads.append(max(left for _, left in stamps) - min(left for _, left in stamps))
    finally:
        livekernel.HOLDER_START = previous
    return dict(version=version, release=release, runs=runs, outcomes=outcomes,
                elapsed=time.perf_counter() - t0, spreads=spreads, late=late)

