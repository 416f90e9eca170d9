"""The verdict tables of CONCURRENCY.md, regenerated from `pidlab explore`.

    .venv/bin/python tools/litmus_catalogue.py                 # every litmus test
    .venv/bin/python tools/litmus_catalogue.py --only two-waiters --jobs 2
    .venv/bin/python tools/litmus_catalogue.py --from-json DIR # re-render saved runs

For each litmus test of src/pidlab/examples/litmus/ (examples/litmus/ is the same
directory) it runs `pidlab explore FILE --kernel V ... --format json` once, at every
version of pidlab.KERNEL_VERSIONS and at the variants VARIANTS names (an exact
release before a backport, a change switched off), and rewrites the block between
`<!-- litmus NAME begin -->` and `<!-- litmus NAME end -->` in CONCURRENCY.md: one
row per kernel (each condition's verdict with herd7's counts, the schedules, whether
the search was exhaustive, the time), the kernel functions and locks the witnesses
step through, and each witness's token with the command that replays it.  The prose
around the blocks is not touched.  The JSON of every run is kept in --json-dir, so
that the tables can be rendered again without exploring (--from-json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LITMUS = os.path.join(ROOT, "src", "pidlab", "examples", "litmus")
DOC = os.path.join(ROOT, "CONCURRENCY.md")

# Beyond the released series: the exact releases before a backport and the changes
# whose switch is the point of the scenario.  The first entry is the scenario's focus:
# its witnesses are listed (with 6.18's).
VARIANTS: dict[str, list[str]] = {
    "exit-info-race": ["6.16.0", "6.16.3", "6.17+pidfs-persist=0,pidfs-xattr=0",
                       "6.18+pidfs-persist=0,pidfs-xattr=0"],
    "pidfd-open-enoent": ["6.16+pidfd-open-locked=0", "6.18+pidfd-open-locked=0"],
    "free-pid-window": ["6.15+free-pid-unlocked=0", "6.14+free-pid-unlocked=1",
                        "6.18+pidfd-open-errnos=0,pidfd-open-locked=0"],
    "peerpidfd-vs-exit": ["6.16+peerpidfd-reaped=0"],
}
FOCUS = {"free-pid-window": "6.15", "kill-all-sigchld-ign": "6.18"}


def versions() -> list[str]:
    import pidlab
    return list(pidlab.KERNEL_VERSIONS)


def litmus_files(only: list[str] | None) -> list[str]:
    names = sorted(f[:-len(".pidlab")] for f in os.listdir(LITMUS) if f.endswith(".pidlab"))
    if only:
        missing = [n for n in only if n not in names]
        if missing:
            sys.exit(f"no litmus test {', '.join(missing)} (have: {', '.join(names)})")
        names = [n for n in names if n in only]
    return names


DEEP = ["--max-preemptions", "12", "--max-schedules", "20000"]


def focus(name: str) -> list[str]:
    """The kernels whose witnesses are listed and that get the deep search."""
    first = FOCUS.get(name) or (VARIANTS.get(name) or ["6.18"])[0]
    return list(dict.fromkeys([first, "6.18"]))


def explore(name: str, kernels: list[str], jobs: int | None, timeout: float,
            extra: list[str] = ()) -> dict:
    """One `pidlab explore` run of NAME at every kernel, as its JSON, with its wall time."""
    argv = [sys.executable, "-m", "pidlab", "explore", f"examples/litmus/{name}.pidlab",
            "--format", "json", *extra]
    for k in kernels:
        argv += ["--kernel", k]
    if jobs:
        argv += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode not in (0, 1):          # 1: a schedule crashed, still reported
        sys.exit(f"pidlab explore {name} failed ({proc.returncode}):\n{proc.stderr}")
    data = json.loads(proc.stdout)
    data["wall"] = time.monotonic() - t0
    data["argv"] = ["pidlab", *argv[3:]]
    return data


def default_schedule(name: str, kernel: str) -> list[dict]:
    """The steps of the schedule that takes no preemption (`pidlab replay FILE V:-`)."""
    proc = subprocess.run([sys.executable, "-m", "pidlab", "replay",
                           f"examples/litmus/{name}.pidlab", f"{kernel}:-", "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, 1):
        sys.exit(f"pidlab replay {name} {kernel}:- failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)["steps"]


def letter(description: str) -> str:
    m = re.match(r"\((\w)\)", description)
    return m.group(1) if m else "?"


def _verdict(c: dict) -> str:
    return f"{c['verdict']} {c['positive']}/{c['negative']}"


def _table(reports: list[dict], conds: list[str]) -> list[str]:
    out = ["| kernel | " + " | ".join(f"`{c}`" for c in conds) +
           " | schedules | exhaustive | time (s) |",
           "|---|" + "---|" * len(conds) + "---|---|---|"]
    for r in reports:
        s = r["statistics"]
        cells = [_verdict(c) for c in r["conditions"]]
        exh = "yes" if s["exhaustive"] else ("no (bounded)" if s["complete"] else "no (capped)")
        out.append(f"| {r['kernel']} | " + " | ".join(cells) +
                   f" | {s['schedules']:,} | {exh} | {s['elapsed']:.2f} |")
    return out


def render(name: str, data: dict, deep: dict | None) -> str:
    reports = data["reports"]
    conds = [c["name"] for c in reports[0]["conditions"]]
    out = [f"Generated by `tools/litmus_catalogue.py` (`{' '.join(data['argv'][:3])} "
           f"--kernel ... --format json`, default bound: {reports[0]['max_preemptions']} "
           "preemptions, depth-first search with sleep sets). A cell is the verdict and "
           "herd7's counts: schedules that satisfy the condition / that do not.", "",
           *_table(reports, conds)]
    if deep is not None:
        out += ["", f"The same search without the default bound (`{' '.join(DEEP)}`): "
                "exhaustive where it finishes, so its verdicts are exact.", "",
                *_table(deep["reports"], conds)]
    crashed = sorted({t for r in reports for t in r["crashed"]})
    if crashed:
        out += ["", "**Crashed schedules** (model bugs):", ""] + [f"* `{t}`" for t in crashed]
    # The kernel functions and locks the witnesses step through, in order of appearance.
    funcs: list[str] = []
    locks: list[str] = []
    runs = [w["steps"] for r in reports for c in r["conditions"] if (w := c["witness"])]
    for steps in runs or [default_schedule(name, focus(name)[0])]:
        for st in steps:
            f = re.sub(r"\(\d+\)$", "", st["function"])
            if f not in ("start", "user") and f not in funcs:
                funcs.append(f)
            for lk in [*st["locks"], *st["locks_within"]]:
                lk = re.sub(r"\((pid|task) \d+\)", "", lk)
                if not lk.startswith("cpu") and lk not in locks:
                    locks.append(lk)
    where = "the witnesses step through" if runs else \
        f"the schedule without preemptions steps through at {focus(name)[0]}"
    out += ["", f"Kernel functions {where}: " +
            (", ".join(f"`{f}`" for f in funcs) or "none") + ".",
            "Locks taken on the way: " + (", ".join(f"`{lk}`" for lk in locks) or "none") + "."]
    shown = [r for r in reports if r["kernel"] in focus(name)]
    out += ["", "Witnesses (the schedule with the fewest preemptions that satisfies an "
            "`exists` or breaks a `forall`):", ""]
    for r in shown:
        for c in r["conditions"]:
            w = c["witness"]
            if w is None:
                continue
            out.append(f"* {r['kernel']}, `{c['name']}` ({w['preemptions']} preemption"
                       f"{'' if w['preemptions'] == 1 else 's'}): {w['outcome_text']}  ")
            out.append(f"  `{w['replay']}`")
    if not any(c["witness"] for r in shown for c in r["conditions"]):
        out.append("* none: no condition has a witness at " + " or ".join(
            r["kernel"] for r in shown))
    total = sum(r["statistics"]["schedules"] for r in reports)
    out += ["", f"{total:,} schedules at {len(reports)} kernels in {data['wall']:.0f} s of "
            "wall time (the bounded search)."]
    return "\n".join(out)


def splice(doc: str, name: str, block: str) -> str:
    begin, end = f"<!-- litmus {name} begin -->", f"<!-- litmus {name} end -->"
    pat = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if not pat.search(doc):
        sys.exit(f"CONCURRENCY.md has no block {begin} ... {end}")
    return pat.sub(lambda m: f"{begin}\n{block}\n{end}", doc)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", action="append", help="this litmus test only (repeatable)")
    ap.add_argument("--jobs", type=int, help="pidlab explore --jobs N")
    ap.add_argument("--json-dir", default=os.path.join(tempfile.gettempdir(), "pidlab-litmus"),
                    help="where each run's JSON is kept (default: $TMPDIR/pidlab-litmus)")
    ap.add_argument("--from-json", action="store_true",
                    help="render the JSON kept in --json-dir, explore nothing")
    ap.add_argument("--no-write", action="store_true",
                    help="explore and keep the JSON, leave CONCURRENCY.md alone")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per litmus test")
    args = ap.parse_args(argv)
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    os.makedirs(args.json_dir, exist_ok=True)
    for name in litmus_files(args.only):
        path = os.path.join(args.json_dir, f"{name}.json")
        if args.from_json:
            with open(path, encoding="utf-8") as f:
                data, deep = json.load(f)
        else:
            data = explore(name, versions() + VARIANTS.get(name, []), args.jobs, args.timeout)
            deep = explore(name, focus(name), args.jobs, args.timeout, DEEP)
            with open(path, "w", encoding="utf-8") as f:
                json.dump([data, deep], f)
            print(f"{name}: {len(data['reports'])} kernels in {data['wall']:.0f} s, the deep "
                  f"search in {deep['wall']:.0f} s", file=sys.stderr)
        if args.no_write:
            continue
        doc = splice(doc, name, render(name, data, deep))
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(doc)


if __name__ == "__main__":
    main()
