"""Credentials: set*id, capget/capset, what commit_creds resets, and who may
signal whom or write the pid sysctls, on both backends.

Expected values come from kernel/sys.c (__sys_setuid, __sys_setreuid,
__sys_setresuid, __sys_setgid, __sys_setresgid), security/commoncap.c
(cap_emulate_setxuid, cap_capset), kernel/cred.c (commit_creds resets
dumpable to fs.suid_dumpable, 0 here, and pdeath_signal when euid, egid,
fsuid, fsgid change or permitted grows), kernel/signal.c (kill_ok_by_cred)
and /work/shared/spec/linux-pid-6.18.md section 5 (pid_max and ns_last_pid
permissions).  The live sandbox's init lacks CAP_SYS_RESOURCE (differences.py
'caps'), so no test compares a raw capability set across backends: each sets
what it needs with capset first, or compares a task with itself.
"""

from __future__ import annotations

import errno

import pytest

from pidlab import (CAP_CHECKPOINT_RESTORE, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SYS_ADMIN,
                    PR_GET_DUMPABLE, PR_GET_PDEATHSIG, PR_SET_KEEPCAPS, PR_SET_PDEATHSIG,
                    CAP_SYS_PTRACE, SIGTERM, SIGUSR1, WNOHANG)

from pidlab.conformance.helpers import pid_max, ns_last_pid, raises_errno, snapshot, status_lines

# Every scenario runs on the model at every kernel version and on every live kernel.
pytestmark = pytest.mark.pidlab_kernels("all")

PID_MAX = "/proc/sys/kernel/pid_max"
NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"
NO_CAPS = "0000000000000000"
KEEP = -1          # "leave this id unchanged" (becomes (uid_t)-1)


def cap_lines(task) -> tuple[str, str]:
    lines = dict(line.split(":\t", 1) for line in task.read_text("/proc/self/status").splitlines()
                 if line.startswith("Cap"))
    return lines["CapPrm"], lines["CapEff"]


def child(kernel):
    return kernel.init.fork().task


# ---------------------------------------------------------------- setuid

def test_setuid_by_root_changes_every_uid_and_drops_all_capabilities(kernel):
    t = child(kernel)
    t.setuid(1000)
    assert t.getresuid() == (1000, 1000, 1000)
    assert (t.getuid(), t.geteuid()) == (1000, 1000)
    assert status_lines(t.read_text("/proc/self/status"))["Uid"] == "1000\t1000\t1000\t1000"
    assert cap_lines(t) == (NO_CAPS, NO_CAPS)
    assert t.capget() == frozenset()


def test_setuid_to_root_again_after_dropping_root_is_eperm(kernel):
    t = child(kernel)
    t.setuid(1000)
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setuid(0)
    assert snapshot([t]) == before


def test_setuid_without_cap_setuid_may_pick_the_real_or_saved_uid_only(kernel):
    t = child(kernel)
    t.setresuid(1000, 1000, 2000)
    t.setuid(2000)                          # the saved uid: only euid (and fsuid) change
    assert t.getresuid() == (1000, 2000, 2000)
    t.setuid(1000)                          # the real uid
    assert t.getresuid() == (1000, 1000, 2000)
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setuid(3000)
    assert snapshot([t]) == before


def test_setuid_of_minus_one_is_einval(kernel):
    t = child(kernel)
    before = snapshot([t])
    with raises_errno(errno.EINVAL):
        t.setuid(-1)
    with raises_errno(errno.EINVAL):
        t.setgid(-1)
    assert snapshot([t]) == before


def test_setuid_by_root_to_root_changes_nothing(kernel):
    t = child(kernel)
    caps = cap_lines(t)
    t.setuid(0)
    assert t.getresuid() == (0, 0, 0)
    assert cap_lines(t) == caps


# ---------------------------------------------------------------- setgid

