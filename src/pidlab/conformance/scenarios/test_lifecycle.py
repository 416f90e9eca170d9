"""Life cycle of processes and threads: fork, clone3, threads, exit, zombies,
reparenting, the parent-death signal and execve.

Where the expected values come from:
* /work/shared/spec/linux-pid-6.18.md: section 2 (pid numbers live while any
  list uses them), 4 (release), 5 (reparenting, CLONE_PARENT from an init),
  8 (clone3 checks) and 12 (de_thread, setpgid EACCES);
* /work/shared/spec/live-kernel-facts.md: sections 1, 2, 4 (clone3 errors,
  set_tid) and 8 (8o: a leader that exits first stays a zombie);
* /work/shared/spec/kernel-selftests.md 4.1 (the clone3.c table of bad exit_signal values);
* Linux's own sources where a comment names them (kernel/fork.c copy_process,
  kernel/exit.c exit_notify/forget_original_parent/do_group_exit, kernel/signal.c
  do_notify_parent, kernel/sys.c prctl, fs/exec.c de_thread).
"""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab import (CAP_SYS_ADMIN, CLONE_CLEAR_SIGHAND, CLONE_DETACHED, CLONE_FILES,
                    CLONE_FS, CLONE_NEWNS, CLONE_NEWPID, CLONE_PARENT, CLONE_SIGHAND,
                    CLONE_THREAD, CLONE_VM, F_GETFD, FD_CLOEXEC, O_CLOEXEC,
                    PR_GET_CHILD_SUBREAPER, PR_GET_PDEATHSIG, PR_SET_CHILD_SUBREAPER,
                    PR_SET_PDEATHSIG, SIG_CATCH, SIG_DFL, SIG_IGN, SIGCHLD, SIGHUP, SIGSTOP,
                    SIGUSR1, SIGUSR2, WCLONE, WNOHANG, WNOTHREAD, WUNTRACED)

from pidlab.conformance.helpers import (field, in_sigset, nspid, proc_state, raises_errno, sigmask,
                                        snapshot)

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

THREAD_FLAGS = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FS | CLONE_FILES


# ---------------------------------------------------------------- fork and clone

def test_fork_returns_the_child_pid_in_the_callers_namespace(kernel):
    init = kernel.init
    nsinit = init.clone(CLONE_NEWPID)
    assert nsinit.pid == 2
    assert nsinit.task.getpid() == 1
    grandchild = nsinit.task.fork()
    # The nested init sees its child as 2; the top namespace numbers it 3.
    assert grandchild.pid == 2
    assert grandchild.task.getpid() == 2
    assert nspid(init, 3) == [3, 2]


def test_forked_child_sees_its_parent_through_getppid(kernel):
    parent = kernel.init.fork()
    child = parent.task.fork()
    assert parent.task.getppid() == 1
    assert child.task.getppid() == parent.pid


def test_init_of_a_new_namespace_sees_no_parent(kernel):
    # spec 6: getppid is 0 when the parent is not visible.
    nsinit = kernel.init.clone(CLONE_NEWPID)
    assert nsinit.task.getppid() == 0


def test_non_sigchld_exit_signal_is_sent_to_the_parent(kernel):
    # SIGUSR1 with its default action kills the parent when the child exits.
    parent = kernel.init.fork()
    child = parent.task.clone(exit_signal=SIGUSR1)
    child.task.exit(0)
    with pytest.raises(pidlab.TaskExited):
        parent.task.getpid()
    assert kernel.init.waitpid(parent.pid, WNOHANG) == (parent.pid, SIGUSR1)


@pytest.mark.parametrize("exit_signal", [0, SIGUSR1], ids=["exit_signal_0", "exit_signal_SIGUSR1"])
def test_clone_child_is_not_autoreaped_when_the_parent_ignores_sigchld(kernel, exit_signal):
    # kernel/signal.c do_notify_parent: autoreap only when the signal sent is SIGCHLD.
    parent = kernel.init.fork()
    parent.task.sigaction(SIGCHLD, SIG_IGN)
    parent.task.sigaction(SIGUSR1, SIG_IGN)
    child = parent.task.clone(exit_signal=exit_signal)
    child.task.exit(0)
    assert proc_state(parent.task, child.pid) == "Z"
    assert parent.task.waitpid(child.pid, WCLONE | WNOHANG) == (child.pid, 0)


