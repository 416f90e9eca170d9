"""kill, tgkill, sigaction and the default actions of signals, on both backends.

Expected values come from /work/shared/spec/linux-pid-6.18.md (section 5,
"Namespace init and signals"; section 8 for the kill-family errnos) and from
kernel/signal.c (kill_something_info, check_kill_permission, kill_ok_by_cred,
do_send_specific, do_sigaction, prepare_signal, complete_signal, get_signal)
and kernel/exit.c (kill_orphaned_pgrp, will_become_orphaned_pgrp) as read
in the Kingxukai/linux copy.  Wait statuses are the wait(2) encoding:
a signal death is the signal number, a stop is (sig << 8) | 0x7f, a
continue is 0xffff.
"""

from __future__ import annotations

import errno
import os

import pytest

import pidlab
from pidlab import (CAP_KILL, CAP_SETUID, CLONE_NEWPID, PIDFD_SIGNAL_THREAD,
                    PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD, SIG_CATCH, SIG_DFL, SIG_IGN, SIGCHLD,
                    SIGCONT, SIGHUP, SIGKILL, SIGSTOP, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
                    SIGURG, SIGUSR1, SIGUSR2, SIGWINCH, WCONTINUED, WNOHANG, WUNTRACED)

from pidlab.conformance.helpers import needs, raises_errno, snapshot, status_lines

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

STOPPED = "T (stopped)"
SLEEPING = "S (sleeping)"


def state(observer, pid) -> str:
    return status_lines(observer.read_text(f"/proc/{pid}/status"))["State"]


def still_running(parent, pid) -> bool:
    """The child has nothing to report: it is neither dead nor newly stopped."""
    return parent.waitpid(pid, WNOHANG) == (0, 0)


def stop_status(sig: int) -> int:
    return (sig << 8) | 0x7F


# ---------------------------------------------------------------- kill targets

