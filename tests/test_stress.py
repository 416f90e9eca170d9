"""pidlab.stress: the race explorer's threads on the live kernels, held to the model.

Each scenario runs on this machine's kernel and on the 6.12 and 6.1 guests (one
machine per kernel for the module; they boot under software emulation, so the
runs are few there), and every outcome the kernel gives must be one that
pidlab.explore allows at that kernel's version.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import signal
import sys

import pytest

import pidlab
from pidlab import PIDFD_INFO_EXIT, Errno
from pidlab.live import images, machine
from pidlab.live.kernel import kernel_version
from pidlab.api import StatResult
from pidlab.stress import (LOST, Label, Stress, allowed, format_outcome, model_exploration,
                           relabel)

RUNS = {"host": 100, "6.12": 25, "6.1": 25}


@pytest.fixture(scope="module", params=["host", "6.12", "6.1"])
def live(request):
    """A live kernel the stress runs can use: this machine's, or a booted guest's series."""
    series = request.param
    if series == "host":
        try:
            pidlab.LiveKernel().close()
        except pidlab.BackendUnavailable as e:
            pytest.skip(f"no live sandbox on this machine: {e}")
        yield series
        return
    if images.qemu_binary() is None:
        pytest.skip(f"QEMU is not installed: run `{images.INSTALL_COMMAND}` as root")
    if images.image(series) is None:
        pytest.skip(f"no {series} kernel image: run `{images.INSTALL_COMMAND}`")
    booted = any(m.series == series for m in machine.running())
    try:
        machine.machine_for(series)
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"the {series} guest does not boot here: {e}")
    yield series
    if not booted:
        for m in machine.running():
            if m.series == series:
                m.shutdown()            # the module's machine: the next module boots its own


@pytest.fixture(scope="module")
def host():
    """This machine's kernel, for what does not depend on the kernel (the check, the agents'
    protocol)."""
    try:
        pidlab.LiveKernel().close()
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"no live sandbox on this machine: {e}")
    return "host"


# ---------------------------------------------------------------- scenarios

def zombie_of_a_two_thread_parent(k):
    p = k.init.fork().task
    t2 = p.spawn_thread().task
    c = p.fork()
    c.task.exit_group(0)
    return {"p": p, "t2": t2, "c": c}


def leader_waits(k, s):
    return s["p"].waitpid(s["c"].pid, 0)


def thread_waits(k, s):
    return s["t2"].waitpid(s["c"].pid, 0)


def zombie_and_a_sibling(k):
    c = k.init.fork()
    c.task.exit_group(0)
    return {"c": c, "other": k.init.fork().task}


def reap(k, s):
    return k.init.waitpid(s["c"].pid, 0)


def peek(k, s):
    return s["other"].pidfd_open(s["c"].pid)


def kill_by_number(k, s):
    return s["other"].kill(s["c"].pid, signal.SIGTERM)


def exit_info(k, s, outcome):
    """The uapi promise: a pidfd handed out for a reaped task shows its exit information."""
    fd = outcome[1]
    if not isinstance(fd, int):
        return None
    return bool(s["other"].pidfd_get_info(fd, PIDFD_INFO_EXIT).mask & PIDFD_INFO_EXIT)


# ---------------------------------------------------------------- on every live kernel

def test_two_waiters_for_one_zombie_exactly_one_reaps_it_the_other_gets_echild(live):
    runs = RUNS[live]
    x = pidlab.stress(zombie_of_a_two_thread_parent, [leader_waits, thread_waits], runs=runs,
                      kernel=live)
    assert x.runs == runs and sum(x.outcomes.values()) == runs
    child = zombie_of_a_two_thread_parent(pidlab.Kernel())["c"].pid    # the model's number
    for o in x.outcomes:
        assert sorted(o, key=repr) == sorted([(child, 0), Errno(errno.ECHILD)], key=repr), o
    c = x.check()
    assert c.ok, c.report()
    assert c.exhaustive


def test_exit_information_race_every_outcome_is_one_the_model_allows(live):
    """(a): reap against pidfd_open of the zombie, then PIDFD_GET_INFO asks for the exit
    information; explore at the kernel's own version must allow all that it does."""
    x = pidlab.stress(zombie_and_a_sibling, [reap, peek], runs=RUNS[live], kernel=live,
                      final=exit_info)
    c = x.check()
    assert c.ok, c.report()
    assert x.version == c.model_version
    assert all(o[0] == (2, 0) for o in x.outcomes)      # the reaper always gets it
    if pidlab.versions.parse(x.version)[:2] >= (6, 17):
        # pidfs-persist: a pidfd for a reaped task always has its exit information.
        assert all(o[2] is not False for o in x.outcomes), x.histogram()


