"""The race explorer (pidlab.explore, replay, trace) on the model's interleavable paths.

Expected verdicts come from ../shared/spec/races.md and the kernel sources it quotes
(B.3-B.6), per version; where a version's stable tree carries a fix, the series name
("6.16") means the latest stable release and "6.16.0" the release itself.
"""

from __future__ import annotations

import errno
import pickle

import pytest

import pidlab
from pidlab import (CLONE_NEWPID, PIDFD_INFO_EXIT, SIGKILL, WOULD_BLOCK, Errno, WNOHANG,
                    explore, replay, trace)

# ---------------------------------------------------------------- scenarios


def zombie_and_opener(k):
    c = k.init.fork()
    c.task.exit_group(0)                    # a zombie, not yet reaped
    return {"c": c, "other": k.init.fork().task}


def reap(k, s):
    return k.init.waitpid(s["c"].pid, 0)


def peek(k, s):
    return s["other"].pidfd_open(s["c"].pid)


def exit_info(k, s, outcome):
    """After both: does the pidfd the opener got (if any) report the exit status?"""
    fd = outcome[1]
    if not isinstance(fd, int):
        return None
    return bool(s["other"].pidfd_get_info(fd, PIDFD_INFO_EXIT).mask & PIDFD_INFO_EXIT)


def no_exit_info(o):
    return o[2] is False


def two_waiters(k):
    c = k.init.fork()
    c.task.exit_group(3)
    return {"c": c, "thread": k.init.spawn_thread().task}


def wait_by_pid(k, s):
    return k.init.waitpid(s["c"].pid, 0)


def wait_any(k, s):
    return s["thread"].waitpid(-1, 0)


# ---------------------------------------------------------------- (a) the exit-information race

@pytest.mark.parametrize("version, verdict", [
    ("6.15", "Sometimes"),      # pidfs_exit unlocked, pidfs_pid_valid does not sync with it
    ("6.16.0", "Sometimes"),    # the same scheme in 6.16.0-6.16.3
    ("6.16", "Never"),          # "pidfs: persist information" reached 6.16.4
    ("6.17", "Never"),
    ("6.18", "Never"),
])
def test_a_pidfd_handed_out_for_a_reaped_task_without_exit_information_until_617(
        version, verdict):
    x = explore(zombie_and_opener, [reap, peek], version=version, final=exit_info,
                max_preemptions=3)
    assert x.complete
    assert x.verdict(no_exit_info) == verdict
    # The reaper always reaps; the opener gets a pidfd or, late, ESRCH (or EINVAL
    # before 6.16, when pidfd_prepare finds no thread-group leader).
    assert x.always(lambda o: o[0] == (zombie_and_opener_pid(), 0))
    late = {Errno(errno.ESRCH)} | ({Errno(errno.EINVAL)} if version < "6.16" else set())
    assert x.always(lambda o: isinstance(o[1], int) or o[1] in late)


def zombie_and_opener_pid():
    return 2                                # the first child of init in a fresh kernel


def test_the_witness_of_the_race_takes_one_preemption_and_replays_exactly():
    x = explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info)
    w = x.witness(no_exit_info)
    assert w is not None and w.preemptions == 1
    # races.md B.3: the reaper's pidfs_exit finds no dentry, the opener stashes one and
    # passes pidfs_pid_valid, then the reaper unhashes.
    labels = [(s.name, s.label) for s in w.steps()]
    exit_at = labels.index(("reap", "pidfs_exit: stashed_dentry_get(&pid->stashed) (RCU)"))
    valid_at = labels.index(("peek", "pidfs_pid_valid: pid_has_task()"))
    unhash_at = next(i for i, (n, lab) in enumerate(labels)
                     if n == "reap" and lab.startswith("release_task: write_lock_irq"))
    assert exit_at < valid_at < unhash_at
    for _ in range(3):
        assert w.replay() == w.outcome
        assert replay(zombie_and_opener, [reap, peek], str(w), final=exit_info) == w.outcome


