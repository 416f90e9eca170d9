"""The scenario language's concurrent scenarios: par blocks, after blocks, conditions.

A litmus test (setup lines, `par { ... | ... }`, `after { }`, exists/~exists/forall)
is parsed with every mistake named by file and line, compiled into the setup,
threads and final pidlab.explore takes, and explored: the verdicts of the races
the spec describes must come out as it states them.

Where the expected values come from:
* /work/shared/spec/races.md: (a) the exit-information race B.3/B.4 (a pidfd of a
  reaped task without PIDFD_INFO_EXIT: Sometimes on 6.15 and 6.16.0-6.16.3, Never
  from the pidfs-persist backport in 6.16.4 and from 6.17), (b) B.5 (ENOENT for a
  leader only with pidfd_prepare's checks unlocked, the 6.16 merge-window state);
  (d) two waiters for one zombie (kernel/exit.c wait_task_zombie: the
  EXIT_ZOMBIE -> EXIT_DEAD exchange lets exactly one reap it, the other ECHILD);
* /work/shared/spec/linux-pid-6.18.md: pidfd_open of a reaped pid is ESRCH from 6.16
  and EINVAL before (pidfd-open-errnos), kill(2) returns 0, a zombie's wait status
  of exit_group(5) is 0x500;
* the language's own definitions (pidlab help language): what a failed call binds,
  how an unbound name reads, when a block stops.
"""

from __future__ import annotations

import errno
import pickle
from pathlib import Path

import pytest

import pidlab
from pidlab import script

ROOT = Path(__file__).resolve().parent.parent
LITMUS = sorted((ROOT / "examples" / "litmus").glob("*.pidlab"))

EXIT_INFO = """\
# the exit-information race
c = init.fork()
c.exit_group(0)
other = init.fork()
par {
    r = init.waitpid(c.pid, 0)
|
    fd = other.pidfd_open(c.pid)
}
after {
    info = other.pidfd_get_info(fd, PIDFD_INFO_EXIT)
}
exists leak (fd >= 0 and ok(info) and not info.mask & PIDFD_INFO_EXIT)
forall reaped (r == (c.pid, 0))
"""

TWO_WAITERS = """\
c = init.fork()
c.exit_group(5)
t = init.spawn_thread()
par {
    r0 = init.waitpid(c.pid, 0)
|
    r1 = t.waitpid(c.pid, 0)
}
forall one (r0 == (c.pid, 0x500) and r1 == ECHILD or r0 == ECHILD and r1 == (c.pid, 0x500))
~exists both (ok(r0) and ok(r1))
"""


def compiled(text: str, name: str = "t.pidlab") -> script.Program:
    return script.parse_litmus(text, name).compile()


def explore(prog: script.Program, version: str, **kw) -> pidlab.Exploration:
    return pidlab.explore(prog.setup, prog.threads, final=prog.final, version=version, **kw)


def verdicts(prog: script.Program, version: str, **kw) -> dict[str, str]:
    x = explore(prog, version, **kw)
    return {c.name: x.verdict(prog.predicate(c, version, kw.get("changes")))
            for c in prog.conditions}


def errors_of(text: str, name: str = "bad.pidlab") -> list[tuple[int, str]]:
    with pytest.raises(script.ScriptError) as info:
        script.parse_litmus(text, name)
    return [(e.line, e.message) for e in info.value.errors]


# ---------------------------------------------------------------- parsing

def test_a_litmus_test_parses_into_setup_threads_after_block_and_conditions():
    lit = script.parse_litmus(EXIT_INFO, "exit.pidlab")
    assert [s.source for s in lit.setup] == ["c = init.fork()", "c.exit_group(0)",
                                             "other = init.fork()"]
    assert [[s.source for s in t] for t in lit.threads] == [
        ["r = init.waitpid(c.pid, 0)"], ["fd = other.pidfd_open(c.pid)"]]
    assert [s.source for s in lit.after] == ["info = other.pidfd_get_info(fd, PIDFD_INFO_EXIT)"]
    assert [(c.kind, c.name, c.line) for c in lit.conditions] == [
        ("exists", "leak", 13), ("forall", "reaped", 14)]
    assert lit.thread_names == ["P0 init", "P1 other"]
    assert lit.description == "the exit-information race"
    assert lit.par_line == 5 and lit.after_line == 10


