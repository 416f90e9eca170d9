"""waitpid (wait4) and waitid: which children, which states, which statuses, which errors.

Where the expected values come from:
* /work/shared/spec/live-kernel-facts.md section 8 (8i-8m: waitid results, CLD_* codes,
  si_status values, WNOWAIT, ECHILD cases; 8o: a leader that exited first is not
  waitable until its group is empty);
* /work/shared/spec/kernel-selftests.md 2.4 (pidfd_wait.c: CLD_STOPPED/CONTINUED/KILLED order);
* /work/shared/spec/linux-pid-6.18.md sections 4 and 5 (release, reparenting, autoreap);
* Linux's kernel/exit.c (kernel_wait4 and kernel_waitid_prepare option checks,
  eligible_child's __WCLONE/__WALL rule, is_effectively_child's __WNOTHREAD rule,
  do_wait_thread walking ->children in list order, wait_task_stopped's
  (sig << 8) | 0x7f and wait_task_continued's 0xffff) and kernel/signal.c
  do_notify_parent (autoreap when SIGCHLD is ignored), where a comment names them.
"""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab import (CLONE_NEWPID, CLD_CONTINUED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, INT_MIN, P_ALL,
                    P_PGID, P_PID, P_PIDFD, PR_SET_CHILD_SUBREAPER, SIG_IGN, SIGCHLD, SIGCONT,
                    SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, WALL, WCLONE, WCONTINUED, WEXITED,
                    WNOHANG, WNOTHREAD, WNOWAIT, WSTOPPED, WUNTRACED, WaitidResult)

from pidlab.conformance.helpers import proc_state, raises_errno, snapshot

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


# ---------------------------------------------------------------- waitpid: which child

def test_waitpid_pid_reaps_that_child_even_if_another_died_first(kernel):
    init = kernel.init
    first = init.fork()
    second = init.fork()
    first.task.exit(1)
    second.task.exit(2)
    assert init.waitpid(second.pid, 0) == (second.pid, 0x200)
    assert proc_state(init, first.pid) == "Z"


def test_waitpid_minus_1_reaps_any_child(kernel):
    init = kernel.init
    child = init.fork()
    child.task.exit(3)
    assert init.waitpid(-1, 0) == (child.pid, 0x300)


def test_waitpid_0_waits_only_for_children_in_the_callers_process_group(kernel):
    parent = kernel.init.fork().task
    same = parent.fork()
    other = parent.fork()
    parent.setpgid(other.pid, other.pid)
    same.task.exit(1)
    other.task.exit(2)
    assert parent.waitpid(0, WNOHANG) == (same.pid, 0x100)
    with raises_errno(errno.ECHILD):        # the zombie left is in another group
        parent.waitpid(0, WNOHANG)


def test_waitpid_negative_pid_waits_for_that_process_group(kernel):
    parent = kernel.init.fork().task
    same = parent.fork()
    other = parent.fork()
    parent.setpgid(other.pid, other.pid)
    same.task.exit(1)
    other.task.exit(2)
    assert parent.waitpid(-other.pid, WNOHANG) == (other.pid, 0x200)


def test_waitpid_wnohang_with_a_running_child_returns_0_0(kernel):
    init = kernel.init
    child = init.fork()
    assert init.waitpid(child.pid, WNOHANG) == (0, 0)
    assert init.waitpid(-1, WNOHANG) == (0, 0)
    assert child.task.getppid() == 1


def test_waitpid_returns_the_child_pid_in_the_waiters_namespace(kernel):
    nsinit = kernel.init.clone(CLONE_NEWPID)
    child = nsinit.task.fork()
    child.task.exit(1)
    assert child.pid == 2                    # 3 in the top namespace
    assert nsinit.task.waitpid(-1, 0) == (2, 0x100)
    nsinit.task.exit(0)
    assert kernel.init.waitid(P_ALL, 0, WEXITED).si_pid == nsinit.pid


# ---------------------------------------------------------------- waitpid: statuses