def test_a_witness_shows_the_locks_held_and_the_fields_each_step_changed():
    x = explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info)
    steps = x.witness(no_exit_info).steps()
    unhash = next(s for s in steps if s.label.startswith("release_task: write_lock_irq"))
    assert "tasklist_lock" in unhash.locks and "cpu(task 1)" in unhash.locks
    assert "pid 2.task: yes -> none" in unhash.changed
    stash = next(s for s in steps if s.label.startswith("stash_dentry"))
    assert stash.changed == ("pid 2.stashed: none -> inode",)


# ---------------------------------------------------------------- (b) ENOENT for a leader

@pytest.mark.parametrize("changes, verdict", [
    ({"pidfd-open-locked": False}, "Sometimes"),   # the 6.16 merge window's first fix alone
    (None, "Never"),                               # both checks under pid->wait_pidfd.lock
])
def test_pidfd_open_reports_enoent_for_a_dying_leader_only_without_the_locked_checks(
        changes, verdict):
    x = explore(zombie_and_opener, [reap, peek], version="6.16", changes=changes,
                max_preemptions=3)
    assert x.verdict(lambda o: o[1] == Errno(errno.ENOENT)) == verdict


# ---------------------------------------------------------------- (c) the free_pid window

@pytest.mark.parametrize("version, err", [("6.12", errno.EINVAL), ("6.15", errno.EINVAL),
                                          ("6.16", errno.ESRCH), ("6.18", errno.ESRCH)])
def test_a_pid_with_no_task_left_is_still_found_by_its_number(version, err):
    # kill finds the number but no thread (ESRCH); pidfd_open finds it too and its
    # pidfd_prepare answers EINVAL up to 6.15, ESRCH from 6.16.
    def after_unhash(k, s, outcome):
        return None
    x = explore(zombie_and_opener, [reap, lambda k, s: s["other"].kill(s["c"].pid, 0), peek],
                version=version, max_preemptions=2)
    assert x.sometimes(lambda o: o[1] == Errno(errno.ESRCH))
    assert x.sometimes(lambda o: o[1] is None)
    assert x.sometimes(lambda o: o[2] == Errno(err))
    if err == errno.ESRCH:
        assert x.never(lambda o: o[2] == Errno(errno.EINVAL))


# ---------------------------------------------------------------- (d) two waiters, one zombie

@pytest.mark.parametrize("version", ["6.1", "6.12", "6.18"])
def test_two_threads_waiting_for_one_zombie_one_reaps_it_the_other_gets_echild(version):
    x = explore(two_waiters, [wait_by_pid, wait_any], version=version, max_preemptions=3)
    assert x.complete
    reaped = (2, 3 << 8)
    assert set(x.outcomes) == {(reaped, Errno(errno.ECHILD)), (Errno(errno.ECHILD), reaped)}


# ---------------------------------------------------------------- statistics and verdicts

def test_the_statistics_add_up():
    x = explore(two_waiters, [wait_by_pid, wait_any], max_preemptions=2)
    assert x.schedules == sum(x.outcomes.values()) == sum(x.by_preemptions.values())
    assert max(x.by_preemptions) <= 2
    assert 1 <= x.states <= x.schedules
    assert x.elapsed > 0 and x.per_second > 0
    yes, no = x.count(lambda o: o[0] == Errno(errno.ECHILD))
    assert yes + no == x.schedules and yes > 0 and no > 0
    assert x.observation("second", lambda o: o[0] == Errno(errno.ECHILD)) == \
        f"Observation second Sometimes {yes} {no}"
    assert x.verdict(lambda o: True) == "Always" and x.verdict(lambda o: False) == "Never"
    assert x.witness(lambda o: False) is None


def test_a_larger_bound_explores_more_and_without_a_bound_it_is_exhaustive():
    small = explore(two_waiters, [wait_by_pid, wait_any], max_preemptions=0)
    large = explore(two_waiters, [wait_by_pid, wait_any], max_preemptions=40)
    assert small.schedules < large.schedules
    assert large.exhaustive and not small.exhaustive
    assert set(small.outcomes) <= set(large.outcomes)


