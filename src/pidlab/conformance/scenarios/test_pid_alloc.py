"""Pid number allocation: the cyclic cursor, ns_last_pid, per-namespace pid_max, set_tid.

Expected values come from:

* /work/shared/spec/linux-pid-6.18.md §1 (constants, sysctl bounds), §3 (alloc_pid,
  idr_alloc_cyclic, unwinding), §5 (pid_max and ns_last_pid sysctls);
* /work/shared/spec/live-kernel-facts.md §2 (numbering), §3 (pid_max, ns_last_pid),
  §4 (clone3 set_tid) -- real outputs of this 6.18.44 kernel;
* /work/shared/spec/kernel-selftests.md §3.1 (regression_enomem.c), §3.2 (pid_max.c,
  newest version with computed limits), §4.2 (clone3_set_tid.c, 27 results),
  §4.3 (clone3_cap_checkpoint_restore.c), §5 (ns_last_pid).

Every scenario runs on the model and on the live kernel.  Namespaces are made
small (pid_max written down, ns_last_pid moved) so that no live run needs more
than about 400 forks.

Versions: pid_max is each pid namespace's own from 6.14 ("pidns-pid-max",
7863dcc72d0f) and a new namespace starts at PID_MAX_LIMIT ("pidns-pid-max-limit",
d385c8bceb14).  Before, /proc/sys/kernel/pid_max is one value for the whole
machine: read and written from any namespace (by euid 0), the bound of every
level's numbers, of set_tid and of ns_last_pid (which stays per namespace).  A
scenario that makes one namespace small with pid_max then makes the machine's
initial namespace small too; where the scenario runs below that namespace (a live
sandbox, kernel.top_level > 0) it cannot see what else holds numbers there, and
skips before 6.14 (needs_own_pid_max).  The model is a whole machine (top level 0)
and runs them with each version's expectation.
"""

from __future__ import annotations

import errno

import pytest

import pidlab
from pidlab import (CAP_CHECKPOINT_RESTORE, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN,
                    CLONE_NEWPID, MAX_PID_NS_LEVEL, PID_MAX_LIMIT, PR_SET_KEEPCAPS,
                    RESERVED_PIDS, SIGKILL)

from pidlab.conformance.helpers import (NS_LAST_PID_PATH, PID_MAX_PATH, kill_and_reap, needs,
                                        ns_last_pid, nspid, pid_max, pid_max_min, raises_errno, reap,
                                        snapshot, without_cursor)

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

BOTH_CAPS = {CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE}


def new_ns_init(parent):
    """clone(CLONE_NEWPID): the child is pid 1 of a fresh namespace (its Task)."""
    return parent.clone(CLONE_NEWPID).task


def drop_caps(task, caps):
    """capset: keep every capability the task has except `caps`."""
    task.capset(set(task.capget()) - set(caps))


def set_ns_last_pid(task, n: int) -> None:
    task.write_text(NS_LAST_PID_PATH, str(n))


def set_pid_max(task, n: int) -> None:
    task.write_text(PID_MAX_PATH, str(n))


def needs_own_pid_max(kernel) -> None:
    """Skip a scenario that shrinks one namespace with pid_max where, before 6.14, that
    shrinks namespaces it cannot see.

    Before "pid: allow pid_max to be set per pid namespace" the one machine-wide pid_max
    bounds every level up to the initial namespace (kernel/pid.c alloc_pid).  Where the
    scenario's top namespace is the initial one (the model: top level 0) it holds every
    number there and the scenario states what such a kernel does; a sandbox below it
    shares that level with processes it cannot see, so how many numbers are left there,
    and which level fails first, is not the scenario's to know.
    """
    if not kernel.has("pidns-pid-max") and kernel.top_level > 0:
        c = pidlab.versions.introduced("pidns-pid-max")
        pytest.skip(f"Linux {kernel.version} predates {c.key!r} ({c.title}, {c.version}): "
                    f"pid_max is the machine's and bounds its initial namespace too, which "
                    f"this scenario, at level {kernel.top_level}, shares with processes it "
                    f"cannot see")


def pid_max_of_a_new_namespace(kernel, parent: int) -> int:
    """What a namespace made now reads: PID_MAX_LIMIT from 6.14 (create_pid_namespace,
    d385c8bceb14), before 6.14 the machine's one value, which its parent reads too.
    Only 7863dcc72d0f without d385c8bceb14 copied the parent's, which no release has."""
    return PID_MAX_LIMIT if kernel.has("pidns-pid-max-limit") else parent


# =====================================================================================
# The cyclic allocator (spec §3.3-3.5, facts §2)
# =====================================================================================

def test_numbers_are_handed_out_in_sequence(kernel):
    init = kernel.init
    pids = [init.fork().pid for _ in range(4)]
    assert pids == [2, 3, 4, 5]
    assert ns_last_pid(init) == 5


def test_a_freed_number_is_not_reused_before_the_cursor_wraps(kernel):
    # facts §2a: reaped pids are not handed out again; held ones are skipped.
    init = kernel.init
    reaped = []
    for _ in range(3):
        c = init.fork()
        reaped.append(c.pid)
        kill_and_reap(init, c.pid)
    held = [init.fork().pid for _ in range(2)]
    after = [init.fork().pid for _ in range(2)]
    assert reaped == [2, 3, 4]
    assert held == [5, 6]
    assert after == [7, 8]


def test_first_number_of_a_fresh_namespace_is_1_and_its_first_fork_gets_2(kernel):
    # spec §3.5: the cursor of a new namespace is 0; facts §3c: a child ns reads ns_last_pid 1.
    ns_init = new_ns_init(kernel.init)
    assert ns_init.getpid() == 1
    assert ns_last_pid(ns_init) == 1
    assert ns_init.fork().pid == 2


def test_wrap_goes_to_300_not_2_and_not_301(kernel):
    # spec §3.5: "with pid_max=1000 and last=998 the sequence is 999 then 300".
    ns_init = new_ns_init(kernel.init)
    set_pid_max(ns_init, 1000)
    set_ns_last_pid(ns_init, 998)
    pids = [ns_init.fork().pid for _ in range(3)]
    assert pids == [999, RESERVED_PIDS, RESERVED_PIDS + 1]


