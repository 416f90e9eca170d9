"""pidlab demo: a guided tour on the model, no privileges needed."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

import pidlab
import pidlab.versions
from pidlab import (AT_EMPTY_PATH, CLONE_NEWPID, FD_PIDFS_ROOT, O_RDONLY, PIDFD_INFO_EXIT,
                    SIGKILL)

from .. import render
from .common import console, is_rich, kernel_option


def _nums(task) -> str:
    return " / ".join(map(str, task.numbers))


class Tour:
    """Prints the tour's screens, and keeps them as data for --format json."""

    def __init__(self, con: Console, as_json: bool = False) -> None:
        self.con = con
        self.rich = is_rich(con) and not as_json
        self.as_json = as_json
        self.screens: list[dict] = []

    def screen(self, title: str, text: str) -> None:
        self.screens.append({"screen": len(self.screens) + 1, "title": title, "text": text,
                             "shows": []})
        if self.as_json:
            return
        n = len(self.screens)
        self.con.print()
        if self.rich:
            self.con.print(Panel(text, title=f"[bold]{n}. {title}", width=min(self.con.width, 92),
                                 border_style="cyan"))
        else:
            self.con.print(f"{n}. {title}", markup=False)
            self.con.print("   " + text, markup=False)

    def _show(self, item: dict) -> None:
        if self.screens:
            self.screens[-1]["shows"].append(item)

    def say(self, text: str) -> None:
        self._show({"text": _plain(text)})
        if not self.as_json:
            self.con.print(text if self.rich else _plain(text), markup=self.rich, highlight=False)

    def table(self, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        self._show({"columns": list(columns), "rows": [list(r) for r in rows]})
        if not self.as_json:
            table = Table(*columns, box=None, pad_edge=False)
            for row in rows:
                table.add_row(*row)
            self.con.print(table)

    def tree(self, k: pidlab.Kernel) -> None:
        views = k.snapshot()
        self._show({"tree": render.to_json(views)})
        if self.as_json:
            return
        if self.rich:
            self.con.print(render.to_rich(views))
        else:
            self.con.print(render.to_text(views), markup=False, end="")


def _plain(text: str) -> str:
    from rich.text import Text
    return Text.from_markup(text).plain


def _lacks(k: pidlab.Kernel, key: str) -> str:
    """A line saying which change this version lacks."""
    c = pidlab.versions.introduced(key)
    return (f"Linux {k.version} predates it: [bold]{c.title}[/] ({c.version}, "
            f"commit {c.commit}) — {c.effect}.")


def tour(con: Console, as_json: bool = False, version: str | None = None) -> list[dict]:
    """Run the tour; returns its screens (what --format json prints)."""
    t = Tour(con, as_json)
    k = pidlab.Kernel(version=version) if version else pidlab.Kernel()
    init = k.init
    if version:
        t.say(f"[bold]The model as Linux {k.version}[/] ({len(k.changes)} of "
              f"{len(pidlab.changes())} upstream changes pidlab knows).")

    t.screen("Nested pid namespaces",
             "A process has one pid in every namespace from the top down to its own. "
             "We nest three namespaces and ask each task for its own pid (getpid) and for "
             "its numbers at every level (what /proc/<pid>/status calls NSpid).")
    rows = []
    parent = init
    for depth in range(1, 4):
        c = parent.clone(CLONE_NEWPID)
        rows.append((f"init of level {depth}", str(c.task.getpid()), _nums(c.task)))
        parent = c.task
    leaf = parent.fork().task
    rows.append(("its child", str(leaf.getpid()), _nums(leaf)))
    t.table(("task", "getpid() inside", "pid at every level, outermost first"), rows)
    t.say("The whole machine, drawn by [bold]pidlab tree[/]:")
    t.tree(k)

    if k.has("pidns-pid-max"):
        t.screen("pid_max per namespace, capped by every ancestor",
                 "Each namespace has its own /proc/sys/kernel/pid_max. A new one starts at "
                 "4194304 whatever its parent says, but a fork needs a free number at every "
                 "level, so the tightest limit on the way up wins (EAGAIN).")
    else:
        t.screen("One pid_max for the whole machine",
                 "Before 6.14 /proc/sys/kernel/pid_max is one value: a write in any namespace "
                 "is the machine's, and it bounds every level (EAGAIN).")
        t.say(_lacks(k, "pidns-pid-max"))
    outer_child = init.clone(CLONE_NEWPID)
    outer = outer_child.task
    saved = init.read_text("/proc/sys/kernel/pid_max").strip()
    outer.write_text("/proc/sys/kernel/pid_max", "310")
    inner = outer.clone(CLONE_NEWPID).task
    made = 0
    try:
        while True:
            inner.fork()
            made += 1
    except OSError as e:
        t.say(f"outer pid_max = 310, inner pid_max = "
              f"{inner.read_text('/proc/sys/kernel/pid_max').strip()}: the inner init forked "
              f"{made} children, then got [bold red]{e.strerror}[/].")
    # The outer init's death takes both namespaces with it; a machine-wide value goes back.
    init.kill(outer_child.pid, SIGKILL)
    init.waitpid(outer_child.pid, 0)
    if not k.has("pidns-pid-max"):
        init.write_text("/proc/sys/kernel/pid_max", saved)
        t.say(f"(the machine's pid_max is back at {saved}: with 310 no process could fork)")

    t.screen("The cursor wraps to 300",
             "Numbers come from a per-namespace cursor. Past pid_max - 1 it wraps to "
             "RESERVED_PIDS (300), never back to 2, so low numbers stay with early processes.")
    ns = init.clone(CLONE_NEWPID).task
    ns.write_text("/proc/sys/kernel/pid_max", "400")
    ns.write_text("/proc/sys/kernel/ns_last_pid", "396")
    pids = []
    for _ in range(5):
        c = ns.fork()
        pids.append(c.pid)
        c.task.exit(0)
        ns.waitpid(c.pid, 0)
    t.say("five forks after ns_last_pid = 396 with pid_max = 400: "
          f"[bold]{', '.join(map(str, pids))}[/]")

    t.screen("A pid is recycled; a pidfd is not",
             "A supervisor holding a number can signal the wrong process once the number is "
             "reused. A pidfd names the process itself: it fails with ESRCH instead"
             + (", and its pidfs inode number is never reused." if k.has("pidfs") else
                "; before 6.9 every pidfd shares one anonymous inode, so st_ino tells "
                "nothing apart."))
    ns = init.clone(CLONE_NEWPID).task
    victim = ns.clone(pidfd=True)
    ino = ns.fstat(victim.pidfd).st_ino
    ns.kill(victim.pid, SIGKILL)
    ns.waitpid(victim.pid, 0)
    ns.write_text("/proc/sys/kernel/ns_last_pid", str(victim.pid - 1))
    impostor = ns.fork()
    try:
        ns.pidfd_send_signal(victim.pidfd, SIGKILL)
        outcome = "delivered (wrong!)"
    except OSError as e:
        outcome = f"[bold red]{e.strerror}[/]"
    fresh = ns.pidfd_open(impostor.pid)
    t.say(f"the victim was pid {victim.pid}; after its reap a new process got pid "
          f"[bold]{impostor.pid}[/] again.")
    t.say(f"pidfd_send_signal(victim's pidfd, SIGKILL): {outcome}; "
          f"pidfs inode {ino} (victim) vs {ns.fstat(fresh).st_ino} (newcomer).")

    t.screen("A file handle names a process by inode",
             "name_to_handle_at on a pidfd gives an 8-byte handle (type 0xfe) holding the "
             "64-bit inode number; open_by_handle_at turns it back into a pidfd while the "
             "process's pid exists, and fails with ESTALE once it has been freed.")
    c = init.clone(pidfd=True)
    try:
        h = init.name_to_handle_at(c.pidfd, "", AT_EMPTY_PATH)
    except OSError as e:
        t.say(f"name_to_handle_at(pidfd) → [bold red]{e.strerror}[/]. " + _lacks(k, "pidfs-fhandle"))
    else:
        anchor = FD_PIDFS_ROOT if k.has("fd-pidfs-root") else c.pidfd
        fd = init.open_by_handle_at(anchor, h, O_RDONLY)
        t.say(f"handle type {h.handle_type:#x}, bytes {h.handle.hex()}: reopened as fd {fd}, "
              f"same inode: {init.fstat(fd).st_ino == init.fstat(c.pidfd).st_ino}")
        init.kill(c.pid, SIGKILL)
        init.waitpid(c.pid, 0)
        try:
            init.open_by_handle_at(anchor, h, O_RDONLY)
        except OSError as e:
            t.say(f"after the reap: open_by_handle_at → [bold red]{e.strerror}[/]")

    t.screen("Exit information outlives the process",
             "Since Linux 6.17 every struct pid that ever had a pidfd keeps its exit status "
             "in pidfs: PIDFD_GET_INFO reports it after the reap, when the pid number is "
             "already free.")
    c = init.clone(pidfd=True)
    c.task.exit_group(7)
    try:
        before = init.pidfd_get_info(c.pidfd, PIDFD_INFO_EXIT)
    except OSError as e:
        t.say(f"PIDFD_GET_INFO → [bold red]{e.strerror}[/]. " + _lacks(k, "pidfd-info"))
        init.waitpid(c.pid, 0)
    else:
        init.waitpid(c.pid, 0)
        try:
            after = init.pidfd_get_info(c.pidfd, PIDFD_INFO_EXIT)
        except OSError as e:
            t.say(f"after the reap PIDFD_GET_INFO → [bold red]{e.strerror}[/]. "
                  + _lacks(k, "pidfd-info-exit"))
        else:
            t.table(("when", "mask", "pid", "exit_code"),
                    [("zombie (not reaped)", f"{before.mask:#x}", str(before.pid), "-"),
                     ("after waitpid", f"{after.mask:#x}", str(after.pid),
                      f"{after.exit_code:#x} (exit status 7)")])

    t.screen("When a namespace's init dies",
             "Every task in the namespace is killed, and no process can join it any more: "
             "a fork into it fails with ENOMEM.")
    u = init.fork().task
    u.unshare(CLONE_NEWPID)
    first = u.fork()
    second = u.fork()
    u.kill(first.pid, SIGKILL)
    u.waitpid(second.pid, 0)
    u.waitpid(first.pid, 0)
    try:
        u.fork()
    except OSError as e:
        t.say(f"killed the namespace's init; its other process died with it; the next "
              f"fork into the namespace: [bold red]{escape(e.strerror or '')}[/]")

    k.check()
    if not as_json:
        con.print()
        t.say("[green]Every invariant of the model holds.[/] Next: [bold]pidlab run "
              "nested-namespaces[/], [bold]pidlab shell[/], [bold]pidlab compare "
              "pid-reuse-vs-pidfd[/] (needs root), [bold]pidlab --help[/].")
    return t.screens


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: every screen with what it showed, as one document.")
@kernel_option("Linux version the model stands for (6.1 ... 6.19): the tour says what that "
               "version does, and which change it lacks where a screen's feature is missing.")
def demo(fmt: str, kernel: str | None) -> None:
    """A guided tour of what the kernel does, on the model (no privileges needed)."""
    con = console()
    screens = tour(con, as_json=fmt == "json", version=kernel)
    if fmt == "json":
        click.echo(json.dumps({"screens": screens, "invariants_hold": True}, indent=2))