@pytest.mark.parametrize("nthreads, bound", [(3, 1), (2, 40)])
def test_partial_order_reduction_runs_fewer_schedules_and_loses_no_outcome(nthreads, bound):
    # Threads on different zombies: the sleep sets skip the orders of steps that
    # commute, never an outcome.  With two threads and no binding bound the search is
    # exhaustive, and the reduction is then at its strongest.
    def setup(k):
        s = zombie_and_opener(k)
        d = k.init.fork()
        d.task.exit_group(0)
        s["d"] = d
        s["third"] = k.init.fork().task
        return s
    threads = [peek, lambda k, s: s["third"].pidfd_open(s["d"].pid),
               lambda k, s: k.init.waitpid(s["d"].pid, 0)][:nthreads]
    on = explore(setup, threads, version="6.18", max_preemptions=bound)
    off = explore(setup, threads, version="6.18", max_preemptions=bound, reduction=False)
    assert set(on.outcomes) == set(off.outcomes)
    assert on.states == off.states
    assert on.schedules <= off.schedules
    if bound == 40:
        assert on.exhaustive and off.exhaustive and on.schedules < off.schedules / 2


def test_pct_samples_random_schedules_reproducibly():
    a = explore(zombie_and_opener, [reap, peek], version="6.15", strategy="pct", runs=60,
                seed=7, final=exit_info)
    b = explore(zombie_and_opener, [reap, peek], version="6.15", strategy="pct", runs=60,
                seed=7, final=exit_info)
    assert a.schedules == 60 and a.outcomes == b.outcomes and not a.complete
    full = explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info,
                   max_preemptions=40)
    assert set(a.outcomes) <= set(full.outcomes)


@pytest.mark.parametrize("strategy", ["dfs", "pct"])
def test_jobs_shard_the_search_over_processes_with_the_same_result(strategy):
    kw = dict(version="6.15", final=exit_info, strategy=strategy, runs=40, seed=3)
    one = explore(zombie_and_opener, [reap, peek], **kw)
    two = explore(zombie_and_opener, [reap, peek], jobs=2, **kw)
    assert two.jobs == 2
    if strategy == "dfs":
        assert set(one.outcomes) == set(two.outcomes) and one.states == two.states
        assert one.complete and two.complete
        assert str(one.witness(no_exit_info)) == str(two.witness(no_exit_info))
    else:
        assert two.schedules == 40 and set(two.outcomes) <= set(
            explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info,
                    max_preemptions=40).outcomes)


@pytest.mark.parametrize("jobs", [1, 2])
def test_max_schedules_caps_the_whole_search_however_many_shards_run_it(jobs):
    full = explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info)
    assert full.complete and full.schedules > 20
    x = explore(zombie_and_opener, [reap, peek], version="6.15", final=exit_info,
                max_schedules=20, jobs=jobs)
    assert x.schedules <= 20 and not x.complete and not x.exhaustive


# ---------------------------------------------------------------- outcome entries

def test_outcome_entries_are_values_errnos_or_would_block():
    def setup(k):
        return {"c": k.init.fork()}

    def blocks(k, s):
        return k.init.waitpid(s["c"].pid, 0)        # the child never exits

    def fails(k, s):
        return k.init.kill(99999, 0)

    def returns(k, s):
        return k.init.waitpid(s["c"].pid, WNOHANG)
    x = explore(setup, [blocks, fails, returns], max_preemptions=0)
    assert set(x.outcomes) == {(WOULD_BLOCK, Errno(errno.ESRCH), (0, 0))}    # WNOHANG: (0, 0)
    assert str(Errno(errno.ESRCH)) == "ESRCH" and Errno(3) == Errno(errno.ESRCH)
    assert repr(WOULD_BLOCK) == "WOULD_BLOCK"
    assert pickle.loads(pickle.dumps(WOULD_BLOCK)) is WOULD_BLOCK