def test_wrap_skips_numbers_in_use_including_zombies(kernel):
    # facts §2d: with 300 alive and 301 a zombie, 399 is followed by 302.
    ns_init = new_ns_init(kernel.init)
    set_pid_max(ns_init, 1000)
    set_ns_last_pid(ns_init, 299)
    alive = ns_init.fork()
    zombie = ns_init.fork()
    ns_init.kill(zombie.pid, SIGKILL)
    assert (alive.pid, zombie.pid) == (300, 301)
    assert "State:\tZ" in ns_init.read_text(f"/proc/{zombie.pid}/status")
    set_ns_last_pid(ns_init, 998)
    assert [ns_init.fork().pid for _ in range(2)] == [999, 302]


def test_full_namespace_fork_fails_with_eagain(kernel):
    # facts §2e: with pid_max=301 exactly 299 children fit (2..300), then EAGAIN.  Before
    # 6.14 the 301 bounds the parent namespace too, where init and the namespace's init
    # hold 1 and 2: 298 children fit, and the 299th fails there, after its own level
    # took 300 (alloc_pid: levels from the deepest up).
    needs_own_pid_max(kernel)
    ns_init = new_ns_init(kernel.init)
    limit = pid_max_min(kernel)
    set_pid_max(ns_init, limit)
    own = kernel.has("pidns-pid-max")
    fit = limit - 2 if own else limit - 3
    pids = [ns_init.fork().pid for _ in range(fit)]
    assert pids == list(range(2, 2 + fit))
    before = snapshot([ns_init, kernel.init])
    with raises_errno(errno.EAGAIN):
        ns_init.fork()
    after = snapshot([ns_init, kernel.init])
    if own:
        # The namespace's own level failed first: no cursor moved anywhere.
        assert after == before
    else:
        assert without_cursor(after) == without_cursor(before)
        assert (ns_last_pid(ns_init), after[1]) == (limit - 1, before[1])


def test_after_the_cursor_passed_300_free_numbers_below_300_are_not_searched(kernel):
    # spec §3.3: pid_min is 300 once the cursor is above RESERVED_PIDS; facts §2e.
    needs_own_pid_max(kernel)
    ns_init = new_ns_init(kernel.init)
    limit = pid_max_min(kernel)
    set_pid_max(ns_init, limit)
    set_ns_last_pid(ns_init, RESERVED_PIDS - 1)
    top = [ns_init.fork().pid for _ in range(limit - RESERVED_PIDS)]
    assert top == list(range(RESERVED_PIDS, limit))
    before = snapshot([ns_init, kernel.init])
    with raises_errno(errno.EAGAIN):      # 2..299 are all free
        ns_init.fork()
    assert snapshot([ns_init, kernel.init]) == before


def test_rewinding_ns_last_pid_below_300_makes_low_numbers_usable_again(kernel):
    # facts §2e: "after ns_last_pid=149: fork 150".
    needs_own_pid_max(kernel)
    ns_init = new_ns_init(kernel.init)
    limit = pid_max_min(kernel)
    set_pid_max(ns_init, limit)
    set_ns_last_pid(ns_init, RESERVED_PIDS - 1)
    for _ in range(limit - RESERVED_PIDS):
        ns_init.fork()
    with raises_errno(errno.EAGAIN):
        ns_init.fork()
    set_ns_last_pid(ns_init, 149)
    assert ns_init.fork().pid == 150


def test_threads_take_numbers_from_the_same_space(kernel):
    # facts §2b: fork 2, thread tid 3, next fork 4.
    init = kernel.init
    a = init.fork()
    th = init.spawn_thread()
    b = init.fork()
    assert (a.pid, th.pid, b.pid) == (2, 3, 4)
    assert (th.task.gettid(), th.task.getpid()) == (3, 1)
    assert ns_last_pid(init) == 4


def test_lowering_pid_max_below_the_cursor_wraps_to_300(kernel):
    # facts §3f: held pid 1000, pid_max 500, next fork 300, held pid still alive.
    ns_init = new_ns_init(kernel.init)
    set_ns_last_pid(ns_init, 999)
    held = ns_init.fork()
    assert held.pid == 1000
    set_pid_max(ns_init, 500)
    assert ns_init.fork().pid == RESERVED_PIDS
    assert held.task.getpid() == 1000


# =====================================================================================
# ns_last_pid (spec §5, facts §2f/§3/§4g, selftests §5)
# =====================================================================================

def test_ns_last_pid_reads_the_last_number_handed_out(kernel):
    init = kernel.init
    assert ns_last_pid(init) == 1
    c = init.fork()
    assert ns_last_pid(init) == c.pid
    kill_and_reap(init, c.pid)           # reaping does not move the cursor
    assert ns_last_pid(init) == c.pid


def test_writing_ns_last_pid_n_makes_the_next_fork_n_plus_1(kernel):
    # facts §2f: write 1000 -> 1001; write 5 -> 6.
    init = kernel.init
    set_ns_last_pid(init, 1000)
    assert init.fork().pid == 1001
    set_ns_last_pid(init, 5)
    assert init.fork().pid == 6
    assert ns_last_pid(init) == 6


def test_after_writing_ns_last_pid_the_next_fork_takes_the_next_free_number_above(kernel):
    # facts §2e: "after ns_last_pid=100 (101..119 busy, 120 free): fork 120".
    init = kernel.init
    busy = [init.fork().pid for _ in range(3)]
    assert busy == [2, 3, 4]
    set_ns_last_pid(init, 1)
    assert init.fork().pid == 5


def test_ns_last_pid_0_gives_the_lowest_free_number(kernel):
    # spec §5: after ns_last_pid=0 the next fork gets the lowest free number >= 1.
    init = kernel.init
    init.fork()                           # 2, kept
    freed = init.fork()                   # 3, reaped
    init.fork()                           # 4, kept
    kill_and_reap(init, freed.pid)
    set_ns_last_pid(init, 0)
    assert ns_last_pid(init) == 0
    assert init.fork().pid == freed.pid


