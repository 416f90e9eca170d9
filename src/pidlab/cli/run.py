"""pidlab run and pidlab compare."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import render, script
from .common import (BACKENDS, backend, backend_label, check_kernel_spec, console, emit_json,
                     is_rich, load, parse_kernel_spec)


@dataclasses.dataclass
class Played:
    """A scenario played on one backend."""

    name: str
    backend: str
    events: list[dict]
    outcomes: list[script.Outcome]
    error: str = ""                     # a mistake found while running (unbound name, ...)
    interrupted: int = 0                # the line Ctrl-C stopped the run at (0: it did not)

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if o.failed) + (1 if self.error else 0)

    @property
    def summary(self) -> dict:
        expected = [o for o in self.outcomes if o.passed is not None]
        return {"steps": len(self.outcomes),
                "expectations": len(expected),
                "met": sum(1 for o in expected if o.passed),
                "failed": sum(1 for o in expected if not o.passed),
                "unexpected_errors": sum(1 for o in self.outcomes
                                         if o.passed is None and o.failed),
                "error": self.error or None,
                "interrupted_at_line": self.interrupted or None}


def play(name: str, steps: list[script.Step], backend_name: str,
         on_step=None, version: str | None = None,  # noqa: ANN001
         changes: dict[str, bool] | None = None) -> Played:
    """Run the steps on a fresh kernel of `backend_name` (the model at `version`, with
    `changes` switched, or the live kernel of that version)."""
    played = Played(name, backend_name, [], [])
    if changes:
        import pidlab
        ctx: Any = pidlab.Kernel(version=version or pidlab.DEFAULT_VERSION, changes=changes)
    else:
        ctx = backend(backend_name, version)
    with ctx as k:
        runner = script.Runner(k, name)
        for n, step in enumerate(steps, 1):
            try:
                out = runner.step(step)
            except script.ScriptError as e:
                played.error = str(e)
                played.events.append({"step": n, "line": step.line, "source": step.source,
                                      "backend": backend_name, "kind": step.kind,
                                      "call": None, "result": {"outcome": "script-error",
                                                               "message": e.message},
                                      "expect": None, "passed": False})
                if on_step:
                    on_step(None, e)
                break
            played.outcomes.append(out)
            played.events.append(script.event(n, out, backend_name))
            if on_step:
                on_step(out, None)
            if out.interrupted:
                played.interrupted = step.line
                break
    return played


# ---------------------------------------------------------------- printing

def _mark(out: script.Outcome, rich: bool) -> str:
    if out.passed is True:
        return "[green]✓[/]" if rich else "ok"
    if out.passed is False:
        if out.kind == "assert":
            why = out.message
            return f"[bold red]✗ {escape(why)}[/]" if rich else f"FAILED: {why}"
        got, exp = out.describe(), out.expected
        return (f"[bold red]✗ expected {escape(exp)}[/]" if rich else f"FAILED: expected {exp}") + \
            (f" [red]got {escape(got)}[/]" if rich else f", got {got}")
    if out.failed:
        return "[bold red]✗ unexpected error[/]" if rich else "FAILED: unexpected error"
    return ""


def print_outcome(con: Console, out: script.Outcome | None, err: Exception | None) -> None:
    rich = is_rich(con)
    if out is None:
        con.print(f"[bold red]{escape(str(err))}[/]" if rich else str(err))
        return
    step = out.step
    src = escape(step.source) if rich else step.source
    lead = f"[dim]{step.line:4d}[/]  " if rich else f"{step.line:4d}  "
    if step.kind == "directive":
        _print_directive(con, out, lead, src, rich)
        return
    result = out.describe()
    multiline = "\n" in result
    arrow = "[dim]⇒[/]" if rich else "=>"
    style = {"errno": "yellow", "exception": "magenta"}.get(out.kind, "cyan")
    if out.cut_short:
        style = "yellow"
    res = f"[{style}]{escape(result)}[/]" if rich else result
    mark = _mark(out, rich)
    if multiline:
        con.print(f"{lead}{src}  {mark}".rstrip())
        for line in result.splitlines():
            con.print("        " + (escape(line) if rich else line), highlight=False)
    else:
        con.print(f"{lead}{src}  {arrow} {res}  {mark}".rstrip(), highlight=False)


def _print_directive(con: Console, out: script.Outcome, lead: str, src: str, rich: bool) -> None:
    step = out.step
    if step.directive == "echo":
        con.print(lead + (f"[bold cyan]{escape(out.output)}[/]" if rich else out.output),
                  highlight=False)
        return
    con.print(lead + (f"[bold]{src}[/]" if rich else src))
    if out.kind == "exception":
        con.print(f"      {out.exception}: {out.message}", markup=False)
    elif step.directive == "ps":
        con.print(_ps(out.output, out.labels or {}, rich), highlight=False)
    elif step.directive == "tree" and out.path:
        con.print(f"      {out.message}", markup=False, highlight=False)
    elif step.directive == "tree" and step.fmt == "text" and rich:
        con.print(script.rich_drawing(out.output, out.labels))
    elif step.directive == "tree":
        con.print(script.drawing(out.output, step.fmt, labels=out.labels), markup=False,
                  highlight=False, end="")
    else:
        con.print(f"      {out.output}", markup=False)


def _ps(views: list, labels: dict[int, list[str]], rich: bool) -> Any:
    pic = render.arrange(views)
    table = Table("PID", "NUMBERS (outermost first)", "NS", "PPID", "TGID", "STATE", "NAME",
                  "BOUND TO", box=None, pad_edge=False, show_edge=False)
    for v in pic.views:
        names = ", ".join(labels.get(v.numbers[0], ())) if v.numbers else ""
        table.add_row(str(v.pid), "/".join(map(str, v.numbers)), pic.label(v), str(v.ppid),
                      str(v.tgid), render.STATE_NAMES.get(v.state, v.state), v.name,
                      escape(names) if rich else names)
    return table


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def print_summary(con: Console, played: Played) -> None:
    s = played.summary
    rich = is_rich(con)
    text = (f"{played.name} on {played.backend}: {_count(s['steps'], 'step')}, "
            f"{_count(s['expectations'], 'expectation')}, {s['met']} met, {s['failed']} failed"
            + (f", {_count(s['unexpected_errors'], 'unexpected error')}"
               if s["unexpected_errors"] else ""))
    if played.error:
        text += "; stopped by the scenario error above"
    if played.interrupted:
        text += f"; interrupted (Ctrl-C) at line {played.interrupted}"
    if rich:
        colour = "green" if not played.failures and not played.interrupted else "bold red"
        con.print(f"[{colour}]{escape(text)}[/]")
    else:
        con.print(text)


# ---------------------------------------------------------------- commands

@click.command()
@click.argument("script_path", metavar="SCRIPT")
@click.option("--backend", "backend_name", type=click.Choice(BACKENDS), default="model",
              show_default=True, help="Run on the model or on the live kernel.")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, writable=True),
              help="Write one JSON line per step (call and result) to this file.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="How to print the steps.")
@click.option("--kernel", "kernel", metavar="VERSION[+KEY=0|1,...]", default=None,
              callback=check_kernel_spec,
              help="Linux version the model stands for (6.1 ... 6.19, or with a sublevel: "
                   "6.18.13), with upstream changes switched (6.17+pidfs-persist=0); with "
                   "--backend live, the live kernel of that series (this machine's, or "
                   "Debian's 6.1 or 6.12 in pidlab's virtual machine).")
def run(script_path: str, backend_name: str, trace_path: str | None, fmt: str,
        kernel: str | None) -> None:
    """Run a scenario SCRIPT and print what every step returned.

    SCRIPT is a file in pidlab's scenario language (`pidlab help language` is its
    reference), `-` for standard input, or the name of a shipped example
    (`pidlab run nested-namespaces`).  Exits 1 when an expectation fails or a
    call fails unexpectedly, 130 when Ctrl-C stopped it (after the call that
    was running, never inside one).
    """
    version, changes = _model_kernel(kernel, backend_name)
    name, steps = load(script_path)
    con = console()
    hook = None if fmt == "json" else (lambda out, err: print_outcome(con, out, err))
    played = play(name, steps, backend_name, hook, version, changes)
    if trace_path:
        write_trace(trace_path, played.events)
    if fmt == "json":
        emit_json({"script": name, "backend": backend_name, "kernel": kernel,
                   "events": played.events, "summary": played.summary})
    else:
        print_summary(con, played)
    if played.interrupted:
        raise SystemExit(130)
    if played.failures:
        raise SystemExit(1)


def write_trace(path: str, events: list[dict]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            for ev in events:
                f.write(json.dumps(ev, sort_keys=True) + "\n")
    except OSError as e:
        raise click.ClickException(f"{path}: {e.strerror}") from None


def read_trace(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
    except OSError as e:
        raise click.ClickException(f"{path}: {e.strerror}") from None
    events = []
    for i, line in enumerate(lines, 1):
        try:
            ev = json.loads(line)
        except json.JSONDecodeError as e:
            raise click.ClickException(f"{path}:{i}: not a JSON line ({e.msg})") from None
        if not isinstance(ev, dict) or not {"step", "source", "result"} <= ev.keys():
            raise click.ClickException(f"{path}:{i}: not a pidlab trace event "
                                       "(needs step, source and result)")
        events.append(ev)
    return events


def first_difference(a: list[dict], b: list[dict]) -> int | None:
    """Index of the first step whose results differ (after relabelling), or None."""
    ca, cb = script.comparable(a), script.comparable(b)
    for i, (x, y) in enumerate(zip(ca, cb)):
        if x != y:
            return i
    if len(ca) != len(cb):
        return min(len(ca), len(cb))
    return None


@click.command()
@click.argument("script_path", metavar="[SCRIPT]", required=False)
@click.option("--trace", "traces", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Compare two recorded traces instead (give --trace twice).")
@click.option("--kernel", "kernels", multiple=True, metavar="VERSION[+KEY=0|1,...]",
              callback=check_kernel_spec,
              help="Once: the model at VERSION against the live kernel of that version.  "
                   "Twice: the model at two versions (each with changes switched, as in "
                   "6.17+pidfs-persist=0), and the change that explains the first "
                   "difference.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
def compare(script_path: str | None, traces: tuple[str, ...], kernels: tuple[str, ...],
            fmt: str) -> None:
    """Run SCRIPT on the model and on the live kernel; show the first step where they differ.

    SCRIPT is a file, `-` for standard input, or a shipped example.  With two
    --kernel options both sides are the model (`compare --kernel 6.16 --kernel
    6.17 SCRIPT`), and the upstream change behind the first difference is named.

    pidfs and namespace inode numbers differ between backends by design
    (see pidlab.differences): they are compared by equality and order only.
    Exits 1 when the two sides diverge.
    """
    con = console()
    explained: list = []
    if len(kernels) > 2:
        raise click.UsageError("give --kernel at most twice")
    if traces:
        if script_path or len(traces) != 2 or kernels:
            raise click.UsageError("give either SCRIPT or exactly two --trace files")
        a, b = (read_trace(t) for t in traces)
        names = traces
    else:
        if not script_path:
            raise click.UsageError("missing SCRIPT (or two --trace files)")
        name, steps = load(script_path)
        if len(kernels) == 2:
            (va, ca), (vb, cb) = (parse_kernel_spec(k) for k in kernels)
            a = play(name, steps, "model", version=va, changes=ca).events
            b = play(name, steps, "model", version=vb, changes=cb).events
            names = (f"model {kernels[0]}", f"model {kernels[1]}")
        else:
            v, _ = _model_kernel(kernels[0] if kernels else None, "live")
            a = play(name, steps, "model", version=v).events
            b = play(name, steps, "live", version=v).events
            names = (backend_label("model", v), backend_label("live", v))
    idx = first_difference(a, b)
    if idx is not None and len(kernels) == 2:
        explained = explain(name, steps, kernels[0], kernels[1], idx, b)
    if fmt == "json":
        first = None
        if idx is not None:
            ea = a[idx] if idx < len(a) else None
            eb = b[idx] if idx < len(b) else None
            ref = ea or eb
            first = {"step": ref["step"],
                     names[0]: ea and {"line": ea.get("line"), "source": ea["source"],
                                       "result": ea["result"]},
                     names[1]: eb and {"line": eb.get("line"), "source": eb["source"],
                                       "result": eb["result"]}}
        doc = {"sides": list(names), "steps": max(len(a), len(b)),
               "diverged": idx is not None, "first_difference": first}
        if len(kernels) == 2:
            doc["explained_by"] = [dataclasses.asdict(c) for c in explained]
        emit_json(doc)
    else:
        _print_comparison(con, a, b, idx, names)
        for c in explained:
            line = (f"explained by {c.key} ({c.version}, {c.commit} \"{c.title}\"): "
                    f"{c.effect}")
            con.print(escape(line) if is_rich(con) else line, highlight=False)
        if idx is not None and len(kernels) == 2 and not explained:
            con.print("no single change between these versions explains it on its own")
    if idx is not None:
        raise SystemExit(1)


def explain(name: str, steps: list[script.Step], older: str, newer: str, idx: int,
            target: list[dict]) -> list:
    """The changes between two kernels (VERSION[+KEY=0|1,...]) that, switched in the first
    (with what they need), make its step `idx` answer as the second does."""
    from .. import versions
    want = script.comparable(target)[idx] if idx < len(target) else None
    (vo, co), (vn, cn) = parse_kernel_spec(older), parse_kernel_spec(newer)

    def same(changes: dict[str, bool]) -> bool:
        mine = script.comparable(play(name, steps, "model", version=vo,
                                      changes=changes).events)
        return idx < len(mine) and mine[idx] == want
    # Switched changes can leave the first without one the second has, or the reverse.
    return versions.responsible(vo, vn, same, co, cn, switch_off=bool(co or cn))


def _model_kernel(spec: str | None, backend_name: str) -> tuple[str | None, dict[str, bool]]:
    """--kernel's version and switched changes; a live kernel is what it is."""
    if spec is None:
        return None, {}
    version, changes = parse_kernel_spec(spec)
    if changes and backend_name == "live":
        raise click.UsageError(f"--kernel {spec}: the live kernel's changes cannot be "
                               "switched (the model's can: --backend model, or compare "
                               "--kernel twice)")
    return version, changes