def test_a_thread_whose_task_was_killed_meanwhile_ends_exited():
    def setup(k):
        c = k.init.fork()
        return {"victim": c.task, "pid": c.pid}

    def killer(k, s):
        return k.init.kill(s["pid"], SIGKILL)

    def victim(k, s):
        s["victim"].getpid()
        return s["victim"].fork().pid
    x = explore(setup, [killer, victim], max_preemptions=2)
    assert x.sometimes(lambda o: o[1] == "EXITED")
    assert x.sometimes(lambda o: isinstance(o[1], int))
    assert x.always(lambda o: o[0] is None)


def test_a_thread_that_raises_something_else_is_reported_as_crashed():
    x = explore(lambda k: None, [lambda k, s: k.init.no_such_call()], max_preemptions=0)
    (outcome,) = x.outcomes
    assert isinstance(outcome[0], pidlab.Crashed) and "no_such_call" in str(outcome[0])


# ---------------------------------------------------------------- a fork against the ns's death

def test_a_fork_racing_its_namespaces_death_is_enomem_exited_or_killed_after():
    def setup(k):
        ns = k.init.clone(CLONE_NEWPID)
        return {"init2": ns.task, "child": ns.task.fork().task}

    def forker(k, s):
        return s["child"].fork().pid

    def dies(k, s):
        return s["init2"].exit_group(0)

    def left(k, s, o):
        return tuple(sorted(t.numbers for t in k.tasks() if t.numbers[0] != 1))
    x = explore(setup, [forker, dies], version="6.18", final=left, max_preemptions=2)
    # disable_pid_allocation first: ENOMEM; the SIGKILL walk first: the caller is dead;
    # fork first: the new child is killed with the rest.  Only the zombie init remains.
    assert {o[0] for o in x.outcomes} == {Errno(errno.ENOMEM), "EXITED", 3}
    assert x.always(lambda o: o[2] == ((2, 1),))


# ---------------------------------------------------------------- errors

def test_bad_arguments_are_refused_before_anything_runs():
    with pytest.raises(TypeError):
        explore(zombie_and_opener, [])
    with pytest.raises(TypeError):
        explore(zombie_and_opener, [reap, 3])
    with pytest.raises(TypeError):
        explore(3, [reap])
    with pytest.raises(ValueError):
        explore(zombie_and_opener, [reap], strategy="bfs")
    with pytest.raises(ValueError):
        explore(zombie_and_opener, [reap], max_preemptions=-1)
    with pytest.raises(ValueError):
        explore(zombie_and_opener, [reap], jobs=0)
    with pytest.raises(ValueError):
        explore(zombie_and_opener, [reap], version="5.10")
    with pytest.raises(ValueError):
        explore(zombie_and_opener, [reap], changes={"no-such-change": True})


def test_a_token_that_does_not_fit_is_refused():
    with pytest.raises(ValueError):
        replay(zombie_and_opener, [reap, peek], "not a token")
    with pytest.raises(ValueError):
        replay(zombie_and_opener, [reap, peek], "6.18:0.x")
    with pytest.raises(ValueError):
        replay(zombie_and_opener, [reap, peek], "6.18:5.5.5")
    with pytest.raises(ValueError):
        replay(zombie_and_opener, [reap, peek], "6.18:0", version="6.12")


def test_a_token_names_its_version_and_changes():
    x = explore(zombie_and_opener, [reap, peek], version="6.16",
                changes={"pidfd-open-locked": False}, max_preemptions=3)
    w = x.witness(lambda o: o[1] == Errno(errno.ENOENT))
    assert str(w).startswith("6.16+pidfd-open-locked=0:")
    assert replay(zombie_and_opener, [reap, peek], str(w)) == w.outcome
    assert [s.label for s in trace(zombie_and_opener, [reap, peek], str(w))] == \
        [s.label for s in w.steps()]


# ---------------------------------------------------------------- outside an exploration

def test_outside_an_exploration_the_model_is_sequential():
    k = pidlab.Kernel()
    assert k.state.sched is None
    s = zombie_and_opener(k)
    assert reap(k, s) == (2, 0)
    explore(zombie_and_opener, [reap, peek])
    k2 = pidlab.Kernel()
    assert k2.state.sched is None and type(k2.init) is pidlab.Task
