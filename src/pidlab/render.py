"""Drawing processes and pid namespaces: text, rich, Graphviz dot, SVG and JSON.

Everything here works from `k.snapshot()` (a list of `TaskView`), so both
backends draw the same picture.  Namespaces are labelled ns0, ns1, ... in the
order a walk from the top meets them, which makes the model's and the live
kernel's drawings identical although their inode numbers differ.
"""

from __future__ import annotations

import dataclasses
import html
import json
from typing import Iterable

from .api import TaskView

PALETTE = ("#3b6fb6", "#e07b00", "#2e9a4a", "#c8384a", "#1f9e9e", "#8e5bb5", "#c05f9a",
           "#8a6d3b", "#5b7083")
TINTS = ("#eaf1fb", "#fdf1e3", "#e8f5eb", "#fbe8eb", "#e4f5f5", "#f2ebf8", "#f8eaf3",
         "#f3eee4", "#edf0f3")
STATE_NAMES = {"R": "running", "S": "sleeping", "D": "disk sleep", "T": "stopped",
               "t": "traced", "Z": "zombie", "X": "dead", "I": "idle"}


@dataclasses.dataclass
class NsNode:
    label: str
    inode: int
    level: int
    parent: "NsNode | None"
    children: list["NsNode"] = dataclasses.field(default_factory=list)
    tasks: list[TaskView] = dataclasses.field(default_factory=list)

    @property
    def color(self) -> str:
        return PALETTE[self.level % len(PALETTE)]

    @property
    def tint(self) -> str:
        return TINTS[self.level % len(TINTS)]


@dataclasses.dataclass
class Picture:
    """The snapshot arranged for drawing."""

    views: list[TaskView]
    namespaces: list[NsNode]                     # in label order
    ns_of: dict[int, NsNode]                     # top-level pid -> its own namespace
    by_inode: dict[tuple[int, ...], NsNode]      # namespace chain -> node
    children: dict[int, list[TaskView]]          # top-level pid -> processes and threads under it
    roots: list[TaskView]

    def label(self, view: TaskView) -> str:
        return self.ns_of[view.pid].label

    def init_of(self, view: TaskView) -> str | None:
        """The namespace this task is the init (child reaper candidate: pid 1) of."""
        if view.numbers[-1] == 1 and not view.is_thread:
            return self.ns_of[view.pid].label
        return None


def arrange(views: Iterable[TaskView]) -> Picture:
    views = sorted(views, key=lambda v: v.pid)
    by_chain: dict[tuple[int, ...], NsNode] = {}
    order: list[NsNode] = []

    def node(chain: tuple[int, ...]) -> NsNode:
        n = by_chain.get(chain)
        if n is None:
            parent = node(chain[:-1]) if len(chain) > 1 else None
            n = NsNode("", chain[-1], len(chain) - 1, parent)
            by_chain[chain] = n
            if parent is not None:
                parent.children.append(n)
            order.append(n)
        return n

    ns_of: dict[int, NsNode] = {}
    for v in views:
        chain = v.namespaces if len(v.namespaces) == len(v.numbers) else \
            tuple(range(len(v.numbers)))
        n = node(chain)
        n.tasks.append(v)
        ns_of[v.pid] = n
    # Label by a walk from the top: parents first, siblings by their first task.
    labelled: list[NsNode] = []
    tops = [n for n in order if n.parent is None]

    def walk(n: NsNode) -> None:
        n.label = f"ns{len(labelled)}"
        labelled.append(n)
        for c in sorted(n.children, key=_first_pid):
            walk(c)
    for t in sorted(tops, key=_first_pid):
        walk(t)
    present = {v.pid for v in views}
    children: dict[int, list[TaskView]] = {v.pid: [] for v in views}
    roots: list[TaskView] = []
    for v in views:
        up = v.tgid if v.is_thread else v.ppid
        if up in present and up != v.pid:
            children[up].append(v)
        else:
            roots.append(v)
    return Picture(views, labelled, ns_of, by_chain, children, roots)