def test_unnamed_conditions_take_the_file_name_and_their_number_when_there_are_several():
    one = script.parse_litmus("par {\n x = init.getpid()\n}\nexists (x == 1)\n", "lone.pidlab")
    assert [c.name for c in one.conditions] == ["lone"]
    two = script.parse_litmus("par {\n x = init.getpid()\n}\nexists (x == 1)\n"
                              "~exists (x == 2)\nforall named (x > 0)\n", "dir/two.pidlab")
    assert [(c.kind, c.name) for c in two.conditions] == [
        ("exists", "two.1"), ("~exists", "two.2"), ("forall", "named")]


def test_a_changes_line_sets_upstream_changes_for_every_version_explored():
    lit = script.parse_litmus("changes pidfd-open-locked=0 pidfs-persist=1\n"
                              "par {\n x = init.getpid()\n}\n", "c.pidlab")
    assert lit.changes == {"pidfd-open-locked": False, "pidfs-persist": True}
    assert lit.compile().changes == lit.changes


@pytest.mark.parametrize("text, expected", [
    ("par {\n  x = init.getpid()\n", [(1, "not closed")]),
    ("x = init.getpid()\n}\n", [(2, "closes no block")]),
    ("par {\n|\n  x = init.getpid()\n}\n", [(2, "begins at line 1 has no step")]),
    ("par {\n  x = init.getpid()\n|\n}\n", [(4, "begins at line 3 has no step")]),
    ("|\n", [(1, "outside one")]),
    ("par { x = init.getpid()\n", [(1, "on a line of its own")]),
    ("par {\n x = init.getpid()\n}\npar {\n y = init.getpid()\n}\n",
     [(4, "first opens at line 1")]),
    ("after {\n x = init.getpid()\n}\n", [(1, "follows the par block")]),
    ("exists (1 == 1)\n", [(1, "it follows it")]),
    ("par {\n x = init.getpid()\n exists (x == 1)\n}\n", [(3, "close the block")]),
    ("par {\n x = init.getpid()\n}\nexists (x == 1)\nafter {\n y = init.getpid()\n}\n",
     [(5, "before the conditions")]),
    ("par {\n x = init.getpid()\n}\ny = init.getpid()\n", [(4, "only `after { }` and "
                                                              "conditions")]),
    ("par {\n x = init.getpid() -> 1\n}\n", [(2, "no `->`")]),
    ("par {\n repeat 3 init.fork()\n}\n", [(2, "repeat is for setup lines")]),
    ("par {\n assert 1 == 1\n}\n", [(2, "made of system calls")]),
    ("tree\npar {\n x = init.getpid()\n}\n", [(1, "only `check`")]),
    ("par {\n x = init.getpid()\n}\nexists (x = 1)\n", [(4, "one expression in parentheses")]),
    ("par {\n x = init.getpid()\n}\nexists (init.getpid() == 1)\n", [(4, "makes no call")]),
    ("par {\n x = init.getpid()\n}\nchanges pidfd-open-locked=0\n", [(4, "before the par")]),
    ("changes pidfd-open-lockd=0\npar {\n x = init.getpid()\n}\n",
     [(1, "did you mean pidfd-open-locked")]),
    ("changes pidfd-open-locked=yes\npar {\n x = init.getpid()\n}\n", [(1, "KEY=0 or KEY=1")]),
])
def test_each_layout_mistake_is_reported_at_its_line(text, expected):
    got = errors_of(text)
    assert [(line, any(want in msg for _, want in expected if _ == line)) for line, msg in got] \
        == [(line, True) for line, _ in expected], got


