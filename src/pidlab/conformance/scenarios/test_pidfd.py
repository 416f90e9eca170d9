"""pidfds: pidfd_open, pidfd_send_signal (with the PIDFD_SELF_* sentinels), thread
pidfds and PIDFD_THREAD, poll, waitid(P_PIDFD), pidfd_getfd, setns through a
pidfd, the Pid/NSpid lines of fdinfo, and the ports of the pidfd selftests that
exercise them.

Where the expected values come from:
* /work/shared/spec/linux-pid-6.18.md section 7 (fdinfo, PIDFD_STALE), 8 (every
  pidfd system call with its errnos), 5 (setns through a pidfd) and 12 (de_thread);
* /work/shared/spec/live-kernel-facts.md sections 5 (pidfd_open, fdinfo) and 8
  (pidfd_send_signal, waitid, poll, a leader that exits first);
* /work/shared/spec/kernel-selftests.md section 2 (the selftests ported below) and 7;
* for the other kernel versions: the change table (pidlab.changes(), each record
  with its evidence), /work/shared/spec/versions.md, and the Debian 6.1.192 and
  6.12.117 virtual machines; a scenario about a feature an older kernel lacks
  skips there (needs()), and a scenario of its own states what that kernel
  answers instead;
* the kernel sources named in a test's comment: kernel/pid.c (pidfd_open,
  pidfd_getfd, __pidfd_fget), kernel/signal.c (pidfd_send_signal,
  kill_pid_info_type, __kill_pgrp_info, complete_signal, wants_signal),
  kernel/exit.c (kernel_waitid_prepare), fs/pidfs.c (pidfd_poll,
  pidfd_show_fdinfo), kernel/nsproxy.c (setns, check_setns_flags,
  validate_nsset), kernel/pid_namespace.c (pidns_install).

Selftests ported (each as test_selftest_<file>_<case>):
* pidfd_test.c: poll_exec (epoll and waitpid variants), poll_leader_exit (both
  variants), send_signal_syscall_support, send_signal_simple_success,
  send_signal_exited_fail, send_signal_recycled_pid_fail;
* pidfd_open_test.c: all 4 results; pidfd_poll_test.c: the loop (10 rounds);
* pidfd_wait.c: wait_simple, wait_states, wait_nonblock;
* pidfd_fdinfo_test.c: nspid, dead_fdinfo;
* pidfd_getfd_test.c: disable_ptrace, fetch_fd, test_unknown_fd, flags_set,
  no_strange_EBADF, and the patch-series pidfd_self (as mainline: EBADF);
* pidfd_setns_test.c: invalid_flags, pidfd_exited_child, pidfd_incremental_setns
  and nsfd_incremental_setns (the pid rows), setns_einval;
* pidfd_autoreap_test.c: every case, as Linux 6.1 to 6.19 answer it (the new clone3
  flags are unknown there, so each clone3 fails with EINVAL).
The PIDFD_GET_INFO, file-handle, xattr and inode-owner selftests are in test_pidfs.py.

Left out, and why:
* Timing windows (pidfd_test's "readable between 3 and 5 s"): the API has no
  blocking poll with a timeout; the ports check readability before and after the
  event that must make the pidfd readable, which is what the window stands for.
* "The handler ran in the calling thread" (send_signal_simple_success, PIDFD_SELF_*):
  the API cannot observe which thread ran a caught handler; the sentinels' target is
  shown instead through PIDFD_SIGNAL_PROCESS_GROUP (a thread's own struct pid is no
  process group) and through a fatal default action.
* kcmp (pidfd_getfd fetch_fd): not in the API; "same open file" is shown by the
  shared file status flags (F_SETFL on one descriptor shows on the other) and the
  same pidfs inode.
* memfd_create (getfd fixture, setns_einval): not in the API; a /proc file or a
  pidfd stands in as the fd that is neither a namespace nor a pidfd.
* pidfd_setns_test pidfd_derived_nsfd_incremental_setns (needs the
  PIDFD_GET_*_NAMESPACE ioctls, not in the API), pidfd_one_shot_setns and
  no_foul_play (need the user, mount, net, uts, ipc, cgroup and time namespaces,
  which the model does not have: it raises pidlab.Unsupported), the SETNS_ALL
  tests (not mainline), and every non-pid row of the incremental tests.
* pidfd_test recycled_pid_fail is ported with ns_last_pid instead of 32768 forks
  (the same recycling of number 1000 in a fresh namespace, in two forks).
* siginfo for pidfd_send_signal (EPERM/EINVAL on forged siginfo): the API takes none.
* PIDFD_SELF_* with process_madvise/process_mrelease: not in the API.
"""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab import (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CLD_CONTINUED, CLD_EXITED, CLD_KILLED,
                    CLD_STOPPED, CLONE_FILES, CLONE_FS, CLONE_NEWPID, CLONE_NEWUSER,
                    CLONE_PARENT, CLONE_PIDFD, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM,
                    F_GETFD, F_GETFL, F_SETFL, FD_CLOEXEC, FD_PIDFS_ROOT, O_CLOEXEC,
                    O_DIRECTORY, O_EXCL, O_NONBLOCK, O_RDWR, P_PID, P_PIDFD,
                    PIDFD_NONBLOCK, PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP,
                    PIDFD_SIGNAL_PROCESS_GROUP, PIDFD_SIGNAL_THREAD,
                    PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD, POLLHUP, POLLIN, POLLNVAL,
                    POLLOUT, POLLRDNORM, PR_SET_DUMPABLE, SIG_CATCH, SIGCHLD,
                    SIGCONT, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, WaitidResult, WCONTINUED,
                    WEXITED, WNOHANG, WNOWAIT, WSTOPPED, WUNTRACED)

from pidlab.conformance.helpers import (NS_LAST_PID_PATH, fdinfo, lowest_free_fd, needs,
                                        proc_state, raises_errno, snapshot)

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

THREAD_FLAGS = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FS | CLONE_FILES
READABLE = POLLIN | POLLRDNORM                  # 0x41: exited, not reaped
REAPED = POLLIN | POLLRDNORM | POLLHUP          # 0x51: no task attached any more
UNUSED_PID = 99999                              # above both backends' pid_max (32768)
CLOSED_FD = 500                                 # never opened (and below the live agents' slots)
# PIDFD_SELF_THREAD_GROUP of the 6.15 and 6.16 uapi <linux/pidfd.h>; "pidfd-self-value" (6.17)
# redefined it as -10001 in <linux/fcntl.h> (pidlab.PIDFD_SELF_THREAD_GROUP).
PIDFD_SELF_THREAD_GROUP_615 = -20000


def self_thread_group(kernel) -> int:
    """The PIDFD_SELF_THREAD_GROUP sentinel of this kernel's uapi."""
    return PIDFD_SELF_THREAD_GROUP if kernel.has("pidfd-self-value") else PIDFD_SELF_THREAD_GROUP_615


def reaped(kernel) -> int:
    """poll revents of a pidfd whose process was reaped: POLLHUP joins POLLIN|POLLRDNORM with
    "pidfd_poll: report POLLHUP when pid_task() == NULL" (6.9; the 6.1 VM shows 0x41)."""
    return REAPED if kernel.has("pidfd-poll-hup") else READABLE


def getfd_exiting_errno(kernel) -> int:
    """pidfd_getfd of a task that exited and dropped its files (kernel/pid.c __pidfd_fget):
    ESRCH from "pidfd: getfd should always report ESRCH if a task is exiting" (6.9) or from
    "pidfd: refuse access to tasks that have started exiting harder" (7.1, in 6.1.176, so the
    6.1.192 VM); fget_task's NULL was EBADF before either."""
    exiting = kernel.has("pidfd-getfd-esrch") or kernel.has("pidfd-getfd-exiting")
    return errno.ESRCH if exiting else errno.EBADF


def poll1(task, fd: int, events: int = POLLIN | POLLRDNORM) -> int:
    """revents of one descriptor (poll(2) with timeout 0)."""
    return task.poll([fd], events)[fd]


# ================================================================ pidfd_open

def test_pidfd_open_returns_a_close_on_exec_read_write_descriptor(kernel):
    # spec 8: the fd is always O_CLOEXEC and O_RDWR; facts 5a: F_GETFL 0o2, fdinfo flags 02000002.
    child = kernel.init.fork()
    fd = kernel.init.pidfd_open(child.pid)
    assert kernel.init.fcntl(fd, F_GETFD) == FD_CLOEXEC
    assert kernel.init.fcntl(fd, F_GETFL) == O_RDWR
    assert fdinfo(kernel.init, fd)["flags"] == "02000002"


@pytest.mark.parametrize("flags, f_getfl, fdinfo_flags", [
    (PIDFD_NONBLOCK, O_RDWR | O_NONBLOCK, "02004002"),
    (PIDFD_THREAD, O_RDWR | O_EXCL, "02000202"),
    (PIDFD_THREAD | PIDFD_NONBLOCK, O_RDWR | O_EXCL | O_NONBLOCK, "02004202"),
], ids=["NONBLOCK", "THREAD", "THREAD|NONBLOCK"])
def test_pidfd_open_flags_stay_in_the_file_flags(kernel, flags, f_getfl, fdinfo_flags):
    # spec 8: O_NONBLOCK is kept and PIDFD_THREAD (O_EXCL) is re-set in f_flags (facts 5b).
    if flags & PIDFD_THREAD:
        needs(kernel, "pidfd-thread")
    child = kernel.init.fork()
    fd = kernel.init.pidfd_open(child.pid, flags)
    assert kernel.init.fcntl(fd, F_GETFL) == f_getfl
    assert fdinfo(kernel.init, fd)["flags"] == fdinfo_flags


def test_pidfd_open_rejects_unknown_flags_with_einval_and_installs_nothing(kernel):
    # kernel/pid.c pidfd_open: flags other than PIDFD_NONBLOCK|PIDFD_THREAD are EINVAL (facts 5c).
    init = kernel.init
    child = init.fork()
    before = lowest_free_fd(init), snapshot([init, child.task])
    for flags in (1, O_RDWR, O_CLOEXEC, O_DIRECTORY, 1 << 31, PIDFD_THREAD | 1):
        with raises_errno(errno.EINVAL):
            init.pidfd_open(child.pid, flags)
    assert (lowest_free_fd(init), snapshot([init, child.task])) == before


def test_pidfd_open_pidfd_thread_is_an_unknown_flag_before_69_and_opens_any_thread_from_69(kernel):
    # kernel/pid.c pidfd_open: before "pidfd-thread" (6.9) the one valid flag is PIDFD_NONBLOCK,
    # so PIDFD_THREAD (O_EXCL) is EINVAL for a leader and for a thread alike (the 6.1 VM);
    # from 6.9 it opens a pidfd of either, with O_EXCL kept in f_flags.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    before = lowest_free_fd(init), snapshot([init, proc.task])
    for tid in (proc.pid, thread.pid):
        for flags in (PIDFD_THREAD, PIDFD_THREAD | PIDFD_NONBLOCK):
            if kernel.has("pidfd-thread"):
                fd = init.pidfd_open(tid, flags)
                assert init.fcntl(fd, F_GETFL) & O_EXCL
                assert fdinfo(init, fd)["Pid"] == str(tid)
                init.close(fd)
            else:
                with raises_errno(errno.EINVAL):
                    init.pidfd_open(tid, flags)
    assert (lowest_free_fd(init), snapshot([init, proc.task])) == before


def test_pidfd_open_rejects_pids_below_1_with_einval(kernel):
    for pid in (0, -1, -10000, -(2**31)):
        with raises_errno(errno.EINVAL):
            kernel.init.pidfd_open(pid)