def _first_pid(n: NsNode) -> int:
    pids = [t.pid for t in n.tasks]
    for c in n.children:
        pids.append(_first_pid(c))
    return min(pids) if pids else 1 << 62


def _numbers(v: TaskView) -> str:
    return "/".join(map(str, v.numbers))


def _note(pic: Picture, v: TaskView) -> str:
    notes = []
    init = pic.init_of(v)
    if init:
        notes.append(f"init of {init}")
    if v.is_thread:
        notes.append(f"thread of {v.tgid}")
    return ", ".join(notes)


# ---------------------------------------------------------------- JSON

def to_json(views: Iterable[TaskView]) -> dict:
    pic = arrange(views)
    return {
        "namespaces": [{"id": n.label, "level": n.level, "inode": n.inode,
                        "parent": n.parent.label if n.parent else None,
                        "tasks": len(n.tasks)} for n in pic.namespaces],
        "tasks": [{"pid": v.pid, "numbers": list(v.numbers), "namespace": pic.label(v),
                   "namespaces": [pic.by_inode[v.namespaces[:i + 1]].label
                                  for i in range(len(v.namespaces))]
                   if len(v.namespaces) == len(v.numbers) else [],
                   "tgid": v.tgid, "ppid": v.ppid, "state": v.state, "name": v.name,
                   "thread": v.is_thread, "init_of": pic.init_of(v)} for v in pic.views],
    }


# ---------------------------------------------------------------- text

