"""pidlab bench: the performance suite, model and live kernel side by side."""

from __future__ import annotations

import json

import click
from rich.table import Table

from .. import bench as benchmod
from .common import console, emit_json, is_rich

NAMES = ("churn", "scale", "wrap", "depth", "pidfd", "explore")


@click.command()
@click.option("--smoke", is_flag=True, help="Every benchmark at a tiny size (seconds): checks "
              "that the suite works, measures nothing worth quoting.")
@click.option("--live/--no-live", default=True, show_default=True,
              help="Measure the live kernel too (needs root and gcc; skipped with the reason "
              "otherwise).")
@click.option("--guest/--no-guest", default=True, show_default=True,
              help="With --live: the live backend's churn inside the 6.12 virtual machine too "
              "(boots it unless this process runs it already).")
@click.option("--only", multiple=True, type=click.Choice(NAMES),
              help="Run only these benchmarks (repeatable).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write every figure, the table and the machine to this file.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write the table as Markdown (BENCHMARKS.md takes it from here).")
def bench(smoke: bool, live: bool, guest: bool, only: tuple[str, ...], json_path: str | None,
          fmt: str, md_path: str | None) -> None:
    """Measure the model against its targets, with the live kernel beside it.

    The full run creates 1,000,000 and then 4,194,303 model tasks (about 4 GiB
    of memory, a few minutes); the live side compiles a small C fork loop.
    `wrap` runs inside the largest scale run (it needs a nearly full namespace):
    `--only wrap` fills one and reports the wrap row alone.  `explore` measures the
    race explorer (schedules/s of three litmus tests, jobs=1 and 2).  Targets are shown,
    never asserted: the exit status is 0 when the suite ran.  Nothing is written
    but what --json and --markdown name; the live side's build directory is
    removed at the end.
    """
    con = console(stderr=True)
    report = benchmod.run(smoke=smoke, live=live, guest=guest, only=set(only) or None,
                          progress=lambda msg: con.print(f"[dim]… {msg}[/]" if is_rich(con)
                                                         else f"... {msg}", markup=is_rich(con)))
    data = report.as_dict()
    try:
        if json_path:
            with open(json_path, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
        if md_path:
            with open(md_path, "w", encoding="utf-8") as f:
                f.write(report.markdown())
    except OSError as e:
        raise click.ClickException(f"{e.filename}: {e.strerror}") from None
    if fmt == "json":
        emit_json(data)
        return
    out = console()
    rich = is_rich(out)
    table = Table("benchmark", "model", "target", "met", "live kernel (C)", "live backend",
                  title=f"pidlab bench{' (smoke sizes)' if smoke else ''}", show_lines=False)
    for row in report.rows:
        met = {True: "[green]yes[/]" if rich else "yes", False: "[red]no[/]" if rich else "no",
               None: ""}[row.met]
        table.add_row(row.benchmark, row.model, row.target, met, row.live, row.backend)
    out.print(table)
    m = report.machine
    out.print(f"{m['cpu']} ({m['cpus']} CPUs), Linux {m['kernel']}, "
              f"{m['implementation']} {m['python']}, {m['date']}", markup=False)
    skipped = report.results.get("live_unavailable")
    if skipped:
        for key, why in skipped.items():
            out.print(f"live {key} not measured: {why}", markup=False)
    if json_path:
        out.print(f"figures written to {json_path}", markup=False)