def test_pidfd_open_checks_the_flags_before_the_pid(kernel):
    # kernel/pid.c pidfd_open: the flag test comes first, so an unused pid still gives EINVAL.
    with raises_errno(errno.EINVAL):
        kernel.init.pidfd_open(UNUSED_PID, 1)


def test_pidfd_open_of_an_unused_number_is_esrch(kernel):
    for pid in (UNUSED_PID, pidlab.PID_MAX_LIMIT, 2**31 - 1):
        with raises_errno(errno.ESRCH):
            kernel.init.pidfd_open(pid)


def test_pidfd_open_of_a_non_leader_thread_without_pidfd_thread_is_enoent_from_616_einval_before(
        kernel):
    # spec 8: without PIDFD_THREAD a task that is no thread-group leader gives ENOENT from
    # "pidfd-open-errnos" (6.16); before, kernel/fork.c pidfd_prepare's
    # !pid_has_task(pid, PIDTYPE_TGID) is EINVAL (the 6.1 and 6.12 VMs).  With PIDFD_THREAD
    # (6.9) the thread opens.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    expected = errno.ENOENT if kernel.has("pidfd-open-errnos") else errno.EINVAL
    before = lowest_free_fd(init)
    with raises_errno(expected):
        init.pidfd_open(thread.pid)
    with raises_errno(expected):
        init.pidfd_open(thread.pid, PIDFD_NONBLOCK)
    assert lowest_free_fd(init) == before
    if kernel.has("pidfd-thread"):
        fd = init.pidfd_open(thread.pid, PIDFD_THREAD)
        assert fdinfo(init, fd)["Pid"] == str(thread.pid)


def test_pidfd_thread_on_a_leader_names_the_same_pid_as_a_process_pidfd(kernel):
    needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    fd_proc = init.pidfd_open(proc.pid)
    fd_thread = init.pidfd_open(proc.pid, PIDFD_THREAD)
    assert init.fstat(fd_thread).st_ino == init.fstat(fd_proc).st_ino
    assert fdinfo(init, fd_thread)["Pid"] == str(proc.pid)


def test_pidfd_open_of_a_zombie_succeeds_and_shows_its_number(kernel):
    # spec 8: zombies can be opened, even if nobody held a pidfd before (facts 5f).
    init = kernel.init
    child = init.fork()
    child.task.exit(3)
    fd = init.pidfd_open(child.pid)
    assert fdinfo(init, fd)["Pid"] == str(child.pid)
    assert init.waitpid(child.pid, 0) == (child.pid, 0x300)


def test_pidfd_open_of_a_reaped_process_is_esrch(kernel):
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ESRCH):
        init.pidfd_open(child.pid)
    if kernel.has("pidfd-thread"):          # before 6.9 the flag itself is EINVAL (see above)
        with raises_errno(errno.ESRCH):
            init.pidfd_open(child.pid, PIDFD_THREAD)


def test_pidfd_open_of_an_exited_thread_is_esrch(kernel):
    # A non-leader thread is released when it exits, its number freed (facts 5e: ESRCH
    # afterwards): find_get_pid finds nothing, with or without PIDFD_THREAD.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    thread.task.exit(0)
    with raises_errno(errno.ESRCH):
        init.pidfd_open(thread.pid)
    if kernel.has("pidfd-thread"):
        with raises_errno(errno.ESRCH):
            init.pidfd_open(thread.pid, PIDFD_THREAD)


def test_pidfd_open_of_a_number_that_is_only_a_process_group_is_esrch_from_616_einval_before(
        kernel):
    # spec 8: no PIDTYPE_PID task gives ESRCH "(reaped, or the number is only a PGID/SID)"
    # from "pidfd-open-errnos" (6.16); before, pidfd_prepare's !pid_has_task(pid, PIDTYPE_TGID)
    # (PIDTYPE_PID with PIDFD_THREAD) is EINVAL, as is PIDFD_THREAD itself before 6.9 (the
    # 6.1 and 6.12 VMs).  spec 2: the number stays allocated while the group has members.
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    leader.task.exit(0)
    init.waitpid(leader.pid, 0)
    assert member.task.getpgid(0) == leader.pid
    expected = errno.ESRCH if kernel.has("pidfd-open-errnos") else errno.EINVAL
    with raises_errno(expected):
        init.pidfd_open(leader.pid)
    with raises_errno(expected):
        init.pidfd_open(leader.pid, PIDFD_THREAD)


@pytest.mark.parametrize("flags", [0, PIDFD_THREAD], ids=["process", "thread"])
def test_pidfd_open_of_a_leader_that_exited_before_its_threads_succeeds(kernel, flags):
    # spec 8 / facts 8o: "A leader that exited while other threads run can be opened".
    if flags & PIDFD_THREAD:
        needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    proc.task.spawn_thread()
    proc.task.exit(0)
    fd = init.pidfd_open(proc.pid, flags)
    assert fdinfo(init, fd)["Pid"] == str(proc.pid)


def test_pidfd_open_looks_the_number_up_in_the_callers_namespace(kernel):
    # kernel/pid.c pidfd_open: find_get_pid in the active namespace.
    init = kernel.init
    outsider = init.fork()
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    assert inner.pid == 2
    fd = ns_init.task.pidfd_open(inner.pid)
    assert fdinfo(ns_init.task, fd)["Pid"] == "2"
    assert ns_init.pid > 2 and outsider.pid != ns_init.pid
    with raises_errno(errno.ESRCH):          # that number exists only outside
        ns_init.task.pidfd_open(ns_init.pid)
    outer = init.pidfd_open(ns_init.pid)
    assert fdinfo(init, outer)["NSpid"] == f"{ns_init.pid}\t1"


# ================================================================ pidfd_send_signal

def test_pidfd_send_signal_kills_the_process_it_names(kernel):
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    init.pidfd_send_signal(fd, SIGTERM)
    assert init.waitpid(child.pid, 0) == (child.pid, SIGTERM)


def test_pidfd_send_signal_0_and_sigkill_to_a_zombie_succeed_and_change_nothing(kernel):
    # spec 8: "A zombie target returns 0" (facts 8b: sig 0 and SIGKILL on a zombie are OK).
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    init.pidfd_send_signal(fd, 0)
    child.task.exit(7)
    init.pidfd_send_signal(fd, 0)
    init.pidfd_send_signal(fd, SIGKILL)
    assert init.waitpid(child.pid, 0) == (child.pid, 0x700)


@pytest.mark.parametrize("sig", [0, SIGKILL, 65], ids=["0", "SIGKILL", "invalid_65"])
def test_pidfd_send_signal_to_a_reaped_process_is_esrch(kernel, sig):
    # kernel/signal.c kill_pid_info_type: no task gives ESRCH before group_send_sig_info
    # looks at the signal number, so even an invalid one gives ESRCH here.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ESRCH):
        init.pidfd_send_signal(fd, sig)


def test_pidfd_send_signal_rejects_unknown_or_several_scope_flags(kernel):
    # kernel/signal.c pidfd_send_signal: unknown bits, or more than one scope bit, are EINVAL.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    before = snapshot([init, child.task])
    for flags in (8, 1 << 31, PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP,
                  PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP,
                  PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_PROCESS_GROUP, 7):
        with raises_errno(errno.EINVAL):
            init.pidfd_send_signal(fd, SIGKILL, flags)
    assert snapshot([init, child.task]) == before


def test_pidfd_send_signal_checks_the_flags_before_the_descriptor(kernel):
    # kernel/signal.c pidfd_send_signal: the two flag tests come before the fd lookup.
    with raises_errno(errno.EINVAL):
        kernel.init.pidfd_send_signal(CLOSED_FD, 0, 8)


def test_pidfd_send_signal_scope_flags_are_einval_before_69_and_each_works_alone_from_69(kernel):
    # kernel/signal.c pidfd_send_signal before "pidfd-signal-scope" (6.9): "Enforce flags be
    # set to 0 until we add an extension" -- every flag is EINVAL, before the descriptor is
    # looked up (the 6.1 VM).  From 6.9 each scope flag alone reaches its target: the child
    # leads its own process group, so the PGID scope finds it too.
    init = kernel.init
    child = init.fork()
    child.task.setpgid(0, 0)
    fd = init.pidfd_open(child.pid)
    before = snapshot([init, child.task])
    for flags in (PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP):
        if kernel.has("pidfd-signal-scope"):
            init.pidfd_send_signal(fd, 0, flags)
        else:
            with raises_errno(errno.EINVAL):
                init.pidfd_send_signal(fd, 0, flags)
            with raises_errno(errno.EINVAL):
                init.pidfd_send_signal(CLOSED_FD, 0, flags)
    assert snapshot([init, child.task]) == before


def test_pidfd_send_signal_rejects_invalid_signals_to_a_live_target(kernel):
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    before = snapshot([init, child.task])
    for sig in (65, -1, 2**31 - 1):
        with raises_errno(errno.EINVAL):
            init.pidfd_send_signal(fd, sig)
    assert snapshot([init, child.task]) == before


@pytest.mark.parametrize("what", ["closed", "minus_1", "FD_PIDFS_ROOT",
                                  "socket", "proc_status_file", "proc_task_tid_dir"])
def test_pidfd_send_signal_on_a_descriptor_that_is_no_pidfd_is_ebadf(kernel, what):
    # spec 8: a bad fd or a non-pidfd gives EBADF, except a /proc/<pid> directory (facts 8f;
    # -20000, a sentinel in 6.15/6.16 only, has a scenario of its own below).
    init = kernel.init
    child = init.fork()
    thread = child.task.spawn_thread()
    fds = {
        "closed": CLOSED_FD,
        "minus_1": -1,
        "FD_PIDFS_ROOT": FD_PIDFS_ROOT,
        "socket": lambda: init.socketpair()[0],
        "proc_status_file": lambda: init.open(f"/proc/{child.pid}/status"),
        "proc_task_tid_dir": lambda: init.open(f"/proc/{child.pid}/task/{thread.pid}",
                                               O_DIRECTORY),
    }
    fd = fds[what]
    fd = fd() if callable(fd) else fd
    before = snapshot([init, child.task])
    with raises_errno(errno.EBADF):
        init.pidfd_send_signal(fd, SIGKILL)
    assert snapshot([init, child.task]) == before


def test_pidfd_send_signal_accepts_a_proc_pid_directory(kernel):
    # kernel/signal.c pidfd_to_pid -> tgid_pidfd_to_pid (facts 8f: the legacy dirfd works).
    init = kernel.init
    child = init.fork()
    fd = init.open(f"/proc/{child.pid}", O_DIRECTORY)
    init.pidfd_send_signal(fd, SIGTERM)
    assert init.waitpid(child.pid, 0) == (child.pid, SIGTERM)


@pytest.mark.parametrize("sig", [0, SIGTERM])
def test_pidfd_send_signal_to_a_process_outside_the_callers_namespace_is_einval(kernel, sig):
    # spec 8: access_pidfd_pidns fails with EINVAL (facts 8h).
    init = kernel.init
    victim = init.fork()
    fd = init.pidfd_open(victim.pid)
    ns_init = init.clone(CLONE_NEWPID)        # inherits the pidfd
    with raises_errno(errno.EINVAL):
        ns_init.task.pidfd_send_signal(fd, sig)
    assert proc_state(init, victim.pid) in "RS"


def test_pidfd_send_signal_namespace_check_comes_before_the_task_lookup(kernel):
    # kernel/signal.c: access_pidfd_pidns is tested right after the fd lookup, before
    # kill_pid_info_type finds no task: a reaped outsider still gives EINVAL, not ESRCH.
    init = kernel.init
    victim = init.fork()
    fd = init.pidfd_open(victim.pid)
    ns_init = init.clone(CLONE_NEWPID)
    victim.task.exit(0)
    init.waitpid(victim.pid, 0)
    with raises_errno(errno.EINVAL):
        ns_init.task.pidfd_send_signal(fd, 0)


