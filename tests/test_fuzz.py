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
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

import pidlab
from pidlab import (CLONE_NEWPID, CLONE_PARENT, SIGCHLD, SIGCONT, SIGKILL, SIGSTOP,
                    SIGTERM, SIGUSR1, SIG_CATCH, SIG_DFL, SIG_IGN, WCONTINUED, WNOHANG,
                    WUNTRACED)

from helpers import status_lines

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


class LockstepMachine(RuleBasedStateMachine):
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.model = pidlab.Kernel()
        try:
            self.live = pidlab.LiveKernel()
        except pidlab.BackendUnavailable as e:
            pytest.skip(f"live backend unavailable: {e}")
        self.n = 0
        self.all: list[Pair] = []

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