def test_ns_last_pid_accepts_pid_max_itself_and_the_next_fork_wraps_to_300(kernel):
    # facts §2f: "write pid_max ok; fork after ns_last_pid=pid_max -> 300".
    init = kernel.init
    limit = pid_max(init)
    set_ns_last_pid(init, limit)
    assert ns_last_pid(init) == limit
    assert init.fork().pid == RESERVED_PIDS


@pytest.mark.parametrize("value", ["-1", "pid_max+1", "abc"])
def test_ns_last_pid_outside_0_to_pid_max_is_einval(kernel, value):
    # spec §5: range [0, pid_max of the active namespace], else EINVAL.
    init = kernel.init
    init.fork()
    text = str(pid_max(init) + 1) if value == "pid_max+1" else value
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.write_text(NS_LAST_PID_PATH, text)
    assert snapshot([init]) == before


def test_ns_last_pid_bound_is_the_pid_max_the_namespace_reads(kernel):
    # facts §3f: with pid_max 500, writing 600 is EINVAL and 500 is accepted (before 6.14
    # the 500 is the machine's, the bound of every namespace's cursor).
    ns_init = new_ns_init(kernel.init)
    set_pid_max(ns_init, 500)
    before = snapshot([ns_init])
    with raises_errno(errno.EINVAL):
        set_ns_last_pid(ns_init, 600)
    assert snapshot([ns_init]) == before
    set_ns_last_pid(ns_init, 500)
    assert ns_last_pid(ns_init) == 500


def test_ns_last_pid_write_without_cap_sys_admin_and_cap_checkpoint_restore_is_eperm(kernel):
    # spec §5: checkpoint_restore_ns_capable, EPERM raised inside the handler; facts §4g.
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS)
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        set_ns_last_pid(x, 100)
    assert snapshot([x, init]) == before


@pytest.mark.parametrize("kept", [CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE],
                         ids=["CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"])
def test_ns_last_pid_write_needs_only_one_of_the_two_capabilities(kernel, kept):
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS - {kept})
    set_ns_last_pid(x, 100)
    assert ns_last_pid(init) == 100
    assert init.fork().pid == 101


def test_ns_last_pid_is_readable_without_capabilities(kernel):
    # spec §5: file mode 0666, reading is open to all.
    init = kernel.init
    x = init.fork().task
    x.capset(set())
    assert ns_last_pid(x) == ns_last_pid(init) == 2


def test_ns_last_pid_acts_on_the_writers_active_namespace(kernel):
    # facts §3c; spec §5 ("of the reader's active ns").
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    outer_before = ns_last_pid(init)
    set_ns_last_pid(ns.task, 1000)
    assert ns_last_pid(init) == outer_before
    c = ns.task.fork()
    assert c.task.getpid() == 1001
    assert ns_last_pid(init) == outer_before + 1


def test_ns_last_pid_after_unshare_still_acts_on_the_active_namespace(kernel):
    # spec §5: unshare only changes pid_for_children; the sysctl follows the active ns.
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    set_ns_last_pid(x, 1000)
    assert ns_last_pid(init) == 1000
    c = x.fork()
    assert c.pid == 1001
    assert ns_last_pid(c.task) == 1          # the new namespace: only its init


def test_ns_last_pid_of_a_new_namespace_goes_up_to_pid_max_limit_from_614_the_machines_before(kernel):
    # pid_ns_ctl_handler: the bound is the pid_max the writer reads, its own namespace's
    # (PID_MAX_LIMIT when new) from 6.14, before the machine's (32768 here).
    init = kernel.init
    ns_init = new_ns_init(init)
    high = pid_max(init) + 100
    assert pid_max(ns_init) == pid_max_of_a_new_namespace(kernel, pid_max(init))
    if kernel.has("pidns-pid-max-limit"):
        set_ns_last_pid(ns_init, high)
        assert ns_init.fork().pid == high + 1
    else:
        before = snapshot([ns_init, init])
        with raises_errno(errno.EINVAL):
            set_ns_last_pid(ns_init, high)
        assert snapshot([ns_init, init]) == before
        set_ns_last_pid(ns_init, pid_max(init))
        assert ns_init.fork().pid == RESERVED_PIDS      # the cursor at pid_max wraps


def test_set_tid_does_not_move_ns_last_pid(kernel):
    # facts §4a: ns_last_pid 3 before and after set_tid=[500]; the next plain fork gets 4.
    init = kernel.init
    init.fork()
    init.fork()
    assert ns_last_pid(init) == 3
    c = init.clone(set_tid=[500])
    assert (c.pid, c.task.getpid()) == (500, 500)
    assert ns_last_pid(init) == 3
    assert init.fork().pid == 4


# =====================================================================================
# pid_max per namespace (spec §1, §5; facts §3)
# =====================================================================================

def test_new_namespace_starts_at_pid_max_limit_from_614_at_the_machines_value_before(kernel):
    # spec §1: create_pid_namespace sets PID_MAX_LIMIT whatever the parent's value; facts
    # §3c.  Before 6.14 every namespace reads the one machine-wide value, and a write from
    # any of them changes it for all.
    init = kernel.init
    set_pid_max(init, 400)
    a = new_ns_init(init)
    assert pid_max(a) == pid_max_of_a_new_namespace(kernel, 400)
    set_pid_max(a, 500)
    b = new_ns_init(a)
    assert pid_max(b) == pid_max_of_a_new_namespace(kernel, 500)
    if kernel.has("pidns-pid-max"):
        assert (pid_max(init), pid_max(a)) == (400, 500)
    else:
        assert pid_max(init) == pid_max(a) == pid_max(b) == 500