@pytest.mark.parametrize("text, line, fragment", [
    ("par {\n x = init.getpid()\n|\n y = init.kill(x, 0)\n}\n", 4,
     "'x' is bound by thread P0 (line 2): a thread reads the setup's names and its own"),
    ("c = init.fork()\npar {\n c = init.fork()\n}\n", 3,
     "'c' is already bound by the setup (line 1)"),
    ("par {\n x = init.getpid()\n|\n x = init.getppid()\n}\n", 4,
     "'x' is already bound by thread P0 (line 2)"),
    ("par {\n x = init.getpid()\n}\nafter {\n x = init.getpid()\n}\n", 5,
     "'x' is already bound by thread P0"),
    ("par {\n y = init.kill(z, 0)\n}\nafter {\n z = init.getpid()\n}\n", 2,
     "bound by the after block (line 5): the after block runs once the threads are done"),
    ("par {\n y = init.kill(q, 0)\n q = init.getpid()\n}\n", 2, "(line 3 binds it, after this"),
    ("x = init.kill(y, 0)\npar {\n y = init.getpid()\n}\n", 1,
     "the setup runs before every block"),
    ("par {\n x = init.getpid()\n}\nexists (x == zz)\n", 4, "'zz' is not bound by any block"),
    ("par {\n x = init.getpid()\n}\nexists (x == ESRHC)\n", 4, "did you mean ESRCH"),
    ("par {\n WOULD_BLOCK = init.getpid()\n}\n", 2, "'WOULD_BLOCK' is a reserved name"),
    ("par {\n x = init.getpid()\n}\nexists a (x == 1)\nforall a (x == 1)\n", 5,
     "a condition named 'a' is already at line 4"),
])
def test_names_are_checked_when_the_file_is_parsed(text, line, fragment):
    got = errors_of(text)
    assert any(ln == line and fragment in msg for ln, msg in got), got


def test_every_mistake_of_a_file_is_reported_in_one_pass_in_line_order():
    text = ("c = init.fork()\n"
            "par {\n"
            "    r = init.waitpid(c.pid, 0)\n"
            "    init.kill(fd, 0)\n"
            "|\n"
            "    fd = c.pidfd_open(c.pid)\n"
            "    c = init.fork()\n"
            "}\n"
            "exists (fd == ESRCH and zz)\n")
    with pytest.raises(script.ScriptError) as info:
        script.parse_litmus(text, "many.pidlab")
    lines = [e.line for e in info.value.errors]
    assert lines == [4, 7, 9]
    assert all(str(e).startswith(f"many.pidlab:{e.line}: ") for e in info.value.errors)


def test_a_sequential_scenario_names_explore_for_a_par_block_and_still_parses_as_before():
    with pytest.raises(script.ScriptError) as info:
        script.parse("c = init.fork()\npar {\n", "seq.pidlab")
    assert info.value.line == 2 and "pidlab explore" in info.value.message
    steps = script.parse("exists = init.fork()\nafter = init.fork()\nexists.getpid()\n")
    assert [s.targets for s in steps] == [("exists",), ("after",), ()]
    assert isinstance(script.parse_any(EXIT_INFO), script.Litmus)
    assert isinstance(script.parse_any("c = init.fork()\n"), list)


# ---------------------------------------------------------------- what lines bind

def outcome_of(text: str, token: str = "6.18:-") -> tuple:
    prog = compiled(text)
    return pidlab.replay(prog.setup, prog.threads, token, final=prog.final)


def test_a_failed_call_binds_its_errno_and_a_call_returning_nothing_binds_0():
    (p0,) = outcome_of("par {\n gone = init.pidfd_open(99999)\n k = init.kill(1, 0)\n}\n")
    assert isinstance(p0, script.Bindings)
    assert p0.mapping() == {"gone": pidlab.Errno(errno.ESRCH), "k": 0}
    assert p0.stopped == "" and str(p0) == "gone=ESRCH k=0"


def test_a_failed_call_that_binds_nothing_stops_its_thread_and_says_where():
    (p0,) = outcome_of("par {\n init.kill(99999, 0)\n x = init.getpid()\n}\n")
    assert p0.mapping() == {"x": None}
    assert p0.stopped == "line 2: ESRCH"
    assert str(p0) == "x=unbound (stopped at line 2: ESRCH)"


def test_a_line_that_reads_a_failed_name_does_not_run_and_stops_its_block():
    (p0, after) = outcome_of("par {\n fd = init.pidfd_open(99999)\n}\n"
                             "after {\n info = init.pidfd_get_info(fd, 0)\n}\n")
    assert p0.mapping() == {"fd": pidlab.Errno(errno.ESRCH)}
    assert after.mapping() == {"info": None}
    assert after.stopped == "line 5: fd is ESRCH (its call failed)"