def test_a_kill_by_number_racing_the_reaping_succeeds_or_finds_no_process(live):
    x = pidlab.stress(zombie_and_a_sibling, [reap, kill_by_number], runs=RUNS[live],
                      kernel=live)
    for o in x.outcomes:
        assert o[0] == (2, 0) and o[1] in (None, Errno(errno.ESRCH)), o
    c = x.check()
    assert c.ok, c.report()


def test_threads_defined_in_place_travel_to_the_kernel_by_value(live):
    """Closures (not importable anywhere) run on a guest as they are: cloudpickle."""
    signo = signal.SIGUSR1

    def setup(k):
        return {"t": k.init.fork().task}

    def ignore(k, s):
        return int(s["t"].sigaction(signo, pidlab.SIG_IGN))

    def pid(k, s):
        return k.init.getpid()
    x = pidlab.stress(setup, [ignore, pid], runs=3, kernel=live, check=True)
    assert x.outcomes == {(int(pidlab.SIG_DFL), 1): 3}
    assert x.checked is not None and x.checked.ok


def test_the_first_calls_of_a_run_leave_together_and_the_spread_is_measured(live):
    x = pidlab.stress(zombie_and_a_sibling, [reap, peek], runs=10, kernel=live)
    # Every run's two first calls were timed requests: each answer says when it left.
    assert len(x.spreads) == 10
    assert all(0 <= s < 2_000_000_000 for s in x.spreads)
    sp = x.spread()
    assert sp["runs"] == 10 and 0 <= sp["median"] <= sp["p90"] <= sp["max"]
    assert 0 <= x.late <= 10
    assert "spread median" in x.summary()


def pidfd_and_its_stat(k):
    c = k.init.fork()
    fd = k.init.pidfd_open(c.pid)
    return {"c": c, "fd": fd, "st": k.init.fstat(fd), "other": k.init.fork().task}


def close_it(k, s):
    return k.init.close(s["fd"])


def reopen(k, s):
    return s["other"].pidfd_open(s["c"].pid)


def stat_again(k, s, outcome):
    if not isinstance(outcome[1], int):
        return None
    st = s["other"].fstat(outcome[1])
    if getattr(k, "userns", False):
        # pidlab.differences "userns-owner": an ordinary user's sandbox shows root's
        # pidfs inode as the overflow ids; compared with the model in its names.
        uid, gid = k.file_owner(s["other"], outcome[1])
        st = dataclasses.replace(st, st_uid=uid, st_gid=gid)
    return st


def test_a_reopened_pidfd_has_the_setups_inode_whatever_number_the_kernel_gives_it(live):
    """(k): the pidfs inode number is the model's 3 and the host's 553006 (a counter of
    the whole machine); the outcome carries it as a label ranked after the setup's
    numbers, so that the check compares equal inodes, not numbers.  The pidfd of a live
    task keeps its inode number across the close (one per struct pid from pidfs; before
    it, one anonymous inode for every pidfd)."""
    x = pidlab.stress(pidfd_and_its_stat, [close_it, reopen], runs=min(RUNS[live], 20),
                      kernel=live, final=stat_again)
    c = x.check()
    assert c.ok, c.report()
    for o in x.outcomes:
        assert o[0] is None and isinstance(o[1], int), o      # close returns nothing
        assert o[2].st_ino == Label("ino", 1) and o[2].st_dev == Label("dev", 1), o


