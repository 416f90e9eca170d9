"""Pid namespaces: creation, ns links, setns, nesting, init, death, number translation.

Expected values come from:

* /work/shared/spec/linux-pid-6.18.md §1 (MAX_PID_NS_LEVEL), §5 (create_pid_namespace,
  unshare, setns/pidns_install, pid_for_children, init's death, child reaper, init and
  signals, CLONE_PARENT), §6 (pid_nr_ns and the getters), §12 (getpgid/getsid);
* /work/shared/spec/live-kernel-facts.md §1 (unshare, nesting to level 32, ENOSPC,
  ENOMEM after init's death, setns) -- real outputs of this 6.18.44 kernel;
* /work/shared/spec/kernel-selftests.md §3 (pid_namespace selftests) and §7 (errno table);
* fs/proc/array.c proc_pid_status for the NS* lines of /proc/<pid>/status: one entry per
  level from the reader's namespace down to the task's, each translated with
  task_*_nr_ns into that level's namespace (0 when the group/session has no number there).

Namespace inode numbers differ between backends: they are compared by equality only.
"""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab import (CAP_SYS_ADMIN, CLONE_FILES, CLONE_FS, CLONE_NEWNET, CLONE_NEWPID,
                    CLONE_PARENT, CLONE_SIGHAND, CLONE_THREAD, CLONE_VM, MAX_PID_NS_LEVEL,
                    SIGKILL, SIGTERM, SIGUSR1)

from pidlab.conformance.helpers import (field, kill_and_reap, ns_inum, ns_last_pid, nspid,
                                        raises_errno, reap, snapshot, without_cursor)

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

NS_PID = "/proc/self/ns/pid"
NS_FOR_CHILDREN = "/proc/self/ns/pid_for_children"
THREAD_FLAGS = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FS | CLONE_FILES


def ns_of(task, path: str = NS_PID) -> int:
    return ns_inum(task.read_text(path))


def drop_caps(task, caps):
    task.capset(set(task.capget()) - set(caps))


def status_of(reader, pid) -> dict[str, list[int]]:
    text = reader.read_text(f"/proc/{pid}/status")
    return {k: field(text, k) for k in ("Tgid", "Pid", "PPid", "NStgid", "NSpid", "NSpgid", "NSsid")}


# =====================================================================================
# unshare(CLONE_NEWPID) and clone(CLONE_NEWPID) (spec §5, facts §1a)
# =====================================================================================

def test_unshare_newpid_leaves_the_callers_own_namespace_unchanged(kernel):
    x = kernel.init.fork()
    link = x.task.read_text(NS_PID)
    numbers = nspid(x.task)
    x.task.unshare(CLONE_NEWPID)
    assert x.task.read_text(NS_PID) == link
    assert nspid(x.task) == numbers
    assert (x.task.getpid(), x.task.getppid()) == (x.pid, 1)


def test_first_child_after_unshare_is_pid_1_with_getppid_0(kernel):
    x = kernel.init.fork().task
    x.unshare(CLONE_NEWPID)
    c = x.fork()
    assert (c.task.getpid(), c.task.getppid()) == (1, 0)
    assert c.pid == ns_last_pid(x)        # the caller sees the number of its own namespace
    assert nspid(x, c.pid) == [c.pid, 1]
    assert ns_of(c.task) != ns_of(x)


def test_later_children_after_unshare_are_numbered_after_the_new_init(kernel):
    # spec §5: the child lands in pid_for_children; its parent is outside, getppid() is 0.
    x = kernel.init.fork().task
    x.unshare(CLONE_NEWPID)
    first = x.fork()
    second = x.fork()
    assert (second.task.getpid(), second.task.getppid()) == (2, 0)
    assert nspid(x, second.pid) == [second.pid, 2]
    assert ns_of(second.task) == ns_of(first.task)


def test_clone_newpid_child_is_pid_1_with_getppid_0(kernel):
    init = kernel.init
    c = init.clone(CLONE_NEWPID)
    assert (c.task.getpid(), c.task.getppid()) == (1, 0)
    assert nspid(init, c.pid) == [c.pid, 1]
    assert ns_of(init) != ns_of(c.task)
    assert init.read_text(NS_FOR_CHILDREN) == init.read_text(NS_PID)   # the caller is unchanged