def test_waitpid_status_of_an_exited_child_is_code_shifted_by_8(kernel):
    child = kernel.init.fork()
    child.task.exit(42)
    assert kernel.init.waitpid(child.pid, 0) == (child.pid, 42 << 8)


def test_waitpid_status_of_a_killed_child_is_the_signal_number(kernel):
    child = kernel.init.fork()
    kernel.init.kill(child.pid, SIGTERM)
    assert kernel.init.waitpid(child.pid, 0) == (child.pid, SIGTERM)


def test_waitpid_status_of_a_stopped_child_is_signal_shifted_by_8_or_0x7f(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    assert init.waitpid(child.pid, WUNTRACED | WNOHANG) == (child.pid, (SIGSTOP << 8) | 0x7F)


def test_stopped_child_is_reported_only_with_wuntraced_and_only_once(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    assert init.waitpid(child.pid, WNOHANG) == (0, 0)
    assert init.waitpid(child.pid, WUNTRACED | WNOHANG) == (child.pid, 0x137F)
    assert init.waitpid(child.pid, WUNTRACED | WNOHANG) == (0, 0)


def test_continue_before_the_parent_looks_replaces_the_stop_report(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    init.kill(child.pid, SIGCONT)
    assert init.waitpid(child.pid, WUNTRACED | WNOHANG) == (0, 0)
    assert init.waitpid(child.pid, WCONTINUED | WNOHANG) == (child.pid, 0xFFFF)


def test_waitpid_status_of_a_continued_child_is_0xffff(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    init.waitpid(child.pid, WUNTRACED)
    init.kill(child.pid, SIGCONT)
    assert init.waitpid(child.pid, WCONTINUED | WNOHANG) == (child.pid, 0xFFFF)
    assert child.task.getpid() == child.pid     # running again


# ---------------------------------------------------------------- waitpid: errors

def _sibling(k):
    a = k.init.fork()
    b = k.init.fork()
    return a.task, b.pid


def _grandchild(k):
    parent = k.init.fork()
    grandchild = parent.task.fork()
    grandchild.task.exit(0)                 # a zombie, still not ours
    return k.init, grandchild.pid


def _thread_of_a_child(k):
    child = k.init.fork()
    thread = child.task.spawn_thread()
    return k.init, thread.pid


def _reaped_child(k):
    child = k.init.fork()
    child.task.exit(0)
    k.init.waitpid(child.pid, 0)
    return k.init, child.pid


def _number_that_only_names_a_process_group(k):
    leader = k.init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    leader.task.exit(0)
    k.init.waitpid(leader.pid, 0)
    member.task.exit(0)                     # a zombie child of init, in group `leader`
    return k.init, leader.pid


def _own_parent(k):
    child = k.init.fork()
    return child.task, 1


def _no_children(k):
    return k.init.fork().task, -1


@pytest.mark.parametrize("scenario", [_sibling, _grandchild, _thread_of_a_child, _reaped_child,
                                      _number_that_only_names_a_process_group, _own_parent,
                                      _no_children],
                         ids=["sibling", "grandchild", "non_leader_thread_tid", "after_reap",
                              "pgid_only_number", "own_parent", "no_children"])
def test_waitpid_for_a_task_that_is_not_a_waitable_child_is_echild(kernel, scenario):
    waiter, pid = scenario(kernel)
    before = snapshot([kernel.init, waiter])
    with raises_errno(errno.ECHILD):
        waiter.waitpid(pid, 0)
    assert snapshot([kernel.init, waiter]) == before


@pytest.mark.parametrize("options", [WEXITED, WNOWAIT, WSTOPPED | WEXITED, 0x10, 1 << 20],
                         ids=["WEXITED", "WNOWAIT", "WSTOPPED_WEXITED", "0x10", "1_shl_20"])
def test_waitpid_rejects_waitid_only_and_unknown_options(kernel, options):
    # kernel_wait4: options outside WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WCLONE|__WALL.
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.waitpid(child.pid, options)
    assert snapshot([init]) == before
    assert proc_state(init, child.pid) == "Z"


def test_waitpid_int_min_is_esrch(kernel):
    # kernel_wait4: "-INT_MIN is not defined".
    child = kernel.init.fork()
    child.task.exit(0)
    with raises_errno(errno.ESRCH):
        kernel.init.waitpid(INT_MIN, 0)
    assert proc_state(kernel.init, child.pid) == "Z"


# ---------------------------------------------------------------- __WCLONE and __WALL

def test_waitpid_without_wclone_does_not_see_a_clone_child(kernel):
    # eligible_child: a child whose exit_signal is not SIGCHLD needs __WCLONE or __WALL.
    parent = kernel.init.fork().task
    child = parent.clone(exit_signal=0)
    child.task.exit(0)
    before = snapshot([parent])
    for pid in (child.pid, -1):
        with raises_errno(errno.ECHILD):
            parent.waitpid(pid, WNOHANG)
    assert snapshot([parent]) == before
    assert proc_state(parent, child.pid) == "Z"


def test_wclone_waits_only_for_clone_children(kernel):
    parent = kernel.init.fork().task
    plain = parent.fork()
    clone = parent.clone(exit_signal=0)
    plain.task.exit(1)
    clone.task.exit(2)
    assert parent.waitpid(-1, WCLONE | WNOHANG) == (clone.pid, 0x200)
    with raises_errno(errno.ECHILD):
        parent.waitpid(-1, WCLONE | WNOHANG)
    assert parent.waitpid(-1, WNOHANG) == (plain.pid, 0x100)


def test_wall_waits_for_every_kind_of_child(kernel):
    parent = kernel.init.fork().task
    plain = parent.fork()
    clone = parent.clone(exit_signal=0)
    clone.task.exit(2)
    plain.task.exit(1)
    assert parent.waitpid(-1, WALL | WNOHANG) == (plain.pid, 0x100)
    assert parent.waitpid(-1, WALL | WNOHANG) == (clone.pid, 0x200)


# ---------------------------------------------------------------- threads of the waiter

def test_a_thread_can_reap_a_child_forked_by_another_thread(kernel):
    proc = kernel.init.fork().task
    thread = proc.spawn_thread().task
    child = proc.fork()
    child.task.exit(4)
    assert thread.waitpid(child.pid, WNOHANG) == (child.pid, 0x400)


def test_wnothread_restricts_wait_to_the_callers_own_children(kernel):
    # is_effectively_child: with __WNOTHREAD only current itself counts as the parent.
    proc = kernel.init.fork().task
    thread = proc.spawn_thread().task
    child = proc.fork()
    child.task.exit(4)
    before = snapshot([proc, thread])
    for pid in (child.pid, -1):
        with raises_errno(errno.ECHILD):
            thread.waitpid(pid, WNOHANG | WNOTHREAD)
    assert snapshot([proc, thread]) == before
    assert proc.waitpid(-1, WNOHANG | WNOTHREAD) == (child.pid, 0x400)


def test_delayed_group_leader_is_not_reaped_until_its_threads_are_gone(kernel):
    # facts 8o: waitid WNOHANG gives nothing while a worker thread is alive.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    assert init.waitpid(proc.pid, WNOHANG) == (0, 0)
    assert init.waitid(P_PID, proc.pid, WEXITED | WNOHANG) is None
    with pytest.raises(pidlab.WouldBlock):
        init.waitpid(proc.pid, 0)
    thread.task.exit(3)
    assert init.waitpid(proc.pid, 0) == (proc.pid, 0x300)


def test_exec_from_a_thread_of_one_child_does_not_change_which_children_are_waitable(kernel):
    # fs/exec.c de_thread: the execing thread becomes the leader with exit_signal SIGCHLD;
    # the parent's other children keep their __WCLONE class (eligible_child).
    parent = kernel.init.fork().task
    clone = parent.clone(exit_signal=0)
    child = parent.fork()
    thread = child.task.spawn_thread()
    thread.task.execve()
    assert parent.waitpid(-1, WCLONE | WNOHANG) == (0, 0)
    thread.task.exit(0)
    assert parent.waitpid(child.pid, 0) == (child.pid, 0)
    with raises_errno(errno.ECHILD):         # only the running clone child is left
        parent.waitpid(-1, WNOHANG)
    assert clone.task.getppid() == parent.getpid()


# ---------------------------------------------------------------- waitid

def test_waitid_p_pid_reports_an_exited_child(kernel):
    child = kernel.init.fork()
    child.task.exit(5)
    res = kernel.init.waitid(P_PID, child.pid, WEXITED)
    assert res == WaitidResult(child.pid, 0, SIGCHLD, 5, CLD_EXITED)
    assert isinstance(res, WaitidResult)


def test_waitid_reports_a_killed_child_with_cld_killed(kernel):
    child = kernel.init.fork()
    kernel.init.kill(child.pid, SIGKILL)
    assert kernel.init.waitid(P_PID, child.pid, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGKILL, CLD_KILLED)


def test_waitid_wstopped_reports_cld_stopped(kernel):
    child = kernel.init.fork()
    kernel.init.kill(child.pid, SIGSTOP)
    assert kernel.init.waitid(P_PID, child.pid, WSTOPPED | WNOHANG) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)


def test_waitid_wcontinued_reports_cld_continued(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    init.waitid(P_PID, child.pid, WSTOPPED)
    init.kill(child.pid, SIGCONT)
    assert init.waitid(P_PID, child.pid, WCONTINUED | WNOHANG) == \
        WaitidResult(child.pid, 0, SIGCHLD, SIGCONT, CLD_CONTINUED)


def test_waitid_p_pgid_reports_a_child_of_that_group(kernel):
    parent = kernel.init.fork().task
    same = parent.fork()
    other = parent.fork()
    parent.setpgid(other.pid, other.pid)
    same.task.exit(1)
    other.task.exit(2)
    assert parent.waitid(P_PGID, other.pid, WEXITED | WNOHANG) == \
        WaitidResult(other.pid, 0, SIGCHLD, 2, CLD_EXITED)


def test_waitid_p_pgid_0_means_the_callers_own_group(kernel):
    parent = kernel.init.fork().task
    same = parent.fork()
    other = parent.fork()
    parent.setpgid(other.pid, other.pid)
    other.task.exit(2)
    same.task.exit(1)
    assert parent.waitid(P_PGID, 0, WEXITED | WNOHANG).si_pid == same.pid
    with raises_errno(errno.ECHILD):
        parent.waitid(P_PGID, 0, WEXITED | WNOHANG)


def test_waitid_p_all_reports_any_child(kernel):
    child = kernel.init.fork()
    child.task.exit(7)
    assert kernel.init.waitid(P_ALL, 0, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, 7, CLD_EXITED)


def test_waitid_wnowait_leaves_the_child_waitable(kernel):
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    expected = WaitidResult(child.pid, 0, SIGCHLD, 0, CLD_EXITED)
    assert init.waitid(P_PID, child.pid, WEXITED | WNOWAIT) == expected
    assert proc_state(init, child.pid) == "Z"
    assert init.waitid(P_PID, child.pid, WEXITED | WNOWAIT) == expected
    assert init.waitid(P_PID, child.pid, WEXITED) == expected
    with raises_errno(errno.ECHILD):
        init.waitid(P_PID, child.pid, WEXITED)


def test_waitid_wnowait_leaves_a_stop_reportable(kernel):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGSTOP)
    expected = WaitidResult(child.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    assert init.waitid(P_PID, child.pid, WSTOPPED | WNOWAIT | WNOHANG) == expected
    assert init.waitid(P_PID, child.pid, WSTOPPED | WNOHANG) == expected
    assert init.waitid(P_PID, child.pid, WSTOPPED | WNOHANG) is None


def test_waitid_wnohang_with_nothing_ready_returns_none(kernel):
    init = kernel.init
    child = init.fork()
    assert init.waitid(P_ALL, 0, WEXITED | WSTOPPED | WCONTINUED | WNOHANG) is None
    assert init.waitid(P_PID, child.pid, WEXITED | WNOHANG) is None


@pytest.mark.parametrize("idtype,id_,options", [
    (P_ALL, 0, WNOHANG),
    (P_ALL, 0, 0),
    (P_ALL, 0, WNOWAIT),
    (P_ALL, 0, WEXITED | 0x10),
    (P_PID, 0, WEXITED),
    (P_PID, -1, WEXITED),
    (P_PGID, -1, WEXITED),
    (4, 0, WEXITED),
    (-1, 0, WEXITED),
], ids=["no_state_WNOHANG", "no_state_0", "no_state_WNOWAIT", "unknown_bit",
        "P_PID_0", "P_PID_minus_1", "P_PGID_minus_1", "idtype_4", "idtype_minus_1"])
def test_waitid_rejects_invalid_arguments_with_einval(kernel, idtype, id_, options):
    # kernel_waitid_prepare: option checks, then the idtype switch.
    init = kernel.init
    child = init.fork()
    child.task.exit(0)
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.waitid(idtype, id_, options)
    assert snapshot([init]) == before
    assert proc_state(init, child.pid) == "Z"


def test_waitid_without_children_is_echild(kernel):
    task = kernel.init.fork().task
    with raises_errno(errno.ECHILD):
        task.waitid(P_ALL, 0, WEXITED)


# ---------------------------------------------------------------- blocking

def test_waitpid_without_wnohang_and_nothing_ready_would_block(kernel):
    init = kernel.init
    child = init.fork()
    before = snapshot([init, child.task])
    with pytest.raises(pidlab.WouldBlock):
        init.waitpid(-1, 0)
    assert snapshot([init, child.task]) == before


def test_waitid_without_wnohang_and_nothing_ready_would_block(kernel):
    init = kernel.init
    child = init.fork()
    before = snapshot([init, child.task])
    with pytest.raises(pidlab.WouldBlock):
        init.waitid(P_PID, child.pid, WEXITED | WSTOPPED)
    assert snapshot([init, child.task]) == before


# ---------------------------------------------------------------- SIGCHLD ignored

def test_children_of_a_parent_ignoring_sigchld_are_reaped_automatically(kernel):
    # kernel/signal.c do_notify_parent: SIG_IGN for SIGCHLD -> autoreap.
    parent = kernel.init.fork().task
    parent.sigaction(SIGCHLD, SIG_IGN)
    child = parent.fork()
    child.task.exit(0)
    with raises_errno(errno.ECHILD):
        parent.waitpid(child.pid, WNOHANG)
    with raises_errno(errno.ECHILD):
        parent.waitpid(-1, 0)
    with raises_errno(errno.ESRCH):
        parent.kill(child.pid, 0)


def test_zombie_reparented_to_a_parent_ignoring_sigchld_is_reaped_at_once(kernel):
    # spec 5: an already-zombie orphan is re-notified and autoreaped if the new
    # parent ignores SIGCHLD (reparent_leader -> do_notify_parent).
    subreaper = kernel.init.fork().task
    subreaper.prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent = subreaper.fork()
    child = parent.task.fork()
    child.task.exit(6)
    subreaper.sigaction(SIGCHLD, SIG_IGN)
    parent.task.exit(0)
    with raises_errno(errno.ECHILD):
        subreaper.waitpid(-1, WNOHANG)
    for pid in (parent.pid, child.pid):
        with raises_errno(errno.ESRCH):
            subreaper.kill(pid, 0)


# ---------------------------------------------------------------- order and reparenting

def test_waitpid_minus_1_reports_zombies_in_fork_order_not_death_order(kernel):
    # do_wait_thread walks ->children, where fork appends (list_add_tail).
    init = kernel.init
    a, b, c = init.fork(), init.fork(), init.fork()
    c.task.exit(3)
    a.task.exit(1)
    b.task.exit(2)
    got = [init.waitpid(-1, WNOHANG) for _ in range(3)]
    assert got == [(a.pid, 0x100), (b.pid, 0x200), (c.pid, 0x300)]


def test_reparented_zombie_is_reported_to_the_new_parent_after_its_old_parent(kernel):
    # forget_original_parent splices the orphans to the tail of the reaper's children.
    init = kernel.init
    parent = init.fork()
    child = parent.task.fork()
    child.task.exit(6)
    parent.task.exit(0)
    assert init.waitpid(-1, WNOHANG) == (parent.pid, 0)
    assert init.waitpid(-1, WNOHANG) == (child.pid, 0x600)
    with raises_errno(errno.ECHILD):
        init.waitpid(-1, WNOHANG)


def test_reparented_zombie_is_reported_to_the_subreaper(kernel):
    subreaper = kernel.init.fork().task
    subreaper.prctl(PR_SET_CHILD_SUBREAPER, 1)
    parent = subreaper.fork()
    child = parent.task.fork()
    child.task.exit(6)
    parent.task.exit(0)
    assert subreaper.waitid(P_ALL, 0, WEXITED | WNOHANG) == \
        WaitidResult(parent.pid, 0, SIGCHLD, 0, CLD_EXITED)
    assert subreaper.waitid(P_ALL, 0, WEXITED | WNOHANG) == \
        WaitidResult(child.pid, 0, SIGCHLD, 6, CLD_EXITED)


def test_waitpid_minus_1_keeps_sibling_order_after_many_children_reaped_by_pid(kernel):
    # The model drops the waiter's stale entries of children reaped by pid (its wait heap
    # stays O(children): k.check() verifies it); the order of the rest must not change.
    init = kernel.init
    a, b, c = (init.fork() for _ in range(3))
    for _ in range(60):
        x = init.fork()
        x.task.exit_group(0)
        assert init.waitpid(x.pid, 0) == (x.pid, 0)
    for child, code in ((c, 3), (a, 1), (b, 2)):
        child.task.exit_group(code)
    assert [init.waitpid(-1, 0) for _ in range(3)] == [(a.pid, 1 << 8), (b.pid, 2 << 8),
                                                       (c.pid, 3 << 8)]


# ---------------------------------------------------------------- waitid without WEXITED
#
# kernel/exit.c wait_consider_task: a zombie that can be reaped (not a group leader
# whose threads still run: delay_group_leader) goes to wait_task_zombie, which
# returns 0 at once without WEXITED -- and, unlike every other eligible child, it
# does not clear notask_error.  So a waitid(WSTOPPED|WCONTINUED) whose only
# eligible children are such zombies fails with ECHILD, WNOHANG or not, instead of
# returning nothing or blocking; the zombie stays for a later WEXITED wait.
# A running, stopped or continued child, or a zombie leader with live threads
# (whose group can still stop, continue and exit), clears notask_error.

NO_WEXITED = [WSTOPPED, WCONTINUED, WSTOPPED | WCONTINUED, WSTOPPED | WNOHANG,
              WCONTINUED | WNOHANG, WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT,
              WSTOPPED | WNOTHREAD | WALL]
NO_WEXITED_IDS = ["WSTOPPED", "WCONTINUED", "WSTOPPED_WCONTINUED", "WSTOPPED_WNOHANG",
                  "WCONTINUED_WNOHANG", "both_WNOHANG_WNOWAIT", "WSTOPPED_WNOTHREAD_WALL"]


def _waitid_for(task, idtype: str, pid: int, options: int):
    if idtype == "P_ALL":
        return task.waitid(P_ALL, 0, options)
    if idtype == "P_PID":
        return task.waitid(P_PID, pid, options)
    if idtype == "P_PGID":
        return task.waitid(P_PGID, 0, options)
    fd = task.pidfd_open(pid)
    try:
        return task.waitid(P_PIDFD, fd, options)
    finally:
        task.close(fd)


@pytest.mark.parametrize("idtype", ["P_ALL", "P_PID", "P_PGID", "P_PIDFD"])
@pytest.mark.parametrize("options", NO_WEXITED, ids=NO_WEXITED_IDS)
def test_waitid_without_wexited_when_the_only_child_is_a_zombie_is_echild(kernel, idtype,
                                                                          options):
    init = kernel.init
    child = init.fork()
    child.task.exit(6)
    with raises_errno(errno.ECHILD):
        _waitid_for(init, idtype, child.pid, options)
    assert proc_state(init, child.pid) == "Z"           # skipped, not reaped
    assert init.waitid(P_PID, child.pid, WEXITED) == \
        WaitidResult(child.pid, 0, SIGCHLD, 6, CLD_EXITED)


@pytest.mark.parametrize("idtype", ["P_ALL", "P_PID"])
def test_waitid_without_wexited_skips_a_killed_zombie_too(kernel, idtype):
    init = kernel.init
    child = init.fork()
    init.kill(child.pid, SIGKILL)
    with raises_errno(errno.ECHILD):
        _waitid_for(init, idtype, child.pid, WSTOPPED | WCONTINUED | WNOHANG)
    assert init.waitpid(child.pid, 0) == (child.pid, SIGKILL)


def test_waitid_without_wexited_waits_for_a_running_sibling_of_the_zombie(kernel):
    init = kernel.init
    zombie = init.fork()
    zombie.task.exit(1)
    init.fork()
    assert init.waitid(P_ALL, 0, WSTOPPED | WCONTINUED | WNOHANG) is None
    with pytest.raises(pidlab.WouldBlock):
        init.waitid(P_ALL, 0, WSTOPPED)
    with raises_errno(errno.ECHILD):            # by pid, only the zombie is looked at
        init.waitid(P_PID, zombie.pid, WSTOPPED | WNOHANG)
    assert proc_state(init, zombie.pid) == "Z"


def test_waitid_without_wexited_still_reports_a_stopped_child_past_a_zombie(kernel):
    init = kernel.init
    zombie = init.fork()
    zombie.task.exit(1)
    stopped = init.fork()
    init.kill(stopped.pid, SIGSTOP)
    assert init.waitid(P_ALL, 0, WSTOPPED | WNOHANG) == \
        WaitidResult(stopped.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    # The stop is consumed; the stopped child still counts, the zombie does not.
    assert init.waitid(P_ALL, 0, WSTOPPED | WNOHANG) is None
    with raises_errno(errno.ECHILD):
        init.waitid(P_PID, zombie.pid, WSTOPPED | WNOHANG)


def test_waitid_without_wexited_with_wclone_ignores_an_ordinary_zombie_and_a_clone_zombie(kernel):
    init = kernel.init
    plain = init.fork()
    plain.task.exit(1)
    clone = init.clone(0, exit_signal=SIGUSR1)
    clone.task.exit(2)
    for options in (WSTOPPED | WNOHANG, WSTOPPED | WCLONE | WNOHANG, WSTOPPED | WALL | WNOHANG):
        with raises_errno(errno.ECHILD):
            init.waitid(P_ALL, 0, options)
    assert init.waitid(P_ALL, 0, WEXITED | WALL | WNOHANG).si_pid == plain.pid
    assert init.waitid(P_ALL, 0, WEXITED | WALL | WNOHANG).si_pid == clone.pid


def test_waitid_without_wexited_and_wnothread_ignores_another_threads_running_child(kernel):
    # Only the caller's own children count with __WNOTHREAD (do_wait stops after
    # current's list): its zombie alone makes ECHILD even though a sibling thread has
    # a running child; without __WNOTHREAD that child makes the wait come back empty.
    proc = kernel.init.fork().task
    thread = proc.spawn_thread().task
    thread.fork()                               # running, the thread's child
    zombie = proc.fork()
    zombie.task.exit(3)
    with raises_errno(errno.ECHILD):
        proc.waitid(P_ALL, 0, WSTOPPED | WNOTHREAD | WNOHANG)
    assert proc.waitid(P_ALL, 0, WSTOPPED | WNOHANG) is None


# ---------------------------------------------------------------- a zombie leader with live threads

def test_waitid_wstopped_on_a_zombie_leader_with_live_threads_comes_back_empty_not_echild(kernel):
    # delay_group_leader: the zombie leader is not reaped and falls through to the
    # stopped/continued checks, clearing notask_error.
    init = kernel.init
    proc = init.fork()
    proc.task.spawn_thread()
    proc.task.exit(0)
    for idtype in ("P_ALL", "P_PID", "P_PIDFD"):
        assert _waitid_for(init, idtype, proc.pid, WSTOPPED | WNOHANG) is None
        assert _waitid_for(init, idtype, proc.pid, WEXITED | WNOHANG) is None
    with pytest.raises(pidlab.WouldBlock):
        init.waitid(P_PID, proc.pid, WSTOPPED | WCONTINUED)


def test_a_group_whose_leader_exited_is_reported_stopped_and_continued_under_the_leaders_pid(kernel):
    # The stop is the group's (signal->flags, group_exit_code): wait_task_stopped and
    # wait_task_continued read them through the zombie leader.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    init.kill(proc.pid, SIGSTOP)
    assert proc_state(init, f"{proc.pid}/task/{thread.pid}") == "T"
    assert proc_state(init, proc.pid) == "Z"
    stopped = WaitidResult(proc.pid, 0, SIGCHLD, SIGSTOP, CLD_STOPPED)
    assert init.waitid(P_PID, proc.pid, WSTOPPED | WNOWAIT | WNOHANG) == stopped
    assert init.waitpid(proc.pid, WUNTRACED | WNOHANG) == (proc.pid, (SIGSTOP << 8) | 0x7F)
    assert init.waitid(P_PID, proc.pid, WSTOPPED | WNOHANG) is None      # consumed
    init.kill(proc.pid, SIGCONT)
    assert init.waitid(P_ALL, 0, WCONTINUED | WNOHANG) == \
        WaitidResult(proc.pid, 0, SIGCHLD, SIGCONT, CLD_CONTINUED)
    thread.task.exit(4)                 # the last thread: the group's exit code is its
    assert init.waitpid(proc.pid, WUNTRACED) == (proc.pid, 4 << 8)


def test_the_last_thread_leaving_makes_a_zombie_leader_reapable_and_then_invisible_to_wstopped(kernel):
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    assert init.waitid(P_PID, proc.pid, WSTOPPED | WNOHANG) is None
    thread.task.exit(9)
    with raises_errno(errno.ECHILD):
        init.waitid(P_PID, proc.pid, WSTOPPED | WNOHANG)
    assert init.waitid(P_PID, proc.pid, WEXITED | WNOHANG) == \
        WaitidResult(proc.pid, 0, SIGCHLD, 9, CLD_EXITED)


# ---------------------------------------------------------------- waitpid equivalents

@pytest.mark.parametrize("options", [WUNTRACED, WCONTINUED, WUNTRACED | WCONTINUED, WNOTHREAD],
                         ids=["WUNTRACED", "WCONTINUED", "both", "WNOTHREAD"])
def test_waitpid_always_reaps_a_zombie_because_wait4_adds_wexited(kernel, options):
    # kernel_wait4: wo_flags = options | WEXITED.
    init = kernel.init
    child = init.fork()
    child.task.exit(2)
    assert init.waitpid(-1, options | WNOHANG) == (child.pid, 2 << 8)
    with raises_errno(errno.ECHILD):
        init.waitpid(-1, options | WNOHANG)


def test_waitpid_of_a_thread_id_is_echild_even_while_the_thread_runs(kernel):
    # do_wait_pid looks for a PIDTYPE_TGID task of that pid: a thread has none.
    init = kernel.init
    proc = init.fork()
    thread = proc.task.spawn_thread()
    for wait in (lambda: init.waitpid(thread.pid, WNOHANG),
                 lambda: init.waitid(P_PID, thread.pid, WEXITED | WSTOPPED | WNOHANG)):
        with raises_errno(errno.ECHILD):
            wait()
