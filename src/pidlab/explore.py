"""The race explorer: every interleaving of a few concurrent system calls, on the model.

    def setup(k):                       # runs on a fresh Kernel before every schedule
        c = k.init.fork(); c.task.exit_group(0)
        return {"c": c, "other": k.init.fork().task}
    def reap(k, s): return k.init.waitpid(s["c"].pid, 0)
    def peek(k, s): return s["other"].pidfd_open(s["c"].pid)

    x = pidlab.explore(setup, [reap, peek], version="6.16", max_preemptions=2)
    x.outcomes                          # {outcome: schedules}, one entry per thread
    x.sometimes(lambda o: o[1] == pidlab.Errno(errno.ESRCH))
    w = x.witness(pred); str(w)         # a token: pidlab.replay(setup, threads, token)

Each thread runs in a greenlet (model/sched.py) and gives way at the points
where Linux takes or drops a lock; a task a signal wakes runs its own kernel
work (its exit, its stop) as one more thread, as it would on its own CPU.
Strategies, as the model checkers kernel developers use them:

* "dfs": exhaustive depth-first search of the schedules with at most
  `max_preemptions` preemptions (CHESS, Loom), with sleep sets so that two
  independent steps are not tried in both orders (partial-order reduction);
* "pct": probabilistic concurrency testing (Burckhardt et al.; Shuttle, Coyote):
  `runs` random schedules with `depth` priority changes each, for cases too large
  for the search.

A thread's entry in an outcome is what it returned, `Errno(e)` when a call
raised OSError, `WOULD_BLOCK` when a call would block (the model does not
sleep), or `Crashed(...)` when it raised anything else (a bug of the scenario
or the model).
"""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from .constants import errno_name
from .api import Child, PidlabError, TaskExited, WouldBlock
from .model.sched import ANY, EMPTY, Deadlock, Scheduler, Step, independent
from .versions import DEFAULT_VERSION


@dataclasses.dataclass(frozen=True)
class Errno:
    """A call failed with this errno (equal to any other Errno of the same number)."""

    errno: int

    def __str__(self) -> str:
        return errno_name(self.errno)

    def __repr__(self) -> str:
        return f"Errno({self})"


class _WouldBlock:
    __slots__ = ()

    def __repr__(self) -> str:
        return "WOULD_BLOCK"

    def __reduce__(self) -> str:
        return "WOULD_BLOCK"


WOULD_BLOCK = _WouldBlock()


@dataclasses.dataclass(frozen=True)
class Crashed:
    """A thread raised something other than OSError or WouldBlock."""

    error: str

    def __str__(self) -> str:
        return f"crashed: {self.error}"


EXITED = "EXITED"       # the thread's task was killed before it could go on


