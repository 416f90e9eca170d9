"""pidlab fuzz: a differential campaign sharded over local processes, as a user runs it.

Where the expected values come from: the campaign's own shards (the totals are their
sums, each shard seeded SEED+i with its share of the examples), the live kernel's
version as the live backend reads it, and the command line's conventions (exit 1 for
a divergence, 2 for a bad option or a campaign that cannot run, one line per error).
The forced divergence is a model patched to report a wrong parent in the
/proc/self/status of every task but init: the lockstep machine must catch it after
the first task it creates, and name the call sequence.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys

import pytest
from click.testing import CliRunner, Result

pytest.importorskip("hypothesis", reason="pidlab fuzz needs hypothesis (pip install 'pidlab[fuzz]')")

import pidlab  # noqa: E402
from pidlab import fuzz  # noqa: E402
from pidlab.cli.main import cli  # noqa: E402
from pidlab.model.kernel import Task as ModelTask  # noqa: E402

SHARD = re.compile(r"^  shard (\d+)  seed (\d+)  (\d+) examples?  (\d+) steps?  [\d.]+ s  (.+)$",
                   re.M)
TOTAL = re.compile(r"^Total: (\d+) examples? of at most (\d+) steps, (\d+) steps?, "
                   r"(\d+) divergences?, [\d.]+ s \([\d.]+ examples/s, [\d.]+ steps/s\)$", re.M)


@functools.cache
def _live() -> tuple[str | None, str | None]:
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        return None, str(e) or type(e).__name__
    try:
        return k.version, None
    finally:
        k.close()


def live_version() -> str:
    version, reason = _live()
    if version is None:
        pytest.skip(f"live backend unavailable here: {reason}")
    return version


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["fuzz", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pidlab fuzz {' '.join(args)} crashed: {result.exception!r}") \
            from result.exception
    return result


def test_two_jobs_run_two_seeded_shards_and_the_totals_are_their_sums():
    version = live_version()
    result = invoke("--examples", "5", "--steps", "8", "--jobs", "2", "--seed", "11",
                    "--format", "json")
    assert result.exit_code == 0, result.output
    rep = json.loads(result.stdout)
    shards = rep["shards"]
    assert rep["jobs"] == len(shards) == 2
    assert [s["seed"] for s in shards] == [11, 12] and rep["seed"] == 11
    assert [s["asked"] for s in shards] == [3, 2]           # 5 examples, split
    assert rep["examples"] == sum(s["examples"] for s in shards)
    assert rep["steps"] == sum(s["steps"] for s in shards)
    assert all(s["examples"] >= 1 for s in shards)
    assert all(s["steps"] <= 8 * s["examples"] for s in shards)
    assert rep["divergences"] == [] and all(s["divergences"] == 0 for s in shards)
    assert rep["version"] == version and rep["kernel"] == "host" and rep["max_steps"] == 8
    # Each shard ran in a process of its own, neither of them this one.
    pids = {s["process"].rsplit(":", 1)[1] for s in shards}
    assert len(pids) == 2 and str(os.getpid()) not in pids
    assert rep["examples_per_second"] == pytest.approx(rep["examples"] / rep["elapsed"], rel=0.05)


def test_the_text_report_shows_each_shard_and_totals_that_add_up():
    live_version()
    result = invoke("--examples", "4", "--steps", "6", "--jobs", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Fuzz campaign: the model against the live kernel {_live()[0]} "
                          "(this machine's kernel), seed 3, 2 shards\n"), out
    shards = SHARD.findall(out)
    assert [(int(i), int(seed)) for i, seed, *_ in shards] == [(0, 3), (1, 4)]
    assert all(found == "ok" for *_, found in shards)
    total = TOTAL.search(out)
    assert total, out
    assert int(total.group(1)) == sum(int(s[2]) for s in shards)
    assert int(total.group(3)) == sum(int(s[3]) for s in shards)
    assert (int(total.group(2)), int(total.group(4))) == (6, 0)


def _wrong_parent(monkeypatch) -> None:
    """The model reports every task but the sandbox's init (PPid 0) one parent too far."""
    real = ModelTask.read_text

    def read_text(self, path):
        text = real(self, path)
        if path != "/proc/self/status":
            return text
        return re.sub(r"^PPid:\t([1-9]\d*)$", lambda m: f"PPid:\t{int(m.group(1)) + 1}", text,
                      flags=re.M)

    monkeypatch.setattr(ModelTask, "read_text", read_text)


