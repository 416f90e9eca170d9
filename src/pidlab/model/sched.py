"""Interleaving the model's kernel paths: the scheduler an exploration swaps in.

Outside an exploration `k.sched` is None and nothing here runs: the model is
the sequential one, every system call atomic.  `pidlab.explore` gives a
kernel a `Scheduler`; each explored thread, and each task a signal woke (its
exit or stop runs on its own CPU in Linux), then runs in a greenlet of its
own, and the kernel paths hand control back at the points where Linux takes
a lock or does a lock-free step on shared state:

    s = k.sched
    if s is not None:
        s.lock(TASKLIST, label="release_task: __unhash_process")  # write_lock_irq(&tasklist_lock)
    ... the section ...
    if s is not None:
        s.unlock(TASKLIST)

A step runs from one point to the next, alone: the section between a lock
and its unlock is atomic with respect to every other holder of the lock, as
in Linux, and a thread that wants a lock another holds waits.  An unlock is
not a point: what a thread does after it and before its next point touches
nothing shared (anything shared has a point of its own), so running it at
once or later gives the same states.  At each point the strategy decides
which thread goes on (pidlab/explore.py), so every interleaving of the steps
can be produced and replayed.

A task runs on one CPU at a time: a system call of an explored thread, and
the kernel work a woken task does (its signal delivery, its exit), each hold
the task's "CPU" for their duration (`Scheduler.on_cpu`), so that a task
killed while it is in a system call dies when the call returns, as in Linux.

Why greenlets: the explored code is the model's own, unchanged (a thread's
stack is suspended at a point and resumed later, like the threads of Loom
and Shuttle, without rewriting every kernel path as a generator); a switch
costs about a third of a microsecond; and one thread runs at a time, so a
schedule is deterministic.  OS threads with a baton would cost ~20 µs a
switch and give the same guarantees no better.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

# greenlet is imported by the Scheduler itself: the model's kernel files import this
# module for its lock names, and run without greenlet when nothing is explored.
greenlet: Any = None


class Lock:
    """A kernel lock by its Linux name; `of` is the object it belongs to (None: global)."""

    __slots__ = ("name", "rw", "of", "key")

    def __init__(self, name: str, rw: bool = False, of: Any = None) -> None:
        self.name = name
        self.rw = rw
        self.of = of
        self.key: Hashable = (name, id(of))

    def label(self) -> str:
        return self.name if self.of is None else f"{self.name}({describe(self.of)})"

    def __repr__(self) -> str:
        return f"<Lock {self.label()}>"


TASKLIST = Lock("tasklist_lock", rw=True)
PIDMAP = Lock("pidmap_lock")


def siglock(signal: Any) -> Lock:
    """sighand->siglock of a process (keyed by its signal_struct: the model shares one
    Sighand object between processes until one writes it, Linux does not)."""
    return Lock("sighand->siglock", of=signal)


def wait_pidfd_lock(pid: Any) -> Lock:
    return Lock("pid->wait_pidfd.lock", of=pid)


def cpu(task: Any) -> Lock:
    """The task's CPU: held by whatever runs on the task's behalf."""
    return Lock("cpu", of=task)


def describe(obj: Any) -> str:
    nums = getattr(obj, "numbers", None)
    if nums:
        return "pid " + "/".join(map(str, nums))
    pid = getattr(obj, "pid", None)
    if pid is not None and getattr(pid, "numbers", None):
        return "task " + "/".join(map(str, pid.numbers))
    leader = getattr(obj, "group_leader", None)
    if leader is not None and leader.pid is not None:
        return "process " + "/".join(map(str, leader.pid.numbers))
    return type(obj).__name__


# A footprint says what a step reads and writes, so that the search knows which steps
# commute (partial-order reduction): a pair (reads, writes) of frozensets of names, or
# ANY for a step that may touch anything and so is dependent with every other step.
# Two steps are independent when neither writes what the other reads or writes.
ANY = None
_NONE: frozenset = frozenset()
EMPTY = (_NONE, _NONE)          # a step that touches nothing shared


def _names(objs: tuple) -> frozenset:
    """Objects named as every run of the scenario names them: a struct pid by its
    numbers, a pid namespace by its inode number, anything else by a string or tuple
    key the caller gives.  (Never id(): the search compares footprints of steps taken
    in different runs, on different objects.)"""
    out = []
    for o in objs:
        if isinstance(o, (str, tuple)):
            out.append(o)
            continue
        nums = getattr(o, "numbers", None)
        if nums:
            out.append(("pid", nums))
            continue
        inum = getattr(o, "inum", None)
        if inum is None:
            raise TypeError(f"{o!r} has no name that is the same in every run")
        out.append(("ns", inum))
    return frozenset(out)


def touches(*objs: Any) -> tuple[frozenset, frozenset]:
    """The footprint of a step that may write these objects."""
    return _NONE, _names(objs)


def reads(*objs: Any) -> tuple[frozenset, frozenset]:
    """The footprint of a step that only reads these objects."""
    return _names(objs), _NONE


def independent(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    ar, aw = a
    br, bw = b
    return not (aw & bw or aw & br or bw & ar)


def process_key(p: Any) -> tuple | None:
    """A process's name in a footprint: its leader's numbers (None: it has none)."""
    leader = p.signal.group_leader
    pid = leader.pid if leader is not None else None
    return ("process", pid.numbers) if pid is not None else None


class Deadlock(Exception):
    """Every thread left waits for a lock another holds: a bug of the model."""


class Step:
    """One step of a schedule: what a thread did from one point to the next."""

    __slots__ = ("thread", "name", "label", "locks", "preemption", "changed")

    def __init__(self, thread: int, name: str, label: str, locks: tuple[str, ...],
                 preemption: bool, changed: tuple[str, ...] = ()) -> None:
        self.thread = thread
        self.name = name                    # the thread's name (its function or task)
        self.label = label                  # the kernel function and what it does there
        self.locks = locks                  # the locks the thread held during the step
        self.preemption = preemption        # another thread could have gone on instead
        self.changed = changed              # the fields the step changed (witness steps)

    def __repr__(self) -> str:
        return f"<Step {self.thread} {self.label}{' (preempted)' if self.preemption else ''}>"


class Thread:
    """One flow of control: an explored thread, or a woken task's kernel work."""

    __slots__ = ("id", "name", "glet", "waiting", "wants_write", "done", "result", "held",
                 "next_label", "footprint", "task", "kind", "leaked", "prefix", "last")

    def __init__(self, ident: int, name: str, kind: str) -> None:
        self.id = ident
        self.name = name
        self.glet: Any = None
        self.waiting: Lock | None = None      # the lock it waits for
        self.wants_write = True               # ... and how (a reader shares a rwlock)
        self.done = False
        self.result: Any = None
        self.held: list[tuple[Lock, bool]] = []
        self.next_label = "start"
        # A thread's first step runs user code and the first system call up to its
        # first point: private (see on_cpu), so it touches nothing.
        self.footprint: Any = EMPTY
        self.task: Any = None                 # the TaskStruct it last ran for
        self.kind = kind                      # "thread" (the user's) or "task" (woken)
        self.leaked = False                   # this step left the declared footprint
        self.prefix = False                   # in a system call that has not reached a point
        self.last: Any = EMPTY                # the footprint of its last step