def canon(v: Any) -> Any:
    """An outcome entry that compares across schedules (records without task handles)."""
    if isinstance(v, Child):
        return Child(v.pid, None, v.pidfd)
    if isinstance(v, (list, tuple)):
        return tuple(canon(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted(((canon(a), canon(b)) for a, b in v.items()), key=repr))
    if isinstance(v, set):
        return frozenset(canon(x) for x in v)
    if hasattr(v, "numbers") and hasattr(v, "kernel"):
        return ("Task", tuple(v.numbers))
    return v


def _outcome(fn: Callable[[], Any]) -> Any:
    try:
        return canon(fn())
    except OSError as e:
        return Errno(e.errno)
    except WouldBlock:
        return WOULD_BLOCK
    except TaskExited:
        return EXITED
    except (PidlabError, TypeError, ValueError, KeyError, IndexError, AttributeError,
            AssertionError) as e:
        return Crashed(f"{type(e).__name__}: {e}")


# ---------------------------------------------------------------- one schedule

@dataclasses.dataclass
class Run:
    outcome: tuple
    choices: list[int]
    preemptions: int
    trace: list[Step]
    state: Any
    kernel: Any = None


def run_schedule(setup: Callable, threads: Sequence[Callable], choose: Callable,
                 version: str, changes: dict | None, final: Callable | None,
                 on_step: Callable | None = None, keep: bool = False,
                 record: bool = False) -> Run:
    """Set up a fresh kernel, run the threads as `choose` decides, and say what came out."""
    from .model import Kernel
    k = Kernel(version=version, changes=changes)
    s = setup(k)
    st = k.state
    if st.runq:
        st.run_pending()
    sched = Scheduler(choose, record=record or on_step is not None)
    for i, fn in enumerate(threads):
        name = getattr(fn, "__name__", None) or f"thread {i}"
        sched.spawn(name, (lambda fn=fn: _outcome(lambda: fn(k, s))))
    if on_step is not None:
        sched.on_step = lambda t: on_step(k, s, t)
    st.begin_schedule(sched)
    try:
        sched.run()
    except Deadlock as e:
        return Run((Crashed(f"deadlock: {e}"),), sched.choices, sched.preemptions,
                   sched.trace, None)
    finally:
        st.end_schedule()
    outcome = tuple(sched.threads[i].result for i in range(len(threads)))
    if final is not None:
        outcome += (_outcome(lambda: final(k, s, outcome)),)
    state = (outcome, tuple(k.snapshot()))
    return Run(outcome, sched.choices, sched.preemptions, sched.trace, state,
               k if keep else None)


# ---------------------------------------------------------------- strategies

class _Node:
    """A decision of the search: the threads that could go on, and what was tried."""

    __slots__ = ("enabled", "current", "chosen", "tried", "before", "sleep", "fps", "cut")

    def __init__(self, enabled: list[int], current: int | None, before: int,
                 sleep: dict[int, Any]) -> None:
        self.enabled = enabled
        # The thread that ran last, if leaving it now is a preemption: it could go on
        # and it has done something shared (leaving a thread that has only started,
        # an empty step, is as good as not having started it).
        self.current = current
        self.chosen = -1
        self.tried: list[int] = []
        self.before = before                # preemptions on the way down to this node
        self.sleep = sleep                  # thread -> its next step's footprint
        self.fps: dict[int, Any] = {}       # thread -> the footprint its step had here
        # Threads whose subtree here lost a schedule to the preemption bound: a sibling
        # must not put them to sleep, since the schedule that would stand in for its
        # own may be one of those lost (sleep sets are sound only over whole subtrees).
        self.cut: set[int] = set()


class _Redundant(Exception):
    pass


class DFS:
    """Every schedule with at most `bound` preemptions, depth first, with sleep sets
    (Godefroid): after the schedules through one thread's step have been explored, a
    sibling branch need not run that step first again while only steps independent
    of it run, since it would reach the same states.  Footprints are the ones each
    step was observed to have (Scheduler.run), so a step that goes back to user space
    or wakes a task is dependent with everything."""

    def __init__(self, bound: int, reduction: bool = True, cap: int | None = None,
                 prefix: list[_Node] | None = None) -> None:
        self.bound = bound
        self.reduction = reduction
        # `cap`: decisions below this depth take the default (no branching): the
        # shards of a parallel search are the schedules such a search enumerates.
        self.cap = cap
        # `prefix`: a shard's first decisions, as the enumerating search left them;
        # the search explores below them only.
        self.stack: list[_Node] = list(prefix or ())
        self.floor = len(self.stack)
        self.complete = False
        self.bounded = False                # some schedule was left out by the bound
        self.pruned = 0                     # schedules cut short: every thread asleep
        self.depth = 0
        self.since: list[Any] = []          # footprints of the steps since the last decision
        self.last: _Node | None = None
        self.blocked = False

    def start(self) -> Callable:
        self.depth = 0
        self.since = []
        self.last = None
        self.blocked = False

        def choose(enabled: list[int], current: int | None, sched: Any) -> int:
            if self.blocked:
                return current if current in enabled else enabled[0]
            d = self.depth
            self.depth += 1
            if self.cap is not None and d >= self.cap:
                return current if current in enabled else enabled[0]
            if d < len(self.stack):
                node = self.stack[d]
                if node.chosen not in enabled:
                    raise RuntimeError("the model is not deterministic: a replayed schedule "
                                       "took another path")
                self.since = []
                self.last = node
                return node.chosen
            parent = self.stack[-1] if self.stack else None
            before = 0
            sleep: dict[int, Any] = {}
            if parent is not None:
                before = parent.before + (1 if parent.current in parent.enabled and
                                          parent.chosen != parent.current else 0)
                if self.reduction and self.cap is None:
                    # (A search that enumerates shards has not explored the subtrees
                    # of its earlier siblings: nothing may sleep on their account.)
                    cands = dict(parent.sleep)
                    for alt in parent.tried[:-1]:
                        if alt not in parent.cut:
                            cands[alt] = parent.fps.get(alt, ANY)
                    for x, fp in cands.items():
                        if x in enabled and x != parent.chosen and \
                                all(independent(fp, f) for f in self.since):
                            sleep[x] = fp
            preemptible = current if current is not None and \
                sched.threads[current].last is not EMPTY else None
            node = _Node(enabled, preemptible, before, sleep)
            self.stack.append(node)
            self.since = []
            self.last = node
            awake = [t for t in enabled if t not in sleep]
            if not awake:
                # Every thread that can go on is asleep: whatever follows was explored.
                self.blocked = True
                node.chosen = current if current in enabled else enabled[0]
                node.tried.append(node.chosen)
                return node.chosen
            c = current if current in awake else awake[0]
            node.chosen = c
            node.tried.append(c)
            return c

        def observe(thread: int, fp: Any) -> None:
            node = self.last
            if node is not None and not self.since and node.chosen == thread:
                node.fps[thread] = fp
            self.since.append(fp)
        choose.observe = observe  # type: ignore[attr-defined]
        return choose

    def advance(self) -> bool:
        """Move to the next schedule; False when every one within the bound was run."""
        while len(self.stack) > self.floor:
            node = self.stack[-1]
            for alt in node.enabled:
                if alt in node.tried or alt in node.sleep:
                    continue
                cost = 1 if node.current in node.enabled and alt != node.current else 0
                if node.before + cost > self.bound:
                    self._cut()
                    continue
                node.tried.append(alt)
                node.chosen = alt
                return True
            self.stack.pop()
        self.complete = True
        return False

    def _cut(self) -> None:
        """A schedule under the last node is lost to the bound: every node above has it
        in the subtree of the thread it chose."""
        self.bounded = True
        for node in self.stack[:-1]:
            node.cut.add(node.chosen)


class PCT:
    """One random schedule: random thread priorities, `depth - 1` priority drops."""

    def __init__(self, rng: random.Random, depth: int, length: int) -> None:
        self.rng = rng
        self.prio: dict[int, float] = {}
        self.changes = set(rng.sample(range(1, max(length, depth) + 1), max(depth - 1, 0)))
        self.step = 0
        self.low = 0.0

    def choose(self, enabled: list[int], current: int | None, sched: Any = None) -> int:
        self.step += 1
        for t in enabled:
            if t not in self.prio:
                self.prio[t] = 1.0 + self.rng.random()
        if self.step in self.changes and current is not None and current in self.prio:
            self.low -= 1.0
            self.prio[current] = self.low
        return max(enabled, key=lambda t: self.prio[t])


# ---------------------------------------------------------------- the exploration

class Verdicts:
    """herd7's verdicts over `outcomes` ({outcome: how many}): each schedule of an
    exploration, each run of a stress test, gives one outcome."""

    outcomes: dict

    def sometimes(self, pred: Callable[[tuple], bool]) -> bool:
        return any(pred(o) for o in self.outcomes)

    def always(self, pred: Callable[[tuple], bool]) -> bool:
        return all(pred(o) for o in self.outcomes)

    def never(self, pred: Callable[[tuple], bool]) -> bool:
        return not self.sometimes(pred)

    def count(self, pred: Callable[[tuple], bool]) -> tuple[int, int]:
        """(how many outcomes satisfy pred, how many do not), counted with multiplicity."""
        yes = sum(n for o, n in self.outcomes.items() if pred(o))
        return yes, sum(self.outcomes.values()) - yes

    def verdict(self, pred: Callable[[tuple], bool]) -> str:
        yes, no = self.count(pred)
        return "Never" if yes == 0 else "Always" if no == 0 else "Sometimes"

    def observation(self, name: str, pred: Callable[[tuple], bool]) -> str:
        """herd7's line: `Observation NAME Never|Sometimes|Always P N`."""
        yes, no = self.count(pred)
        return f"Observation {name} {self.verdict(pred)} {yes} {no}"


@dataclasses.dataclass
class Exploration(Verdicts):
    """What the schedules of one exploration gave."""

    version: str
    changes: dict | None
    strategy: str
    max_preemptions: int
    schedules: int = 0
    complete: bool = False
    outcomes: dict = dataclasses.field(default_factory=dict)
    by_preemptions: dict = dataclasses.field(default_factory=dict)
    states: int = 0
    pruned: int = 0
    exhaustive: bool = False        # complete, and no schedule was left out by the bound
    elapsed: float = 0.0
    jobs: int = 1
    _first: dict = dataclasses.field(default_factory=dict, repr=False)   # outcome -> (p, choices)
    _setup: Any = dataclasses.field(default=None, repr=False)
    _threads: Any = dataclasses.field(default=None, repr=False)
    _final: Any = dataclasses.field(default=None, repr=False)

    @property
    def per_second(self) -> float:
        return self.schedules / self.elapsed if self.elapsed else 0.0

    def witness(self, pred: Callable[[tuple], bool]) -> "Witness | None":
        """The schedule with the fewest preemptions whose outcome satisfies pred."""
        best = None
        for o, (p, choices) in self._first.items():
            if pred(o) and (best is None or (p, len(choices)) < (best[0], len(best[1]))):
                best = (p, choices, o)
        if best is None:
            return None
        return Witness(self, best[1], best[2], best[0])


def _token(version: str, changes: dict | None, choices: list[int]) -> str:
    ch = ",".join(f"{k}={int(v)}" for k, v in sorted((changes or {}).items()))
    return f"{version}{'+' + ch if ch else ''}:{'.'.join(map(str, choices)) or '-'}"


def _parse_token(token: str) -> tuple[str, dict | None, list[int]]:
    if not isinstance(token, str) or ":" not in token:
        raise ValueError(f"{token!r} is not a schedule token (VERSION[+CHANGES]:CHOICES)")
    head, _, body = token.rpartition(":")
    version, _, ch = head.partition("+")
    changes = {kv.split("=")[0]: kv.split("=")[1] == "1" for kv in ch.split(",")} if ch else None
    try:
        choices = [] if body == "-" else [int(x) for x in body.split(".")]
    except ValueError:
        raise ValueError(f"{token!r}: the choices are thread numbers") from None
    return version, changes, choices


@dataclasses.dataclass
class Witness:
    """One schedule, replayable from its token."""

    exploration: Exploration
    choices: list[int]
    outcome: tuple
    preemptions: int

    @property
    def token(self) -> str:
        x = self.exploration
        return _token(x.version, x.changes, self.choices)

    def __str__(self) -> str:
        return self.token

    def replay(self) -> tuple:
        x = self.exploration
        return replay(x._setup, x._threads, self.token, final=x._final)

    def steps(self) -> list[Step]:
        """Every step with the task, the kernel function, the locks held and the fields
        the step changed."""
        x = self.exploration
        return trace(x._setup, x._threads, self.token, final=x._final)


def _threads_of(threads: Iterable[Callable]) -> list[Callable]:
    out = list(threads)
    if not out or not all(callable(t) for t in out):
        raise TypeError("threads must be a non-empty list of callables fn(k, state)")
    return out


class _Tally:
    """What the schedules of one search (or one shard of it) gave, mergeable."""

    __slots__ = ("schedules", "pruned", "outcomes", "by_preemptions", "states", "first",
                 "complete", "bounded")

    def __init__(self) -> None:
        self.schedules = 0
        self.pruned = 0
        self.outcomes: dict = {}
        self.by_preemptions: dict = {}
        self.states: set = set()
        self.first: dict = {}               # outcome -> (preemptions, choices)
        self.complete = True
        self.bounded = False

    def record(self, run: Run) -> None:
        self.schedules += 1
        o = run.outcome
        self.outcomes[o] = self.outcomes.get(o, 0) + 1
        self.by_preemptions[run.preemptions] = self.by_preemptions.get(run.preemptions, 0) + 1
        self.states.add(run.state)
        self._best(o, (run.preemptions, run.choices))

    def _best(self, o: Any, cand: tuple) -> None:
        best = self.first.get(o)
        if best is None or (cand[0], len(cand[1]), cand[1]) < (best[0], len(best[1]), best[1]):
            self.first[o] = cand

    def merge(self, other: "_Tally") -> None:
        self.schedules += other.schedules
        self.pruned += other.pruned
        for o, n in other.outcomes.items():
            self.outcomes[o] = self.outcomes.get(o, 0) + n
        for p, n in other.by_preemptions.items():
            self.by_preemptions[p] = self.by_preemptions.get(p, 0) + n
        self.states |= other.states
        for o, cand in other.first.items():
            self._best(o, cand)
        self.complete = self.complete and other.complete
        self.bounded = self.bounded or other.bounded

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__)

    def __setstate__(self, st: tuple) -> None:
        for n, v in zip(self.__slots__, st):
            setattr(self, n, v)