def test_pidfd_send_signal_from_an_ancestor_namespace_reaches_a_nested_process(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    fd = init.pidfd_open(inner.task.numbers[0])      # its number in init's namespace
    init.pidfd_send_signal(fd, SIGTERM)
    assert ns_init.task.waitpid(inner.pid, 0) == (inner.pid, SIGTERM)


def test_pidfd_send_signal_process_group_flag_signals_every_member(kernel):
    # spec 8: PGID scope means every process whose process group is this pid (facts 8d).
    needs(kernel, "pidfd-signal-scope")
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    bystander = init.fork()
    fd = init.pidfd_open(leader.pid)
    init.pidfd_send_signal(fd, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP)
    assert init.waitpid(leader.pid, 0) == (leader.pid, SIGKILL)
    assert init.waitpid(member.pid, 0) == (member.pid, SIGKILL)   # reparented to init
    assert proc_state(init, bystander.pid) in "RS"


@pytest.mark.parametrize("which", ["not_a_group_leader", "thread_pidfd"])
def test_pidfd_send_signal_process_group_flag_without_such_a_group_is_esrch(kernel, which):
    # kernel/signal.c __kill_pgrp_info: an empty PGID list gives ESRCH (facts 8c, 8e).
    needs(kernel, "pidfd-signal-scope", *(["pidfd-thread"] if which == "thread_pidfd" else []))
    init = kernel.init
    proc = init.fork()
    if which == "thread_pidfd":
        proc.task.setpgid(0, 0)
        fd = init.pidfd_open(proc.task.spawn_thread().pid, PIDFD_THREAD)
    else:
        fd = init.pidfd_open(proc.pid)
    with raises_errno(errno.ESRCH):
        init.pidfd_send_signal(fd, SIGKILL, PIDFD_SIGNAL_PROCESS_GROUP)
    assert proc_state(init, proc.pid) in "RS"


def test_pidfd_send_signal_to_a_namespace_init_is_dropped_unless_sigkill_from_outside(kernel):
    # spec 5 "Namespace init and signals" (kernel/signal.c sig_task_ignored): an init drops
    # default-action signals unless forced, and only a sender in an ancestor namespace
    # forces them; the pidfd path is the same.  The dropped sends still return 0.
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID, pidfd=True)
    inner = ns_init.task.fork()
    fd = inner.task.pidfd_open(1)
    inner.task.pidfd_send_signal(fd, SIGKILL)
    inner.task.pidfd_send_signal(fd, SIGTERM)
    init.pidfd_send_signal(ns_init.pidfd, SIGTERM)
    assert ns_init.task.getpid() == 1
    assert init.waitpid(ns_init.pid, WNOHANG) == (0, 0)
    init.pidfd_send_signal(ns_init.pidfd, SIGKILL)
    assert init.waitpid(ns_init.pid, 0) == (ns_init.pid, SIGKILL)


@pytest.mark.parametrize("sig", [0, SIGTERM])
def test_pidfd_send_signal_without_permission_is_eperm(kernel, sig):
    # kernel/signal.c check_kill_permission: a sender whose uids match none of the
    # target's, without CAP_KILL, gets EPERM, for signal 0 too.
    init = kernel.init
    victim = init.fork()
    proc = init.fork().task
    fd = proc.pidfd_open(victim.pid)
    proc.setresuid(1000, 1000, 1000)
    before = snapshot([victim.task])
    with raises_errno(errno.EPERM):
        proc.pidfd_send_signal(fd, sig)
    assert snapshot([victim.task]) == before
    own = proc.fork()                          # born with uid 1000: allowed
    proc.pidfd_send_signal(proc.pidfd_open(own.pid), SIGTERM)
    assert proc.waitpid(own.pid, 0) == (own.pid, SIGTERM)


def test_pidfd_signal_thread_to_a_leader_that_already_exited_does_not_kill_the_group(kernel):
    # PIDTYPE_PID scope queues the signal on the exited leader thread alone:
    # kernel/signal.c complete_signal returns at once for type PIDTYPE_PID when
    # wants_signal() is false, and it is false for a PF_EXITING task.  The other
    # threads live on; the default (TGID) scope kills the group.
    needs(kernel, "pidfd-signal-scope")
    init = kernel.init
    proc = init.fork()
    worker = proc.task.spawn_thread()
    proc.task.exit(0)
    fd = init.pidfd_open(proc.pid)
    init.pidfd_send_signal(fd, SIGKILL, PIDFD_SIGNAL_THREAD)
    assert worker.task.gettid() == worker.pid
    assert init.waitpid(proc.pid, WNOHANG) == (0, 0)
    init.pidfd_send_signal(fd, SIGKILL)
    assert init.waitpid(proc.pid, 0) == (proc.pid, SIGKILL)


def test_pidfd_thread_pidfd_defaults_to_the_thread_scope(kernel):
    # spec 8: the default scope is PIDTYPE_PID for a PIDFD_THREAD fd ("pidfd-thread-signal",
    # 6.9).  On the exited leader (see the test above) that scope cannot kill the group;
    # THREAD_GROUP can.
    needs(kernel, "pidfd-thread-signal", "pidfd-signal-scope")
    init = kernel.init
    proc = init.fork()
    worker = proc.task.spawn_thread()
    proc.task.exit(0)
    fd = init.pidfd_open(proc.pid, PIDFD_THREAD)
    init.pidfd_send_signal(fd, SIGKILL)
    assert worker.task.gettid() == worker.pid
    init.pidfd_send_signal(fd, SIGKILL, PIDFD_SIGNAL_THREAD_GROUP)
    assert init.waitpid(proc.pid, 0) == (proc.pid, SIGKILL)


def test_pidfd_send_signal_through_a_thread_pidfd_of_an_exited_thread_is_esrch(kernel):
    needs(kernel, "pidfd-thread", "pidfd-signal-scope")
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    fd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    thread.task.exit(0)
    with raises_errno(errno.ESRCH):
        init.pidfd_send_signal(fd, 0)
    with raises_errno(errno.ESRCH):
        init.pidfd_send_signal(fd, 0, PIDFD_SIGNAL_THREAD_GROUP)


# ---------------------------------------------------------------- PIDFD_SELF_*

def test_pidfd_self_values_are_ebadf_before_615_and_the_group_one_is_minus_20000_until_617(
        kernel):
    # kernel/signal.c pidfd_send_signal: "pidfd-self" (6.15) switches on PIDFD_SELF_THREAD
    # (-10000) and PIDFD_SELF_THREAD_GROUP (-20000 in the 6.15/6.16 uapi pidfd.h) before any
    # fd lookup; "pidfd-self-value" (6.17) redefined the group one as -10001, so -20000 is an
    # ordinary bad descriptor again.  Before 6.15 every one is a negative fd: EBADF (the 6.1
    # and 6.12 VMs; the 6.18 host takes -10000 and -10001 and refuses -20000).
    proc = kernel.init.fork().task
    if not kernel.has("pidfd-self"):
        sentinels = set()
    elif kernel.has("pidfd-self-value"):
        sentinels = {-10000, -10001}
    else:
        sentinels = {-10000, -20000}
    for value in (-10000, -10001, -20000):
        if value in sentinels:
            proc.pidfd_send_signal(value, 0)
        else:
            with raises_errno(errno.EBADF):
                proc.pidfd_send_signal(value, 0)


@pytest.mark.parametrize("which", ["SELF_THREAD", "SELF_THREAD_GROUP"])
def test_pidfd_self_sentinels_name_the_caller(kernel, which):
    needs(kernel, "pidfd-self")
    sentinel = PIDFD_SELF_THREAD if which == "SELF_THREAD" else self_thread_group(kernel)
    proc = kernel.init.fork()
    proc.task.pidfd_send_signal(sentinel, 0)
    proc.task.sigaction(SIGUSR1, SIG_CATCH)
    proc.task.pidfd_send_signal(sentinel, SIGUSR1)
    assert proc.task.getpid() == proc.pid


def test_pidfd_self_thread_names_the_calling_thread_and_self_thread_group_its_process(kernel):
    # kernel/signal.c pidfd_send_signal: PIDFD_SELF_THREAD takes current's PIDTYPE_PID
    # pid, PIDFD_SELF_THREAD_GROUP its PIDTYPE_TGID pid.  With PROCESS_GROUP scope
    # that pid must be a process group: the process's is (setpgid), a thread's is not.
    needs(kernel, "pidfd-self")
    init = kernel.init
    proc = init.fork()
    proc.task.setpgid(0, 0)
    thread = proc.task.spawn_thread().task
    thread.pidfd_send_signal(self_thread_group(kernel), 0, PIDFD_SIGNAL_PROCESS_GROUP)
    with raises_errno(errno.ESRCH):
        thread.pidfd_send_signal(PIDFD_SELF_THREAD, 0, PIDFD_SIGNAL_PROCESS_GROUP)
    proc.task.pidfd_send_signal(PIDFD_SELF_THREAD, 0, PIDFD_SIGNAL_PROCESS_GROUP)


def test_pidfd_self_thread_group_with_a_fatal_default_action_kills_the_caller(kernel):
    needs(kernel, "pidfd-self")
    init = kernel.init
    proc = init.fork()
    proc.task.pidfd_send_signal(self_thread_group(kernel), SIGTERM)
    assert init.waitpid(proc.pid, 0) == (proc.pid, SIGTERM)


def test_pidfd_self_sentinels_skip_the_namespace_check(kernel):
    # The sentinels never go through access_pidfd_pidns: a namespace init can use them.
    needs(kernel, "pidfd-self")
    ns_init = kernel.init.clone(CLONE_NEWPID)
    ns_init.task.pidfd_send_signal(self_thread_group(kernel), 0)
    ns_init.task.pidfd_send_signal(PIDFD_SELF_THREAD, 0)


# ================================================================ thread pidfds

def test_thread_pidfd_fdinfo_shows_the_tid_and_minus_1_once_the_thread_is_gone(kernel):
    # facts 5e; spec 7 fdinfo: -1 when no task is attached as PIDTYPE_PID.
    needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    fd = init.pidfd_open(thread.pid, PIDFD_THREAD)
    assert (fdinfo(init, fd)["Pid"], fdinfo(init, fd)["NSpid"]) == (str(thread.pid), str(thread.pid))
    thread.task.exit(0)
    assert (fdinfo(init, fd)["Pid"], fdinfo(init, fd)["NSpid"]) == ("-1", "-1")


def test_clone_pidfd_of_a_thread_is_a_thread_pidfd(kernel):
    # spec 8 CLONE_PIDFD: PIDFD_THREAD is added when CLONE_THREAD is set.
    needs(kernel, "clone-pidfd-thread")
    proc = kernel.init.fork()
    t = proc.task.clone(THREAD_FLAGS, exit_signal=0, pidfd=True)
    assert proc.task.fcntl(t.pidfd, F_GETFL) & O_EXCL
    assert fdinfo(proc.task, t.pidfd)["Pid"] == str(t.pid)
    assert proc.task.fcntl(t.pidfd, F_GETFD) == FD_CLOEXEC


def test_clone_pidfd_with_clone_thread_is_einval_before_69(kernel):
    # kernel/fork.c copy_process before "clone-pidfd-thread" (6.9): "CLONE_THREAD is blocked
    # until someone really needs it" -- EINVAL before anything is allocated (the 6.1 VM);
    # from 6.9 the new thread comes with a pidfd.
    proc = kernel.init.fork().task
    if kernel.has("clone-pidfd-thread"):
        t = proc.clone(THREAD_FLAGS, exit_signal=0, pidfd=True)
        assert fdinfo(proc, t.pidfd)["Pid"] == str(t.pid)
        return
    before = snapshot([proc]), lowest_free_fd(proc)
    with raises_errno(errno.EINVAL):
        proc.clone(THREAD_FLAGS, exit_signal=0, pidfd=True)
    assert (snapshot([proc]), lowest_free_fd(proc)) == before


