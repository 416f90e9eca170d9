"""pidlab fuzz: a differential fuzz campaign, model against live kernel, sharded over processes.

The lockstep machine of pidlab/fuzz.py (the one tests/test_fuzz.py runs) drives the
model and a live sandbox with the same random system calls; `--jobs N` splits the
examples over N forked processes, each its own seeded Hypothesis run with its own
sandboxes, and `--scheduler ADDRESS` over a Dask cluster's workers instead.  The
report adds up the examples, the steps and the divergences (each with the call
sequence Hypothesis shrank it to, and the command that runs its shard again).
"""

from __future__ import annotations

import json
from typing import Any

import click

from .. import cluster

KERNELS = ("host", "6.1", "6.12")
FORMATS = ("text", "json")


class FuzzError(click.ClickException):
    """The campaign cannot run here (no Hypothesis, no live kernel, no scheduler): exit 2,
    so that 1 means a divergence."""

    exit_code = 2


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def rerun_command(kernel: str, shard: Any, steps: int) -> str:
    """The command that runs one shard's examples again (shard i of seed S is seed S+i)."""
    where = "" if kernel == "host" else f" --kernel {kernel}"
    return f"pidlab fuzz --examples {shard.asked} --steps {steps}{where} --seed {shard.seed}"


def report(c: Any, kernel: str, scheduler: str | None) -> dict:
    shards = [{"index": s.index, "seed": s.seed, "asked": s.asked, "examples": s.examples,
               "steps": s.steps, "elapsed": round(s.elapsed, 3), "version": s.version,
               "divergences": len(s.divergences), "process": s.process} for s in c.shards]
    divergences = [{"shard": d.shard, "seed": d.seed, "error": d.error, "sequence": d.sequence,
                    "rerun": rerun_command(kernel, c.shards[d.shard], c.max_steps)}
                   for d in c.divergences]
    versions = sorted({s.version for s in c.shards if s.version})
    return {"kernel": kernel, "version": versions[0] if len(versions) == 1 else versions,
            "scheduler": scheduler, "seed": c.seed, "jobs": c.jobs, "max_steps": c.max_steps,
            "examples": c.examples, "steps": c.steps, "divergences": divergences,
            "elapsed": round(c.elapsed, 3), "examples_per_second": round(c.per_second, 3),
            "steps_per_second": round(c.steps / c.elapsed, 2) if c.elapsed > 0 else 0.0,
            "shards": shards}


def print_report(rep: dict) -> None:
    where = "this machine's kernel" if rep["kernel"] == "host" else f"the {rep['kernel']} guest"
    on = f" on the Dask cluster at {rep['scheduler']}" if rep["scheduler"] else ""
    click.echo(f"Fuzz campaign: the model against the live kernel {rep['version']} "
               f"({where}), seed {rep['seed']}, {_plural(rep['jobs'], 'shard')}{on}")
    for s in rep["shards"]:
        found = _plural(s["divergences"], "divergence") if s["divergences"] else "ok"
        click.echo(f"  shard {s['index']}  seed {s['seed']}  {_plural(s['examples'], 'example')}"
                   f"  {_plural(s['steps'], 'step')}  {s['elapsed']:.2f} s  {found}")
    click.echo(f"Total: {_plural(rep['examples'], 'example')} of at most {rep['max_steps']} steps, "
               f"{_plural(rep['steps'], 'step')}, "
               f"{_plural(len(rep['divergences']), 'divergence')}, {rep['elapsed']:.2f} s "
               f"({rep['examples_per_second']:.2f} examples/s, {rep['steps_per_second']:.1f} "
               "steps/s)")
    for i, d in enumerate(rep["divergences"], 1):
        click.echo(f"\nDivergence {i} (shard {d['shard']}, seed {d['seed']}):")
        first, *more = d["error"].splitlines() or [""]
        click.echo(f"  {first}")
        for part in more:
            click.echo(f"    {part}")
        for line in d["sequence"]:
            for part in line.splitlines():
                click.echo(f"    {part}")
        click.echo(f"  again: {d['rerun']}")


@click.command()
@click.option("--examples", type=click.IntRange(1, None), default=100, show_default=True,
              help="Examples in all (a fresh live sandbox each), split over the shards.")
@click.option("--steps", type=click.IntRange(1, None), default=30, show_default=True,
              help="System calls per example, at most.")
@click.option("--kernel", type=click.Choice(KERNELS), default="host", show_default=True,
              help="The live side: this machine's kernel, or pidlab's virtual machine of "
                   "that series (`make kernels` installs them).")
@click.option("--jobs", type=click.IntRange(1, None), default=None,
              help="Shards, each in its own process (default 1; with --scheduler, one per "
                   "worker thread).")
@click.option("--seed", type=click.IntRange(0, 2 ** 63 - 1), default=None,
              help="Shard i is seeded SEED+i (default: a random seed, printed).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the shards on the Dask cluster of this scheduler (tcp://HOST:8786; "
                   "needs pidlab[cluster] here and pidlab with a live kernel on the workers).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
def fuzz(examples: int, steps: int, kernel: str, jobs: int | None, seed: int | None,
         scheduler: str | None, fmt: str) -> None:
    """Differential fuzzing: random system calls on the model and the live kernel in lockstep.

    Every example starts a fresh live sandbox (a pid namespace of its own) and
    the model at the live kernel's version, makes the same calls on both and
    compares every result, errno and /proc/self/status.  A divergence is shrunk
    by Hypothesis to a short call sequence, printed with the command that runs
    its shard again.

    Exits 0 when the backends agreed throughout, 1 on a divergence, 2 when the
    campaign cannot run (Hypothesis missing: pip install 'pidlab[fuzz]'; no live
    kernel; no scheduler) or for a bad option.
    """
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise FuzzError("pidlab fuzz needs Hypothesis: pip install 'pidlab[fuzz]'") from None
    from .. import fuzz as fuzzing
    series = None if kernel == "host" else kernel
    try:
        if scheduler is None:
            fuzzing.preflight(series)   # a cluster's workers, not this machine, need a live kernel
            c = fuzzing.campaign(examples, steps, kernel=series, jobs=jobs or 1, seed=seed)
        else:
            with cluster.executor(scheduler) as (ex, workers):
                c = fuzzing.campaign(examples, steps, kernel=series, jobs=jobs or workers,
                                     seed=seed, executor=ex)
    except (fuzzing.Unavailable, cluster.ClusterUnavailable) as e:
        raise FuzzError(str(e)) from None
    rep = report(c, kernel, scheduler)
    if fmt == "json":
        click.echo(json.dumps(rep, indent=2))
    else:
        print_report(rep)
    if rep["divergences"]:
        raise SystemExit(1)
