"""Racing system calls: the threads of one stress run, in flight at the same time.

pidlab.stress runs a scenario's threads (functions fn(k, state), as for
pidlab.explore) against one LiveKernel.  Each thread is a greenlet of the one
controller thread: a call sends its request to the agent of the task that
makes it and gives way until the answer comes, so that the calls of different
threads are in their agents, and so in the kernel, at the same time.  A hub
waits on the answer pipes of every call in flight and resumes the thread
whose answer came.

Why greenlets and not OS threads: the controller stays single-threaded (its
sandboxes' holders may be forked from it, live/kernel.py HOLDER_START), the
LiveKernel needs no lock per agent (two threads calling one task queue their
requests on its pipe, and the answers come back in order, by sequence
number), and the scenario's code between two calls is Python's either way:
what runs concurrently is the agents.

The release: the first call of every thread is a timed request (agent.py
release_at) naming one CLOCK_MONOTONIC instant, a little after the last of
them can have reached its agent.  Every agent sleeps to just before it and
spins to it, so the first calls leave together wherever the agents run, with
no shared object in the sandbox and no waker that must be scheduled first
(litmus7's "timebase" barrier).  Each timed answer carries when the agent got
the request and when it left: the spread of the departures is measured, not
assumed.

While a race runs, a call does not wait for the sandbox to settle (the model's
woken tasks run concurrently too); the caller settles it once every thread is
done.
"""

from __future__ import annotations

import select
import time
from typing import Any, Callable, Sequence

import greenlet

from ..api import TaskExited
from . import channel
from . import native
from .kernel import PF_EXITING, ZAP_WCHAN, Agent, LiveKernel, LiveTimeout, Unanswered, answer

# Calls after which the task is gone by design: no answer is the answer.
NO_RETURN = frozenset({"exit", "exit_group"})


class Race:
    """The threads of one run, their calls in flight, and the instant of their release."""

    __slots__ = ("k", "release", "hub", "first", "stamps", "waits")

    def __init__(self, k: LiveKernel, release: int) -> None:
        self.k = k
        self.release = release              # CLOCK_MONOTONIC ns of the first calls
        self.hub: greenlet.greenlet | None = None
        self.first: dict[greenlet.greenlet, int] = {}   # threads whose first call is to come
        self.stamps: dict[int, tuple[int, int]] = {}    # thread -> (got, left), ns
        self.waits: dict[Agent, dict[int, tuple[int, greenlet.greenlet]]] = {}

    # -- a thread's call -------------------------------------------------------------

    def call(self, agent: Agent, op: str, args: tuple) -> Any:
        """LiveKernel._call while the race runs: send, give way, take the answer."""
        g = greenlet.getcurrent()
        if g is self.hub or self.hub is None:
            raise RuntimeError("a call outside the race's threads while it runs")
        k = self.k
        if agent.native:
            raise native.refuse("a call in a race (pidlab.stress)")
        k._check(agent)
        index = self.first.pop(g, None)
        seq = next(k._seq)
        msg = (seq, op, args) if index is None else (seq, op, args, self.release)
        try:
            channel.send(agent.req, msg)
        except BrokenPipeError:
            agent.dead = True
            raise TaskExited("the task has exited and can make no system call") from None
        reply = self.hub.switch((agent, seq))
        if reply is None:
            if op in NO_RETURN:
                return None
            raise Unanswered(f"{op}: the task died or stopped before it answered")
        if index is not None:
            self.stamps[index] = reply[-1]
            reply = reply[:-1]
        return answer(reply)

    # -- the hub ---------------------------------------------------------------------------

    def run(self, fns: Sequence[Callable[[], Any]], timeout: float) -> list[Any]:
        """Run every fn as a thread of the race; their results, in order."""
        self.hub = greenlet.getcurrent()
        results: list[Any] = [None] * len(fns)
        glets = [greenlet.greenlet(fn) for fn in fns]
        self.first = {g: i for i, g in enumerate(glets)}
        for i, g in enumerate(glets):
            self._resume(i, g, results, g.switch)
        deadline = time.monotonic() + timeout
        while self.waits:
            poll = select.poll()
            for a in self.waits:
                poll.register(a.rep, select.POLLIN | select.POLLHUP)
            ready = {fd for fd, _ in poll.poll(2)}
            for a in list(self.waits):
                if a.rep in ready:
                    self._answer(a, results)
                elif _gone(a) and not _readable(a.rep):
                    for seq in list(self.waits.get(a, ())):
                        self._deliver(a, seq, None, results)
            if self.waits and time.monotonic() > deadline:
                for a in list(self.waits):
                    for seq in list(self.waits.get(a, ())):
                        i, g = self._take(a, seq)
                        err = LiveTimeout(f"no answer within {timeout:g} s in a race")
                        self._resume(i, g, results, lambda g=g, err=err: g.throw(err))
        self.hub = None
        return results

    def _answer(self, a: Agent, results: list[Any]) -> None:
        try:
            msg = channel.recv(a.rep)
        except EOFError:
            for seq in list(self.waits.get(a, ())):
                self._deliver(a, seq, None, results)
            return
        if msg[0] in self.waits.get(a, {}):
            self._deliver(a, msg[0], msg, results)
        # else: a hello or a stale answer of a call that had been given up (a stopped task)

    def _take(self, a: Agent, seq: int) -> tuple[int, greenlet.greenlet]:
        pending = self.waits[a]
        i, g = pending.pop(seq)
        if not pending:
            del self.waits[a]
        return i, g

    def _deliver(self, a: Agent, seq: int, msg: Any, results: list[Any]) -> None:
        i, g = self._take(a, seq)
        self._resume(i, g, results, lambda: g.switch(msg))

    def _resume(self, i: int, g: greenlet.greenlet, results: list[Any],
                go: Callable[[], Any]) -> None:
        r = go()
        if g.dead:
            results[i] = r
        else:
            agent, seq = r
            self.waits.setdefault(agent, {})[seq] = (i, g)


ZAP_GRACE = 0.25        # seconds a race's end waits for namespace inits to leave zap


def settle(k: LiveKernel) -> None:
    """Wait until the sandbox has settled after a race, as the model's kernel has once
    every thread and every task they woke is done.  LiveKernel._settle takes an init
    seen three polls in a row in zap_pid_ns_processes as settled (it stays there for as
    long as zombies of parents outside its namespace remain); after a race its killed
    tasks may still be dying there, so it gets ZAP_GRACE more to finish."""
    k._settle()
    deadline = time.monotonic() + ZAP_GRACE
    while any(not a.dead and a._read("wchan") in ZAP_WCHAN for a in k._agents):
        if time.monotonic() > deadline:
            return
        time.sleep(0.001)
    k._settle()


def _gone(a: Agent) -> bool:
    """The agent will not answer: its thread is gone, a zombie, exiting or stopped."""
    st = a.stat()
    return st is None or st[0] in "ZXTt" or bool(st[1] & PF_EXITING)


def _readable(fd: int) -> bool:
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(0))
