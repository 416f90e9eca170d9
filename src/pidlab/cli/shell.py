"""pidlab shell: the scenario language, one line at a time."""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Iterable, Iterator

import click
from rich.markup import escape

from .. import script
from .common import BACKENDS, backend, backend_label, console, is_rich, kernel_option
from .run import print_outcome

HELP = """\
Type one scenario line at a time, for example:
  c = init.fork()                  bind the new Child to `c`
  c.getppid() -> 1                 call as `c`, with an expectation
  init.kill(c.pid, SIGKILL)        constants are pidlab's (CLONE_*, SIG*, PIDFD_* ...)
  repeat 500 c.fork() -> EAGAIN    repeat a call until it fails (Ctrl-C stops it, keeping
                                   every result and binding so far)
  echo c is {c.pid}                print a line; {EXPR} is evaluated
  tree [text|json|dot]             draw every task and namespace now
  tree svg [FILE]                  ... as SVG, into FILE (default %s)
  ps                               list the tasks, with the names bound to each
  check                            verify the model's invariants
  names                            the names bound so far
  help [language|syscalls|proc|constants]   this text, or the language reference
  quit                             leave (Ctrl-D works too)""" % script.DEFAULT_SVG

WORDS = ("tree", "ps", "check", "echo", "repeat", "assert", "names", "help", "quit", "exit")
# The second word of these commands.
SECOND = {"tree": script.TREE_FORMATS, "help": tuple(script.TOPICS)}


class Completer:
    """Completion of commands, names, methods after `name.` and constants."""

    def __init__(self, env: script.Env) -> None:
        self.env = env

    def candidates(self, before: str) -> Iterable[str]:
        m = re.fullmatch(r"\s*(\w+)\s+(\w*)", before)
        if m and m.group(1) in SECOND:
            return sorted(w for w in SECOND[m.group(1)] if w.startswith(m.group(2)))
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_]*)$", before)
        if m:
            try:
                obj = self.env.lookup(m.group(1))
            except Exception:
                return []
            prefix = m.group(2)
            if isinstance(obj, script.Child):
                names = ["pid", "pidfd", "task", *script.TASK_METHODS, *script.TASK_ATTRS]
            elif script._is_task(obj):
                names = [*script.TASK_METHODS, *script.TASK_ATTRS]
            else:
                names = [n for n in dir(obj) if not n.startswith("_")]
            return sorted(n for n in names if n.startswith(prefix))
        m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)$", before)
        word = m.group(1) if m else ""
        pool = ["init", *self.env.names]
        if before.strip() == word:
            pool += WORDS
        if word[:1].isupper():
            pool += list(script.CONSTANTS) + list(script.ERRNOS) + list(script.EXCEPTIONS)
        return sorted({n for n in pool if n.startswith(word)})


def _prompt_lines(env: script.Env) -> Iterator[str]:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer as PTCompleter, Completion
    from prompt_toolkit.history import FileHistory

    comp = Completer(env)

    class _PT(PTCompleter):
        def get_completions(self, document, complete_event):  # noqa: ANN001
            before = document.text_before_cursor
            word = re.search(r"[A-Za-z0-9_]*$", before).group(0)
            for c in comp.candidates(before):
                yield Completion(c, start_position=-len(word))

    path = os.environ.get("PIDLAB_HISTORY", os.path.expanduser("~/.pidlab_history"))
    try:
        history = FileHistory(path)
        session = PromptSession(history=history, completer=_PT(), complete_while_typing=False)
    except OSError:
        session = PromptSession(completer=_PT(), complete_while_typing=False)
    while True:
        try:
            yield session.prompt("pidlab> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            return


def _plain_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


@click.command()
@click.option("--backend", "backend_name", type=click.Choice(BACKENDS), default="model",
              show_default=True, help="Explore the model or the live kernel.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True, help="json: one trace event per line (as `run --trace`).")
@kernel_option()
def shell(backend_name: str, fmt: str, kernel: str | None) -> None:
    """An interactive session: scenario lines one at a time, with history and completion.

    On a terminal, Tab completes commands, names, methods after `name.` and
    constants; history is kept in ~/.pidlab_history.  Ctrl-C stops the step
    that is running at its next boundary (between two calls of a repeat, never
    inside a call) and returns to the prompt with every binding kept.  With
    input from a pipe it reads the lines as a script would, exits 1 if any of
    them failed and 130 if Ctrl-C stopped it.
    """
    con = console()
    failed = interrupted = False
    with backend(backend_name, kernel) as k:
        runner = script.Runner(k, "<shell>")
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            con.print(f"[bold]pidlab shell[/] on the [cyan]{backend_label(backend_name, kernel)}"
                      f" (Linux {k.version})[/]: type "
                      "[bold]help[/] for the language, Ctrl-D to leave.")
        lines = _prompt_lines(runner.env) if interactive else _plain_lines()
        for n, line in enumerate(lines, 1):
            try:
                done, bad, stopped = _one_line(con, runner, line, n, fmt, backend_name)
            except KeyboardInterrupt:
                # Outside a step (printing, parsing): nothing of the kernel was being changed.
                con.print("interrupted", markup=False)
                done, bad, stopped = False, False, True
            failed |= bad
            if stopped and not interactive:
                interrupted = True
                break
            if done:
                break
    if interrupted:
        raise SystemExit(130)
    if failed and not interactive:
        raise SystemExit(1)


def _one_line(con, runner: script.Runner, line: str, n: int, fmt: str,  # noqa: ANN001
              backend_name: str) -> tuple[bool, bool, bool]:
    """One line of the shell: (leave, failed, interrupted)."""
    words = line.split()
    if words in (["quit"], ["exit"]):
        return True, False, False
    if words[:1] == ["help"] and len(words) <= 2:
        if len(words) == 1:
            con.print(HELP, markup=False, highlight=False)
        elif words[1] in script.TOPICS:
            con.print(script.reference(words[1]), markup=False, highlight=False, end="")
        else:
            con.print(f"no help topic {words[1]!r}; topics: {', '.join(script.TOPICS)}",
                      markup=False)
        return False, False, False
    if words == ["names"]:
        for name, value in runner.env.names.items():
            con.print(f"  {name} = {script.show(value)}", markup=False, highlight=False)
        return False, False, False
    try:
        step = script.parse_line(line, n, "<shell>")
        if step is None:
            return False, False, False
        runner.check(step)
        out = runner.step(step)
    except script.ScriptError as e:
        msg = f"line {n}: {e.message}"
        if fmt == "json":
            click.echo(json.dumps({"step": n, "line": n, "source": line.strip(),
                                   "result": {"outcome": "script-error", "message": e.message}}))
        else:
            con.print(f"[bold red]{escape(msg)}[/]" if is_rich(con) else msg,
                      markup=is_rich(con))
        return False, True, False
    if fmt == "json":
        click.echo(json.dumps(script.event(n, out, backend_name), sort_keys=True))
    else:
        print_outcome(con, out, None)
    return False, out.failed, out.interrupted