class Scheduler:
    """The threads of one schedule and the decisions between their steps.

    `choose(enabled, current, scheduler) -> thread id` is the strategy
    (pidlab/explore.py); `trace` keeps every step taken; `on_step`, when set,
    is called after each step with the thread that ran (a witness uses it to
    see what changed).
    """

    def __init__(self, choose: Callable[[list[int], int | None, "Scheduler"], int],
                 record: bool = True) -> None:
        global greenlet
        if greenlet is None:
            import greenlet as _greenlet
            greenlet = _greenlet
        self.choose = choose
        self.threads: list[Thread] = []
        self.current: Thread | None = None
        self.main = greenlet.getcurrent()
        self.locks: dict[Hashable, list] = {}      # key -> [writer, {reader ids}]
        self.record = record
        self.trace: list[Step] = []
        self.choices: list[int] = []
        self.preemptions = 0
        self.on_step: Callable[[Thread], None] | None = None
        self.failure: BaseException | None = None

    # ------------------------------------------------------------------ threads

    def spawn(self, name: str, fn: Callable[[], Any], kind: str = "thread",
              task: Any = None) -> Thread:
        if self.current is not None:
            self.current.leaked = True      # a new thread: every later decision changes
        t = Thread(len(self.threads), name, kind)
        t.task = task
        t.glet = greenlet.greenlet(lambda: self._run(t, fn), parent=self.main)
        self.threads.append(t)
        return t

    def _run(self, t: Thread, fn: Callable[[], Any]) -> None:
        try:
            t.result = fn()
            if t.held:
                raise RuntimeError(f"{t.name} ended holding "
                                   f"{', '.join(lock.label() for lock, _ in t.held)}")
        except greenlet.GreenletExit:
            raise
        except BaseException as e:       # a bug of the model: the exploration reports it
            if self.failure is None:
                self.failure = e
        t.done = True                   # the result is the thread's own: nothing leaks

    # ------------------------------------------------------------------ points

    def point(self, label: str, footprint: Any = ANY) -> None:
        """A place where another CPU may go first: the calling thread may be preempted
        here, before the step `label` (which touches `footprint`)."""
        t = self.current
        if t is None:
            return                                  # outside the threads (setup, final)
        t.prefix = False
        t.next_label = label
        t.footprint = footprint
        self.main.switch()

    def lock(self, lock: Lock, write: bool = True, label: str = "",
             footprint: Any = ANY, point: bool = True) -> None:
        """spin_lock / write_lock / read_lock: a point (unless point=False) at which the
        thread can go on only once the lock is free, then the lock is taken."""
        t = self.current
        if t is None:
            return
        key = lock.key
        state = self.locks.get(key)
        if state is None:
            state = self.locks[key] = [None, set()]
        if point:
            t.waiting, t.wants_write = lock, write      # enabled only when it is free
            self.point(label or self._lock_label(lock, write), footprint)
        while not self._free(state, write, t):
            t.waiting, t.wants_write = lock, write
            t.next_label = label or self._lock_label(lock, write)
            t.footprint = footprint
            self.main.switch()
        t.waiting = None
        if write:
            state[0] = t
        else:
            state[1].add(t.id)
        t.held.append((lock, write))

    @staticmethod
    def _lock_label(lock: Lock, write: bool) -> str:
        how = ("write_" if write else "read_") if lock.rw else ""
        return f"{how}lock({lock.label()})"

    def unlock(self, lock: Lock) -> None:
        """spin_unlock / write_unlock / read_unlock (not a point: see the module's text)."""
        t = self.current
        if t is None:
            return
        state = self.locks[lock.key]
        held_list = t.held
        for i in range(len(held_list) - 1, -1, -1):     # the innermost first
            held, write = held_list[i]
            if held.key == lock.key:
                del held_list[i]
                if write:
                    state[0] = None
                elif not any(h.key == lock.key and not w for h, w in held_list):
                    state[1].discard(t.id)
                return
        raise RuntimeError(f"{t.name} unlocks {lock.label()}, which it does not hold")

    def holds(self, lock: Lock) -> bool:
        t = self.current
        return t is not None and any(held.key == lock.key for held, _ in t.held)

    def holder(self, lock: Lock) -> Thread | None:
        state = self.locks.get(lock.key)
        return state[0] if state is not None else None

    @staticmethod
    def _free(state: list, write: bool, t: Thread) -> bool:
        writer, readers = state
        if writer is not None and writer is not t:
            return False
        return not write or not (readers - {t.id})

    def enabled(self) -> list[int]:
        """The threads that can take a step: not done, and not waiting for a held lock."""
        out = []
        for t in self.threads:
            if t.done:
                continue
            if t.waiting is not None and \
                    not self._free(self.locks[t.waiting.key], t.wants_write, t):
                continue
            out.append(t.id)
        return out

    # ------------------------------------------------------------------ a task's CPU

    def on_cpu(self, task: Any, body: Callable[[], bool], deliver: Callable[[Any], bool]) -> Any:
        """Run `body` (a system call) on the task's CPU; then deliver what woke the
        task meanwhile (`deliver(task)`, True if there was something), as Linux does
        on the way back to user space.

        What a system call does before its first point is taken to be private (its
        argument checks, its own task's state): where a kernel path writes shared state
        before any lock, it has a point there.  A call that reaches no point at all
        ran whole inside the current step, whose declared footprint cannot cover it:
        the step is then dependent with everything, and so is one that delivered
        signals or woke a task."""
        t = self.current
        c = cpu(task)
        self.lock(c, point=False)
        t.task = task
        t.prefix = True
        try:
            result = body()
        except greenlet.GreenletExit:
            raise                       # an abandoned schedule: run nothing more
        except BaseException:
            self._leave(t, task, c, deliver)
            raise
        self._leave(t, task, c, deliver)
        return result

    def _leave(self, t: Thread, task: Any, c: Lock, deliver: Callable[[Any], bool]) -> None:
        if t.prefix:
            t.leaked = True
            t.prefix = False
        try:
            if deliver(task):
                t.leaked = True
        finally:
            self.unlock(c)

    def busy(self, task: Any) -> bool:
        """Something runs on the task's CPU (it will deliver the task's wake-ups itself)."""
        return self.holder(cpu(task)) is not None

    # ------------------------------------------------------------------ running

    def run(self) -> None:
        """Run every thread to its end, a step at a time, as the strategy decides.
        After each step `observe(thread id, footprint)` tells the strategy what the
        step touched: what its point declared, or ANY if it went beyond (back to
        user space, or waking a task)."""
        prev: Thread | None = None
        threads = self.threads
        choose = self.choose
        observe = getattr(choose, "observe", None)
        while True:
            enabled = self.enabled()
            if not enabled:
                if any(not t.done for t in threads):
                    raise Deadlock(", ".join(f"{t.name} waits for {t.waiting.label()}"
                                             for t in threads
                                             if not t.done and t.waiting is not None))
                return
            cur = prev.id if prev is not None and not prev.done else None
            if len(enabled) > 1:          # a decision: the strategy's, and the token's
                choice = choose(enabled, cur, self)
                self.choices.append(choice)
            else:
                choice = enabled[0]
            t = threads[choice]
            preempt = cur is not None and choice != cur and cur in enabled and \
                threads[cur].last is not EMPTY
            if preempt:
                self.preemptions += 1
            if self.record:
                label = t.next_label
                before = [_held(lock, w) for lock, w in t.held]
            fp = t.footprint
            t.leaked = False
            self.current = t
            t.glet.switch()
            self.current = None
            if self.failure is not None:
                raise self.failure
            t.last = fp = ANY if t.leaked else fp
            if observe is not None:
                observe(choice, fp)
            if self.record:
                after = [_held(lock, w) for lock, w in t.held]
                locks = tuple(dict.fromkeys(before + after))
                self.trace.append(Step(t.id, t.name, label, locks, preempt))
                if self.on_step is not None:
                    self.on_step(t)
            prev = t


def _held(lock: Lock, write: bool) -> str:
    return lock.label() + (" (read)" if lock.rw and not write else "")