def _search(setup: Callable, threads: Sequence[Callable], version: str, changes: dict | None,
            final: Callable | None, bound: int, reduction: bool, max_schedules: int | None,
            prefix: list[_Node] | None = None) -> _Tally:
    """Depth-first search, the whole tree or the subtree under a shard's prefix."""
    tally = _Tally()
    dfs = DFS(bound, reduction, prefix=prefix)
    while True:
        run = run_schedule(setup, threads, dfs.start(), version, changes, final)
        if dfs.blocked:
            tally.pruned += 1           # every thread asleep: its states were reached before
        else:
            tally.record(run)
        if max_schedules is not None and tally.schedules >= max_schedules:
            break
        if not dfs.advance():
            break
    tally.complete = dfs.complete
    tally.bounded = dfs.bounded
    return tally


def _random(setup: Callable, threads: Sequence[Callable], version: str, changes: dict | None,
            final: Callable | None, runs: int, depth: int, seed: int) -> _Tally:
    """PCT: `runs` random schedules, each with `depth - 1` priority drops."""
    tally = _Tally()
    rng = random.Random(seed)
    probe = run_schedule(setup, threads, _default, version, changes, final)
    length = max(len(probe.choices), 1)
    if runs > 0:
        tally.record(probe)
    for _ in range(max(runs - 1, 0)):
        p = PCT(rng, depth, length)
        tally.record(run_schedule(setup, threads, p.choose, version, changes, final))
    tally.complete = False
    return tally