def to_text(views: Iterable[TaskView]) -> str:
    """A plain-text drawing: the namespace tree, then the process tree."""
    pic = arrange(views)
    lines = ["Pid namespaces"]

    def ns_line(n: NsNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        count = len(n.tasks)
        lines.append(f"  {prefix}{branch}{n.label}  level {n.level}, "
                     f"{count} task{'s' if count != 1 else ''}")
        kids = sorted(n.children, key=_first_pid)
        for i, c in enumerate(kids):
            ns_line(c, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1,
                    False)
    for i, t in enumerate([n for n in pic.namespaces if n.parent is None]):
        ns_line(t, "", True, True)
    rows: list[tuple[str, str, str, str]] = []

    def proc(v: TaskView, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        rows.append((f"{prefix}{branch}{_numbers(v)}", v.state, pic.label(v), _note(pic, v)))
        kids = pic.children[v.pid]
        for i, c in enumerate(kids):
            proc(c, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1,
                 False)
    for r in pic.roots:
        proc(r, "", True, True)
    width = max([len(r[0]) for r in rows] + [len("PID")]) + 2
    lines += ["", "Processes (PID: the number at every level, outermost first)",
              f"  {'PID'.ljust(width)}{'STATE':<7}{'NS':<6}NOTE"]
    for tree, state, ns, note in rows:
        lines.append(f"  {tree.ljust(width)}{state:<7}{ns:<6}{note}".rstrip())
    return "\n".join(lines) + "\n"


def to_rich(views: Iterable[TaskView]):
    """The same drawing as rich renderables: colours per namespace level."""
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    pic = arrange(views)

    def ns_label(n: NsNode) -> Text:
        t = Text()
        t.append(f" {n.label} ", style=f"bold white on {n.color}")
        t.append(f"  level {n.level}  ", style="dim")
        t.append(f"{len(n.tasks)} task{'s' if len(n.tasks) != 1 else ''}")
        return t

    ns_tree = Tree(Text("pid namespaces", style="bold"))

    def add_ns(parent: Tree, n: NsNode) -> None:
        sub = parent.add(ns_label(n))
        for c in sorted(n.children, key=_first_pid):
            add_ns(sub, c)
    for t in [n for n in pic.namespaces if n.parent is None]:
        add_ns(ns_tree, t)

    def task_label(v: TaskView) -> Text:
        t = Text()
        for i, nr in enumerate(v.numbers):
            chain = v.namespaces[:i + 1]
            n = pic.by_inode.get(chain) if len(v.namespaces) == len(v.numbers) else None
            color = n.color if n else PALETTE[i % len(PALETTE)]
            t.append(f" {nr} ", style=f"bold white on {color}")
            t.append(" ")
        style = {"Z": "dim strike", "T": "yellow"}.get(v.state, "")
        t.append(f"{v.name} ", style=style)
        t.append(f"[{STATE_NAMES.get(v.state, v.state)}]", style="dim")
        note = _note(pic, v)
        if note:
            t.append(f"  {note}", style="italic cyan")
        return t

    proc_tree = Tree(Text("processes  (a chip per namespace level, outermost first)",
                          style="bold"))

    def add_proc(parent: Tree, v: TaskView) -> None:
        sub = parent.add(task_label(v), guide_style="dim" if v.is_thread else "")
        for c in pic.children[v.pid]:
            add_proc(sub, c)
    for r in pic.roots:
        add_proc(proc_tree, r)
    return Group(ns_tree, Text(""), proc_tree)


# ---------------------------------------------------------------- Graphviz

def to_dot(views: Iterable[TaskView]) -> str:
    pic = arrange(views)
    out = ["digraph pidlab {",
           '  graph [fontname="Helvetica", compound=true, rankdir=TB, nodesep=0.3];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor=white];',
           '  edge [color="#555555", arrowsize=0.7];']

    def cluster(n: NsNode, indent: str) -> None:
        out.append(f"{indent}subgraph cluster_{n.label} {{")
        out.append(f'{indent}  label="{n.label} (level {n.level})"; style="rounded,filled"; '
                   f'fillcolor="{n.tint}"; color="{n.color}"; fontcolor="{n.color}";')
        for v in n.tasks:
            label = " | ".join(map(str, v.numbers))
            extra = ', style="rounded,filled,dashed"' if v.is_thread else ""
            if v.state == "Z":
                extra += ', fontcolor="#888888"'
            note = _note(pic, v)
            text = f"{label}\\n{v.name} [{v.state}]" + (f"\\n{note}" if note else "")
            out.append(f'{indent}  t{v.pid} [label="{text}", color="{n.color}"{extra}];')
        for c in sorted(n.children, key=_first_pid):
            cluster(c, indent + "  ")
        out.append(f"{indent}}}")
    for t in [n for n in pic.namespaces if n.parent is None]:
        cluster(t, "  ")
    for v in pic.views:
        for c in pic.children[v.pid]:
            style = ' [style=dashed, arrowhead=none]' if c.is_thread else ""
            out.append(f"  t{v.pid} -> t{c.pid}{style};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- SVG

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR = 7.4          # width of a 12px monospace digit
CHIP_H = 20
CARD_H = 58
CARD_GAP = 18
PAD = 16
HEADER = 30
PER_ROW = 6


@dataclasses.dataclass
class _Box:
    ns: NsNode
    x: float = 0.0
    y: float = 0.0
    w: float = 0.0
    h: float = 0.0
    cards: list[tuple[TaskView, float, float, float]] = dataclasses.field(default_factory=list)
    kids: list["_Box"] = dataclasses.field(default_factory=list)


def _card_width(v: TaskView) -> float:
    chips = sum(len(str(n)) * CHAR + 12 for n in v.numbers) + 4 * (len(v.numbers) - 1)
    return max(chips + 20, len(v.name) * 7 + 70, 96)


def _order(pic: Picture, n: NsNode) -> list[TaskView]:
    """The namespace's own tasks in process-tree order (parents before children)."""
    mine = {v.pid for v in n.tasks}
    seen: list[TaskView] = []

    def visit(v: TaskView) -> None:
        if v.pid in mine:
            seen.append(v)
        for c in pic.children[v.pid]:
            visit(c)
    for r in pic.roots:
        visit(r)
    return seen


def _measure(pic: Picture, n: NsNode) -> _Box:
    box = _Box(n)
    tasks = _order(pic, n)
    rows = [tasks[i:i + PER_ROW] for i in range(0, len(tasks), PER_ROW)]
    y = HEADER
    width = 0.0
    for row in rows:
        x = PAD
        for v in row:
            cw = _card_width(v)
            box.cards.append((v, x, y, cw))
            x += cw + CARD_GAP
        width = max(width, x - CARD_GAP + PAD)
        y += CARD_H + CARD_GAP
    if not rows:
        y += 6
    kids = [_measure(pic, c) for c in sorted(n.children, key=_first_pid)]
    x = PAD
    kid_h = 0.0
    for k in kids:
        k.x, k.y = x, y + 6
        x += k.w + PAD
        kid_h = max(kid_h, k.h)
    box.kids = kids
    if kids:
        width = max(width, x)
        y += kid_h + 6 + PAD
    else:
        y += PAD - CARD_GAP + 6 if rows else PAD
    box.w = max(width, len(f"{n.label} · level {n.level}") * 7.5 + 2 * PAD, 180)
    box.h = y
    return box


def to_svg(views: Iterable[TaskView], title: str = "pidlab") -> str:
    pic = arrange(views)
    tops = [_measure(pic, n) for n in pic.namespaces if n.parent is None]
    margin = 24
    title_h = 64
    x = margin
    for b in tops:
        b.x, b.y = x, title_h
        x += b.w + margin
    # Wide enough for the title lines and the legend as well as the boxes.
    subtitle_chars = 100 + len(str(len(pic.views))) + len(str(len(pic.namespaces)))
    width = max(x, 520, margin * 2 + subtitle_chars * 6.6, margin * 2 + len(title) * 11.5,
                margin * 2 + 118 * 6.2)
    height = title_h + max((b.h for b in tops), default=0) + margin + 34
    centres: dict[int, tuple[float, float, float]] = {}
    body: list[str] = []
    esc = html.escape

    def draw(b: _Box, ox: float, oy: float) -> None:
        n = b.ns
        x0, y0 = ox + b.x, oy + b.y
        body.append(f'<g class="ns" data-ns="{n.label}">')
        body.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" '
                    f'rx="14" fill="{n.tint}" stroke="{n.color}" stroke-width="1.6"/>')
        body.append(f'<rect x="{x0 + 10:.1f}" y="{y0 - 9:.1f}" width="{len(n.label) * 7.6 + 14:.1f}" '
                    f'height="18" rx="9" fill="{n.color}"/>')
        body.append(f'<text x="{x0 + 17:.1f}" y="{y0 + 4:.1f}" font-family="{FONT}" font-size="12" '
                    f'font-weight="bold" fill="white">{esc(n.label)}</text>')
        body.append(f'<text x="{x0 + len(n.label) * 7.6 + 32:.1f}" y="{y0 + 18:.1f}" '
                    f'font-family="{FONT}" font-size="11" fill="{n.color}">level {n.level} · '
                    f'{len(n.tasks)} task{"s" if len(n.tasks) != 1 else ""}</text>')
        for v, cx, cy, cw in b.cards:
            _card(body, pic, v, x0 + cx, y0 + cy, cw)
            centres[v.pid] = (x0 + cx + cw / 2, y0 + cy, y0 + cy + CARD_H)
        body.append("</g>")
        for k in b.kids:
            draw(k, x0, y0)
    for b in tops:
        draw(b, 0, 0)
    edges: list[str] = []
    for v in pic.views:
        for c in pic.children[v.pid]:
            if v.pid not in centres or c.pid not in centres:
                continue
            px, _, pb = centres[v.pid]
            cx, ct, cb = centres[c.pid]
            dash = ' stroke-dasharray="4 3"' if c.is_thread else ""
            if ct > pb:         # the child is below: an S-curve down onto its top
                mid = (pb + ct) / 2
                d = f"M{px:.1f},{pb:.1f} C{px:.1f},{mid:.1f} {cx:.1f},{mid:.1f} {cx:.1f},{ct:.1f}"
            else:               # same row (a thread, or a wrapped row): a loop underneath
                low = max(pb, cb) + 10 + 0.06 * abs(cx - px)   # farther: deeper loop
                d = f"M{px:.1f},{pb:.1f} C{px:.1f},{low:.1f} {cx:.1f},{low:.1f} {cx:.1f},{cb:.1f}"
            edges.append(f'<path d="{d}" fill="none" stroke="#59626e" stroke-width="1.4"'
                         f'{dash} marker-end="url(#arrow)" class="edge"/>')
    legend_y = height - 16
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(title)}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#59626e"/></marker>'
           '<filter id="shadow" x="-10%" y="-10%" width="120%" height="130%">'
           '<feDropShadow dx="0" dy="1.5" stdDeviation="1.5" flood-opacity="0.18"/></filter></defs>',
           '<rect width="100%" height="100%" fill="#fbfbfa"/>',
           f'<text x="{margin}" y="30" font-family="{FONT}" font-size="19" font-weight="bold" '
           f'fill="#1d232b">{esc(title)}</text>',
           f'<text x="{margin}" y="50" font-family="{FONT}" font-size="12" fill="#5b6470">'
           f'{len(pic.views)} tasks in {len(pic.namespaces)} pid namespace'
           f'{"s" if len(pic.namespaces) != 1 else ""}: each coloured chip is the pid in one '
           f'namespace, outermost first</text>',
           *body, *edges,
           f'<text x="{margin}" y="{legend_y:.0f}" font-family="{FONT}" font-size="11" '
           f'fill="#5b6470">solid arrow: parent → child · dashed: thread of a process · '
           f'grey card: zombie · ★ init of its namespace</text>',
           "</svg>"]
    return "\n".join(svg) + "\n"