# ================================================================ a closed pidfd

CLOSED_PIDFD_CALLS = [
    ("pidfd_send_signal", lambda t, fd: t.pidfd_send_signal(fd, 0), errno.EBADF),
    ("pidfd_getfd", lambda t, fd: t.pidfd_getfd(fd, 0), errno.EBADF),
    ("pidfd_get_info", lambda t, fd: t.pidfd_get_info(fd), errno.EBADF),
    ("waitid", lambda t, fd: t.waitid(P_PIDFD, fd, WEXITED), errno.EBADF),
    ("setns", lambda t, fd: t.setns(fd, CLONE_NEWPID), errno.EBADF),
    ("fstat", lambda t, fd: t.fstat(fd), errno.EBADF),
    ("fcntl", lambda t, fd: t.fcntl(fd, F_GETFL), errno.EBADF),
    ("close", lambda t, fd: t.close(fd), errno.EBADF),
    ("dup", lambda t, fd: t.dup(fd), errno.EBADF),
    ("name_to_handle_at", lambda t, fd: t.name_to_handle_at(fd, "", pidlab.AT_EMPTY_PATH),
     errno.EBADF),
    ("fgetxattr", lambda t, fd: t.fgetxattr(fd, "trusted.a"), errno.EBADF),
    ("fdinfo", lambda t, fd: t.read_text(f"/proc/self/fdinfo/{fd}"), errno.ENOENT),
]


@pytest.mark.parametrize("name, call, err", CLOSED_PIDFD_CALLS, ids=[c[0] for c in CLOSED_PIDFD_CALLS])
def test_a_closed_pidfd_is_gone_for_every_call(kernel, name, call, err):
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    init.close(fd)
    before = snapshot([init, child.task]), lowest_free_fd(init)
    with raises_errno(err):
        call(init, fd)
    assert (snapshot([init, child.task]), lowest_free_fd(init)) == before
    assert init.poll([fd]) == {fd: POLLNVAL}


# ================================================================ poll

def test_poll_pidfd_is_empty_while_alive_pollin_when_exited_and_pollhup_too_when_reaped_from_69(
        kernel):
    # fs/pidfs.c pidfd_poll (facts 8n: none, 0x41, 0x51); kernel/fork.c pidfd_poll before
    # "pidfd-poll-hup" (6.9) reports a reaped process as readable only (the 6.1 VM: 0x41).
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    assert poll1(init, fd) == 0
    child.task.exit(0)
    assert poll1(init, fd) == READABLE
    init.waitpid(child.pid, 0)
    assert poll1(init, fd) == reaped(kernel)


def test_poll_a_stopped_process_is_not_readable(kernel):
    # fs/pidfs.c pidfd_poll looks at exit_state only.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    init.pidfd_send_signal(fd, SIGSTOP)
    assert init.waitid(P_PIDFD, fd, WSTOPPED | WNOHANG) is not None
    assert poll1(init, fd) == 0
    init.pidfd_send_signal(fd, SIGKILL)
    assert poll1(init, fd) == READABLE


@pytest.mark.parametrize("events, zombie, after_reap", [
    (POLLIN, POLLIN, POLLIN),
    (POLLOUT, 0, 0),
    (POLLHUP, 0, 0),
], ids=["POLLIN", "POLLOUT", "POLLHUP"])
def test_poll_masks_revents_with_the_requested_events_but_reports_pollhup_unasked_from_69(
        kernel, events, zombie, after_reap):
    # fs/select.c do_pollfd: revents &= events | EPOLLERR | EPOLLHUP, so the POLLHUP of a
    # reaped process ("pidfd-poll-hup", 6.9) shows whatever was asked; before 6.9 there is
    # none to show (the 6.1 VM).
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    child.task.exit(0)
    assert poll1(init, fd, events) == zombie
    init.waitpid(child.pid, 0)
    hup = POLLHUP if kernel.has("pidfd-poll-hup") else 0
    assert poll1(init, fd, events) == after_reap | hup


def test_poll_a_closed_descriptor_is_pollnval_and_a_negative_one_is_ignored(kernel):
    # fs/select.c do_pollfd: a negative fd gives revents 0, a closed one POLLNVAL.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    child.task.exit(0)
    assert init.poll([fd, CLOSED_FD, -1]) == {fd: READABLE, CLOSED_FD: POLLNVAL, -1: 0}


def test_poll_a_leader_that_exited_first_is_not_readable_until_the_group_is_empty(kernel):
    # spec 8 poll: the process pidfd of a delayed group leader stays 0 (facts 8o); 6.1's
    # thread_group_exited and 6.9's thread_group_empty() say the same.
    init = kernel.init
    proc = init.fork()
    worker = proc.task.spawn_thread()
    fd = init.pidfd_open(proc.pid)
    proc.task.exit(0)
    assert poll1(init, fd) == 0
    worker.task.exit(0)
    assert poll1(init, fd) == READABLE
    init.waitpid(proc.pid, 0)
    assert poll1(init, fd) == reaped(kernel)


def test_poll_thread_pidfd_of_a_leader_that_exited_first_waits_for_the_group_from_615(kernel):
    # fs/pidfs.c pidfd_poll: from "pidfs-thread-leader" (6.15; in 6.12.31 and 6.14.9, so the
    # 6.12.117 VM) `task->exit_state && !delay_group_leader(task)`: the leader's thread pidfd
    # too stays 0 until the group is empty.  6.9-6.14.8 test `thread || thread_group_empty`:
    # the leader's thread pidfd is readable as soon as the leader is a zombie.  A non-leader's
    # thread pidfd hangs up at its exit (it is released at once).
    needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    worker = proc.task.spawn_thread()
    fd_leader = init.pidfd_open(proc.pid, PIDFD_THREAD)
    fd_worker = init.pidfd_open(worker.pid, PIDFD_THREAD)
    proc.task.exit(0)
    early = 0 if kernel.has("pidfs-thread-leader") else READABLE
    assert init.poll([fd_leader, fd_worker]) == {fd_leader: early, fd_worker: 0}
    worker.task.exit(0)
    assert init.poll([fd_leader, fd_worker]) == {fd_leader: READABLE, fd_worker: REAPED}
    init.waitpid(proc.pid, 0)
    assert init.poll([fd_leader, fd_worker]) == {fd_leader: REAPED, fd_worker: REAPED}


@pytest.mark.parametrize("leader_exits_first", [False, True], ids=["leader_alive", "leader_exited"])
def test_poll_exec_by_a_non_leader_thread_hangs_up_only_its_old_tid(kernel, leader_exits_first):
    # spec 12 de_thread: the execing thread takes the leader's struct pid; the old leader
    # is released under the thread's old TID, whose thread pidfd becomes POLLIN|POLLHUP.
    needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    worker = proc.task.spawn_thread()
    fd_proc = init.pidfd_open(proc.pid)
    fd_leader = init.pidfd_open(proc.pid, PIDFD_THREAD)
    fd_old_tid = init.pidfd_open(worker.pid, PIDFD_THREAD)
    if leader_exits_first:
        proc.task.exit(0)
    worker.task.execve()
    assert init.poll([fd_proc, fd_leader, fd_old_tid]) == {fd_proc: 0, fd_leader: 0, fd_old_tid: REAPED}
    assert fdinfo(init, fd_proc)["Pid"] == str(proc.pid)
    assert fdinfo(init, fd_old_tid)["Pid"] == "-1"
    assert worker.task.getpid() == proc.pid
    worker.task.exit(0)
    assert init.poll([fd_proc, fd_leader]) == {fd_proc: READABLE, fd_leader: READABLE}


# ================================================================ waitid(P_PIDFD)

def test_waitid_p_pidfd_reports_the_child_in_the_callers_namespace(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.clone(pidfd=True)
    inner.task.exit(4)
    assert ns_init.task.waitid(P_PIDFD, inner.pidfd, WEXITED) == \
        WaitidResult(inner.pid, 0, SIGCHLD, 4, CLD_EXITED)


def test_waitid_p_pidfd_with_a_negative_descriptor_is_einval(kernel):
    # kernel/exit.c kernel_waitid_prepare: P_PIDFD with upid < 0 is EINVAL (sentinels too).
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    for fd in (-1, PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, PIDFD_SELF_THREAD_GROUP_615,
               -(2**31)):
        with raises_errno(errno.EINVAL):
            init.waitid(P_PIDFD, fd, WEXITED | WNOHANG)
    assert init.waitpid(child.pid, WNOHANG) == (child.pid, 0)


@pytest.mark.parametrize("what", ["closed", "socket", "proc_dir"])
def test_waitid_p_pidfd_with_a_descriptor_that_is_no_pidfd_is_ebadf(kernel, what):
    # kernel/exit.c: pidfd_get_pid accepts pidfs files only (/proc dirs too are EBADF).
    init = kernel.init
    child = init.fork()
    fd = {"closed": lambda: CLOSED_FD, "socket": lambda: init.socketpair()[0],
          "proc_dir": lambda: init.open(f"/proc/{child.pid}", O_DIRECTORY)}[what]()
    child.task.exit(0)
    with raises_errno(errno.EBADF):
        init.waitid(P_PIDFD, fd, WEXITED | WNOHANG)
    assert init.waitpid(child.pid, WNOHANG) == (child.pid, 0)      # still waitable


def test_waitid_checks_options_before_the_pidfd(kernel):
    # kernel/exit.c kernel_waitid_prepare: the option tests come before the idtype switch.
    with raises_errno(errno.EINVAL):
        kernel.init.waitid(P_PIDFD, CLOSED_FD, 0)
    with raises_errno(errno.EINVAL):
        kernel.init.waitid(P_PIDFD, CLOSED_FD, WEXITED | 0x100)


@pytest.mark.parametrize("target", ["self", "grandchild", "sibling", "own_thread", "childs_thread"])
def test_waitid_p_pidfd_of_a_task_that_is_no_waitable_child_is_echild(kernel, target):
    # spec 8: not a waitable child gives ECHILD, thread pidfds too (facts 8m).
    if target in ("own_thread", "childs_thread"):
        needs(kernel, "pidfd-thread")
    init = kernel.init
    proc = init.fork()
    me = proc.task
    child = me.fork()
    if target == "self":
        fd = me.pidfd_open(proc.pid)
    elif target == "grandchild":
        fd = me.pidfd_open(child.task.fork().pid)
    elif target == "sibling":
        fd = me.pidfd_open(init.fork().pid)
    elif target == "own_thread":
        fd = me.pidfd_open(me.spawn_thread().pid, PIDFD_THREAD)
    else:
        fd = me.pidfd_open(child.task.spawn_thread().pid, PIDFD_THREAD)
    with raises_errno(errno.ECHILD):
        me.waitid(P_PIDFD, fd, WEXITED | WNOHANG)


def test_waitid_p_pidfd_after_the_child_was_reaped_is_echild(kernel):
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.exit(0)
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ECHILD):
        init.waitid(P_PIDFD, child.pidfd, WEXITED)
    nonblock = init.fcntl(child.pidfd, F_SETFL, O_NONBLOCK)
    assert nonblock == 0
    with raises_errno(errno.ECHILD):          # facts 8k: NONBLOCK pidfd after reap
        init.waitid(P_PIDFD, child.pidfd, WEXITED)