def _shards(setup: Callable, threads: Sequence[Callable], version: str, changes: dict | None,
            final: Callable | None, bound: int, reduction: bool, want: int) -> list[list[_Node]]:
    """The prefixes that split the search tree into about `want` subtrees: the
    schedules of a search that stops branching at some depth, deepened until there
    are enough (or the tree has no more decisions)."""
    import copy
    cap = 1
    while True:
        dfs = DFS(bound, reduction, cap=cap)
        prefixes = []
        deepest = 0
        while True:
            run_schedule(setup, threads, dfs.start(), version, changes, final)
            deepest = max(deepest, len(dfs.stack))
            if not dfs.blocked:     # a blocked prefix's subtree was explored elsewhere
                prefix = copy.deepcopy(dfs.stack)
                for node in prefix:
                    # Whether an earlier sibling's subtree (another shard's) lost
                    # schedules to the bound is not known here: none may sleep.
                    node.cut.update(node.tried[:-1])
                prefixes.append(prefix)
            if not dfs.advance():
                break
        if len(prefixes) >= want or deepest < cap or cap >= 12:
            return prefixes
        cap += 1


# The scenario of a local parallel search, handed to forked workers without pickling.
_WORKER: dict = {}


def _init_worker(scenario: tuple) -> None:
    _WORKER["scenario"] = scenario