def _card(out: list[str], pic: Picture, v: TaskView, x: float, y: float, w: float) -> None:
    zombie = v.state in "ZX"
    stopped = v.state in "Tt"
    fill = "#eeeeee" if zombie else "white"
    dash = ' stroke-dasharray="5 3"' if v.is_thread else ""
    stroke = pic.ns_of[v.pid].color
    out.append(f'<g class="task" data-pid="{v.pid}" data-state="{v.state}">')
    out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{CARD_H}" rx="8" '
               f'fill="{fill}" stroke="{stroke}" stroke-width="1.3"{dash} filter="url(#shadow)"/>')
    cx = x + 10
    for i, nr in enumerate(v.numbers):
        chain = v.namespaces[:i + 1]
        n = pic.by_inode.get(chain) if len(v.namespaces) == len(v.numbers) else None
        color = n.color if n else PALETTE[i % len(PALETTE)]
        cw = len(str(nr)) * CHAR + 12
        opacity = ' opacity="0.55"' if zombie else ""
        out.append(f'<rect x="{cx:.1f}" y="{y + 8:.1f}" width="{cw:.1f}" height="{CHIP_H}" rx="5" '
                   f'fill="{color}"{opacity}><title>pid {nr} in {n.label if n else f"level {i}"}'
                   f'</title></rect>')
        out.append(f'<text x="{cx + cw / 2:.1f}" y="{y + 22.5:.1f}" text-anchor="middle" '
                   f'font-family="{MONO}" font-size="12" font-weight="bold" fill="white">{nr}</text>')
        cx += cw + 4
    star = "★ " if pic.init_of(v) else ""
    state = STATE_NAMES.get(v.state, v.state)
    colour = "#8a8f96" if zombie else ("#b86e00" if stopped else "#2b323b")
    kind = "thread" if v.is_thread else v.name
    out.append(f'<text x="{x + 10:.1f}" y="{y + 46:.1f}" font-family="{FONT}" font-size="11.5" '
               f'fill="{colour}">{star}{html.escape(kind)} · {state}</text>')
    out.append("</g>")


FORMATS = ("text", "dot", "svg", "json")


def render(views: Iterable[TaskView], fmt: str, title: str = "pidlab") -> str:
    views = list(views)
    if fmt == "text":
        return to_text(views)
    if fmt == "dot":
        return to_dot(views)
    if fmt == "svg":
        return to_svg(views, title)
    if fmt == "json":
        return json.dumps(to_json(views), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
