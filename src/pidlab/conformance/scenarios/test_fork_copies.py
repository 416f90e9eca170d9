"""What fork copies and what CLONE_* shares: dispositions, file descriptors, the mm.

Linux: kernel/fork.c copy_sighand, copy_files (dup_fd), copy_mm; kernel/fork.c
ksys_unshare/check_unshare_flags (sighand->count, current_is_single_threaded).
A copy is the child's own from the start: a change on one side never shows on
the other.  A share (CLONE_FILES for threads, CLONE_SIGHAND, CLONE_VM) is one
object: a change shows on every side, until the sharer is gone.
"""

from __future__ import annotations

import errno

import pytest

from pidlab import (CLONE_SIGHAND, CLONE_VM, F_GETFD, FD_CLOEXEC, PR_GET_DUMPABLE,
                    PR_SET_DUMPABLE, SIG_CATCH, SIG_DFL, SIG_IGN, SIGKILL, SIGTERM, SIGUSR1,
                    SIGUSR2)

from pidlab.conformance.helpers import raises_errno, sigmask

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


def test_a_childs_sigaction_leaves_the_parent_alone(kernel):
    init = kernel.init
    child = init.fork()
    child.task.sigaction(SIGUSR1, SIG_IGN)
    assert init.sigaction(SIGUSR1, None) == SIG_DFL
    assert sigmask(init, "SigIgn") == 0


def test_a_parents_sigaction_after_fork_leaves_the_child_alone(kernel):
    init = kernel.init
    child = init.fork()
    init.sigaction(SIGUSR2, SIG_CATCH)
    assert child.task.sigaction(SIGUSR2, None) == SIG_DFL
    init.sigaction(SIGUSR2, SIG_DFL)


def test_siblings_forked_from_one_parent_have_separate_dispositions(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    a.task.sigaction(SIGTERM, SIG_IGN)
    b.task.sigaction(SIGTERM, SIG_CATCH)
    assert (a.task.sigaction(SIGTERM, None), b.task.sigaction(SIGTERM, None),
            init.sigaction(SIGTERM, None)) == (SIG_IGN, SIG_CATCH, SIG_DFL)


def test_a_child_inherits_dispositions_set_before_the_fork(kernel):
    parent = kernel.init.fork().task
    parent.sigaction(SIGUSR1, SIG_IGN)
    grandchild = parent.fork()
    parent.sigaction(SIGUSR1, SIG_DFL)
    assert grandchild.task.sigaction(SIGUSR1, None) == SIG_IGN


def test_threads_share_dispositions(kernel):
    child = kernel.init.fork()
    thread = child.task.spawn_thread()
    thread.task.sigaction(SIGUSR1, SIG_IGN)
    assert child.task.sigaction(SIGUSR1, None) == SIG_IGN


def test_pr_set_dumpable_in_a_child_leaves_the_parent_dumpable(kernel):
    parent = kernel.init.fork().task
    child = parent.fork()
    child.task.prctl(PR_SET_DUMPABLE, 0)
    assert (parent.prctl(PR_GET_DUMPABLE), child.task.prctl(PR_GET_DUMPABLE)) == (1, 0)
    parent.prctl(PR_SET_DUMPABLE, 0)
    other = parent.fork()                   # a fork copies the mm's dumpable mode
    parent.prctl(PR_SET_DUMPABLE, 1)
    assert (other.task.prctl(PR_GET_DUMPABLE), child.task.prctl(PR_GET_DUMPABLE)) == (0, 0)


def test_threads_share_the_dumpable_mode(kernel):
    child = kernel.init.fork()
    thread = child.task.spawn_thread()
    grandchild = child.task.fork()          # holds a copy of the mm
    thread.task.prctl(PR_SET_DUMPABLE, 0)
    assert child.task.prctl(PR_GET_DUMPABLE) == 0
    assert grandchild.task.prctl(PR_GET_DUMPABLE) == 1


def test_a_descriptor_opened_after_fork_is_the_parents_alone(kernel):
    parent = kernel.init.fork().task
    child = parent.fork()
    fd = parent.pidfd_open(child.pid)
    with raises_errno(errno.EBADF):
        child.task.fcntl(fd, F_GETFD)
    cfd = child.task.pidfd_open(1)
    assert cfd == fd                        # the lowest free number, in each table
    child.task.close(cfd)
    assert parent.fcntl(fd, F_GETFD) == FD_CLOEXEC  # the child closed only its copy


def test_a_descriptor_closed_in_the_child_stays_open_in_the_parent(kernel):
    parent = kernel.init.fork().task
    fd = parent.pidfd_open(1)
    child = parent.fork()
    child.task.close(fd)
    assert parent.fcntl(fd, F_GETFD) == FD_CLOEXEC   # pidfds are close-on-exec
    with raises_errno(errno.EBADF):
        child.task.close(fd)


def test_threads_share_their_descriptors(kernel):
    child = kernel.init.fork()
    thread = child.task.spawn_thread()
    grandchild = child.task.fork()
    fd = thread.task.pidfd_open(1)
    assert child.task.fcntl(fd, F_GETFD) == FD_CLOEXEC
    child.task.close(fd)
    with raises_errno(errno.EBADF):
        thread.task.close(fd)
    with raises_errno(errno.EBADF):
        grandchild.task.fcntl(fd, F_GETFD)


@pytest.mark.model_only(reason="a CLONE_VM process that is not a thread cannot run the live "
                        "backend's Python agent (see the 'unsupported' difference)")
def test_unshare_sighand_is_refused_until_the_sharing_process_is_reaped(kernel):
    parent = kernel.init.fork().task
    sharer = parent.clone(CLONE_VM | CLONE_SIGHAND)
    with raises_errno(errno.EINVAL):
        parent.unshare(CLONE_SIGHAND)
    parent.kill(sharer.pid, SIGKILL)
    with raises_errno(errno.EINVAL):        # a zombie still holds the sighand
        parent.unshare(CLONE_SIGHAND)
    parent.waitpid(sharer.pid, 0)
    parent.unshare(CLONE_SIGHAND)


@pytest.mark.model_only(reason="a CLONE_VM process that is not a thread cannot run the live "
                        "backend's Python agent (see the 'unsupported' difference)")
def test_unshare_vm_is_refused_while_another_process_uses_the_mm(kernel):
    parent = kernel.init.fork().task
    sharer = parent.clone(CLONE_VM)
    with raises_errno(errno.EINVAL):
        parent.unshare(CLONE_VM)
    sharer.task.exit(0)                     # exit_mm: the zombie holds no mm
    parent.unshare(CLONE_VM)


@pytest.mark.model_only(reason="a CLONE_VM process that is not a thread cannot run the live "
                        "backend's Python agent (see the 'unsupported' difference)")
def test_clone_sighand_shares_dispositions_between_processes(kernel):
    parent = kernel.init.fork().task
    copy = parent.fork()                    # a private copy taken before the share
    sharer = parent.clone(CLONE_VM | CLONE_SIGHAND)
    sharer.task.sigaction(SIGUSR1, SIG_IGN)
    assert parent.sigaction(SIGUSR1, None) == SIG_IGN
    assert copy.task.sigaction(SIGUSR1, None) == SIG_DFL