def test_a_call_that_would_block_binds_would_block():
    # waitpid without WNOHANG on a running child: the model does not sleep.
    (p0,) = outcome_of("c = init.fork()\npar {\n w = init.waitpid(c.pid, 0)\n}\n")
    assert p0.mapping() == {"w": pidlab.WOULD_BLOCK}


def test_conditions_compare_errnos_by_name_and_orderings_with_a_failed_call_are_false():
    text = ("par {\n fd = init.pidfd_open(99999)\n mine = init.pidfd_open(1)\n}\n"
            "exists by_name (fd == ESRCH)\n"
            "exists by_number (fd == 3)\n"
            "exists ordered (fd >= 0)\n"
            "exists negated (not fd >= 0)\n"
            "exists succeeded (ok(mine) and mine == 3 and not ok(fd))\n"
            "exists unbound (fd != None)\n")
    prog = compiled(text)
    out = pidlab.replay(prog.setup, prog.threads, "6.18:-")
    assert out[0].mapping()["mine"] == 3
    assert {c.name: prog.holds(c, out) for c in prog.conditions} == {
        "by_name": True, "by_number": False, "ordered": False, "negated": True,
        "succeeded": True, "unbound": True}


def test_a_name_whose_line_did_not_run_reads_as_none():
    prog = compiled("par {\n init.kill(99999, 0)\n x = init.getpid()\n}\n"
                    "exists (x == None)\n")
    out = pidlab.replay(prog.setup, prog.threads, "6.18:-")
    assert prog.holds(prog.conditions[0], out) is True


def test_an_attribute_of_a_failed_call_in_a_condition_is_a_mistake_naming_the_outcome():
    prog = compiled("par {\n fd = init.pidfd_open(99999)\n}\nexists (fd.mask == 0)\n",
                    "attr.pidlab")
    out = pidlab.replay(prog.setup, prog.threads, "6.18:-")
    with pytest.raises(script.ScriptError) as info:
        prog.holds(prog.conditions[0], out)
    assert info.value.line == 4
    assert "ESRCH (its call failed)" in info.value.message
    assert "P0: fd=ESRCH" in info.value.message


def test_conditions_read_the_setup_names_as_the_setup_left_them():
    prog = compiled("c = init.fork()\npar {\n p = c.getppid()\n}\nforall (p == 1 and c.pid == 2)\n")
    x = explore(prog, "6.18")
    assert x.verdict(prog.predicate(prog.conditions[0], "6.18")) == "Always"


def test_a_setup_that_fails_is_a_script_error_at_its_line():
    prog = compiled("c = init.fork() -> 7\npar {\n x = init.getpid()\n}\n", "s.pidlab")
    with pytest.raises(script.ScriptError) as info:
        explore(prog, "6.18")
    assert info.value.line == 1 and "expected 7, got Child(pid=2)" in info.value.message
    prog = compiled("init.kill(99999, 0)\npar {\n x = init.getpid()\n}\n", "s.pidlab")
    with pytest.raises(script.ScriptError, match="ESRCH.*which nothing expected"):
        explore(prog, "6.18")


def test_threads_acting_as_the_same_task_are_named_in_a_warning():
    prog = compiled("par {\n a = init.getpid()\n|\n b = init.getppid()\n}\n")
    assert prog.shared_tasks() == ["P1 init and P0 init both act as task 1: each thread "
                                   "should act as one task of its own"]
    assert compiled(TWO_WAITERS).shared_tasks() == []


def test_the_compiled_blocks_pickle_so_that_an_exploration_can_shard_them():
    prog = compiled(EXIT_INFO)
    setup, threads, final = pickle.loads(pickle.dumps((prog.setup, prog.threads, prog.final)))
    out = pidlab.replay(setup, threads, "6.16.0:0.0.0.0.1.1.1.1.1.1", final=final)
    assert out == pidlab.replay(prog.setup, prog.threads, "6.16.0:0.0.0.0.1.1.1.1.1.1",
                                final=prog.final)


