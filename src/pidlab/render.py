"""Drawing processes and pid namespaces: text, rich, Graphviz dot, SVG and JSON.

Everything here works from `k.snapshot()` (a list of `TaskView`), so both
backends draw the same picture.  Namespaces are labelled ns0, ns1, ... in the
order a walk from the top meets them, which makes the model's and the live
kernel's drawings identical although their inode numbers differ.

Every drawing takes `labels`: the names a scenario bound to a task, keyed by the
task's top-level pid number (`TaskView.numbers[0]`), shown beside the kernel's
own name for it (`comm`, what /proc/PID/status calls Name).
"""

from __future__ import annotations

import dataclasses
import heapq
import html
import json
import math
from typing import Iterable, Mapping, Sequence

from .api import TaskView

PALETTE = ("#3b6fb6", "#e07b00", "#2e9a4a", "#c8384a", "#1f9e9e", "#8e5bb5", "#c05f9a",
           "#8a6d3b", "#5b7083")
TINTS = ("#eaf1fb", "#fdf1e3", "#e8f5eb", "#fbe8eb", "#e4f5f5", "#f2ebf8", "#f8eaf3",
         "#f3eee4", "#edf0f3")
STATE_NAMES = {"R": "running", "S": "sleeping", "D": "disk sleep", "T": "stopped",
               "t": "traced", "Z": "zombie", "X": "dead", "I": "idle"}

Labels = Mapping[int, Sequence[str]]


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
    up: dict[int, int] = dataclasses.field(default_factory=dict)  # pid -> the task it hangs under

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
    up: dict[int, int] = {}
    for v in views:
        # A thread hangs under its thread-group leader, a process under its parent.
        above = v.tgid if v.is_thread else v.ppid
        if above in present and above != v.pid:
            children[above].append(v)
            up[v.pid] = above
        else:
            roots.append(v)
    return Picture(views, labelled, ns_of, by_chain, children, roots, up)


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


def _bound(labels: Labels | None, v: TaskView) -> list[str]:
    """The names a scenario bound to this task, in the order it bound them."""
    if not labels:
        return []
    names = labels.get(v.pid, ())
    # {5: "svc"} would read as the names s, v and c: a list of names is what a task has.
    if isinstance(names, (str, bytes)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"labels[{v.pid}] must be a sequence of names (str), not {names!r}")
    return list(names)


def _name(labels: Labels | None, v: TaskView) -> str:
    """`svc, worker (comm: init)`, or the kernel's name alone when nothing is bound."""
    bound = _bound(labels, v)
    return f"{', '.join(bound)} (comm: {v.name})" if bound else v.name


# ---------------------------------------------------------------- JSON

def to_json(views: Iterable[TaskView], *, labels: Labels | None = None) -> dict:
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
                   "labels": _bound(labels, v),
                   "thread": v.is_thread, "init_of": pic.init_of(v)} for v in pic.views],
    }


# ---------------------------------------------------------------- text