def _shard_local(args: tuple) -> _Tally:
    setup, threads, version, changes, final = _WORKER["scenario"]
    kind, params = args
    if kind == "dfs":
        return _search(setup, threads, version, changes, final, *params)
    return _random(setup, threads, version, changes, final, *params)


def _shard_remote(scenario: tuple, args: tuple) -> _Tally:
    """A shard on another machine (the scenario pickled by value, e.g. by Dask)."""
    _init_worker(scenario)
    return _shard_local(args)


def explore(setup: Callable, threads: Iterable[Callable], *, version: str = DEFAULT_VERSION,
            changes: dict | None = None, max_preemptions: int = 2, strategy: str = "dfs",
            runs: int = 1000, depth: int = 3, seed: int = 0, final: Callable | None = None,
            reduction: bool = True, max_schedules: int | None = None, jobs: int = 1,
            executor: Any = None) -> Exploration:
    """Run `threads` concurrently after `setup`, under every schedule the strategy gives.

    jobs=N shards the search over N local processes (forked: the scenario need not
    pickle); executor= runs the shards on any concurrent.futures executor instead,
    e.g. a Dask cluster's (`distributed.Client(...).get_executor()`), which pickles
    the scenario by value (cloudpickle).  Either way the result is the same as one
    process's, schedule for schedule.
    """
    threads = _threads_of(threads)
    if not callable(setup):
        raise TypeError("setup must be a callable setup(k) -> state")
    if strategy not in ("dfs", "pct"):
        raise ValueError("strategy is 'dfs' or 'pct'")
    if not isinstance(max_preemptions, int) or max_preemptions < 0:
        raise ValueError("max_preemptions must be an int >= 0")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError("jobs must be an int >= 1")
    from .versions import changeset
    changeset(version, changes)             # a bad version or change fails here, once
    x = Exploration(version, changes, strategy, max_preemptions, _setup=setup,
                    _threads=threads, _final=final)
    t0 = time.perf_counter()
    scenario = (setup, threads, version, changes, final)
    if jobs == 1 and executor is None:
        if strategy == "dfs":
            tally = _search(*scenario, max_preemptions, reduction, max_schedules)
        else:
            tally = _random(*scenario, runs, depth, seed)
    else:
        if strategy == "dfs":
            prefixes = _shards(*scenario, max_preemptions, reduction, 4 * jobs)
            caps: list[int | None] = [max_schedules] * len(prefixes)
            if max_schedules is not None:
                # The cap is the whole search's: shared out, so that the shards together
                # run at most max_schedules (a shard whose share is 0 is left out: the
                # search is then incomplete, as a sequential one cut by the cap is).
                per, extra = divmod(max_schedules, len(prefixes))
                caps = [per + (i < extra) for i in range(len(prefixes))]
            work = [("dfs", (max_preemptions, reduction, cap, prefix))
                    for prefix, cap in zip(prefixes, caps) if cap != 0]
            cut = len(work) < len(prefixes)
        else:
            per, extra = divmod(runs, jobs)
            work = [("pct", (per + (i < extra), depth, seed * 1_000_003 + i))
                    for i in range(jobs) if per + (i < extra)]
        tally = _Tally()
        for part in _run_shards(scenario, work, jobs, executor):
            tally.merge(part)
        if strategy == "pct" or (strategy == "dfs" and cut):
            tally.complete = False
        x.jobs = jobs
    x.schedules = tally.schedules
    x.pruned = tally.pruned
    x.outcomes = tally.outcomes
    x.by_preemptions = tally.by_preemptions
    x.states = len(tally.states)
    x._first = tally.first
    x.complete = tally.complete and strategy == "dfs"
    x.exhaustive = x.complete and not tally.bounded
    x.elapsed = time.perf_counter() - t0
    return x


