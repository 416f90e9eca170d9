"""pidlab stress: a concurrent scenario's threads on a live kernel, held to the model.

The same SCRIPT as `pidlab explore` (setup, `par { ... | ... }`, `after { }`,
conditions), compiled by pidlab.script, run by pidlab.stress `--runs` times on the
running kernel or a guest's (`--kernel 6.12`), the threads released together.
Prints what klitmus7 prints -- the histogram of the outcomes seen and each
condition's observation over the runs -- and then the check against
pidlab.explore at the kernel's own version: an outcome the model forbids is a
model bug (exit status 1); outcomes the model allows that no run produced are
listed as information.
"""

from __future__ import annotations

import json
from typing import Any

import click

from .. import script
from ..stress import LOST, relabel_setup
from .explore import ExploreError, _validation, load_litmus

FORMATS = ("text", "json")


def run_stress(name: str, lit: script.Litmus, kernel: str | None, runs: int,
               max_preemptions: int | None) -> dict:
    """The runs and the check, as a dict (the JSON output; the text is drawn from it)."""
    import pidlab
    prog = lit.compile()
    try:
        x = pidlab.stress(prog.setup, prog.threads, runs=runs, kernel=kernel, final=prog.final)
    except script.ScriptError as e:
        raise ExploreError(str(e)) from None
    except pidlab.BackendUnavailable as e:
        raise click.ClickException(f"--kernel {kernel or 'host'}: {e}") from None
    try:
        check = x.check(max_preemptions=max_preemptions)
        # The outcomes' machine-specific numbers (pidfs inodes, devices, namespace inodes)
        # are labels (pidlab.stress.Relabel): a condition comparing one with a setup name
        # reads the setup's names labelled the same way.
        key = (x.version, ())
        prog._setup_values[key] = relabel_setup(prog.setup_values(x.version))
        # A run with a LOST entry (a call whose answer never came back) says nothing about
        # a condition that may read that thread's names: the observations leave it out.
        known = {o: n for o, n in x.outcomes.items() if not any(e is LOST for e in o)}
        lost = x.runs - sum(known.values())
        conds = []
        for c in prog.conditions:
            pred = prog.predicate(c, x.version)
            yes = sum(n for o, n in known.items() if pred(o))
            no = x.runs - lost - yes
            verdict = "Never" if yes == 0 else "Always" if no == 0 else "Sometimes"
            conds.append({"name": c.name, "kind": c.kind, "expr": c.source, "line": c.line,
                          "verdict": verdict, "positive": yes, "negative": no,
                          "observation": f"Observation {c.name} {verdict} {yes} {no}",
                          "ok": c.ok(yes, no)})
        marks = {o: o in known and any(prog.predicate(c, x.version)(o)
                                       for c in prog.conditions if c.kind != "forall")
                 for o in x.outcomes}
    except script.ScriptError as e:
        raise ExploreError(str(e)) from None

    def outcomes(table: dict) -> list[dict]:
        return [{"count": n, "outcome": script.outcome_json(o), "text": script.outcome_text(o)}
                for o, n in sorted(table.items(), key=lambda kv: (-kv[1], repr(kv[0])))]
    seen = outcomes(x.outcomes)
    for entry, (o, _) in zip(seen, sorted(x.outcomes.items(),
                                          key=lambda kv: (-kv[1], repr(kv[0])))):
        entry["marked"] = marks[o]
    return {"script": name, "description": lit.description, "kernel": x.kernel,
            "version": x.version, "release": x.release, "runs": x.runs,
            "elapsed": round(x.elapsed, 3), "per_second": round(x.per_second, 2),
            "spread_us": {k: (round(v, 1) if isinstance(v, float) else v)
                          for k, v in x.spread().items()},
            "model_changes_ignored": dict(prog.changes), "lost": lost,
            "outcomes": seen, "conditions": conds,
            "check": {"ok": check.ok, "model_version": check.model_version,
                      "max_preemptions": check.max_preemptions,
                      "exhaustive": check.exhaustive, "schedules": check.schedules,
                      "forbidden": outcomes(check.forbidden),
                      "failed": outcomes(check.failed),
                      "unseen": outcomes(check.unseen)}}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def print_report(rep: dict, out: Any) -> None:
    where = "this machine" if rep["kernel"] == "host" else f"the {rep['kernel']} guest"
    out(f"Test {rep['script']} on Linux {rep['version']} ({where}, {rep['release']}): "
        f"{_plural(rep['runs'], 'run')} in {rep['elapsed']:.1f} s "
        f"({rep['per_second']:.1f} runs/s)")
    sp = rep["spread_us"]
    if sp.get("runs"):
        out(f"First calls released together: spread median {sp['median']:.0f} µs, p90 "
            f"{sp['p90']:.0f} µs, max {sp['max']:.0f} µs over {_plural(sp['runs'], 'run')}; "
            f"{sp['late']} late")
    if rep["model_changes_ignored"]:
        out("note: the script's changes line switches changes of the model only; the check "
            f"uses Linux {rep['version']} as it is")
    out("")
    out(f"Histogram ({_plural(len(rep['outcomes']), 'state')})")
    cw = max((len(str(o["count"])) for o in rep["outcomes"]), default=1)
    for o in rep["outcomes"]:
        out(f"{o['count']:<{cw}} {'*>' if o['marked'] else ':>'} {o['text']}")
    out("(*> : an exists condition holds of the outcome)")
    out("")
    width = max((len(c["name"]) for c in rep["conditions"]), default=0)
    for c in rep["conditions"]:
        out(f"Condition {c['name']:<{width}}  {c['kind']} {c['expr']}   (line {c['line']})")
        out(f"{c['observation']}   {'Ok' if c['ok'] else 'No'}: {_validation(c, 'run')}")
    if rep["conditions"] and rep["lost"]:
        out(f"({_plural(rep['lost'], 'run')} with a LOST entry, a call whose task died "
            "before it answered, left out of the observations)")
    if rep["conditions"]:
        out("")
    ch = rep["check"]
    bound = (f"every schedule: none needed {ch['max_preemptions']} preemptions"
             if ch["exhaustive"] else f"schedules with at most {ch['max_preemptions']} "
             "preemptions, not every one")
    out(f"Check against pidlab.explore at {ch['model_version']} ({ch['schedules']} schedules, "
        f"{bound})")
    if ch["forbidden"]:
        n = sum(o["count"] for o in ch["forbidden"])
        out(f"MODEL BUG: Linux {rep['version']} gave "
            f"{_plural(len(ch['forbidden']), 'outcome')} the model forbids, in "
            f"{_plural(n, 'run')}:")
        for o in ch["forbidden"]:
            out(f"  {o['count']} × {o['text']}")
        if not ch["exhaustive"]:
            out(f"  (or a schedule with more than {ch['max_preemptions']} preemptions allows "
                "it: run again with a larger --max-preemptions)")
    if ch["failed"]:
        out("Runs that failed (a crashed entry: the stress itself, not a verdict):")
        for o in ch["failed"]:
            out(f"  {o['count']} × {o['text']}")
    if ch["ok"]:
        out("Every outcome seen is one the model allows.")
    if ch["unseen"]:
        out("Allowed by the model, never seen in these runs (information):")
        for o in ch["unseen"]:
            out(f"  {o['text']}   ({_plural(o['count'], 'schedule')})")


