"""Differential fuzzing: random system-call sequences on the model and the live kernel in lockstep.

Hypothesis drives both backends with the same calls and compares every
result, every errno and the /proc/self/status of every task that can read
it.  The model is built at the live kernel's own version
(`Kernel(version=live.version)`, e.g. "6.12.117"), so that both speak for the
same Linux; `LockstepMachine.kernel = "6.1"` (or "6.12") runs the live side in
pidlab's virtual machine of that kernel instead of the running one.  Every
divergence it finds becomes a named regression test in
conformance/scenarios/test_fuzz_regressions.py.

Two entries use the machine: tests/test_fuzz.py (a bounded run in `make test`,
configured by PIDLAB_FUZZ_EXAMPLES, _STEPS, _STEPLOG and _KERNEL) and
`pidlab fuzz`, whose campaign() shards the examples over local processes (or a
Dask cluster's workers, pidlab/cluster.py), each shard its own seeded Hypothesis
run with its own live sandboxes, and adds up what they ran and found.

Hypothesis is the optional extra `pidlab[fuzz]`: importing this module without
it raises ImportError (the command says which extra to install).

A long campaign must run with SIGINT at its default: a background job (`cmd &`,
nohup) inherits it ignored, and the live agents then catch signals with no
sa_restorer (see test_regression_live_agents_catch_signals_when_started_with_sigint_ignored).
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import time
from typing import Any, NoReturn

from hypothesis import HealthCheck, seed as hypothesis_seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 multiple, rule, run_state_machine_as_test)

import pidlab
from pidlab import (AT_EMPTY_PATH, CLONE_NEWPID, CLONE_PARENT, FD_PIDFS_ROOT, O_RDONLY, P_ALL,
                    P_PGID, P_PID, P_PIDFD, PIDFD_INFO_COREDUMP, PIDFD_INFO_EXIT, PIDFD_NONBLOCK,
                    PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP,
                    PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD, SIGCHLD, SIGCONT,
                    SIGHUP, SIGKILL, SIGSTOP, SIGTERM, SIGTSTP, SIGTTIN, SIGUSR1, SIG_CATCH,
                    SIG_DFL, SIG_IGN, SO_PEERPIDFD, SOL_SOCKET, WALL, WCLONE, WCONTINUED, WEXITED,
                    WNOHANG, WNOTHREAD, WNOWAIT, WSTOPPED, WUNTRACED)

from pidlab.conformance.helpers import stat_owner, status_lines
from pidlab.model.pid import pid_nr_ns
from pidlab.model.task import thread_list


class Unavailable(Exception):
    """The live kernel (or the model for its version) cannot run here."""


COMPARED = ("State", "Tgid", "Pid", "PPid", "Uid", "NStgid", "NSpid", "NSpgid", "NSsid",
            "Threads", "SigIgn", "SigCgt")

# Signals the rules send: the job-control ones (SIGSTOP, SIGTSTP, SIGTTIN, SIGCONT) with
# handlers or without, fatal ones, ignored-by-default ones, and two invalid numbers.
SIGNALS = (0, SIGTERM, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGCONT, SIGUSR1, SIGHUP, SIGCHLD, 65)
# Signals that cannot kill whatever the disposition (SIGKILL aside, which always does).
NEVER_FATAL = frozenset((0, SIGSTOP, SIGTSTP, SIGTTIN, SIGCONT, SIGCHLD, 65))
WAITID_BITS = (WNOHANG, WNOWAIT, WEXITED, WSTOPPED, WCONTINUED, WNOTHREAD, WALL, WCLONE)
WAIT4_BITS = (WNOHANG, WUNTRACED, WCONTINUED, WNOTHREAD, WALL, WCLONE)
# Every combination of the option bits (0 included: EINVAL for waitid), and now and
# then a bit neither call knows.
waitid_options = st.one_of(st.lists(st.sampled_from(WAITID_BITS), unique=True).map(sum),
                           st.just(WEXITED | 0x10))
wait4_options = st.one_of(st.lists(st.sampled_from(WAIT4_BITS), unique=True).map(sum),
                          st.just(WNOWAIT))


def outcome(fn):
    """What a call did, comparable across backends."""
    try:
        return ("ok", fn())
    except OSError as e:
        return ("errno", e.errno)
    except pidlab.WouldBlock:
        return ("would-block",)
    except pidlab.TaskExited:
        return ("exited",)
    except pidlab.Unsupported as e:
        return ("unsupported", str(e))


class Pair:
    """The same task on both backends."""

    def __init__(self, model, live, label: str) -> None:
        self.model, self.live, self.label = model, live, label

    def __repr__(self) -> str:
        return self.label


def _normalise(value):
    if isinstance(value, pidlab.Child):
        return ("child", value.pid, value.pidfd)
    return value


class FdPair:
    """A descriptor that the same task holds on both backends (the numbers agree)."""

    def __init__(self, owner: Pair, fd: int) -> None:
        self.owner, self.fd = owner, fd

    def __repr__(self) -> str:
        return f"{self.owner}:fd{self.fd}"


class Ranks:
    """pidfs inode numbers differ between backends by design: compare their ranks."""

    def __init__(self) -> None:
        self.seen: dict[int, int] = {}

    def __call__(self, ino: int) -> int:
        return self.seen.setdefault(ino, len(self.seen))


class LockstepMachine(RuleBasedStateMachine):
    tasks = Bundle("tasks")
    fds = Bundle("fds")

    kernel: str | None = None       # a guest series ("6.1", "6.12"); None: the running kernel
    steplog: str | None = None      # a file that gets the number of steps of every example

    def __init__(self) -> None:
        super().__init__()
        try:
            self.live = pidlab.LiveKernel(kernel=self.kernel)
        except pidlab.BackendUnavailable as e:
            self.unavailable(f"live backend unavailable: {e}")
        try:
            # The model at the live kernel's version, backports of its sublevel included.
            self.model = pidlab.Kernel(version=self.live.version)
        except ValueError as e:
            self.live.close()
            self.unavailable(f"the model cannot speak for the live kernel: {e}")
        self.n = 0
        self.all: list[Pair] = []
        self.ranks = (Ranks(), Ranks())
        self.handles: dict[int, tuple] = {}     # id(FdPair) -> (model handle, live handle)
        self.steps = -1                         # the invariant runs once more than the rules

    def unavailable(self, reason: str) -> NoReturn:
        """This machine cannot run here (the pytest entry skips instead)."""
        raise Unavailable(reason)

    def finished(self, steps: int) -> None:
        """An example ended after `steps` rules (a campaign's shard counts them)."""

    def teardown(self) -> None:
        try:
            self.model.check()
        finally:
            self.live.close()
            if self.steplog:
                with open(self.steplog, "a") as f:
                    f.write(f"{self.steps}\n")
            self.finished(self.steps)

    # -- the model's view, for choosing arguments and avoiding real races ---------------

    @staticmethod
    def _nr(caller: Pair, other: Pair, leader: bool = False) -> int:
        """other's number (or its process's) in caller's active namespace; 0 if none."""
        t, o = caller.model._t, other.model._t
        if t.pid is None or o.pid is None:
            return 0
        pid = o.signal.group_leader.pid if leader else o.pid
        return pid_nr_ns(pid, t.pid.ns) if pid is not None else 0

    def _racy_kill(self, sender: Pair, pid: int, sig: int) -> bool:
        """Whether kill(pid <= 0, sig) could kill a process that ignores SIGCHLD together
        with one of its children.  Linux takes them in a real race: if the child dies
        first it is reaped at once, if the parent dies first the child becomes a zombie
        of its new parent.  The model takes one order, so the fuzzer never asks."""
        if pid > 0 or sig in NEVER_FATAL:
            return False
        t = sender.model._t
        if t.pid is None or t.exit_state:
            return False
        ns = t.pid.ns
        if pid == -1:
            targets = {p.tgid_task.signal for p in ns.idr.entries.values()
                       if p.tgid_task is not None and p.tgid_task.signal is not t.signal}
        else:
            grp = t.signal.pgrp if pid == 0 else ns.idr.entries.get(-pid)
            targets = set(grp.pgrp or ()) if grp is not None else set()
        return self._racy_targets(targets)

    @staticmethod
    def _racy_targets(targets) -> bool:
        for sig in targets:
            if sig.sighand.get(SIGCHLD) != SIG_IGN:
                continue
            for th in thread_list(sig):
                if th.children and any(c in targets for c in th.children):
                    return True
        return False

    def run(self, pair: Pair, what: str, fn):
        m = outcome(lambda: fn(pair.model))
        lv = outcome(lambda: fn(pair.live))
        mn = (m[0], _normalise(m[1])) if m[0] == "ok" else m
        ln = (lv[0], _normalise(lv[1])) if lv[0] == "ok" else lv
        if mn[0] == "unsupported" or ln[0] == "unsupported":
            return m, lv
        assert mn == ln, f"{pair}.{what}: model {mn} != live {ln}"
        return m, lv

    @initialize(target=tasks)
    def start(self):
        p = Pair(self.model.init, self.live.init, "init")
        self.all.append(p)
        return p

    def _child(self, parent: Pair, m, lv, how: str):
        if m[0] != "ok":
            return None
        self.n += 1
        p = Pair(m[1].task, lv[1].task, f"{parent.label}>{how}{self.n}")
        self.all.append(p)
        return p

    @rule(target=tasks, parent=tasks)
    def fork(self, parent):
        m, lv = self.run(parent, "fork", lambda t: t.fork())
        return self._child(parent, m, lv, "f") or parent

    @rule(target=tasks, parent=tasks, flags=st.sampled_from([CLONE_NEWPID, CLONE_PARENT, 0]),
          exit_signal=st.sampled_from([SIGCHLD, 0, SIGUSR1]))
    def clone(self, parent, flags, exit_signal):
        m, lv = self.run(parent, f"clone({flags:#x},{exit_signal})",
                         lambda t: t.clone(flags, exit_signal=exit_signal))
        return self._child(parent, m, lv, "c") or parent

    # -- pidfds and pidfs ----------------------------------------------------------------

    def _fd(self, owner: Pair, m) -> FdPair | None:
        return FdPair(owner, m[1]) if m[0] == "ok" else None

    @rule(target=fds, parent=tasks)
    def clone_pidfd(self, parent):
        m, lv = self.run(parent, "clone(pidfd)", lambda t: t.clone(pidfd=True))
        self._child(parent, m, lv, "p")
        return FdPair(parent, m[1].pidfd) if m[0] == "ok" else multiple()

    @rule(target=fds, t=tasks, pid=st.sampled_from([1, 2, 3, 4, 5, 6, 7, 0, -1]),
          flags=st.sampled_from([0, PIDFD_NONBLOCK, PIDFD_THREAD, 1]))
    def pidfd_open(self, t, pid, flags):
        m, _ = self.run(t, f"pidfd_open({pid},{flags:#x})", lambda x: x.pidfd_open(pid, flags))
        return self._fd(t, m) or multiple()

    @rule(f=fds, sig=st.sampled_from(SIGNALS),
          flags=st.sampled_from([0, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP,
                                 PIDFD_SIGNAL_PROCESS_GROUP, 8]))
    def pidfd_send_signal(self, f, sig, flags):
        if flags == PIDFD_SIGNAL_PROCESS_GROUP and sig not in NEVER_FATAL:
            mf = f.owner.model._t.files
            fo = mf.get(f.fd) if mf is not None else None
            if fo is not None and fo.kind == "pidfd" and self._racy_targets(set(fo.obj.pid.pgrp or ())):
                return
        self.run(f.owner, f"pidfd_send_signal({f.fd},{sig},{flags:#x})",
                 lambda x: x.pidfd_send_signal(f.fd, sig, flags))

    @rule(t=tasks, fd=st.sampled_from([PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP]),
          sig=st.sampled_from(SIGNALS),
          flags=st.sampled_from([0, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP]))
    def pidfd_send_signal_self(self, t, fd, sig, flags):
        self.run(t, f"pidfd_send_signal({fd},{sig},{flags:#x})",
                 lambda x: x.pidfd_send_signal(fd, sig, flags))

    @rule(target=fds, t=tasks, other=tasks,
          flags=st.sampled_from([0, PIDFD_THREAD, PIDFD_THREAD | PIDFD_NONBLOCK]))
    def pidfd_open_task(self, t, other, flags):
        """A pidfd (a thread's with PIDFD_THREAD) of a task the fuzzer made."""
        nr = self._nr(t, other)
        m, _ = self.run(t, f"pidfd_open({other}={nr},{flags:#x})",
                        lambda x: x.pidfd_open(nr, flags))
        return self._fd(t, m) or multiple()

    @rule(f=fds, mask=st.sampled_from([0, PIDFD_INFO_EXIT, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP]))
    def pidfd_get_info(self, f, mask):
        self.run(f.owner, f"pidfd_get_info({f.fd},{mask:#x})",
                 lambda x: x.pidfd_get_info(f.fd, mask))

    @rule(f=fds)
    def poll(self, f):
        self.run(f.owner, f"poll({f.fd})", lambda x: x.poll([f.fd]))

    @rule(f=fds, options=waitid_options)
    def waitid_pidfd(self, f, options):
        self.run(f.owner, f"waitid(P_PIDFD,{f.fd},{options:#x})",
                 lambda x: x.waitid(P_PIDFD, f.fd, options))

    @rule(f=fds)
    def fstat(self, f):
        m = outcome(lambda: f.owner.model.fstat(f.fd))
        lv = outcome(lambda: f.owner.live.fstat(f.fd))
        def shape(o, rank, task):
            if o[0] != "ok":
                return o
            s = o[1]        # owners in the model's names (differences.py "userns-owner")
            return ("ok", rank(s.st_ino), s.st_mode, s.st_nlink, *stat_owner(task, f.fd, s),
                    s.st_size)
        assert shape(m, self.ranks[0], f.owner.model) == shape(lv, self.ranks[1], f.owner.live), \
            f"{f}.fstat: {m} != {lv}"

    @rule(target=fds, f=fds)
    def handle_round_trip(self, f):
        def trip(x):
            h = x.name_to_handle_at(f.fd, "", AT_EMPTY_PATH)
            return x.open_by_handle_at(FD_PIDFS_ROOT, h, O_RDONLY)
        m, _ = self.run(f.owner, f"handle({f.fd})", trip)
        return self._fd(f.owner, m) or multiple()

    @rule(target=fds, f=fds, targetfd=st.sampled_from([0, 2, 3, 4, 5, 100]))
    def pidfd_getfd(self, f, targetfd):
        m, _ = self.run(f.owner, f"pidfd_getfd({f.fd},{targetfd})",
                        lambda x: x.pidfd_getfd(f.fd, targetfd))
        return self._fd(f.owner, m) or multiple()

    @rule(f=fds, nstype=st.sampled_from([CLONE_NEWPID, 0]))
    def setns_pidfd(self, f, nstype):
        self.run(f.owner, f"setns({f.fd},{nstype:#x})", lambda x: x.setns(f.fd, nstype))

    @rule(f=fds)
    def close(self, f):
        self.run(f.owner, f"close({f.fd})", lambda x: x.close(f.fd))

    @rule(f=fds, value=st.sampled_from([b"", b"v", b"x" * 100]))
    def xattr(self, f, value):
        self.run(f.owner, f"fsetxattr({f.fd})",
                 lambda x: x.fsetxattr(f.fd, "trusted.fuzz", value))
        self.run(f.owner, f"fgetxattr({f.fd})", lambda x: x.fgetxattr(f.fd, "trusted.fuzz"))

    @rule(target=fds, t=tasks)
    def peer_pidfd(self, t):
        def peer(x):
            a, _ = x.socketpair()
            return x.getsockopt(a, SOL_SOCKET, SO_PEERPIDFD)
        m, _ = self.run(t, "socketpair+SO_PEERPIDFD", peer)
        return self._fd(t, m) or multiple()

    @rule(target=tasks, parent=tasks)
    def spawn_thread(self, parent):
        m, lv = self.run(parent, "spawn_thread", lambda t: t.spawn_thread())
        return self._child(parent, m, lv, "t") or parent

    @rule(t=tasks, code=st.integers(0, 3))
    def exit(self, t, code):
        self.run(t, f"exit({code})", lambda x: x.exit(code))

    @rule(t=tasks, code=st.integers(0, 3))
    def exit_group(self, t, code):
        self.run(t, f"exit_group({code})", lambda x: x.exit_group(code))

    @rule(t=tasks, pid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, -2, -3]),
          options=wait4_options)
    def waitpid(self, t, pid, options):
        self.run(t, f"waitpid({pid},{options:#x})", lambda x: x.waitpid(pid, options))

    @rule(t=tasks, idtype=st.sampled_from([P_ALL, P_PID, P_PGID, 4]),
          id_=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6]), options=waitid_options)
    def waitid(self, t, idtype, id_, options):
        self.run(t, f"waitid({idtype},{id_},{options:#x})",
                 lambda x: x.waitid(idtype, id_, options))

    @rule(t=tasks, other=tasks, options=waitid_options)
    def waitid_task(self, t, other, options):
        """waitid(P_PID) for a task the fuzzer made (a child, a thread, or neither)."""
        nr = self._nr(t, other) or 99
        self.run(t, f"waitid(P_PID,{other}={nr},{options:#x})",
                 lambda x: x.waitid(P_PID, nr, options))

    @rule(t=tasks, pid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7, -2]),
          sig=st.sampled_from(SIGNALS))
    def kill(self, t, pid, sig):
        if self._racy_kill(t, pid, sig):
            return
        self.run(t, f"kill({pid},{sig})", lambda x: x.kill(pid, sig))

    @rule(t=tasks, other=tasks, sig=st.sampled_from(SIGNALS),
          how=st.sampled_from(["own", "own", "other-tgid", "tgid-as-tid"]))
    def tgkill(self, t, other, sig, how):
        """tgkill aimed at a task the fuzzer made: its own thread group and tid (a zombie
        leader's too), a thread group it is not in, or its group leader's tid."""
        tgid, tid = self._nr(t, other, leader=True), self._nr(t, other)
        if how == "other-tgid":
            mine = self._nr(t, t, leader=True)
            tgid = mine if mine != tgid else tgid + 1
        elif how == "tgid-as-tid":
            tid = tgid
        tgid, tid = tgid or 99, tid or 99
        self.run(t, f"tgkill({other}:{tgid},{tid},{sig})", lambda x: x.tgkill(tgid, tid, sig))

    @rule(t=tasks, tgid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5]),
          tid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7]), sig=st.sampled_from(SIGNALS))
    def tgkill_numbers(self, t, tgid, tid, sig):
        self.run(t, f"tgkill({tgid},{tid},{sig})", lambda x: x.tgkill(tgid, tid, sig))

    @rule(t=tasks, sig=st.sampled_from([SIGTERM, SIGUSR1, SIGCHLD, SIGCONT, SIGTSTP, SIGTTIN,
                                        SIGHUP, SIGSTOP]),
          handler=st.sampled_from([SIG_DFL, SIG_IGN, SIG_CATCH]))
    def sigaction(self, t, sig, handler):
        self.run(t, f"sigaction({sig},{handler})", lambda x: x.sigaction(sig, handler))

    @rule(t=tasks)
    def setsid(self, t):
        self.run(t, "setsid", lambda x: x.setsid())

    @rule(t=tasks, pid=st.sampled_from([0, 1, 2, 3, 4, 5]), pgid=st.sampled_from([0, 1, 2, 3, 4]))
    def setpgid(self, t, pid, pgid):
        self.run(t, f"setpgid({pid},{pgid})", lambda x: x.setpgid(pid, pgid))

    @rule(t=tasks)
    def unshare_pid(self, t):
        self.run(t, "unshare(NEWPID)", lambda x: x.unshare(CLONE_NEWPID))

    @rule(t=tasks, value=st.sampled_from([0, 5, 299, 300, 301, 1000, 32767]))
    def write_ns_last_pid(self, t, value):
        self.run(t, f"ns_last_pid={value}",
                 lambda x: x.write_text("/proc/sys/kernel/ns_last_pid", str(value)))

    @rule(t=tasks, value=st.sampled_from([300, 301, 310, 400, 32768, 4194304]))
    def write_pid_max(self, t, value):
        self.run(t, f"pid_max={value}",
                 lambda x: x.write_text("/proc/sys/kernel/pid_max", str(value)))

    @rule(t=tasks)
    def identities(self, t):
        self.run(t, "ids", lambda x: (x.getpid(), x.gettid(), x.getppid(), x.getpgid(0),
                                      x.getsid(0),
                                      x.read_text("/proc/sys/kernel/ns_last_pid"),
                                      x.read_text("/proc/sys/kernel/pid_max")))

    @rule(t=tasks)
    def execve(self, t):
        self.run(t, "execve", lambda x: x.execve())

    @invariant()
    def every_status_agrees(self):
        self.steps += 1
        for p in getattr(self, "all", []):
            self.run(p, "status", lambda x: {k: v for k, v in status_lines(
                x.read_text("/proc/self/status"), COMPARED).items()})