def _run_shards(scenario: tuple, work: list, jobs: int, executor: Any) -> Iterator[_Tally]:
    if executor is not None:
        futures = [executor.submit(_shard_remote, scenario, w) for w in work]
        for f in futures:
            yield f.result()
        return
    import concurrent.futures
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker,
                                                initargs=(scenario,)) as pool:
        yield from pool.map(_shard_local, work)


def _default(enabled: list[int], current: int | None, sched: Any = None) -> int:
    """Go on with the thread that ran, else the first that can (no preemption)."""
    return current if current in enabled else enabled[0]


def _replayer(choices: list[int]) -> Callable:
    it = iter(choices)

    def choose(enabled: list[int], current: int | None, sched: Any = None) -> int:
        c = next(it, None)
        if c is None:
            return current if current in enabled else enabled[0]
        if c not in enabled:
            raise ValueError("the token does not fit this scenario: thread "
                             f"{c} cannot run at that step")
        return c
    return choose


def replay(setup: Callable, threads: Iterable[Callable], token: str, *,
           version: str | None = None, final: Callable | None = None) -> tuple:
    """Run exactly the schedule a token names again; return its outcome."""
    threads = _threads_of(threads)
    v, changes, choices = _parse_token(token)
    if version is not None and version != v:
        raise ValueError(f"the token is a schedule of Linux {v}, not {version}")
    return run_schedule(setup, threads, _replayer(choices), v, changes, final).outcome