def test_machine_numbers_are_labelled_by_first_appearance_the_setups_first():
    def st(ino, dev=13):
        return StatResult(0o600, ino, dev, 1, 0, 0, 0)
    o = relabel(((st(900), "pid:[4026531836]"), st(77), "pid:[4026531836]", 5),
                setup=(st(77), 5))
    assert o == ((st(Label("ino", 2), Label("dev", 1)), "pid:[<ino#3>]"),
                 st(Label("ino", 1), Label("dev", 1)), "pid:[<ino#3>]", 5)
    assert relabel((st(4), st(4), st(5, dev=14))) == (
        st(Label("ino", 1), Label("dev", 1)), st(Label("ino", 1), Label("dev", 1)),
        st(Label("ino", 2), Label("dev", 2)))
    assert relabel((Errno(errno.ESRCH), LOST, None)) == (Errno(errno.ESRCH), LOST, None)


# ---------------------------------------------------------------- the check and its verdicts

def test_an_outcome_the_model_forbids_is_reported_with_its_count(host):
    """Checked against a model of the wrong version, this kernel's answers are model bugs:
    before 6.13 there is no PIDFD_GET_INFO (ENOTTY on 6.1's model), so a final that got
    the exit information is an outcome that model forbids."""
    if pidlab.versions.parse(kernel_version())[:2] < (6, 13):
        pytest.skip("this kernel has no PIDFD_GET_INFO either")
    x = pidlab.stress(zombie_and_a_sibling, [reap, peek], runs=30, final=exit_info)
    old = model_exploration(zombie_and_a_sibling, [reap, peek], "6.1", exit_info)
    c = x.check(old)
    seen_info = {o: n for o, n in x.outcomes.items() if o[2] is True}
    assert seen_info, x.histogram()                     # the fd won the race at least once
    assert c.forbidden == seen_info
    assert not c.ok
    report = c.report()
    assert "MODEL BUG" in report
    for o, n in seen_info.items():
        assert f"{n} × {format_outcome(o, x.names)}" in report
    with pytest.raises(pidlab.ModelBug, match="MODEL BUG") as e:
        c.raise_if_forbidden()
    assert e.value.check is c


def test_check_true_passes_when_every_outcome_is_allowed_and_records_the_check(host):
    x = pidlab.stress(zombie_and_a_sibling, [reap, kill_by_number], runs=10, check=True)
    assert x.checked is not None and x.checked.ok and not x.checked.forbidden
    assert x.checked.model_version == x.version


def suicide_setup(k):
    t = k.init.fork()
    return {"t": t.task, "pid": t.pid}


def kills_itself(k, s):
    return s["t"].kill(s["pid"], signal.SIGKILL)


def exits(k, s):
    return s["t"].exit_group(3)


def init_pid(k, s):
    return k.init.getpid()


def test_a_task_that_dies_in_its_call_is_lost_and_the_check_lets_it_be_anything(host):
    """kill(self, SIGKILL) returns 0 in the model, but on Linux the agent dies before its
    answer goes out: the entry is LOST, which matches the model's None."""
    x = pidlab.stress(suicide_setup, [kills_itself, init_pid], runs=5)
    assert x.outcomes == {(LOST, 1): 5}
    assert x.check().ok
    y = pidlab.stress(suicide_setup, [exits, init_pid], runs=3)    # exit_group: no answer
    assert y.outcomes == {(None, 1): 3}                         # is the answer
    assert y.check().ok


def test_a_lost_entry_matches_any_value_but_no_other_entry_does():
    model = {((2, 0), 3): 5, ((2, 0), Errno(errno.ESRCH)): 2}
    assert allowed(((2, 0), 3), model)
    assert allowed((LOST, 3), model) and allowed(((2, 0), LOST), model)
    assert not allowed(((2, 0), 4), model)
    assert not allowed((LOST, 4), model)
    assert not allowed(((2, 0), 3, LOST), model)        # not the same number of entries


