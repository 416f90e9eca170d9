"""The drawings of pidlab.render: bound names beside the kernel's, the tree layout, the SVG.

The layout is held to what a reader needs from a picture of a process tree, checked on its own
geometry (pure Python, no browser) and again on what Chromium actually renders:
* no two cards overlap;
* every card lies inside the box of its own pid namespace and of every namespace above it,
  and inside no other box: a box encloses exactly its tasks;
* no edge passes through a card (its two ends' cards included: an edge touches the parent's
  bottom and the child's top and never enters either), so no edge strikes a pid chip;
* a parent stands above its children, siblings side by side in pid order, and sibling
  subtrees do not overlap.

The states drawn come from the shipped examples, from a 40-task state in 5 pid namespaces
built through the public API (nested CLONE_NEWPID clones, threads, zombies), from setns(2)
into another task's pid namespace (an edge the tree cannot hold), and from random sequences
of fork, clone, threads, exits, reaping and setns (hypothesis).  Which namespace a task is in,
and who its parent is, the kernel says (`snapshot()`: NSpid, PPid, Tgid); the expected
geometry is only ever a relation between those facts and the drawn rectangles.

The names a drawing shows beside the kernel's comm are the ones the scenario bound
(`svc = init.fork()`), keyed by the task's top-level pid.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pidlab
from pidlab import render, script
from pidlab.cli.main import cli
from pidlab.constants import CLONE_NEWPID, CLONE_PARENT, PR_SET_CHILD_SUBREAPER, WNOHANG

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.pidlab"))
EXAMPLE_IDS = [p.stem for p in EXAMPLES]
CHROMIUM = "/usr/bin/chromium"
SVG_NS = {"s": "http://www.w3.org/2000/svg"}


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pidlab {' '.join(args)} crashed: {result.exception!r}") \
            from result.exception
    return result


def replay(example: Path, k=None) -> tuple[list, script.Runner]:
    """Play a scenario on `k` (a fresh model by default): its snapshot and its runner."""
    k = k if k is not None else pidlab.Kernel()
    runner = script.Runner(k, str(example))
    for step in script.parse(example.read_text(), str(example)):
        assert not runner.step(step).failed, step.source
    return k.snapshot(), runner


# ---------------------------------------------------------------- states

def forty_tasks(k) -> dict[int, list[str]]:
    """Build 40 tasks in 5 pid namespaces on `k`; the names bound to them, by top-level pid.

    init ─┬ svc with 3 threads
          ├ sup ── 11 workers, one with 2 threads, one a zombie
          ├ box (init of ns1) ─┬ a ── a1, a2
          │                    ├ b with a thread
          │                    └ inner (init of ns2) ─┬ x ── x1
          │                                           ├ y
          │                                           └ deep (init of ns3) ── p, q
          ├ web (init of ns4) ─┬ m0 with 2 threads ... m2, and m1's child
          └ z, a zombie
    """
    init = k.init
    names: dict[int, list[str]] = {}

    def bind(name: str, child):
        task = child.task
        names.setdefault(task.numbers[0], []).append(name)
        return task
    svc = bind("svc", init.fork())
    for i in range(3):
        bind(f"svc_t{i}", svc.spawn_thread())
    sup = bind("sup", init.fork())
    workers = [bind(f"worker{i}", sup.fork()) for i in range(4)]
    for i in range(2):
        bind(f"w0_t{i}", workers[0].spawn_thread())
    workers[3].exit_group(0)                                   # a zombie: sup never waits
    box = bind("box", init.clone(CLONE_NEWPID))
    a, b = bind("a", box.fork()), bind("b", box.fork())
    bind("a1", a.fork())
    bind("a2", a.fork())
    bind("b_t", b.spawn_thread())
    inner = bind("inner", box.clone(CLONE_NEWPID))
    x = bind("x", inner.fork())
    bind("y", inner.fork())
    bind("x1", x.fork())
    deep = bind("deep", inner.clone(CLONE_NEWPID))
    bind("p", deep.fork())
    bind("q", deep.fork())
    web = bind("web", init.clone(CLONE_NEWPID))
    ms = [bind(f"m{i}", web.fork()) for i in range(3)]
    for i in range(2):
        bind(f"m0_t{i}", ms[0].spawn_thread())
    bind("m1a", ms[1].fork())
    z = bind("z", init.fork())
    z.exit_group(1)
    for i in range(4, 11):
        bind(f"worker{i}", sup.fork())
    return names


@pytest.fixture(scope="module")
def forty() -> tuple[list, dict[int, list[str]]]:
    k = pidlab.Kernel()
    names = forty_tasks(k)
    return k.snapshot(), names


def setns_state() -> tuple[list, dict[int, list[str]]]:
    """svc joins the namespace of box (setns on a pidfd) and forks into it: that child's
    parent is svc, but its namespace's box hangs under init, the parent of box."""
    k = pidlab.Kernel()
    init = k.init
    svc = init.fork().task                         # 2
    box = init.clone(CLONE_NEWPID).task            # 3, init of ns1
    box.fork()                                     # 4/2
    svc.fork()                                     # 5, in ns0
    svc.setns(svc.pidfd_open(3), CLONE_NEWPID)
    joined = svc.fork().task                       # 6/3, in ns1, child of svc
    init.fork()                                    # 7
    return k.snapshot(), {2: ["svc"], 3: ["box"], joined.numbers[0]: ["joined"]}