def test_second_unshare_newpid_before_the_first_fork_is_einval(kernel):
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.unshare(CLONE_NEWPID)
    assert snapshot([x, init]) == before
    assert x.fork().task.getpid() == 1    # the first new namespace is still the one used


def test_unshare_newpid_again_after_setns_back_to_the_active_namespace_is_allowed(kernel):
    # spec §5 (copy_pid_ns): the EINVAL is about pid_for_children differing from the
    # active namespace; once setns has made them equal again, a new namespace can be made.
    init = kernel.init
    x = init.fork().task
    own = x.open(NS_PID)
    x.unshare(CLONE_NEWPID)
    x.setns(own, CLONE_NEWPID)
    x.unshare(CLONE_NEWPID)
    c = x.fork()
    assert (c.task.getpid(), c.task.getppid()) == (1, 0)
    assert ns_of(c.task) != ns_of(x)


def test_unshare_newpid_after_the_new_init_died_is_still_einval(kernel):
    # facts §1a: "unshare3_after_init_died ERR EINVAL".
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    c = x.fork()
    kill_and_reap(x, c.pid)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.unshare(CLONE_NEWPID)
    assert snapshot([x, init]) == before


def test_clone_newpid_while_pid_for_children_differs_is_einval(kernel):
    # selftests §7: clone/unshare CLONE_NEWPID when pid_for_children != the active ns.
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    x.fork()
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.clone(CLONE_NEWPID)
    assert snapshot([x, init]) == before


def test_clone_thread_after_unshare_newpid_is_einval(kernel):
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.spawn_thread()
    assert snapshot([x, init]) == before


def test_clone_newpid_together_with_clone_thread_is_einval(kernel):
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(CLONE_NEWPID | THREAD_FLAGS, exit_signal=0)
    assert snapshot([init]) == before


def test_unshare_newpid_without_cap_sys_admin_is_eperm(kernel):
    init = kernel.init
    x = init.fork().task
    drop_caps(x, {CAP_SYS_ADMIN})
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.unshare(CLONE_NEWPID)
    assert snapshot([x, init]) == before
    assert x.read_text(NS_FOR_CHILDREN) == x.read_text(NS_PID)


def test_clone_newpid_without_cap_sys_admin_is_eperm(kernel):
    init = kernel.init
    x = init.fork().task
    drop_caps(x, {CAP_SYS_ADMIN})
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.clone(CLONE_NEWPID)
    assert snapshot([x, init]) == before


# =====================================================================================
# /proc/<pid>/ns/pid and pid_for_children (spec §5, §12; facts §1a)
# =====================================================================================

def test_ns_pid_link_is_shared_within_a_namespace_and_differs_across(kernel):
    init = kernel.init
    a = init.fork()
    ns = init.clone(CLONE_NEWPID)
    b = ns.task.fork()
    assert ns_of(a.task) == ns_of(init)
    assert ns_of(b.task) == ns_of(ns.task) != ns_of(init)
    assert init.read_text(f"/proc/{ns.pid}/ns/pid") == ns.task.read_text(NS_PID)
    assert init.readlink(f"/proc/{a.pid}/ns/pid") == init.read_text(NS_PID)


