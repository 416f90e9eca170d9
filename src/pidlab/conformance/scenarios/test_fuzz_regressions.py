"""Divergences the differential fuzzer (tests/test_fuzz.py) found, as named scenarios.

Each was a real difference between the model and the live kernel (or the live
backend's view of it); the kernel's answer is the expected value.
"""

from __future__ import annotations

import errno
import signal
import subprocess
import sys

import pytest

import pidlab
from pidlab import (CLONE_NEWPID, PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, SIG_CATCH, SIG_DFL,
                    SIGTSTP, SIGUSR1, WNOHANG)

from pidlab.conformance.helpers import needs, raises_errno, status_lines

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


def test_regression_waitpid_right_after_a_namespace_init_exits(kernel):
    """Found by the fuzzer: the live backend returned from exit() before the task was a
    zombie, so an immediate waitpid raised WouldBlock.  Linux: the exit of a namespace
    init with no other task in its namespace completes at once (zap_pid_ns_processes
    has nothing to wait for), and the parent reaps it."""
    ns = kernel.init.clone(CLONE_NEWPID)
    ns.task.exit(5)
    assert kernel.init.waitpid(ns.pid, 0) == (ns.pid, 5 << 8)


def test_regression_exec_by_a_thread_of_a_clone_child_makes_it_a_sigchld_child(kernel):
    """Found by the fuzzer: after de_thread the parent still counted the child in the
    wrong wait class.  Linux: fs/exec.c de_thread gives the exec'ing thread exit_signal
    SIGCHLD when it takes the leader's place, so a child created with another exit
    signal (waitable only with __WCLONE) becomes an ordinary child."""
    init = kernel.init
    child = init.clone(0, exit_signal=SIGUSR1)
    thread = child.task.spawn_thread()
    with raises_errno(errno.ECHILD):            # only a __WCLONE wait would see it
        init.waitpid(-1, WNOHANG)
    thread.task.execve()
    assert init.waitpid(-1, WNOHANG) == (0, 0)  # now an ordinary, running child
    thread.task.exit_group(3)
    assert init.waitpid(-1, 0) == (child.pid, 3 << 8)


def test_regression_a_caught_sigtstp_sent_to_itself_through_pidfd_self_thread_leaves_it_running(kernel):
    """Found by the fuzzer's campaign (issue 12): init catches SIGTSTP and sends it to
    itself with pidfd_send_signal(PIDFD_SELF_THREAD); the live init died.  Linux: a
    caught stop signal runs its handler and never stops (get_signal: the handler is not
    SIG_DFL); PIDFD_SELF_THREAD names the calling thread (PIDTYPE_PID).  The live
    backend was at fault only when its controller started with SIGINT ignored (a
    background job): see test_regression_live_agents_catch_signals_when_started_with_sigint_ignored.
    PIDFD_SELF_THREAD came with 6.15 (pidfd-self), and PIDFD_SELF_THREAD_GROUP is -10001
    from 6.17 (pidfd-self-value)."""
    needs(kernel, "pidfd-self")
    init = kernel.init
    assert init.sigaction(SIGTSTP, SIG_CATCH) == SIG_DFL
    init.pidfd_send_signal(PIDFD_SELF_THREAD, SIGTSTP, 0)
    assert status_lines(init.read_text("/proc/self/status"))["State"].startswith("R")
    assert init.getpid() == 1
    if kernel.has("pidfd-self-value"):
        init.pidfd_send_signal(PIDFD_SELF_THREAD_GROUP, SIGTSTP, 0)
        assert init.getpid() == 1


_SIGINT_IGNORED_SCRIPT = r"""
import pidlab
from pidlab import PIDFD_SELF_THREAD, SIG_CATCH, SIGTSTP
with pidlab.LiveKernel() as k:
    k.init.sigaction(SIGTSTP, SIG_CATCH)
    k.init.pidfd_send_signal(PIDFD_SELF_THREAD, SIGTSTP, 0)
    print("alive", k.init.getpid())
"""


def test_regression_live_agents_catch_signals_when_started_with_sigint_ignored(tmp_path):
    """Found by the fuzzer's campaign (issue 12), live backend only: a controller started
    as a background job (SIGINT inherited as SIG_IGN, e.g. under nohup or `cmd &`) gave
    agents a handler with sa_restorer 0; the first caught signal killed the task
    (SIGSEGV on return from the handler; the sandbox init's death tore the sandbox down)."""
    try:
        pidlab.LiveKernel().close()
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend unavailable: {e}")
    res = subprocess.run([sys.executable, "-c", _SIGINT_IGNORED_SCRIPT], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert res.returncode == 0 and "alive 1" in res.stdout, res.stderr[-2000:]
