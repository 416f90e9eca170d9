"""pidlab conformance: the conformance suite on both backends, as a report."""

from __future__ import annotations

import re
import sys
import time
from typing import Any, Callable, TextIO

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import conformance as conf
from .common import console, emit_json, is_rich

PERIOD = 10.0                       # seconds between two progress lines off a terminal
AGREE_TEXT = {True: "yes", False: "NO", None: "one-sided"}


def _cell(res: conf.Result, rich: bool) -> str:
    colour = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}.get(
        res.outcome, "dim")
    text = res.outcome
    return f"[{colour}]{text}[/]" if rich else text


def shorten(name: str, width: int) -> str:
    """A behaviour's name in `width` characters, cut in the middle so that both ends
    survive: the file and the start of the test, the end of its name and its
    parameters (two rows of one parametrised test then still differ)."""
    if len(name) <= width:
        return name
    m = re.fullmatch(r"(.*?)(\[.*\])?", name)
    base, params = (m.group(1), m.group(2) or "") if m else (name, "")
    if len(params) > width // 2:
        keep = width // 2 - 2
        params = params[:keep // 2 + 1] + "…" + params[-(keep - keep // 2):]
    budget = width - len(params) - 1
    head = max(budget * 3 // 5, 1)
    tail = budget - head
    return base[:head] + "…" + (base[-tail:] if tail > 0 else "") + params


class PlainProgress:
    """Progress off a terminal: a line when the tests are known, one every `period`
    seconds, and one at the end (on stderr, so that stdout stays the report)."""

    def __init__(self, stream: TextIO, period: float = PERIOD,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.period, self.clock = stream, period, clock
        self.start = self.last = clock()

    def __call__(self, done: int, total: int, nodeid: str) -> None:
        now = self.clock()
        if total == 0:
            return
        if done == 0:
            self.start = self.last = now
            self._line(f"running {total} tests")
        elif done == total:
            self._line(f"{done}/{total} tests done in {now - self.start:.0f} s")
        elif now - self.last >= self.period:
            self.last = now
            self._line(f"{done}/{total} tests, {now - self.start:.0f} s")

    def _line(self, text: str) -> None:
        self.stream.write(f"pidlab conformance: {text}\n")
        self.stream.flush()


class RichProgress:
    """A progress bar on a terminal, gone when the suite ends."""

    def __init__(self, con: Console) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        self.progress = Progress(TextColumn("[bold]conformance"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(),
                                 TimeRemainingColumn(), TextColumn("[dim]{task.description}"),
                                 console=con, transient=True, redirect_stdout=False,
                                 redirect_stderr=False)
        self.task: Any = None

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, done: int, total: int, nodeid: str) -> None:
        name = nodeid.split("scenarios/", 1)[-1]
        if self.task is None:
            self.task = self.progress.add_task("", total=total)
        self.progress.update(self.task, completed=done, description=shorten(name, 50))


def _check_kernels(values: tuple[str, ...]) -> tuple[str, ...]:
    from .. import versions
    for v in values:
        if v != "all":
            try:
                versions.parse(v)
            except ValueError as e:
                raise click.BadParameter(str(e), param_hint="--kernel") from None
    return values


@click.command()
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("-k", "keyword", help="Only the behaviours whose names match this pytest -k "
              "expression (for example 'pidfd and not xattr').")
@click.option("--backend", "backends", multiple=True, type=click.Choice(("model", "live")),
              help="Run only this backend (repeatable); both by default.")
@click.option("--kernel", "kernels", multiple=True, metavar="VERSION",
              callback=lambda ctx, param, value: _check_kernels(value),
              help="Run at this kernel version (repeatable; 'all' for every version the model "
                   "knows): the model at it, and the live kernel of that series where this "
                   "machine has one.  By default: every live kernel here (this machine's, and "
                   "the 6.1 and 6.12 guests once `make kernels` installed them).")
@click.option("--guests", type=click.Choice(("all", "changed")), default="all",
              show_default=True,
              help="On the kernels of pidlab's virtual machines: every scenario, or only those "
                   "whose calls and results on the model differ from the running kernel's.")
@click.option("--markdown", "markdown_dir", type=click.Path(file_okay=False),
              help="Also write one report per live kernel into this directory "
                   "(<kernel>.md).")
def conformance(fmt: str, keyword: str | None, backends: tuple[str, ...],
                kernels: tuple[str, ...], guests: str, markdown_dir: str | None) -> None:
    """Run the conformance suite on the model and the live kernels: one row per behaviour
    and kernel version.

    A row agrees when both backends pass; it is one-sided when the live kernel
    cannot show the behaviour here, and differs when one side fails: the reason
    column says why (the skip reason, or the failure's first line).  Progress
    goes to stderr (a bar on a terminal).  Exits 1 when any behaviour differs
    or fails, or when -k matches nothing.
    """
    err = sys.stderr
    if err.isatty():
        with RichProgress(Console(file=err)) as bar:
            report = conf.run(keyword, backends or ("model", "live"), progress=bar,
                              kernels=kernels or None, guests=guests)
    else:
        report = conf.run(keyword, backends or ("model", "live"), progress=PlainProgress(err),
                          kernels=kernels or None, guests=guests)
    if markdown_dir:
        import os
        os.makedirs(markdown_dir, exist_ok=True)
        for series in conf.live_kernels():
            with open(os.path.join(markdown_dir, f"{series}.md"), "w", encoding="utf-8") as f:
                f.write(conf.markdown(report, series))
    if not report.rows:
        if keyword and report.exit_status in (0, 5):
            raise click.ClickException(f"no behaviour matches -k {keyword!r}")
        raise click.ClickException("the conformance suite could not be collected "
                                   f"(pytest exit status {report.exit_status})")
    if fmt == "json":
        emit_json({"rows": [r.as_dict() for r in report.rows], "summary": report.summary,
                   "ok": report.ok})
    else:
        con = console()
        if is_rich(con):
            _rich_table(con, report)
        else:
            _plain_table(con, report)
        s = report.summary
        line = (f"{s['behaviours']} behaviours: {s['agree']} agree, {s['differ']} differ, "
                f"{s['one_backend_only']} shown on one backend only")
        con.print(f"[bold {'green' if report.ok else 'red'}]{line}[/]" if is_rich(con) else line)
    if not report.ok:
        raise SystemExit(1)


def _rich_table(con: Console, report: conf.Report) -> None:
    # The name gets what the outcome columns and some reason leave, at least 40
    # characters; a name cut in the middle keeps its parameters, so no two rows look
    # the same.  The reason takes the rest and is cut at its end.
    fixed = 7 + 7 + 9 + 4 * 2                   # model, live, agree and the gaps
    longest = max(len(r.behaviour) for r in report.rows)
    width = min(longest, max(40, con.width - fixed - 24))
    table = Table(box=None, show_edge=False, pad_edge=False)
    table.add_column("behaviour", no_wrap=True, min_width=width, max_width=width)
    for name, w in (("model", 7), ("live", 7), ("agree", 9)):
        table.add_column(name, no_wrap=True, min_width=w)
    table.add_column("reason", no_wrap=True, overflow="ellipsis",
                     max_width=max(con.width - width - fixed, 10))
    for row in report.rows:
        agree = {True: "[green]yes[/]", False: "[bold red]NO[/]",
                 None: "[dim]one-sided[/]"}[row.agree]
        table.add_row(escape(shorten(row.behaviour, width)), _cell(row.model, True),
                      _cell(row.live, True), agree, f"[dim]{escape(row.reason)}[/]")
    con.print(table)


def _plain_table(con: Console, report: conf.Report) -> None:
    """Off a terminal: whole names, aligned columns, nothing cut (greppable)."""
    rows = [(r.behaviour, r.model.outcome, r.live.outcome, AGREE_TEXT[r.agree], r.reason)
            for r in report.rows]
    head = ("behaviour", "model", "live", "agree", "reason")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        cells = [r[i].ljust(widths[i]) for i in range(4)] + [r[4]]
        con.print("  ".join(cells).rstrip(), markup=False, highlight=False, soft_wrap=True)