# ---------------------------------------------------------------- the geometry a reader needs

def chain_labels(pic: render.Picture, v) -> list[str]:
    """The labels of the task's namespace and every namespace above it."""
    out, n = [], pic.ns_of[v.pid]
    while n is not None:
        out.append(n.label)
        n = n.parent
    return out


def parent_of(v, present: set[int]) -> int | None:
    """Who the task hangs under in the picture: its thread-group leader, or its parent."""
    above = v.tgid if v.is_thread else v.ppid
    return above if above in present and above != v.pid else None


def segments(e: render.Edge) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The edge as straight segments: its lines exactly, each curve as 24 chords."""
    out = []
    at = (e.path[0][1], e.path[0][2])
    for c in e.path[1:]:
        if c[0] == "L":
            out.append((at, (c[1], c[2])))
            at = (c[1], c[2])
            continue
        x0, y0 = at
        x1, y1, x2, y2, x3, y3 = c[1:]
        for i in range(1, 25):
            t = i / 24
            a, b, cc, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3
            q = (a * x0 + b * x1 + cc * x2 + d * x3, a * y0 + b * y1 + cc * y2 + d * y3)
            out.append((at, q))
            at = q
    return out


def crosses(a: tuple[float, float], b: tuple[float, float], r: render.Rect, inset: float) -> bool:
    """Whether the segment a-b enters the rectangle shrunk by `inset` (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = r.x + inset, r.y + inset, r.right - inset, r.bottom - inset
    dx, dy = b[0] - a[0], b[1] - a[1]
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q <= 0:
                return False                  # parallel to this side, and outside it
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo >= hi:
            return False
    return True


def problems(lay: render.Layout, views: list, *, inset: float = 0.75) -> list[str]:
    """Everything wrong with a drawing, as sentences (empty: a clean picture)."""
    pic = render.arrange(views)
    cards, boxes = lay.cards, lay.boxes
    out: list[str] = []
    present = {v.pid for v in views}
    if sorted(cards) != sorted(present):
        out.append(f"cards for {sorted(cards)}, tasks {sorted(present)}")
    if sorted(boxes) != sorted(n.label for n in pic.namespaces):
        out.append(f"boxes {sorted(boxes)}")
    pids = sorted(cards)
    for i, a in enumerate(pids):
        for b in pids[i + 1:]:
            if cards[a].overlaps(cards[b]):
                out.append(f"cards {a} and {b} overlap")
    for v in views:
        mine = set(chain_labels(pic, v))
        for label, box in boxes.items():
            inside = box.encloses(cards[v.pid])
            if label in mine and not inside:
                out.append(f"card {v.pid} is not inside {label}")
            if label not in mine and box.overlaps(cards[v.pid]):
                out.append(f"card {v.pid} (of {pic.label(v)}) is inside {label}")
    for n in pic.namespaces:
        if n.parent is not None and not boxes[n.parent.label].encloses(boxes[n.label]):
            out.append(f"{n.label} is not inside {n.parent.label}")
        kids = [c.label for c in n.children]
        for i, a in enumerate(kids):
            for b in kids[i + 1:]:
                if boxes[a].overlaps(boxes[b]):
                    out.append(f"boxes {a} and {b} overlap")
    want = sorted((p, v.pid) for v in views if (p := parent_of(v, present)) is not None)
    got = sorted((e.parent, e.child) for e in lay.edges)
    if got != want:
        out.append(f"edges {got}, parent links {want}")
    walls = [(f"card {pid}", r) for pid, r in cards.items()]
    walls += [(f"the chip of {label}", r) for label, r in lay.chips.items()]
    walls += [(f"the caption of {label}", r) for label, r in lay.captions.items()]
    for e in lay.edges:
        segs = segments(e)
        pts = [segs[0][0]] + [q for _, q in segs]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        span = render.Rect(min(xs), min(ys), max(xs) - min(xs) + 0.01, max(ys) - min(ys) + 0.01)
        for name, r in walls:
            if not r.overlaps(span):
                continue
            hit = [a for a, b in segs if crosses(a, b, r, inset)]
            if hit:
                out.append(f"edge {e.parent}->{e.child} crosses {name} near {hit[0]}")
        p, c = cards.get(e.parent), cards.get(e.child)
        if p is not None and c is not None:
            (x0, y0), (x1, y1) = pts[0], pts[-1]
            if not (p.x < x0 < p.right and abs(y0 - p.bottom) < 1):
                out.append(f"edge {e.parent}->{e.child} does not leave {e.parent}'s bottom")
            if not (c.x < x1 < c.right and 0 <= c.y - y1 < 3):
                out.append(f"edge {e.parent}->{e.child} does not end on {e.child}'s top")
    return out


def test_forty_task_state_has_forty_tasks_in_five_namespaces_with_threads_and_zombies(forty):
    views, names = forty
    assert len(views) == 40
    assert len({v.namespaces for v in views}) == 5
    assert sum(v.is_thread for v in views) == 8
    assert [names[v.pid] for v in views if v.state == "Z"] == [["worker3"], ["z"]]
    assert max(len(v.numbers) for v in views) == 4


def test_forty_tasks_lay_out_with_no_overlap_no_edge_through_a_card_every_card_in_its_box(forty):
    views, names = forty
    lay = render.layout(views, labels=names)
    assert problems(lay, views) == []
    assert not any(e.routed for e in lay.edges)          # the whole state is a tree


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_lays_out_cleanly(example):
    views, _ = replay(example)
    lay = render.layout(views)
    assert problems(lay, views) == [] and tree_shape(lay, views) == []


def _subtree(pic: render.Picture, pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c.pid for c in pic.children[p]]
    return out


def _hull(lay: render.Layout, pids: list[int]) -> render.Rect:
    rs = [lay.cards[p] for p in pids]
    x, y = min(r.x for r in rs), min(r.y for r in rs)
    return render.Rect(x, y, max(r.right for r in rs) - x, max(r.bottom for r in rs) - y)


def tree_shape(lay: render.Layout, views: list) -> list[str]:
    """What is wrong with the picture as a tree: parents above children, siblings side by side
    in pid order (row after row when a long run of childless ones wraps), subtrees apart."""
    pic = render.arrange(views)
    # A child the tree cannot hold (setns into a namespace whose box hangs elsewhere) stands in
    # its box, not under its parent: its edge is routed instead, and problems() checks it.
    off = {e.child for e in lay.edges if e.routed}
    pic.children = {p: [c for c in kids if c.pid not in off] for p, kids in pic.children.items()}
    out = []
    for v in views:
        kids = pic.children[v.pid]
        if not kids:
            continue
        parent = lay.cards[v.pid]
        for c in kids:
            if lay.cards[c.pid].y < parent.bottom + render.GAP_Y - 0.01:
                out.append(f"{c.pid} is not below its parent {v.pid}")
        # The children in the parent's own namespace, in pid order (a long run of childless
        # ones may wrap into rows); a child in a namespace below stands in that namespace's box,
        # with the others of its box.
        own = [c for c in kids if pic.ns_of[c.pid] is pic.ns_of[v.pid]]
        step = lay.card_h + render.GAP_Y
        reading = sorted(own, key=lambda c: (
            round((lay.cards[c.pid].y - parent.bottom - render.GAP_Y) / step), lay.cards[c.pid].x))
        if reading != own:
            out.append(f"children of {v.pid} out of pid order: {[c.pid for c in reading]}")
        hulls = [_hull(lay, _subtree(pic, c.pid)) for c in kids]
        for i, a in enumerate(hulls):
            for j in range(i + 1, len(hulls)):
                if a.overlaps(hulls[j]):
                    out.append(f"subtrees of {kids[i].pid} and {kids[j].pid} overlap")
        under = [lay.cards[c.pid] for c in kids]
        centre = parent.x + parent.w / 2
        if not min(r.x for r in under) <= centre <= max(r.right for r in under):
            out.append(f"{v.pid} is not over its children")
    return out


def test_parents_stand_above_children_side_by_side_in_pid_order_subtrees_apart(forty):
    views, names = forty
    assert tree_shape(render.layout(views, labels=names), views) == []


def test_a_long_run_of_childless_siblings_wraps_into_rows_fed_by_a_trunk():
    k = pidlab.Kernel()
    sup = k.init.fork().task
    for _ in range(40):
        sup.fork()
    k.init.fork()
    views = k.snapshot()
    lay = render.layout(views)
    assert problems(lay, views) == [] and tree_shape(lay, views) == []
    rows = sorted({r.y for pid, r in lay.cards.items() if pid > 2 and pid < 43})
    assert len(rows) > 1, "40 siblings in one row"
    # the rows are no wider than about the square root of what one row would be
    assert lay.width < 40 * lay.cards[3].w / 2


def test_a_child_namespace_box_hangs_under_the_parent_of_its_init(forty):
    views, names = forty
    lay = render.layout(views, labels=names)
    pic = render.arrange(views)
    for n in pic.namespaces[1:]:
        init = next(v for v in n.tasks if v.numbers[-1] == 1)
        parent = lay.cards[init.ppid]
        box = lay.boxes[n.label]
        assert box.y >= parent.bottom + render.GAP_Y - 0.01, n.label
        # within the columns of the parent's subtree: its cards and the boxes of its namespaces
        under = set(_subtree(pic, init.ppid))
        hull = [lay.cards[p] for p in under] + [
            lay.boxes[m.label] for m in pic.namespaces if m.tasks and {v.pid for v in m.tasks} <= under]
        assert min(r.x for r in hull) <= box.x and box.right <= max(r.right for r in hull), n.label
        outside = [v.pid for v in views if v.pid not in under and
                   lay.cards[v.pid].x < box.right and box.x < lay.cards[v.pid].right and
                   lay.cards[v.pid].y > parent.bottom]
        assert outside == [], f"{n.label}'s column holds cards from elsewhere: {outside}"


def test_an_edge_of_setns_then_fork_is_routed_around_every_card():
    views, names = setns_state()
    lay = render.layout(views, labels=names)
    routed = [(e.parent, e.child) for e in lay.edges if e.routed]
    assert routed == [(2, 6)]                 # svc -> the child it forked into box's namespace
    assert problems(lay, views) == []


def test_the_drawing_does_not_depend_on_the_order_of_the_snapshot(forty):
    views, names = forty
    svg = render.to_svg(views, "t", labels=names)
    assert render.to_svg(list(reversed(views)), "t", labels=names) == svg
    assert render.to_svg(views, "t", labels=names) == svg


# Random states: each operation picks its actor (and a target) by index among the tasks alive.
OPS = st.lists(st.tuples(st.sampled_from(["fork", "fork", "newpid", "thread", "exit", "reap",
                                          "setns", "parent", "subreaper"]),
                         st.integers(0, 10_000), st.integers(0, 10_000)), max_size=28)


def random_state(ops: list[tuple[str, int, int]]) -> list:
    k = pidlab.Kernel()
    for op, i, j in ops:
        views = {v.pid: v for v in k.snapshot()}
        live = [t for t in k.tasks() if views[t.numbers[0]].state != "Z"]
        if not live:
            break
        actor = live[i % len(live)]
        try:
            if op == "fork":
                actor.fork()
            elif op == "newpid":
                actor.clone(CLONE_NEWPID)
            elif op == "thread":
                actor.spawn_thread()
            elif op == "exit" and views[actor.numbers[0]].tgid != 1:      # init stays
                actor.exit_group(0)
            elif op == "reap":
                actor.waitpid(-1, WNOHANG)
            elif op == "parent":
                actor.clone(CLONE_PARENT)
            elif op == "subreaper":
                actor.prctl(PR_SET_CHILD_SUBREAPER, 1)
            elif op == "setns":
                # into the namespace of a task the actor can see, then a child there
                me = views[actor.numbers[0]].namespaces
                seen = [v for v in views.values() if v.namespaces[:len(me)] == me]
                target = seen[j % len(seen)]
                actor.setns(actor.pidfd_open(target.numbers[len(me) - 1]), CLONE_NEWPID)
                actor.fork()
        except (OSError, pidlab.TaskExited, pidlab.WouldBlock):
            pass                 # the kernel refused: the state is whatever it left
    return k.snapshot()


@settings(max_examples=int(os.environ.get("PIDLAB_RENDER_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_random_process_trees_lay_out_cleanly(ops):
    views = random_state(ops)
    labels = {v.pid: [f"t{v.pid}"] for v in views if v.pid % 3}
    lay = render.layout(views, labels=labels)
    assert problems(lay, views) == [] and tree_shape(lay, views) == []


def test_forty_tasks_draw_the_same_on_both_backends(kernel):
    names = forty_tasks(kernel)
    views = kernel.snapshot()
    lay = render.layout(views, labels=names)
    assert problems(lay, views) == []
    model = pidlab.Kernel()
    assert forty_tasks(model) == names
    want = render.layout(model.snapshot(), labels=names)
    assert (lay.cards, lay.boxes, lay.edges) == (want.cards, want.boxes, want.edges)


# ---------------------------------------------------------------- the names a scenario bound

PROCESS_TREE = ROOT / "examples" / "process-tree.pidlab"


def test_text_tree_shows_the_bound_names_beside_the_kernels_comm():
    views, _ = replay(PROCESS_TREE)
    comm = {v.pid: v.name for v in views}
    out = render.to_text(views, labels={2: ["svc"], 3: ["worker"], 4: ["ns", "box"]})
    assert re.search(rf"^\s+├─ 2\s+S\s+ns0\s+svc \(comm: {re.escape(comm[2])}\)\s*$", out, re.M)
    assert re.search(rf"└─ 3\s+S\s+ns0\s+worker \(comm: {re.escape(comm[3])}\)\s+thread of 2$",
                     out, re.M)
    assert re.search(rf"├─ 4/1\s+S\s+ns1\s+ns, box \(comm: {re.escape(comm[4])}\)\s+init of ns1$",
                     out, re.M)
    # a task nobody bound shows the kernel's name alone
    assert re.search(rf"^\s+1\s+S\s+ns0\s+{re.escape(comm[1])}\s+init of ns0$", out, re.M)
    assert render.to_text(views) == render.to_text(views, labels={})
    assert render.to_text(views, labels={999: ["gone"]}) == render.to_text(views)


def test_json_carries_the_bound_names_of_every_task():
    views, _ = replay(PROCESS_TREE)
    data = render.to_json(views, labels={2: ["svc"], 9: ["d", "leaf"]})
    got = {t["pid"]: t["labels"] for t in data["tasks"]}
    assert got == {v.pid: {2: ["svc"], 9: ["d", "leaf"]}.get(v.pid, []) for v in views}
    assert all(t["name"] == v.name for t, v in zip(data["tasks"], sorted(views, key=lambda v: v.pid)))


def test_dot_node_shows_the_bound_names_and_escapes_quotes_in_them():
    views, _ = replay(PROCESS_TREE)
    comm = {v.pid: v.name for v in views}
    dot = render.to_dot(views, labels={2: ["svc"], 5: ['a"b']})
    assert f't2 [label="2\\nsvc (comm: {comm[2]}) [S]"' in dot
    assert f't5 [label="5 | 2\\na\\"b (comm: {comm[5]}) [S]"' in dot


def test_rich_tree_shows_the_bound_names_beside_the_kernels_comm():
    from rich.console import Console
    views, _ = replay(PROCESS_TREE)
    con = Console(width=120, record=True, color_system=None)
    con.print(render.to_rich(views, labels={2: ["svc"]}))
    text = con.export_text()
    assert re.search(rf"svc \(comm: {re.escape(views[1].name)}\) \[sleeping\]", text)


def test_svg_card_shows_the_bound_names_in_bold_and_the_kernels_line_under_them():
    views, _ = replay(PROCESS_TREE)
    svg = render.to_svg(views, "t", labels={2: ["svc"], 3: ["worker"], 10: ["z"]})
    root = ET.fromstring(svg)
    cards = {int(g.get("data-pid")): g for g in root.iterfind(".//s:g[@class='task']", SVG_NS)}
    assert cards.keys() == {v.pid for v in views}
    comm = {v.pid: v.name for v in views}
    for pid, g in cards.items():
        bound = [t.text for t in g.iterfind("s:text[@class='bound']", SVG_NS)]
        assert bound == {2: ["svc"], 3: ["worker"], 10: ["z"]}.get(pid, []), pid
        assert bound == [] or g.find("s:text[@class='bound']", SVG_NS).get("font-weight") == "bold"
        line = g.find("s:text[@class='comm']", SVG_NS).text
        assert line.split(" · ")[0].lstrip("★ ") == comm[pid]
    assert cards[3].find("s:text[@class='comm']", SVG_NS).text.endswith(" · thread")
    assert " · zombie" in cards[10].find("s:text[@class='comm']", SVG_NS).text
    assert cards[4].find("s:text[@class='comm']", SVG_NS).text.startswith("★ ")
    # without names the cards keep their old height: one line fewer
    plain = ET.fromstring(render.to_svg(views, "t"))
    heights = {float(r.get("height")) for r in plain.iterfind(".//s:rect[@class='card']", SVG_NS)}
    assert heights == {render.CARD_H}


def test_every_drawing_takes_labels_as_a_keyword():
    views, _ = replay(PROCESS_TREE)
    labels = {2: ["svc"]}
    for fmt in render.FORMATS:
        assert "svc" in render.render(views, fmt, "t", labels=labels), fmt
        assert "svc" not in render.render(views, fmt, "t"), fmt


@pytest.mark.parametrize("labels", [{2: "svc"}, {2: [b"svc"]}, {2: [7]}])
def test_labels_that_are_not_lists_of_names_are_a_type_error(labels):
    views, _ = replay(PROCESS_TREE)
    for fmt in render.FORMATS:
        with pytest.raises(TypeError, match=r"labels\[2\] must be a sequence of names"):
            render.render(views, fmt, "t", labels=labels)


@pytest.mark.parametrize("backend", ["model", "live"])
def test_pidlab_tree_shows_the_names_the_script_bound(backend):
    if backend == "live" and _live_unavailable():
        pytest.skip(f"live backend unavailable here: {_live_unavailable()}")
    result = invoke("tree", str(PROCESS_TREE), "--format", "json", "--backend", backend)
    assert result.exit_code == 0, result.output
    got = {t["pid"]: t["labels"] for t in json.loads(result.stdout)["tasks"]}
    # process-tree.pidlab: svc = init.fork() -> 2, worker = svc.spawn_thread() -> 3, ...
    assert got == {1: [], 2: ["svc"], 3: ["worker"], 4: ["ns"], 5: ["a"], 6: ["b"], 7: ["c"],
                   8: ["inner"], 9: ["d"], 10: ["z"]}


@pytest.mark.parametrize("backend", ["model", "live"])
def test_pidlab_tree_leaves_out_a_name_whose_task_was_reaped(tmp_path, backend):
    if backend == "live" and _live_unavailable():
        pytest.skip(f"live backend unavailable here: {_live_unavailable()}")
    path = tmp_path / "reaped.pidlab"
    path.write_text("gone = init.fork() -> 2\ngone.exit_group(0)\ninit.waitpid(2, 0)\n"
                    "kept = init.fork() -> 3\n")
    result = invoke("tree", str(path), "--format", "json", "--backend", backend)
    assert result.exit_code == 0, result.output
    got = {t["pid"]: t["labels"] for t in json.loads(result.stdout)["tasks"]}
    assert got == {1: [], 3: ["kept"]}


def _live_unavailable() -> str | None:
    try:
        k = pidlab.LiveKernel()
    except pidlab.BackendUnavailable as e:
        return str(e) or type(e).__name__
    k.close()
    return None


def test_tree_json_parses_and_matches_the_snapshot():
    example = ROOT / "examples" / "nested-namespaces.pidlab"
    nested = ["1", "2/1", "3/2/1", "4/3/2/1", "5/4/3/2"]
    result = invoke("tree", str(example), "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [t["numbers"] for t in data["tasks"]] == [[int(x) for x in r.split("/")]
                                                     for r in nested]
    assert [(n["id"], n["level"], n["parent"], n["tasks"]) for n in data["namespaces"]] == [
        ("ns0", 0, None, 1), ("ns1", 1, "ns0", 1), ("ns2", 2, "ns1", 1), ("ns3", 3, "ns2", 2)]
    assert [t["init_of"] for t in data["tasks"]] == ["ns0", "ns1", "ns2", "ns3", None]
    snap, _ = replay(example)
    # the script binds ns1 = init.clone(...) -> 2, ns2, ns3 and leaf = ns3.fork()
    labels = {2: ["ns1"], 3: ["ns2"], 4: ["ns3"], 5: ["leaf"]}
    assert data == render.to_json(snap, labels=labels)
    inodes = {n["id"]: n["inode"] for n in data["namespaces"]}
    for t, view in zip(data["tasks"], sorted(snap, key=lambda v: v.pid)):
        assert [inodes[ns] for ns in t["namespaces"]] == list(view.namespaces)


# ---------------------------------------------------------------- the SVG in Chromium

NESTED_ROWS = ["1", "2/1", "3/2/1", "4/3/2/1", "5/4/3/2"]

MEASURE = """<!doctype html><html><body style="margin:0"><pre id="result">pending</pre>
<script>
const doc = new DOMParser().parseFromString(SVG_TEXT, "image/svg+xml");
const out = {parsererror: doc.getElementsByTagName("parsererror").length};
if (!out.parsererror) try {
  const svg = document.importNode(doc.documentElement, true);
  document.body.appendChild(svg);
  const vb = svg.viewBox.baseVal;
  out.viewbox = [vb.x, vb.y, vb.width, vb.height];
  const r = svg.getBoundingClientRect();
  out.size = [r.width, r.height];
  const box = e => { const b = e.getBBox(); return [b.x, b.y, b.width, b.height]; };
  out.tasks = [...svg.querySelectorAll("g.task")].map(g => ({
    pid: g.getAttribute("data-pid"), ns: g.getAttribute("data-ns"), bbox: box(g),
    card: box(g.querySelector("rect.card")),
    chipboxes: [...g.querySelectorAll("rect.chip")].map(box),
    chips: [...g.querySelectorAll("text")].map(t => t.textContent),
    texts: [...g.querySelectorAll("text")].map(t => ({text: t.textContent, bbox: box(t)}))}));
  out.namespaces = [...svg.querySelectorAll("g.ns")].map(g => ({
    ns: g.getAttribute("data-ns"), bbox: box(g), box: box(g.querySelector("rect.ns-box")),
    label: box(g.querySelector("g.ns-label")), caption: box(g.querySelector("text.ns-caption"))}));
  out.texts = [...svg.querySelectorAll("text")].map(t => ({text: t.textContent, bbox: box(t)}));
  out.edges = svg.querySelectorAll("path.edge").length;
  out.paths = [...svg.querySelectorAll("path.edge")].map(p => {
    const n = p.getTotalLength(), pts = [];
    for (let s = 0; s <= n; s += 1) { const q = p.getPointAtLength(s); pts.push([q.x, q.y]); }
    const q = p.getPointAtLength(n); pts.push([q.x, q.y]);
    return {parent: p.getAttribute("data-parent"), child: p.getAttribute("data-child"), pts};
  });
} catch (e) { out.error = String(e); }
document.getElementById("result").textContent = JSON.stringify(out);
</script></body></html>
"""


def _chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=tmp)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"chromium did not finish in 60 s: {' '.join(args)}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _measure(svg: str, tmp: Path) -> dict:
    page = tmp / "measure.html"
    page.write_text(MEASURE.replace("SVG_TEXT", json.dumps(svg).replace("</", "<\\/")))
    dom = _chromium(["--virtual-time-budget=3000", "--dump-dom", page.as_uri()], tmp)
    m = re.search(r'<pre id="result">(.*?)</pre>', dom.stdout, re.S)
    assert m and m.group(1) != "pending", \
        f"chromium printed no result (exit {dom.returncode}): {dom.stderr[-2000:]}"
    out = json.loads(html.unescape(m.group(1)))
    assert "error" not in out, f"the measuring script failed in chromium: {out['error']}"
    return out


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit, non-interlaced RGB(A) PNG into rows of pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + (left + prev[x]) // 2) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b, c = prev[x], (prev[x - bpp] if x >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        prev = line
    pixels = [row[x:x + 3] for row in rows for x in range(0, stride, bpp)]
    return w, h, pixels


def need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: cannot check that the SVG renders in a browser")


@pytest.fixture(scope="module")
def svg_in_chromium(tmp_path_factory) -> dict:
    need_chromium()
    tmp = tmp_path_factory.mktemp("svg")
    svg_path = tmp / "tree.svg"
    result = invoke("tree", "--format", "svg", "-o", str(svg_path))
    assert result.exit_code == 0, result.output
    svg = svg_path.read_text()
    measured = _measure(svg, tmp)
    root = ET.fromstring(svg)
    width, height = int(float(root.get("width"))), int(float(root.get("height")))
    shot = tmp / "tree.png"
    _chromium([f"--window-size={width},{height}", f"--screenshot={shot}", svg_path.as_uri()], tmp)
    assert shot.exists(), "chromium wrote no screenshot"
    return {"svg": svg, "stdout": invoke("tree", "--format", "svg").stdout,
            "measured": measured, "png": shot.read_bytes(), "size": (width, height)}


def test_tree_svg_is_well_formed_with_a_card_per_task(svg_in_chromium):
    svg = svg_in_chromium["svg"]
    assert svg_in_chromium["stdout"] == svg
    root = ET.fromstring(svg)                       # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    cards = root.findall(".//s:g[@class='task']", SVG_NS)
    assert sorted(int(g.get("data-pid")) for g in cards) == [1, 2, 3, 4, 5]
    assert sorted(g.get("data-ns") for g in root.findall(".//s:g[@class='ns']", SVG_NS)) == \
        ["ns0", "ns1", "ns2", "ns3"]


def test_tree_svg_renders_in_chromium_with_every_element_visible(svg_in_chromium):
    m = svg_in_chromium["measured"]
    assert m["parsererror"] == 0
    assert m["size"][0] > 0 and m["size"][1] > 0
    assert sorted(int(t["pid"]) for t in m["tasks"]) == [1, 2, 3, 4, 5]
    for t in m["tasks"]:
        assert t["bbox"][2] > 20 and t["bbox"][3] > 20, t
    chips = {int(t["pid"]): [c for c in t["chips"] if c.isdigit()] for t in m["tasks"]}
    assert {p: "/".join(c) for p, c in chips.items()} == dict(enumerate(NESTED_ROWS, 1))
    assert sorted(n["ns"] for n in m["namespaces"]) == ["ns0", "ns1", "ns2", "ns3"]
    for n in m["namespaces"]:
        assert n["bbox"][2] > 0 and n["bbox"][3] > 0
    boxes = {n["ns"]: n["bbox"] for n in m["namespaces"]}
    for outer, inner in (("ns0", "ns1"), ("ns1", "ns2"), ("ns2", "ns3")):   # drawn nested
        ox, oy, ow, oh = boxes[outer]
        ix, iy, iw, ih = boxes[inner]
        assert ox <= ix and oy <= iy and ix + iw <= ox + ow and iy + ih <= oy + oh
    assert m["edges"] == 4


def test_tree_svg_text_fits_inside_the_drawing(svg_in_chromium):
    x0, y0, w, h = svg_in_chromium["measured"]["viewbox"]
    outside = [t["text"] for t in svg_in_chromium["measured"]["texts"]
               if t["bbox"][0] < x0 or t["bbox"][0] + t["bbox"][2] > x0 + w + 0.5
               or t["bbox"][1] + t["bbox"][3] > y0 + h + 0.5]
    assert outside == [], f"text cut off at the {w:.0f}px edge of the drawing: {outside}"


def test_tree_svg_screenshot_is_not_blank(svg_in_chromium):
    w, h, pixels = _png_pixels(svg_in_chromium["png"])
    assert (w, h) == svg_in_chromium["size"]
    background = {b"\xff\xff\xff", bytes.fromhex("fbfbfa")}
    drawn = sum(1 for p in pixels if p not in background)
    assert drawn > 0.10 * len(pixels), f"only {drawn} of {len(pixels)} pixels drawn"
    colours = set(pixels)
    assert len(colours) > 20
    for level in range(4):                 # a chip of every namespace level is painted
        want = bytes.fromhex(render.PALETTE[level].lstrip("#"))
        assert any(all(abs(a - b) <= 3 for a, b in zip(c, want)) for c in colours), \
            f"no pixel of level {level}'s colour {render.PALETTE[level]}"


def _rect(b: list[float]) -> render.Rect:
    return render.Rect(*b)


@pytest.fixture(scope="module")
def forty_in_chromium(forty, tmp_path_factory) -> tuple[list, dict, dict]:
    need_chromium()
    views, names = forty
    svg = render.to_svg(views, "pidlab · 40 tasks", labels=names)
    return views, names, _measure(svg, tmp_path_factory.mktemp("svg40"))


def test_forty_tasks_in_chromium_no_two_cards_overlap(forty_in_chromium):
    views, _, m = forty_in_chromium
    assert m["parsererror"] == 0
    cards = {int(t["pid"]): _rect(t["card"]) for t in m["tasks"]}
    assert sorted(cards) == sorted(v.pid for v in views)
    pids = sorted(cards)
    overlapping = [(a, b) for i, a in enumerate(pids) for b in pids[i + 1:]
                   if cards[a].overlaps(cards[b])]
    assert overlapping == []


def test_forty_tasks_in_chromium_every_card_inside_its_namespace_boxes_and_no_other(
        forty_in_chromium):
    views, _, m = forty_in_chromium
    pic = render.arrange(views)
    cards = {int(t["pid"]): _rect(t["card"]) for t in m["tasks"]}
    boxes = {n["ns"]: _rect(n["box"]) for n in m["namespaces"]}
    assert len(boxes) == 5
    wrong = []
    for v in views:
        mine = chain_labels(pic, v)
        for label, box in boxes.items():
            if (label in mine) != box.encloses(cards[v.pid]) or \
                    (label not in mine and box.overlaps(cards[v.pid])):
                wrong.append((v.pid, label))
    assert wrong == []


def test_forty_tasks_in_chromium_no_edge_crosses_a_card_or_strikes_a_pid_chip(
        forty_in_chromium):
    views, _, m = forty_in_chromium
    present = {v.pid for v in views}
    want = sorted((p, v.pid) for v in views if (p := parent_of(v, present)) is not None)
    assert sorted((int(p["parent"]), int(p["child"])) for p in m["paths"]) == want
    cards = {int(t["pid"]): _rect(t["card"]) for t in m["tasks"]}
    chips = [(int(t["pid"]), _rect(c)) for t in m["tasks"] for c in t["chipboxes"]]
    labels = [(n["ns"], _rect(n["label"])) for n in m["namespaces"]]
    crossings = []
    for path in m["paths"]:
        edge = (int(path["parent"]), int(path["child"]))
        assert len(path["pts"]) > 10, edge
        for pid, r in cards.items():          # the two ends' cards included: touched, not entered
            if any(r.holds(x, y, 0.75) for x, y in path["pts"]):
                crossings.append((edge, f"card {pid}"))
        for pid, r in chips:
            if any(r.holds(x, y) for x, y in path["pts"]):
                crossings.append((edge, f"a chip of {pid}"))
        for ns, r in labels:
            if any(r.holds(x, y) for x, y in path["pts"]):
                crossings.append((edge, f"the label of {ns}"))
    assert crossings == []


def test_forty_tasks_in_chromium_every_name_and_chip_fits_on_its_card(forty_in_chromium):
    views, names, m = forty_in_chromium
    spill = []
    for t in m["tasks"]:
        card = _rect(t["card"])
        for text in t["texts"]:
            b = _rect(text["bbox"])
            if not card.encloses(render.Rect(b.x - 4, b.y, b.w + 8, b.h)):   # 4px to spare
                spill.append((t["pid"], text["text"]))
    assert spill == []
    shown = {int(t["pid"]): t["chips"] for t in m["tasks"]}
    for v in views:
        if v.pid in names:
            assert ", ".join(names[v.pid]) in shown[v.pid], v.pid