def test_reparented_clone_child_reports_to_its_new_parent_with_sigchld(kernel):
    # spec 5: reparented leaders get exit_signal = SIGCHLD.
    parent = kernel.init.fork()
    child = parent.task.clone(exit_signal=0)
    parent.task.exit(0)
    child.task.exit(4)
    assert kernel.init.waitpid(child.pid, WNOHANG) == (child.pid, 0x400)


# ---------------------------------------------------------------- clone3 argument errors

CLONE3_EINVAL = [
    # (id, flags, exit_signal, set_tid): spec 8 "clone3 checks", selftests 4.1, facts 4.
    ("set_tid_33_entries", 0, SIGCHLD, (1,) * 33),
    ("exit_signal_65", 0, 65, ()),
    ("exit_signal_high_32_bits", 0, 0xBADC0DED00000000, ()),
    ("exit_signal_0x80000000", 0, 0x80000000, ()),
    ("exit_signal_0x100", 0, 0x100, ()),
    ("exit_signal_0xf0", 0, 0xF0, ()),
    ("unknown_flag_1_shl_40", 1 << 40, SIGCHLD, ()),
    ("clone_detached", CLONE_DETACHED, SIGCHLD, ()),
    ("csignal_bits_in_flags", SIGCHLD, SIGCHLD, ()),
    ("sighand_with_clear_sighand", CLONE_VM | CLONE_SIGHAND | CLONE_CLEAR_SIGHAND, SIGCHLD, ()),
    ("thread_with_exit_signal", THREAD_FLAGS, SIGCHLD, ()),
    ("parent_with_exit_signal", CLONE_PARENT, SIGCHLD, ()),
    ("thread_without_sighand", CLONE_THREAD | CLONE_VM | CLONE_FS | CLONE_FILES, 0, ()),
    ("sighand_without_vm", CLONE_SIGHAND, SIGCHLD, ()),
    ("newns_with_fs", CLONE_NEWNS | CLONE_FS, SIGCHLD, ()),
]


@pytest.mark.parametrize("flags,exit_signal,set_tid", [c[1:] for c in CLONE3_EINVAL],
                         ids=[c[0] for c in CLONE3_EINVAL])
def test_clone3_rejects_invalid_arguments_with_einval(kernel, flags, exit_signal, set_tid):
    caller = kernel.init.fork().task
    before = snapshot([kernel.init, caller])
    with raises_errno(errno.EINVAL):
        caller.clone(flags, exit_signal=exit_signal, set_tid=set_tid)
    assert snapshot([kernel.init, caller]) == before


@pytest.mark.parametrize("flags,exit_signal", [
    (CLONE_NEWPID, 65),
    (CLONE_NEWPID | CLONE_NEWNS | CLONE_FS, SIGCHLD),
], ids=["bad_exit_signal", "newns_with_fs"])
def test_clone3_argument_checks_come_before_the_capability_check(kernel, flags, exit_signal):
    # copy_clone_args_from_user and the flag checks of copy_process run before
    # copy_namespaces asks for CAP_SYS_ADMIN (kernel/fork.c).
    caller = kernel.init.fork().task
    caller.capset(caller.capget() - {CAP_SYS_ADMIN})
    before = snapshot([kernel.init, caller])
    with raises_errno(errno.EINVAL):
        caller.clone(flags, exit_signal=exit_signal)
    assert snapshot([kernel.init, caller]) == before


def test_clone_newpid_without_cap_sys_admin_is_eperm(kernel):
    caller = kernel.init.fork().task
    caller.capset(caller.capget() - {CAP_SYS_ADMIN})
    before = snapshot([kernel.init, caller])
    with raises_errno(errno.EPERM):
        caller.clone(CLONE_NEWPID)
    assert snapshot([kernel.init, caller]) == before


# ---------------------------------------------------------------- CLONE_PARENT

def test_clone_parent_child_is_a_sibling_of_the_caller(kernel):
    caller = kernel.init.fork()
    sibling = caller.task.clone(CLONE_PARENT, exit_signal=0)
    assert sibling.pid == caller.pid + 1
    assert sibling.task.getppid() == 1


def test_clone_parent_child_is_waited_for_by_the_callers_parent(kernel):
    # copy_process: a CLONE_PARENT child takes the caller's leader's exit_signal (SIGCHLD).
    caller = kernel.init.fork()
    sibling = caller.task.clone(CLONE_PARENT, exit_signal=0)
    sibling.task.exit(3)
    with raises_errno(errno.ECHILD):
        caller.task.waitpid(sibling.pid, WNOHANG)
    assert kernel.init.waitpid(sibling.pid, WNOHANG) == (sibling.pid, 0x300)