# ---------------------------------------------------------------- campaigns

@dataclasses.dataclass
class Divergence:
    """A failing example: what failed, and the call sequence Hypothesis shrank it to
    (as it printed it: `state = LockstepMachine()`, one line per rule, `state.teardown()`)."""

    shard: int
    seed: int
    error: str
    sequence: list[str]


@dataclasses.dataclass
class Shard:
    """One shard of a campaign: its own seeded Hypothesis run in its own process."""

    index: int
    seed: int
    asked: int              # max_examples given to Hypothesis
    examples: int           # examples run (the shrinker's included): one live sandbox each
    steps: int              # rules run in them
    elapsed: float
    version: str | None     # the live kernel's version (the model's too)
    divergences: list[Divergence]
    process: str            # where it ran: "HOST:PID"


@dataclasses.dataclass
class Campaign:
    """What the shards of a campaign ran and found, added up."""

    kernel: str | None
    seed: int
    max_steps: int
    shards: list[Shard]
    elapsed: float          # wall time, the shards running side by side

    @property
    def jobs(self) -> int:
        return len(self.shards)

    @property
    def examples(self) -> int:
        return sum(s.examples for s in self.shards)

    @property
    def steps(self) -> int:
        return sum(s.steps for s in self.shards)

    @property
    def divergences(self) -> list[Divergence]:
        return [d for s in self.shards for d in s.divergences]

    @property
    def per_second(self) -> float:
        return self.examples / self.elapsed if self.elapsed > 0 else 0.0