ACCEPTED_PID_MAX = {
    # id: (text written, value read back); lo is the computed minimum (spec §1)
    "min": (lambda lo: str(lo), lambda lo: lo),
    "min+1": (lambda lo: str(lo + 1), lambda lo: lo + 1),
    "limit": (lambda lo: str(PID_MAX_LIMIT), lambda lo: PID_MAX_LIMIT),
    "32768": (lambda lo: "32768", lambda lo: 32768),
    "whitespace-newline": (lambda lo: " 400\n", lambda lo: 400),
    "two-numbers": (lambda lo: "500 600", lambda lo: 500),
}


@pytest.mark.parametrize("case", list(ACCEPTED_PID_MAX))
def test_pid_max_accepts_values_from_the_minimum_to_pid_max_limit(kernel, case):
    # spec §5 / facts §3b: proc_dointvec_minmax, range [pid_max_min, PID_MAX_LIMIT];
    # leading whitespace and a newline are fine, "500 600" sets 500.
    lo = pid_max_min(kernel)
    text, expected = (f(lo) for f in ACCEPTED_PID_MAX[case])
    ns_init = new_ns_init(kernel.init)
    ns_init.write_text(PID_MAX_PATH, text)
    assert pid_max(ns_init) == expected


@pytest.mark.parametrize("text", ["min-1", "0", "-1", str(PID_MAX_LIMIT + 1), "2147483648", "abc"],
                         ids=["min-1", "0", "-1", "limit+1", "2^31", "abc"])
def test_pid_max_out_of_range_is_einval(kernel, text):
    # facts §3b: 300, 0, -1, 4194305, 2^31 and 'abc' give EINVAL and leave the value unchanged.
    if text == "min-1":
        text = str(pid_max_min(kernel) - 1)
    ns_init = new_ns_init(kernel.init)
    before = snapshot([ns_init, kernel.init])
    with raises_errno(errno.EINVAL):
        ns_init.write_text(PID_MAX_PATH, text)
    assert snapshot([ns_init, kernel.init]) == before
    assert pid_max(ns_init) == pid_max_of_a_new_namespace(kernel, pid_max(kernel.init))


def test_pid_max_write_changes_the_writers_active_namespace_from_614_the_machine_before(kernel):
    # facts §3c: from 6.14 a child's writes never change the parent's value; before, the
    # one value is the machine's (kern_table's pid_max, proc_dointvec_minmax).
    init = kernel.init
    outer = pid_max(init)
    ns_init = new_ns_init(init)
    set_pid_max(ns_init, 1000)
    assert pid_max(ns_init) == 1000
    assert pid_max(init) == (outer if kernel.has("pidns-pid-max") else 1000)


def test_pid_max_write_after_unshare_changes_the_active_namespace_not_the_new_one(kernel):
    # pid_table_root_lookup: the table of the writer's active namespace (6.14); before, the
    # machine's, which the new namespace reads too.
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    set_pid_max(x, 1000)
    assert pid_max(init) == 1000
    c = x.fork()
    assert pid_max(c.task) == pid_max_of_a_new_namespace(kernel, 1000)


def test_pid_max_written_in_a_child_namespace_bounds_the_parents_numbers_only_before_614(kernel):
    # alloc_pid: from 6.14 each level under its own namespace's pid_max; before, every
    # level under the machine's, so the parent's cursor wraps at the child's 1000.
    init = kernel.init
    set_ns_last_pid(init, 995)
    ns_init = new_ns_init(init)               # 996 in init's namespace
    set_pid_max(ns_init, 1000)
    pids = [init.fork().pid for _ in range(4)]
    if kernel.has("pidns-pid-max"):
        assert pids == [997, 998, 999, 1000]
    else:
        assert pids == [997, 998, 999, RESERVED_PIDS]


def test_set_tid_in_a_new_namespace_may_pass_the_parents_pid_max_from_614_not_before(kernel):
    # alloc_pid: set_tid[i] < the pid_max of its own level, PID_MAX_LIMIT for a new
    # namespace from 6.14; before 6.14 < the machine's one pid_max at every level.
    init = kernel.init
    ns_init = new_ns_init(init)
    high = pid_max(init) + 100
    if kernel.has("pidns-pid-max-limit"):
        c = ns_init.clone(set_tid=[high])
        assert (c.pid, c.task.getpid()) == (high, high)
    else:
        before = snapshot([ns_init, init])
        with raises_errno(errno.EINVAL):
            ns_init.clone(set_tid=[high])
        assert snapshot([ns_init, init]) == before
    before = snapshot([ns_init, init])
    with raises_errno(errno.EINVAL):          # the parent's level is bounded on every version
        ns_init.clone(set_tid=[5, high])
    assert snapshot([ns_init, init]) == before


@pytest.mark.model_only(reason="the live machine's number of possible CPUs is fixed (2 here); "
                        "only the model can stand for a 64-CPU machine")
def test_pid_max_minimum_and_default_follow_the_number_of_possible_cpus(kernel):
    # spec §1: pid_max_min = max(301, 8 x CPUs); initial pid_max = max(32768, 1024 x CPUs)
    # capped at PID_MAX_LIMIT; a new namespace still starts at PID_MAX_LIMIT.
    big = pidlab.Kernel(ncpus=64)
    init = big.init
    assert pid_max(init) == 1024 * 64
    ns_init = new_ns_init(init)
    assert pid_max(ns_init) == PID_MAX_LIMIT
    with raises_errno(errno.EINVAL):
        set_pid_max(ns_init, 8 * 64 - 1)
    set_pid_max(ns_init, 8 * 64)
    assert pid_max(ns_init) == 8 * 64
    big.check()


