"""pidlab conformance: the conformance suite on both backends, as a report."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from .. import conformance as conf
from .common import console, emit_json, is_rich


def _cell(res: conf.Result, rich: bool) -> str:
    colour = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}.get(
        res.outcome, "dim")
    text = res.outcome
    return f"[{colour}]{text}[/]" if rich else text


@click.command()
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("-k", "keyword", help="Only the behaviours whose names match this pytest -k "
              "expression (for example 'pidfd and not xattr').")
@click.option("--backend", "backends", multiple=True, type=click.Choice(("model", "live")),
              help="Run only this backend (repeatable); both by default.")
def conformance(fmt: str, keyword: str | None, backends: tuple[str, ...]) -> None:
    """Run the conformance suite on the model and the live kernel: one row per behaviour.

    A row agrees when both backends pass; it is one-sided when the live kernel
    cannot show the behaviour here (the reason is given).  Exits 1 when any
    behaviour differs or fails.
    """
    report = conf.run(keyword, backends or ("model", "live"))
    if report.exit_status in (2, 3, 4) and not report.rows:
        raise click.ClickException("the conformance suite could not be collected "
                                   f"(pytest exit status {report.exit_status})")
    if fmt == "json":
        emit_json({"rows": [r.as_dict() for r in report.rows], "summary": report.summary,
                   "ok": report.ok})
    else:
        con = console()
        rich = is_rich(con)
        table = Table("behaviour", "model", "live", "agree", box=None if not rich else None,
                      show_edge=False, pad_edge=False)
        for row in report.rows:
            agree = {True: "[green]yes[/]" if rich else "yes",
                     False: "[bold red]NO[/]" if rich else "NO",
                     None: "[dim]one-sided[/]" if rich else "one-sided"}[row.agree]
            table.add_row(escape(row.behaviour) if rich else row.behaviour,
                          _cell(row.model, rich), _cell(row.live, rich), agree)
        con.print(table)
        for row in report.rows:
            if row.agree is False:
                for side, res in (("model", row.model), ("live", row.live)):
                    if res.outcome != "passed" and res.detail:
                        con.print(f"{row.behaviour} [{side}]: {res.detail}", markup=False)
        s = report.summary
        line = (f"{s['behaviours']} behaviours: {s['agree']} agree, {s['differ']} differ, "
                f"{s['one_backend_only']} shown on one backend only")
        con.print(f"[bold {'green' if report.ok else 'red'}]{line}[/]" if rich else line)
    if not report.ok:
        raise SystemExit(1)