def to_text(views: Iterable[TaskView], *, labels: Labels | None = None) -> str:
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
    rows: list[tuple[str, str, str, str, str]] = []

    def proc(v: TaskView, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        rows.append((f"{prefix}{branch}{_numbers(v)}", v.state, pic.label(v), _name(labels, v),
                     _note(pic, v)))
        kids = pic.children[v.pid]
        for i, c in enumerate(kids):
            proc(c, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1,
                 False)
    for r in pic.roots:
        proc(r, "", True, True)
    width = max([len(r[0]) for r in rows] + [len("PID")]) + 2
    name_w = max([len(r[3]) for r in rows] + [len("NAME")]) + 2
    lines += ["", "Processes (PID: the number at every level, outermost first)",
              f"  {'PID'.ljust(width)}{'STATE':<7}{'NS':<6}{'NAME'.ljust(name_w)}NOTE"]
    for tree, state, ns, name, note in rows:
        lines.append(f"  {tree.ljust(width)}{state:<7}{ns:<6}{name.ljust(name_w)}{note}".rstrip())
    return "\n".join(lines) + "\n"


def to_rich(views: Iterable[TaskView], *, labels: Labels | None = None):
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
        bound = _bound(labels, v)
        if bound:
            t.append(", ".join(bound), style=f"bold {style}".strip())
            t.append(f" (comm: {v.name}) ", style=style)
        else:
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

def _dot_str(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(views: Iterable[TaskView], *, labels: Labels | None = None) -> str:
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
            text = f"{label}\\n{_dot_str(_name(labels, v))} [{v.state}]" + \
                (f"\\n{note}" if note else "")
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


# ---------------------------------------------------------------- tree layout
#
# The layout is our own rather than Graphviz's or a PyPI library's: `dot` is a binary users
# may not have, and the general graph layouts on PyPI (grandalf and the like) know nothing of
# nested clusters, which is the one thing this picture needs besides a tree.  The picture is a
# tree: every task hangs under its parent (a thread under its leader), and a child pid
# namespace never holds the parent of a task of its own parent namespace (fork puts a child in
# the parent's pid_for_children namespace, which is the parent's own or one below it).  So a
# namespace box is itself a node of the tree: it hangs under the task that made its first task
# (its init, usually), and inside it the namespace's tasks are a forest again.
#
# The layout is the classic bounding-box tree layout: a subtree is a rectangle, siblings stand
# side by side, a parent is centred over its children.  That wastes a little width against
# Reingold-Tilford contours but gives what legibility needs, by construction:
# * no two cards overlap, and a namespace box encloses exactly its tasks and nested boxes;
# * an edge from a parent to a child it holds runs along a bus in the band between the parent
#   card and the row of its children (nothing else lives there), then straight down into the child
#   (through the tops of the boxes it enters, whose chips stand left of every entry point), so
#   it meets no card and no pid chip;
# * an edge the tree cannot hold (a task made by setns into a namespace whose box hangs
#   elsewhere) is routed around every card on a grid (A*, few bends).
# Everything is sorted by pid, so the output is deterministic.

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
CHAR = 7.4          # width of a 12px DejaVu Sans Mono digit (0.6 em), with a little margin
CHIP_H = 20
CARD_H = 58         # chips and the kernel's line
NAMED_H = 16        # one more line when the picture shows bound names
GAP_X = 20          # between sibling subtrees
GAP_Y = 36          # between a card and the row of its children
BEND = 10           # an edge's last stretch is straight down (clear of box chips)
ROUND = 6           # the radius of an edge's corners
WRAP = 8            # more childless siblings in a row than this go in rows of their own
TRUNK = 14          # the channel left of such rows, for the trunk that feeds them
PAD = 14            # inside a namespace box, left, right
HEADER = 22         # from a box's top to its first row (the chip straddles the top)
FOOTER = 34         # from a box's last row to its bottom: a free lane (for routed edges leaving
                    # the last row), then the caption
MIN_BOX_W = 120
ROUTED = "#8e5bb5"  # the colour of an edge routed off the tree
MARGIN = 24
TOP = 76            # the title and the subtitle above the drawing
GRID = 6            # the router's grid step; cards keep CLEAR > GRID / 2 around them
CLEAR = 4


# DejaVu Sans's advance widths (hundredths of an em, rounded up) of ASCII 32..126, Book and
# Bold: the widest font of FONT, so a card sized for it fits Helvetica and Arial too.
_WIDTHS = (bytes.fromhex(
    "20292e5440604e1c282832542025202240404040404040404040222254545436644545464e403a4e4c1e1e4238"
    "574b4f3d4f46403e4a4563453e452822285432323e4037403e2440401c1c3a1c62403e40402a3528403c523c3c"
    "3540224054"), bytes.fromhex(
    "232e35544665581f2e2e3554262a26254646464646464646464628285454543b644e4d4a544545535426264e40"
    "6454564a564e4945524e6f4e49492e252e54323244483c48442c4848232343236948454848323c304842"
    "5d41423b48254854"))


_WIDER = {"·": (32, 38), "★": (90, 90), "→": (84, 84)}       # the others drawn here


def _text_width(s: str, size: float, bold: bool = False) -> float:
    """The width DejaVu Sans gives `s` at `size` px (a whole em for a character it lacks here)."""
    table = _WIDTHS[bold]
    return sum(table[o - 32] if 32 <= (o := ord(ch)) < 127 else _WIDER.get(ch, (100, 100))[bold]
               for ch in s) * size / 100


@dataclasses.dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def holds(self, px: float, py: float, inset: float = 0.0) -> bool:
        """Whether the point lies inside, at least `inset` from every side."""
        return (self.x + inset < px < self.right - inset
                and self.y + inset < py < self.bottom - inset)

    def encloses(self, other: "Rect") -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right
                and other.bottom <= self.bottom)

    def overlaps(self, other: "Rect") -> bool:
        return (self.x < other.right and other.x < self.right and self.y < other.bottom
                and other.y < self.bottom)


@dataclasses.dataclass(frozen=True, slots=True)
class Edge:
    """A parent -> child arrow as SVG path commands: ("M"|"L", x, y) and ("C", 6 numbers)."""

    parent: int
    child: int
    thread: bool
    routed: bool                 # True: around the cards, off the tree
    path: tuple[tuple, ...]

    @property
    def d(self) -> str:
        return " ".join(c[0] + " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(c[1::2], c[2::2]))
                        for c in self.path)


@dataclasses.dataclass(slots=True)
class Layout:
    """Where everything goes, in SVG user units (what `to_svg` draws, what tests measure)."""

    pic: Picture
    labels: Labels | None
    width: float
    height: float
    card_h: float
    cards: dict[int, Rect]                  # top-level pid -> its card
    boxes: dict[str, Rect]                  # namespace label -> its box
    chips: dict[str, Rect]                  # namespace label -> the chip naming it
    captions: dict[str, Rect]               # namespace label -> its "level 1 · 3 tasks" line
    edges: list[Edge]
    trunks: dict[int, float]                # a card in a later row of _Leaves -> its trunk's x


class _Card:
    __slots__ = ("view", "w", "kids", "incoming", "fed", "card_x", "kid_x", "W", "H", "anchor")

    def __init__(self, view: TaskView, w: float) -> None:
        self.view, self.w = view, w
        self.kids: list[_Card | _Box] = []
        self.incoming = False            # an edge comes down into it ...
        self.fed = False                 # ... from the task it hangs under in the tree
        self.card_x = 0.0
        self.kid_x: list[float] = []
        self.W = self.H = self.anchor = 0.0

    def entries(self) -> list[tuple[float, bool]]:
        """Where edges come down into it from outside its box, and whether from the tree."""
        return [(self.anchor, self.fed)] if self.incoming else []

    def measure(self, card_h: float) -> None:
        self.kids = _wrap(self.kids)
        for k in self.kids:
            k.measure(card_h)
        if not self.kids:
            self.W, self.H, self.card_x, self.anchor = self.w, card_h, 0.0, self.w / 2
            return
        xs, x = [], 0.0
        for k in self.kids:
            xs.append(x)
            x += k.W + GAP_X
        span = x - GAP_X
        centre = (xs[0] + self.kids[0].anchor + xs[-1] + self.kids[-1].anchor) / 2
        left = centre - self.w / 2
        shift = max(0.0, -left)
        self.card_x = left + shift
        self.kid_x = [x + shift for x in xs]
        self.W = max(self.card_x + self.w, span + shift)
        self.H = card_h + GAP_Y + max(k.H for k in self.kids)
        self.anchor = self.card_x + self.w / 2


class _Leaves:
    """A long run of childless siblings, in rows (the way organisation charts keep a wide
    fan-out legible): columns of one width, a trunk down their left, a bus over every row.

    Siblings stay side by side in pid order, row after row; the trunk runs in a channel of
    its own (TRUNK wide), the buses in the bands between the rows, so no edge meets a card."""

    __slots__ = ("cards", "cols", "cell", "W", "H", "anchor")

    def __init__(self, cards: list[_Card]) -> None:
        self.cards = cards
        # sqrt(3n) columns (at least WRAP) keep the block about as wide as it is tall (a card is
        # about twice as wide as it is tall with its band), then the rows are filled evenly
        n = len(cards)
        rows = math.ceil(n / max(WRAP, math.ceil(math.sqrt(3 * n))))
        self.cols = math.ceil(n / rows)
        self.cell = max(c.w for c in cards)
        self.W = self.H = self.anchor = 0.0

    def entries(self) -> list[tuple[float, bool]]:
        return []

    def measure(self, card_h: float) -> None:
        for c in self.cards:
            c.measure(card_h)
        rows = math.ceil(len(self.cards) / self.cols)
        first = min(self.cols, len(self.cards))
        self.W = TRUNK + first * self.cell + (first - 1) * GAP_X
        self.H = rows * card_h + (rows - 1) * GAP_Y
        self.anchor = TRUNK + (first * self.cell + (first - 1) * GAP_X) / 2


def _wrap(kids: list) -> list:
    """Runs of more than WRAP childless cards among `kids` become rows (_Leaves)."""
    out: list = []
    run: list[_Card] = []
    for k in [*kids, None]:
        if isinstance(k, _Card) and not k.kids:
            run.append(k)
            continue
        out += [_Leaves(run)] if len(run) > WRAP else run
        run = []
        if k is not None:
            out.append(k)
    return out


class _Box:
    __slots__ = ("ns", "items", "chip_w", "caption", "item_x", "W", "H", "anchor", "_entries")

    def __init__(self, ns: NsNode) -> None:
        self.ns = ns
        self.items: list[_Card | _Box] = []
        self.chip_w = _text_width(ns.label, 12, True) + 14
        count = len(ns.tasks)
        self.caption = f"level {ns.level} · {count} task{'s' if count != 1 else ''}"
        self.item_x: list[float] = []
        self.W = self.H = self.anchor = 0.0
        self._entries: list[tuple[float, bool]] = []

    def entries(self) -> list[tuple[float, bool]]:
        return self._entries

    def measure(self, card_h: float) -> None:
        for it in self.items:
            it.measure(card_h)
        xs, x = [], PAD
        for it in self.items:
            xs.append(x)
            x += it.W + GAP_X
        entries = [(xi + e, fed) for xi, it in zip(xs, self.items) for e, fed in it.entries()]
        # An edge comes down through the top of the box at every entry: keep the chip left of them.
        clear = 10 + self.chip_w + 10
        if entries and min(entries)[0] < clear:
            shift = clear - min(entries)[0]
            xs = [xi + shift for xi in xs]
            entries = [(e + shift, fed) for e, fed in entries]
        right = xs[-1] + self.items[-1].W if self.items else 0.0
        self.item_x, self._entries = xs, entries
        self.W = max(right + PAD, 10 + self.chip_w + 10, _text_width(self.caption, 11) + 2 * PAD,
                     MIN_BOX_W)
        self.H = HEADER + max((it.H for it in self.items), default=0.0) + FOOTER
        # The task it hangs under is centred over the entries its own edges come down to.
        fed = [e for e, f in entries if f] or [e for e, _ in entries] or [self.W / 2]
        self.anchor = (min(fed) + max(fed)) / 2


def _card_width(v: TaskView, bound: list[str], init: bool) -> float:
    chips = sum(len(str(n)) * CHAR + 12 for n in v.numbers) + 4 * (len(v.numbers) - 1)
    return max(chips + 20, _text_width(", ".join(bound), 12, True) + 22,
               _text_width(_kernel_line(v, init), 11.5) + 22, 96)


def _kernel_line(v: TaskView, init: bool) -> str:
    """The card's line for what the kernel says: comm and state (and that it is a thread)."""
    state = STATE_NAMES.get(v.state, v.state)
    star = "★ " if init else ""
    return f"{star}{v.name} · {state}" + (" · thread" if v.is_thread else "")


def layout(views: Iterable[TaskView], *, labels: Labels | None = None) -> Layout:
    """Lay the process tree out with its namespace boxes (see the comment above)."""
    pic = arrange(views)
    named = any(_bound(labels, v) for v in pic.views)
    card_h = CARD_H + (NAMED_H if named else 0)
    cards = {v.pid: _Card(v, _card_width(v, _bound(labels, v), pic.init_of(v) is not None))
             for v in pic.views}
    boxes = {id(n): _Box(n) for n in pic.namespaces}
    holder: dict[int, _Card | _Box | None] = {}       # id(node) -> what it hangs in
    for v in pic.views:
        card, ns = cards[v.pid], pic.ns_of[v.pid]
        above = pic.up.get(v.pid)
        if above is not None and pic.ns_of[above] is ns:
            cards[above].kids.append(card)
            holder[id(card)] = cards[above]
            card.incoming = card.fed = True
            continue
        # A root of its namespace's forest; its box (and the boxes around it, up to the
        # namespace of the task above it) hang under that task, unless an earlier task of
        # the box already hung it somewhere.
        box = boxes[id(ns)]
        box.items.append(card)
        holder[id(card)] = box
        card.incoming = above is not None
        outer = pic.ns_of[above] if above is not None else None
        if outer is not None and not _is_below(ns, outer):
            outer = None                      # not a namespace above it: no place in the tree
        n = ns
        while id(boxes[id(n)]) not in holder:
            b = boxes[id(n)]
            if n.parent is None:
                holder[id(b)] = None
            elif n.parent is outer:
                cards[above].kids.append(b)
                holder[id(b)] = cards[above]
            else:
                boxes[id(n.parent)].items.append(b)
                holder[id(b)] = boxes[id(n.parent)]
                n = n.parent
                continue
            break
        node = holder[id(box)]
        while isinstance(node, _Box):
            node = holder[id(node)]
        card.fed = above is not None and node is cards[above]
    tops = [boxes[id(n)] for n in pic.namespaces if n.parent is None]
    x = MARGIN
    out = Layout(pic, labels, 0.0, 0.0, card_h, {}, {}, {}, {}, [], {})
    for b in tops:
        b.measure(card_h)
        _place(b, x, TOP + 10, out)
        x += b.W + MARGIN
    out.width = x
    out.height = max((r.bottom for r in out.boxes.values()), default=TOP) + MARGIN
    routed = []
    for v in pic.views:
        above = pic.up.get(v.pid)
        if above is None:
            continue
        if cards[v.pid].fed:
            out.edges.append(_tree_edge(out, above, v))
        else:
            routed.append(v)
    if routed:
        grid = _Grid(out)
        for v in routed:
            out.edges.append(grid.route(above=pic.up[v.pid], child=v))
    return out


def _is_below(ns: NsNode, outer: NsNode) -> bool:
    n = ns.parent
    while n is not None:
        if n is outer:
            return True
        n = n.parent
    return False


def _place(node: _Card | _Box | _Leaves, ox: float, oy: float, out: Layout) -> None:
    if isinstance(node, _Leaves):
        for i, c in enumerate(node.cards):
            row, col = divmod(i, node.cols)
            x = ox + TRUNK + col * (node.cell + GAP_X) + (node.cell - c.w) / 2
            out.cards[c.view.pid] = Rect(x, oy + row * (out.card_h + GAP_Y), c.w, out.card_h)
            if row:
                out.trunks[c.view.pid] = ox + TRUNK / 2
        return
    if isinstance(node, _Card):
        out.cards[node.view.pid] = Rect(ox + node.card_x, oy, node.w, out.card_h)
        for k, kx in zip(node.kids, node.kid_x):
            _place(k, ox + kx, oy + out.card_h + GAP_Y, out)
        return
    label = node.ns.label
    out.boxes[label] = Rect(ox, oy, node.W, node.H)
    out.chips[label] = Rect(ox + 10, oy - 9, node.chip_w, 18)
    out.captions[label] = Rect(ox + PAD, oy + node.H - 19, _text_width(node.caption, 11), 13)
    for it, ix in zip(node.items, node.item_x):
        _place(it, ox + ix, oy + HEADER, out)


def _tree_edge(out: Layout, above: int, v: TaskView) -> Edge:
    """Parent to child down the tree, as an organisation chart draws it: down from the parent,
    along a bus in the band under it (nothing else lives there), then straight down (through
    the tops of the boxes it enters, whose chips stand left of every entry) onto the child.
    Siblings share the parent's stub and bus.  A child in a later row of _Leaves is fed down
    the trunk beside the rows and along the bus over its own row."""
    p, c = out.cards[above], out.cards[v.pid]
    px, pb = p.x + p.w / 2, p.bottom
    cx, ct = c.x + c.w / 2, c.y - 1.5            # the arrow's tip touches the card
    bus = pb + (GAP_Y - BEND) / 2
    trunk = out.trunks.get(v.pid)
    if trunk is None:
        pts = [(px, pb), (px, bus), (cx, bus), (cx, ct)]
    else:
        row_bus = c.y - (GAP_Y + BEND) / 2
        pts = [(px, pb), (px, bus), (trunk, bus), (trunk, row_bus), (cx, row_bus), (cx, ct)]
    return Edge(above, v.pid, v.is_thread, False, _rounded(pts))


def _rounded(pts: list[tuple[float, float]]) -> tuple[tuple, ...]:
    """An orthogonal polyline as path commands, its corners rounded (ROUND at most)."""
    clean = [pts[0]]
    for q in pts[1:]:
        if abs(q[0] - clean[-1][0]) + abs(q[1] - clean[-1][1]) > 0.01:
            clean.append(q)
    pts = [clean[0]]
    for b, c in zip(clean[1:], clean[2:] + [None]):
        a = pts[-1]
        if c is not None and (abs(a[0] - b[0]) < 0.01) == (abs(b[0] - c[0]) < 0.01):
            continue                                    # straight on: no corner at b
        pts.append(b)
    path: list[tuple] = [("M", *pts[0])]
    for a, b, c in zip(pts, pts[1:], pts[2:]):
        la, lc = math.dist(a, b), math.dist(b, c)
        r = min(ROUND, la / 2, lc / 2)
        ux, uy = (b[0] - a[0]) / la, (b[1] - a[1]) / la
        vx, vy = (c[0] - b[0]) / lc, (c[1] - b[1]) / lc
        path.append(("L", b[0] - ux * r, b[1] - uy * r))
        path.append(("C", b[0], b[1], b[0], b[1], b[0] + vx * r, b[1] + vy * r))
    path.append(("L", *pts[-1]))
    return tuple(path)


class _Grid:
    """A* on a grid over the drawing, for the few edges the tree does not hold.

    Cards (with CLEAR around them, more than half a step, so a step between two free cells
    cannot clip a card), box chips and captions are walls; turns cost extra, so the route has
    few bends, and so does running along another edge, so the route is not mistaken for it."""

    __slots__ = ("out", "cols", "rows", "blocked", "busy")

    def __init__(self, out: Layout) -> None:
        self.out = out
        self.cols = int(out.width / GRID) + 2
        self.rows = int(out.height / GRID) + 2
        blocked = bytearray(self.cols * self.rows)
        walls = [Rect(r.x - CLEAR, r.y - CLEAR, r.w + 2 * CLEAR, r.h + 2 * CLEAR)
                 for r in [*out.cards.values(), *out.chips.values(), *out.captions.values()]]
        for r in walls:
            for row in range(max(0, int(r.y / GRID) - 1), min(self.rows, int(r.bottom / GRID) + 2)):
                cy = (row + 0.5) * GRID
                if not r.y <= cy <= r.bottom:
                    continue
                for col in range(max(0, int(r.x / GRID) - 1), min(self.cols, int(r.right / GRID) + 2)):
                    if r.x <= (col + 0.5) * GRID <= r.right:
                        blocked[row * self.cols + col] = 1
        self.blocked = blocked
        self.busy = bytearray(self.cols * self.rows)
        for e in out.edges:
            self._mark(e)

    def _mark(self, e: Edge) -> None:
        """Make the cells along the straight stretches of `e` dearer to walk."""
        x, y = e.path[0][1], e.path[0][2]
        for c in e.path[1:]:
            nx, ny = c[-2], c[-1]
            if c[0] == "L":
                r0, r1 = sorted((int(y / GRID), int(ny / GRID)))
                c0, c1 = sorted((int(x / GRID), int(nx / GRID)))
                for row in range(max(0, r0), min(self.rows, r1 + 1)):
                    for col in range(max(0, c0), min(self.cols, c1 + 1)):
                        self.busy[row * self.cols + col] = 1
            x, y = nx, ny

    def route(self, above: int, child: TaskView) -> Edge:
        p, c = self.out.cards[above], self.out.cards[child.pid]
        px, pb = p.x + p.w / 2, p.bottom
        cx, ct = c.x + c.w / 2, c.y - 1.5
        # the first row of cells whose centres lie below the parent's wall, the last above
        # the child's
        start = (math.floor((pb + CLEAR) / GRID - 0.5) + 1, int(px / GRID))
        goal = (math.ceil((c.y - CLEAR) / GRID - 0.5) - 1, int(cx / GRID))
        cells = self._search(start, goal)
        if cells is None:             # walled in (cannot happen with the gaps the layout keeps)
            return Edge(above, child.pid, child.is_thread, True,
                        (("M", px, pb), ("L", px, ct), ("L", cx, ct)))
        centres = [((col + 0.5) * GRID, (row + 0.5) * GRID) for row, col in cells]
        # Off the grid at both ends by less than CLEAR: straight down from the parent's
        # centre, straight down onto the child's.
        pts = [(px, pb), (px, centres[0][1]), *centres, (cx, centres[-1][1]), (cx, ct)]
        corners = [pts[0]]
        for a, b, n in zip(pts, pts[1:], pts[2:]):
            if b == a or (a[0] == b[0] == n[0]) or (a[1] == b[1] == n[1]):
                continue
            corners.append(b)
        corners.append(pts[-1])
        path = (("M", *corners[0]),) + tuple(("L", *q) for q in corners[1:])
        edge = Edge(above, child.pid, child.is_thread, True, path)
        self._mark(edge)
        return edge

    def _search(self, start: tuple[int, int], goal: tuple[int, int]) -> list | None:
        cols, rows, blocked, busy = self.cols, self.rows, self.blocked, self.busy

        def free(rc: tuple[int, int]) -> bool:
            r, c = rc
            return 0 <= r < rows and 0 <= c < cols and not blocked[r * cols + c]
        if not free(start) or not free(goal):
            return None
        # state: (row, col, direction); the first step may go any way
        best: dict[tuple[int, int, int], int] = {}
        came: dict[tuple[int, int, int], tuple[int, int, int] | None] = {}
        steps = ((1, 0), (0, 1), (0, -1), (-1, 0))
        first = (start[0], start[1], 0)
        best[first], came[first] = 0, None
        heap = [(abs(goal[0] - start[0]) + abs(goal[1] - start[1]), 0, first)]
        while heap:
            _, cost, state = heapq.heappop(heap)
            if cost > best.get(state, 1 << 60):
                continue
            r, c, d = state
            if (r, c) == goal:
                cells = []
                s: tuple[int, int, int] | None = state
                while s is not None:
                    cells.append((s[0], s[1]))
                    s = came[s]
                return cells[::-1]
            for nd, (dr, dc) in enumerate(steps):
                nxt = (r + dr, c + dc)
                if not free(nxt):
                    continue
                ncost = cost + 1 + (8 if nd != d and state != first else 0) + \
                    6 * busy[nxt[0] * cols + nxt[1]]
                ns = (nxt[0], nxt[1], nd)
                if ncost < best.get(ns, 1 << 60):
                    best[ns], came[ns] = ncost, state
                    h = abs(goal[0] - nxt[0]) + abs(goal[1] - nxt[1])
                    heapq.heappush(heap, (ncost + h, ncost, ns))
        return None


# ---------------------------------------------------------------- SVG

def to_svg(views: Iterable[TaskView], title: str = "pidlab", *,
           labels: Labels | None = None) -> str:
    lay = layout(views, labels=labels)
    pic = lay.pic
    esc = html.escape
    named = lay.card_h > CARD_H
    legend = ["bold: the names the scenario bound to the task · below: the kernel's name for it "
              "(comm) and its state" if named else
              "on each card: the kernel's name for the task (comm) and its state",
              "solid arrow: parent → child · dashed card and arrow: a thread of its process · "
              "grey card: zombie · ★ init of its namespace"]
    if any(e.routed for e in lay.edges):
        legend.append("purple arrow: parent → child off the tree (forked, after setns, into a "
                      "namespace drawn elsewhere)")
    subtitle = (f"{len(pic.views)} tasks in {len(pic.namespaces)} pid namespace"
                f"{'s' if len(pic.namespaces) != 1 else ''}: each coloured chip is the pid in one "
                f"namespace, outermost first")
    width = max(lay.width, 520, 2 * MARGIN + _text_width(title, 19, True),
                2 * MARGIN + _text_width(subtitle, 12),
                *(2 * MARGIN + _text_width(line, 11) for line in legend))
    legend_y = max((r.bottom for r in lay.boxes.values()), default=TOP) + 26
    height = legend_y + 16 * (len(legend) - 1) + 14
    body: list[str] = []
    for n in pic.namespaces:        # outer boxes first: the inner ones are painted over them
        r, chip, cap = lay.boxes[n.label], lay.chips[n.label], lay.captions[n.label]
        body.append(f'<g class="ns" data-ns="{n.label}" data-level="{n.level}">')
        body.append(f'<rect class="ns-box" x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" '
                    f'height="{r.h:.1f}" rx="14" fill="{n.tint}" stroke="{n.color}" '
                    f'stroke-width="1.6"/>')
        body.append(f'<g class="ns-label"><rect x="{chip.x:.1f}" y="{chip.y:.1f}" '
                    f'width="{chip.w:.1f}" height="{chip.h:.1f}" rx="9" fill="{n.color}"/>')
        body.append(f'<text x="{chip.x + 7:.1f}" y="{chip.y + 13:.1f}" font-family="{FONT}" '
                    f'font-size="12" font-weight="bold" fill="white">{esc(n.label)}</text></g>')
        count = len(n.tasks)
        body.append(f'<text class="ns-caption" x="{cap.x:.1f}" y="{cap.y + 10:.1f}" '
                    f'font-family="{FONT}" font-size="11" fill="{n.color}">level {n.level} · '
                    f'{count} task{"s" if count != 1 else ""}</text>')
        body.append("</g>")
    for e in lay.edges:
        dash = ' stroke-dasharray="4 3"' if e.thread else ""
        colour, arrow = (ROUTED, "arrow-routed") if e.routed else ("#59626e", "arrow")
        body.append(f'<path class="edge" data-parent="{e.parent}" data-child="{e.child}" '
                    f'd="{e.d}" fill="none" stroke="{colour}" stroke-width="1.4" '
                    f'stroke-linejoin="round"{dash} marker-end="url(#{arrow})"/>')
    for v in pic.views:
        _card(body, lay, v, lay.cards[v.pid])
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(title)}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#59626e"/></marker>'
           '<marker id="arrow-routed" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
           f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           f'fill="{ROUTED}"/></marker>'
           '<filter id="shadow" x="-10%" y="-10%" width="120%" height="130%">'
           '<feDropShadow dx="0" dy="1.5" stdDeviation="1.5" flood-opacity="0.18"/></filter></defs>',
           '<rect width="100%" height="100%" fill="#fbfbfa"/>',
           f'<text x="{MARGIN}" y="30" font-family="{FONT}" font-size="19" font-weight="bold" '
           f'fill="#1d232b">{esc(title)}</text>',
           f'<text x="{MARGIN}" y="50" font-family="{FONT}" font-size="12" fill="#5b6470">'
           f'{subtitle}</text>',
           *body,
           *(f'<text class="legend" x="{MARGIN}" y="{legend_y + 16 * i:.0f}" font-family="{FONT}" '
             f'font-size="11" fill="#5b6470">{esc(line)}</text>' for i, line in enumerate(legend)),
           "</svg>"]
    return "\n".join(svg) + "\n"