@click.command()
@click.argument("script_path", metavar="SCRIPT")
@click.option("--kernel", default=None, metavar="SERIES",
              help="The live kernel: this machine's (default), or a guest's series "
                   "(6.1, 6.12), booted in a virtual machine.")
@click.option("--runs", type=click.IntRange(1, None), default=1000, show_default=True,
              help="How many times the threads are run, each from a fresh sandbox.")
@click.option("--max-preemptions", type=click.IntRange(0, None), default=None,
              help="The bound of the model's exploration (default: grown from 2 until no "
                   "schedule needs as many preemptions as allowed, or for at most 20 s).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
def stress(script_path: str, kernel: str | None, runs: int, max_preemptions: int | None,
           fmt: str) -> None:
    """A concurrent scenario's threads on a live kernel, really at the same time.

    SCRIPT is a litmus test as `pidlab explore` takes it (or a shipped one's name).
    Each run starts from a fresh sandbox, runs the setup lines, then the par
    block's threads, their first calls released together, then the after block.
    Prints the histogram of the outcomes seen, each condition's observation over
    the runs (herd7's `Observation NAME Never|Sometimes|Always P N`), and the
    check: every outcome seen must be one pidlab.explore allows at the kernel's
    version.

    Exits 0 when it is, 1 when the kernel gave an outcome the model forbids (a
    model bug) or a run failed, 2 for a bad script or option.
    """
    name, lit = load_litmus(script_path)
    if kernel is not None:
        from ..live import images
        from ..live.kernel import running_series
        known = ("host", running_series(), *images.SERIES)
        if kernel not in known:
            raise ExploreError(f"--kernel {kernel}: no live kernel {kernel!r} (this machine "
                               f"runs {running_series()}; guests: {', '.join(images.SERIES)})")
    rep = run_stress(name, lit, kernel, runs, max_preemptions)
    if fmt == "json":
        click.echo(json.dumps(rep, indent=2, default=str))
    else:
        lines: list[str] = []
        print_report(rep, lines.append)
        click.echo("\n".join(lines))
    if not rep["check"]["ok"]:
        raise SystemExit(1)
