"""The benchmark suite keeps working: a smoke run of every benchmark at tiny sizes.

Benchmarks are not tests: nothing here looks at a timing.  It checks that every
benchmark ran, that its figures are well formed, and that the live side either
produced figures or said why it could not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pidlab.cli.main import cli

BENCHMARKS = ("churn", "scale", "wrap", "depth", "pidfd", "explore")


def test_pidlab_bench_smoke_runs_every_benchmark(tmp_path):
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    result = CliRunner().invoke(cli, ["bench", "--smoke", "--json", str(out), "--markdown",
                                      str(md)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["smoke"] is True
    res = data["results"]
    for name in BENCHMARKS:
        assert name in res, f"{name} did not run"
    assert res["churn"]["model"]["cycles_per_s"] > 0
    scale = next(iter(res["scale"]["model"].values()))
    assert scale["tasks"] == data["results"]["sizes"]["scale"][0]
    assert scale["bytes_per_task"] > 0
    assert res["wrap"]["alloc_free_us"] > 0 and res["wrap"]["live_tasks"] > 0
    assert set(res["depth"]["model"]) == {"level_1", "level_8", "level_16", "level_32"}
    assert res["depth"]["model"]["level_1"]["relative"] == 1.0
    assert all(v > 0 for v in res["pidfd"]["model"].values())
    for case in res["explore"].values():
        assert case["jobs_1"]["schedules"] == 20 and case["jobs_1"]["per_s_cpu"] > 0
        parts = case["breakdown"]["parts_us"]
        assert case["breakdown"]["schedule_us"] > 0
        assert parts["Kernel() construction"] > 0 and parts["snapshot"] > 0, parts
    assert max(c["jobs_1"]["tasks"] for c in res["explore"].values()) == 4
    # Every row of the table names a benchmark and has a model figure.
    assert {row["benchmark"].split(":")[0] for row in data["table"]} >= set(BENCHMARKS)
    assert all(row["model"] for row in data["table"] if not row["benchmark"].startswith("live "))
    # The live backend's rows: the native agent's figure, or the reason it is missing.
    for row in data["table"]:
        if row["benchmark"].startswith("live backend:"):
            assert row["backend"].startswith("native ") or row["met"] is None, row
    # The live side: figures, or the reason they are missing.
    unavailable = res.get("live_unavailable", {})
    if "churn_native" not in unavailable:
        assert res["churn"]["live"]["native_s"] > 0
    if os.geteuid() == 0 and not unavailable:
        assert res["churn"]["live"]["fork_ns"] > 0
        assert {"fork_ns", "python_s", "native_s"} <= set(res["churn"]["guest"])
        assert res["pidfd"]["live"]["pidfd_open_close_per_s"] > 0
        assert set(res["depth"]["live_ns"]) == {"1", "8", "16", "32"}
    for key, why in unavailable.items():
        assert why, f"live {key} skipped without a reason"
    assert "pidlab bench (smoke sizes)" in result.output
    table = md.read_text().splitlines()
    assert table[0].startswith("| benchmark | model | target |")
    assert len([ln for ln in table if ln.startswith("| ")]) == len(data["table"]) + 1


def test_pidlab_bench_json_format_and_selection(tmp_path):
    out = tmp_path / "b.json"
    result = CliRunner().invoke(cli, ["bench", "--smoke", "--no-live", "--only", "pidfd",
                                      "--format", "json", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["results"]) == {"sizes", "pidfd"}
    assert data["results"]["pidfd"]["live"] is None
    assert json.loads(out.read_text()) == data


def test_opcount_counts_the_kernel_steps_of_a_churn_cycle(capsys):
    from pidlab.bench import opcount
    assert opcount.main(["--cycles", "20", "--top", "40"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith("per fork -> exit_group -> waitpid cycle at level 1:")
    # Every cycle runs each of these kernel steps once.
    for step in ("copy_process", "alloc_pid", "release_task", "free_pid", "do_exit", "do_wait"):
        rows = [line.split() for line in out.splitlines()[2:] if line.split()[-1] == step]
        assert rows and float(rows[0][1]) == 1.0, step
    ops, calls = opcount.count(opcount.churn_step(0, fork_only=True), 10)
    assert calls["copy_process"] == 10 and ops["copy_process"] > 0
    assert "do_exit" not in calls


def test_bench_only_wrap_runs_the_wrap_benchmark_alone(tmp_path):
    """wrap lives inside the scale run (it needs a nearly full namespace): asked for
    alone, it fills one and reports only its own row."""
    out = tmp_path / "w.json"
    result = CliRunner().invoke(cli, ["bench", "--smoke", "--no-live", "--only", "wrap",
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["results"]) == {"sizes", "wrap"}
    assert data["results"]["wrap"]["alloc_free_us"] > 0
    assert data["results"]["wrap"]["namespace_tasks"] == data["results"]["sizes"]["scale"][-1]
    assert [row["benchmark"].split(":")[0] for row in data["table"]] == ["wrap"]
    assert "wrap: alloc + free" in result.stdout


def test_bench_writes_nothing_unasked_and_leaves_no_build_directory(tmp_path):
    """A run with the live side (gcc builds the fork loop in a temporary directory)
    leaves the working directory and TMPDIR as it found them."""
    work, tmp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    # --no-guest: booting a virtual machine for this process alone would add a minute; the
    # smoke run above measures in the guest the test session already runs.
    proc = subprocess.run([sys.executable, "-m", "pidlab", "bench", "--smoke", "--no-guest",
                           "--only", "churn", "--only", "pidfd"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "figures written" not in proc.stdout
    assert list(work.iterdir()) == []
    assert list(tmp.iterdir()) == [], list(tmp.iterdir())
    if os.geteuid() == 0 and shutil.which("gcc"):
        # the live side ran, so the fork loop was built (and removed again)
        assert re.search(r"fork [\d,]+/s", proc.stdout), proc.stdout


def test_livebench_cleanup_removes_the_build_directory():
    from pidlab.bench import live
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        pytest.skip("no C compiler here to build the fork loop")
    binary = live.forkloop()
    assert os.path.exists(binary)
    live.cleanup()
    assert not os.path.exists(os.path.dirname(binary))