@pytest.mark.parametrize("which", ["top_init", "nested_init"])
def test_clone_parent_from_a_namespace_init_is_einval(kernel, which):
    # spec 5: CLONE_PARENT from a SIGNAL_UNKILLABLE task gives EINVAL.
    caller = kernel.init if which == "top_init" else kernel.init.clone(CLONE_NEWPID).task
    before = snapshot([kernel.init, caller])
    with raises_errno(errno.EINVAL):
        caller.clone(CLONE_PARENT, exit_signal=0)
    assert snapshot([kernel.init, caller]) == before


# ---------------------------------------------------------------- signal handlers at clone

def test_clone_clear_sighand_resets_caught_handlers_but_keeps_ignored_ones(kernel):
    # kernel/fork.c copy_sighand: flush_signal_handlers(p, 0) keeps SIG_IGN.
    parent = kernel.init.fork().task
    parent.sigaction(SIGUSR1, SIG_CATCH)
    parent.sigaction(SIGUSR2, SIG_IGN)
    child = parent.clone(CLONE_CLEAR_SIGHAND).task
    assert not in_sigset(sigmask(child, "SigCgt"), SIGUSR1)
    assert in_sigset(sigmask(child, "SigIgn"), SIGUSR2)
    assert child.sigaction(SIGUSR1) == SIG_DFL
    assert child.sigaction(SIGUSR2) == SIG_IGN


def test_fork_inherits_caught_and_ignored_handlers(kernel):
    parent = kernel.init.fork().task
    parent.sigaction(SIGUSR1, SIG_CATCH)
    parent.sigaction(SIGUSR2, SIG_IGN)
    child = parent.fork().task
    assert in_sigset(sigmask(child, "SigCgt"), SIGUSR1)
    assert in_sigset(sigmask(child, "SigIgn"), SIGUSR2)


# ---------------------------------------------------------------- threads

def test_thread_shares_the_process_pid_and_has_its_own_tid(kernel):
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    assert thread.task.getpid() == proc.pid
    assert thread.task.gettid() == thread.pid
    assert thread.pid != proc.pid
    assert thread.task.getppid() == 1


def test_threads_line_counts_the_threads_of_the_process(kernel):
    proc = kernel.init.fork()
    proc.task.spawn_thread()
    proc.task.spawn_thread()
    assert field(kernel.init.read_text(f"/proc/{proc.pid}/status"), "Threads") == [3]


def test_thread_exit_leaves_the_process_running(kernel):
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    thread.task.exit(9)
    with pytest.raises(pidlab.TaskExited):
        thread.task.gettid()
    assert proc.task.getpid() == proc.pid
    assert field(kernel.init.read_text(f"/proc/{proc.pid}/status"), "Threads") == [1]
    assert kernel.init.waitpid(proc.pid, WNOHANG) == (0, 0)


def test_leader_exit_leaves_a_zombie_leader_while_the_process_lives(kernel):
    # facts 8o: the leader is Z while a worker thread runs.
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    assert proc_state(kernel.init, proc.pid) == "Z"
    assert thread.task.getpid() == proc.pid
    # spec 4: nr_threads drops only when a thread is unhashed; the zombie leader still counts.
    assert field(thread.task.read_text("/proc/thread-self/status"), "Threads") == [2]
    kernel.init.kill(proc.pid, 0)           # the process still exists
    before = snapshot([kernel.init])
    with raises_errno(errno.EEXIST):        # and its number stays taken
        kernel.init.clone(set_tid=(proc.pid,))
    assert snapshot([kernel.init]) == before


def test_exit_group_from_a_non_leader_thread_ends_the_whole_process(kernel):
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    thread.task.exit_group(7)
    with pytest.raises(pidlab.TaskExited):
        proc.task.getpid()
    assert kernel.init.waitpid(proc.pid, 0) == (proc.pid, 0x700)


def test_last_thread_exit_code_becomes_the_process_exit_status(kernel):
    # kernel/exit.c synchronize_group_exit: the last thread sets group_exit_code.
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(3)
    thread.task.exit(5)
    assert kernel.init.waitpid(proc.pid, 0) == (proc.pid, 0x500)


# ---------------------------------------------------------------- exit status