def test_check_reports_forbidden_failed_and_unseen_outcomes():
    x = Stress("host", "6.18.44", "6.18.44-test", runs=6, elapsed=1.0, names=("reap", "kill"),
               outcomes={((2, 0), None): 3, ((2, 0), Errno(errno.EPERM)): 2,
                         ((2, 0), pidlab.Crashed("LiveTimeout: no answer")): 1})
    model = pidlab.explore(zombie_and_a_sibling, [reap, kill_by_number], version="6.18.44")
    c = x.check(model)
    assert c.forbidden == {((2, 0), Errno(errno.EPERM)): 2}
    assert c.failed == {((2, 0), pidlab.Crashed("LiveTimeout: no answer")): 1}
    assert c.unseen == {((2, 0), Errno(errno.ESRCH)): model.outcomes[((2, 0), Errno(errno.ESRCH))]}
    report = c.report()
    assert "2 × reap=(2, 0); kill=EPERM" in report
    assert "reap=(2, 0); kill=ESRCH" in report.split("never seen")[1]
    with pytest.raises(pidlab.ModelBug):
        c.raise_if_forbidden()
    with pytest.raises(ValueError, match="pass an exploration"):
        x.check()


def test_the_histogram_counts_each_outcome_and_marks_a_condition():
    x = Stress("host", "6.18.44", "r", runs=5, elapsed=0.5, names=("reap", "peek", "final"),
               outcomes={((2, 0), 3, True): 4, ((2, 0), Errno(errno.ESRCH), None): 1})
    h = x.histogram(lambda o: o[1] == Errno(errno.ESRCH))
    assert h.splitlines() == ["Histogram (2 states)",
                              "4 :>reap=(2, 0); peek=3; final=True",
                              "1 *>reap=(2, 0); peek=ESRCH; final=None"]
    assert x.verdict(lambda o: o[2] is True) == "Sometimes"
    assert x.observation("info", lambda o: o[2] is True) == "Observation info Sometimes 4 1"


def test_the_bound_grows_until_no_schedule_needs_as_many_preemptions():
    x = model_exploration(zombie_and_a_sibling, [reap, peek], "6.18", exit_info)
    assert max(x.by_preemptions) < x.max_preemptions
    assert x.complete


def test_bad_arguments_are_refused_before_any_run():
    with pytest.raises(TypeError):
        pidlab.stress(zombie_and_a_sibling, [], runs=1)
    with pytest.raises(TypeError):
        pidlab.stress(zombie_and_a_sibling, [reap, 3], runs=1)
    with pytest.raises(TypeError):
        pidlab.stress(None, [reap], runs=1)
    with pytest.raises(TypeError):
        pidlab.stress(zombie_and_a_sibling, [reap], runs="3")
    with pytest.raises(ValueError):
        pidlab.stress(zombie_and_a_sibling, [reap], runs=0)
    with pytest.raises(TypeError):
        pidlab.stress(zombie_and_a_sibling, [reap], runs=1, kernel=612)
    with pytest.raises(pidlab.BackendUnavailable, match="no live kernel '5.4'"):
        pidlab.stress(zombie_and_a_sibling, [reap], runs=1, kernel="5.4")


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = f.read().rsplit(")", 1)[1].split()[1]
            except OSError:
                continue
            if ppid == me:
                out.add(int(d))
    return out


def test_stress_leaves_no_process_behind(host):
    """Every run's sandbox is gone when stress returns (a guest's end with its machine)."""
    before = _children()
    pidlab.stress(zombie_of_a_two_thread_parent, [leader_waits, thread_waits], runs=5)
    assert _children() == before


# ---------------------------------------------------------------- pidlab stress