def test_waitid_p_pidfd_wnowait_leaves_the_child_waitable(kernel):
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.exit(2)
    expected = WaitidResult(child.pid, 0, SIGCHLD, 2, CLD_EXITED)
    assert init.waitid(P_PIDFD, child.pidfd, WEXITED | WNOWAIT) == expected
    assert init.waitid(P_PIDFD, child.pidfd, WEXITED) == expected
    with raises_errno(errno.ECHILD):
        init.waitid(P_PIDFD, child.pidfd, WEXITED | WNOHANG)


def test_waitid_through_a_thread_pidfd_of_the_leader_reaps_the_process(kernel):
    # kernel/exit.c: P_PIDFD waits for PIDTYPE_PID of the pidfd's pid; on a leader
    # that is the process itself, whatever PIDFD_THREAD says.
    needs(kernel, "pidfd-thread")
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid, PIDFD_THREAD)
    child.task.exit(6)
    assert init.waitid(P_PIDFD, fd, WEXITED) == WaitidResult(child.pid, 0, SIGCHLD, 6, CLD_EXITED)


def test_waitid_p_pidfd_waits_for_the_whole_group_when_the_leader_exited_first(kernel):
    # kernel/exit.c wait_consider_task: a delayed group leader is not reaped.
    init = kernel.init
    proc = init.clone(pidfd=True)
    worker = proc.task.spawn_thread()
    proc.task.exit(0)
    assert init.waitid(P_PIDFD, proc.pidfd, WEXITED | WNOHANG) is None
    worker.task.exit(0)
    res = init.waitid(P_PIDFD, proc.pidfd, WEXITED)
    assert (res.si_pid, res.si_code) == (proc.pid, CLD_EXITED)


def test_waitid_on_a_nonblocking_pidfd_with_nothing_ready_is_eagain_or_none_with_wnohang(kernel):
    # spec 8: O_NONBLOCK implies WNOHANG; without an explicit WNOHANG the result is EAGAIN.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid, PIDFD_NONBLOCK)
    before = snapshot([init, child.task])
    with raises_errno(errno.EAGAIN):
        init.waitid(P_PIDFD, fd, WEXITED)
    assert init.waitid(P_PIDFD, fd, WEXITED | WNOHANG) is None
    assert snapshot([init, child.task]) == before


def test_waitid_on_a_blocking_pidfd_with_nothing_ready_would_block(kernel):
    init = kernel.init
    child = init.clone(pidfd=True)
    with pytest.raises(pidlab.WouldBlock):
        init.waitid(P_PIDFD, child.pidfd, WEXITED)
    assert init.waitid(P_PIDFD, child.pidfd, WEXITED | WNOHANG) is None


# ================================================================ pidfd_getfd

def _getfd_pair(kernel):
    """A process (the caller) and its child holding a pidfd on itself (the remote fd)."""
    caller = kernel.init.fork().task
    child = caller.fork()
    remote = child.task.pidfd_open(child.task.getpid())
    pidfd = caller.pidfd_open(child.pid)
    return caller, child, pidfd, remote


def test_pidfd_getfd_duplicates_the_same_open_file_close_on_exec(kernel):
    caller, child, pidfd, remote = _getfd_pair(kernel)
    fd = caller.pidfd_getfd(pidfd, remote)
    assert fd != pidfd
    assert caller.fcntl(fd, F_GETFD) == FD_CLOEXEC              # spec 8: always O_CLOEXEC
    assert caller.fstat(fd).st_ino == child.task.fstat(remote).st_ino
    # One struct file: the file status flags are shared (fs/fcntl.c setfl on f_flags).
    caller.fcntl(fd, F_SETFL, O_NONBLOCK)
    assert child.task.fcntl(remote, F_GETFL) & O_NONBLOCK
    assert fdinfo(caller, fd)["Pid"] == str(child.pid)


def test_pidfd_getfd_rejects_any_flag_before_looking_at_the_descriptors(kernel):
    caller, child, pidfd, remote = _getfd_pair(kernel)
    before = lowest_free_fd(caller)
    for flags in (1, 1 << 31, O_CLOEXEC):
        with raises_errno(errno.EINVAL):
            caller.pidfd_getfd(pidfd, remote, flags)
        with raises_errno(errno.EINVAL):
            caller.pidfd_getfd(CLOSED_FD, CLOSED_FD, flags)
    assert lowest_free_fd(caller) == before


@pytest.mark.parametrize("what", ["closed", "negative", "SELF_THREAD", "SELF_THREAD_GROUP",
                                  "socket", "proc_dir"])
def test_pidfd_getfd_with_a_descriptor_that_is_no_pidfd_is_ebadf(kernel, what):
    # kernel/pid.c pidfd_getfd: pidfd_pid() only; sentinels and /proc dirs are EBADF.
    caller, child, pidfd, remote = _getfd_pair(kernel)
    fd = {"closed": lambda: CLOSED_FD, "negative": lambda: -1,
          "SELF_THREAD": lambda: PIDFD_SELF_THREAD,
          "SELF_THREAD_GROUP": lambda: self_thread_group(kernel),
          "socket": lambda: caller.socketpair()[0],
          "proc_dir": lambda: caller.open(f"/proc/{child.pid}", O_DIRECTORY)}[what]()
    before = lowest_free_fd(caller)
    with raises_errno(errno.EBADF):
        caller.pidfd_getfd(fd, remote)
    assert lowest_free_fd(caller) == before


def test_pidfd_getfd_of_a_descriptor_the_target_does_not_have_is_ebadf(kernel):
    caller, child, pidfd, remote = _getfd_pair(kernel)
    for targetfd in (111, -1, 2**31 - 1):
        with raises_errno(errno.EBADF):
            caller.pidfd_getfd(pidfd, targetfd)


@pytest.mark.parametrize("state", ["zombie", "reaped"])
def test_pidfd_getfd_from_a_dead_process_is_esrch_a_zombie_ebadf_before_the_exiting_fixes(
        kernel, state):
    # kernel/pid.c: no task gives ESRCH on every version; a zombie, PF_EXITING and without
    # files, gives ESRCH instead of fget_task's EBADF from "pidfd-getfd-esrch" (6.9) or
    # "pidfd-getfd-exiting" (7.1, in 6.1.176: the 6.1.192 VM answers ESRCH).
    caller, child, pidfd, remote = _getfd_pair(kernel)
    child.task.exit(0)
    if state == "reaped":
        caller.waitpid(child.pid, 0)
    with raises_errno(getfd_exiting_errno(kernel) if state == "zombie" else errno.ESRCH):
        caller.pidfd_getfd(pidfd, remote)


def test_pidfd_getfd_through_a_process_pidfd_whose_leader_exited_fails_as_for_a_zombie(kernel):
    # kernel/pid.c pidfd_getfd takes the PIDTYPE_PID task: the exited leader, whose
    # files are gone, so __pidfd_fget fails as for a zombie (ESRCH, or EBADF before the
    # exiting fixes) although the other thread still holds the table; the thread's own
    # pidfd (6.9) reaches it.
    caller = kernel.init.fork().task
    child = caller.fork()
    remote = child.task.pidfd_open(child.task.getpid())
    worker = child.task.spawn_thread()
    pidfd = caller.pidfd_open(child.pid)
    child.task.exit(0)
    with raises_errno(getfd_exiting_errno(kernel)):
        caller.pidfd_getfd(pidfd, remote)
    if kernel.has("pidfd-thread"):
        tfd = caller.pidfd_open(worker.pid, PIDFD_THREAD)
        fd = caller.pidfd_getfd(tfd, remote)
        assert caller.fstat(fd).st_ino == caller.fstat(pidfd).st_ino


def test_pidfd_getfd_needs_cap_sys_ptrace_for_a_non_dumpable_target(kernel):
    # spec 8: ptrace_may_access(ATTACH_REALCREDS); __ptrace_may_access refuses a
    # non-dumpable mm to a caller without CAP_SYS_PTRACE, even with the same uids.
    # (Both drop CAP_SYS_PTRACE so that commoncap's subset rule, tested below, passes.)
    caller, child, pidfd, remote = _getfd_pair(kernel)
    caller.capset(caller.capget() - {CAP_SYS_PTRACE})
    child.task.capset(child.task.capget() - {CAP_SYS_PTRACE})
    assert caller.fstat(caller.pidfd_getfd(pidfd, remote)).st_ino   # dumpable: allowed
    child.task.prctl(PR_SET_DUMPABLE, 0)
    before = lowest_free_fd(caller), snapshot([caller, child.task])
    with raises_errno(errno.EPERM):
        caller.pidfd_getfd(pidfd, remote)
    assert (lowest_free_fd(caller), snapshot([caller, child.task])) == before


def test_pidfd_getfd_needs_the_targets_permitted_capabilities_or_cap_sys_ptrace(kernel):
    # security/commoncap.c cap_ptrace_access_check (the LSM hook that ends
    # __ptrace_may_access): with REALCREDS the target's permitted set must be a subset
    # of the caller's permitted set, unless the caller has CAP_SYS_PTRACE.  Same uids
    # and a dumpable target are not enough.
    caller, child, pidfd, remote = _getfd_pair(kernel)
    caller.capset(caller.capget() - {CAP_SYS_PTRACE})       # the child keeps it
    before = lowest_free_fd(caller)
    with raises_errno(errno.EPERM):
        caller.pidfd_getfd(pidfd, remote)
    assert lowest_free_fd(caller) == before
    child.task.capset(child.task.capget() - {CAP_SYS_PTRACE})
    caller.pidfd_getfd(pidfd, remote)


def test_pidfd_getfd_needs_cap_sys_ptrace_for_a_target_with_other_uids(kernel):
    caller, child, pidfd, remote = _getfd_pair(kernel)
    child.task.setresuid(1000, 1000, 1000)
    child.task.prctl(PR_SET_DUMPABLE, 1)
    caller.pidfd_getfd(pidfd, remote)                  # CAP_SYS_PTRACE overrides the uids
    caller.capset(caller.capget() - {CAP_SYS_PTRACE})
    with raises_errno(errno.EPERM):
        caller.pidfd_getfd(pidfd, remote)


def test_pidfd_getfd_from_the_callers_own_process_is_always_allowed(kernel):
    # __ptrace_may_access: same thread group passes before any credential test.
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.getpid())
    proc.prctl(PR_SET_DUMPABLE, 0)
    proc.capset(proc.capget() - {CAP_SYS_PTRACE})
    new = proc.pidfd_getfd(fd, fd)
    assert proc.fstat(new).st_ino == proc.fstat(fd).st_ino


# ================================================================ setns through a pidfd

@pytest.mark.parametrize("flags", [0, -1, CLONE_VM, CLONE_NEWUSER | CLONE_VM, CLONE_PIDFD],
                         ids=["0", "-1", "CLONE_VM", "NEWUSER|VM", "CLONE_PIDFD"])
def test_setns_pidfd_needs_clone_new_flags_only(kernel, flags):
    # kernel/nsproxy.c check_setns_flags: 0 or any non-CLONE_NEW* bit is EINVAL.
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.getpid())
    before = snapshot([proc]), proc.read_text("/proc/self/ns/pid_for_children")
    with raises_errno(errno.EINVAL):
        proc.setns(fd, flags)
    assert (snapshot([proc]), proc.read_text("/proc/self/ns/pid_for_children")) == before