def test_setgid_by_root_changes_every_gid_and_keeps_capabilities(kernel):
    t = child(kernel)
    caps = cap_lines(t)
    t.setgid(500)
    assert t.getresgid() == (500, 500, 500)
    assert (t.getgid(), t.getegid()) == (500, 500)
    assert status_lines(t.read_text("/proc/self/status"))["Gid"] == "500\t500\t500\t500"
    assert cap_lines(t) == caps


def test_setgid_without_cap_setgid_may_pick_the_real_or_saved_gid_only(kernel):
    t = child(kernel)
    t.setresgid(500, 500, 600)
    t.capset(set())                         # drop CAP_SETGID, stay uid 0
    t.setgid(600)
    assert t.getresgid() == (500, 600, 600)
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setgid(700)
    assert snapshot([t]) == before


# ---------------------------------------------------------------- setresuid / setreuid / setresgid

def test_setresuid_minus_one_leaves_that_id_unchanged(kernel):
    t = child(kernel)
    t.setresuid(1000, 2000, 3000)
    assert t.getresuid() == (1000, 2000, 3000)
    t.setresuid(KEEP, 1000, KEEP)           # allowed: 1000 is one of the current ids
    assert t.getresuid() == (1000, 1000, 3000)
    t.setresuid(KEEP, KEEP, KEEP)
    assert t.getresuid() == (1000, 1000, 3000)


def test_setresuid_without_cap_setuid_only_shuffles_current_ids(kernel):
    t = child(kernel)
    t.setresuid(1000, 2000, 3000)
    t.setresuid(3000, 1000, 2000)
    assert t.getresuid() == (3000, 1000, 2000)
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setresuid(KEEP, 4000, KEEP)
    assert snapshot([t]) == before


def test_changing_only_the_euid_away_from_root_clears_effective_caps_until_it_returns(kernel):
    t = child(kernel)
    prm, eff = cap_lines(t)
    full = t.capget()
    t.setresuid(KEEP, 1000, KEEP)
    assert t.getresuid() == (0, 1000, 0)
    assert cap_lines(t) == (prm, NO_CAPS)   # permitted kept: real and saved uid are still 0
    assert t.capget() == frozenset()
    t.setresuid(KEEP, 0, KEEP)
    assert cap_lines(t) == (prm, eff)
    assert t.capget() == full


def test_setreuid_by_root_sets_the_saved_uid_to_the_new_euid(kernel):
    t = child(kernel)
    t.setreuid(1000, 2000)
    assert t.getresuid() == (1000, 2000, 2000)


def test_setreuid_minus_one_for_the_real_uid_leaves_the_saved_uid_when_euid_is_the_real_uid(kernel):
    t = child(kernel)
    t.setresuid(1000, 2000, 3000)
    t.setreuid(KEEP, 1000)                  # euid back to the real uid: suid untouched
    assert t.getresuid() == (1000, 1000, 3000)
    t.setreuid(KEEP, 3000)                  # euid to something else: suid follows it
    assert t.getresuid() == (1000, 3000, 3000)


def test_setreuid_without_cap_setuid_is_eperm_for_a_foreign_id(kernel):
    t = child(kernel)
    t.setresuid(1000, 1000, 2000)
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setreuid(2000, KEEP)              # ruid must be the old ruid or euid
    with raises_errno(errno.EPERM):
        t.setreuid(KEEP, 4000)
    assert snapshot([t]) == before


def test_setresgid_minus_one_leaves_that_id_unchanged(kernel):
    t = child(kernel)
    t.setresgid(10, 20, 30)
    t.setresgid(KEEP, KEEP, 40)
    assert t.getresgid() == (10, 20, 40)
    t.setresgid(KEEP, 10, KEEP)
    assert t.getresgid() == (10, 10, 40)


def test_setresgid_without_cap_setgid_is_eperm_for_a_foreign_id(kernel):
    t = child(kernel)
    t.setresgid(10, 20, 30)
    t.capset({CAP_SETUID})                  # no CAP_SETGID
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.setresgid(KEEP, 99, KEEP)
    assert snapshot([t]) == before
    t.setresgid(30, 10, 20)
    assert t.getresgid() == (30, 10, 20)