def _divergence(index: int, seed: int, err: BaseException) -> Divergence:
    notes = [str(n) for n in getattr(err, "__notes__", ())]
    error = f"{type(err).__name__}: {err}"
    if isinstance(err, BaseExceptionGroup) and not isinstance(err, Flaky):
        error = "; ".join(f"{type(e).__name__}: {e}" for e in err.exceptions)
    elif isinstance(err, BaseExceptionGroup):         # FlakyFailure: failed, then did not
        error += " (" + "; ".join(f"{type(e).__name__}: {e}" for e in err.exceptions) + ")"
        for e in err.exceptions:
            notes += [str(n) for n in getattr(e, "__notes__", ()) if str(n) not in notes]
    # The sequence is the case Hypothesis printed, up to its state.teardown(); notes of a
    # flaky run's inner failures after it (where it raised) belong with the error.
    if "state.teardown()" in notes:
        end = len(notes) - notes[::-1].index("state.teardown()")
        if notes[end:]:
            error += " (" + " ".join(n.strip() for n in notes[end:]) + ")"
        notes = notes[:end]
    return Divergence(index, seed, error, notes)


def run_shard(index: int, seed: int, examples: int, steps: int,
              kernel: str | None = None) -> Shard:
    """One shard: `examples` examples of at most `steps` rules, Hypothesis seeded with
    `seed` (the same seed and counts run the same calls again).  Raises Unavailable
    when the live kernel cannot start; a divergence is recorded, not raised."""
    ran: list[int] = []
    versions: list[str] = []

    def finished(self: LockstepMachine, n: int) -> None:
        ran.append(max(n, 0))
        versions.append(self.live.version)

    # The machine keeps its name: the sequence Hypothesis prints reads as the tests'.
    machine = type("LockstepMachine", (LockstepMachine,), {"kernel": kernel, "finished": finished})
    factory = hypothesis_seed(seed)(lambda: machine())
    config = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                      database=None, suppress_health_check=list(HealthCheck), derandomize=False)
    printed: list[str] = []
    divergences: list[Divergence] = []
    t0 = time.perf_counter()
    try:
        with with_reporter(printed.append):
            run_state_machine_as_test(factory, settings=config)
    except Unavailable:
        raise
    except Exception as e:      # noqa: BLE001 -- any failing example is a finding
        d = _divergence(index, seed, e)
        d.sequence = d.sequence or printed
        divergences.append(d)
    return Shard(index, seed, examples, len(ran), sum(ran), time.perf_counter() - t0,
                 versions[0] if versions else None, divergences,
                 f"{socket.gethostname()}:{os.getpid()}")


