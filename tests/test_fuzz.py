"""Differential fuzzing: random system-call sequences on the model and the live kernel in lockstep.

Hypothesis drives both backends with the same calls and compares every
result, every errno and the /proc/self/status of every task that can read
it.  CI runs a bounded number of examples; set PIDLAB_FUZZ_EXAMPLES for more
(and PIDLAB_FUZZ_STEPS for longer sequences).  Every divergence it finds
becomes a named regression test in test_fuzz_regressions.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 multiple, rule)

import pidlab
from pidlab import (AT_EMPTY_PATH, CLONE_NEWPID, CLONE_PARENT, FD_PIDFS_ROOT, O_RDONLY,
                    P_PIDFD, PIDFD_INFO_COREDUMP, PIDFD_INFO_EXIT, PIDFD_NONBLOCK,
                    PIDFD_SIGNAL_PROCESS_GROUP, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP,
                    PIDFD_THREAD, SIGCHLD, SIGCONT, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1,
                    SIG_CATCH, SIG_DFL, SIG_IGN, SO_PEERPIDFD, SOL_SOCKET, WCONTINUED, WEXITED,
                    WNOHANG, WUNTRACED)

from pidlab.conformance.helpers import stat_owner, status_lines

EXAMPLES = int(os.environ.get("PIDLAB_FUZZ_EXAMPLES", "12"))
STEPS = int(os.environ.get("PIDLAB_FUZZ_STEPS", "30"))

COMPARED = ("State", "Tgid", "Pid", "PPid", "Uid", "NStgid", "NSpid", "NSpgid", "NSsid",
            "Threads", "SigIgn", "SigCgt")


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

    def __init__(self) -> None:
        super().__init__()
        self.model = pidlab.Kernel()
        try:
            self.live = pidlab.LiveKernel()
        except pidlab.BackendUnavailable as e:
            pytest.skip(f"live backend unavailable: {e}")
        self.n = 0
        self.all: list[Pair] = []
        self.ranks = (Ranks(), Ranks())
        self.handles: dict[int, tuple] = {}     # id(FdPair) -> (model handle, live handle)

    def teardown(self) -> None:
        try:
            self.model.check()
        finally:
            self.live.close()

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

    @rule(f=fds, sig=st.sampled_from([0, SIGTERM, SIGKILL, SIGSTOP, SIGCONT, SIGUSR1]),
          flags=st.sampled_from([0, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP,
                                 PIDFD_SIGNAL_PROCESS_GROUP, 8]))
    def pidfd_send_signal(self, f, sig, flags):
        self.run(f.owner, f"pidfd_send_signal({f.fd},{sig},{flags:#x})",
                 lambda x: x.pidfd_send_signal(f.fd, sig, flags))

    @rule(f=fds, mask=st.sampled_from([0, PIDFD_INFO_EXIT, PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP]))
    def pidfd_get_info(self, f, mask):
        self.run(f.owner, f"pidfd_get_info({f.fd},{mask:#x})",
                 lambda x: x.pidfd_get_info(f.fd, mask))

    @rule(f=fds)
    def poll(self, f):
        self.run(f.owner, f"poll({f.fd})", lambda x: x.poll([f.fd]))

    @rule(f=fds)
    def waitid_pidfd(self, f):
        self.run(f.owner, f"waitid(P_PIDFD,{f.fd})",
                 lambda x: x.waitid(P_PIDFD, f.fd, WEXITED | WNOHANG))

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
          options=st.sampled_from([WNOHANG, WNOHANG | WUNTRACED | WCONTINUED, 0]))
    def waitpid(self, t, pid, options):
        self.run(t, f"waitpid({pid},{options})", lambda x: x.waitpid(pid, options))

    @rule(t=tasks, pid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7, -2]),
          sig=st.sampled_from([0, SIGTERM, SIGKILL, SIGSTOP, SIGCONT, SIGUSR1, SIGCHLD, 65]))
    def kill(self, t, pid, sig):
        self.run(t, f"kill({pid},{sig})", lambda x: x.kill(pid, sig))

    @rule(t=tasks, sig=st.sampled_from([SIGTERM, SIGUSR1, SIGCHLD, SIGCONT]),
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
        for p in getattr(self, "all", []):
            self.run(p, "status", lambda x: {k: v for k, v in status_lines(
                x.read_text("/proc/self/status"), COMPARED).items()})


LockstepMachine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
    suppress_health_check=list(HealthCheck), derandomize=False)
TestLockstep = LockstepMachine.TestCase