def test_setns_pidfd_newpid_changes_only_pid_for_children(kernel):
    # spec 5 setns: only pid_for_children changes; the next child is born there,
    # numbered at every level from there up, and sees getppid() == 0.
    init = kernel.init
    proc = init.fork().task
    ns_init = proc.clone(CLONE_NEWPID, pidfd=True)
    own = proc.read_text("/proc/self/ns/pid")
    target = proc.read_text(f"/proc/{ns_init.pid}/ns/pid")
    assert own != target
    proc.setns(ns_init.pidfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid") == own
    assert proc.read_text("/proc/self/ns/pid_for_children") == target
    child = proc.fork()
    assert child.task.getpid() == 2 and child.task.getppid() == 0
    assert child.task.read_text("/proc/self/ns/pid") == target
    assert proc.waitpid(child.pid, WNOHANG) == (0, 0)          # still our child


def test_setns_pidfd_of_our_own_process_is_allowed_and_changes_nothing(kernel):
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.getpid())
    before = proc.read_text("/proc/self/ns/pid_for_children")
    proc.setns(fd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid_for_children") == before


@pytest.mark.parametrize("relation", ["ancestor", "sibling"])
def test_setns_pidfd_into_a_namespace_that_is_not_below_ours_is_einval(kernel, relation):
    # kernel/pid_namespace.c pidns_install: only the active namespace or a descendant.
    init = kernel.init
    outer = init.fork()
    fd = init.pidfd_open(outer.pid)
    a = init.clone(CLONE_NEWPID)
    if relation == "sibling":
        b = init.clone(CLONE_NEWPID)
        fd = init.pidfd_open(b.pid)
        a = init.clone(CLONE_NEWPID)        # born after the pidfd: inherits it
    before = a.task.read_text("/proc/self/ns/pid_for_children")
    with raises_errno(errno.EINVAL):
        a.task.setns(fd, CLONE_NEWPID)
    assert a.task.read_text("/proc/self/ns/pid_for_children") == before


def test_setns_pidfd_without_cap_sys_admin_is_eperm(kernel):
    proc = kernel.init.fork().task
    ns_init = proc.clone(CLONE_NEWPID, pidfd=True)
    proc.capset(proc.capget() - {CAP_SYS_ADMIN})
    before = proc.read_text("/proc/self/ns/pid_for_children")
    with raises_errno(errno.EPERM):
        proc.setns(ns_init.pidfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid_for_children") == before


def test_setns_pidfd_needs_ptrace_read_access_to_the_target(kernel):
    # kernel/nsproxy.c validate_nsset: ptrace_may_access(PTRACE_MODE_READ_REALCREDS) or
    # EPERM.  security/commoncap.c cap_ptrace_access_check wants the target's permitted
    # set inside the caller's, or CAP_SYS_PTRACE: a caller that dropped CAP_SYS_PTRACE
    # (but kept CAP_SYS_ADMIN) cannot join a target that still has it.
    proc = kernel.init.fork().task
    ns_init = proc.clone(CLONE_NEWPID, pidfd=True)
    proc.capset(proc.capget() - {CAP_SYS_PTRACE})
    before = proc.read_text("/proc/self/ns/pid_for_children")
    with raises_errno(errno.EPERM):
        proc.setns(ns_init.pidfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid_for_children") == before
    ns_init.task.capset(ns_init.task.capget() - {CAP_SYS_PTRACE})
    proc.setns(ns_init.pidfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid_for_children") == \
        proc.read_text(f"/proc/{ns_init.pid}/ns/pid")


@pytest.mark.parametrize("state", ["zombie", "reaped"])
def test_setns_pidfd_of_a_dead_process_is_esrch(kernel, state):
    # kernel/nsproxy.c validate_nsset: no task, or no nsproxy (a zombie), gives ESRCH.
    proc = kernel.init.fork().task
    ns_init = proc.clone(CLONE_NEWPID, pidfd=True)
    ns_init.task.exit(0)
    if state == "reaped":
        proc.waitpid(ns_init.pid, 0)
    before = snapshot([proc]), proc.read_text("/proc/self/ns/pid_for_children")
    with raises_errno(errno.ESRCH):
        proc.setns(ns_init.pidfd, CLONE_NEWPID)
    assert (snapshot([proc]), proc.read_text("/proc/self/ns/pid_for_children")) == before


@pytest.mark.parametrize("what, err", [("closed", errno.EBADF), ("socket", errno.EINVAL),
                                       ("proc_status", errno.EINVAL), ("proc_dir", errno.EINVAL)])
def test_setns_with_a_descriptor_that_is_neither_a_namespace_nor_a_pidfd(kernel, what, err):
    # kernel/nsproxy.c setns: EBADF for no file; EINVAL for a file of another kind.
    proc = kernel.init.fork().task
    fd = {"closed": lambda: CLOSED_FD, "socket": lambda: proc.socketpair()[0],
          "proc_status": lambda: proc.open("/proc/self/status"),
          "proc_dir": lambda: proc.open("/proc/self", O_DIRECTORY)}[what]()
    with raises_errno(err):
        proc.setns(fd, CLONE_NEWPID)


# ================================================================ fdinfo

def test_fdinfo_of_a_pidfd_lists_pos_flags_ino_pid_and_nspid(kernel):
    # spec 7 fdinfo: pos/flags/mnt_id/ino first, then Pid and NSpid.
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    info = fdinfo(init, fd)
    assert list(info)[:4] == ["pos", "flags", "mnt_id", "ino"]
    assert list(info)[-2:] == ["Pid", "NSpid"]
    assert info["pos"] == "0"
    assert int(info["ino"]) == init.fstat(fd).st_ino
    assert (info["Pid"], info["NSpid"]) == (str(child.pid), str(child.pid))
    # mnt_id names the one pidfs mount: equal for every pidfd (differences.py "mnt-id").
    assert fdinfo(init, init.pidfd_open(1))["mnt_id"] == info["mnt_id"]


def test_fdinfo_nspid_lists_the_deeper_levels_below_the_readers_namespace(kernel):
    init = kernel.init
    a = init.clone(CLONE_NEWPID)
    b = a.task.clone(CLONE_NEWPID)
    c = b.task.fork()
    fd = b.task.pidfd_open(c.pid)          # inherited by nobody: read by b
    assert fdinfo(b.task, fd)["NSpid"] == str(c.pid)
    fd_a = a.task.pidfd_open(b.pid)
    assert (fdinfo(a.task, fd_a)["Pid"], fdinfo(a.task, fd_a)["NSpid"]) == (str(b.pid), f"{b.pid}\t1")
    fd_top = init.pidfd_open(a.pid)
    assert fdinfo(init, fd_top)["NSpid"] == f"{a.pid}\t1"


def test_fdinfo_of_a_pidfd_for_a_process_outside_the_readers_namespace_shows_0(kernel):
    # spec 7: 0 when not visible, and NSpid then shows only 0 (facts 5h).
    init = kernel.init
    fd = init.pidfd_open(init.fork().pid)
    ns_init = init.clone(CLONE_NEWPID)
    info = fdinfo(ns_init.task, fd)
    assert (info["Pid"], info["NSpid"]) == ("0", "0")


def test_fdinfo_numbers_follow_the_reader_not_the_owner_of_the_descriptor(kernel):
    # spec 7: n is the pid in the namespace of the /proc being read (here: the reader's).
    init = kernel.init
    victim = init.fork()
    fd = init.pidfd_open(victim.pid)
    ns_init = init.clone(CLONE_NEWPID)             # holds the same pidfd
    assert fdinfo(ns_init.task, fd)["Pid"] == "0"
    assert fdinfo(init, fd, pid=ns_init.pid)["Pid"] == str(victim.pid)


def test_pidfd_of_a_recycled_number_still_names_the_old_process(kernel):
    # spec 4: a pidfd pins the struct pid; a new process with the same number is another.
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID).task
    ns_init.write_text(NS_LAST_PID_PATH, "99")
    old = ns_init.clone(pidfd=True)
    old.task.exit(0)
    ns_init.waitpid(old.pid, 0)
    ns_init.write_text(NS_LAST_PID_PATH, "99")
    new = ns_init.clone(pidfd=True)
    assert new.pid == old.pid == 100
    assert poll1(ns_init, old.pidfd) == reaped(kernel) and poll1(ns_init, new.pidfd) == 0
    assert fdinfo(ns_init, old.pidfd)["Pid"] == "-1"
    assert fdinfo(ns_init, ns_init.pidfd_open(100))["Pid"] == "100"
    with raises_errno(errno.ECHILD):
        ns_init.waitid(P_PIDFD, old.pidfd, WEXITED | WNOHANG)
    assert ns_init.waitid(P_PIDFD, new.pidfd, WEXITED | WNOHANG) is None


def test_fdinfo_shows_a_zombie_and_minus_1_after_reap(kernel):
    init = kernel.init
    child = init.clone(CLONE_NEWPID, pidfd=True)
    child.task.exit(0)
    assert fdinfo(init, child.pidfd)["NSpid"] == f"{child.pid}\t1"
    init.waitpid(child.pid, 0)
    info = fdinfo(init, child.pidfd)
    assert (info["Pid"], info["NSpid"]) == ("-1", "-1")


# ================================================================ selftests: pidfd_test.c

def test_selftest_pidfd_test_poll_exec_epoll(kernel):
    """pidfd_test.c test_pidfd_poll_exec(0): a thread's exec must not make the process
    pidfd readable; only the exit of the exec'd image does (epoll variant, as poll)."""
    init = kernel.init
    child = init.clone(pidfd=True)                 # legacy clone(CLONE_PIDFD | SIGCHLD)
    thread = child.task.spawn_thread()
    thread.task.execve()                           # execl("/bin/sleep", ...) from the pthread
    assert poll1(init, child.pidfd) == 0
    thread.task.exit(0)                            # the exec'd sleep ends
    assert poll1(init, child.pidfd, POLLIN) == POLLIN


def test_selftest_pidfd_test_poll_exec_waitpid(kernel):
    """pidfd_test.c test_pidfd_poll_exec(1): the same, observed with waitpid."""
    init = kernel.init
    child = init.clone(pidfd=True)
    thread = child.task.spawn_thread()
    thread.task.execve()
    assert init.waitpid(child.pid, WNOHANG) == (0, 0)
    thread.task.exit(0)
    assert init.waitpid(child.pid, 0) == (child.pid, 0)


def _leader_exit_child(kernel):
    init = kernel.init
    child = init.clone(pidfd=True)
    threads = [child.task.spawn_thread().task for _ in range(2)]
    child.task.exit(0)                              # raw SYS_exit(0): only the leader thread
    return init, child, threads


def test_selftest_pidfd_test_poll_leader_exit_epoll(kernel):
    """pidfd_test.c test_pidfd_poll_leader_exit(0): a thread-group pidfd must not signal
    while other threads live after the leader exited."""
    init, child, threads = _leader_exit_child(kernel)
    assert poll1(init, child.pidfd, POLLIN) == 0
    threads[0].exit(0)
    assert poll1(init, child.pidfd, POLLIN) == 0
    threads[1].exit(0)
    assert poll1(init, child.pidfd, POLLIN) == POLLIN


def test_selftest_pidfd_test_poll_leader_exit_waitpid(kernel):
    """pidfd_test.c test_pidfd_poll_leader_exit(1): the same, observed with waitpid."""
    init, child, threads = _leader_exit_child(kernel)
    assert init.waitpid(child.pid, WNOHANG) == (0, 0)
    threads[0].exit(0)
    assert init.waitpid(child.pid, WNOHANG) == (0, 0)
    threads[1].exit(0)
    assert init.waitpid(child.pid, 0) == (child.pid, 0)


def test_selftest_pidfd_test_send_signal_syscall_support(kernel):
    """pidfd_test.c test_pidfd_send_signal_syscall_support: a /proc/self directory fd
    is accepted by pidfd_send_signal(fd, 0)."""
    proc = kernel.init.fork().task
    fd = proc.open("/proc/self", O_DIRECTORY | O_CLOEXEC)
    assert proc.pidfd_send_signal(fd, 0) is None


def test_selftest_pidfd_test_send_signal_simple_success(kernel):
    """pidfd_test.c test_pidfd_send_signal_simple_success: SIGUSR1 through a /proc/self
    fd, through PIDFD_SELF_THREAD_GROUP, and from a new thread through PIDFD_SELF_THREAD,
    with a handler installed: each call succeeds and the process lives on.  The sentinel
    cases came with "pidfd-self" (6.15); an older selftest sends through the fd only."""
    init = kernel.init
    proc = init.fork()
    proc.task.sigaction(SIGUSR1, SIG_CATCH)
    fd = proc.task.open("/proc/self", O_DIRECTORY | O_CLOEXEC)
    proc.task.pidfd_send_signal(fd, SIGUSR1)
    thread = proc.task.spawn_thread()
    sentinels = kernel.has("pidfd-self")
    if sentinels:
        proc.task.pidfd_send_signal(self_thread_group(kernel), SIGUSR1)
        thread.task.pidfd_send_signal(PIDFD_SELF_THREAD, SIGUSR1)
    assert thread.task.gettid() == thread.pid and proc.task.getpid() == proc.pid
    assert init.waitpid(proc.pid, WNOHANG) == (0, 0)
    # Without the handler the same signal is fatal: it really was sent.
    proc.task.sigaction(SIGUSR1, pidlab.SIG_DFL)
    if sentinels:
        thread.task.pidfd_send_signal(PIDFD_SELF_THREAD, SIGUSR1)
    else:
        thread.task.pidfd_send_signal(fd, SIGUSR1)
    assert init.waitpid(proc.pid, 0) == (proc.pid, SIGUSR1)


def test_selftest_pidfd_test_send_signal_exited_fail(kernel):
    """pidfd_test.c test_pidfd_send_signal_exited_fail: /proc/<child> opened before the
    child is reaped; afterwards pidfd_send_signal(fd, 0) fails with ESRCH."""
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    fd = init.open(f"/proc/{child.pid}", O_DIRECTORY | O_CLOEXEC)
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ESRCH):
        init.pidfd_send_signal(fd, 0)


def test_selftest_pidfd_test_send_signal_recycled_pid_fail(kernel):
    """pidfd_test.c test_pidfd_send_signal_recycled_pid_fail: in a fresh pid namespace,
    /proc/1000 of an exited child must not signal the new process that gets 1000 again
    (ESRCH).  Recycling is done with ns_last_pid rather than 32768 forks."""
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID).task
    ns_init.write_text(NS_LAST_PID_PATH, "999")
    old = ns_init.fork()
    assert old.pid == 1000
    dirfd = ns_init.open("/proc/1000", O_DIRECTORY | O_CLOEXEC)
    pidfd = ns_init.pidfd_open(1000)
    old.task.exit(0)
    ns_init.waitpid(1000, 0)
    ns_init.write_text(NS_LAST_PID_PATH, "999")
    new = ns_init.fork()
    assert new.pid == 1000
    ns_init.kill(1000, SIGSTOP)
    for fd in (dirfd, pidfd):
        with raises_errno(errno.ESRCH):
            ns_init.pidfd_send_signal(fd, SIGCONT)
    assert proc_state(ns_init, 1000) == "T"        # the new 1000 was not continued
    ns_init.kill(1000, SIGKILL)
    assert ns_init.waitpid(1000, 0) == (1000, SIGKILL)


# ================================================================ selftests: pidfd_open_test.c

def test_selftest_pidfd_open_test_invalid_pid(kernel):
    """pidfd_open_test.c "do not allow invalid pid": pidfd_open(-1, 0) fails (EINVAL)."""
    with raises_errno(errno.EINVAL):
        kernel.init.fork().task.pidfd_open(-1, 0)


def test_selftest_pidfd_open_test_invalid_flag(kernel):
    """pidfd_open_test.c "do not allow invalid flag": pidfd_open(getpid(), 1) fails (EINVAL)."""
    proc = kernel.init.fork().task
    with raises_errno(errno.EINVAL):
        proc.pidfd_open(proc.getpid(), 1)


def test_selftest_pidfd_open_test_open_new_pidfd(kernel):
    """pidfd_open_test.c "open a new pidfd": pidfd_open(getpid(), 0) succeeds."""
    proc = kernel.init.fork().task
    assert proc.pidfd_open(proc.getpid(), 0) >= 0


def test_selftest_pidfd_open_test_get_info_from_pidfd(kernel):
    """pidfd_open_test.c "get info from pidfd": PIDFD_GET_INFO(CGROUPID) on our own pidfd
    agrees with fdinfo's Pid, getppid and the credentials; cgroupid != 0 when set.  The
    ioctl is "pidfd-info" (6.13); test_pidfs.py has what older kernels answer."""
    needs(kernel, "pidfd-info")
    init = kernel.init
    proc = init.fork().task
    fd = proc.pidfd_open(proc.getpid(), 0)
    pid = int(fdinfo(proc, fd)["Pid"])
    info = proc.pidfd_get_info(fd, pidlab.PIDFD_INFO_CGROUPID)
    assert info.pid == pid == proc.getpid()
    assert info.ppid == proc.getppid() == 1
    assert (info.ruid, info.rgid, info.euid, info.egid) == \
        (proc.getuid(), proc.getgid(), proc.geteuid(), proc.getegid())
    assert (info.suid, info.sgid) == (proc.geteuid(), proc.getegid())
    if info.mask & pidlab.PIDFD_INFO_CGROUPID:
        assert info.cgroupid != 0
    assert info.mask & pidlab.PIDFD_INFO_CGROUPID


# ================================================================ selftests: pidfd_poll_test.c

def test_selftest_pidfd_poll_test_poll(kernel):
    """pidfd_poll_test.c "pidfd poll test": fork, pidfd_open, SIGKILL through the pidfd,
    poll sees POLLIN before the child is reaped, close, waitpid (10 rounds)."""
    init = kernel.init
    for _ in range(10):
        child = init.fork()
        fd = init.pidfd_open(child.pid)
        init.pidfd_send_signal(fd, SIGKILL)
        assert poll1(init, fd, POLLIN) & POLLIN
        init.close(fd)
        assert init.waitpid(child.pid, 0) == (child.pid, SIGKILL)


# ================================================================ selftests: pidfd_wait.c

def test_selftest_pidfd_wait_wait_simple(kernel):
    """pidfd_wait.c TEST(wait_simple): /proc/self and a non-pidfd file are refused
    (EBADF); a CLONE_PIDFD child's exit is reported with SIGCHLD/CLD_EXITED/0."""
    init = kernel.init
    proc = init.fork().task
    procfd = proc.open("/proc/self", O_DIRECTORY)
    with raises_errno(errno.EBADF):
        proc.waitid(P_PIDFD, procfd, WEXITED)
    other = proc.open("/proc/self/status")           # stands for /dev/null
    with raises_errno(errno.EBADF):
        proc.waitid(P_PIDFD, other, WEXITED)
    child = proc.clone(pidfd=True)
    child.task.exit(0)
    assert proc.waitid(P_PIDFD, child.pidfd, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, 0, CLD_EXITED)


def test_selftest_pidfd_wait_wait_states(kernel):
    """pidfd_wait.c TEST(wait_states): CLD_STOPPED, then CLD_CONTINUED after SIGCONT
    through the pidfd, CLD_STOPPED again (WUNTRACED), CLD_KILLED after SIGKILL."""
    init = kernel.init
    child = init.clone(pidfd=True)
    child.task.kill(child.task.getpid(), SIGSTOP)
    assert init.waitid(P_PIDFD, child.pidfd, WSTOPPED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    init.pidfd_send_signal(child.pidfd, SIGCONT)
    assert init.waitid(P_PIDFD, child.pidfd, WCONTINUED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGCONT, CLD_CONTINUED)
    child.task.kill(child.task.getpid(), SIGSTOP)
    assert init.waitid(P_PIDFD, child.pidfd, WUNTRACED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    init.pidfd_send_signal(child.pidfd, SIGKILL)
    assert init.waitid(P_PIDFD, child.pidfd, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGKILL, CLD_KILLED)


def test_selftest_pidfd_wait_wait_nonblock(kernel):
    """pidfd_wait.c TEST(wait_nonblock): our own NONBLOCK pidfd is ECHILD; a stopped
    child's NONBLOCK pidfd gives EAGAIN for WEXITED and 0 with WNOHANG; after F_SETFL
    clears O_NONBLOCK, WSTOPPED reports the stop and WEXITED the exit after SIGCONT."""
    init = kernel.init
    proc = init.fork().task
    own = proc.pidfd_open(proc.getpid(), PIDFD_NONBLOCK)
    with raises_errno(errno.ECHILD):
        proc.waitid(P_PIDFD, own, WEXITED)
    child = proc.fork()
    child.task.kill(child.task.getpid(), SIGSTOP)
    fd = proc.pidfd_open(child.pid, PIDFD_NONBLOCK)
    assert proc.fcntl(fd, F_GETFL) & O_NONBLOCK
    with raises_errno(errno.EAGAIN):
        proc.waitid(P_PIDFD, fd, WEXITED)
    assert proc.waitid(P_PIDFD, fd, WEXITED | WNOHANG) is None
    assert proc.fcntl(fd, F_SETFL, proc.fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0
    assert proc.waitid(P_PIDFD, fd, WSTOPPED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    proc.pidfd_send_signal(fd, SIGCONT)
    child.task.exit(0)
    assert proc.waitid(P_PIDFD, fd, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, 0, CLD_EXITED)


# ================================================================ selftests: pidfd_fdinfo_test.c

def test_selftest_pidfd_fdinfo_test_nspid(kernel):
    """pidfd_fdinfo_test.c "pidfd check for NSpid in fdinfo": child A (init of its own
    namespace) is invisible from child B's namespace (NSpid 0); the parent sees
    "<pid>\\t1" for both."""
    init = kernel.init
    proc = init.fork().task
    a = proc.clone(CLONE_NEWPID, pidfd=True)
    a.task.exit(0)
    b = proc.clone(CLONE_NEWPID, pidfd=True)        # its fd table holds A's pidfd
    assert fdinfo(b.task, a.pidfd)["NSpid"] == "0"
    assert fdinfo(proc, a.pidfd)["NSpid"] == f"{a.pid}\t1"
    assert fdinfo(proc, b.pidfd)["NSpid"] == f"{b.pid}\t1"
    b.task.exit(0)
    assert proc.waitpid(a.pid, 0) == (a.pid, 0)
    assert proc.waitpid(b.pid, 0) == (b.pid, 0)


def test_selftest_pidfd_fdinfo_test_dead_fdinfo(kernel):
    """pidfd_fdinfo_test.c "pidfd check fdinfo for dead process": after reap the fdinfo
    shows Pid -1 and NSpid -1."""
    proc = kernel.init.fork().task
    a = proc.clone(CLONE_NEWPID, pidfd=True)
    a.task.exit(0)
    proc.waitpid(a.pid, 0)
    info = fdinfo(proc, a.pidfd)
    assert (info["Pid"], info["NSpid"]) == ("-1", "-1")


# ================================================================ selftests: pidfd_getfd_test.c

def test_selftest_pidfd_getfd_test_disable_ptrace(kernel):
    """pidfd_getfd_test.c TEST_F(child, disable_ptrace): the caller seteuid(65534)s,
    the child makes itself non-dumpable; pidfd_getfd fails with EPERM."""
    caller, child, pidfd, remote = _getfd_pair(kernel)
    caller.setresuid(0, 65534, 0)
    child.task.prctl(PR_SET_DUMPABLE, 0)
    with raises_errno(errno.EPERM):
        caller.pidfd_getfd(pidfd, remote)
    caller.setresuid(0, 0, 0)
    caller.pidfd_getfd(pidfd, remote)


def test_selftest_pidfd_getfd_test_fetch_fd(kernel):
    """pidfd_getfd_test.c TEST_F(child, fetch_fd): the fetched fd is the child's open
    file (kcmp replaced by shared status flags and the same inode) and close-on-exec."""
    caller, child, pidfd, remote = _getfd_pair(kernel)
    fd = caller.pidfd_getfd(pidfd, remote, 0)
    assert caller.fcntl(fd, F_GETFD) == FD_CLOEXEC
    assert caller.fstat(fd).st_ino == child.task.fstat(remote).st_ino
    child.task.fcntl(remote, F_SETFL, O_NONBLOCK)
    assert caller.fcntl(fd, F_GETFL) & O_NONBLOCK


def test_selftest_pidfd_getfd_test_test_unknown_fd(kernel):
    """pidfd_getfd_test.c TEST_F(child, test_unknown_fd): pidfd_getfd(pidfd, 111) is EBADF."""
    caller, child, pidfd, remote = _getfd_pair(kernel)
    with raises_errno(errno.EBADF):
        caller.pidfd_getfd(pidfd, 111, 0)


def test_selftest_pidfd_getfd_test_flags_set(kernel):
    """pidfd_getfd_test.c TEST(flags_set): pidfd_getfd(0, 0, 1) is EINVAL."""
    with raises_errno(errno.EINVAL):
        kernel.init.fork().task.pidfd_getfd(0, 0, 1)


def test_selftest_pidfd_getfd_test_no_strange_EBADF(kernel):
    """pidfd_getfd_test.c TEST_F(child, no_strange_EBADF): after kill(SIGKILL) and a
    readable pidfd, pidfd_getfd fails with ESRCH, not EBADF.  The test came with the fix
    (6.9); a kernel with neither exiting fix answers EBADF (the dead-process scenario)."""
    if not kernel.has("pidfd-getfd-exiting"):
        needs(kernel, "pidfd-getfd-esrch")
    caller, child, pidfd, remote = _getfd_pair(kernel)
    caller.kill(child.pid, SIGKILL)
    assert poll1(caller, pidfd, POLLIN) == POLLIN
    with raises_errno(errno.ESRCH):
        caller.pidfd_getfd(pidfd, remote)
    assert caller.waitpid(child.pid, 0) == (child.pid, SIGKILL)


def test_selftest_pidfd_getfd_test_pidfd_self(kernel):
    """pidfd_getfd_test.c TEST(pidfd_self) (patch series only, not mainline): mainline
    pidfd_getfd does not special-case PIDFD_SELF_*, so both sentinels give EBADF."""
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.getpid())
    for sentinel in (self_thread_group(kernel), PIDFD_SELF_THREAD):
        with raises_errno(errno.EBADF):
            proc.pidfd_getfd(sentinel, fd, 0)


# ================================================================ selftests: pidfd_setns_test.c

def test_selftest_pidfd_setns_test_invalid_flags(kernel):
    """pidfd_setns_test.c TEST_F(current_nsset, invalid_flags): setns(own pidfd, 0 / -1 /
    CLONE_VM / CLONE_NEWUSER|CLONE_VM) are all EINVAL."""
    proc = kernel.init.fork().task
    fd = proc.pidfd_open(proc.getpid())
    for flags in (0, -1, CLONE_VM, CLONE_NEWUSER | CLONE_VM):
        with raises_errno(errno.EINVAL):
            proc.setns(fd, flags)


def test_selftest_pidfd_setns_test_pidfd_exited_child(kernel):
    """pidfd_setns_test.c TEST_F(current_nsset, pidfd_exited_child): setns into an exited,
    unreaped child is ESRCH and changes none of our namespaces (pid row only)."""
    proc = kernel.init.fork().task
    child = proc.clone(pidfd=True)
    child.task.exit(0)
    assert proc.waitid(P_PID, child.pid, WEXITED | WNOWAIT) is not None
    before = [proc.read_text(f"/proc/self/ns/{n}") for n in ("pid", "pid_for_children")]
    with raises_errno(errno.ESRCH):
        proc.setns(child.pidfd, CLONE_NEWPID)
    assert [proc.read_text(f"/proc/self/ns/{n}") for n in ("pid", "pid_for_children")] == before


def _setns_children(kernel):
    proc = kernel.init.fork().task
    child1 = proc.clone(CLONE_NEWPID, pidfd=True)
    child2 = proc.clone(CLONE_NEWPID, pidfd=True)
    return proc, child1, child2


def test_selftest_pidfd_setns_test_pidfd_incremental_setns(kernel):
    """pidfd_setns_test.c TEST_F(current_nsset, pidfd_incremental_setns), pid row:
    setns(child1 pidfd, CLONE_NEWPID) leaves our pid namespace and makes child1's our
    pid_for_children."""
    proc, child1, _ = _setns_children(kernel)
    own = proc.read_text("/proc/self/ns/pid")
    proc.setns(child1.pidfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid") == own
    assert proc.read_text("/proc/self/ns/pid_for_children") == \
        proc.read_text(f"/proc/{child1.pid}/ns/pid")


def test_selftest_pidfd_setns_test_nsfd_incremental_setns(kernel):
    """pidfd_setns_test.c TEST_F(current_nsset, nsfd_incremental_setns), pid row: the same
    through /proc/<child1>/ns/pid."""
    proc, child1, _ = _setns_children(kernel)
    own = proc.read_text("/proc/self/ns/pid")
    nsfd = proc.open(f"/proc/{child1.pid}/ns/pid")
    proc.setns(nsfd, CLONE_NEWPID)
    assert proc.read_text("/proc/self/ns/pid") == own
    assert proc.read_text("/proc/self/ns/pid_for_children") == \
        proc.read_text(f"/proc/{child1.pid}/ns/pid")


def test_selftest_pidfd_setns_test_setns_einval(kernel):
    """pidfd_setns_test.c TEST(setns_einval): setns(fd, 0) on an fd that is neither a
    namespace nor a pidfd (a memfd there, a /proc file here) is EINVAL."""
    proc = kernel.init.fork().task
    fd = proc.open("/proc/self/status")
    with raises_errno(errno.EINVAL):
        proc.setns(fd, 0)


# ================================================================ selftests: pidfd_autoreap_test.c

CLONE_AUTOREAP = 1 << 34
CLONE_NNP = 1 << 35
CLONE_PIDFD_AUTOKILL = 1 << 36

AUTOREAP_CASES = [
    # (selftest case, clone3 flags, exit_signal, drop every capability first)
    ("autoreap_without_pidfd", CLONE_AUTOREAP, 0, False),
    ("autoreap_rejects_exit_signal", CLONE_AUTOREAP, SIGCHLD, False),
    ("autoreap_rejects_parent", CLONE_AUTOREAP | CLONE_PARENT, 0, False),
    ("autoreap_rejects_thread", CLONE_AUTOREAP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, False),
    ("autoreap_basic", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("autoreap_signaled", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("autoreap_reparent", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("autoreap_multithreaded", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("autoreap_no_inherit", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("nnp_sets_no_new_privs", CLONE_PIDFD | CLONE_AUTOREAP | CLONE_NNP, 0, False),
    ("nnp_rejects_thread", CLONE_NNP | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, False),
    ("autoreap_no_new_privs_unset", CLONE_PIDFD | CLONE_AUTOREAP, 0, False),
    ("autokill_basic", CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP | CLONE_NNP, 0, False),
    ("autokill_requires_pidfd", CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0, False),
    ("autokill_requires_autoreap", CLONE_PIDFD | CLONE_PIDFD_AUTOKILL, 0, False),
    ("autokill_rejects_thread", CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP
     | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, False),
    ("autokill_pidfd_open_no_effect",
     CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP | CLONE_NNP, 0, False),
    ("autokill_requires_cap_sys_admin", CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0, True),
    ("autokill_without_nnp_with_cap", CLONE_PIDFD | CLONE_PIDFD_AUTOKILL | CLONE_AUTOREAP, 0, False),
]


@pytest.mark.parametrize("case, flags, exit_signal, drop_caps", AUTOREAP_CASES,
                         ids=[c[0] for c in AUTOREAP_CASES])
def test_selftest_pidfd_autoreap_test(kernel, case, flags, exit_signal, drop_caps):
    """pidfd_autoreap_test.c, every TEST (the parameter id names it): each starts with a
    clone3 using CLONE_AUTOREAP / CLONE_NNP / CLONE_PIDFD_AUTOKILL (bits 34-36), which are
    post-6.19 flags.  clone3_args_valid of every Linux up to 6.19 rejects the unknown bits
    with EINVAL (spec 7 "not in 6.18", 8 clone3 checks), so the selftest skips, or passes where it
    expects EINVAL; autokill_requires_cap_sys_admin gets EINVAL, not EPERM, since the flag
    test comes before any capability test.  Nothing is created."""
    init = kernel.init
    proc = init.fork().task
    if drop_caps:
        proc.capset([])
    before = snapshot([init, proc]), lowest_free_fd(proc)
    with raises_errno(errno.EINVAL):
        proc.clone(flags, exit_signal=exit_signal)
    assert (snapshot([init, proc]), lowest_free_fd(proc)) == before
    with raises_errno(errno.ECHILD):
        proc.waitpid(-1, WNOHANG)


# ================================================================ wrong Python types

WRONG_TYPES = [
    ("poll", ("3",)),
    ("poll", ([3.0],)),
    ("poll", ([3], "1")),
    ("pidfd_open", (1, 0.0)),
    ("pidfd_open", ("1",)),
    ("pidfd_getfd", (3, 3, None)),
    ("pidfd_send_signal", (PIDFD_SELF_THREAD, None)),
    ("pidfd_send_signal", (PIDFD_SELF_THREAD, 0, 0.0)),
    ("setns", ("3", CLONE_NEWPID)),
    ("setns", (3, None)),
    ("waitid", (P_PIDFD, "3", WEXITED)),
    ("fcntl", (3, F_GETFL, "0")),
]


def test_wrong_python_types_raise_typeerror_and_change_nothing(kernel):
    init = kernel.init
    child = init.fork()
    fd = init.pidfd_open(child.pid)
    before = snapshot([init, child.task]), lowest_free_fd(init), poll1(init, fd)
    for method, args in WRONG_TYPES:
        with pytest.raises(TypeError):
            getattr(init, method)(*args)
    assert (snapshot([init, child.task]), lowest_free_fd(init), poll1(init, fd)) == before


@pytest.mark.parametrize("dumpable", [None, 1])
def test_pidfd_getfd_of_a_zombie_still_asks_for_the_dumpability_it_had(kernel, dumpable):
    # kernel/ptrace.c __ptrace_may_access with "ptrace: slightly saner 'get_dumpable()'
    # logic" (31e62c2ebbfd, 7.1-rc4; in 6.18.31, and in both VMs' kernels): a task without
    # an mm is judged by the dumpability it had when it exited (setuid made it
    # non-dumpable), so the same uid is refused (EPERM) unless it had become dumpable
    # again; then __pidfd_fget refuses the exiting task: ESRCH, or fget_task's EBADF before
    # the exiting fixes.  (Series that ended before that fix let an mm-less task through;
    # the model, and so this scenario, has the fix on every version.)
    err = errno.EPERM if dumpable is None else getfd_exiting_errno(kernel)
    init = kernel.init
    d = init.fork().task
    e = init.fork().task
    epid = e.getpid()
    e.setuid(1000)
    if dumpable is not None:
        e.prctl(PR_SET_DUMPABLE, dumpable)
    d.setuid(1000)
    fd = d.pidfd_open(epid)
    with raises_errno(errno.EPERM if dumpable is None else errno.EBADF):
        d.pidfd_getfd(fd, 77)
    init.kill(epid, SIGKILL)
    with raises_errno(err):
        d.pidfd_getfd(fd, 0)