def _cli(*args: str):
    from click.testing import CliRunner

    from pidlab.cli.main import cli
    result = CliRunner().invoke(cli, ["stress", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pidlab stress {' '.join(args)} crashed: "
                             f"{result.exception!r}") from result.exception
    return result


def test_pidlab_stress_prints_the_histogram_the_observations_and_the_check(host):
    r = _cli("two-waiters", "--runs", "20")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "Histogram (" in out
    counts = [int(line.split()[0]) for line in out.splitlines()
              if line[:1].isdigit() and (" :> " in line or " *> " in line)]
    assert sum(counts) == 20
    assert "Observation one_reaps Always 20 0   Ok" in out
    assert "Observation both Never 0 20   Ok" in out
    assert "Check against pidlab.explore at " in out
    assert "Every outcome seen is one the model allows." in out


def test_pidlab_stress_json_on_every_live_kernel(live):
    runs = min(RUNS[live], 15)
    r = _cli("exit-info-race", "--kernel", live, "--runs", str(runs), "--format", "json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["runs"] == runs and sum(o["count"] for o in rep["outcomes"]) == runs
    assert rep["kernel"] == live
    assert rep["check"]["ok"] and not rep["check"]["forbidden"], rep["check"]
    assert rep["check"]["model_version"] == rep["version"]
    reaped = next(c for c in rep["conditions"] if c["name"] == "reaped")
    assert reaped["observation"] == f"Observation reaped Always {runs} 0"
    leak = next(c for c in rep["conditions"] if c["name"] == "leak")
    assert leak["verdict"] == "Never"       # on every kernel here: 6.18 has the fix, 6.1/6.12
    assert rep["spread_us"]["runs"] == runs  # no PIDFD_GET_INFO


def test_pidlab_stress_exits_1_and_names_the_outcomes_a_model_forbids(host, monkeypatch):
    """The model of 6.1 (no PIDFD_GET_INFO) forbids what 6.18 gives: reported as a model bug."""
    if pidlab.versions.parse(kernel_version())[:2] < (6, 13):
        pytest.skip("this kernel has no PIDFD_GET_INFO either")
    stress_mod = sys.modules["pidlab.stress"]
    real = stress_mod.model_exploration
    monkeypatch.setattr(stress_mod, "model_exploration",
                        lambda setup, threads, version, final=None, bound=None:
                        real(setup, threads, "6.1", final, bound))
    r = _cli("exit-info-race", "--runs", "20")
    assert r.exit_code == 1, r.output
    assert "MODEL BUG: Linux " in r.output
    bug = r.output.split("MODEL BUG")[1].splitlines()[1:]
    assert bug and all(" × P0: r=(2, exited 0)  |  P1: fd=3  |  after: info=" in line
                       for line in bug if line.startswith("  ") and "×" in line)


def test_pidlab_stress_compares_a_reopened_pidfds_inode_with_the_setups(host):
    """pidfd-close-reopen's condition reads st1 (the setup's) and st2 (the after block's):
    both labelled, so the kernel's numbers compare with each other, not with the model's."""
    r = _cli("pidfd-close-reopen", "--runs", "10")
    assert r.exit_code == 0, r.output
    assert "Observation same_inode Always 10 0   Ok" in r.output
    assert "st2=stat(ino=<ino#1>," in r.output


def test_a_scenario_error_raised_in_a_guest_comes_back_whole():
    """A litmus setup that fails in a guest (two-forks-one-number on 6.1, whose pid_max is
    the whole machine's) raises ScriptError there; it travels back pickled, so the host
    reports the file, the line and the message instead of a TypeError of unpickling."""
    import pickle

    from pidlab.script import ScriptError
    e = pickle.loads(pickle.dumps(ScriptError("t.pidlab", 14, "the setup failed: EAGAIN")))
    assert isinstance(e, ScriptError)
    assert (e.filename, e.line, e.message) == ("t.pidlab", 14, "the setup failed: EAGAIN")
    assert str(e) == "t.pidlab:14: the setup failed: EAGAIN" and e.errors == [e]


def test_pidlab_stress_refuses_a_bad_script_and_an_unknown_kernel():
    r = _cli("no-such-litmus-test", "--runs", "1")
    assert r.exit_code == 2 and "no such file" in r.output
    r = _cli("two-waiters", "--kernel", "5.4", "--runs", "1")
    assert r.exit_code == 2 and "no live kernel '5.4'" in r.output