@pytest.mark.model_only(reason="the live kernel is 64-bit; only the model can be a 32-bit one")
def test_a_32_bit_kernel_caps_every_namespace_at_32768(kernel):
    # spec §1: PID_MAX_LIMIT is PID_MAX_DEFAULT (32768) when sizeof(long) == 4; a new
    # namespace starts at PID_MAX_LIMIT, and no level accepts a number at or above it.
    small = pidlab.Kernel(bits=32)
    init = small.init
    assert pid_max(init) == 32768
    with raises_errno(errno.EINVAL):
        set_pid_max(init, 32769)
    ns_init = new_ns_init(init)
    assert pid_max(ns_init) == 32768
    with raises_errno(errno.EINVAL):
        set_pid_max(ns_init, 32769)
    set_pid_max(ns_init, 32768)
    before = snapshot([init, ns_init])
    with raises_errno(errno.EINVAL):
        ns_init.clone(set_tid=(40000,))
    with raises_errno(errno.EINVAL):
        ns_init.clone(set_tid=(5, 40000))
    assert snapshot([init, ns_init]) == before
    assert ns_init.clone(set_tid=(32767,)).pid == 32767
    small.check()


def test_pid_max_write_without_cap_sys_admin_and_not_euid_0_is_eacces(kernel):
    # spec §5 (pid_max permissions): an unprivileged open for write fails with EACCES.
    init = kernel.init
    x = init.fork().task
    x.setuid(65534)
    before = snapshot([x, init])
    with raises_errno(errno.EACCES):
        set_pid_max(x, 1000)
    assert snapshot([x, init]) == before


def test_pid_max_write_by_euid_0_without_capabilities_is_allowed(kernel):
    # spec §5: the owner bits apply to CAP_SYS_ADMIN *or* euid == the namespace's root.
    init = kernel.init
    x = init.fork().task
    x.capset(set())
    set_pid_max(x, 1000)
    assert pid_max(init) == 1000


def test_failed_first_fork_into_a_new_namespace_resets_its_cursor(kernel):
    # spec §3.7: when nothing was ever committed in the namespace (pid_allocated ==
    # PIDNS_ADDING) its cursor goes back to 0, so the next try still makes pid 1.
    needs_own_pid_max(kernel)
    a = new_ns_init(kernel.init)
    _numbers_left(kernel, a, 1)
    x = a.fork().task                     # A is full now
    x.unshare(CLONE_NEWPID)
    with raises_errno(errno.EAGAIN):      # the new level took 1, then A failed
        x.fork()
    set_ns_last_pid(a, 1)                 # A's numbers below 300 become usable
    c = x.fork()
    assert (c.task.getpid(), c.task.getppid()) == (1, 0)
    assert ns_last_pid(c.task) == 1


def _numbers_left(kernel, a, n):
    """Shrink namespace `a` so that exactly its `n` highest numbers are free for forks.

    pid_max >= the minimum, cursor moved to 300 (spec §3.3: from then on only
    [300, pid_max) is searched), and every number of that range but the last n taken.
    """
    limit = max(pid_max_min(kernel), RESERVED_PIDS + n)
    set_pid_max(a, limit)
    set_ns_last_pid(a, RESERVED_PIDS - 1)
    for _ in range(limit - RESERVED_PIDS - n):
        a.fork()
    return list(range(limit - n, limit))


def test_child_may_set_a_larger_pid_max_but_the_ancestors_limit_wins_with_eagain(kernel):
    # spec §5 / facts §3d: each level is bounded by its own pid_max; ENOSPC becomes EAGAIN.
    # Before 6.14 there is one pid_max: test_pid_max_write_changes_the_writers_active_...
    needs(kernel, "pidns-pid-max")
    a = new_ns_init(kernel.init)
    [last] = _numbers_left(kernel, a, 1)
    b_child = a.clone(CLONE_NEWPID)
    assert b_child.pid == last           # A is now full
    b = b_child.task
    set_pid_max(b, pid_max(a) + 1000)     # larger than the parent's: accepted
    assert pid_max(b) == pid_max(a) + 1000
    before = snapshot([b, a, kernel.init])
    with raises_errno(errno.EAGAIN):
        b.fork()
    after = snapshot([b, a, kernel.init])
    # Only B's cursor moved (B's level was allocated before A's failed; spec §3.3/§3.7).
    assert without_cursor(after) == without_cursor(before)
    assert after[1:] == before[1:]


def test_eagain_at_an_outer_level_still_moves_every_inner_cursor(kernel):
    # facts §3d: "C ns_last_pid after failure 100; after freeing: new C pid 101".
    needs_own_pid_max(kernel)
    a = new_ns_init(kernel.init)
    _numbers_left(kernel, a, 2)
    b = new_ns_init(a)                    # A's last two numbers go to B and C
    c = new_ns_init(b)
    assert (ns_last_pid(b), ns_last_pid(c)) == (2, 1)
    before = snapshot([c, b, a, kernel.init])
    with raises_errno(errno.EAGAIN):      # C's and B's levels are allocated, then A fails
        c.fork()
    after = snapshot([c, b, a, kernel.init])
    assert (ns_last_pid(b), ns_last_pid(c)) == (3, 2)
    assert without_cursor(after) == without_cursor(before)
    assert after[2:] == before[2:]
    set_ns_last_pid(a, 1)                 # A's numbers below 300 become usable
    d = c.fork()
    assert (d.pid, d.task.getpid()) == (3, 3)
    assert nspid(b, 4) == [4, 3]
    assert nspid(a, 2) == [2, 4, 3]


def test_enomem_fork_into_a_dead_namespace_still_moves_the_outer_cursor(kernel):
    # facts §2g: A=2, B=3, the failed fork ate 4, the next fork got 5.
    init = kernel.init
    x = init.fork()
    x.task.unshare(CLONE_NEWPID)
    b = x.task.fork()
    assert (x.pid, b.pid) == (2, 3)
    kill_and_reap(x.task, b.pid)
    before = snapshot([x.task, init])
    with raises_errno(errno.ENOMEM):
        x.task.fork()
    after = snapshot([x.task, init])
    assert without_cursor(after) == without_cursor(before)
    assert ns_last_pid(init) == 4
    assert init.fork().pid == 5


# =====================================================================================
# set_tid: alloc_pid's checks in the kernel's order (spec §3.1, §3.3; facts §4)
# =====================================================================================