# ---------------------------------------------------------------- verdicts (races.md)

@pytest.mark.parametrize("version, leak", [
    ("6.15", "Sometimes"), ("6.16.0", "Sometimes"), ("6.16.3", "Sometimes"),
    ("6.16.4", "Never"), ("6.16", "Never"), ("6.17", "Never"), ("6.18", "Never")])
def test_the_exit_information_race_is_sometimes_seen_until_pidfs_persist(version, leak):
    assert verdicts(compiled(EXIT_INFO), version) == {"leak": leak, "reaped": "Always"}


def test_the_exit_information_race_witness_replays_to_a_pidfd_without_exit_information():
    prog = compiled(EXIT_INFO)
    x = explore(prog, "6.16.0")
    leak = prog.predicate(prog.conditions[0], "6.16.0")
    w = x.witness(leak)
    assert w is not None and w.preemptions == 1
    for _ in range(3):                                  # the same token, the same outcome
        out = pidlab.replay(prog.setup, prog.threads, w.token, final=prog.final)
        assert out == w.outcome and leak(out)
    p1, after = out[1], out[2]
    assert p1.mapping()["fd"] >= 0
    assert after.mapping()["info"].mask & pidlab.constants.PIDFD_INFO_EXIT == 0


@pytest.mark.parametrize("version", ["6.1", "6.12", "6.15", "6.16", "6.18"])
def test_two_waiters_for_one_zombie_exactly_one_reaps_it_the_other_gets_echild(version):
    assert verdicts(compiled(TWO_WAITERS), version) == {"one": "Always", "both": "Never"}


def test_pidfd_open_enoent_for_a_leader_needs_the_unlocked_checks_of_the_merge_window():
    prog = script.parse_litmus((ROOT / "examples/litmus/pidfd-open-enoent.pidlab").read_text(),
                               "pidfd-open-enoent.pidlab").compile()
    unlocked = {"pidfd-open-locked": False}
    assert verdicts(prog, "6.16", changes=unlocked)["enoent"] == "Sometimes"
    for version in ("6.15", "6.16.0", "6.16", "6.18"):
        assert verdicts(prog, version)["enoent"] == "Never", version


# ---------------------------------------------------------------- the catalogue

@pytest.mark.parametrize("path", LITMUS, ids=[p.stem for p in LITMUS])
def test_each_litmus_file_parses_states_its_expectations_and_explores_at_6_18(path):
    lit = script.parse_litmus(path.read_text(), path.name)
    assert lit.description and "Expected" in lit.description
    for c in lit.conditions:                    # each condition's verdict is stated
        assert c.name in lit.description, c.name
    prog = lit.compile()
    x = explore(prog, "6.18", max_schedules=400)
    assert x.schedules >= 1
    assert not any(isinstance(e, pidlab.Crashed) for o in x.outcomes for e in o), x.outcomes
    for c in prog.conditions:
        x.count(prog.predicate(c, "6.18"))      # every condition evaluates on every outcome


def test_the_catalogue_covers_the_issue_items_a_to_l():
    assert len(LITMUS) >= 12
    heads = sorted(p.read_text().split(")", 1)[0].lstrip("# (") for p in LITMUS)
    assert heads == list("abcdefghijkl")


# ---------------------------------------------------------------- both backends

@pytest.mark.parametrize("text", [EXIT_INFO, TWO_WAITERS], ids=["exit-info", "two-waiters"])
def test_the_compiled_blocks_run_one_after_the_other_on_each_backend_as_the_model_schedules_them(
        kernel, text):
    """The setup, threads and final as pidlab.stress calls them, here one after the other:
    on each backend the outcome is the model's schedule without preemption."""
    prog = compiled(text)
    s = prog.setup(kernel)
    outcome = tuple(t(kernel, s) for t in prog.threads)
    if prog.final is not None:
        outcome += (prog.final(kernel, s, outcome),)
    version = ".".join(pidlab.DEFAULT_VERSION.split(".")[:2])
    model = pidlab.replay(prog.setup, prog.threads, f"{version}:-", final=prog.final)
    assert outcome == model