def test_exit_status_keeps_the_low_8_bits_of_the_code(kernel):
    # kernel/exit.c SYSCALL exit: do_exit((error_code & 0xff) << 8).
    init = kernel.init
    for code, status in [(0, 0), (42, 0x2A00), (0x1FF, 0xFF00), (256, 0), (-1, 0xFF00)]:
        child = init.fork()
        child.task.exit(code)
        assert init.waitpid(child.pid, 0) == (child.pid, status), code


def test_exit_group_status_is_encoded_like_exit(kernel):
    child = kernel.init.fork()
    child.task.exit_group(0x105)
    assert kernel.init.waitpid(child.pid, 0) == (child.pid, 0x500)


# ---------------------------------------------------------------- zombies

def test_exited_child_is_a_zombie_until_reaped(kernel):
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    assert proc_state(init, child.pid) == "Z"
    init.waitpid(child.pid, 0)
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{child.pid}/status")


def test_zombie_pid_is_not_reused(kernel):
    init = kernel.init
    zombie = init.fork()
    zombie.task.exit(0)
    init.write_text("/proc/sys/kernel/ns_last_pid", str(zombie.pid - 1))
    assert init.fork().pid == zombie.pid + 1


def test_reaped_session_leader_keeps_its_number_while_members_remain(kernel):
    # spec 2, last bullet.
    init = kernel.init
    leader = init.fork()
    leader.task.setsid()
    member = leader.task.fork()
    leader.task.exit(0)
    init.waitpid(leader.pid, 0)
    assert member.task.getsid(0) == leader.pid
    assert member.task.getpgid(0) == leader.pid
    before = snapshot([init])
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=(leader.pid,))
    assert snapshot([init]) == before


def test_reaped_group_leader_number_is_freed_with_its_last_member(kernel):
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    leader.task.exit(0)
    init.waitpid(leader.pid, 0)
    assert member.task.getpgid(0) == leader.pid
    with raises_errno(errno.ESRCH):
        init.kill(leader.pid, 0)            # no process, only a group
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=(leader.pid,))
    member.task.exit(0)
    init.waitpid(member.pid, 0)
    assert init.clone(set_tid=(leader.pid,)).pid == leader.pid


# ---------------------------------------------------------------- reparenting

def test_orphan_is_reparented_to_another_thread_of_its_dying_parent(kernel):
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    child = thread.task.fork()
    with raises_errno(errno.ECHILD):        # the forking thread is the parent
        proc.task.waitpid(child.pid, WNOHANG | WNOTHREAD)
    thread.task.exit(0)
    assert child.task.getppid() == proc.pid
    assert proc.task.waitpid(child.pid, WNOHANG | WNOTHREAD) == (0, 0)


def test_orphan_is_reparented_to_the_nearest_subreaper(kernel):
    outer = kernel.init.fork()
    outer.task.prctl(PR_SET_CHILD_SUBREAPER, 1)
    inner = outer.task.fork()
    inner.task.prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent = inner.task.fork()
    child = parent.task.fork()
    parent.task.exit(0)
    assert child.task.getppid() == inner.pid
    inner.task.exit(0)
    assert child.task.getppid() == outer.pid


def test_subreaper_set_after_its_descendants_were_forked_still_adopts_them(kernel):
    subreaper = kernel.init.fork()
    parent = subreaper.task.fork()
    child = parent.task.fork()
    subreaper.task.prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent.task.exit(0)
    assert child.task.getppid() == subreaper.pid


def test_orphan_without_subreaper_is_reparented_to_the_namespace_init(kernel):
    parent = kernel.init.fork()
    child = parent.task.fork()
    parent.task.exit(0)
    assert child.task.getppid() == 1


def test_subreaper_outside_the_orphans_namespace_is_skipped(kernel):
    # spec 5: only ancestors at the same pid-ns level are considered.
    subreaper = kernel.init.fork()
    subreaper.task.prctl(PR_SET_CHILD_SUBREAPER, 1)
    nsinit = subreaper.task.clone(CLONE_NEWPID)
    parent = nsinit.task.fork()
    child = parent.task.fork()
    parent.task.exit(0)
    assert child.task.getppid() == 1        # the nested init (the subreaper would show as 0)


def test_pr_get_child_subreaper_reports_the_flag_and_children_do_not_inherit_it(kernel):
    proc = kernel.init.fork().task
    assert proc.prctl(PR_GET_CHILD_SUBREAPER) == 0
    proc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    assert proc.prctl(PR_GET_CHILD_SUBREAPER) == 1
    assert proc.fork().task.prctl(PR_GET_CHILD_SUBREAPER) == 0
    proc.prctl(PR_SET_CHILD_SUBREAPER, 0)
    assert proc.prctl(PR_GET_CHILD_SUBREAPER) == 0