def test_kill_of_a_positive_pid_signals_only_that_process(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    init.kill(a.pid, SIGTERM)
    assert init.waitpid(a.pid, 0) == (a.pid, SIGTERM)
    assert still_running(init, b.pid)


def test_kill_of_zero_signals_every_member_of_the_callers_group_itself_included(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setpgid(0, 0)
    b = a.task.fork()                       # inherits a's group
    outsider = init.fork()                  # stays in init's group
    assert a.task.kill(0, SIGTERM) is None  # a kills itself too: the call returns nothing
    with pytest.raises(pidlab.TaskExited):
        a.task.getpid()
    assert init.waitpid(a.pid, 0) == (a.pid, SIGTERM)
    assert init.waitpid(b.pid, 0) == (b.pid, SIGTERM)   # reparented to init when a died
    assert still_running(init, outsider.pid)


def test_kill_of_a_negative_pgid_signals_that_group_only(kernel):
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    outsider = init.fork()
    init.kill(-leader.pid, SIGTERM)
    assert init.waitpid(leader.pid, 0) == (leader.pid, SIGTERM)
    assert init.waitpid(member.pid, 0) == (member.pid, SIGTERM)
    assert still_running(init, outsider.pid)


def test_kill_of_a_negative_number_that_names_no_group_is_esrch(kernel):
    init = kernel.init
    c = init.fork()                         # a process, but not a group leader
    before = snapshot([init, c.task])
    with raises_errno(errno.ESRCH):
        init.kill(-c.pid, 0)
    with raises_errno(errno.ESRCH):
        init.kill(-999, SIGTERM)
    assert snapshot([init, c.task]) == before


def test_kill_of_minus_one_spares_the_caller_and_the_namespace_init(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    grandchild = a.task.fork()
    a.task.kill(-1, SIGTERM)
    assert init.waitpid(b.pid, 0) == (b.pid, SIGTERM)
    assert a.task.waitpid(grandchild.pid, 0) == (grandchild.pid, SIGTERM)
    assert still_running(init, a.pid)       # the caller
    assert init.getpid() == 1               # pid 1 was skipped


def test_kill_of_minus_one_with_no_other_process_is_esrch(kernel):
    init = kernel.init
    only = init.fork()
    with raises_errno(errno.ESRCH):
        only.task.kill(-1, 0)               # init (pid 1) and the caller do not count
    only.task.exit(0)
    init.waitpid(only.pid, 0)
    with raises_errno(errno.ESRCH):
        init.kill(-1, 0)


def test_kill_of_minus_one_still_counts_a_zombie(kernel):
    init = kernel.init
    zombie, caller = init.fork(), init.fork()
    zombie.task.exit(3)
    caller.task.kill(-1, 0)                 # for_each_process still lists the zombie
    assert init.waitpid(zombie.pid, 0) == (zombie.pid, 3 << 8)


def test_kill_of_minus_one_from_a_namespace_reaches_only_that_namespace(kernel):
    init = kernel.init
    outsider = init.fork()
    ns_init = init.clone(CLONE_NEWPID)
    c1, c2 = ns_init.task.fork(), ns_init.task.fork()
    c1.task.kill(-1, SIGKILL)
    assert ns_init.task.waitpid(c2.pid, 0) == (c2.pid, SIGKILL)
    assert still_running(init, outsider.pid)
    assert still_running(init, ns_init.pid)
    assert still_running(ns_init.task, c1.pid)


def test_kill_of_minus_one_reports_success_when_every_target_refuses_permission(kernel):
    # kill_something_info: EPERM answers do not become the result; count > 0 gives 0.
    init = kernel.init
    sender, root_peer = init.fork(), init.fork()
    sender.task.setuid(1000)
    assert sender.task.kill(-1, SIGTERM) is None
    assert still_running(init, root_peer.pid)


# ---------------------------------------------------------------- probes and bad signals

def test_signal_zero_probes_a_process_without_signalling_it(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, 0)
    assert still_running(init, c.pid)
    assert state(init, c.pid) == SLEEPING


def test_signal_zero_to_a_missing_pid_is_esrch(kernel):
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.ESRCH):
        init.kill(999, 0)
    assert snapshot([init]) == before


@pytest.mark.parametrize("sig", [65, -1, 1000])
def test_an_invalid_signal_to_an_existing_process_is_einval(kernel, sig):
    init = kernel.init
    c = init.fork()
    before = snapshot([init, c.task])
    with raises_errno(errno.EINVAL):
        init.kill(c.pid, sig)
    with raises_errno(errno.EINVAL):
        init.kill(-1, sig)
    with raises_errno(errno.EINVAL):
        init.kill(0, sig)
    assert snapshot([init, c.task]) == before


@pytest.mark.parametrize("sig", [65, -1])
def test_an_invalid_signal_to_a_missing_target_is_esrch(kernel, sig):
    # check_kill_permission (which rejects the signal) only runs on a task found.
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.ESRCH):
        init.kill(999, sig)
    with raises_errno(errno.ESRCH):
        init.kill(-999, sig)
    assert snapshot([init]) == before


def test_kill_of_a_zombie_succeeds_and_leaves_its_exit_status(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(7)
    init.kill(c.pid, 0)
    init.kill(c.pid, SIGKILL)
    assert init.waitpid(c.pid, 0) == (c.pid, 7 << 8)


def test_kill_of_a_reaped_pid_is_esrch(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(0)
    init.waitpid(c.pid, 0)
    with raises_errno(errno.ESRCH):
        init.kill(c.pid, 0)


# ---------------------------------------------------------------- permission

def test_another_uid_without_cap_kill_gets_eperm(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    sender.task.setuid(1000)                # root's setuid drops every capability
    before = snapshot([sender.task, target.task])
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, SIGTERM)
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, 0)
    assert snapshot([sender.task, target.task]) == before


def test_sigcont_to_another_uid_in_the_same_session_is_allowed(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    sender.task.setuid(1000)
    sender.task.kill(target.pid, SIGCONT)
    assert still_running(init, target.pid)


def test_sigcont_to_another_uid_in_another_session_is_eperm(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setsid()
    sender.task.setuid(1000)
    before = snapshot([sender.task, target.task])
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, SIGCONT)
    assert snapshot([sender.task, target.task]) == before


def test_cap_kill_lets_a_sender_signal_another_uid(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setuid(2000)
    sender.task.capset({CAP_KILL})
    sender.task.kill(target.pid, SIGTERM)
    assert init.waitpid(target.pid, 0) == (target.pid, SIGTERM)


def test_root_uid_without_cap_kill_cannot_signal_another_uid(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setuid(2000)
    sender.task.capset({CAP_SETUID})
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, SIGTERM)
    assert still_running(init, target.pid)


def test_a_process_may_always_signal_itself(kernel):
    init = kernel.init
    c = init.fork()
    c.task.setuid(1000)
    c.task.kill(c.pid, 0)
    assert c.task.kill(c.pid, SIGTERM) is None
    assert init.waitpid(c.pid, 0) == (c.pid, SIGTERM)


# ---------------------------------------------------------------- tgkill

@pytest.mark.parametrize("tgid_tid", [(0, "tid"), ("tgid", 0), (-1, "tid"), ("tgid", -1), (0, 999)])
def test_tgkill_with_a_nonpositive_id_is_einval(kernel, tgid_tid):
    init = kernel.init
    c = init.fork()
    ids = {"tid": c.pid, "tgid": c.pid}
    tgid, tid = (ids.get(x, x) for x in tgid_tid)
    before = snapshot([init, c.task])
    with raises_errno(errno.EINVAL):
        init.tgkill(tgid, tid, SIGTERM)
    assert snapshot([init, c.task]) == before


def test_tgkill_with_a_tid_outside_that_thread_group_is_esrch(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    thread = a.task.spawn_thread()
    before = snapshot([init, a.task, b.task])
    with raises_errno(errno.ESRCH):
        init.tgkill(a.pid, b.pid, SIGTERM)
    with raises_errno(errno.ESRCH):
        init.tgkill(b.pid, thread.pid, SIGTERM)
    with raises_errno(errno.ESRCH):
        init.tgkill(thread.pid, thread.pid, SIGTERM)   # a thread's tgid is its leader's
    with raises_errno(errno.ESRCH):
        init.tgkill(a.pid, 999, 65)                    # ESRCH before the signal is checked
    assert snapshot([init, a.task, b.task]) == before


def test_tgkill_with_an_invalid_signal_to_an_existing_thread_is_einval(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    with raises_errno(errno.EINVAL):
        init.tgkill(a.pid, thread.pid, 65)


def test_tgkill_probes_and_signals_a_non_leader_thread(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    init.tgkill(a.pid, thread.pid, 0)
    assert still_running(init, a.pid)
    # A fatal signal sent to one thread takes down its whole thread group.
    init.tgkill(a.pid, thread.pid, SIGTERM)
    assert init.waitpid(a.pid, 0) == (a.pid, SIGTERM)


# ---------------------------------------------------------------- sigaction

def test_sigaction_returns_the_previous_handler(kernel):
    t = kernel.init.fork().task
    assert t.sigaction(SIGUSR1, SIG_IGN) == SIG_DFL
    assert t.sigaction(SIGUSR1, SIG_CATCH) == SIG_IGN
    assert t.sigaction(SIGUSR1, SIG_DFL) == SIG_CATCH
    assert t.sigaction(SIGUSR1) == SIG_DFL          # reading changes nothing
    assert t.sigaction(SIGUSR1) == SIG_DFL


@pytest.mark.parametrize("sig", [SIGKILL, SIGSTOP])
@pytest.mark.parametrize("handler", [SIG_DFL, SIG_IGN, SIG_CATCH])
def test_sigaction_cannot_change_sigkill_or_sigstop(kernel, sig, handler):
    t = kernel.init.fork().task
    before = snapshot([t])
    with raises_errno(errno.EINVAL):
        t.sigaction(sig, handler)
    assert snapshot([t]) == before
    assert t.sigaction(sig) == SIG_DFL              # reading them is allowed


@pytest.mark.parametrize("sig", [0, 65, -1])
def test_sigaction_of_a_signal_that_does_not_exist_is_einval(kernel, sig):
    t = kernel.init.fork().task
    before = snapshot([t])
    with raises_errno(errno.EINVAL):
        t.sigaction(sig, SIG_IGN)
    with raises_errno(errno.EINVAL):
        t.sigaction(sig)
    assert snapshot([t]) == before


def test_an_ignored_signal_does_nothing(kernel):
    init = kernel.init
    c = init.fork()
    c.task.sigaction(SIGTERM, SIG_IGN)
    init.kill(c.pid, SIGTERM)
    assert still_running(init, c.pid)


def test_an_ignored_signal_is_discarded_not_kept_pending_by_a_stopped_process(kernel):
    # sig_ignored at generation time: a SIG_IGN signal never reaches the queue,
    # so nothing kills the process when it continues (compare the SIG_DFL test below).
    init = kernel.init
    c = init.fork()
    c.task.sigaction(SIGTERM, SIG_IGN)
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGTERM)
    init.kill(c.pid, SIGCONT)
    assert state(init, c.pid) == SLEEPING
    assert still_running(init, c.pid)


# ---------------------------------------------------------------- default actions

@pytest.mark.parametrize("sig", [SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGKILL])
def test_a_terminating_default_action_kills_with_the_signal_as_status(kernel, sig):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, sig)
    pid, status = init.waitpid(c.pid, 0)
    assert (pid, status) == (c.pid, sig)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig


@pytest.mark.parametrize("sig", [SIGCHLD, SIGURG, SIGWINCH])
def test_a_signal_ignored_by_default_leaves_the_process_running(kernel, sig):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, sig)
    assert still_running(init, c.pid)
    assert state(init, c.pid) == SLEEPING


def test_sigstop_stops_and_wuntraced_reports_it_once(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    assert state(init, c.pid) == STOPPED
    pid, status = init.waitpid(c.pid, WUNTRACED)
    assert (pid, status) == (c.pid, stop_status(SIGSTOP))
    assert os.WIFSTOPPED(status) and os.WSTOPSIG(status) == SIGSTOP
    assert init.waitpid(c.pid, WUNTRACED | WNOHANG) == (0, 0)


def test_a_stop_is_not_reported_without_wuntraced(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    assert init.waitpid(c.pid, WNOHANG) == (0, 0)


def test_sigtstp_stops_a_process_whose_group_is_not_orphaned(kernel):
    # b's group is linked to the session through its parent a (other group, same session).
    a = kernel.init.fork()
    b = a.task.fork()
    b.task.setpgid(0, 0)
    a.task.kill(b.pid, SIGTSTP)
    assert state(a.task, b.pid) == STOPPED
    assert a.task.waitpid(b.pid, WUNTRACED) == (b.pid, stop_status(SIGTSTP))


def test_sigcont_continues_a_stopped_process_and_wcontinued_reports_it(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGCONT)
    assert state(init, c.pid) == SLEEPING
    pid, status = init.waitpid(c.pid, WCONTINUED)
    assert (pid, status) == (c.pid, 0xFFFF)
    assert os.WIFCONTINUED(status)
    assert init.waitpid(c.pid, WCONTINUED | WNOHANG) == (0, 0)


def test_a_stopped_task_cannot_make_calls_until_it_continues(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    with pytest.raises(pidlab.WouldBlock):
        c.task.getpid()
    init.kill(c.pid, SIGCONT)
    assert c.task.getpid() == c.pid


def test_a_stopped_process_keeps_sigterm_pending_until_sigcont_then_dies(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGTERM)
    assert state(init, c.pid) == STOPPED
    assert still_running(init, c.pid)
    init.kill(c.pid, SIGCONT)
    assert init.waitpid(c.pid, 0) == (c.pid, SIGTERM)


def test_sigkill_kills_a_stopped_process(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGKILL)
    assert init.waitpid(c.pid, 0) == (c.pid, SIGKILL)


def test_a_caught_signal_does_not_kill(kernel):
    init = kernel.init
    c = init.fork()
    c.task.sigaction(SIGTERM, SIG_CATCH)
    init.kill(c.pid, SIGTERM)
    assert still_running(init, c.pid)
    assert c.task.getpid() == c.pid


# ---------------------------------------------------------------- namespace init (spec §5)

@pytest.mark.parametrize("sig", [SIGTERM, SIGUSR1])
def test_a_namespace_init_drops_a_default_signal_even_from_its_parent_namespace(kernel, sig):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    init.kill(ns_init.pid, sig)
    assert still_running(init, ns_init.pid)
    assert ns_init.task.getpid() == 1


def test_a_namespace_init_drops_sigkill_sent_from_inside_its_namespace(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inside = ns_init.task.fork()
    inside.task.kill(1, SIGKILL)            # succeeds, and is dropped
    assert still_running(init, ns_init.pid)
    assert ns_init.task.getpid() == 1


def test_a_namespace_init_dies_from_sigkill_sent_from_an_ancestor_namespace(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    init.kill(ns_init.pid, SIGKILL)
    assert init.waitpid(ns_init.pid, 0) == (ns_init.pid, SIGKILL)


def test_a_namespace_init_is_stopped_by_sigstop_from_an_ancestor_only(kernel):
    # get_signal: a SIGNAL_UNKILLABLE task that sees a kernel-only signal must take it.
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inside = ns_init.task.fork()
    inside.task.kill(1, SIGSTOP)
    assert state(init, ns_init.pid) == SLEEPING
    init.kill(ns_init.pid, SIGSTOP)
    assert state(init, ns_init.pid) == STOPPED


def test_a_namespace_init_takes_a_signal_it_has_a_handler_for(kernel):
    # The handler is not SIG_DFL, so sig_task_ignored keeps the signal; the
    # (empty) handler runs and the init goes on.
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inside = ns_init.task.fork()
    assert ns_init.task.sigaction(SIGTERM, SIG_CATCH) == SIG_DFL
    inside.task.kill(1, SIGTERM)
    init.kill(ns_init.pid, SIGTERM)
    assert still_running(init, ns_init.pid)
    assert ns_init.task.sigaction(SIGTERM) == SIG_CATCH


# ---------------------------------------------------------------- orphaned process groups

def _session_with_group_below(kernel):
    """a: leader of a new session; p: a's child, leader of its own group in
    that session; c: p's child, in p's group.  c's group hangs on p alone:
    init, c's reaper-to-be, is in another session."""
    a = kernel.init.fork()
    a.task.setsid()
    p = a.task.fork()
    p.task.setpgid(0, 0)
    c = p.task.fork()
    return a, p, c


def test_a_group_orphaned_with_a_stopped_member_gets_sighup_then_sigcont(kernel):
    init = kernel.init
    a, p, c = _session_with_group_below(kernel)
    p.task.kill(c.pid, SIGSTOP)
    assert state(init, c.pid) == STOPPED
    p.task.exit(0)                          # kill_orphaned_pgrp: SIGHUP, SIGCONT to c's group
    assert init.waitpid(c.pid, 0) == (c.pid, SIGHUP)
    assert a.task.waitpid(p.pid, 0) == (p.pid, 0)


def test_a_stopped_member_that_catches_sighup_is_continued_when_its_group_is_orphaned(kernel):
    init = kernel.init
    a, p, c = _session_with_group_below(kernel)
    c.task.sigaction(SIGHUP, SIG_CATCH)
    p.task.kill(c.pid, SIGSTOP)
    p.task.exit(0)
    assert state(init, c.pid) == SLEEPING
    assert init.waitpid(c.pid, WCONTINUED | WNOHANG) == (c.pid, 0xFFFF)


def test_a_group_orphaned_without_stopped_members_gets_no_sighup(kernel):
    init = kernel.init
    a, p, c = _session_with_group_below(kernel)
    p.task.exit(0)
    assert still_running(init, c.pid)
    assert state(init, c.pid) == SLEEPING


@pytest.mark.parametrize("sig", [SIGTSTP, SIGTTIN, SIGTTOU])
def test_a_job_control_stop_is_ignored_in_an_orphaned_group_but_sigstop_stops(kernel, sig):
    # a leads a new session: its group's only outside parent (init) is in
    # another session, so the group is orphaned.
    a = kernel.init.fork()
    a.task.setsid()
    b = a.task.fork()
    a.task.kill(b.pid, sig)
    assert state(a.task, b.pid) == SLEEPING
    assert a.task.waitpid(b.pid, WUNTRACED | WNOHANG) == (0, 0)
    a.task.kill(b.pid, SIGSTOP)
    assert state(a.task, b.pid) == STOPPED


# ---------------------------------------------------------------- more on groups, threads and stops

def test_kill_of_a_group_succeeds_when_any_member_accepts_the_signal(kernel):
    # __kill_pgrp_info: one success makes the result 0, whatever the others say.
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    same_uid = leader.task.fork()
    same_uid.task.setuid(1000)
    sender = init.fork()
    sender.task.setuid(1000)
    sender.task.kill(-leader.pid, SIGTERM)
    assert leader.task.waitpid(same_uid.pid, 0) == (same_uid.pid, SIGTERM)
    assert still_running(init, leader.pid)


def test_kill_of_a_group_where_no_member_accepts_the_signal_is_eperm(kernel):
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    leader.task.fork()
    sender = init.fork()
    sender.task.setuid(1000)
    with raises_errno(errno.EPERM):
        sender.task.kill(-leader.pid, SIGTERM)
    assert still_running(init, leader.pid)


def test_kill_of_a_thread_id_signals_its_whole_process(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    init.kill(thread.pid, SIGTERM)
    assert init.waitpid(a.pid, 0) == (a.pid, SIGTERM)


def test_a_disposition_set_by_a_thread_holds_for_the_whole_process(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    assert thread.task.sigaction(SIGTERM, SIG_IGN) == SIG_DFL
    assert a.task.sigaction(SIGTERM) == SIG_IGN
    init.kill(a.pid, SIGTERM)
    assert still_running(init, a.pid)


def test_a_stop_takes_every_thread_of_the_process(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    init.kill(a.pid, SIGSTOP)
    assert state(init, f"{a.pid}/task/{thread.pid}") == STOPPED
    assert state(init, a.pid) == STOPPED
    with pytest.raises(pidlab.WouldBlock):
        thread.task.getpid()
    init.kill(a.pid, SIGCONT)
    assert state(init, f"{a.pid}/task/{thread.pid}") == SLEEPING
    assert thread.task.getpid() == a.pid


def test_a_stop_continued_before_the_parent_waited_is_no_longer_reported(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGCONT)
    assert init.waitpid(c.pid, WUNTRACED | WNOHANG) == (0, 0)
    assert init.waitpid(c.pid, WUNTRACED | WCONTINUED | WNOHANG) == (c.pid, 0xFFFF)


def test_sigcont_to_a_running_process_gives_no_continued_report(kernel):
    init = kernel.init
    c = init.fork()
    init.kill(c.pid, SIGCONT)
    assert init.waitpid(c.pid, WCONTINUED | WNOHANG) == (0, 0)


def test_sigcont_continues_a_process_even_when_it_ignores_sigcont(kernel):
    # prepare_signal resumes the group before the "ignored" test drops the signal.
    init = kernel.init
    c = init.fork()
    c.task.sigaction(SIGCONT, SIG_IGN)
    init.kill(c.pid, SIGSTOP)
    init.kill(c.pid, SIGCONT)
    assert state(init, c.pid) == SLEEPING
    assert init.waitpid(c.pid, WCONTINUED | WNOHANG) == (c.pid, 0xFFFF)


def test_kill_of_minus_one_from_the_top_reaches_nested_namespaces_whose_init_drops_sigterm(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    inner = ns_init.task.fork()
    init.kill(-1, SIGTERM)
    assert ns_init.task.waitpid(inner.pid, 0) == (inner.pid, SIGTERM)
    assert still_running(init, ns_init.pid)


def test_kill_of_minus_one_with_sigkill_from_the_top_kills_nested_inits_too(kernel):
    init = kernel.init
    other = init.fork()
    ns_init = init.clone(CLONE_NEWPID)
    ns_init.task.fork()
    init.kill(-1, SIGKILL)
    assert init.waitpid(other.pid, 0) == (other.pid, SIGKILL)
    assert init.waitpid(ns_init.pid, 0) == (ns_init.pid, SIGKILL)


def test_a_group_orphaned_when_its_linking_members_parent_exits_gets_sighup_too(kernel):
    # reparent_leader -> kill_orphaned_pgrp(p, father): p's group loses its link
    # to the session when p's parent a dies, and it has a stopped member.
    init = kernel.init
    a, p, c = _session_with_group_below(kernel)
    p.task.kill(c.pid, SIGSTOP)
    a.task.exit(0)
    assert init.waitpid(a.pid, 0) == (a.pid, 0)
    assert init.waitpid(p.pid, 0) == (p.pid, SIGHUP)
    assert init.waitpid(c.pid, 0) == (c.pid, SIGHUP)


def test_kill_of_a_group_whose_only_member_is_a_zombie_succeeds(kernel):
    init = kernel.init
    leader = init.fork()
    leader.task.setpgid(0, 0)
    leader.task.exit(0)
    init.kill(-leader.pid, SIGTERM)         # the zombie is still a member until reaped
    assert init.waitpid(leader.pid, 0) == (leader.pid, 0)
    with raises_errno(errno.ESRCH):
        init.kill(-leader.pid, SIGTERM)


def test_permission_is_checked_against_the_credentials_of_the_thread_named(kernel):
    # kill(tid) finds that very thread, and check_kill_permission reads its cred.
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    thread.task.setuid(1000)                # this thread only
    sender = init.fork()
    sender.task.setuid(1000)
    with raises_errno(errno.EPERM):
        sender.task.kill(a.pid, SIGTERM)
    sender.task.kill(thread.pid, SIGTERM)
    assert init.waitpid(a.pid, 0) == (a.pid, SIGTERM)


# ---------------------------------------------------------------- a thread group whose leader exited
#
# The leader called exit() while another thread runs: it is a zombie that keeps its
# pid (delay_group_leader), so tgkill, tkill and pidfd_send_signal still find it.
# A thread-directed signal (PIDTYPE_PID: tgkill, a PIDFD_THREAD pidfd, or
# PIDFD_SIGNAL_THREAD) aimed at it succeeds and is dropped whole -- nothing is
# queued, no thread is woken, and not even SIGCONT's generation-time effects
# (prepare_signal: continue the group, report CLD_CONTINUED) happen; seen on 6.18.44
# with tgkill, tkill, rt_tgsigqueueinfo and pidfd_send_signal alike.  A
# process-directed signal through the same pid (kill, PIDFD_SIGNAL_THREAD_GROUP) goes
# to the group and is taken by a live thread (complete_signal skips the PF_EXITING
# leader), so job control works on the remaining threads.  Permission and signal
# number are checked first, as for any target.
# Not a rule of every kernel: Debian's 6.1.0-57 and 6.12.117 queue such a signal on the
# zombie (its SigPnd shows it), so SIGCONT's prepare_signal effects do happen there, as
# 6.18.y's kernel/signal.c reads too; no upstream change that drops it was found, and the
# model keeps what this machine's 6.18.44 build does at every version.

def _group_whose_leader_exited(kernel, parent=None):
    """(child record, the live thread) of a process of `parent` whose leader has exited."""
    parent = parent or kernel.init
    proc = parent.fork()
    thread = proc.task.spawn_thread()
    proc.task.exit(0)
    return proc, thread


def _thread_directed(how: str):
    """Send `sig` to the zombie leader `pid` as a thread-directed signal, `how`."""
    def send(sender, pid, sig):
        if how == "tgkill":
            sender.tgkill(pid, pid, sig)
            return
        fd = sender.pidfd_open(pid, PIDFD_THREAD if how == "thread_pidfd" else 0)
        try:
            sender.pidfd_send_signal(fd, sig, PIDFD_SIGNAL_THREAD if how == "signal_thread" else 0)
        finally:
            sender.close(fd)
    return send


THREAD_DIRECTED = ["tgkill", "thread_pidfd", "signal_thread"]
# What each way of sending needs beyond tgkill: a PIDFD_THREAD pidfd (6.9), the
# PIDFD_SIGNAL_THREAD flag (6.9).  Before them a pidfd only sends process-directed signals.
THREAD_DIRECTED_NEEDS = {"tgkill": (), "thread_pidfd": ("pidfd-thread", "pidfd-thread-signal"),
                         "signal_thread": ("pidfd-signal-scope",)}


def test_a_zombie_leader_still_has_a_pid_that_tgkill_and_pidfd_open_find(kernel):
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    assert state(init, proc.pid) == "Z (zombie)"
    init.tgkill(proc.pid, proc.pid, 0)                  # the existence probe succeeds
    for flags in (0, PIDFD_THREAD) if kernel.has("pidfd-thread") else (0,):
        fd = init.pidfd_open(proc.pid, flags)
        init.pidfd_send_signal(fd, 0)
        init.close(fd)
    with raises_errno(errno.ESRCH):                     # the tid is not in that group
        init.tgkill(init.getpid(), proc.pid, 0)


@pytest.mark.parametrize("how", THREAD_DIRECTED)
def test_sigcont_aimed_at_a_zombie_leader_does_not_continue_its_stopped_group(kernel, how):
    needs(kernel, *THREAD_DIRECTED_NEEDS[how])
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    init.kill(proc.pid, SIGSTOP)
    assert state(init, f"{proc.pid}/task/{thread.pid}") == STOPPED
    _thread_directed(how)(init, proc.pid, SIGCONT)
    assert state(init, f"{proc.pid}/task/{thread.pid}") == STOPPED
    with pytest.raises(pidlab.WouldBlock):
        thread.task.getpid()
    # The stop was not replaced by a continue: it is still there to be reported.
    assert init.waitpid(proc.pid, WUNTRACED | WCONTINUED | WNOHANG) == \
        (proc.pid, stop_status(SIGSTOP))


@pytest.mark.parametrize("how", THREAD_DIRECTED)
@pytest.mark.parametrize("sig", [SIGSTOP, SIGTSTP, SIGKILL, SIGTERM, SIGUSR1])
def test_a_thread_directed_signal_to_a_zombie_leader_leaves_the_group_running(kernel, how, sig):
    needs(kernel, *THREAD_DIRECTED_NEEDS[how])
    init = kernel.init
    a = init.fork()                     # a session-linked parent: SIGTSTP would stop (not orphaned)
    proc, thread = _group_whose_leader_exited(kernel, a.task)
    a.task.setpgid(proc.pid, proc.pid)
    _thread_directed(how)(a.task, proc.pid, sig)
    assert state(a.task, f"{proc.pid}/task/{thread.pid}") == SLEEPING
    assert a.task.waitpid(proc.pid, WUNTRACED | WNOHANG) == (0, 0)
    assert thread.task.getpid() == proc.pid


@pytest.mark.parametrize("how", ["kill", "pidfd", "thread_group_flag"])
def test_sigcont_to_the_process_of_a_zombie_leader_continues_the_live_threads(kernel, how):
    if how == "thread_group_flag":
        needs(kernel, "pidfd-thread", "pidfd-signal-scope")
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    init.kill(proc.pid, SIGSTOP)
    assert init.waitpid(proc.pid, WUNTRACED) == (proc.pid, stop_status(SIGSTOP))
    if how == "kill":
        init.kill(proc.pid, SIGCONT)
    elif how == "pidfd":                # a pidfd without PIDFD_THREAD: process-directed, as in 6.1
        init.pidfd_send_signal(init.pidfd_open(proc.pid), SIGCONT)
    else:                               # a PIDFD_THREAD pidfd of the leader, widened to its group
        fd = init.pidfd_open(proc.pid, PIDFD_THREAD)
        init.pidfd_send_signal(fd, SIGCONT, PIDFD_SIGNAL_THREAD_GROUP)
    assert state(init, f"{proc.pid}/task/{thread.pid}") == SLEEPING
    assert init.waitpid(proc.pid, WCONTINUED | WNOHANG) == (proc.pid, 0xFFFF)
    assert thread.task.getpid() == proc.pid


def test_sigtstp_to_the_process_of_a_zombie_leader_stops_the_live_thread(kernel):
    # a's child's group, made its own, hangs on a: not orphaned, so SIGTSTP stops.
    a = kernel.init.fork()
    proc, thread = _group_whose_leader_exited(kernel, a.task)
    a.task.setpgid(proc.pid, proc.pid)
    a.task.kill(proc.pid, SIGTSTP)
    assert state(a.task, f"{proc.pid}/task/{thread.pid}") == STOPPED
    assert state(a.task, proc.pid) == "Z (zombie)"
    assert a.task.waitpid(proc.pid, WUNTRACED | WNOHANG) == (proc.pid, stop_status(SIGTSTP))


@pytest.mark.parametrize("handler", [SIG_CATCH, SIG_IGN])
def test_a_caught_or_ignored_sigtstp_does_not_stop_a_group_whose_leader_exited(kernel, handler):
    a = kernel.init.fork()
    proc, thread = _group_whose_leader_exited(kernel, a.task)
    a.task.setpgid(proc.pid, proc.pid)
    thread.task.sigaction(SIGTSTP, handler)
    a.task.kill(proc.pid, SIGTSTP)
    assert state(a.task, f"{proc.pid}/task/{thread.pid}") == SLEEPING
    assert a.task.waitpid(proc.pid, WUNTRACED | WNOHANG) == (0, 0)


def test_tgkill_of_the_live_thread_stops_and_continues_a_group_whose_leader_exited(kernel):
    # A stop signal is thread-directed but its action is the group stop (do_signal_stop);
    # SIGCONT to the stopped thread continues the group (prepare_signal).
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    init.tgkill(proc.pid, thread.pid, SIGSTOP)
    assert state(init, f"{proc.pid}/task/{thread.pid}") == STOPPED
    assert init.waitpid(proc.pid, WUNTRACED | WNOHANG) == (proc.pid, stop_status(SIGSTOP))
    init.tgkill(proc.pid, thread.pid, SIGCONT)
    assert state(init, f"{proc.pid}/task/{thread.pid}") == SLEEPING
    assert init.waitpid(proc.pid, WCONTINUED | WNOHANG) == (proc.pid, 0xFFFF)


def test_sigkill_to_the_process_of_a_zombie_leader_kills_the_group(kernel):
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    init.tgkill(proc.pid, proc.pid, SIGKILL)            # dropped
    assert thread.task.getpid() == proc.pid
    init.kill(proc.pid, SIGKILL)
    assert init.waitpid(proc.pid, 0) == (proc.pid, SIGKILL)


def test_a_thread_directed_signal_to_a_zombie_leader_is_checked_before_it_is_dropped(kernel):
    init = kernel.init
    proc, thread = _group_whose_leader_exited(kernel)
    with raises_errno(errno.EINVAL):
        init.tgkill(proc.pid, proc.pid, 65)
    # Before 6.9 there is no PIDFD_THREAD: the signal number is checked all the same.
    fd = init.pidfd_open(proc.pid, PIDFD_THREAD if kernel.has("pidfd-thread") else 0)
    with raises_errno(errno.EINVAL):
        init.pidfd_send_signal(fd, 65)
    sender = init.fork()
    sender.task.setuid(1000)
    with raises_errno(errno.EPERM):
        sender.task.tgkill(proc.pid, proc.pid, SIGTERM)
    assert thread.task.getpid() == proc.pid
