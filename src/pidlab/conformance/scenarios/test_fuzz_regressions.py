"""Divergences the differential fuzzer (tests/test_fuzz.py) found, as named scenarios.

Each was a real difference between the model and the live kernel (or the live
backend's view of it); the kernel's answer is the expected value.
"""

from __future__ import annotations

import errno

from pidlab import CLONE_NEWPID, SIGUSR1, WNOHANG

from pidlab.conformance.helpers import raises_errno


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
