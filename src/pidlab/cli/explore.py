"""pidlab explore and pidlab replay: a concurrent scenario's schedules, on the model.

A concurrent scenario (a litmus test: setup lines, `par { ... | ... }`, an optional
`after { }`, exists/~exists/forall conditions; `pidlab help language`) is compiled by
pidlab.script into the setup, threads and final pidlab.explore takes.  `explore`
prints each condition's verdict as herd7 does (`Observation NAME Sometimes P N`),
the search's statistics, the outcomes, and a witness for each condition that has one:
its token, its steps (thread, kernel function, locks held, fields changed) and the
command that replays it.  `replay` runs one schedule again.  --format svg draws the
schedule as a sequence diagram (pidlab/seqdiagram.py).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import shlex
import sys
from importlib import resources
from typing import Any, Sequence

import click

from .. import cluster, script, seqdiagram
from .common import examples, parse_kernel_spec

FORMATS = ("text", "json", "svg")


class ExploreError(click.ClickException):
    """A bad script, token or version: one line, exit status 2."""

    exit_code = 2


# ---------------------------------------------------------------- input

def litmus_examples() -> dict[str, str]:
    """The litmus tests shipped with pidlab: name -> path."""
    base = resources.files("pidlab") / "examples" / "litmus"
    try:
        entries = sorted(base.iterdir(), key=str)
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return {p.name.removesuffix(".pidlab"): str(p) for p in entries
            if p.name.endswith(".pidlab")}


def _resolve(path: str) -> str:
    if os.path.exists(path):
        return path
    name = os.path.basename(path).removesuffix(".pidlab")
    for table in (litmus_examples(), examples()):
        if name in table and os.sep not in path.rstrip(os.sep).removeprefix(
                "examples" + os.sep).removeprefix("litmus" + os.sep):
            return table[name]
    raise ExploreError(f"{path}: no such file (litmus tests: "
                       f"{', '.join(litmus_examples()) or 'none'})")


def load_litmus(path: str) -> tuple[str, script.Litmus]:
    """A concurrent scenario from a file, a shipped litmus test's name, or `-` (stdin)."""
    if path == "-":
        name, text = "<stdin>", sys.stdin.read()
    else:
        name, real = path, _resolve(path)
        try:
            with open(real, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ExploreError(f"{path}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise ExploreError(f"{path}: not a UTF-8 text file (byte {e.start})") from None
    if not any(script.concurrent_line(script._strip_comment(ln).strip()) in ("par", "inline")
               for ln in text.splitlines()):
        raise ExploreError(f"{name}: no par block, so nothing to interleave (`pidlab run "
                           f"{name}` plays a sequential scenario)")
    try:
        lit = script.parse_litmus(text, name)
    except script.ScriptError as e:
        raise ExploreError("\n".join(str(x) for x in e.errors)) from None
    return name, lit


def parse_kernel(spec: str, what: str = "--kernel") -> tuple[str, dict[str, bool]]:
    """VERSION[+KEY=0|1,...] (common.parse_kernel_spec), as a schedule token writes it."""
    try:
        return parse_kernel_spec(spec)
    except ValueError as e:
        raise ExploreError(f"{what} {spec}: {e}") from None


def kernel_label(version: str, changes: dict[str, bool] | None) -> str:
    if not changes:
        return version
    return version + "+" + ",".join(f"{k}={int(v)}" for k, v in sorted(changes.items()))


# ---------------------------------------------------------------- schedules

_LOCK_CALL = re.compile(r"\b(?:spin_lock(?:_irq(?:save)?)?|(?:read|write)_lock(?:_irq)?)"
                        r"\(&?([\w>.\-]+)\)")


def locks_within(label: str, held: Sequence[str]) -> list[str]:
    """The locks a step takes and drops before its end, from its label: a step starts at
    the point where its thread takes a lock (`spin_lock(&pidmap_lock)`), and a lock it
    took there but no longer holds at its end is not among Step.locks (held before or
    after the step)."""
    names = [m.group(1) for m in _LOCK_CALL.finditer(label)]
    if "lock_task_sighand" in label or "under siglock" in label:
        names.append("sighand->siglock")
    families = {lk.split("(", 1)[0] for lk in held}
    out = []
    for name in names:
        name = name.removeprefix("current->")
        if name not in families and name not in out:
            out.append(name)
    return out


def _columns(prog: script.Program, steps: Sequence[Any], version: str | None,
             changes: dict[str, bool] | None) -> tuple[list[dict], list[dict]]:
    """The threads of a schedule (the par block's, then the tasks woken meanwhile) and the
    columns a diagram draws them in: one per task, so that a task's own kernel work (its
    exit once a signal woke it) runs down the lifeline of the thread acting as it."""
    n = len(prog.threads)
    names: dict[int, str] = {i: t.__name__ for i, t in enumerate(prog.threads)}
    for s in steps:
        names.setdefault(s.thread, s.name)
    by_task: dict[str, int] = {}
    columns: list[dict] = []
    for i, numbers in enumerate(prog.thread_tasks(version, changes)):
        key = "task " + "/".join(map(str, numbers)) if numbers else f"P{i}"
        if key in by_task:
            key = f"P{i}"               # two threads acting as one task: a column each
        by_task[key] = len(columns)
        columns.append({"name": names[i], "kind": "thread", "threads": [i],
                        "lines": [ln.source for ln in prog.threads[i].lines],
                        "task": key if key.startswith("task") else None})
    threads = []
    for i in sorted(names):
        if i >= n:
            col = by_task.get(names[i])
            if col is None:
                col = by_task[names[i]] = len(columns)
                columns.append({"name": names[i], "kind": "task", "threads": [],
                                "lines": [], "task": names[i]})
            columns[col]["threads"].append(i)
        else:
            col = i
        threads.append({"index": i, "name": names[i], "kind": "thread" if i < n else "task",
                        "column": col})
    return threads, columns


def schedule(prog: script.Program, token: str, cond: script.Condition | None = None,
             version: str | None = None, changes: dict[str, bool] | None = None) -> dict:
    """One schedule, as the text, JSON and SVG show it: its outcome, and every step with
    the thread, the kernel function, the locks held, the fields changed, the script lines
    whose calls began there and the names bound there; `breaks` is the step where `cond`
    is decided (the last step that bound a name it reads; None: the after block)."""
    import pidlab
    try:
        outcome = pidlab.replay(prog.setup, prog.threads, token, final=prog.final)
        steps = pidlab.trace(prog.setup, prog.threads, token, final=prog.final)
    except ValueError as e:
        raise ExploreError(f"token {token}: {e}") from None
    last = prog.setup.last
    log = last.log if last is not None else []
    sources = {ln.line: ln.source for t in prog.threads for ln in t.lines}
    events: dict[int, list[dict]] = {}
    for kind, thread, line, step, names, text in log:
        events.setdefault(step, []).append({"event": kind, "thread": thread, "line": line,
                                            "source": sources.get(line, ""),
                                            "names": list(names), "text": text})
    reads = cond.names if cond is not None else frozenset()
    block_names = [set(t.names) for t in prog.threads]
    breaks = None
    out_steps = []
    threads, columns = _columns(prog, steps, version, changes)
    for i, s in enumerate(steps):
        evs = events.get(i, [])
        # Where the condition is decided: a name it reads is bound, or its block stops
        # (every name it has not bound yet stays unbound).
        if any(reads.intersection(e["names"]) if e["event"] == "bind" else
               e["event"] == "stop" and reads & block_names[e["thread"]] for e in evs):
            breaks = i
        out_steps.append({
            "n": i + 1, "thread": s.thread, "name": s.name, "label": s.label,
            "function": s.label.split(":", 1)[0].strip() if ":" in s.label else s.label,
            "locks": list(s.locks), "locks_within": locks_within(s.label, s.locks),
            "preemption": bool(s.preemption),
            "changed": list(s.changed), "events": evs})
    after_names = set(prog.final.names) if prog.final is not None else set()
    holds = {}
    for c in prog.conditions:
        holds[c.name] = prog.holds(c, outcome, version, changes)
    after = outcome[-1] if prog.final is not None else None
    return {"token": token, "outcome": script.outcome_json(outcome),
            "outcome_text": script.outcome_text(outcome),
            "threads": threads, "columns": columns, "steps": out_steps,
            "preemptions": sum(1 for s in steps if s.preemption),
            "breaks": None if breaks is None else breaks + 1,
            "breaks_after": cond is not None and breaks is None,
            "after_read": bool(reads & after_names),
            "after": None if after is None else {
                "lines": [ln.source for ln in prog.final.lines],   # type: ignore[union-attr]
                "bindings": str(after)},
            "conditions": holds}


# ---------------------------------------------------------------- one exploration

def explore_one(prog: script.Program, version: str, changes: dict[str, bool] | None,
                options: dict) -> Any:
    import pidlab
    kwargs: dict[str, Any] = dict(version=version, changes=changes or None,
                                  max_preemptions=options["max_preemptions"],
                                  strategy=options["strategy"], runs=options["runs"],
                                  seed=options["seed"], final=prog.final)
    if options.get("depth") is not None:
        kwargs["depth"] = options["depth"]
    if options.get("max_schedules") is not None:
        kwargs["max_schedules"] = options["max_schedules"]
    if options.get("executor") is not None:     # --scheduler: shards on a Dask cluster
        kwargs["executor"] = options["executor"]
        kwargs["jobs"] = options.get("jobs") or options["workers"]
    elif options.get("jobs") is not None:
        if "jobs" not in inspect.signature(pidlab.explore).parameters:
            raise ExploreError("--jobs: this pidlab's explore cannot shard yet (no jobs "
                               "parameter)")
        kwargs["jobs"] = options["jobs"]
    try:
        return pidlab.explore(prog.setup, prog.threads, **kwargs)
    except script.ScriptError as e:
        raise ExploreError(str(e)) from None
    except ValueError as e:
        raise ExploreError(f"--kernel {kernel_label(version, changes)}: {e}") from None


def report(name: str, lit: script.Litmus, prog: script.Program, spec: str,
           options: dict, witnesses: bool = True) -> dict:
    """One version's exploration: verdicts, statistics, outcomes, witnesses (a dict, the
    JSON output; the text and the SVG are drawn from it)."""
    import pidlab
    version, cli_changes = parse_kernel(spec)
    changes = {**prog.changes, **cli_changes} or None
    x = explore_one(prog, version, changes, options)
    label = kernel_label(version, changes)
    conds = []
    for c in prog.conditions:
        pred = prog.predicate(c, version, changes)
        yes, no = x.count(pred)
        entry: dict[str, Any] = {
            "name": c.name, "kind": c.kind, "expr": c.source, "line": c.line,
            "verdict": x.verdict(pred), "positive": yes, "negative": no,
            "observation": x.observation(c.name, pred), "ok": c.ok(yes, no), "witness": None}
        if witnesses:
            w = x.witness((lambda o, p=pred: not p(o)) if c.kind == "forall" else pred)
            if w is not None:
                doc = schedule(prog, w.token, c, version, changes)
                doc["replay"] = replay_command(name, w.token)
                entry["witness"] = doc
        conds.append(entry)
    crashed = [o for o in x.outcomes if any(isinstance(e, pidlab.Crashed) for e in o)]
    outcomes = sorted(x.outcomes.items(), key=lambda kv: (-kv[1], repr(kv[0])))
    return {"script": name, "description": lit.description, "kernel": label,
            "version": version, "changes": changes or {},
            "strategy": x.strategy, "max_preemptions": x.max_preemptions,
            "conditions": conds,
            "statistics": {"schedules": x.schedules, "complete": x.complete,
                           "exhaustive": bool(getattr(x, "exhaustive", False)),
                           "jobs": getattr(x, "jobs", 1),
                           "pruned": x.pruned, "states": x.states,
                           "by_preemptions": {str(k): v for k, v in
                                              sorted(x.by_preemptions.items())},
                           "elapsed": round(x.elapsed, 4),
                           "per_second": round(x.per_second, 1)},
            "outcomes": [{"count": n, "outcome": script.outcome_json(o),
                          "text": script.outcome_text(o)} for o, n in outcomes],
            "crashed": [script.outcome_text(o) for o in crashed],
            "warnings": prog.shared_tasks(version)}


def replay_command(name: str, token: str) -> str:
    return f"pidlab replay {shlex.quote('-' if name == '<stdin>' else name)} " \
           f"{shlex.quote(token)}"


# ---------------------------------------------------------------- text

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def print_report(rep: dict, out: Any) -> None:
    st = rep["statistics"]
    bound = (f"at most {_plural(rep['max_preemptions'], 'preemption')}"
             if rep["strategy"] == "dfs" else "random priorities (PCT)")
    out(f"Test {rep['script']} on Linux {rep['kernel']} ({rep['strategy']}, {bound})")
    out("")
    width = max((len(c["name"]) for c in rep["conditions"]), default=0)
    for c in rep["conditions"]:
        verdict = "Ok" if c["ok"] else "No"
        out(f"Condition {c['name']:<{width}}  {c['kind']} {c['expr']}   (line {c['line']})")
        out(f"{c['observation']}   {verdict}: {_validation(c)}")
    out("")
    complete = ("exhaustive: every schedule, none cut by the bound, so the verdicts are "
                "exact" if st.get("exhaustive") else
                "complete: every schedule within the bound (the bound cut some: verdicts "
                "hold within it)" if st["complete"] else
                "not exhaustive: random schedules" if rep["strategy"] == "pct" else
                "incomplete: stopped at --max-schedules")
    out("Statistics")
    out(f"  schedules        {st['schedules']} ({complete})")
    out(f"  pruned           {st['pruned']} (every thread asleep: states reached before)")
    out(f"  end states       {st['states']} distinct")
    per = ", ".join(f"{k}: {v}" for k, v in st["by_preemptions"].items())
    out(f"  by preemptions   {per}")
    jobs = st.get("jobs", 1)
    out(f"  time             {st['elapsed']:.3f} s, {st['per_second']:.0f} schedules/s"
        + (f" ({jobs} processes)" if jobs > 1 else ""))
    out("")
    out(f"Outcomes ({len(rep['outcomes'])})")
    cw = max((len(str(o["count"])) for o in rep["outcomes"]), default=1)
    for o in rep["outcomes"]:
        out(f"  {o['count']:>{cw}}  {o['text']}")
    for w in rep["warnings"]:
        out(f"warning: {w}")
    for c in rep["crashed"]:
        out(f"crashed (a bug of the model or of the scenario): {c}")
    for c in rep["conditions"]:
        doc = c["witness"]
        if doc is None:
            continue
        out("")
        what = ("a schedule that violates it" if c["kind"] == "forall" else
                "a schedule that satisfies it")
        out(f"Witness of {c['name']} ({c['kind']}: {what}), "
            f"{_plural(doc['preemptions'], 'preemption')}")
        print_schedule(doc, out)
        out(f"  replay: {doc['replay']}")


def _validation(c: dict, each: str = "schedule") -> str:
    """What a condition's result says, of the schedules explored (or the runs of stress)."""
    if c["kind"] == "exists":
        return f"some {each} satisfies it" if c["ok"] else f"no {each} satisfies it"
    if c["kind"] == "~exists":
        return f"no {each} satisfies it" if c["ok"] else f"some {each} satisfies it"
    return f"every {each} satisfies it" if c["ok"] else f"some {each} violates it"


def print_schedule(doc: dict, out: Any) -> None:
    out(f"  token    {doc['token']}")
    out(f"  outcome  {doc['outcome_text']}")
    names = {t["index"]: t["name"] for t in doc["threads"]}
    tw = max(len(n) for n in names.values())
    for s in doc["steps"]:
        mark = ">" if s["preemption"] else " "
        here = "  <== the property breaks here" if doc.get("breaks") == s["n"] else ""
        locks = [lk for lk in s["locks"] if not lk.startswith("cpu(")] + \
            [f"{lk} within the step" for lk in s.get("locks_within", ())]
        out(f"  {s['n']:>3} {mark} {names[s['thread']]:<{tw}}  {s['label']}"
            + (f"   [{', '.join(locks)}]" if locks else "") + here)
        pad = " " * (10 + tw)
        for e in s["events"]:
            out(pad + (f"line {e['line']}: {e['source']}" if e["event"] == "call" else
                       f"=> {e['text']}" if e["event"] == "bind" else
                       f"stopped at {e['text']}"))
        for ch in s["changed"]:
            out(f"{pad}{seqdiagram.pretty_change(ch)}")
    if doc["after"] is not None:
        out(f"  after: {doc['after']['bindings']}"
            + ("  <== the property breaks here" if doc.get("breaks_after") else ""))
    held = [f"{k}: {'true' if v else 'false'}" for k, v in doc["conditions"].items()]
    if held:
        out(f"  conditions on this outcome: {', '.join(held)}")
    out("  (> : a preemption, another thread could have gone on; [ ]: locks held)")


# ---------------------------------------------------------------- commands

def _write(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise ExploreError(f"{output}: {e.strerror}") from None


def _svg_path(output: str | None, label: str, many: bool) -> str | None:
    if output is None or not many:
        return output
    base, ext = os.path.splitext(output)
    return f"{base}-{label}{ext or '.svg'}"


@click.command()
@click.argument("script_path", metavar="SCRIPT")
@click.option("--kernel", "kernels", multiple=True, metavar="VERSION[+KEY=0|1,...]",
              help="A Linux version pidlab knows (6.1 ... 6.19, or an exact release such as "
                   "6.16.0), with upstream changes switched (6.16+pidfd-open-locked=0); "
                   "give it several times for one report per version.  Default: 6.18.")
@click.option("--max-preemptions", type=click.IntRange(0, None), default=2, show_default=True,
              help="dfs: explore every schedule with at most this many preemptions.")
@click.option("--strategy", type=click.Choice(("dfs", "pct")), default="dfs", show_default=True,
              help="dfs: exhaustive within the bound; pct: random schedules.")
@click.option("--runs", type=click.IntRange(1, None), default=1000, show_default=True,
              help="pct: how many schedules.")
@click.option("--depth", type=click.IntRange(1, None), default=None,
              help="pct: priority changes per schedule, plus one (default 3).")
@click.option("--seed", type=int, default=0, show_default=True, help="pct: the random seed.")
@click.option("--max-schedules", type=click.IntRange(1, None), default=None,
              help="dfs: stop after this many schedules (the report says it is incomplete).")
@click.option("--jobs", type=click.IntRange(1, None), default=None,
              help="Shard the search across N local processes.")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run the shards on the Dask cluster of this scheduler (tcp://HOST:8786; "
                   "needs pidlab[cluster]); --jobs defaults to its worker threads.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--witness", "witness_name", metavar="NAME", default=None,
              help="svg: draw the witness of this condition (default: the first that has one).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (svg with several --kernel: FILE-VERSION.svg each).")
def explore(script_path: str, kernels: tuple[str, ...], max_preemptions: int, strategy: str,
            runs: int, depth: int | None, seed: int, max_schedules: int | None,
            jobs: int | None, scheduler: str | None, fmt: str, witness_name: str | None,
            output: str | None) -> None:
    """Every interleaving of a concurrent scenario's threads, on the model.

    SCRIPT has setup lines, one `par { ... | ... }` block, an optional `after { }`
    block and conditions (`exists (...)`, `~exists (...)`, `forall (...)`);
    `pidlab help language` is the reference.  SCRIPT may also name a shipped
    litmus test (`pidlab explore exit-info-race`).  For each condition: herd7's
    `Observation NAME Never|Sometimes|Always P N` (P schedules satisfy it, N do
    not), then the statistics, the outcomes, and the witness of each condition
    that has one (the schedule with the fewest preemptions that satisfies an
    exists, or violates a forall) with the command that replays it.

    Exits 0 whatever the verdicts, 1 when a schedule crashed (a bug), 2 for a
    bad script, version or option.
    """
    name, lit = load_litmus(script_path)
    prog = lit.compile()
    specs = kernels or (_default_version(),)
    for spec in specs:
        parse_kernel(spec)              # every version checked before anything runs
    if witness_name is not None and witness_name not in {c.name for c in lit.conditions}:
        raise ExploreError(f"--witness {witness_name}: no such condition (conditions: "
                           f"{', '.join(c.name for c in lit.conditions) or 'none'})")
    options = {"max_preemptions": max_preemptions, "strategy": strategy, "runs": runs,
               "depth": depth, "seed": seed, "max_schedules": max_schedules, "jobs": jobs}
    try:
        with contextlib.ExitStack() as stack:
            if scheduler is not None:
                options["executor"], options["workers"] = stack.enter_context(
                    cluster.executor(scheduler))
            reports = [report(name, lit, prog, spec, options) for spec in specs]
    except script.ScriptError as e:     # a condition that cannot be read on an outcome
        raise ExploreError(str(e)) from None
    except cluster.ClusterUnavailable as e:
        raise ExploreError(str(e)) from None
    crashed = any(r["crashed"] for r in reports)
    if fmt == "json":
        text = json.dumps({"script": name, "description": lit.description,
                           "reports": reports}, indent=2, default=str) + "\n"
        _write(text, output)
    elif fmt == "svg":
        many = len(reports) > 1
        for rep in reports:
            try:
                doc, cond = _chosen_witness(prog, rep, witness_name)
            except script.ScriptError as e:
                raise ExploreError(str(e)) from None
            svg = seqdiagram.render(seqdiagram_doc(name, lit, rep, doc, cond))
            path = _svg_path(output, rep["kernel"], many)
            _write(svg, path)
            if path is not None:
                click.echo(f"wrote the sequence diagram of {rep['kernel']} to {path}", err=True)
    else:
        lines: list[str] = []
        for i, rep in enumerate(reports):
            if i:
                lines += ["", "=" * 78, ""]
            print_report(rep, lines.append)
        _write("\n".join(lines) + "\n", output)
    if crashed:
        raise SystemExit(1)


def _default_version() -> str:
    from ..versions import DEFAULT_VERSION
    return DEFAULT_VERSION


def _chosen_witness(prog: script.Program, rep: dict,
                    witness_name: str | None) -> tuple[dict, dict | None]:
    """The schedule an SVG draws: the named condition's witness, else the first condition's
    that has one, else (no condition has one) the first schedule, said so in the title."""
    for c in rep["conditions"]:
        if witness_name is not None and c["name"] != witness_name:
            continue
        if c["witness"] is not None:
            return c["witness"], c
        if witness_name is not None:
            break
    cond = next((c for c in rep["conditions"] if c["name"] == witness_name), None)
    token = kernel_label(rep["version"], rep["changes"] or None) + ":-"
    doc = schedule(prog, token, None, rep["version"], rep["changes"] or None)
    doc["replay"] = replay_command(rep["script"], token)
    doc["no_witness"] = cond or True
    return doc, None


def seqdiagram_doc(name: str, lit: script.Litmus, rep: dict | None, doc: dict,
                   cond: dict | None) -> dict:
    """What the sequence diagram needs: the schedule plus its title's facts."""
    out = dict(doc)
    out["script"] = name
    out["kernel"] = rep["kernel"] if rep is not None else doc["token"].rpartition(":")[0]
    out["setup"] = [s.source for s in lit.setup]
    out["condition"] = None if cond is None else {
        "name": cond["name"], "kind": cond["kind"], "expr": cond["expr"],
        "observation": cond["observation"]}
    if doc.get("no_witness"):
        nw = doc["no_witness"]
        out["note"] = (f"{nw['name']}: {nw['observation']}: no schedule to show for it; "
                       "drawn: the schedule without preemption" if isinstance(nw, dict) else
                       "no condition has a witness here; drawn: the schedule without "
                       "preemption")
        if rep is not None:
            out["note_conditions"] = [c["observation"] for c in rep["conditions"]]
    return out


@click.command()
@click.argument("script_path", metavar="SCRIPT")
@click.argument("token")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of standard output.")
def replay(script_path: str, token: str, fmt: str, output: str | None) -> None:
    """Run one schedule of a concurrent scenario again, from its TOKEN.

    TOKEN is what `pidlab explore` prints for a witness
    (VERSION[+CHANGES]:CHOICES, e.g. 6.16.0:0.0.0.0.1.1.1.1.1.1): the same
    token gives the same outcome, every time.  Prints the outcome, each
    condition's truth on it and every step (thread, kernel function, locks
    held, fields changed).
    """
    name, lit = load_litmus(script_path)
    prog = lit.compile()
    head, sep, _ = token.rpartition(":")
    if not sep:
        raise ExploreError(f"{token!r} is not a schedule token (VERSION[+CHANGES]:CHOICES, "
                           "as pidlab explore prints it)")
    version, changes = parse_kernel(head, "token")
    # The condition the schedule witnesses (the first that it shows or breaks), if any.
    try:
        doc = schedule(prog, token, None, version, changes or None)
        cond = next((c for c in prog.conditions if c.witnessed(doc["conditions"][c.name])),
                    None)
        if cond is not None:
            doc = schedule(prog, token, cond, version, changes or None)
    except script.ScriptError as e:
        raise ExploreError(str(e)) from None
    doc["replay"] = replay_command(name, token)
    if fmt == "json":
        _write(json.dumps({"script": name, **doc}, indent=2, default=str) + "\n", output)
        return
    if fmt == "svg":
        c = None if cond is None else {
            "name": cond.name, "kind": cond.kind, "expr": cond.source,
            "observation": f"{cond.name} {'holds' if doc['conditions'][cond.name] else 'fails'}"
                           " on this schedule"}
        _write(seqdiagram.render(seqdiagram_doc(name, lit, None, doc, c)), output)
        return
    lines: list[str] = [f"Replay of {name} on Linux {kernel_label(version, changes)}"]
    print_schedule(doc, lines.append)
    _write("\n".join(lines) + "\n", output)