# ---------------------------------------------------------------- capset / capget

def test_capset_sets_effective_and_permitted_and_capget_returns_effective(kernel):
    t = child(kernel)
    t.capset({CAP_KILL, CAP_SETUID})
    assert t.capget() == {CAP_KILL, CAP_SETUID}
    mask = f"{(1 << CAP_KILL) | (1 << CAP_SETUID):016x}"
    assert cap_lines(t) == (mask, mask)


def test_capset_may_lower_effective_below_permitted(kernel):
    t = child(kernel)
    t.capset({CAP_KILL}, permitted={CAP_KILL, CAP_SETUID})
    assert t.capget() == {CAP_KILL}
    assert cap_lines(t)[0] == f"{(1 << CAP_KILL) | (1 << CAP_SETUID):016x}"
    t.capset({CAP_KILL, CAP_SETUID}, permitted={CAP_KILL, CAP_SETUID})   # raise it back
    assert t.capget() == {CAP_KILL, CAP_SETUID}


def test_capset_of_an_effective_cap_outside_permitted_is_eperm(kernel):
    t = child(kernel)
    t.capset({CAP_KILL, CAP_SETUID})
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.capset({CAP_SYS_ADMIN}, permitted={CAP_KILL})
    with raises_errno(errno.EPERM):
        t.capset({CAP_SETUID}, permitted={CAP_KILL})
    assert snapshot([t]) == before


def test_capset_cannot_grow_the_permitted_set(kernel):
    t = child(kernel)
    t.capset({CAP_KILL})
    before = snapshot([t])
    with raises_errno(errno.EPERM):
        t.capset({CAP_KILL, CAP_SYS_ADMIN})
    with raises_errno(errno.EPERM):
        t.capset({CAP_KILL}, permitted={CAP_KILL, CAP_SYS_ADMIN})
    assert snapshot([t]) == before


def test_capset_changes_only_the_calling_process(kernel):
    init = kernel.init
    a, b = child(kernel), child(kernel)
    full_init, full_b = init.capget(), b.capget()
    a.capset({CAP_KILL})
    assert (init.capget(), b.capget()) == (full_init, full_b)


def test_a_forked_child_inherits_the_capability_sets(kernel):
    # CAP_SYS_PTRACE is kept because the live agent of a new child must be able
    # to look at pid 1's /proc entry (see the report on the live backend).
    t = child(kernel)
    t.capset({CAP_KILL, CAP_SYS_PTRACE}, permitted={CAP_KILL, CAP_SYS_PTRACE, CAP_SETUID})
    c = t.fork().task
    assert c.capget() == {CAP_KILL, CAP_SYS_PTRACE}
    assert cap_lines(c) == cap_lines(t)


# ---------------------------------------------------------------- commit_creds side effects

def test_setuid_from_root_clears_dumpable_and_the_parent_death_signal(kernel):
    t = child(kernel)
    t.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    assert t.prctl(PR_GET_PDEATHSIG) == SIGUSR1
    assert t.prctl(PR_GET_DUMPABLE) == 1
    t.setuid(1000)
    assert t.prctl(PR_GET_DUMPABLE) == 0
    assert t.prctl(PR_GET_PDEATHSIG) == 0


def test_setgid_changing_the_egid_also_clears_dumpable_and_the_parent_death_signal(kernel):
    t = child(kernel)
    t.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    t.setgid(500)
    assert t.prctl(PR_GET_DUMPABLE) == 0
    assert t.prctl(PR_GET_PDEATHSIG) == 0


def test_an_id_call_that_changes_nothing_keeps_dumpable_and_the_parent_death_signal(kernel):
    t = child(kernel)
    t.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    t.setuid(0)
    t.setresuid(KEEP, KEEP, KEEP)
    assert t.prctl(PR_GET_DUMPABLE) == 1
    assert t.prctl(PR_GET_PDEATHSIG) == SIGUSR1


