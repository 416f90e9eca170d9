"""Sessions and process groups: setsid, setpgid, getpgid, getsid, on both backends.

Expected values come from /work/shared/spec/linux-pid-6.18.md section 12
("setpgid", "setsid", "getpgid/getsid"), section 2 (a pid number stays
allocated while any of its four task lists is non-empty), section 6 (numbers
are 0 outside the caller's namespace) and from kernel/sys.c (SYSCALL setpgid,
getpgid, getsid, ksys_setsid), whose order of checks decides which errno wins.
"""

from __future__ import annotations

import errno

import pytest

from pidlab import CLONE_NEWPID, SIGTERM

from pidlab.conformance.helpers import field, ns_last_pid, raises_errno, snapshot

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")


def status(observer, pid="self") -> str:
    return observer.read_text(f"/proc/{pid}/status")


# ---------------------------------------------------------------- setsid

def test_setsid_returns_the_new_sid_and_makes_the_caller_group_and_session_leader(kernel):
    init = kernel.init
    a = init.fork()
    assert (a.task.getsid(0), a.task.getpgid(0)) == (1, 1)
    assert a.task.setsid() == a.pid
    assert (a.task.getsid(0), a.task.getpgid(0)) == (a.pid, a.pid)
    assert (init.getsid(a.pid), init.getpgid(a.pid)) == (a.pid, a.pid)
    assert (init.getsid(0), init.getpgid(0)) == (1, 1)          # the old session lives on


def test_a_child_forked_after_setsid_inherits_the_new_session_and_group(kernel):
    a = kernel.init.fork()
    a.task.setsid()
    b = a.task.fork()
    assert (b.task.getsid(0), b.task.getpgid(0)) == (a.pid, a.pid)