def test_set_tid_longer_than_level_plus_1_is_einval_before_any_other_check(kernel):
    # spec §3.1: checked before anything is allocated; pid 1 in use would be EEXIST.
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(set_tid=[1] * (kernel.top_level + 2))
    assert snapshot([init]) == before


@pytest.mark.parametrize("tid", ["0", "-1", "pid_max"])
def test_set_tid_below_1_or_at_least_pid_max_is_einval(kernel, tid):
    # facts §4b: 0, -7 and pid_max give EINVAL (0 does not mean "any").
    init = kernel.init
    value = pid_max(init) if tid == "pid_max" else int(tid)
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(set_tid=[value])
    assert snapshot([init]) == before


@pytest.mark.parametrize("tid", ["0", "pid_max"])
def test_set_tid_range_is_checked_before_the_capability(kernel, tid):
    # selftests §4.2: "the range check comes before the capability check".
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS)
    value = pid_max(x) if tid == "pid_max" else 0
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.clone(set_tid=[value])
    assert snapshot([x, init]) == before


def test_set_tid_other_than_1_in_a_namespace_without_init_is_einval(kernel):
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.clone(set_tid=[5])
    assert snapshot([x, init]) == before


def test_set_tid_1_makes_the_first_child_after_unshare_the_init(kernel):
    # spec §3.3: tid 1 needs no child reaper; selftests §3.3 (pidns_init_via_setns_set_tid,
    # which reaches the init-less namespace through setns: on 6.18 pid_for_children of such
    # a namespace cannot be opened, so unshare is used) -- NSpid ends "1001 1".
    a = new_ns_init(kernel.init)
    x = a.fork().task
    x.unshare(CLONE_NEWPID)
    c = x.clone(set_tid=[1, 1001])
    assert (c.pid, c.task.getpid(), c.task.getppid()) == (1001, 1, 0)
    assert nspid(a, 1001) == [1001, 1]
    assert x.fork().task.getpid() == 2    # the namespace has its init now


def test_set_tid_missing_init_is_checked_before_the_capability(kernel):
    init = kernel.init
    x = init.fork().task
    x.unshare(CLONE_NEWPID)
    drop_caps(x, BOTH_CAPS)
    before = snapshot([x, init])
    with raises_errno(errno.EINVAL):
        x.clone(set_tid=[5])
    assert snapshot([x, init]) == before


def test_set_tid_without_cap_sys_admin_and_cap_checkpoint_restore_is_eperm(kernel):
    # facts §4g: "no SYS_ADMIN, no CHECKPOINT_RESTORE: set_tid=[801] EPERM".
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS)
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.clone(set_tid=[801])
    assert snapshot([x, init]) == before


def test_set_tid_capability_is_checked_before_the_number_is_taken(kernel):
    # spec §3.3: EPERM comes before idr_alloc's EEXIST (pid 1 is in use).
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS)
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.clone(set_tid=[1])
    assert snapshot([x, init]) == before


@pytest.mark.parametrize("kept", [CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE],
                         ids=["CAP_SYS_ADMIN", "CAP_CHECKPOINT_RESTORE"])
def test_set_tid_needs_only_one_of_the_two_capabilities(kernel, kept):
    # facts §4g: "no CAP_SYS_ADMIN (still CHECKPOINT_RESTORE): set_tid=[800] ok 800".
    init = kernel.init
    x = init.fork().task
    drop_caps(x, BOTH_CAPS - {kept})
    c = x.clone(set_tid=[800])
    assert (c.pid, c.task.getpid()) == (800, 800)


def test_set_tid_number_in_use_is_eexist(kernel):
    # facts §4b: a held pid and pid 1 both give EEXIST.
    init = kernel.init
    held = init.fork()
    before = snapshot([init, held.task])
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=[held.pid])
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=[1])
    assert snapshot([init, held.task]) == before


def test_set_tid_number_in_use_at_an_outer_level_is_eexist_and_releases_the_inner_one(kernel):
    # facts §4c: "[611, 1] (outer pid 1 in use) EEXIST"; spec §3.7 unwinding.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    before = snapshot([ns.task, init])
    with raises_errno(errno.EEXIST):
        ns.task.clone(set_tid=[611, 1])
    assert snapshot([ns.task, init]) == before
    outer = ns_last_pid(init) + 1         # nothing above the cursor is taken
    c = ns.task.clone(set_tid=[611, outer])
    assert c.pid == 611
    assert nspid(init, outer) == [outer, 611]


def test_set_tid_levels_are_checked_innermost_first(kernel):
    # spec §3.3: levels from the deepest up; each level's checks and allocation come
    # before the next level's checks.
    init = kernel.init
    ns = init.clone(CLONE_NEWPID)
    before = snapshot([ns.task, init])
    with raises_errno(errno.EEXIST):      # inner 1 is taken; the outer 0 is never looked at
        ns.task.clone(set_tid=[1, 0])
    with raises_errno(errno.EINVAL):      # inner 50 is free; the outer 0 is invalid
        ns.task.clone(set_tid=[50, 0])
    assert snapshot([ns.task, init]) == before


def test_set_tid_may_pick_a_number_below_300(kernel):
    # facts §4b: set_tid=[5] (< RESERVED_PIDS, free) gives 5; spec §3.3: idr_alloc(tid, tid+1)
    # ignores the cursor and pid_min, so this holds after the cursor passed 300 too.
    ns_init = new_ns_init(kernel.init)
    set_ns_last_pid(ns_init, 500)
    c = ns_init.clone(set_tid=[5])
    assert (c.pid, c.task.getpid()) == (5, 5)
    assert ns_init.fork().pid == 501


def test_set_tid_with_clone_newpid_must_start_with_1(kernel):
    # facts §4f: NEWPID [5, 701] EINVAL; [1, 700] gives 700 outside and 1 inside.
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(CLONE_NEWPID, set_tid=[5, 701])
    assert snapshot([init]) == before
    c = init.clone(CLONE_NEWPID, set_tid=[1, 700])
    assert (c.pid, c.task.getpid(), c.task.getppid()) == (700, 1, 0)