def test_dropping_capabilities_keeps_dumpable_and_the_parent_death_signal(kernel):
    # commit_creds resets them when permitted grows, not when it shrinks.
    t = child(kernel)
    t.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    t.capset({CAP_KILL})
    assert t.prctl(PR_GET_DUMPABLE) == 1
    assert t.prctl(PR_GET_PDEATHSIG) == SIGUSR1


def test_keepcaps_keeps_permitted_capabilities_across_setuid(kernel):
    t = child(kernel)
    t.capset({CAP_KILL, CAP_SETUID})
    t.prctl(PR_SET_KEEPCAPS, 1)
    t.setuid(1000)
    assert t.capget() == frozenset()        # effective is cleared with euid 0 -> 1000
    t.capset({CAP_KILL}, permitted={CAP_KILL, CAP_SETUID})
    assert t.capget() == {CAP_KILL}


# ---------------------------------------------------------------- kill permission by uid

def test_a_sender_with_the_targets_uid_may_signal_it(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    sender.task.setuid(1000)
    target.task.setuid(1000)
    sender.task.kill(target.pid, SIGTERM)
    assert init.waitpid(target.pid, 0) == (target.pid, SIGTERM)


def test_a_sender_whose_uid_is_the_targets_saved_uid_may_signal_it(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setresuid(2000, 2000, 1000)
    sender.task.setuid(1000)
    sender.task.kill(target.pid, SIGTERM)
    assert init.waitpid(target.pid, 0) == (target.pid, SIGTERM)


def test_a_sender_whose_real_uid_matches_may_signal_even_with_another_euid(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setuid(1000)
    sender.task.setresuid(1000, 3000, 3000)
    sender.task.kill(target.pid, 0)


def test_a_sender_with_unrelated_uids_gets_eperm(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    target.task.setuid(2000)
    sender.task.setuid(1000)
    before = snapshot([sender.task, target.task])
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, SIGTERM)
    assert snapshot([sender.task, target.task]) == before
    assert init.waitpid(target.pid, WNOHANG) == (0, 0)


def test_an_unprivileged_sender_cannot_signal_root(kernel):
    init = kernel.init
    sender, target = init.fork(), init.fork()
    sender.task.setuid(1000)
    with raises_errno(errno.EPERM):
        sender.task.kill(target.pid, SIGTERM)
    with raises_errno(errno.EPERM):
        sender.task.kill(1, 0)


# ---------------------------------------------------------------- pid_max, ns_last_pid permissions (spec §5)

def test_pid_max_write_by_a_non_root_euid_without_cap_sys_admin_is_eacces(kernel):
    init = kernel.init
    t = child(kernel)
    t.setuid(1000)
    before = snapshot([init, t])
    with raises_errno(errno.EACCES):
        t.write_text(PID_MAX, "40000")
    assert snapshot([init, t]) == before
    assert pid_max(init) == 32768


def test_pid_max_is_writable_by_euid_root_without_any_capability(kernel):
    init = kernel.init
    t = child(kernel)
    t.capset(set())
    t.write_text(PID_MAX, "40000")
    assert pid_max(init) == 40000


def test_pid_max_is_writable_with_cap_sys_admin_and_a_non_root_euid_from_614_eacces_before(kernel):
    # 6.14's per-namespace table: pid_table_root_permissions gives the owner bits to
    # CAP_SYS_ADMIN over the namespace's user namespace.  Before, the machine-wide entry
    # of kern_table has no permissions hook: test_perm gives them to euid 0 only.
    init = kernel.init
    t = child(kernel)
    t.capset({CAP_SYS_ADMIN, CAP_SETUID})
    t.prctl(PR_SET_KEEPCAPS, 1)
    t.setuid(1000)
    t.capset({CAP_SYS_ADMIN})
    assert t.geteuid() == 1000
    if kernel.has("pidns-pid-max"):
        t.write_text(PID_MAX, "40000")
        assert pid_max(init) == 40000
    else:
        before = snapshot([init, t])
        with raises_errno(errno.EACCES):
            t.write_text(PID_MAX, "40000")
        assert snapshot([init, t]) == before


@pytest.mark.parametrize("caps", [set(), {CAP_SETUID, CAP_SETGID, CAP_KILL}])
def test_ns_last_pid_write_without_cap_sys_admin_or_checkpoint_restore_is_eperm(kernel, caps):
    init = kernel.init
    t = child(kernel)
    t.capset(caps)
    before = snapshot([init, t])
    with raises_errno(errno.EPERM):
        t.write_text(NS_LAST_PID, "100")
    assert snapshot([init, t]) == before


def test_ns_last_pid_write_by_a_non_root_uid_is_eperm(kernel):
    init = kernel.init
    t = child(kernel)
    t.setuid(1000)
    with raises_errno(errno.EPERM):        # mode 0666: the handler refuses
        t.write_text(NS_LAST_PID, "100")
    assert ns_last_pid(init) == 2


@pytest.mark.parametrize("cap", [CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE])
def test_ns_last_pid_is_writable_with_either_capability(kernel, cap):
    init = kernel.init
    t = child(kernel)
    t.capset({cap})
    t.write_text(NS_LAST_PID, "100")
    assert ns_last_pid(init) == 100
    assert init.fork().pid == 101


def test_reading_pid_max_and_ns_last_pid_needs_no_privilege(kernel):
    init = kernel.init
    t = child(kernel)
    t.setuid(1000)
    assert t.read_text(PID_MAX) == init.read_text(PID_MAX) == "32768\n"
    assert t.read_text(NS_LAST_PID) == init.read_text(NS_LAST_PID) == "2\n"


def test_a_saved_root_uid_lets_a_process_regain_root_and_its_capabilities(kernel):
    # cap_emulate_setxuid keeps permitted while any of ruid, euid, suid is 0.
    t = child(kernel)
    full = t.capget()
    prm = cap_lines(t)[0]
    t.setresuid(1000, 1000, 0)
    assert t.capget() == frozenset()
    assert cap_lines(t)[0] == prm
    t.setuid(0)                             # allowed: 0 is the saved uid
    assert t.getresuid() == (1000, 0, 0)
    assert t.capget() == full


def test_credentials_belong_to_the_thread_that_changes_them(kernel):
    # The raw setuid syscall changes the calling thread's cred only (glibc's
    # process-wide setuid is a user-space broadcast).
    init = kernel.init
    a = init.fork()
    thread = a.task.spawn_thread()
    thread.task.setuid(1000)
    assert (thread.task.getuid(), a.task.getuid()) == (1000, 0)
    assert status_lines(init.read_text(f"/proc/{a.pid}/status"))["Uid"] == "0\t0\t0\t0"
    assert status_lines(init.read_text(f"/proc/{a.pid}/task/{thread.pid}/status"))["Uid"] == \
        "1000\t1000\t1000\t1000"
    assert thread.task.capget() == frozenset()
    assert a.task.capget() == init.capget()


def test_setuid_without_cap_setuid_may_not_pick_the_effective_uid_alone(kernel):
    t = child(kernel)
    t.setresuid(1000, 2000, 3000)
    with raises_errno(errno.EPERM):         # only the real or the saved uid
        t.setuid(2000)


def test_setreuid_may_set_the_real_uid_to_the_old_effective_uid(kernel):
    t = child(kernel)
    t.setresuid(1000, 2000, 3000)
    t.setreuid(2000, KEEP)                  # a real uid given: suid follows the euid
    assert t.getresuid() == (2000, 2000, 2000)


def test_changing_only_the_real_uid_keeps_dumpable_and_the_parent_death_signal(kernel):
    # commit_creds looks at euid, egid, fsuid, fsgid and a growing permitted set.
    t = child(kernel)
    t.prctl(PR_SET_PDEATHSIG, SIGUSR1)
    caps = cap_lines(t)
    t.setresuid(1000, KEEP, KEEP)
    assert t.getresuid() == (1000, 0, 0)
    assert cap_lines(t) == caps
    assert t.prctl(PR_GET_DUMPABLE) == 1
    assert t.prctl(PR_GET_PDEATHSIG) == SIGUSR1