def test_setsid_of_a_session_leader_is_eperm(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setsid()
    before = snapshot([init, a.task])
    with raises_errno(errno.EPERM):
        init.setsid()                       # the top init leads session 1
    with raises_errno(errno.EPERM):
        a.task.setsid()
    assert snapshot([init, a.task]) == before


def test_setsid_is_eperm_while_a_group_with_the_callers_number_exists(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setpgid(0, 0)
    b = a.task.fork()                       # stays in group a
    a.task.setpgid(0, 1)                    # a goes back to init's group; group a lives on in b
    assert b.task.getpgid(0) == a.pid
    before = snapshot([a.task, b.task])
    with raises_errno(errno.EPERM):
        a.task.setsid()
    assert snapshot([a.task, b.task]) == before


def test_setsid_of_a_group_leader_is_eperm(kernel):
    a = kernel.init.fork()
    a.task.setpgid(0, 0)
    with raises_errno(errno.EPERM):
        a.task.setsid()


def test_setsid_from_a_thread_acts_on_its_process(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    assert thread.task.setsid() == a.pid
    assert a.task.getsid(0) == a.pid
    assert init.getsid(thread.pid) == a.pid
    assert init.getpgid(thread.pid) == a.pid


# ---------------------------------------------------------------- setpgid

def test_setpgid_zero_zero_makes_the_caller_leader_of_a_new_group(kernel):
    a = kernel.init.fork()
    a.task.setpgid(0, 0)
    assert a.task.getpgid(0) == a.pid
    assert a.task.getsid(0) == 1


def test_setpgid_pgid_zero_means_the_targets_own_pid(kernel):
    init = kernel.init
    c = init.fork()
    init.setpgid(c.pid, 0)
    assert c.task.getpgid(0) == c.pid


def test_setpgid_pid_zero_means_the_caller(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    b.task.setpgid(0, 0)
    a.task.setpgid(0, b.pid)
    assert a.task.getpgid(0) == b.pid


def test_setpgid_can_move_a_child_into_the_callers_group(kernel):
    init = kernel.init
    p = init.fork()
    p.task.setpgid(0, 0)
    c = p.task.fork()
    c.task.setpgid(0, 0)
    p.task.setpgid(c.pid, p.pid)
    assert c.task.getpgid(0) == p.pid
    with raises_errno(errno.ESRCH):         # c's old group had c alone: it is gone
        init.kill(-c.pid, 0)


def test_setpgid_with_a_negative_pgid_is_einval(kernel):
    a = kernel.init.fork()
    before = snapshot([a.task])
    with raises_errno(errno.EINVAL):
        a.task.setpgid(0, -1)
    with raises_errno(errno.EINVAL):
        a.task.setpgid(a.pid, -a.pid)
    assert snapshot([a.task]) == before


def test_setpgid_of_a_missing_pid_is_esrch(kernel):
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.ESRCH):
        init.setpgid(999, 0)
    assert snapshot([init]) == before


def test_setpgid_of_a_process_that_is_not_the_callers_child_is_esrch(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    grandchild = a.task.fork()
    before = snapshot([init, a.task, b.task, grandchild.task])
    with raises_errno(errno.ESRCH):
        a.task.setpgid(b.pid, 0)            # a sibling
    with raises_errno(errno.ESRCH):
        init.setpgid(grandchild.pid, 0)     # a grandchild
    with raises_errno(errno.ESRCH):
        a.task.setpgid(1, 0)                # the parent
    assert snapshot([init, a.task, b.task, grandchild.task]) == before


def test_setpgid_of_a_non_leader_thread_is_einval(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    before = snapshot([a.task, thread.task])
    with raises_errno(errno.EINVAL):
        a.task.setpgid(thread.pid, 0)
    with raises_errno(errno.EINVAL):
        init.setpgid(thread.pid, 0)
    assert snapshot([a.task, thread.task]) == before


def test_setpgid_of_a_child_in_another_session_is_eperm(kernel):
    init = kernel.init
    c = init.fork()
    c.task.setsid()
    d = c.task.fork()                       # in c's session, not a session leader
    c.task.exit(0)
    init.waitpid(c.pid, 0)                  # d is now init's child
    assert d.task.getppid() == 1
    before = snapshot([init, d.task])
    with raises_errno(errno.EPERM):
        init.setpgid(d.pid, 0)
    assert snapshot([init, d.task]) == before


def test_setpgid_of_a_child_that_has_execed_is_eacces(kernel):
    init = kernel.init
    c = init.fork()
    c.task.execve()
    before = snapshot([init, c.task])
    with raises_errno(errno.EACCES):
        init.setpgid(c.pid, 0)
    assert snapshot([init, c.task]) == before
    c.task.setpgid(0, 0)                    # the exec rule binds the parent only
    assert c.task.getpgid(0) == c.pid


def test_setpgid_of_a_session_leader_is_eperm(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setsid()
    before = snapshot([init, a.task])
    with raises_errno(errno.EPERM):
        a.task.setpgid(0, 0)
    with raises_errno(errno.EPERM):
        init.setpgid(0, 0)
    assert snapshot([init, a.task]) == before


def test_setpgid_into_a_group_that_does_not_exist_is_eperm(kernel):
    a = kernel.init.fork()
    before = snapshot([a.task])
    with raises_errno(errno.EPERM):
        a.task.setpgid(0, 999)
    assert snapshot([a.task]) == before


def test_setpgid_into_a_group_of_another_session_is_eperm(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()
    b.task.setsid()                         # group b exists, in session b
    before = snapshot([a.task, b.task])
    with raises_errno(errno.EPERM):
        a.task.setpgid(0, b.pid)
    assert snapshot([a.task, b.task]) == before


def test_setpgid_into_a_pid_that_is_no_group_is_eperm(kernel):
    init = kernel.init
    a, b = init.fork(), init.fork()         # b exists but leads no group
    with raises_errno(errno.EPERM):
        a.task.setpgid(0, b.pid)


# ---------------------------------------------------------------- getpgid / getsid

def test_getpgid_and_getsid_of_zero_are_the_callers(kernel):
    a = kernel.init.fork()
    a.task.setpgid(0, 0)
    assert a.task.getpgid(0) == a.task.getpgid(a.pid) == a.pid
    assert a.task.getsid(0) == a.task.getsid(a.pid) == 1


def test_getpgid_and_getsid_find_a_zombie(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setsid()
    a.task.exit(0)
    assert (init.getpgid(a.pid), init.getsid(a.pid)) == (a.pid, a.pid)   # a zombie is found


@pytest.mark.parametrize("pid", [999, -1, -5])
def test_getpgid_and_getsid_of_a_missing_pid_are_esrch(kernel, pid):
    init = kernel.init
    with raises_errno(errno.ESRCH):
        init.getpgid(pid)
    with raises_errno(errno.ESRCH):
        init.getsid(pid)


def test_getpgid_and_getsid_of_a_reaped_pid_are_esrch(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(0)
    init.waitpid(c.pid, 0)
    with raises_errno(errno.ESRCH):
        init.getpgid(c.pid)
    with raises_errno(errno.ESRCH):
        init.getsid(c.pid)


def test_getpgid_and_getsid_are_zero_when_the_group_lies_outside_the_namespace(kernel):
    ns_init = kernel.init.clone(CLONE_NEWPID)
    inside = ns_init.task.fork()
    assert (ns_init.task.getpgid(0), ns_init.task.getsid(0)) == (0, 0)
    assert (ns_init.task.getpgid(inside.pid), ns_init.task.getsid(inside.pid)) == (0, 0)
    assert (inside.task.getpgid(0), inside.task.getsid(0)) == (0, 0)


def test_getpgid_and_getsid_of_a_pid_not_visible_in_the_callers_namespace_are_esrch(kernel):
    init = kernel.init
    outsider = init.fork()
    ns_init = init.clone(CLONE_NEWPID)
    # outsider.pid (2) names nothing in the new namespace, which holds only its init
    with raises_errno(errno.ESRCH):
        ns_init.task.getpgid(outsider.pid)
    with raises_errno(errno.ESRCH):
        ns_init.task.getsid(outsider.pid)


# ---------------------------------------------------------------- numbers that outlive their process

def test_a_reaped_group_leader_keeps_its_number_while_members_remain(kernel):
    init = kernel.init
    p = init.fork()
    p.task.setpgid(0, 0)
    c = p.task.fork()
    p.task.exit(0)
    init.waitpid(p.pid, 0)
    assert c.task.getpgid(0) == p.pid
    assert field(status(c.task), "NSpgid") == [p.pid]
    init.kill(-p.pid, 0)                    # the group is still there
    with raises_errno(errno.ESRCH):
        init.kill(p.pid, 0)                 # the process is not
    init.write_text("/proc/sys/kernel/ns_last_pid", str(p.pid - 1))
    nxt = init.fork()                       # p's number is still taken, and so is c's
    assert nxt.pid == c.pid + 1


def test_a_group_number_is_freed_when_its_last_member_is_reaped(kernel):
    init = kernel.init
    p = init.fork()
    p.task.setpgid(0, 0)
    c = p.task.fork()
    p.task.exit(0)
    init.waitpid(p.pid, 0)
    c.task.exit(0)
    init.waitpid(c.pid, 0)
    with raises_errno(errno.ESRCH):
        init.kill(-p.pid, 0)
    init.write_text("/proc/sys/kernel/ns_last_pid", str(p.pid - 1))
    assert init.fork().pid == p.pid


def test_a_reaped_session_leader_keeps_its_number_as_the_sid_of_its_members(kernel):
    init = kernel.init
    a = init.fork()
    a.task.setsid()
    b = a.task.fork()
    a.task.exit(0)
    init.waitpid(a.pid, 0)
    assert (b.task.getsid(0), b.task.getpgid(0)) == (a.pid, a.pid)
    assert (init.getsid(b.pid), init.getpgid(b.pid)) == (a.pid, a.pid)
    init.write_text("/proc/sys/kernel/ns_last_pid", str(a.pid - 1))
    assert init.fork().pid == b.pid + 1
    assert ns_last_pid(init) == b.pid + 1


# ---------------------------------------------------------------- across namespaces

def test_nspgid_and_nssid_of_a_namespace_init_before_setsid_show_0_inside(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    outside = status(init, ns_init.pid)
    assert field(outside, "NSpgid") == [1, 0]
    assert field(outside, "NSsid") == [1, 0]
    inside = status(ns_init.task)
    assert field(inside, "NSpgid") == [0]
    assert field(inside, "NSsid") == [0]


def test_setsid_in_a_namespace_returns_the_inner_number_and_shows_at_every_level(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    assert ns_init.task.setsid() == 1
    assert init.getsid(ns_init.pid) == ns_init.pid
    assert init.getpgid(ns_init.pid) == ns_init.pid
    child = ns_init.task.fork()
    from_outside = status(init, ns_init.pid + 1)
    assert field(from_outside, "NSpid") == [ns_init.pid + 1, child.pid]
    assert field(from_outside, "NSpgid") == [ns_init.pid, 1]
    assert field(from_outside, "NSsid") == [ns_init.pid, 1]
    from_inside = status(ns_init.task, child.pid)
    assert field(from_inside, "NSpgid") == [1]
    assert field(from_inside, "NSsid") == [1]


def test_a_group_made_inside_a_namespace_is_numbered_at_every_level(kernel):
    init = kernel.init
    ns_init = init.clone(CLONE_NEWPID)
    child = ns_init.task.fork()
    child.task.setpgid(0, 0)
    outer = field(status(init, ns_init.pid + 1), "NSpid")[0]
    assert init.getpgid(outer) == outer
    assert ns_init.task.getpgid(child.pid) == child.pid
    assert field(status(ns_init.task, child.pid), "NSpgid") == [child.pid]
    init.kill(-outer, SIGTERM)              # the same group, by its outer number
    assert ns_init.task.waitpid(child.pid, 0) == (child.pid, SIGTERM)


def test_setpgid_of_a_zombie_child_succeeds(kernel):
    init = kernel.init
    c = init.fork()
    c.task.exit(0)
    init.setpgid(c.pid, 0)
    assert init.getpgid(c.pid) == c.pid


def test_setpgid_may_move_a_child_forked_by_another_thread_of_the_caller(kernel):
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    c = thread.task.fork()
    assert c.task.getppid() == a.pid        # the parent is the process
    a.task.setpgid(c.pid, 0)
    assert init.getpgid(c.pid) == c.pid