@pytest.mark.slow
def test_a_divergence_exits_1_and_names_the_shrunk_call_sequence(monkeypatch):
    live_version()
    _wrong_parent(monkeypatch)
    result = invoke("--examples", "12", "--steps", "10", "--jobs", "2", "--seed", "5",
                    "--format", "json")
    assert result.exit_code == 1, result.output
    rep = json.loads(result.stdout)
    assert rep["divergences"], rep
    assert len(rep["divergences"]) == sum(s["divergences"] for s in rep["shards"])
    for d in rep["divergences"]:
        shard = rep["shards"][d["shard"]]
        assert d["seed"] == shard["seed"] == 5 + d["shard"]
        # The lockstep machine's assertion: which task, which call, both answers.
        assert re.match(r"AssertionError: init>\w+\.status: model \('ok', .*'PPid': '(\d+)'.* "
                        r"!= live \('ok', .*'PPid': '(\d+)'", d["error"]), d["error"]
        seq = d["sequence"]
        assert "state = LockstepMachine()" in seq and seq[-1] == "state.teardown()", seq
        assert any(re.search(r"= state\.(fork|clone|clone_pidfd|spawn_thread)\(", line)
                   for line in seq), seq
        assert d["rerun"] == f"pidlab fuzz --examples {shard['asked']} --steps 10 --seed {d['seed']}"


@pytest.mark.slow
def test_the_text_report_of_a_divergence_prints_the_sequence_and_the_command_to_rerun(monkeypatch):
    live_version()
    _wrong_parent(monkeypatch)
    result = invoke("--examples", "6", "--steps", "10", "--seed", "8")
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert re.search(r"^  shard 0  seed 8  .*  1 divergence$", out, re.M), out
    assert re.search(r"^Total: .*, 1 divergence, ", out, re.M), out
    m = re.search(r"^Divergence 1 \(shard 0, seed 8\):\n  AssertionError: init>\w+\.status: "
                  r"model .*\n(    .*\n)*    state = LockstepMachine\(\)\n(    .*\n)+"
                  r"  again: (?P<again>pidlab fuzz --examples 6 --steps 10 --seed 8)$", out, re.M)
    assert m, out
    # The command it gives runs the shard again, and finds the same divergence.
    again = invoke(*m.group("again").split()[2:])
    assert again.exit_code == 1, again.output
    assert re.search(r"^Divergence 1 \(shard 0, seed 8\):$", again.stdout, re.M)


@pytest.mark.parametrize("args", [
    ["--jobs", "0"], ["--examples", "0"], ["--steps", "-1"], ["--kernel", "5.4"],
    ["--format", "xml"], ["--seed", "-3"], ["--seed", "many"], ["--jobs", "two"],
    ["--no-such-option"], ["a-script.pidlab"],
], ids=lambda a: " ".join(a))
def test_bad_arguments_are_refused_before_anything_runs(args, monkeypatch):
    def no_kernel(*a, **kw):
        raise AssertionError("a live kernel was started for a bad command line")
    monkeypatch.setattr(pidlab, "LiveKernel", no_kernel)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Error:" in result.output and "Traceback" not in result.output


def test_without_hypothesis_it_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)      # import hypothesis fails
    result = invoke("--examples", "1")
    assert result.exit_code == 2
    assert result.output == "Error: pidlab fuzz needs Hypothesis: pip install 'pidlab[fuzz]'\n"


def test_a_live_kernel_that_cannot_start_is_one_line_and_exit_2(monkeypatch):
    def unavailable(*a, **kw):
        raise pidlab.BackendUnavailable("no pid namespaces for this test")
    monkeypatch.setattr(pidlab, "LiveKernel", unavailable)
    result = invoke("--examples", "1")
    assert result.exit_code == 2
    assert result.output == "Error: live backend unavailable: no pid namespaces for this test\n"


@pytest.mark.parametrize("kwargs, error", [
    ({"jobs": 0}, ValueError), ({"examples": 0}, ValueError), ({"steps": 0}, ValueError),
    ({"jobs": 1.5}, TypeError), ({"examples": "3"}, TypeError), ({"jobs": True}, TypeError),
])
def test_campaign_refuses_bad_counts(kwargs, error, monkeypatch):
    monkeypatch.setattr(pidlab, "LiveKernel", lambda *a, **kw: pytest.fail("ran"))
    with pytest.raises(error):
        fuzz.campaign(**kwargs)


def test_more_jobs_than_examples_runs_one_shard_per_example():
    live_version()
    c = fuzz.campaign(2, 3, jobs=4, seed=21)
    assert [(s.index, s.seed, s.asked) for s in c.shards] == [(0, 21, 1), (1, 22, 1)]
    assert c.jobs == 2 and c.examples == sum(s.examples for s in c.shards)


@pytest.mark.parametrize("command", [["explore", "exit-info-race"], ["fuzz", "--examples", "1"]],
                         ids=["explore", "fuzz"])
def test_a_scheduler_without_dask_names_the_extra_to_install(command, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed fails
    monkeypatch.setattr(pidlab, "LiveKernel", lambda *a, **kw: pytest.fail("started"))
    result = CliRunner().invoke(cli, [*command, "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: a Dask scheduler needs the cluster extra (pip install "
                                    "'pidlab[cluster]'): "), result.output
    assert len(result.output.splitlines()) == 1