def _short(text: str, width: int = 90) -> str:
    first = text.splitlines()[0] if text else ""
    more = first != text
    if len(first) > width:
        first, more = first[:width], True
    return first + (" …" if more else "")


def _print_comparison(con: Console, a: list[dict], b: list[dict], idx: int | None,
                      names: tuple[str, str]) -> None:
    rich = is_rich(con)
    upto = len(a) if idx is None else idx
    for ev in a[:upto]:
        line = f"{ev.get('line', 0):4d}  {ev['source']}  => {_short(script.describe_event(ev))}"
        con.print(f"[dim]{escape(line)}[/]  [green]same[/]" if rich else f"{line}  same",
                  highlight=False)
    if idx is None:
        msg = f"{names[0]} and {names[1]} agree on all {len(a)} steps"
        con.print(f"[bold green]{msg}[/]" if rich else msg)
        return
    ea = a[idx] if idx < len(a) else None
    eb = b[idx] if idx < len(b) else None
    ref = ea or eb
    same_source = ea is not None and eb is not None and ea["source"] == eb["source"]
    head = f"first difference at step {ref['step']}" + (
        f" (line {ref.get('line')}): {ref['source']}" if same_source else "")

    def step_of(ev: dict | None) -> str:
        return "" if ev is None else f"line {ev.get('line')}: {ev['source']}"
    if rich:
        con.print(f"[bold red]{escape(head)}[/]")
        table = Table(names[0], names[1], show_lines=True)
        if not same_source:
            table.add_row(escape(step_of(ea)), escape(step_of(eb)))
        table.add_row(escape(script.describe_event(ea)), escape(script.describe_event(eb)))
        con.print(table)
    else:
        con.print(head)
        for name, ev in ((names[0], ea), (names[1], eb)):
            where = "" if same_source or ev is None else f"{step_of(ev)}  => "
            con.print(f"  {name}: {where}{script.describe_event(ev)}")