def preflight(kernel: str | None = None) -> str:
    """The live kernel's version, once a sandbox of it has started and the model can
    speak for it (Unavailable otherwise): a campaign checks this before it shards."""
    try:
        live = pidlab.LiveKernel(kernel=kernel)
    except pidlab.BackendUnavailable as e:
        raise Unavailable(f"live backend unavailable: {e}") from None
    try:
        version = live.version
        try:
            pidlab.Kernel(version=version)
        except ValueError as e:
            raise Unavailable(f"the model cannot speak for the live kernel: {e}") from None
        return version
    finally:
        live.close()


def campaign(examples: int = 12, steps: int = 30, *, kernel: str | None = None, jobs: int = 1,
             seed: int | None = None, executor: Any = None) -> Campaign:
    """A fuzz campaign of `examples` examples split over `jobs` shards; shard i is seeded
    seed + i (a random seed when None: Campaign.seed says which).  Shards run in forked
    local processes, or on `executor` (any concurrent.futures executor, e.g. a Dask
    cluster's: each worker then needs a live kernel pidlab may sandbox)."""
    for name, value, low in (("examples", examples, 1), ("steps", steps, 1), ("jobs", jobs, 1)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int")
        if value < low:
            raise ValueError(f"{name} must be >= {low}")
    if seed is None:
        seed = random.SystemRandom().randrange(2 ** 32)
    per, extra = divmod(examples, jobs)
    work = [(i, seed + i, per + (i < extra), steps, kernel) for i in range(jobs)
            if per + (i < extra)]
    t0 = time.perf_counter()
    if executor is not None:
        futures = [executor.submit(run_shard, *w) for w in work]
        shards = [f.result() for f in futures]
    elif len(work) == 1:
        shards = [run_shard(*work[0])]
    else:
        import concurrent.futures
        import multiprocessing
        # Forked, as explore's shards are: what the parent set up (a patched model in a
        # test) is what every shard runs.
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(len(work), mp_context=ctx) as pool:
            shards = list(pool.map(run_shard, *zip(*work)))
    return Campaign(kernel, seed, steps, shards, time.perf_counter() - t0)
