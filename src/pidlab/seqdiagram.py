"""A schedule of the race explorer as a sequence diagram (SVG), for `--format svg`.

One column (lifeline) per thread of the par block, and one per task a signal woke
(its own kernel work); the steps run top to bottom, each a box in its thread's
column labelled with the kernel function and what it does there, the fields it
changed, and the script line whose call began or returned in it.  The locks a
thread holds are coloured bars beside its boxes, continuous while it holds them
across other threads' steps; a preemption is an arrow from the thread that could
have gone on to the one that did; the step where the property breaks (the last one
that bound a name the condition reads) is outlined in red, or the after block when
only it decides.  The title names the script, the kernel, the condition and the
token; the foot gives the outcome and the command that replays the schedule.

`render(doc)` takes the schedule as pidlab/cli/explore.py builds it (the same
dictionary its JSON output holds, plus the title's facts).  Pure Python, no
dependency: text is measured with render._text_width (DejaVu Sans) and a fixed
advance for the monospaced font.
"""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

from .render import FONT, MONO, _text_width

MARGIN = 24
GUTTER = 46                 # the step numbers, left of the first column
BOX_PAD = 8
LOCK_W = 6                  # a lock bar's width, and its distance to the next
MIN_COL, MAX_COL = 300, 400
PIDNS_ADDING = 1 << 31       # include/linux/pid_namespace.h: pid_allocated's "adding" bit
INK, MUTED, FAINT = "#1d232b", "#5b6470", "#9aa3ad"
BREAK, BREAK_FILL = "#c62828", "#fdecea"
PREEMPT = "#d9480f"
BIND = "#1b6e3a"
CALL = "#31558a"
# A colour per lock (its name without the object it belongs to), the others cycled.
LOCK_COLOURS = {"tasklist_lock": "#e8891c", "pidmap_lock": "#8e5bb5",
                "pid->wait_pidfd.lock": "#1f9d8b", "sighand->siglock": "#3a6fc4",
                "rcu": "#7d8b99"}
OTHER_COLOURS = ("#c2417a", "#5e8c31", "#b5651d", "#4b6cb7", "#7a5230")
COLUMN_TINTS = ("#eef4fb", "#f3effa", "#edf7f2", "#fbf3ea", "#f6eef3", "#eef6f7")


def mono_width(s: str, size: float) -> float:
    """DejaVu Sans Mono's advance is 0.602 em for every character."""
    return len(s) * size * 0.602