# =====================================================================================
# Port: tools/testing/selftests/clone3/clone3_set_tid.c (selftests §4.2)
# =====================================================================================
# The selftest runs in the host's namespace (level 0).  Here its "test process" is
# kernel.init, at kernel.top_level; sizes that depend on the level are computed.

EINVAL_TABLE = [
    # (result number, set_tid, flags)
    (1, [0] * (MAX_PID_NS_LEVEL + 1), 0),
    (2, [0] * 64, 0),
    (3, [0] * 65, 0),
    (4, [0] * (32 * 42), 0),
    (5, [0] * (MAX_PID_NS_LEVEL - 1), 0),
    (6, [-1] * (MAX_PID_NS_LEVEL + 1), 0),
    (7, [-1] * 64, 0),
    (8, [-1] * 65, 0),
    (9, [-1] * (32 * 42), 0),
    (10, [-1] * (MAX_PID_NS_LEVEL - 1), 0),
    (11, [0], 0),
    (12, [-1], 0),
    (13, [-1, 0], 0),
    (14, [-1], CLONE_NEWPID),
    (17, "pid_max", 0),
    (18, "pid_max", CLONE_NEWPID),
]


@pytest.mark.parametrize("number,set_tid,flags", EINVAL_TABLE, ids=[f"#{c[0]}" for c in EINVAL_TABLE])
def test_selftest_clone3_set_tid_invalid_arrays_are_einval(kernel, number, set_tid, flags):
    init = kernel.init
    if set_tid == "pid_max":
        set_tid = [pid_max(init)]           # read from /proc/sys/kernel/pid_max, as the selftest
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(flags, set_tid=set_tid)
    assert snapshot([init]) == before


def test_selftest_clone3_set_tid_15_pid_1_in_use_is_eexist(kernel):
    init = kernel.init
    before = snapshot([init])
    with raises_errno(errno.EEXIST):
        init.clone(set_tid=[1])
    assert snapshot([init]) == before


def test_selftest_clone3_set_tid_16_newpid_with_1_makes_the_child_pid_1(kernel):
    c = kernel.init.clone(CLONE_NEWPID, set_tid=[1])
    assert c.task.getpid() == 1
    assert nspid(kernel.init, c.pid) == [c.pid, 1]


def _freed_pid(parent) -> int:
    """P of the selftest: the pid of a child that was just forked and reaped."""
    c = parent.fork()
    kill_and_reap(parent, c.pid)
    return c.pid


def test_selftest_clone3_set_tid_19_takes_a_just_freed_pid(kernel):
    init = kernel.init
    p = _freed_pid(init)
    c = init.clone(set_tid=[p])
    assert (c.pid, c.task.getpid()) == (p, p)


def test_selftest_clone3_set_tid_20_newpid_without_1_is_einval(kernel):
    init = kernel.init
    p = _freed_pid(init)
    before = snapshot([init])
    with raises_errno(errno.EINVAL):
        init.clone(CLONE_NEWPID, set_tid=[p])
    assert snapshot([init]) == before


def test_selftest_clone3_set_tid_21_newpid_with_1_and_the_outer_pid(kernel):
    init = kernel.init
    p = _freed_pid(init)
    c = init.clone(CLONE_NEWPID, set_tid=[1, p])
    assert (c.pid, c.task.getpid()) == (p, 1)


def _unshared_test_process(kernel):
    """The selftest's process after unshare(CLONE_NEWPID), with its freed P."""
    x = kernel.init.fork().task
    p = _freed_pid(x)
    x.unshare(CLONE_NEWPID)
    return x, p


def test_selftest_clone3_set_tid_22_after_unshare_without_init_is_einval(kernel):
    x, p = _unshared_test_process(kernel)
    before = snapshot([x, kernel.init])
    with raises_errno(errno.EINVAL):
        x.clone(set_tid=[p])
    assert snapshot([x, kernel.init]) == before


def test_selftest_clone3_set_tid_23_namespace_init_picks_2(kernel):
    x, p = _unshared_test_process(kernel)
    ns_pid = x.fork().task
    assert ns_pid.getpid() == 1
    c = ns_pid.clone(set_tid=[2])
    assert (c.pid, c.task.getpid()) == (2, 2)


def test_selftest_clone3_set_tid_24_invalid_middle_level_is_einval(kernel):
    x, p = _unshared_test_process(kernel)
    ns_pid = x.fork().task
    before = snapshot([ns_pid, x, kernel.init])
    with raises_errno(errno.EINVAL):
        ns_pid.clone(CLONE_NEWPID, set_tid=[1, -1, p])
    assert snapshot([ns_pid, x, kernel.init]) == before


def test_selftest_clone3_set_tid_25_more_entries_than_levels_is_einval(kernel):
    # The selftest passes size 4 for the 3 levels 0..2.  Below kernel.top_level the
    # new namespace is at top_level + 2: one entry more than its levels is computed
    # (on the live sandbox a size of 4 would reach the host's initial namespace).
    x, p = _unshared_test_process(kernel)
    ns_pid = x.fork().task
    new_level = kernel.top_level + 2
    set_tid = [1, 42, p] + [0] * (new_level + 2 - 3)
    assert len(set_tid) == new_level + 2
    before = snapshot([ns_pid, x, kernel.init])
    with raises_errno(errno.EINVAL):
        ns_pid.clone(CLONE_NEWPID, set_tid=set_tid)
    assert snapshot([ns_pid, x, kernel.init]) == before


def test_selftest_clone3_set_tid_26_27_three_levels_give_nspid_p_42_1(kernel):
    x, p = _unshared_test_process(kernel)
    ns_pid = x.fork().task
    c = ns_pid.clone(CLONE_NEWPID, set_tid=[1, 42, p])
    assert c.pid == 42                   # #26: the pid returned to the parent
    assert c.task.getpid() == 1
    # #27: "the host" (the selftest's namespace) reads NSpid "P 42 1".
    assert nspid(kernel.init, p) == [p, 42, 1]


# =====================================================================================
# Port: tools/testing/selftests/clone3/clone3_cap_checkpoint_restore.c (selftests §4.3)
# =====================================================================================