def test_orphaned_zombie_is_reparented_and_waitable_by_the_new_parent(kernel):
    parent = kernel.init.fork()
    child = parent.task.fork()
    child.task.exit(6)
    parent.task.exit(0)
    assert kernel.init.waitpid(child.pid, WNOHANG) == (child.pid, 0x600)


def test_stopped_orphan_whose_group_is_orphaned_by_the_parents_exit_gets_sighup(kernel):
    # kernel/exit.c reparent_leader -> kill_orphaned_pgrp: SIGHUP then SIGCONT.
    parent = kernel.init.fork()
    parent.task.setsid()
    child = parent.task.fork()
    parent.task.setpgid(child.pid, child.pid)
    kernel.init.kill(child.pid, SIGSTOP)
    parent.task.exit(0)
    assert kernel.init.waitpid(child.pid, WNOHANG | WUNTRACED) == (child.pid, SIGHUP)


def test_stopped_orphan_whose_group_stays_connected_stays_stopped(kernel):
    # Inside a nested namespace, so that the adopting init is a namespace init on
    # both backends (is_global_init parents are skipped by will_become_orphaned_pgrp).
    nsinit = kernel.init.clone(CLONE_NEWPID).task
    parent = nsinit.fork()
    child = parent.task.fork()
    parent.task.setpgid(child.pid, child.pid)
    nsinit.kill(child.pid, SIGSTOP)
    parent.task.exit(0)
    assert nsinit.waitpid(child.pid, WNOHANG | WUNTRACED) == (child.pid, (SIGSTOP << 8) | 0x7F)


# ---------------------------------------------------------------- PR_SET_PDEATHSIG

def test_pdeath_signal_is_delivered_when_the_parent_dies(kernel):
    parent = kernel.init.fork()
    child = parent.task.fork()
    child.task.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    parent.task.exit(0)
    with pytest.raises(pidlab.TaskExited):
        child.task.getpid()
    assert kernel.init.waitpid(child.pid, 0) == (child.pid, SIGUSR1)


def test_pdeath_signal_is_delivered_when_the_parent_thread_exits(kernel):
    # kernel/exit.c forget_original_parent sends pdeath_signal on every reparent,
    # also when another thread of the same process adopts the child.
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    child = thread.task.fork()
    child.task.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    thread.task.exit(0)
    with pytest.raises(pidlab.TaskExited):
        child.task.getpid()
    assert proc.task.waitpid(child.pid, 0) == (child.pid, SIGUSR1)


def test_pdeath_signal_is_cleared_in_a_forked_child(kernel):
    # kernel/fork.c copy_process: p->pdeath_signal = 0.
    proc = kernel.init.fork().task
    proc.prctl(PR_SET_PDEATHSIG, SIGUSR2)
    child = proc.fork().task
    assert child.prctl(PR_GET_PDEATHSIG) == 0
    assert proc.prctl(PR_GET_PDEATHSIG) == SIGUSR2


def test_pr_get_pdeathsig_returns_the_signal_set(kernel):
    proc = kernel.init.fork().task
    assert proc.prctl(PR_GET_PDEATHSIG) == 0
    proc.prctl(PR_SET_PDEATHSIG, SIGUSR2)
    assert proc.prctl(PR_GET_PDEATHSIG) == SIGUSR2
    proc.prctl(PR_SET_PDEATHSIG, 0)
    assert proc.prctl(PR_GET_PDEATHSIG) == 0


@pytest.mark.parametrize("sig", [65, 2**64 - 1], ids=["65", "minus_1"])
def test_pr_set_pdeathsig_rejects_an_invalid_signal(kernel, sig):
    # kernel/sys.c PR_SET_PDEATHSIG: !valid_signal(arg2) -> EINVAL.
    proc = kernel.init.fork().task
    proc.prctl(PR_SET_PDEATHSIG, SIGUSR2)
    before = snapshot([proc])
    with raises_errno(errno.EINVAL):
        proc.prctl(PR_SET_PDEATHSIG, sig)
    assert snapshot([proc]) == before
    assert proc.prctl(PR_GET_PDEATHSIG) == SIGUSR2


# ---------------------------------------------------------------- execve

