"""Shards on a Dask cluster (pidlab[cluster]): a LocalCluster this module starts and stops.

The cluster has two worker processes of one thread each, as two machines would.
Where the expected values come from: the same exploration run in this process
(pidlab.explore shards a search without changing its result, schedule for
schedule), and the worker processes themselves (their pids, asked of each worker
before the cluster closes, must all be gone after).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

distributed = pytest.importorskip("distributed", reason="dask is not installed (pip install "
                                  "'pidlab[cluster]')")
psutil = pytest.importorskip("psutil", reason="psutil comes with distributed")

import pidlab  # noqa: E402
from pidlab import cluster, script  # noqa: E402
from pidlab.cli.main import cli  # noqa: E402

LITMUS = Path(pidlab.__file__).resolve().parent / "examples" / "litmus"
RACE = LITMUS / "exit-info-race.pidlab"
WAITERS = LITMUS / "two-waiters.pidlab"


def _not_a_worker(p: "psutil.Process") -> bool:
    """multiprocessing's resource tracker, which the spawn start method leaves running
    until this interpreter exits (it is not the cluster's)."""
    try:
        return "multiprocessing.resource_tracker" in " ".join(p.cmdline())
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def dask_cluster():
    """(scheduler address, worker pids) of a LocalCluster of 2 processes x 1 thread; after
    the module, every process it started is gone."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, scheduler_kwargs={"dashboard": False})
    try:
        with distributed.Client(lc, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            pids = sorted(client.run(os.getpid).values())
        assert len(pids) == 2 and os.getpid() not in pids
        yield lc.scheduler_address, pids
    finally:
        lc.close(timeout=60)
    gone = psutil.wait_procs([p for p in (psutil.Process(pid) for pid in pids
                                          if psutil.pid_exists(pid))], timeout=30)[1]
    assert not gone, f"worker processes left: {gone}"
    left = [p for p in me.children(recursive=True) if p.pid not in before and not _not_a_worker(p)]
    assert not left, f"processes left by the cluster: {left}"


def compiled(path: Path) -> script.Program:
    return script.parse_litmus(path.read_text(), str(path)).compile()


def summary(x: "pidlab.Exploration", prog: script.Program, version: str) -> dict:
    """Everything an exploration says but its timing and its sharding."""
    verdicts = {}
    for c in prog.conditions:
        pred = prog.predicate(c, version, None)
        w = x.witness(pred)
        verdicts[c.name] = (x.verdict(pred), x.count(pred), w.token if w else None)
    return {"outcomes": x.outcomes, "schedules": x.schedules, "pruned": x.pruned,
            "states": x.states, "by_preemptions": x.by_preemptions, "complete": x.complete,
            "exhaustive": x.exhaustive, "verdicts": verdicts}


@pytest.mark.parametrize("path, version", [(RACE, "6.16.0"), (RACE, "6.18"), (WAITERS, "6.18")],
                         ids=["exit-info-race-6.16.0", "exit-info-race-6.18", "two-waiters-6.18"])
def test_an_exploration_on_the_cluster_equals_the_sequential_one(dask_cluster, path, version):
    address, pids = dask_cluster
    prog = compiled(path)
    alone = pidlab.explore(prog.setup, prog.threads, version=version, final=prog.final)
    with cluster.executor(address) as (ex, workers):
        assert workers == 2
        x = pidlab.explore(prog.setup, prog.threads, version=version, final=prog.final,
                           jobs=workers, executor=ex)
    assert x.jobs == 2
    assert summary(x, prog, version) == summary(alone, prog, version)
    if version == "6.16.0":         # the race is there to be found (races.md B.3)
        assert summary(x, prog, version)["verdicts"]["leak"][0] == "Sometimes"


def test_the_shards_ran_on_the_workers(dask_cluster):
    address, pids = dask_cluster
    with cluster.executor(address) as (ex, _):
        ran = sorted({ex.submit(os.getpid).result() for _ in range(8)})
    assert set(ran) <= set(pids) and os.getpid() not in ran


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pidlab {' '.join(args)} crashed: {result.exception!r}") \
            from result.exception
    return result


def _without_timing(doc: dict) -> dict:
    for rep in doc["reports"]:
        for key in ("elapsed", "per_second", "jobs"):
            rep["statistics"].pop(key)
    return doc


def test_pidlab_explore_scheduler_reports_what_the_local_run_does(dask_cluster):
    address, _ = dask_cluster
    args = ["explore", str(RACE), "--kernel", "6.16.0", "--kernel", "6.18", "--format", "json"]
    local = invoke(*args)
    remote = invoke(*args, "--scheduler", address)
    assert local.exit_code == remote.exit_code == 0, remote.output
    doc = json.loads(remote.stdout)
    assert [r["statistics"]["jobs"] for r in doc["reports"]] == [2, 2]     # one per worker
    assert _without_timing(doc) == _without_timing(json.loads(local.stdout))


def test_pidlab_fuzz_scheduler_runs_one_shard_per_worker(dask_cluster):
    address, pids = dask_cluster
    try:
        pidlab.LiveKernel().close()
    except pidlab.BackendUnavailable as e:
        pytest.skip(f"live backend unavailable here: {e}")
    result = invoke("fuzz", "--examples", "2", "--steps", "5", "--seed", "4", "--scheduler",
                    address, "--format", "json")
    assert result.exit_code == 0, result.output
    rep = json.loads(result.stdout)
    assert rep["scheduler"] == address and rep["jobs"] == 2
    assert rep["examples"] == sum(s["examples"] for s in rep["shards"])
    ran = {int(s["process"].rsplit(":", 1)[1]) for s in rep["shards"]}
    assert ran <= set(pids)


@pytest.mark.parametrize("command", [["explore", str(RACE)], ["fuzz", "--examples", "1"]],
                         ids=["explore", "fuzz"])
def test_no_scheduler_at_the_address_is_one_line_and_exit_2(command, monkeypatch):
    monkeypatch.setattr(cluster, "TIMEOUT", 1.0)
    if command[0] == "fuzz":
        pytest.importorskip("hypothesis", reason="pidlab fuzz needs hypothesis")
        # The workers need a live kernel, not this machine: none is started here.
        monkeypatch.setattr(pidlab, "LiveKernel", lambda *a, **kw: pytest.fail("started"))
    result = invoke(*command, "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: no Dask scheduler at tcp://127.0.0.1:9: ")
    assert len(result.output.splitlines()) == 1, result.output