def test_selftest_clone3_cap_checkpoint_restore(kernel):
    init = kernel.init
    x = init.fork().task
    p = _freed_pid(x)
    caps = {CAP_SETUID, CAP_SETGID, CAP_CHECKPOINT_RESTORE}
    x.capset(caps)
    x.prctl(PR_SET_KEEPCAPS, 1)
    x.setgid(65534)
    x.setuid(65534)
    assert x.capget() == frozenset()      # setuid away from 0 clears the effective set
    before = snapshot([x, init])
    with raises_errno(errno.EPERM):
        x.clone(set_tid=[p])
    assert snapshot([x, init]) == before
    x.capset(caps)                        # raised again from the kept permitted set
    c = x.clone(set_tid=[p])
    assert (c.pid, c.task.getpid()) == (p, p)


# =====================================================================================
# Port: tools/testing/selftests/pid_namespace/pid_max.c, newest version (selftests §3.2)
# =====================================================================================

def _limits(kernel):
    lo = pid_max_min(kernel)
    return lo + 100, lo + 200            # outer_limit, inner_limit


def test_selftest_pid_max_simple(kernel):
    # The selftest forks and reaps inner_limit + 1 times in a fresh namespace.  The first
    # inner_limit - 21 forks only walk the cursor up from 2; to stay inside the live fork
    # budget the walk starts there, through ns_last_pid (spec §5), and the last 21 forks
    # run as in the selftest, across the wrap.
    _, inner = _limits(kernel)
    a = new_ns_init(kernel.init)
    set_pid_max(a, inner)
    set_ns_last_pid(a, inner - 20)
    pids = []
    for _ in range(21):
        c = a.fork()
        pids.append(c.pid)
        kill_and_reap(a, c.pid)
    assert all(p <= inner for p in pids)                       # the selftest's assertion
    assert pids == list(range(inner - 19, inner)) + [300, 301]  # spec §3.5


def test_selftest_pid_max_nested_limit(kernel):
    # A child's larger pid_max is its own (6.14); before, the last write is every level's.
    needs(kernel, "pidns-pid-max")
    outer, inner = _limits(kernel)
    a = new_ns_init(kernel.init)
    set_pid_max(a, outer)
    b = new_ns_init(a)
    set_pid_max(b, inner)                 # larger than A's: must succeed
    assert pid_max(b) == inner
    # A's pids 1 (A) and 2 (B) are used, B's children take A's 3..outer-1.
    children = [b.fork() for _ in range(outer - 3)]
    assert len(children) < outer          # the selftest's assertion
    with raises_errno(errno.EAGAIN):
        b.fork()


def test_selftest_pid_max_nested(kernel):
    needs(kernel, "pidns-pid-max")
    outer, inner = _limits(kernel)
    a = new_ns_init(kernel.init)
    set_pid_max(a, outer)
    kept = [a.fork() for _ in range(outer - 4)]
    assert kept[-1].pid == outer - 3
    b_child = a.clone(CLONE_NEWPID)
    assert b_child.pid == outer - 2
    b = b_child.task
    set_pid_max(b, inner)
    first = b.fork()                      # takes A's last number, outer - 1
    assert nspid(a, outer - 1) == [outer - 1, first.pid]
    with raises_errno(errno.EAGAIN):      # A is exhausted
        b.fork()
    kill_and_reap(b, first.pid)
    # The selftest then forks and reaps inner_limit + 10 times: every fork succeeds and
    # every B-pid is below inner_limit.  Jumping B's cursor close to inner_limit keeps
    # the part that matters (B's wrap, A's single free number reused each time) within
    # the live fork budget.
    set_ns_last_pid(b, inner - 6)
    pids = []
    for _ in range(10):
        c = b.fork()
        pids.append(c.pid)
        assert nspid(a, outer - 1) == [outer - 1, c.pid]
        kill_and_reap(b, c.pid)
    assert all(p < inner for p in pids)
    assert pids == list(range(inner - 5, inner)) + list(range(300, 305))


# =====================================================================================
# Port: tools/testing/selftests/pid_namespace/regression_enomem.c (selftests §3.1)
# =====================================================================================

def test_selftest_regression_enomem(kernel):
    x = kernel.init.fork().task
    x.unshare(CLONE_NEWPID)
    c = x.fork()
    assert c.task.getpid() == 1
    c.task.exit(0)
    assert reap(x, c.pid) == (c.pid, 0)
    before = snapshot([x, kernel.init])
    with raises_errno(errno.ENOMEM):
        x.fork()
    # spec §3.6/facts §2g: the outer level's number was allocated before the commit failed.
    assert without_cursor(snapshot([x, kernel.init])) == without_cursor(before)


def test_set_tid_may_be_any_ordered_iterable(kernel):
    # api.md: set_tid is an Iterable[int], innermost level first.
    init = kernel.init
    ns_init = new_ns_init(init)
    outer = pid_max(init) - 7
    c = ns_init.clone(set_tid=iter([5, outer]))
    assert c.pid == 5 and nspid(init, outer)[-1] == 5
    assert ns_init.clone(set_tid=(n for n in (6,))).pid == 6


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_set_tid_longer_than_the_levels_below_the_top_is_einval_and_takes_nothing(kernel, depth):
    """alloc_pid: more entries than the new pid has levels is EINVAL before any is
    used.  On the live backend the extra entries would name pids of the host's
    namespaces above the sandbox; they must fail the same way there."""
    t = kernel.init
    for _ in range(depth):
        t = t.clone(CLONE_NEWPID).task
    tids = [400 + i for i in range(depth + 1)]
    with raises_errno(errno.EINVAL):
        t.clone(set_tid=tids + [77])
    with raises_errno(errno.EINVAL):
        t.clone(CLONE_NEWPID, set_tid=[1] + tids + [78])
    child = t.clone(set_tid=tids)                 # every one of them is still free
    assert child.pid == tids[0]
    assert child.task.getpid() == tids[0]