def _card(out: list[str], lay: Layout, v: TaskView, r: Rect) -> None:
    pic = lay.pic
    zombie = v.state in "ZX"
    stopped = v.state in "Tt"
    fill = "#eeeeee" if zombie else "white"
    dash = ' stroke-dasharray="5 3"' if v.is_thread else ""
    n = pic.ns_of[v.pid]
    bound = _bound(lay.labels, v)
    init = pic.init_of(v)
    state = STATE_NAMES.get(v.state, v.state)
    tip = (f"pid {_numbers(v)} (outermost first) · comm {v.name} · {state}"
           + (f" · thread of {v.tgid}" if v.is_thread else "")
           + (f" · init of {init}" if init else "")
           + (f" · bound as {', '.join(bound)}" if bound else ""))
    thread = ' data-thread="1"' if v.is_thread else ""
    out.append(f'<g class="task" data-pid="{v.pid}" data-ns="{n.label}" data-state="{v.state}"'
               f'{thread}>')
    out.append(f'<title>{html.escape(tip)}</title>')
    out.append(f'<rect class="card" x="{r.x:.1f}" y="{r.y:.1f}" width="{r.w:.1f}" '
               f'height="{r.h:.1f}" rx="8" fill="{fill}" stroke="{n.color}" stroke-width="1.3"'
               f'{dash} filter="url(#shadow)"/>')
    cx = r.x + 10
    for i, nr in enumerate(v.numbers):
        chain = v.namespaces[:i + 1]
        ns = pic.by_inode.get(chain) if len(v.namespaces) == len(v.numbers) else None
        color = ns.color if ns else PALETTE[i % len(PALETTE)]
        cw = len(str(nr)) * CHAR + 12
        opacity = ' opacity="0.55"' if zombie else ""
        out.append(f'<rect class="chip" x="{cx:.1f}" y="{r.y + 8:.1f}" width="{cw:.1f}" '
                   f'height="{CHIP_H}" rx="5" fill="{color}"{opacity}><title>pid {nr} in '
                   f'{ns.label if ns else f"level {i}"}</title></rect>')
        out.append(f'<text x="{cx + cw / 2:.1f}" y="{r.y + 22.5:.1f}" text-anchor="middle" '
                   f'font-family="{MONO}" font-size="12" font-weight="bold" fill="white">{nr}</text>')
        cx += cw + 4
    colour = "#8a8f96" if zombie else ("#b86e00" if stopped else "#2b323b")
    y = r.y + 46
    if bound:
        out.append(f'<text class="bound" x="{r.x + 10:.1f}" y="{y:.1f}" font-family="{FONT}" '
                   f'font-size="12" font-weight="bold" fill="{colour}">'
                   f'{html.escape(", ".join(bound))}</text>')
    if lay.card_h > CARD_H:
        y += NAMED_H if bound else NAMED_H / 2      # alone on its card: in the middle
    out.append(f'<text class="comm" x="{r.x + 10:.1f}" y="{y:.1f}" font-family="{FONT}" '
               f'font-size="11.5" fill="{"#5b6470" if bound and not zombie else colour}">'
               f'{html.escape(_kernel_line(v, init is not None))}</text>')
    out.append("</g>")


FORMATS = ("text", "dot", "svg", "json")


def render(views: Iterable[TaskView], fmt: str, title: str = "pidlab", *,
           labels: Labels | None = None) -> str:
    views = list(views)
    if fmt == "text":
        return to_text(views, labels=labels)
    if fmt == "dot":
        return to_dot(views, labels=labels)
    if fmt == "svg":
        return to_svg(views, title, labels=labels)
    if fmt == "json":
        return json.dumps(to_json(views, labels=labels), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
