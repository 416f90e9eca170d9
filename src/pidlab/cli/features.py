"""pidlab features and pidlab detect: which kernel does what, and which one this is."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from .. import features as F
from .. import versions
from .common import console, emit_json, is_rich


def _kernels(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values or versions.KERNEL_VERSIONS:
        for x in (versions.KERNEL_VERSIONS if v == "all" else (v,)):
            try:
                versions.parse(x)
            except ValueError as e:
                raise click.BadParameter(str(e), param_hint="--kernel") from None
            if x not in out:
                out.append(x)
    return out


def _project(spans: list[F.Span], ks: list[str]) -> list[F.Span]:
    """Spans over every version, cut to the versions `ks` (their changes kept)."""
    order = list(versions.KERNEL_VERSIONS)
    out: list[F.Span] = []
    for v in ks:
        i = order.index(v)
        sp = next(x for x in spans if order.index(x.first) <= i <= order.index(x.last))
        if out and out[-1].answer == sp.answer:
            out[-1].last = v
            continue
        since = order.index(out[-1].last) if out else -1
        changes = [c for x in spans if since < order.index(x.first) <= i for c in x.changes]
        out.append(F.Span(v, v, sp.answer, changes if out else []))
    return out


def _change(c: versions.Change) -> dict:
    return {"key": c.key, "version": c.version, "commit": c.commit, "title": c.title,
            "backports": [f"{s}.{n}" for s, n in c.backports]}


def _why(spans: list[F.Span], i: int) -> str:
    cs = spans[i].changes
    if not cs:
        return "" if i == 0 else "(no single change explains it)"
    return "; ".join(f"{c.key} {c.commit}" + (
        f" (backported to {', '.join(f'{s}.{n}' for s, n in c.backports)})" if c.backports else "")
        for c in cs)


@click.command()
@click.option("--kernel", "kernels", multiple=True, metavar="VERSION",
              help="Only these versions (repeatable; 6.1 ... 6.19, or with a sublevel such "
                   "as 6.18.13); all of them by default.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
@click.option("--probe", "probes", multiple=True, metavar="KEY",
              help="Only these behaviours (repeatable; see the first column).")
def features(kernels: tuple[str, ...], fmt: str, probes: tuple[str, ...]) -> None:
    """Every behaviour against every kernel version: what each returns, and the change.

    Each behaviour is a probe run on the model at every version (the model's own
    change table, pidlab.changes(), decides); where the answer changes, the
    upstream change responsible is the one that, switched on in the older
    version, gives the newer answer.
    """
    ks = _kernels(kernels)
    try:
        chosen = [F.by_key(p) for p in probes] if probes else list(F.PROBES)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--probe") from None
    if all(k in versions.KERNEL_VERSIONS for k in ks):
        # Spans over every version, so that each change is named where it happened; the
        # versions asked for are read off them.
        full = F.features(chosen, versions.KERNEL_VERSIONS)
        table = [(p, _project(spans, ks)) for p, spans in full]
    else:
        table = F.features(chosen, ks)
    if fmt == "json":
        emit_json({"kernels": ks, "behaviours": [
            {"key": p.key, "question": p.question, "model_only": p.model_only,
             "answers": {v: sp.answer for sp in spans
                         for v in ks[ks.index(sp.first):ks.index(sp.last) + 1]},
             "spans": [{"from": sp.first, "to": sp.last, "answer": sp.answer,
                        "changed_by": [_change(c) for c in sp.changes]} for sp in spans]}
            for p, spans in table]})
        return
    con = console()
    rich = is_rich(con)
    if len(ks) <= 6:
        # A matrix: behaviours down, the versions asked for across.
        t = Table("behaviour", *ks, "changed by", show_lines=False, highlight=False,
                  **({} if rich else {"box": None}))
        for p, spans in table:
            cells = {v: sp.answer for sp in spans
                     for v in ks[ks.index(sp.first):ks.index(sp.last) + 1]}
            why = "; ".join(_why(spans, i) for i in range(1, len(spans)))
            t.add_row(escape(p.key), *(escape(cells[v]) for v in ks), escape(why))
        con.print(t)
        return
    for p, spans in table:
        head = f"{p.key}: {p.question}"
        con.print(f"[bold]{escape(head)}[/]" if rich else head)
        for i, sp in enumerate(spans):
            when = sp.first if sp.first == sp.last else f"{sp.first} - {sp.last}"
            why = _why(spans, i)
            line = f"  {when:<14} {sp.answer:<40} {why}"
            con.print(escape(line) if rich else line, highlight=False)


@click.command()
@click.option("--kernel", "kernel", metavar="VERSION", default=None,
              help="Probe Debian's 6.1 or 6.12 kernel in pidlab's virtual machine instead of "
                   "this machine's.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True)
def detect(kernel: str | None, fmt: str) -> None:
    """Probe a live kernel and say which version's behaviour it matches, probe by probe.

    `uname -r` cannot be trusted: stable backports and distribution patches change
    what a kernel does.  Every probe runs in a fresh sandbox of the live kernel
    and on the model at every version (and at the sublevel before each recorded
    backport); a probe that answers unlike the kernel's own version is flagged.
    """
    import pidlab
    from ..live.kernel import running_series

    def open_kernel():  # noqa: ANN202
        if kernel is None or ".".join(kernel.split(".")[:2]) == running_series():
            return pidlab.LiveKernel()
        return pidlab.LiveKernel(kernel=".".join(kernel.split(".")[:2]))
    try:
        version, verdicts = F.detect(open_kernel)
    except pidlab.BackendUnavailable as e:
        raise click.ClickException(f"the live backend is not available here: {e}") from None
    summary = F.summarize(version, verdicts)
    if fmt == "json":
        emit_json({"version": version, "fits": summary["fits"],
                   "probes": [{"key": d.probe.key, "question": d.probe.question,
                               "live": d.live, "model_at_own_version": d.expected,
                               "matching_versions": d.matching,
                               "agrees": d.expected is None or d.live == d.expected}
                              for d in verdicts]})
        return
    con = console()
    rich = is_rich(con)
    t = Table("probe", "this kernel", f"model {version}", "versions that answer the same",
              show_lines=False, highlight=False, **({} if rich else {"box": None}))
    esc = escape if rich else str       # a plain console prints markup as it is
    for d in verdicts:
        same = d.expected is None or d.live == d.expected
        mark = "" if same else (" [bold red]≠[/]" if rich else " !=")
        t.add_row(esc(d.probe.key), esc(str(d.live)) + mark, esc(str(d.expected or "?")),
                  esc(_ranges(d.matching)))
    con.print(t)
    fits = summary["fits"]
    line = (f"Linux {version}: every answer fits {_ranges(fits)}" if fits else
            f"Linux {version}: no single version of the model answers every probe as this "
            "kernel does")
    con.print(f"[bold]{escape(line)}[/]" if rich else line)
    for d in summary["mismatches"]:
        newer = [v for v in d.matching if versions.parse(v) > versions.parse(version)]
        kind = ("a backport or a distribution patch (it answers like "
                f"{_ranges(newer)})" if newer else
                "a distribution patch, or something the model gets wrong")
        msg = f"  {d.probe.key}: {d.live!r}, where {version} would say {d.expected!r}: {kind}"
        con.print(escape(msg) if rich else msg, highlight=False)


def _ranges(vs: list[str]) -> str:
    """The versions among detect's candidates, read as a person would: a series is named
    whole when every sublevel of it is in ("6.16"), else by its part ("6.18.0-6.18.13",
    "6.18.14+"); whole series in a row become a range ("6.9-6.19")."""
    if not vs:
        return "none"
    chosen = set(vs)
    parts: list[tuple[str, str]] = []          # (label, "whole" | "part")
    for series in versions.KERNEL_VERSIONS:
        subs = sorted((int(c.split(".")[2]) for c in F._candidates()
                       if c.count(".") == 2 and c.startswith(series + ".")))
        early = [f"{series}.{n}" for n in subs]
        have_latest = series in chosen
        have_early = [e for e in early if e in chosen]
        if not have_latest and not have_early:
            continue
        if have_latest and len(have_early) == len(early):
            parts.append((series, "whole"))
        elif have_latest:
            first = subs[-1] + 1 if not have_early else None
            parts.append((f"{series}.{first}+" if first is not None else series, "part"))
        else:
            parts.append((f"{series}.0-{have_early[-1]}", "part"))
    out: list[str] = []
    run: list[str] = []
    for label, kind in parts + [("", "end")]:
        prev_series = run[-1] if run else None
        consecutive = prev_series is not None and kind == "whole" and \
            versions.KERNEL_VERSIONS.index(label) == versions.KERNEL_VERSIONS.index(prev_series) + 1
        if kind == "whole" and (not run or consecutive):
            run.append(label)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run = []
        if kind == "whole":
            run.append(label)
        elif kind == "part":
            out.append(label)
    return ", ".join(out)