def test_pid_for_children_is_the_active_namespace_by_default(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    assert init.read_text(NS_FOR_CHILDREN) == init.read_text(NS_PID)
    assert ns.task.read_text(NS_FOR_CHILDREN) == ns.task.read_text(NS_PID)


def test_pid_for_children_is_enoent_until_the_new_namespace_has_an_init(kernel):
    init = kernel.init
    x = init.fork()
    x.task.unshare(CLONE_NEWPID)
    with raises_errno(errno.ENOENT):
        x.task.read_text(NS_FOR_CHILDREN)
    with raises_errno(errno.ENOENT):
        x.task.open(NS_FOR_CHILDREN)
    with raises_errno(errno.ENOENT):
        init.read_text(f"/proc/{x.pid}/ns/pid_for_children")
    c = x.task.fork()
    assert x.task.read_text(NS_FOR_CHILDREN) == c.task.read_text(NS_PID)
    assert ns_of(x.task, NS_FOR_CHILDREN) != ns_of(x.task)


# =====================================================================================
# setns (spec §5 pidns_install; facts §1c)
# =====================================================================================

def test_setns_into_a_descendant_changes_only_pid_for_children(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    fd = x.open(f"/proc/{ns.pid}/ns/pid")
    own = x.read_text(NS_PID)
    numbers = (x.getpid(), x.getppid(), nspid(x))
    x.setns(fd, CLONE_NEWPID)
    assert x.read_text(NS_PID) == own
    assert (x.getpid(), x.getppid(), nspid(x)) == numbers
    assert x.read_text(NS_FOR_CHILDREN) == ns.task.read_text(NS_PID)


def test_child_after_setns_is_numbered_in_the_target_namespace(kernel):
    # facts §1c: "child after setns: (getpid,getppid) inside 2 0".
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    x.setns(x.open(f"/proc/{ns.pid}/ns/pid"), CLONE_NEWPID)
    c = x.fork()
    assert (c.task.getpid(), c.task.getppid()) == (2, 0)
    assert c.pid == ns_last_pid(x)
    assert nspid(x, c.pid) == [c.pid, 2]
    assert ns_of(c.task) == ns_of(ns.task)


def test_setns_to_a_sibling_namespace_is_einval(kernel):
    init = kernel.init
    b = init.clone(CLONE_NEWPID)
    fd = init.open(f"/proc/{b.pid}/ns/pid")
    a = init.clone(CLONE_NEWPID).task     # inherits fd, a handle on its sibling namespace
    before = snapshot([a, b.task, init])
    with raises_errno(errno.EINVAL):
        a.setns(fd, CLONE_NEWPID)
    assert snapshot([a, b.task, init]) == before
    assert a.read_text(NS_FOR_CHILDREN) == a.read_text(NS_PID)


def test_setns_to_an_ancestor_namespace_is_einval(kernel):
    # facts §1c: "nested_init_setns_to_ancestor ERR EINVAL".
    init = kernel.init
    fd = init.open(NS_PID)
    a = init.clone(CLONE_NEWPID).task     # inherits fd, a handle on its parent namespace
    before = snapshot([a, init])
    with raises_errno(errno.EINVAL):
        a.setns(fd, CLONE_NEWPID)
    assert snapshot([a, init]) == before
    assert a.read_text(NS_FOR_CHILDREN) == a.read_text(NS_PID)


def test_setns_to_the_own_active_namespace_is_allowed(kernel):
    init = kernel.init
    x = init.fork().task
    fd = x.open(NS_PID)
    before = snapshot([x, init])
    x.setns(fd, CLONE_NEWPID)
    assert snapshot([x, init]) == before
    assert x.read_text(NS_FOR_CHILDREN) == x.read_text(NS_PID)


def test_setns_back_to_the_own_namespace_after_a_descendant(kernel):
    # facts §1c: "setns back to own active ns ok; fork after setns back: pid 42".
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork()
    own = x.task.open(NS_PID)
    x.task.setns(x.task.open(f"/proc/{ns.pid}/ns/pid"), CLONE_NEWPID)
    x.task.setns(own, CLONE_NEWPID)
    c = x.task.fork()
    assert (c.task.getpid(), c.task.getppid()) == (c.pid, x.pid)
    assert ns_of(c.task) == ns_of(init)


def test_setns_again_into_a_deeper_descendant_is_allowed(kernel):
    # facts §1c / spec §5: "repeated setns into a descendant -> OK".
    init = kernel.init
    outer = init.clone(CLONE_NEWPID)
    inner = outer.task.clone(CLONE_NEWPID)
    inner_top = ns_last_pid(init)          # inner init's number at the top: the last one handed out
    x = init.fork().task
    fd_outer = x.open(f"/proc/{outer.pid}/ns/pid")
    fd_inner = x.open(f"/proc/{inner_top}/ns/pid")
    x.setns(fd_outer, CLONE_NEWPID)
    x.setns(fd_inner, CLONE_NEWPID)
    assert x.read_text(NS_FOR_CHILDREN) == inner.task.read_text(NS_PID)
    c = x.fork()
    assert nspid(x, c.pid) == [c.pid, 3, 2]


def test_setns_without_cap_sys_admin_is_eperm(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    fd = x.open(f"/proc/{ns.pid}/ns/pid")
    drop_caps(x, {CAP_SYS_ADMIN})
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.setns(fd, CLONE_NEWPID)
    assert snapshot([x, init]) == before
    assert x.read_text(NS_FOR_CHILDREN) == x.read_text(NS_PID)


def test_setns_with_another_namespace_type_is_einval(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    fd = x.open(f"/proc/{ns.pid}/ns/pid")
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.setns(fd, CLONE_NEWNET)
    assert snapshot([x, init]) == before
    assert x.read_text(NS_FOR_CHILDREN) == x.read_text(NS_PID)


def test_clone_thread_after_setns_into_a_descendant_is_einval(kernel):
    # spec §5: while pid_for_children differs from the active ns, CLONE_THREAD is EINVAL.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    x.setns(x.open(f"/proc/{ns.pid}/ns/pid"), CLONE_NEWPID)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.spawn_thread()
    assert snapshot([x, init]) == before


# =====================================================================================
# Nesting limit (spec §1, §5; facts §1b).  kernel.top_level is the level of kernel.init.
# =====================================================================================

def _nest(task, depth):
    """A chain of `depth` nested namespaces below `task`'s; returns their inits."""
    chain = []
    for _ in range(depth):
        task = task.clone(CLONE_NEWPID).task
        chain.append(task)
    return chain


def test_max_pid_ns_level_is_the_deepest_level_and_unshare_below_it_is_enospc(kernel):
    depth = MAX_PID_NS_LEVEL - kernel.top_level
    deepest = _nest(kernel.init, depth)[-1]
    assert (deepest.getpid(), deepest.getppid()) == (1, 0)
    before = snapshot([deepest, kernel.init])
    with raises_errno(errno.ENOSPC):
        deepest.unshare(CLONE_NEWPID)
    assert snapshot([deepest, kernel.init]) == before
    assert deepest.read_text(NS_FOR_CHILDREN) == deepest.read_text(NS_PID)


def test_clone_newpid_at_the_deepest_level_is_enospc(kernel):
    depth = MAX_PID_NS_LEVEL - kernel.top_level
    deepest = _nest(kernel.init, depth)[-1]
    before = snapshot([deepest, kernel.init])
    with raises_errno(errno.ENOSPC):
        deepest.clone(CLONE_NEWPID)
    assert snapshot([deepest, kernel.init]) == before


def test_plain_fork_at_the_deepest_level_works_and_nspid_spans_every_level(kernel):
    # facts §1b: "plain_fork_at_this_level ok pid 2"; NSpid has one entry per level.
    init = kernel.init
    depth = MAX_PID_NS_LEVEL - kernel.top_level
    deepest = _nest(init, depth)[-1]
    deepest_top = ns_last_pid(init)        # the chain's last clone took the last top number
    assert nspid(init, deepest_top) == [deepest_top] + list(range(depth, 0, -1))
    c = deepest.fork()
    assert (c.pid, c.task.getpid(), c.task.getppid()) == (2, 2, 1)
    c_top = ns_last_pid(init)
    # Level top_level + j holds the inits j+1..depth and then c: c is depth - j + 2 there.
    assert nspid(init, c_top) == [c_top] + list(range(depth + 1, 1, -1))
    assert len(nspid(init, c_top)) == MAX_PID_NS_LEVEL - kernel.top_level + 1
    assert nspid(c.task) == [2]


# =====================================================================================
# The namespace's init (spec §3.9, §5 "Orphan reparenting", "Namespace init and signals")
# =====================================================================================

def test_orphans_are_reparented_to_the_namespace_init(kernel):
    ns = kernel.init.clone(CLONE_NEWPID)
    i = ns.task
    a = i.fork()
    b = a.task.fork()
    assert b.task.getppid() == a.pid
    kill_and_reap(i, a.pid)
    assert b.task.getppid() == 1
    i.kill(b.pid, SIGKILL)
    assert reap(i, b.pid) == (b.pid, SIGKILL)


def test_namespace_survives_its_init_leader_while_another_init_thread_lives(kernel):
    # spec §5 "When init dies": a live thread of the exiting reaper becomes child_reaper;
    # the namespace is not zapped and still accepts forks.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    i = ns.task
    th = i.spawn_thread()
    a = i.fork()
    i.exit(0)                             # only the leader thread of the init exits
    assert a.task.getppid() == 1
    assert th.task.getpid() == 1
    b = a.task.fork()
    assert b.task.getpid() == 4           # 1 init, 2 its thread, 3 a
    assert init.waitpid(ns.pid, pidlab.WNOHANG) == (0, 0)


def test_top_init_ignores_sigkill_sent_by_its_children(kernel):
    # spec §5: SIGKILL from inside an init's namespace is dropped (global init: never).
    init = kernel.init
    x = init.fork()
    x.task.kill(1, SIGKILL)
    assert init.getpid() == 1
    assert x.task.getppid() == 1


def test_namespace_init_ignores_sigkill_sent_from_inside(kernel):
    ns = kernel.init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    a.task.kill(1, SIGKILL)               # succeeds, and is dropped (sig_task_ignored)
    assert ns.task.getpid() == 1
    assert kernel.init.waitpid(ns.pid, pidlab.WNOHANG) == (0, 0)


@pytest.mark.parametrize("sig", [SIGTERM, SIGUSR1], ids=["SIGTERM", "SIGUSR1"])
def test_namespace_init_ignores_default_action_signals_even_from_the_parent_namespace(kernel, sig):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    init.kill(ns.pid, sig)
    assert ns.task.getpid() == 1
    assert init.waitpid(ns.pid, pidlab.WNOHANG) == (0, 0)


def test_sigkill_from_the_parent_namespace_kills_the_namespace_init(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    init.kill(ns.pid, SIGKILL)
    assert reap(init, ns.pid) == (ns.pid, SIGKILL)
    with pytest.raises(pidlab.TaskExited):
        ns.task.getpid()


def test_clone_parent_from_a_namespace_init_is_einval(kernel):
    # spec §5: CLONE_PARENT from a SIGNAL_UNKILLABLE task gives EINVAL.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    before = snapshot([ns.task, init])
    with raises_errno(errno.EINVAL):
        ns.task.clone(CLONE_PARENT, exit_signal=0)
    assert snapshot([ns.task, init]) == before


def test_clone_parent_from_the_top_init_is_einval(kernel):
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(CLONE_PARENT, exit_signal=0)
    assert snapshot([init]) == before


def test_clone_parent_from_a_task_that_is_not_an_init_makes_a_sibling(kernel):
    ns = kernel.init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    s = a.task.clone(CLONE_PARENT, exit_signal=0)
    assert (s.task.getppid(), s.task.getpid()) == (1, 3)


# =====================================================================================
# Death of a namespace init (spec §5 "When init dies"; facts §1a)
# =====================================================================================

def test_death_of_a_namespace_init_kills_every_task_of_the_namespace(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    i = ns.task
    tasks, top_numbers = [], []

    def track(child):
        tasks.append(child.task)
        top_numbers.append(ns_last_pid(init))   # its number at the top: the last handed out
        return child

    a = track(i.fork())
    track(a.task.fork())                  # a grandchild
    track(a.task.spawn_thread())          # a thread
    j = track(i.clone(CLONE_NEWPID))      # a nested namespace and its task
    track(j.task.fork())
    init.kill(ns.pid, SIGKILL)
    assert reap(init, ns.pid) == (ns.pid, SIGKILL)
    for t in tasks:
        with pytest.raises(pidlab.TaskExited):
            t.getpid()
    for nr in top_numbers:
        with raises_errno(errno.ESRCH):
            init.kill(nr, 0)


def test_fork_into_a_namespace_whose_init_died_is_enomem(kernel):
    # facts §1a: "fork_after_init_died ERR ENOMEM"; selftests §7.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    x = init.fork().task
    x.setns(x.open(f"/proc/{ns.pid}/ns/pid"), CLONE_NEWPID)
    kill_and_reap(init, ns.pid)
    last = ns_last_pid(init)
    before = snapshot([x, init])
    with raises_errno(errno.ENOMEM):
        x.fork()
    assert without_cursor(snapshot([x, init])) == without_cursor(before)
    assert ns_last_pid(init) == last + 1  # spec §3.6: the outer number was taken, then freed


def test_pid_for_children_still_names_the_dead_namespace(kernel):
    # facts §1a: "pid_for_children_after_init_reaped" is the dead namespace.
    x = kernel.init.fork().task
    x.unshare(CLONE_NEWPID)
    c = x.fork()
    link = c.task.read_text(NS_PID)
    kill_and_reap(x, c.pid)
    assert x.read_text(NS_FOR_CHILDREN) == link
    assert x.read_text(NS_PID) != link


# =====================================================================================
# Number translation (spec §6, §12; fs/proc/array.c)
# =====================================================================================

def test_getpgid_and_getsid_are_0_when_group_and_session_lie_outside(kernel):
    # facts §1 / spec §6: "getsid/getpgid = 0 when the session or group lies outside".
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    assert (ns.task.getpgid(0), ns.task.getsid(0)) == (0, 0)
    assert (a.task.getpgid(0), a.task.getsid(0)) == (0, 0)
    assert (ns.task.getpgid(a.pid), ns.task.getsid(a.pid)) == (0, 0)
    # The same group and session seen from the top, where they have numbers.
    assert (init.getpgid(ns.pid), init.getsid(ns.pid)) == (init.getpid(), init.getpid())


def test_getpgid_and_getsid_translate_into_the_callers_namespace(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    assert ns.task.setsid() == 1
    a = ns.task.fork()
    assert (a.task.getpgid(0), a.task.getsid(0)) == (1, 1)
    assert (init.getpgid(ns.pid), init.getsid(ns.pid)) == (ns.pid, ns.pid)
    a_top = ns_last_pid(init)
    assert (init.getpgid(a_top), init.getsid(a_top)) == (ns.pid, ns.pid)


def test_a_number_of_the_parent_namespace_means_nothing_inside(kernel):
    # spec §6 find_vpid: lookups use the caller's namespace only; not found is ESRCH (§12).
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    assert ns.pid != 1                    # the init's own number outside
    before = snapshot([ns.task, init])
    with raises_errno(errno.ESRCH):
        ns.task.getpgid(ns.pid)
    with raises_errno(errno.ESRCH):
        ns.task.getsid(ns.pid)
    with raises_errno(errno.ESRCH):
        ns.task.kill(ns.pid, 0)
    assert snapshot([ns.task, init]) == before


def test_getppid_is_0_only_where_the_parent_is_invisible(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    assert ns.task.getppid() == 0
    assert a.task.getppid() == 1
    assert status_of(init, ns.pid)["PPid"] == [init.getpid()]
    assert status_of(ns.task, "self")["PPid"] == [0]


def test_status_ns_lines_list_every_level_from_the_readers_namespace_down(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    i = ns.task
    i.setsid()
    a = i.fork()
    a_top = ns_last_pid(init)
    seen_from_top = status_of(init, a_top)
    assert seen_from_top == {
        "Tgid": [a_top], "Pid": [a_top], "PPid": [ns.pid],
        "NStgid": [a_top, 2], "NSpid": [a_top, 2], "NSpgid": [ns.pid, 1], "NSsid": [ns.pid, 1],
    }
    seen_from_inside = status_of(i, a.pid)
    assert seen_from_inside == {
        "Tgid": [2], "Pid": [2], "PPid": [1],
        "NStgid": [2], "NSpid": [2], "NSpgid": [1], "NSsid": [1],
    }


def test_status_ns_lines_show_0_for_levels_where_group_or_session_has_no_number(kernel):
    init = kernel.init
    top_group = init.getpgid(0)
    top_session = init.getsid(0)
    ns = init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    a_top = ns_last_pid(init)
    seen_from_top = status_of(init, a_top)
    assert seen_from_top["NSpgid"] == [top_group, 0]
    assert seen_from_top["NSsid"] == [top_session, 0]
    seen_from_inside = status_of(ns.task, a.pid)
    assert (seen_from_inside["NSpgid"], seen_from_inside["NSsid"]) == ([0], [0])
    assert status_of(a.task, "self")["NSpid"] == [2]


def test_status_of_a_thread_shows_its_tid_in_nspid_and_the_leader_in_nstgid(kernel):
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    a = ns.task.fork()
    a_top = ns_last_pid(init)
    th = a.task.spawn_thread()
    th_top = ns_last_pid(init)
    assert th.pid == 3
    seen_from_top = status_of(init, th_top)
    assert seen_from_top["NStgid"] == [a_top, 2]
    assert seen_from_top["NSpid"] == [th_top, 3]
    assert (seen_from_top["Tgid"], seen_from_top["Pid"]) == ([a_top], [th_top])
    assert status_of(ns.task, 3)["NSpid"] == [3]