def trace(setup: Callable, threads: Iterable[Callable], token: str, *,
          final: Callable | None = None) -> list[Step]:
    """The steps of a token's schedule, each with the fields it changed ("field: before ->
    after")."""
    threads = _threads_of(threads)
    v, changes, choices = _parse_token(token)
    seen: list[dict] = [{}]
    changed: list[tuple[str, ...]] = []

    def set_up(k: Any) -> Any:
        s = setup(k)
        seen[0] = fields(k)
        return s

    def on_step(k: Any, s: Any, t: Any) -> None:
        now, before = fields(k), seen[0]
        changed.append(tuple(f"{key}: {before.get(key, '-')} -> {now.get(key, '-')}"
                             for key in sorted(set(now) | set(before))
                             if now.get(key) != before.get(key)))
        seen[0] = now
    run = run_schedule(set_up, threads, _replayer(choices), v, changes, final, on_step)
    for step, c in zip(run.trace, changed):
        step.changed = c
    return run.trace


def fields(k: Any) -> dict[str, str]:
    """The state a witness shows change, keyed as a person reads it: each allocated
    pid's tasks and pidfs state, each task's exit state, each namespace's count."""
    from .model.pidfs import PIDFS_PID_DEAD
    from .model.task import PF_EXITING
    st = k.state
    out: dict[str, str] = {}
    namespaces = {}
    for nr in sorted(st.init_ns.idr.entries):
        pid = st.init_ns.idr.entries[nr]
        name = "pid " + "/".join(map(str, pid.numbers))
        out[f"{name}.task"] = "yes" if pid.task is not None else "none"
        out[f"{name}.tgid_task"] = "yes" if pid.tgid_task is not None else "none"
        attr = pid.attr
        out[f"{name}.attr"] = ("none" if attr is None else "DEAD" if attr is PIDFS_PID_DEAD
                               else "exit info" if attr.exit_info else "registered")
        out[f"{name}.stashed"] = "inode" if pid.stashed is not None else "none"
        t = pid.task
        if t is not None:
            out[f"{name}.exit_state"] = {0: "running", 16: "ZOMBIE", 32: "DEAD"}.get(
                t.exit_state, str(t.exit_state))
            out[f"{name}.exiting"] = "yes" if t.flags & PF_EXITING else "no"
        namespaces[id(pid.ns)] = pid.ns
    for ns in namespaces.values():
        out[f"ns level {ns.level} ({ns.inum:#x}).pid_allocated"] = str(ns.pid_allocated)
    return out