def test_execve_keeps_the_pid_and_the_parent(kernel):
    parent = kernel.init.fork()
    child = parent.task.fork()
    child.task.execve()
    assert child.task.getpid() == child.pid
    assert child.task.getppid() == parent.pid


def test_execve_resets_caught_handlers_and_keeps_ignored_ones(kernel):
    proc = kernel.init.fork().task
    proc.sigaction(SIGUSR1, SIG_CATCH)
    proc.sigaction(SIGUSR2, SIG_IGN)
    proc.execve()
    assert not in_sigset(sigmask(proc, "SigCgt"), SIGUSR1)
    assert in_sigset(sigmask(proc, "SigIgn"), SIGUSR2)
    assert proc.sigaction(SIGUSR1) == SIG_DFL
    assert proc.sigaction(SIGUSR2) == SIG_IGN


def test_execve_closes_close_on_exec_descriptors(kernel):
    proc = kernel.init.fork().task
    closing = proc.open("/proc/self/ns/pid", O_CLOEXEC)
    staying = proc.open("/proc/self/ns/pid")
    assert proc.fcntl(closing, F_GETFD) == FD_CLOEXEC
    proc.execve()
    with raises_errno(errno.EBADF):
        proc.fcntl(closing, F_GETFD)
    assert proc.fcntl(staying, F_GETFD) == 0


def test_execve_from_a_non_leader_thread_takes_the_leaders_pid(kernel):
    # spec 12: exchange_tids + transfer_pid.
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    thread.task.execve()
    assert thread.task.getpid() == proc.pid
    assert thread.task.gettid() == proc.pid
    assert thread.task.getppid() == 1
    assert nspid(kernel.init, proc.pid) == [proc.pid]


def test_execve_from_a_non_leader_thread_ends_the_other_threads(kernel):
    proc = kernel.init.fork()
    execing = proc.task.spawn_thread()
    other = proc.task.spawn_thread()
    execing.task.execve()
    for gone in (proc.task, other.task):
        with pytest.raises(pidlab.TaskExited):
            gone.getpid()
    assert field(kernel.init.read_text(f"/proc/{proc.pid}/status"), "Threads") == [1]
    assert kernel.init.waitpid(proc.pid, WNOHANG) == (0, 0)     # the process lives on


def test_execve_from_a_non_leader_thread_frees_its_old_tid(kernel):
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    thread.task.execve()
    with raises_errno(errno.ESRCH):
        init.kill(thread.pid, 0)
    assert init.clone(set_tid=(thread.pid,)).pid == thread.pid


def test_execve_from_a_thread_after_the_leader_exited_takes_the_leaders_pid(kernel):
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    thread.task.execve()
    assert thread.task.gettid() == proc.pid
    assert proc_state(kernel.init, proc.pid) != "Z"
    assert kernel.init.waitpid(proc.pid, WNOHANG) == (0, 0)


def test_execve_from_a_thread_sends_pdeath_signal_to_the_old_leaders_children(kernel):
    # de_thread kills the old leader; its exit reparents its children to the execing
    # thread and forget_original_parent sends their pdeath_signal (kernel/exit.c).
    proc = kernel.init.fork()
    thread = proc.task.spawn_thread()
    child = proc.task.fork()
    child.task.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    thread.task.execve()
    assert thread.task.waitpid(child.pid, 0) == (child.pid, SIGUSR1)


def test_execve_resets_the_exit_signal_to_sigchld(kernel):
    # fs/exec.c de_thread: "we have changed execution domain", exit_signal = SIGCHLD.
    parent = kernel.init.fork()
    child = parent.task.clone(exit_signal=0)
    child.task.execve()
    child.task.exit(2)
    assert parent.task.waitpid(child.pid, WNOHANG) == (child.pid, 0x200)


def test_setpgid_on_a_child_that_has_not_exec_d_succeeds(kernel):
    init = kernel.init
    child = init.fork()
    init.setpgid(child.pid, child.pid)
    assert child.task.getpgid(0) == child.pid


def test_setpgid_on_a_child_after_it_exec_d_is_eacces(kernel):
    # spec 12: PF_FORKNOEXEC cleared by exec -> EACCES.
    init = kernel.init
    child = init.fork()
    child.task.execve()
    before = snapshot([init, child.task])
    with raises_errno(errno.EACCES):
        init.setpgid(child.pid, child.pid)
    assert snapshot([init, child.task]) == before
    assert child.task.getpgid(0) == 1
