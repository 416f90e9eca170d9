"""pidlab demo: a guided tour on the model, no privileges needed."""

from __future__ import annotations

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

import pidlab
from pidlab import CLONE_NEWPID, SIGKILL


def _nspid(task) -> str:
    return " / ".join(map(str, task.numbers))


def step(con: Console, title: str, text: str) -> None:
    con.print()
    con.print(Panel(text, title=f"[bold]{title}", width=min(con.width, 88), border_style="cyan"))


def tour(con: Console) -> None:
    k = pidlab.Kernel()
    init = k.init

    step(con, "1. Nested pid namespaces",
         "A process has one number in every namespace from the top down to its own. "
         "We clone three nested namespaces and print each init's numbers (NSpid).")
    table = Table("task", "getpid() inside", "numbers, outermost first")
    parent = init
    inits = []
    for depth in range(1, 4):
        c = parent.clone(CLONE_NEWPID)
        inits.append(c.task)
        table.add_row(f"init of level {depth}", str(c.task.getpid()), _nspid(c.task))
        parent = c.task
    leaf = parent.fork().task
    table.add_row("a child at level 3", str(leaf.getpid()), _nspid(leaf))
    con.print(table)

    step(con, "2. pid_max per namespace, capped by every ancestor",
         "A new namespace starts with pid_max 4194304 whatever its parent says, but a fork "
         "needs a free number at every level: the parent's limit wins (EAGAIN).")
    outer = init.clone(CLONE_NEWPID).task
    outer.write_text("/proc/sys/kernel/pid_max", "310")
    inner = outer.clone(CLONE_NEWPID).task
    made = 0
    try:
        while True:
            inner.fork()
            made += 1
    except OSError as e:
        con.print(f"outer pid_max=310, inner pid_max={inner.read_text('/proc/sys/kernel/pid_max').strip()}: "
                  f"the inner init forked {made} children, then [bold red]{e.strerror}[/]")

    step(con, "3. The wrap goes to 300",
         "Numbers are handed out by a cursor; after pid_max - 1 it wraps to "
         "RESERVED_PIDS (300), never back to 2.")
    ns = init.clone(CLONE_NEWPID).task
    ns.write_text("/proc/sys/kernel/pid_max", "400")
    ns.write_text("/proc/sys/kernel/ns_last_pid", "396")
    pids = []
    for _ in range(5):
        c = ns.fork()
        pids.append(c.pid)
        c.task.exit(0)
        ns.waitpid(c.pid, 0)
    con.print("five forks after ns_last_pid=396 with pid_max=400: " + ", ".join(map(str, pids)))

    step(con, "4. When a namespace's init dies",
         "Every task in it is killed, and the namespace accepts no new process (ENOMEM).")
    victim_ns = init.clone(CLONE_NEWPID)
    for _ in range(3):
        victim_ns.task.fork()
    init.kill(victim_ns.pid, SIGKILL)
    init.waitpid(victim_ns.pid, 0)
    con.print(f"killed the init (pid {victim_ns.pid} here): its three children died with it.")
    k.check()
    con.print()
    con.print("[green]Every invariant of the model holds.[/] "
              "Try [bold]pidlab --help[/] for more.")


@click.command()
def demo() -> None:
    """A guided tour of what the kernel does, on the model (no privileges needed)."""
    tour(Console())