def _wrap(text: str, width: float, size: float, mono: bool = False,
          bold: bool = False) -> list[str]:
    """Lines of `text` no wider than `width` px, broken at spaces (or anywhere, for a
    word longer than a line)."""
    def w(s: str) -> float:
        return mono_width(s, size) if mono else _text_width(s, size, bold)
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        cand = f"{cur} {word}" if cur else word
        if w(cand) <= width:
            cur = cand
            continue
        if cur:
            lines.append(cur)
        while w(word) > width and len(word) > 1:
            cut = max(1, int(len(word) * width / max(w(word), 1)))
            while cut > 1 and w(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        cur = word
    if cur or not lines:
        lines.append(cur)
    return lines


def _short(name: str) -> str:
    """P1 for "P1 other"; a woken task keeps its whole name ("task 3/2")."""
    return name.split()[0] if name.startswith("P") else name


def lock_family(label: str) -> str:
    return label.split("(", 1)[0]


class _Text:
    """Lines of one style, to be drawn from a top y."""

    __slots__ = ("lines", "size", "mono", "bold", "colour", "italic", "cls", "lead")

    def __init__(self, lines: list[str], size: float, colour: str, *, mono: bool = False,
                 bold: bool = False, italic: bool = False, cls: str = "",
                 lead: float = 1.35) -> None:
        self.lines, self.size, self.colour = lines, size, colour
        self.mono, self.bold, self.italic, self.cls, self.lead = mono, bold, italic, cls, lead

    @property
    def height(self) -> float:
        return len(self.lines) * self.size * self.lead

    def svg(self, x: float, y: float, anchor: str = "start") -> str:
        esc = html.escape
        attrs = [f'font-family="{MONO if self.mono else FONT}"',
                 f'font-size="{self.size:g}"', f'fill="{self.colour}"']
        if self.bold:
            attrs.append('font-weight="bold"')
        if self.italic:
            attrs.append('font-style="italic"')
        if anchor != "start":
            attrs.append(f'text-anchor="{anchor}"')
        if self.cls:
            attrs.append(f'class="{self.cls}"')
        out = []
        for i, line in enumerate(self.lines):
            base = y + self.size * (1.0 + i * self.lead) - self.size * 0.18
            out.append(f'<text x="{x:.1f}" y="{base:.1f}" {" ".join(attrs)} '
                       f'xml:space="preserve">{esc(line)}</text>')
        return "".join(out)


def pretty_change(change: str) -> str:
    """A changed field as a person reads it: "before → after", and a namespace's
    pid_allocated with its PIDNS_ADDING bit (1 << 31: the namespace takes new pids)
    spelt out."""
    text = change.replace(" -> ", " → ")
    if "pid_allocated" in text:
        text = re.sub(r"\b(\d{10})\b", lambda m: _allocated(int(m.group(1))), text)
    return text


def _allocated(n: int) -> str:
    return f"ADDING+{n - PIDNS_ADDING}" if n >= PIDNS_ADDING else str(n)


def render(doc: dict) -> str:
    """The SVG of one schedule (see the module's text for `doc`)."""
    esc = html.escape
    threads: list[dict] = doc["columns"]
    steps: list[dict] = doc["steps"]
    col_of = {t["index"]: t["column"] for t in doc["threads"]}
    name_of = {t["index"]: t["name"] for t in doc["threads"]}
    ncols = max(len(threads), 1)

    # ---------------------------------------------------------------- column width
    need = MIN_COL - 2 * BOX_PAD - 24
    for s in steps:
        for ch in s["changed"]:
            need = max(need, mono_width(pretty_change(ch), 10.5))
        for e in s["events"]:
            need = max(need, mono_width(f"▸ line {e['line']}: {e['source']}", 10.5))
    for t in threads:
        for ln in t["lines"]:
            need = max(need, mono_width(ln, 10.5))
    col_w = min(MAX_COL, max(MIN_COL, need + 2 * BOX_PAD + 24))
    box_w = col_w - 24 - 3 * LOCK_W      # room on the left for three lock bars
    inner = box_w - 2 * BOX_PAD

    # ---------------------------------------------------------------- locks
    families: dict[str, str] = {}
    labels: dict[str, str] = {}           # full lock label -> colour
    for s in steps:
        for lk in [*s["locks"], *s.get("locks_within", ())]:
            if lk.startswith("cpu("):
                continue                  # the task's CPU: whoever runs the step holds it
            fam = lock_family(lk)
            if fam not in families:
                families[fam] = LOCK_COLOURS.get(
                    fam, OTHER_COLOURS[len([f for f in families if f not in LOCK_COLOURS])
                                       % len(OTHER_COLOURS)])
            labels.setdefault(lk, families[fam])
    lock_slot: dict[str, int] = {lk: i for i, lk in enumerate(labels)}

    # ---------------------------------------------------------------- the header
    title = f"{doc['script']} · Linux {doc['kernel']}"
    cond = doc.get("condition")
    if cond:
        title += f" · {cond['name']}"
    head: list[tuple[_Text, float]] = []
    width_guess = GUTTER + ncols * col_w + 2 * MARGIN
    text_w = max(width_guess, 900) - 2 * MARGIN
    head.append((_Text(_wrap(title, text_w, 19, bold=True), 19, INK, bold=True, cls="title"),
                 4))
    if cond:
        head.append((_Text(_wrap(f"{cond['kind']} {cond['expr']}", text_w, 13, mono=True), 13,
                           INK, mono=True, cls="condition"), 4))
        head.append((_Text(_wrap(cond["observation"], text_w, 12), 12, MUTED,
                           cls="observation"), 2))
    kind = "witness" if cond else "schedule"
    npre = doc.get("preemptions", 0)
    head.append((_Text(_wrap(f"{kind} {doc['token']} · {npre} preemption"
                             f"{'' if npre == 1 else 's'} · {len(steps)} steps", text_w, 12),
                       12, MUTED, cls="token"), 2))
    if doc.get("note"):
        head.append((_Text(_wrap(doc["note"], text_w, 12, bold=True), 12, BREAK, bold=True,
                           cls="note"), 2))
        for line in doc.get("note_conditions", ()):
            head.append((_Text([line], 11.5, MUTED), 0))
    if doc.get("setup"):
        setup = "setup, before every schedule:  " + "  ·  ".join(doc["setup"])
        head.append((_Text(_wrap(setup, text_w, 11, mono=True), 11, MUTED, mono=True,
                           cls="setup"), 6))

    body: list[str] = []
    y = MARGIN - 4
    for t, gap in head:
        body.append(t.svg(MARGIN, y))
        y += t.height + gap
    y += 10

    # ---------------------------------------------------------------- column headers
    def col_x(i: int) -> float:
        return MARGIN + GUTTER + i * col_w

    def box_x(i: int) -> float:
        return col_x(i) + 12 + 3 * LOCK_W

    header_h = 0.0
    headers: list[tuple[_Text, _Text, _Text | None]] = []
    for t in threads:
        name = _Text(_wrap(t["name"], box_w - 16, 14, bold=True), 14, INK, bold=True,
                     cls="lifeline-name")
        if t["kind"] == "thread":
            what = "a thread of the par block" + (f", as {t['task']}" if t.get("task") else "")
            if len(t["threads"]) > 1:
                what += "; below, the task's own kernel work once a signal woke it"
        else:
            what = "a task a signal woke: its own kernel work"
        sub = _Text(_wrap(what, box_w - 16, 10.5), 10.5, MUTED)
        lines = None
        if t["lines"]:
            wrapped = [w for ln in t["lines"] for w in _wrap(ln, box_w - 16, 10.5, mono=True)]
            lines = _Text(wrapped, 10.5, CALL, mono=True)
        headers.append((name, sub, lines))
        header_h = max(header_h, 10 + name.height + sub.height + 6 +
                       (lines.height + 4 if lines else 0) + 8)
    top = y
    for i, (t, (name, sub, lines)) in enumerate(zip(threads, headers)):
        x = box_x(i)
        tint = COLUMN_TINTS[i % len(COLUMN_TINTS)]
        body.append(f'<g class="lifeline" data-threads="{" ".join(map(str, t["threads"]))}" '
                    f'data-name="{esc(t["name"])}">')
        body.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{box_w:.1f}" '
                    f'height="{header_h:.1f}" rx="8" fill="{tint}" stroke="#8795a5" '
                    f'stroke-width="1.2"/>')
        yy = top + 8
        body.append(name.svg(x + 8, yy))
        yy += name.height
        body.append(sub.svg(x + 8, yy))
        yy += sub.height + 6
        if lines:
            body.append(lines.svg(x + 8, yy))
        body.append("</g>")
    y = top + header_h + 14
    rows_top = y

    # ---------------------------------------------------------------- rows
    boxes: list[tuple[float, float, float]] = []    # per step: column x, top, bottom
    rows: list[str] = []
    prev_thread: int | None = None
    breaks = doc.get("breaks")
    for s in steps:
        i = col_of.get(s["thread"], 0)
        x = box_x(i)
        row: list[str] = []
        yy = y
        # A preemption: an arrow from the thread that could have gone on.
        if s["preemption"] and prev_thread is not None and prev_thread in col_of and \
                col_of[prev_thread] != i:
            j = col_of[prev_thread]
            x0 = box_x(j) + box_w / 2
            x1 = x if j < i else x + box_w
            label = f"preemption: {_short(name_of[s['thread']])} runs before " \
                    f"{_short(name_of[prev_thread])} goes on"
            lt = _Text([label], 10.5, PREEMPT, bold=True, cls="preemption-label")
            lx = min(x0, x1) + 6
            row.append(f'<g class="preemption" data-step="{s["n"]}">')
            row.append(lt.svg(lx, yy))
            ay = yy + lt.height + 5
            row.append(f'<path d="M{x0:.1f},{ay:.1f} L{x1:.1f},{ay:.1f}" stroke="{PREEMPT}" '
                       f'stroke-width="1.8" stroke-dasharray="6 3" fill="none" '
                       f'marker-end="url(#preempt)"/>')
            row.append(f'<circle cx="{x0:.1f}" cy="{ay:.1f}" r="3.2" fill="{PREEMPT}"/>')
            row.append("</g>")
            yy = ay + 8
        # The box: the kernel function, what it does, the fields it changed, the bindings.
        fn = s["function"]
        rest = s["label"][len(fn):].lstrip(": ").strip() if s["label"].startswith(fn) else \
            s["label"]
        parts: list[_Text] = [_Text(_wrap(fn, inner, 12.5, bold=True), 12.5, INK, bold=True,
                                    cls="function")]
        if rest:
            parts.append(_Text(_wrap(rest, inner, 11), 11, MUTED, cls="what"))
        if s["changed"]:
            lines = [w for ch in s["changed"] for w in _wrap(pretty_change(ch), inner, 10.5,
                                                             mono=True)]
            parts.append(_Text(lines, 10.5, "#3d4651", mono=True, cls="changed"))
        for e in s["events"]:
            if e["event"] == "call":
                parts.append(_Text(_wrap(f"▸ line {e['line']}: {e['source']}", inner, 10.5,
                                         mono=True), 10.5, CALL, mono=True, cls="call"))
            elif e["event"] == "bind":
                parts.append(_Text(_wrap(f"⇒ {e['text']}", inner, 12, mono=True, bold=True),
                                   12, BIND, mono=True, bold=True, cls="bind"))
            else:
                parts.append(_Text(_wrap(f"stopped at {e['text']}", inner, 11, bold=True), 11,
                                   BREAK, bold=True, cls="stop"))
        h = 2 * BOX_PAD - 3 + sum(p.height + 3 for p in parts)
        broken = breaks == s["n"]
        fill = BREAK_FILL if broken else "white"
        stroke = BREAK if broken else ("#7f8c99" if s["thread"] in col_of else FAINT)
        sw = 2.6 if broken else 1.1
        row.append(f'<g class="step{" breaks" if broken else ""}" data-step="{s["n"]}" '
                   f'data-thread="{s["thread"]}" data-function="{esc(fn)}">')
        row.append(f'<rect x="{x:.1f}" y="{yy:.1f}" width="{box_w:.1f}" height="{h:.1f}" '
                   f'rx="5" fill="{fill}" stroke="{stroke}" stroke-width="{sw}" '
                   f'filter="url(#shadow)"/>')
        ty = yy + BOX_PAD - 1
        for p in parts:
            row.append(p.svg(x + BOX_PAD, ty))
            ty += p.height + 3
        row.append("</g>")
        row.append(f'<text x="{MARGIN + GUTTER - 10:.1f}" y="{yy + 15:.1f}" font-family="{MONO}" '
                   f'font-size="11" fill="{FAINT}" text-anchor="end" class="step-number">'
                   f'{s["n"]}</text>')
        boxes.append((x, yy, yy + h))
        yy += h
        if broken:
            tag = _Text(["▲ the property breaks here"], 11.5, BREAK, bold=True, cls="breaks-tag")
            row.append(tag.svg(x + 4, yy + 3))
            yy += tag.height + 4
        rows.extend(row)
        y = yy + 10
        prev_thread = s["thread"]
    rows_bottom = y

    # ---------------------------------------------------------------- lifelines and locks
    lines_svg: list[str] = []
    for i, _t in enumerate(threads):
        cx = box_x(i) + box_w / 2
        lines_svg.append(f'<line class="lifeline-line" x1="{cx:.1f}" y1="{rows_top - 14:.1f}" '
                         f'x2="{cx:.1f}" y2="{rows_bottom:.1f}" stroke="#b8c1cb" '
                         f'stroke-width="1.4" stroke-dasharray="5 4"/>')
    bars: list[str] = []
    by_thread: dict[int, list[int]] = {}
    for k, s in enumerate(steps):
        by_thread.setdefault(s["thread"], []).append(k)
    for thread, ks in by_thread.items():
        for lk, colour in labels.items():
            span: list[int] = []
            for k in ks + [-1]:
                if k >= 0 and lk in steps[k]["locks"]:
                    span.append(k)
                    continue
                if span:
                    x0 = boxes[span[0]][0] - 4 - LOCK_W * (lock_slot[lk] % 3 + 1) - \
                        2 * (lock_slot[lk] % 3)
                    y0, y1 = boxes[span[0]][1], boxes[span[-1]][2]
                    bars.append(f'<rect class="lock" data-lock="{esc(lk)}" '
                                f'data-thread="{thread}" x="{x0:.1f}" y="{y0:.1f}" '
                                f'width="{LOCK_W}" height="{y1 - y0:.1f}" rx="2" '
                                f'fill="{colour}"><title>{esc(lk)} held</title></rect>')
                    span = []

    for k, s in enumerate(steps):
        for lk in s.get("locks_within", ()):
            fam_colour = labels[lk]
            x0 = boxes[k][0] - 4 - LOCK_W * (lock_slot[lk] % 3 + 1) - 2 * (lock_slot[lk] % 3)
            y0, y1 = boxes[k][1] + 4, boxes[k][1] + 22
            bars.append(f'<rect class="lock lock-within" data-lock="{esc(lk)}" '
                        f'data-thread="{s["thread"]}" x="{x0:.1f}" y="{y0:.1f}" '
                        f'width="{LOCK_W}" height="{y1 - y0:.1f}" rx="2" fill="{fam_colour}" '
                        f'fill-opacity="0.55"><title>{esc(lk)} taken and dropped within '
                        f'step {s["n"]}</title></rect>')

    # ---------------------------------------------------------------- the foot
    foot: list[str] = []
    y = rows_bottom + 6
    total_w = GUTTER + ncols * col_w
    after = doc.get("after")
    if after is not None:
        lines = ["after, once every thread is done:"] + [f"  {ln}" for ln in after["lines"]]
        t1 = _Text(lines, 11, CALL, mono=True)
        t2 = _Text(_wrap(f"⇒ {after['bindings']}", total_w - 24, 12, mono=True, bold=True),
                   12, BIND, mono=True, bold=True, cls="bind")
        h = t1.height + t2.height + 2 * BOX_PAD + 4
        hl = bool(doc.get("breaks_after"))
        foot.append(f'<g class="after{" breaks" if hl else ""}">')
        foot.append(f'<rect x="{MARGIN + GUTTER:.1f}" y="{y:.1f}" width="{total_w - GUTTER:.1f}"'
                    f' height="{h:.1f}" rx="6" fill="{BREAK_FILL if hl else "#f4f6f8"}" '
                    f'stroke="{BREAK if hl else "#8795a5"}" stroke-width="{2.6 if hl else 1.1}"/>')
        foot.append(t1.svg(MARGIN + GUTTER + BOX_PAD, y + BOX_PAD))
        foot.append(t2.svg(MARGIN + GUTTER + BOX_PAD, y + BOX_PAD + t1.height + 4))
        foot.append("</g>")
        y += h + 8
        if hl or doc.get("after_read"):
            text = ("▲ the property breaks here: in what the after block reads" if hl else
                    "the condition also reads what the after block bound")
            tag = _Text([text], 11.5, BREAK if hl else MUTED, bold=hl, italic=not hl,
                        cls="breaks-tag" if hl else "after-read")
            foot.append(tag.svg(MARGIN + GUTTER + 4, y - 4))
            y += tag.height + 4
    text_w = max(total_w, 860)
    out_t = _Text(_wrap("outcome:  " + doc["outcome_text"], text_w, 12, mono=True), 12, INK,
                  mono=True, cls="outcome")
    foot.append(out_t.svg(MARGIN, y + 4))
    y += out_t.height + 8
    verdicts = doc.get("conditions") or {}
    if verdicts:
        vt = _Text(_wrap("on this outcome:  " + ",  ".join(
            f"{k} {'true' if v else 'false'}" for k, v in verdicts.items()), text_w, 11.5),
            11.5, MUTED, cls="verdicts")
        foot.append(vt.svg(MARGIN, y))
        y += vt.height + 4
    if doc.get("replay"):
        rt = _Text(_wrap("replay:  " + doc["replay"], text_w, 11.5, mono=True), 11.5, MUTED,
                   mono=True, cls="replay")
        foot.append(rt.svg(MARGIN, y))
        y += rt.height + 10
    # The legend: the locks drawn, the marks.
    lx = MARGIN
    legend_items: list[tuple[str, str]] = [(lk, colour) for lk, colour in labels.items()]
    foot.append('<g class="legend">')
    ly = y + 4
    for lk, colour in legend_items:
        w = 26 + _text_width(f"{lk} held", 11)
        if lx + w > MARGIN + text_w:
            lx, ly = MARGIN, ly + 18
        foot.append(f'<rect x="{lx:.1f}" y="{ly:.1f}" width="{LOCK_W}" height="13" rx="2" '
                    f'fill="{colour}"/><text x="{lx + 12:.1f}" y="{ly + 11:.1f}" '
                    f'font-family="{FONT}" font-size="11" fill="{MUTED}" class="legend-lock">'
                    f'{esc(lk)} held</text>')
        lx += w + 14
    if legend_items:
        ly += 20
    marks = ("bars beside a box: the locks its thread holds (a bar runs on while the lock is "
             "held across other threads' steps; a short pale one: taken and dropped within "
             "the step) · dashed orange arrow: a preemption · red "
             "box: where the property breaks · ▸ a script line whose call begins in the step, "
             "⇒ what it bound when the call returned")
    mt = _Text(_wrap(marks, text_w, 11), 11, MUTED, cls="legend-marks")
    foot.append(mt.svg(MARGIN, ly))
    ly += mt.height
    foot.append("</g>")
    height = ly + MARGIN
    width = max(MARGIN * 2 + total_w, MARGIN * 2 + text_w)

    full = f"{title} · {doc['token']}"
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(full)}">',
           f'<title>{esc(full)}</title>',
           '<defs><marker id="preempt" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
           'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           f'fill="{PREEMPT}"/></marker>'
           '<filter id="shadow" x="-5%" y="-10%" width="110%" height="130%">'
           '<feDropShadow dx="0" dy="1" stdDeviation="1.2" flood-opacity="0.15"/></filter></defs>',
           '<rect width="100%" height="100%" fill="#fbfbfa"/>',
           *body, *lines_svg, *bars, *rows, *foot, "</svg>"]
    return "\n".join(svg) + "\n"


def columns(svg_doc: Any) -> Sequence[str]:
    """The lifelines' names of a parsed diagram (an ElementTree root), in order."""
    return [g.get("data-name", "") for g in svg_doc.iter("{http://www.w3.org/2000/svg}g")
            if g.get("class") == "lifeline"]
