"""The scenario language of `pidlab run`, `compare` and `shell`: one step per line.

    # a comment
    ns = init.clone(CLONE_NEWPID, pidfd=True)     # bind a result to a name
    c = ns.fork() -> 3                            # a Child compares with its pid
    init.kill(99999, 0) -> ESRCH                  # expect an errno ...
    init.waitpid(c.pid, WNOHANG) -> WouldBlock    # ... or pidlab's exceptions
    a, b = init.socketpair()                      # unpack a tuple
    assert c.numbers == (3, 2)                    # any comparison
    repeat 1000 ns.fork() -> EAGAIN               # up to N times, until the first error
    tree                                          # draw the current state (tree svg FILE: a file)
    ps                                            # list the tasks
    check                                         # the model's invariants (k.check())
    echo c is {c.pid}, status {status:#x}         # print a line; {EXPR} is evaluated

A call is `TASK.METHOD(ARGS)`: TASK is `init`, a name bound to a Child (its
task) or to a task, and METHOD any method of the Task API.  Arguments are
Python literals, bound names, pidlab's constants (`CLONE_NEWPID | CLONE_PIDFD`),
attributes (`c.pid`, `info.exit_code`), and W*-macros (`WEXITSTATUS(status)`).
Expressions are evaluated by a small interpreter, never by `eval`.  Names are
checked when the file is parsed; `pidlab help language` prints the reference
(`reference()` below), generated from the Task API and the model's procfs.

A concurrent scenario (`pidlab explore`) adds a `par { ... | ... }` block of
threads, an optional `after { }` block and herd7's conditions:

    par {
        r = init.waitpid(c.pid, 0)
    |
        fd = other.pidfd_open(c.pid)
    }
    exists (fd == ESRCH)

parse_litmus() reads one; Litmus.compile() gives the setup, threads and final
that pidlab.explore and pidlab.stress take (see "concurrent scenarios" below).
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import difflib
import enum
import errno as errno_mod
import inspect
import io
import os
import re
import signal
import sys
import textwrap
import threading
import tokenize
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from . import constants as C
from .constants import errno_name
from .api import (Child, FileHandle, PidfdInfo, PidlabError, StatfsResult, StatResult, TaskAPI,
                  TaskExited, TaskView, Unsupported, WaitidResult, WouldBlock)
from .explore import WOULD_BLOCK, Errno, canon

DIRECTIVES = ("tree", "ps", "check", "echo")
TREE_FORMATS = ("text", "json", "dot", "svg")
TREE_SUFFIXES = {".txt": "text", ".json": "json", ".dot": "dot", ".gv": "dot", ".svg": "svg"}
DEFAULT_SVG = "pidlab-tree.svg"         # where `tree svg` writes when no FILE is given
MAX_REPEAT = 10_000_000
EXCEPTIONS: dict[str, type[BaseException]] = {
    "WouldBlock": WouldBlock, "TaskExited": TaskExited, "Unsupported": Unsupported,
    "TypeError": TypeError}
ERRNOS = {name: getattr(errno_mod, name) for name in dir(errno_mod)
          if name.startswith("E") and name.isupper() and isinstance(getattr(errno_mod, name), int)}
CONSTANTS = {n: getattr(C, n) for n in dir(C) if n[:1].isupper()}
MACROS: dict[str, Callable[..., Any]] = {
    "WIFEXITED": os.WIFEXITED, "WEXITSTATUS": os.WEXITSTATUS, "WIFSIGNALED": os.WIFSIGNALED,
    "WTERMSIG": os.WTERMSIG, "WCOREDUMP": os.WCOREDUMP, "WIFSTOPPED": os.WIFSTOPPED,
    "WSTOPSIG": os.WSTOPSIG, "WIFCONTINUED": os.WIFCONTINUED, "len": len}
# The Task API: the methods a script may call are the protocol's, so the two cannot drift.
TASK_METHODS = frozenset(n for n, v in vars(TaskAPI).items()
                         if not n.startswith("_") and callable(v))
TASK_ATTRS = frozenset({"numbers"})
RECORDS = (Child, FileHandle, PidfdInfo, StatResult, StatfsResult, WaitidResult, TaskView)


class ScriptError(Exception):
    """A mistake in a scenario: names the file, the line and what was expected.

    `errors` holds every mistake found in one pass (parse() reports them all);
    the exception itself is the first."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename, self.line, self.message = filename, line, message
        self.errors: list[ScriptError] = [self]

    def __reduce__(self) -> tuple:
        # Raised in a guest (pidlab stress --kernel 6.1), it travels back pickled.
        return (type(self), (self.filename, self.line, self.message))


# ---------------------------------------------------------------- decoded results
#
# A poll result or a wait status is a number to the kernel and to a comparison,
# and a sentence to a reader: these int subclasses compare, hash and compute as
# the number and print as the sentence.  JSON traces (to_json) keep the number.

def _names_by_value(prefix: str, skip: tuple[str, ...] = ()) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in sorted(CONSTANTS):          # alphabetical: SIGABRT before its alias SIGIOT
        value = CONSTANTS[name]
        if name.startswith(prefix) and not name.startswith(skip) and type(value) is int:
            out.setdefault(value, name)
    return out


SIGNAL_NAMES = _names_by_value("SIG", ("SIG_", "SIGRTMAX"))
POLL_BITS = sorted(_names_by_value("POLL").items())
CLD_NAMES = _names_by_value("CLD_")


def signal_name(sig: int) -> str:
    if sig in SIGNAL_NAMES:
        return SIGNAL_NAMES[sig]
    if C.SIGRTMIN < sig <= C.SIGRTMAX:
        return f"SIGRTMIN+{sig - C.SIGRTMIN}"
    return f"signal {sig}"


def wait_status_text(status: int) -> str:
    """What a wait status says, by the W* macros.  Linux: include/uapi/linux/wait.h
    and kernel/exit.c (the code << 8 for an exit, the signal with 0x80 for a core)."""
    if os.WIFCONTINUED(status):
        return "continued"
    if os.WIFSTOPPED(status):
        event = status >> 16
        text = f"stopped by {signal_name(os.WSTOPSIG(status))}"
        return text + (f" (ptrace event {event})" if event else "")
    if os.WIFEXITED(status):
        return f"exited {os.WEXITSTATUS(status)}"
    if os.WIFSIGNALED(status):
        return f"killed by {signal_name(os.WTERMSIG(status))}" + \
            (" (core dumped)" if os.WCOREDUMP(status) else "")
    return f"{status:#x}"


class WaitStatus(int):
    """A wait status: the number, printed as what it means ("exited 7")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return wait_status_text(int(self))

    __str__ = __repr__


class PollEvents(int):
    """poll's revents: the mask, printed as its flags ("POLLIN|POLLHUP")."""

    __slots__ = ()

    def __repr__(self) -> str:
        mask = int(self)
        names = [name for bit, name in POLL_BITS if mask & bit]
        rest = mask & ~sum(bit for bit, _ in POLL_BITS)
        if rest:
            names.append(f"{rest:#x}")
        return "|".join(names) or "0"

    __str__ = __repr__


class SignalNumber(int):
    """A signal number printed by its name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return signal_name(int(self))

    __str__ = __repr__


class ChildCode(int):
    """siginfo's si_code for SIGCHLD, printed by its name (CLD_EXITED)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return CLD_NAMES.get(int(self), str(int(self)))

    __str__ = __repr__


def _decode_waitpid(value: Any) -> Any:
    # (0, 0) is WNOHANG's "nothing yet", not an exit with status 0.
    if isinstance(value, tuple) and len(value) == 2 and value[0]:
        return (value[0], WaitStatus(value[1]))
    return value


def _decode_waitid(value: Any) -> Any:
    if not isinstance(value, WaitidResult):
        return value
    code = value.si_code
    status: int = value.si_status
    if code in (C.CLD_KILLED, C.CLD_DUMPED, C.CLD_STOPPED, C.CLD_TRAPPED, C.CLD_CONTINUED):
        status = SignalNumber(status)
    return value._replace(si_signo=SignalNumber(value.si_signo), si_status=status,
                          si_code=ChildCode(code))


def _decode_poll(value: Any) -> Any:
    if isinstance(value, dict):
        return {fd: PollEvents(r) for fd, r in value.items()}
    return value


DECODERS: dict[str, Callable[[Any], Any]] = {
    "waitpid": _decode_waitpid, "waitid": _decode_waitid, "poll": _decode_poll}


def decode(method: str, value: Any) -> Any:
    """The result of `method` with its numbers made readable (and still equal)."""
    fn = DECODERS.get(method)
    return fn(value) if fn is not None else value


# ---------------------------------------------------------------- parsing

@dataclasses.dataclass
class Step:
    line: int
    source: str
    kind: str                           # "call", "assert", "directive"
    targets: tuple[str, ...] = ()       # names bound by `a, b = ...`
    expr: ast.expr | None = None        # the call, the asserted expression, echo's text
    expect: ast.expr | None = None      # what follows `->`
    expect_src: str = ""
    directive: str = ""
    arg: str = ""                       # the directive's argument as written
    repeat: int = 0                     # `repeat N call`: at most N times, until an error
    fmt: str = ""                       # tree: the format
    path: str = ""                      # tree: the file to write, "" for the terminal

    @property
    def receiver(self) -> str:
        """The task the call is made by, as written (`init`, `c`, `c.task`)."""
        if isinstance(self.expr, ast.Call) and isinstance(self.expr.func, ast.Attribute):
            return ast.unparse(self.expr.func.value)
        return ""

    @property
    def method(self) -> str:
        if isinstance(self.expr, ast.Call) and isinstance(self.expr.func, ast.Attribute):
            return self.expr.func.attr
        return ""


def _strip_comment(text: str) -> str:
    """The line without its comment, using Python's tokenizer (strings may hold '#')."""
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text.split("#", 1)[0] if "#" in text and "'" not in text and '"' not in text \
            else text
    for tok in toks:
        if tok.type == tokenize.COMMENT:
            return text[:tok.start[1]].rstrip()
    return text.rstrip()


def _split_arrow(text: str, filename: str, lineno: int) -> tuple[str, str | None]:
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        raise ScriptError(filename, lineno, "unbalanced parentheses, brackets or quotes: expected "
                          "one complete call such as `init.kill(2, SIGTERM)`") from None
    depth = 0
    for tok in toks:
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
                if depth < 0:
                    raise ScriptError(filename, lineno, f"an extra {tok.string!r} at column "
                                      f"{tok.start[1] + 1}: expected one complete call such as "
                                      "`init.kill(2, SIGTERM)`")
            elif tok.string == "->" and depth == 0:
                col = tok.start[1]
                return text[:col].strip(), text[col + 2:].strip()
    return text.strip(), None


def _parse_echo(rest: str, body: str, filename: str, lineno: int) -> Step:
    """echo TEXT: literal text, with {EXPR} (and {EXPR:SPEC}) evaluated as in an f-string."""
    expr = None
    if "{" in rest or "}" in rest:
        try:
            expr = ast.parse("f" + repr(rest), mode="eval").body
        except SyntaxError as e:
            raise ScriptError(filename, lineno, f"echo: {e.msg} in {rest!r} (an expression goes "
                              "in braces, {c.pid}; write {{ and }} for a brace)") from None
    return Step(lineno, body, "directive", expr=expr, directive="echo", arg=rest)


def _parse_tree(rest: str, body: str, filename: str, lineno: int) -> Step:
    """tree [FORMAT] [FILE]: FORMAT is text, json, dot or svg; svg always goes to a file."""
    words = rest.split(None, 1)
    fmt, path = "text", ""
    if words and words[0] in TREE_FORMATS:
        fmt = words[0]
        path = words[1].strip() if len(words) > 1 else ""
    elif words:
        path = rest.strip()
        fmt = TREE_SUFFIXES.get(os.path.splitext(path)[1].lower(), "")
        if not fmt:
            raise ScriptError(filename, lineno, "expected `tree [text|json|dot|svg] [FILE]` "
                              f"(or a FILE ending in {', '.join(TREE_SUFFIXES)}), got {rest!r}")
    if fmt == "svg" and not path:
        path = DEFAULT_SVG
    return Step(lineno, body, "directive", directive="tree", arg=rest.strip(), fmt=fmt, path=path)


def _strip_echo_comment(text: str) -> str:
    """echo's line without its comment: a '#' outside braces ({x:#x} is a format)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif ch == "#" and depth == 0:
            return text[:i].rstrip()
    return text.rstrip()


def parse_line(text: str, lineno: int = 1, filename: str = "<input>") -> Step | None:
    """One line of a scenario; None for a blank line or a comment."""
    if text.lstrip().startswith("echo ") or text.strip() == "echo":
        body = _strip_echo_comment(text).strip()
    else:
        body = _strip_comment(text).strip()
    if not body:
        return None
    if concurrent_line(body):
        raise ScriptError(filename, lineno, f"{body.split()[0]!r} begins a line of a concurrent "
                          "scenario (par { ... | ... }, after { }, exists/forall, changes): "
                          "`pidlab explore FILE` plays those; run, compare and shell play "
                          "sequential ones")
    word, _, rest = body.partition(" ")
    if word in DIRECTIVES:
        if word == "echo":
            return _parse_echo(rest, body, filename, lineno)
        if word == "tree":
            return _parse_tree(rest, body, filename, lineno)
        if rest.strip():
            raise ScriptError(filename, lineno, f"{word} takes no argument")
        return Step(lineno, body, "directive", directive=word)
    if word == "repeat":
        count, _, call = rest.strip().partition(" ")
        if not count.isdigit() or not 1 <= int(count) <= MAX_REPEAT or not call.strip():
            raise ScriptError(filename, lineno, "expected `repeat N CALL` with N from 1 to "
                              f"{MAX_REPEAT}, got {body!r}")
        step = parse_line(call, lineno, filename)
        if step is None or step.kind != "call":
            raise ScriptError(filename, lineno, "repeat takes a system call")
        step.source, step.repeat = body, int(count)
        return step
    if word == "assert":
        try:
            expr = ast.parse(rest.strip(), mode="eval").body
        except SyntaxError:
            raise ScriptError(filename, lineno,
                              f"expected an expression after 'assert', got {rest.strip()!r}") from None
        return Step(lineno, body, "assert", expr=expr)
    left, expect_src = _split_arrow(body, filename, lineno)
    targets: tuple[str, ...] = ()
    try:
        tree = ast.parse(left, mode="exec")
    except SyntaxError:
        raise ScriptError(filename, lineno,
                          f"expected a call like `init.fork()` or `c = init.fork()`, got {left!r}") from None
    if len(tree.body) != 1:
        raise ScriptError(filename, lineno, "one call per line")
    stmt = tree.body[0]
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1:
            raise ScriptError(filename, lineno, "one name (or a, b) per assignment")
        tgt = stmt.targets[0]
        if isinstance(tgt, ast.Name):
            targets = (tgt.id,)
        elif isinstance(tgt, ast.Tuple) and all(isinstance(e, ast.Name) for e in tgt.elts):
            targets = tuple(e.id for e in tgt.elts)
        else:
            raise ScriptError(filename, lineno, "expected a name (or a, b) before '='")
        for name in targets:
            if name == "init" or name in CONSTANTS or name in MACROS:
                raise ScriptError(filename, lineno, f"{name!r} is a reserved name")
        value = stmt.value
    elif isinstance(stmt, ast.Expr):
        value = stmt.value
    else:
        raise ScriptError(filename, lineno,
                          f"expected a call like `init.fork()`, got {ast.unparse(stmt)!r}")
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        raise ScriptError(filename, lineno,
                          f"expected a system call like `init.fork()`, got {ast.unparse(value)!r}")
    if value.func.attr not in TASK_METHODS:
        hint = difflib.get_close_matches(value.func.attr, TASK_METHODS, n=1)
        raise ScriptError(filename, lineno, f"{value.func.attr!r} is not a Task system call"
                          + (f" (did you mean {hint[0]}?)" if hint else
                             " (pidlab help language lists them)"))
    expect = None
    if expect_src is not None:
        if not expect_src:
            raise ScriptError(filename, lineno, "expected a value or an errno after '->'")
        try:
            expect = ast.parse(expect_src, mode="eval").body
        except SyntaxError:
            raise ScriptError(filename, lineno,
                              f"expected a value or an errno after '->', got {expect_src!r}") from None
    return Step(lineno, body, "call", targets, value, expect, expect_src or "")


def _names_in(step: Step) -> Iterator[tuple[str, bool]]:
    """Every name a step reads, with whether it stands in an expectation (where
    WouldBlock and the other exceptions are names too)."""
    nodes: list[ast.AST] = []
    if step.kind == "call" and isinstance(step.expr, ast.Call):
        call = step.expr
        nodes.append(call.func.value)                       # type: ignore[attr-defined]
        nodes += call.args
        nodes += [kw.value for kw in call.keywords]
    elif step.expr is not None:
        nodes.append(step.expr)
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                yield sub.id, False
    if step.expect is not None:
        for sub in ast.walk(step.expect):
            if isinstance(sub, ast.Name):
                yield sub.id, True


def _known(name: str, expectation: bool) -> bool:
    return name == "init" or name in CONSTANTS or name in ERRNOS or name in MACROS or \
        (expectation and name in EXCEPTIONS)


def check_names(step: Step, bound: Collection[str], filename: str,
                later: Mapping[str, int] | None = None) -> None:
    """Every name the step reads must be bound already, or be a constant, an errno,
    a macro (or, after `->`, an exception).  Raises ScriptError for the first that is not."""
    for name, expectation in _names_in(step):
        if name in bound or _known(name, expectation):
            continue
        why = f"{name!r} is not defined: no earlier line binds it, and it is not a constant, " \
              "an errno or a macro"
        if later and name in later:
            why += f" (line {later[name]} binds it, after this one)"
        else:
            pool = [*CONSTANTS, *ERRNOS, *MACROS, *EXCEPTIONS, "init", *bound]
            hint = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
            if hint:
                why += f" (did you mean {hint[0]}?)"
        raise ScriptError(filename, step.line, why)


def parse(text: str, filename: str = "<script>") -> list[Step]:
    """Every step of a scenario, its names checked.  Raises ScriptError with every
    mistake of the file in `errors` (names are checked once the syntax is right)."""
    steps: list[Step] = []
    errors: list[ScriptError] = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            step = parse_line(line, i, filename)
        except ScriptError as e:
            errors.append(e)
            continue
        if step is not None:
            steps.append(step)
    if not errors:
        first_binding: dict[str, int] = {}
        for step in steps:
            for name in step.targets:
                first_binding.setdefault(name, step.line)
        bound: set[str] = set()
        for step in steps:
            try:
                check_names(step, bound, filename, first_binding)
            except ScriptError as e:
                errors.append(e)
            bound.update(step.targets)
    if errors:
        first = errors[0]
        first.errors = errors
        raise first
    return steps


# ---------------------------------------------------------------- evaluation

class _Unbound(Exception):
    pass


class Env:
    """The names a scenario has bound, plus `init`, constants and macros."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.names: dict[str, Any] = {}

    def lookup(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        if name == "init":
            return self.kernel.init
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in ERRNOS:
            return ERRNOS[name]
        if name in MACROS:
            return MACROS[name]
        raise _Unbound(name)

    def task_names(self) -> dict[str, Any]:
        """Bound names that stand for tasks, with `init`."""
        out = {"init": self.kernel.init}
        for name, v in self.names.items():
            if isinstance(v, Child):
                out[name] = v.task
            elif _is_task(v):
                out[name] = v
        return out

    def labels(self) -> dict[int, list[str]]:
        """The names bound to each live task, by its top-level pid (TaskView.numbers[0]):
        what a drawing writes beside the task.  A reaped task has no numbers and no label,
        so a recycled number never carries an old name."""
        out: dict[int, list[str]] = {}
        for name, v in self.names.items():
            task = v.task if isinstance(v, Child) else v if _is_task(v) else None
            if task is None:
                continue
            numbers = task.numbers
            if numbers:
                out.setdefault(numbers[0], []).append(name)
        return out


def _is_task(v: Any) -> bool:
    return hasattr(v, "clone") and hasattr(v, "waitpid") and hasattr(v, "numbers")


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.BitOr: lambda a, b: a | b, ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b,
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: _same(a, b), ast.NotEq: lambda a, b: not _same(a, b),
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b}
_CMPSYMS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
# What a computation may raise on a scenario's values: a mistake of the scenario.
_EVAL_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError, AttributeError)


def _same(a: Any, b: Any) -> bool:
    """Equality as a scenario means it: a Child equals its pid, lists equal tuples."""
    if isinstance(a, Child) and isinstance(b, int) and not isinstance(b, bool):
        return a.pid == b
    if isinstance(b, Child) and isinstance(a, int) and not isinstance(a, bool):
        return b.pid == a
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (set, frozenset)) and isinstance(b, (set, frozenset)):
        return set(a) == set(b)
    return a == b


class Evaluator:
    def __init__(self, env: Env, filename: str, line: int) -> None:
        self.env, self.filename, self.line = env, filename, line

    def fail(self, msg: str) -> ScriptError:
        return ScriptError(self.filename, self.line, msg)

    def value(self, node: ast.expr) -> Any:
        """The value of an expression; a Python error in it becomes a ScriptError naming
        the innermost expression that failed and what it was computed from."""
        try:
            return self._value(node)
        except ScriptError:
            raise
        except _EVAL_ERRORS as e:
            parts = [f"{ast.unparse(node)}: {type(e).__name__}: {e}"]
            operands = [node.value] if isinstance(node, (ast.Subscript, ast.Attribute)) else \
                [node.left, node.right] if isinstance(node, ast.BinOp) else \
                list(node.args) if isinstance(node, ast.Call) else []
            where = [f"{ast.unparse(o)} is {show(self._value(o))}" for o in operands
                     if not isinstance(o, ast.Constant)]
            if where:
                parts.append(f"({', '.join(where)})")
            raise self.fail(" ".join(parts)) from None

    def _value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            try:
                return self.env.lookup(node.id)
            except _Unbound:
                raise self.fail(f"{node.id!r} is not bound (the step that binds it failed "
                                "or has not run)") from None
        if isinstance(node, ast.Attribute):
            return self.attribute(self.value(node.value), node.attr)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self.value(e) for e in node.elts}
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {self.value(k): self.value(v)                        # type: ignore[arg-type]
                    for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp):
            v = self.value(node.operand)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return +v
            if isinstance(node.op, ast.Invert):
                return ~v
            if isinstance(node.op, ast.Not):
                return not v
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](self.value(node.left), self.value(node.right))
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            for sub in node.values:
                if bool(self.value(sub)) != is_and:
                    return not is_and
            return is_and
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self.value(comp)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Subscript):
            return self.value(node.value)[self.value(node.slice)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in MACROS:
            return MACROS[node.func.id](*[self.value(a) for a in node.args])
        if isinstance(node, ast.Call):
            raise self.fail("a system call must be a step of its own, not part of an expression")
        if isinstance(node, ast.JoinedStr):
            return self.text(node)
        raise self.fail(f"{ast.unparse(node)!r} is not something a scenario can compute")

    def text(self, node: ast.JoinedStr) -> str:
        """echo's text: each {EXPR} as `show` prints it, {EXPR:SPEC} by format(), !r by repr."""
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value))
                continue
            assert isinstance(part, ast.FormattedValue)
            v = self.value(part.value)
            if part.conversion == ord("r"):
                v = repr(v)
            elif part.conversion == ord("s"):
                v = str(v)
            elif part.conversion == ord("a"):
                v = ascii(v)
            if part.format_spec is not None:
                spec = self.text(part.format_spec)          # type: ignore[arg-type]
                try:
                    out.append(format(v, spec))
                except (TypeError, ValueError) as e:
                    raise self.fail(f"{{{ast.unparse(part.value)}:{spec}}}: {e}") from None
            else:
                out.append(v if isinstance(v, str) else show(v))
        return "".join(out)

    def explain(self, node: ast.expr) -> str:
        """Why an assertion is false, with the values it compared."""
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self.value(comp)
                if not _CMPOPS[type(op)](left, right):
                    return f"{show(left)} {_CMPSYMS[type(op)]} {show(right)} is false"
                left = right
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                for sub in node.values:
                    if not self.value(sub):
                        return self.explain(sub)
            return " and ".join(self.explain(sub) for sub in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return f"{ast.unparse(node.operand)} is {show(self.value(node.operand))}"
        text = f"{ast.unparse(node)} is {show(self.value(node))}"
        if isinstance(node, ast.Call):
            where = [f"{ast.unparse(a)} is {show(self.value(a))}" for a in node.args
                     if not isinstance(a, ast.Constant)]
            if where:
                text += f" ({', '.join(where)})"
        return text

    def attribute(self, obj: Any, attr: str) -> Any:
        if attr.startswith("_"):
            raise self.fail(f"no attribute {attr!r}")
        if isinstance(obj, Child):
            if attr in ("pid", "pidfd", "task"):
                return getattr(obj, attr)
            obj = obj.task
        if _is_task(obj):
            if attr in TASK_ATTRS:
                return getattr(obj, attr)
            if attr in TASK_METHODS:
                raise self.fail(f"call {attr}(...) as a step of its own")
            raise self.fail(f"a task has no attribute {attr!r}")
        if isinstance(obj, RECORDS) or isinstance(obj, tuple) and hasattr(obj, "_fields"):
            if hasattr(obj, attr):
                return getattr(obj, attr)
        raise self.fail(f"{type(obj).__name__} has no attribute {attr!r}")

    def task(self, node: ast.expr) -> Any:
        obj = self.value(node)
        if isinstance(obj, Child):
            obj = obj.task
        if not _is_task(obj):
            raise self.fail(f"{ast.unparse(node)!r} is not a task (bind a Child or use init)")
        return obj


# ---------------------------------------------------------------- Ctrl-C

class SigintHold:
    """Ctrl-C while a step runs waits for the step's next boundary.

    A KeyboardInterrupt raised between two bytecodes of a model syscall would
    leave the model half-mutated (a pid allocated and no task, a task on one
    list and not the other), and one inside a live call would cut the agent's
    reply in two.  So while a step runs, SIGINT only sets `pending`; a repeat
    looks at it between two calls, and the step ends there with every result
    so far.  Outside the main thread (where Python runs no signal handlers)
    and where SIGINT is ignored, nothing is changed.
    """

    __slots__ = ("pending", "_previous", "_active")

    def __init__(self) -> None:
        self.pending = False
        self._previous: Any = None
        self._active = False

    def _handler(self, signum: int, frame: Any) -> None:
        if self.pending:
            sys.stderr.write("\npidlab: finishing the current call first (a call is never "
                             "cut in half)\n")
        self.pending = True

    def __enter__(self) -> "SigintHold":
        self.pending = False
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        if previous in (signal.SIG_IGN, None):
            return self
        self._previous = previous
        signal.signal(signal.SIGINT, self._handler)
        self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._previous)
            self._active = False


# ---------------------------------------------------------------- running

def _shape(value: Any) -> tuple[str, tuple[int, ...]]:
    """A result as a template and the plain integers in it, so that a run of results
    that count up (Child(pid=2), Child(pid=3), ...) folds into one range.  Decoded
    numbers (wait statuses, poll masks) stay in the template: they print as words."""
    if type(value) is int:
        return "{}", (value,)
    if isinstance(value, Child):
        if value.pidfd is None:
            return "Child(pid={})", (value.pid,)
        return "Child(pid={}, pidfd={})", (value.pid, value.pidfd)
    if type(value) is tuple and len(value) > 1:
        parts, ints = [], []
        for v in value:
            t, n = _shape(v)
            parts.append(t)
            ints.extend(n)
        return "(" + ", ".join(parts) + ")", tuple(ints)
    return show(value).replace("{", "{{").replace("}", "}}"), ()


class _Run:
    """Results of one template whose integers move by the same step each call."""

    __slots__ = ("template", "first", "last", "first_ints", "last_ints", "step", "count")

    def __init__(self, template: str, ints: tuple[int, ...], value: Any) -> None:
        self.template, self.first, self.last = template, value, value
        self.first_ints = self.last_ints = ints
        self.step: tuple[int, ...] | None = None
        self.count = 1

    def extend(self, template: str, ints: tuple[int, ...], value: Any) -> bool:
        if template != self.template:
            return False
        delta = tuple(b - a for a, b in zip(self.last_ints, ints))
        if self.step is None:
            self.step = delta
        elif delta != self.step:
            return False
        self.last_ints, self.last = ints, value
        self.count += 1
        return True

    def text(self) -> str:
        if self.count == 1 or not any(self.step or ()):
            body = self.template.format(*self.first_ints)
            return body if self.count == 1 else f"{body} ×{self.count}"
        if self.count == 2:
            return f"{self.template.format(*self.first_ints)}, " \
                   f"{self.template.format(*self.last_ints)}"
        fields = []
        for a, b, d in zip(self.first_ints, self.last_ints, self.step or ()):
            fields.append(str(a) if d == 0 else f"{a}..{b}" if abs(d) == 1 else f"{a}..{b} by {d}")
        return self.template.format(*fields)


def _runs_text(head: list[_Run], hidden_runs: int, hidden_results: int,
               tail: _Run | None) -> str:
    parts = [r.text() for r in head]
    if hidden_runs:
        parts.append(f"… {hidden_results} more in {hidden_runs} runs …")
    if tail is not None:
        parts.append(tail.text())
    return ", ".join(parts)


class Tally:
    """Every result of a repeat, in constant memory: the first runs, the last run,
    and how many runs lie between (a run: equal results, or results counting by
    a fixed step, such as the pids of successive forks)."""

    HEAD = 3
    __slots__ = ("count", "head", "tail", "hidden_runs", "hidden_results")

    def __init__(self) -> None:
        self.count = 0
        self.head: list[_Run] = []
        self.tail: _Run | None = None
        self.hidden_runs = 0
        self.hidden_results = 0

    def add(self, value: Any) -> None:
        self.count += 1
        template, ints = _shape(value)
        tail = self.tail
        if tail is not None and tail.extend(template, ints, value):
            return
        if tail is not None:
            if len(self.head) < self.HEAD:
                self.head.append(tail)
            else:
                self.hidden_runs += 1
                self.hidden_results += tail.count
        self.tail = _Run(template, ints, value)

    def runs(self) -> list[_Run]:
        return self.head + ([self.tail] if self.tail is not None else [])

    def text(self) -> str:
        return _runs_text(self.head, self.hidden_runs, self.hidden_results, self.tail)

    @classmethod
    def from_json(cls, data: dict, method: str = "") -> "Tally":
        """The tally a trace recorded (`as_json`), for printing."""
        t = cls()
        runs = []
        for r in data.get("runs", ()):
            first = decode(method, from_json(r["first"]))
            last = decode(method, from_json(r["last"]))
            template, a = _shape(first)
            run = _Run(template, a, first)
            run.count, run.last, run.last_ints = r["count"], last, _shape(last)[1]
            if run.count > 1:
                run.step = tuple((y - x) // (run.count - 1) for x, y in zip(a, run.last_ints))
            runs.append(run)
            t.count += run.count
        hidden = data.get("hidden") or {}
        t.hidden_runs, t.hidden_results = hidden.get("runs", 0), hidden.get("results", 0)
        t.count += t.hidden_results
        t.head, t.tail = runs[:-1], (runs[-1] if runs else None)
        return t

    def as_json(self) -> dict:
        return {"runs": [{"first": to_json(r.first), "last": to_json(r.last), "count": r.count}
                         for r in self.runs()],
                "hidden": {"runs": self.hidden_runs, "results": self.hidden_results}}


@dataclasses.dataclass
class Outcome:
    """What one step did."""

    step: Step
    kind: str                   # "ok", "errno", "exception", "assert", "directive"
    value: Any = None
    errno: int | None = None
    exception: str = ""
    message: str = ""           # errno text, exception text, why an assert is false, ...
    expected: str = ""          # the expectation as written
    passed: bool | None = None  # None: nothing was expected
    count: int = 1              # calls that succeeded (repeat)
    call: dict | None = None    # task, method, args, kwargs as evaluated
    output: Any = None          # what a directive produced (text or views)
    tally: Tally | None = None  # repeat: every successful result
    interrupted: bool = False   # Ctrl-C arrived while the step ran (it stopped at a boundary)
    labels: dict[int, list[str]] | None = None   # tree, ps: bound names by top-level pid
    path: str = ""              # tree: the file the drawing went to
    owner: tuple[int, int] | None = None    # a stat's owner in the model's names

    @property
    def failed(self) -> bool:
        """A failed expectation, or an error that nothing expected."""
        if self.passed is False:
            return True
        return self.passed is None and self.kind in ("errno", "exception")

    @property
    def cut_short(self) -> bool:
        """A repeat that Ctrl-C stopped before its N calls or its first error."""
        return self.interrupted and self.kind == "ok" and self.count < self.step.repeat

    def describe(self) -> str:
        if self.kind == "errno":
            text = f"{errno_name(self.errno or 0)} ({self.message})"
        elif self.kind == "exception":
            text = f"{self.exception}: {self.message}" if self.message else self.exception
        elif self.kind == "ok":
            text = show(self.value)
        elif self.kind == "assert":
            return "true" if self.passed else "false"
        else:
            return self.message
        if not self.step.repeat:
            return text
        return repeat_text(self.kind, text, self.count, self.tally, self.cut_short)


def repeat_text(kind: str, text: str, count: int, tally: Tally | None, cut_short: bool) -> str:
    """What a repeat did: its calls, every result as runs, and the error that ended it."""
    calls = f"{count} call{'s' if count != 1 else ''}"
    results = tally.text() if tally is not None and tally.count else ""
    if cut_short:
        return f"interrupted after {calls}" + (f": {results}" if results else "")
    if kind == "ok":
        return f"{calls}: {results}"
    if not count:
        return f"{text} at the first call"
    return f"{text} after {calls}: {results}"


def show(value: Any) -> str:
    """A short, readable rendering of a syscall's result."""
    if isinstance(value, Child):
        return f"Child(pid={value.pid}" + (f", pidfd={value.pidfd})" if value.pidfd is not None
                                           else ")")
    if isinstance(value, PidfdInfo):
        parts = [f"mask={value.mask:#x}"]
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.name == "mask" or not v:
                continue
            if f.name == "exit_code":
                parts.append(f"exit_code={v:#x} ({wait_status_text(v)})")
            else:
                parts.append(f"{f.name}={v}")
        return "PidfdInfo(" + ", ".join(parts) + ")"
    if isinstance(value, FileHandle):
        return f"FileHandle(type={value.handle_type:#x}, {len(value.handle)} bytes: " \
               f"{value.handle.hex()})"
    if isinstance(value, StatResult):
        return f"stat(ino={value.st_ino}, mode={value.st_mode:#o}, nlink={value.st_nlink}, " \
               f"uid={value.st_uid}, gid={value.st_gid})"
    if isinstance(value, str):
        return repr(value) if "\n" not in value.rstrip("\n") else value.rstrip("\n")
    if value is None:
        return "ok"
    if isinstance(value, enum.Enum):
        return value.name               # a signal disposition: SIG_DFL, SIG_IGN, SIG_CATCH
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        inner = ", ".join(show(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{show(k)}: {show(v)}" for k, v in value.items()) + "}"
    return repr(value)


def drawing(views: Any, fmt: str, title: str = "pidlab",
            labels: Mapping[int, Sequence[str]] | None = None) -> str:
    """render.render with the names a scenario bound."""
    from . import render
    return render.render(views, fmt, title, labels=labels)


def rich_drawing(views: Any, labels: Mapping[int, Sequence[str]] | None = None) -> Any:
    from . import render
    return render.to_rich(views, labels=labels)


def tree_json(views: Any, labels: Mapping[int, Sequence[str]] | None = None) -> Any:
    from . import render
    return render.to_json(views, labels=labels)


class Runner:
    """Runs steps against one backend, keeping the names they bind."""

    def __init__(self, kernel: Any, filename: str = "<script>") -> None:
        self.kernel = kernel
        self.env = Env(kernel)
        self.filename = filename
        self._hold = SigintHold()

    def run(self, steps: list[Step]) -> Iterator[Outcome]:
        for step in steps:
            out = self.step(step)
            yield out
            if out.interrupted:
                return

    def check(self, step: Step) -> None:
        """The names of a step typed now (the shell): bound so far, or known."""
        check_names(step, self.env.names, self.filename)

    def step(self, step: Step) -> Outcome:
        """One step; Ctrl-C meanwhile ends it at its next boundary (`interrupted`)."""
        with self._hold as hold:
            out = self._step(step)
        out.interrupted = hold.pending
        return out

    def _step(self, step: Step) -> Outcome:
        ev = Evaluator(self.env, self.filename, step.line)
        if step.kind == "directive":
            return self._directive(ev, step)
        if step.kind == "assert":
            ok = bool(ev.value(step.expr))                          # type: ignore[arg-type]
            return Outcome(step, "assert", value=ok, passed=ok, expected=step.source,
                           message="" if ok else ev.explain(step.expr))  # type: ignore[arg-type]
        call = step.expr
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        task = ev.task(call.func.value)
        args = [ev.value(a) for a in call.args]
        kwargs = {}
        for kw in call.keywords:
            if kw.arg is None:
                raise ev.fail("** arguments are not supported")
            kwargs[kw.arg] = ev.value(kw.value)
        info = {"task": step.receiver, "method": step.method, "args": args, "kwargs": kwargs}
        if step.repeat:
            out = self._repeat(step, task, args, kwargs, info)
            if out.count and step.targets:
                self._bind(ev, step, out.tally.tail.last)           # type: ignore[union-attr]
            if out.cut_short:
                return out                                          # nothing to judge yet
        else:
            out = self._call(step, task, args, kwargs, info)
            if out.kind == "ok" and step.targets:
                self._bind(ev, step, out.value)
        if step.expect is not None:
            self._judge(ev, step, out)
        return out

    def _call(self, step: Step, task: Any, args: list, kwargs: dict, info: dict) -> Outcome:
        method = getattr(task, step.method)
        try:
            value = method(*args, **kwargs)
        except OSError as e:
            return Outcome(step, "errno", errno=e.errno, message=e.strerror or str(e), call=info)
        except (PidlabError, TypeError) as e:
            return Outcome(step, "exception", exception=type(e).__name__, message=str(e), call=info)
        out = Outcome(step, "ok", value=decode(step.method, value), call=info)
        if isinstance(value, StatResult) and args:
            out.owner = _owner_in_model_names(self.kernel, task, args[0], value)
        return out

    def _repeat(self, step: Step, task: Any, args: list, kwargs: dict, info: dict) -> Outcome:
        """Up to N calls, until the first error or Ctrl-C (looked at between two calls)."""
        method = getattr(task, step.method)
        decoder = DECODERS.get(step.method)
        hold, tally, limit = self._hold, Tally(), step.repeat
        out = None
        while tally.count < limit and not hold.pending:
            try:
                value = method(*args, **kwargs)
            except OSError as e:
                out = Outcome(step, "errno", errno=e.errno, message=e.strerror or str(e),
                              call=info)
                break
            except (PidlabError, TypeError) as e:
                out = Outcome(step, "exception", exception=type(e).__name__, message=str(e),
                              call=info)
                break
            tally.add(decoder(value) if decoder is not None else value)
        if out is None:
            out = Outcome(step, "ok", value=tally.tail.last if tally.tail else None, call=info)
        out.count, out.tally = tally.count, tally
        # The flag is read here, so a Ctrl-C after the last call does not count as a cut.
        out.interrupted = hold.pending
        return out

    def _bind(self, ev: Evaluator, step: Step, value: Any) -> None:
        if len(step.targets) == 1:
            self.env.names[step.targets[0]] = value
            return
        if not isinstance(value, tuple) or len(value) != len(step.targets):
            raise ev.fail(f"cannot unpack {show(value)} into {', '.join(step.targets)}")
        for name, v in zip(step.targets, value):
            self.env.names[name] = v

    def _judge(self, ev: Evaluator, step: Step, out: Outcome) -> None:
        exp = step.expect
        out.expected = step.expect_src
        if isinstance(exp, ast.Name) and exp.id in ERRNOS and exp.id not in self.env.names:
            out.passed = out.kind == "errno" and out.errno == ERRNOS[exp.id]
            return
        if isinstance(exp, ast.Name) and exp.id in EXCEPTIONS and exp.id not in self.env.names:
            out.passed = out.kind == "exception" and out.exception == exp.id
            return
        if out.kind != "ok":
            out.passed = False
            return
        out.passed = _same(out.value, ev.value(exp))                # type: ignore[arg-type]

    def _directive(self, ev: Evaluator, step: Step) -> Outcome:
        d = step.directive
        if d == "echo":
            text = ev.text(step.expr) if isinstance(step.expr, ast.JoinedStr) else step.arg
            return Outcome(step, "directive", output=text, message=text)
        if d == "check":
            check = getattr(self.kernel, "check", None)
            if check is None:
                text = "(the live kernel has no model invariants)"
                return Outcome(step, "directive", output=text, message=text)
            try:
                check()
            except PidlabError as e:
                return Outcome(step, "exception", exception=type(e).__name__, message=str(e))
            return Outcome(step, "directive", output="all invariants hold",
                           message="all invariants hold")
        views = self.kernel.snapshot()
        labels = self.env.labels()
        out = Outcome(step, "directive", value=views, output=views, labels=labels)
        if d == "tree" and step.path:
            title = f"pidlab · {self.filename} · line {step.line}"
            try:
                with open(step.path, "w", encoding="utf-8") as f:
                    f.write(drawing(views, step.fmt, title, labels))
            except OSError as e:
                raise ev.fail(f"cannot write the drawing to {step.path}: "
                              f"{e.strerror or e}") from None
            out.path = step.path
            out.message = f"wrote the {step.fmt} drawing of {len(views)} tasks to {step.path}"
        return out


def _owner_in_model_names(kernel: Any, task: Any, fd: Any, st: StatResult) -> tuple[int, int]:
    """A stat's owner as the model names it.  A live sandbox in a user namespace shows
    owners it cannot map (the machine's root owns pidfs inodes) as the overflow ids; the
    trace keeps the owner in the model's names beside them, for pidlab compare
    (pidlab.differences "userns-owner").  Everywhere else it is st's own."""
    file_owner = getattr(kernel, "file_owner", None)
    if file_owner is not None and getattr(kernel, "userns", False):
        try:
            uid, gid = file_owner(task, fd)
            return (uid, gid)
        except (OSError, TypeError):
            pass
    return (st.st_uid, st.st_gid)


# ---------------------------------------------------------------- concurrent scenarios
#
# A litmus test, in herd7's sense: setup lines, one `par { ... | ... }` block whose
# threads pidlab.explore interleaves at the kernel's lock points, an optional
# `after { }` block run once every thread is done, and conditions on the outcomes:
#
#     c = init.fork()
#     c.exit_group(0)
#     other = init.fork()
#     par {
#         r = init.waitpid(c.pid, 0)
#     |
#         fd = other.pidfd_open(c.pid)
#     }
#     after {
#         info = other.pidfd_get_info(fd, PIDFD_INFO_EXIT)
#     }
#     exists leak (fd >= 0 and not info.mask & PIDFD_INFO_EXIT)
#     forall (r == (c.pid, 0))
#
# parse_litmus() reads one; Litmus.compile() makes the (setup, threads, final)
# callables pidlab.explore and pidlab.stress take, and the conditions' predicates.

CONDITION_KINDS = ("exists", "~exists", "forall")
UNBOUND = None                      # what a name reads as when its line did not run
_BLOCK_OPEN = re.compile(r"(par|after)\s*\{\Z")
_BLOCK_INLINE = re.compile(r"(par|after)\s*\{.")
_CONDITION = re.compile(r"(~\s*exists|exists|forall)(?:\s+([A-Za-z_][\w.-]*))?\s*(\(.*)\Z", re.S)
_CHANGES = re.compile(r"changes(?:\s+(.*))?\Z")
_CHANGE_ITEM = re.compile(r"([a-z0-9][a-z0-9-]*)=([01])\Z")
# Names a condition (and only a condition) may read besides the bound ones: ok(x) is
# true when x's line ran and its call succeeded (not an errno, WOULD_BLOCK, unbound).
CONDITION_NAMES = ("WOULD_BLOCK", "ok")
# Directives that print: once per schedule would be thousands of times.
_SETUP_DIRECTIVES = ("check",)


def concurrent_line(body: str) -> str:
    """What a line (without its comment) is in a concurrent scenario: "par", "after",
    "|", "}", "condition", "changes", "inline" (a block opened with code after its
    brace), or "" for an ordinary step."""
    if body in ("|", "}"):
        return body
    m = _BLOCK_OPEN.match(body)
    if m:
        return m.group(1)
    if _BLOCK_INLINE.match(body):
        return "inline"
    if _CONDITION.match(body):
        return "condition"
    if body == "changes" or re.match(r"changes\s+[A-Za-z0-9][\w-]*\s*=", body):
        return "changes"
    return ""


@dataclasses.dataclass
class Condition:
    """`exists NAME (EXPR)`, `~exists NAME (EXPR)` or `forall NAME (EXPR)`: a proposition
    on an outcome, and what the test claims of it (some, no, every schedule)."""

    kind: str                   # "exists", "~exists", "forall"
    name: str
    expr: ast.expr
    source: str                 # the proposition as written, with its parentheses
    line: int

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n.id for n in ast.walk(self.expr) if isinstance(n, ast.Name))

    def witnessed(self, holds: bool) -> bool:
        """Whether an outcome on which the proposition is `holds` is a witness: a schedule
        that shows it (exists, ~exists) or a counterexample (forall)."""
        return holds if self.kind != "forall" else not holds

    def ok(self, positive: int, negative: int) -> bool:
        """herd7's validation: exists needs one schedule, ~exists none, forall all."""
        if self.kind == "exists":
            return positive > 0
        if self.kind == "~exists":
            return positive == 0
        return negative == 0

    def __str__(self) -> str:
        return f"{self.kind} {self.source}"


@dataclasses.dataclass(frozen=True)
class Bindings:
    """What one thread (or the after block) of a schedule bound: its names in the order
    the block first binds them, each value canonical (a Child without its task handle,
    an errno as pidlab.Errno, WOULD_BLOCK, 0 for a call that returns nothing) or None
    when its line did not run; `stopped` says where and why the block stopped early."""

    block: str                  # "P0", "P1", ..., "after"
    names: tuple[str, ...]
    values: tuple
    stopped: str = ""           # "line 12: ESRCH", "" when it ran to its end

    def mapping(self) -> dict[str, Any]:
        return dict(zip(self.names, self.values))

    def __str__(self) -> str:
        parts = [f"{n}={show_bound(v)}" for n, v in zip(self.names, self.values)]
        if self.stopped:
            parts.append(f"(stopped at {self.stopped})")
        return " ".join(parts) or "(nothing bound)"


def show_bound(value: Any) -> str:
    """A bound value as an outcome prints it: ESRCH, WOULD_BLOCK, unbound, (2, exited 0)."""
    if value is None:
        return "unbound"
    if isinstance(value, Errno):
        return str(value)
    return show(value)


def bound_json(value: Any) -> Any:
    """A bound value in JSON: an errno by name ({"errno": "ESRCH"}), the rest as to_json."""
    if isinstance(value, Errno):
        return {"errno": str(value)}
    if value is WOULD_BLOCK:
        return {"exception": "WouldBlock"}
    return to_json(value)


@dataclasses.dataclass
class Litmus:
    """A parsed concurrent scenario (see parse_litmus)."""

    filename: str
    description: str            # the comment block the file opens with
    setup: list[Step]
    threads: list[list[Step]]
    after: list[Step]
    conditions: list[Condition]
    changes: dict[str, bool]
    par_line: int = 0
    after_line: int = 0

    @property
    def thread_names(self) -> list[str]:
        """P0, P1, ... each with the task its first line names: "P0 init"."""
        return [f"P{i}" + (f" {lines[0].receiver}" if lines and lines[0].receiver else "")
                for i, lines in enumerate(self.threads)]

    def names_of(self, lines: Sequence[Step]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for s in lines for n in s.targets))

    def binder(self) -> dict[str, tuple[str, int]]:
        """Every name a block binds -> (block, line of its first binding): "setup",
        "P0", ..., "after"."""
        out: dict[str, tuple[str, int]] = {}
        for block, lines in [("setup", self.setup),
                             *((f"P{i}", t) for i, t in enumerate(self.threads)),
                             ("after", self.after)]:
            for s in lines:
                for n in s.targets:
                    out.setdefault(n, (block, s.line))
        return out

    def compile(self) -> "Program":
        return Program(self)


def _stem(filename: str) -> str:
    base = os.path.basename(filename).strip("<>")
    return base.removesuffix(".pidlab") or "litmus"


def _description(text: str) -> str:
    """The comment block a file opens with, without its '#'s."""
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("#"):
            if s or out:
                break
            continue
        out.append(s[1:].strip() if s != "#" else "")
    return "\n".join(out).strip()


def _parse_condition(body: str, filename: str, lineno: int) -> Condition:
    m = _CONDITION.match(body)
    assert m is not None
    kind = re.sub(r"\s+", "", m.group(1))
    source = m.group(3).strip()
    try:
        expr = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise ScriptError(filename, lineno, f"expected {kind} [NAME] (EXPR) with one "
                          f"expression in parentheses, got {source!r}") from None
    for node in ast.walk(expr):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and
                                               (node.func.id in MACROS or node.func.id == "ok")):
            raise ScriptError(filename, lineno, "a condition reads the names the blocks "
                              f"bound; it makes no call ({ast.unparse(node)!r})")
    return Condition(kind, m.group(2) or "", expr, source, lineno)


def _parse_changes(body: str, filename: str, lineno: int) -> dict[str, bool]:
    from .versions import by_key
    m = _CHANGES.match(body)
    items = (m.group(1) or "").split() if m else []
    if not items:
        raise ScriptError(filename, lineno, "expected `changes KEY=0|1 ...` (pidlab features "
                          "lists the keys), e.g. `changes pidfd-open-locked=0`")
    known = by_key()
    out: dict[str, bool] = {}
    for item in items:
        im = _CHANGE_ITEM.match(item)
        if im is None:
            raise ScriptError(filename, lineno, f"expected KEY=0 or KEY=1, got {item!r}")
        key = im.group(1)
        if key not in known:
            hint = difflib.get_close_matches(key, known, n=1)
            raise ScriptError(filename, lineno, f"no change {key!r}" + (
                f" (did you mean {hint[0]}?)" if hint else " (pidlab features lists them)"))
        out[key] = im.group(2) == "1"
    return out


def parse_litmus(text: str, filename: str = "<script>") -> Litmus:
    """A concurrent scenario: setup lines, `par { ... | ... }`, an optional `after { }`,
    conditions.  Raises ScriptError with every mistake of the file in `errors`: the
    layout first, then (once it is right) every name, as parse() does."""
    errors: list[ScriptError] = []
    setup: list[Step] = []
    threads: list[list[Step]] = []
    after: list[Step] = []
    conditions: list[Condition] = []
    changes: dict[str, bool] = {}
    where = "setup"             # setup, par, after, end (past the blocks), conditions
    par_line = after_line = 0
    thread_line = 0             # where the current thread begins (par or |)
    filled = False              # the current thread has a line
    skipping = ""               # inside a misplaced block: where to go back after its }

    def fail(i: int, msg: str) -> None:
        errors.append(ScriptError(filename, i, msg))

    for i, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith("echo ") or raw.strip() == "echo":
            body = _strip_echo_comment(raw).strip()
        else:
            body = _strip_comment(raw).strip()
        if not body:
            continue
        kind = concurrent_line(body)
        if skipping:
            # The lines of a block already reported as misplaced: one error for all.
            if kind == "}":
                where, skipping = skipping, ""
            continue
        if kind == "inline":
            fail(i, f"write `{body.split('{')[0].strip()} {{` on a line of its own, then "
                 "one step per line")
        elif kind == "par":
            if par_line:
                fail(i, f"one par block per scenario (the first opens at line {par_line})")
                skipping = where
            elif where != "setup":
                fail(i, "a par block cannot open inside another block")
            else:
                where, par_line, thread_line = "par", i, i
                threads.append([])
                filled = False
        elif kind == "|":
            if where != "par":
                fail(i, "`|` separates the threads of a par block; here it is outside one")
            else:
                if not filled:
                    fail(i, f"the thread that begins at line {thread_line} has no step")
                threads.append([])
                thread_line, filled = i, False
        elif kind == "}":
            if where == "par":
                if not filled:
                    fail(i, f"the thread that begins at line {thread_line} has no step")
                where = "end"
            elif where == "after":
                where = "end"
            else:
                fail(i, "this `}` closes no block")
        elif kind == "after":
            if not par_line:
                fail(i, "after { } runs once the par block's threads are done: it follows "
                     "the par block")
                skipping = where
            elif where in ("par", "after"):
                fail(i, "close the block with `}` before after {")
            elif after_line:
                fail(i, f"one after block per scenario (the first opens at line {after_line})")
                skipping = where
            elif where == "conditions":
                fail(i, "after { } comes before the conditions")
                skipping = where
            else:
                where, after_line = "after", i
        elif kind == "condition":
            if where in ("par", "after"):
                fail(i, "a condition comes after the blocks: close the block with `}` first")
            elif not par_line:
                fail(i, "a condition is about the outcomes of the par block: it follows it")
            else:
                try:
                    conditions.append(_parse_condition(body, filename, i))
                except ScriptError as e:
                    errors.append(e)
                where = "conditions"
        elif kind == "changes":
            if where != "setup":
                fail(i, "changes come before the par block (they set up the kernel)")
            else:
                try:
                    changes.update(_parse_changes(body, filename, i))
                except ScriptError as e:
                    errors.append(e)
        else:
            filled = True               # a thread with a bad line is not an empty one
            try:
                step = parse_line(raw, i, filename)
            except ScriptError as e:
                errors.append(e)
                continue
            if step is None:
                continue
            if where == "setup":
                if step.kind == "directive" and step.directive not in _SETUP_DIRECTIVES:
                    fail(i, f"{step.directive} would run before every schedule: in a "
                         "concurrent scenario only `check` may stand among the setup lines")
                else:
                    setup.append(step)
            elif where in ("par", "after"):
                block = "a thread" if where == "par" else "the after block"
                if step.kind != "call":
                    fail(i, f"{block} is made of system calls (`name = TASK.METHOD(...)`); "
                         "say what to expect with exists/forall conditions after the blocks")
                elif step.repeat:
                    fail(i, f"repeat is for setup lines, not {block}")
                elif step.expect is not None:
                    fail(i, f"no `->` in {block}: bind the result (`x = ...`) and state it "
                         "in a condition after the blocks (exists (x == ESRCH))")
                else:
                    (threads[-1] if where == "par" else after).append(step)
            else:
                fail(i, "after the par block only `after { }` and conditions (exists, "
                     "~exists, forall) may follow")
    if where == "par":
        fail(par_line, "the par block opened here is not closed with `}`")
    elif where == "after":
        fail(after_line, "the after block opened here is not closed with `}`")
    lit = Litmus(filename, _description(text), setup, threads, after, conditions, changes,
                 par_line, after_line)
    if not errors:
        errors += _check_litmus_names(lit)
    if errors:
        errors.sort(key=lambda e: e.line)
        first = errors[0]
        first.errors = errors
        raise first
    stem, unnamed = _stem(filename), [c for c in conditions if not c.name]
    for n, c in enumerate(conditions, 1):
        if not c.name:
            c.name = stem if len(unnamed) == 1 and len(conditions) == 1 else f"{stem}.{n}"
    return lit


def _check_litmus_names(lit: Litmus) -> list[ScriptError]:
    """Every name of every block: read only once bound (a thread reads the setup's names
    and its own, never another thread's), bound by one block only."""
    errors: list[ScriptError] = []
    fn = lit.filename
    binder = lit.binder()
    first_binding = {n: line for n, (_, line) in binder.items()}

    def check_block(block: str, lines: list[Step], visible: set[str]) -> None:
        bound = set(visible)
        for step in lines:
            for name, expectation in _names_in(step):
                if name in bound or _known(name, expectation):
                    continue
                owner = binder.get(name)
                if owner is not None and owner[0] not in ("setup", block):
                    why = ("the setup runs before every block" if block == "setup" else
                           "the after block runs once the threads are done"
                           if owner[0] == "after" else
                           "a thread reads the setup's names and its own, never another "
                           "thread's (compare them in a condition)")
                    where = "the after block" if owner[0] == "after" else f"thread {owner[0]}"
                    errors.append(ScriptError(fn, step.line, f"{name!r} is bound by {where} "
                                              f"(line {owner[1]}): {why}"))
                    break
                try:
                    check_names(step, bound, fn, first_binding)
                except ScriptError as e:
                    errors.append(e)
                break
            for name in step.targets:
                owner = binder.get(name)
                if name in CONDITION_NAMES:
                    errors.append(ScriptError(fn, step.line, f"{name!r} is a reserved name"))
                elif owner is not None and owner[0] != block:
                    where = "the setup" if owner[0] == "setup" else (
                        "the after block" if owner[0] == "after" else f"thread {owner[0]}")
                    errors.append(ScriptError(fn, step.line, f"{name!r} is already bound by "
                                              f"{where} (line {owner[1]}): each block binds "
                                              "names of its own, so that an outcome says "
                                              "which thread saw what"))
            bound.update(step.targets)

    check_block("setup", lit.setup, set())
    setup_names = {n for s in lit.setup for n in s.targets}
    thread_names: set[str] = set()
    for i, lines in enumerate(lit.threads):
        check_block(f"P{i}", lines, setup_names)
        thread_names.update(n for s in lines for n in s.targets)
    check_block("after", lit.after, setup_names | thread_names)
    everything = set(binder)
    seen: dict[str, int] = {}
    for c in lit.conditions:
        if c.name:
            if c.name in seen:
                errors.append(ScriptError(fn, c.line, f"a condition named {c.name!r} is "
                                          f"already at line {seen[c.name]}"))
            seen.setdefault(c.name, c.line)
        for name in sorted(c.names):
            if name in everything or name in CONDITION_NAMES or _known(name, False):
                continue
            pool = [*everything, *CONDITION_NAMES, *ERRNOS, *CONSTANTS]
            hint = difflib.get_close_matches(name, pool, n=1, cutoff=0.75)
            errors.append(ScriptError(fn, c.line, f"{name!r} is not bound by any block and is "
                                      "not a constant or an errno" +
                                      (f" (did you mean {hint[0]}?)" if hint else "")))
    return errors


def parse_any(text: str, filename: str = "<script>") -> list[Step] | Litmus:
    """A sequential scenario's steps, or a Litmus when the file has a par block."""
    for raw in text.splitlines():
        if concurrent_line(_strip_comment(raw).strip()) in ("par", "inline"):
            return parse_litmus(text, filename)
    return parse(text, filename)


# ------------------------------------------------ running a concurrent scenario
#
# The compiled blocks are plain objects (picklable, so that an exploration can
# shard them across processes) called as pidlab.explore calls them:
# setup(k) -> state, thread(k, state) -> Bindings, final(k, state, outcome) ->
# Bindings.  They evaluate the script's lines with the Evaluator above, without
# Runner.step's Ctrl-C guard (a schedule is short and replayable).

class LitmusState:
    """One schedule's script state: the setup's names (real values, task handles
    included), each block's own names, and which step bound what (traces only)."""

    __slots__ = ("env", "blocks", "log")

    def __init__(self, env: dict[str, Any], nthreads: int) -> None:
        self.env = env
        self.blocks: list[dict[str, Any]] = [{} for _ in range(nthreads)]
        # (event, thread, line, step, names, text): only when a trace records the steps
        self.log: list[tuple[str, int, int, int, tuple[str, ...], str]] = []


class _Scope(Env):
    """Names of several blocks at once: the first mapping that has the name wins."""

    def __init__(self, kernel: Any, *maps: Mapping[str, Any]) -> None:
        super().__init__(kernel)
        self.names = collections.ChainMap(*maps)        # type: ignore[assignment]


class SetupFn:
    """The setup lines, run on a fresh kernel before every schedule.  An expectation
    that fails, or a call that fails with nothing expecting it, is a ScriptError: the
    scenario does not set up what it says."""

    def __init__(self, lit: Litmus) -> None:
        self.lines = lit.setup
        self.filename = lit.filename
        self.nthreads = len(lit.threads)
        self.last: LitmusState | None = None        # the latest schedule's (for traces)

    def __call__(self, k: Any) -> LitmusState:
        runner = Runner(k, self.filename)
        for step in self.lines:
            out = runner._step(step)
            if out.failed:
                what = f"expected {out.expected}, got {out.describe()}" if out.expected else \
                    f"{out.describe()}, which nothing expected (add `-> ...` if it should)"
                if out.kind == "assert":
                    what = out.message
                raise ScriptError(self.filename, step.line, f"the setup failed: {step.source}: "
                                  f"{what}")
        state = LitmusState(dict(runner.env.names), self.nthreads)
        self.last = state
        return state

    def __getstate__(self) -> dict:
        return {"lines": self.lines, "filename": self.filename, "nthreads": self.nthreads,
                "last": None}

    def __setstate__(self, d: dict) -> None:
        self.__dict__.update(d)


def _missing(value: Any) -> str:
    """Why a bound value cannot stand as an argument ("" when it can)."""
    if value is None:
        return "unbound (its line did not run)"
    if isinstance(value, Errno):
        return f"{value} (its call failed)"
    if value is WOULD_BLOCK:
        return "WOULD_BLOCK (its call would have blocked)"
    return ""


class _Block:
    """The lines of one thread or of the after block, run in order: a call's result is
    bound (an errno as Errno, WouldBlock as WOULD_BLOCK, nothing as 0); a failed call
    that binds nothing, a killed task, or a line that would read a name its block could
    not bind, stops the block there."""

    def __init__(self, lit: Litmus, label: str, lines: list[Step], index: int) -> None:
        self.label = label
        self.lines = lines
        self.index = index
        self.filename = lit.filename
        self.names = lit.names_of(lines)
        own = set(self.names) if label != "after" else \
            {n for t in lit.threads for s in t for n in s.targets} | set(self.names)
        # The names each line reads that a block binds (and may have failed to).
        self.reads = [tuple(dict.fromkeys(n for n, _ in _names_in(s) if n in own))
                      for s in lines]

    def run(self, k: Any, scope: _Scope, own: dict[str, Any], log: list | None) -> str:
        sched = getattr(getattr(k, "state", None), "sched", None)
        if log is None or sched is None or not sched.record:
            return self._run(scope, own, None, None)
        return self._run(scope, own, log, sched)

    def _run(self, scope: _Scope, own: dict[str, Any], log: list | None, sched: Any) -> str:
        """The lines; with `log` (a trace), what each did at which step: ("call", thread,
        line, step, (), source), ("bind", ..., names, "fd=3"), ("stop", ..., (), why)."""
        for step, reads in zip(self.lines, self.reads):
            stopped = ""
            for name in reads:
                why = _missing(scope.names.get(name))
                if why:
                    stopped = f"line {step.line}: {name} is {why}"
                    break
            if not stopped:
                if log is not None:
                    log.append(("call", self.index, step.line, len(sched.trace), (),
                                step.source))
                stopped = self._line(step, scope, own)
            if stopped:
                if log is not None:
                    log.append(("stop", self.index, step.line, len(sched.trace), (), stopped))
                return stopped
            if log is not None and step.targets:
                log.append(("bind", self.index, step.line, len(sched.trace), step.targets,
                            " ".join(f"{n}={show_bound(canon(own[n]))}"
                                     for n in step.targets)))
        return ""

    def _line(self, step: Step, scope: _Scope, own: dict[str, Any]) -> str:
        """One call, its result bound; why the block stops here, or ""."""
        ev = Evaluator(scope, self.filename, step.line)
        call = step.expr
        assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
        task = ev.task(call.func.value)
        args = [ev.value(a) for a in call.args]
        kwargs = {kw.arg: ev.value(kw.value) for kw in call.keywords if kw.arg}
        failed = ""
        try:
            value = getattr(task, step.method)(*args, **kwargs)
        except OSError as e:
            value = Errno(e.errno)
            failed = str(value)
        except WouldBlock:
            value, failed = WOULD_BLOCK, "WOULD_BLOCK"
        except TaskExited:
            return f"line {step.line}: its task was killed"
        except (PidlabError, TypeError) as e:
            return f"line {step.line}: {type(e).__name__}: {e}"
        if failed and not step.targets:
            return f"line {step.line}: {failed}"
        value = 0 if value is None else decode(step.method, value)
        if isinstance(value, StatResult) and args and getattr(scope.kernel, "userns", False):
            # pidlab.differences "userns-owner": a sandbox in a user namespace shows the
            # owners it cannot map as the overflow ids; bound as the model names them,
            # so that outcomes compare with the model's (as pidlab compare does).
            uid, gid = _owner_in_model_names(scope.kernel, task, args[0], value)
            value = dataclasses.replace(value, st_uid=uid, st_gid=gid)
        if len(step.targets) == 1 or failed:
            for name in step.targets:
                own[name] = value
        elif step.targets:
            if not isinstance(value, tuple) or len(value) != len(step.targets):
                raise ev.fail(f"cannot unpack {show(value)} into {', '.join(step.targets)}")
            own.update(zip(step.targets, value))
        return ""

    def bindings(self, own: Mapping[str, Any], stopped: str) -> Bindings:
        return Bindings(self.label, self.names, tuple(canon(own.get(n)) for n in self.names),
                        stopped)


class ThreadFn(_Block):
    """One thread of the par block: fn(k, state) -> Bindings, for pidlab.explore."""

    def __init__(self, lit: Litmus, index: int) -> None:
        super().__init__(lit, f"P{index}", lit.threads[index], index)
        self.__name__ = lit.thread_names[index]

    def __call__(self, k: Any, s: LitmusState) -> Bindings:
        own = s.blocks[self.index]
        stopped = self.run(k, _Scope(k, own, s.env), own, s.log)
        return self.bindings(own, stopped)


class FinalFn(_Block):
    """The after block: final(k, state, outcome) -> Bindings, run once every thread is
    done, with every thread's names (as it bound them) in scope."""

    def __init__(self, lit: Litmus) -> None:
        super().__init__(lit, "after", lit.after, len(lit.threads))
        self.__name__ = "after"
        self.thread_names = tuple(dict.fromkeys(n for t in lit.threads for s in t
                                                for n in s.targets))

    def __call__(self, k: Any, s: LitmusState, outcome: tuple) -> Bindings:
        own: dict[str, Any] = {}
        threads = dict.fromkeys(self.thread_names)
        for b in s.blocks:
            threads.update(b)
        stopped = self.run(k, _Scope(k, own, threads, s.env), own, None)
        return self.bindings(own, stopped)


class _ConditionScope(_Scope):
    """A condition's names: an errno's name is a pidlab.Errno (so `fd == ESRCH` holds of
    a failed call and `fd == 3` does not), WOULD_BLOCK is pidlab.WOULD_BLOCK."""

    def lookup(self, name: str) -> Any:
        if name in self.names:
            return self.names[name]
        if name == "WOULD_BLOCK":
            return WOULD_BLOCK
        if name in ERRNOS:
            return Errno(ERRNOS[name])
        return super().lookup(name)


_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


class _ConditionEvaluator(Evaluator):
    """Conditions as the language reads them: an ordering comparison with an errno,
    WOULD_BLOCK or an unbound name is false (`fd >= 0` when pidfd_open failed), and
    reading an attribute of one is a mistake named with its cause."""

    def _value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "ok" and "ok" not in self.env.names:
            if len(node.args) != 1 or node.keywords:
                raise self.fail("ok(x) takes one name")
            return not _missing(self.value(node.args[0]))
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = self.value(comp)
                if isinstance(op, _ORDERING) and (_missing(left) or _missing(right)):
                    return False
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        return super()._value(node)

    def attribute(self, obj: Any, attr: str) -> Any:
        why = _missing(obj)
        if why:
            raise self.fail(f"no .{attr} of a value that is {why}: test it first "
                            f"(`ok(x) and x.{attr} ...`)")
        return super().attribute(obj, attr)


class Program:
    """A compiled concurrent scenario: `setup`, `threads` and `final` as pidlab.explore
    and pidlab.stress take them, the `conditions`, and `changes` (the scenario's own
    `changes` line)."""

    def __init__(self, lit: Litmus) -> None:
        self.litmus = lit
        self.setup = SetupFn(lit)
        self.threads = [ThreadFn(lit, i) for i in range(len(lit.threads))]
        self.final = FinalFn(lit) if lit.after else None
        self.conditions = lit.conditions
        self.changes = dict(lit.changes)
        self._setup_values: dict[tuple, dict[str, Any]] = {}

    def setup_values(self, version: str | None = None,
                     changes: Mapping[str, bool] | None = None) -> dict[str, Any]:
        """The setup's names as a condition reads them (canonical: a Child's pid and
        pidfd), from one run of the setup on a fresh model of that version: the model is
        deterministic, so every schedule's setup binds the same."""
        from . import model
        from .versions import DEFAULT_VERSION
        version = version or DEFAULT_VERSION
        key = (version, tuple(sorted((changes or {}).items())))
        if key not in self._setup_values:
            with model.Kernel(version=version, changes=dict(changes) if changes else None) as k:
                s = self.setup(k)
                self._setup_values[key] = {n: canon(v) for n, v in s.env.items()}
        return self._setup_values[key]

    def scope(self, outcome: tuple, version: str | None = None,
              changes: Mapping[str, bool] | None = None) -> dict[str, Any]:
        """Every name of an outcome: the setup's, each thread's and the after block's
        (None for a name whose line did not run)."""
        names = dict(self.setup_values(version, changes))
        for t in self.threads:
            names.update(dict.fromkeys(t.names))
        if self.final is not None:
            names.update(dict.fromkeys(self.final.names))
        for entry in outcome:
            if isinstance(entry, Bindings):
                names.update(entry.mapping())
        return names

    def holds(self, cond: Condition, outcome: tuple, version: str | None = None,
              changes: Mapping[str, bool] | None = None) -> bool:
        """The condition's proposition on one outcome."""
        names = self.scope(outcome, version, changes)
        ev = _ConditionEvaluator(_ConditionScope(None, names), self.litmus.filename, cond.line)
        try:
            return bool(ev.value(cond.expr))
        except ScriptError as e:
            raise ScriptError(self.litmus.filename, cond.line, f"condition {cond.name}: "
                              f"{e.message}, in the outcome {outcome_text(outcome)}") from None

    def predicate(self, cond: Condition, version: str | None = None,
                  changes: Mapping[str, bool] | None = None) -> Callable[[tuple], bool]:
        """pred(outcome) -> bool, for Exploration.count/verdict/witness."""
        cache: dict[tuple, bool] = {}

        def pred(outcome: tuple) -> bool:
            if outcome not in cache:
                cache[outcome] = self.holds(cond, outcome, version, changes)
            return cache[outcome]
        return pred

    def thread_tasks(self, version: str | None = None,
                     changes: Mapping[str, bool] | None = None) -> list[tuple[int, ...]]:
        """The numbers (outermost first) of the task each thread's first line acts as, as
        the setup leaves it; () for a task the thread makes itself."""
        from . import model
        from .versions import DEFAULT_VERSION
        out: list[tuple[int, ...]] = []
        with model.Kernel(version=version or DEFAULT_VERSION,
                          changes=dict(changes) if changes else None) as k:
            s = self.setup(k)
            scope = _Scope(k, s.env)
            for t in self.threads:
                call = t.lines[0].expr
                assert isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                try:
                    task = Evaluator(scope, t.filename, t.lines[0].line).task(call.func.value)
                except ScriptError:
                    out.append(())
                    continue
                out.append(tuple(task.numbers))
        return out

    def shared_tasks(self, version: str | None = None,
                     changes: Mapping[str, bool] | None = None) -> list[str]:
        """Threads whose first line acts as a task another thread's first line acts as:
        each thread should act as one task of its own (two CPUs never run one task)."""
        out: list[str] = []
        seen: dict[tuple[int, ...], str] = {}
        for t, numbers in zip(self.threads, self.thread_tasks(version, changes)):
            if numbers in seen:
                out.append(f"{t.__name__} and {seen[numbers]} both act as task "
                           f"{numbers[0]}: each thread should act as one task of its own")
            elif numbers:
                seen[numbers] = t.__name__
        return out


def outcome_text(outcome: Sequence[Any], sep: str = "  |  ") -> str:
    """One outcome on one line: each block's bindings, named."""
    parts = []
    for i, entry in enumerate(outcome):
        if isinstance(entry, Bindings):
            parts.append(f"{entry.block}: {entry}")
        else:
            parts.append(f"#{i}: {entry}")
    return sep.join(parts)


def outcome_json(outcome: Sequence[Any]) -> list[dict]:
    out = []
    for i, entry in enumerate(outcome):
        if isinstance(entry, Bindings):
            out.append({"block": entry.block,
                        "names": {n: bound_json(v) for n, v in zip(entry.names, entry.values)},
                        "stopped": entry.stopped or None})
        else:
            out.append({"block": f"#{i}", "names": {}, "stopped": str(entry)})
    return out


# ---------------------------------------------------------------- traces

def to_json(value: Any) -> Any:
    """A JSON shape for any result, the same on both backends (numbers stay numbers)."""
    if isinstance(value, Child):
        return {"type": "Child", "pid": value.pid, "pidfd": value.pidfd}
    if isinstance(value, TaskView):
        return {"type": "TaskView", **{f.name: to_json(getattr(value, f.name))
                                       for f in dataclasses.fields(value)}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"type": type(value).__name__}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            out[f.name] = v.hex() if isinstance(v, bytes) else to_json(v)
        return out
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"type": type(value).__name__, **{k: to_json(v) for k, v in value._asdict().items()}}
    if isinstance(value, dict):
        return {"type": "dict", "items": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(to_json(v) for v in value)
    if isinstance(value, bytes):
        return {"type": "bytes", "hex": value.hex()}
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return int(value)               # a decoded status or mask: the number itself
    if _is_task(value):
        return {"type": "Task", "numbers": list(value.numbers)}
    return repr(value)


class _TaskRef:
    """A task named in a trace: only its numbers are known."""

    __slots__ = ("numbers",)

    def __init__(self, numbers: Iterable[int]) -> None:
        self.numbers = tuple(numbers)

    def __repr__(self) -> str:
        return f"Task(numbers={self.numbers})"


_RECORD_TYPES: dict[str, type] = {c.__name__: c for c in (PidfdInfo, StatResult, WaitidResult,
                                                          FileHandle, TaskView)}


def from_json(value: Any) -> Any:
    """The value a trace's JSON stands for, as far as `show` needs it."""
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    if kind == "dict":
        return {from_json(k): from_json(v) for k, v in value.get("items", [])}
    if kind == "bytes":
        return bytes.fromhex(value.get("hex", ""))
    if kind == "Child":
        return Child(value.get("pid"), None, value.get("pidfd"))
    if kind == "Task":
        return _TaskRef(value.get("numbers", ()))
    cls = _RECORD_TYPES.get(kind or "")
    if cls is not None:
        fields = {k: from_json(v) for k, v in value.items() if k != "type"}
        if cls is FileHandle and isinstance(fields.get("handle"), str):
            fields["handle"] = bytes.fromhex(fields["handle"])
        try:
            return cls(**fields)
        except TypeError:
            pass
    return value


def describe_event(ev: dict | None) -> str:
    """A trace event's result as `pidlab run` prints it (decoded, not raw JSON)."""
    if ev is None:
        return "(no such step: the run ended before it)"
    r = ev.get("result") or {}
    kind = r.get("outcome")
    call = ev.get("call") or {}
    if kind == "errno":
        text = str(r.get("errno"))
    elif kind == "exception":
        text = str(r.get("exception"))
    elif kind == "script-error":
        return f"scenario error: {r.get('message')}"
    elif kind == "assert":
        return "true" if r.get("value") else "false"
    elif kind == "directive" or call.get("directive"):
        value = r.get("value")
        if isinstance(value, dict) and "tasks" in value:
            n, m = len(value.get("tasks") or ()), len(value.get("namespaces") or ())
            text = f"{n} tasks in {m} namespaces"
            return text + (f", written to {r['file']}" if r.get("file") else "")
        return str(value) if value is not None else ""
    else:
        text = show(decode(call.get("method") or "", from_json(r.get("value"))))
    if "count" not in r:
        return text
    tally = Tally.from_json(r.get("results") or {}, call.get("method") or "")
    return repeat_text(kind or "", text, r["count"], tally, bool(r.get("interrupted")))


def event(n: int, out: Outcome, backend: str) -> dict:
    """One trace event: the call (or directive) and its result."""
    step = out.step
    ev: dict[str, Any] = {"step": n, "line": step.line, "source": step.source,
                          "backend": backend, "kind": step.kind}
    if step.kind == "call":
        call = out.call or {}
        ev["call"] = {"task": call.get("task"), "method": call.get("method"),
                      "args": to_json(call.get("args", [])),
                      "kwargs": {k: to_json(v) for k, v in call.get("kwargs", {}).items()}}
    elif step.kind == "directive":
        ev["call"] = {"directive": step.directive, "arg": step.arg}
    else:
        ev["call"] = {"assert": ast.unparse(step.expr) if step.expr is not None else ""}
    result: dict[str, Any] = {"outcome": out.kind}
    if out.kind == "ok":
        result["value"] = to_json(out.value)
    elif out.kind == "errno":
        result["errno"] = errno_name(out.errno or 0)
    elif out.kind == "exception":
        result["exception"] = out.exception
    elif out.kind == "assert":
        result["value"] = bool(out.value)
        if out.message:
            result["message"] = out.message
    elif out.kind == "directive":
        if step.directive in ("tree", "ps"):
            result["value"] = tree_json(out.output, out.labels)
            if out.path:
                result["file"] = out.path
        else:
            result["value"] = out.output
    if step.repeat:
        result["count"] = out.count
        if out.tally is not None:
            result["results"] = out.tally.as_json()
    if out.cut_short:
        result["interrupted"] = True    # the result is incomplete: Ctrl-C stopped the repeat
    if out.owner is not None:
        result["owner"] = list(out.owner)
    ev["result"] = result
    ev["expect"] = out.expected or None
    ev["passed"] = out.passed
    return ev


class Labeller:
    """Replaces backend-specific numbers (pidfs inodes, namespace inodes, handle bytes)
    by their rank of first appearance, so that traces compare by equality and order
    as pidlab.differences says they must."""

    KEYS = {"st_ino": "ino", "inode": "ns", "handle": "handle", "st_dev": "dev"}

    def __init__(self) -> None:
        self.maps: dict[str, dict[Any, str]] = {}

    def label(self, kind: str, value: Any) -> str:
        m = self.maps.setdefault(kind, {})
        if value not in m:
            m[value] = f"<{kind}#{len(m) + 1}>"
        return m[value]

    def __call__(self, obj: Any, key: str = "") -> Any:
        if isinstance(obj, dict):
            if obj.get("type") == "TaskView":
                return {k: ([self.label("ns", x) for x in v] if k == "namespaces" else self(v, k))
                        for k, v in obj.items()}
            return {k: (self.label(self.KEYS[k], v) if k in self.KEYS and v is not None
                        else self(v, k)) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self(v, key) for v in obj]
        if isinstance(obj, str):
            obj = re.sub(r"pid:\[(\d+)\]", lambda m: f"pid:[{self.label('ns', int(m.group(1)))}]", obj)
            obj = re.sub(r"(?m)^ino:\t(\d+)$", lambda m: f"ino:\t{self.label('ino', int(m.group(1)))}",
                         obj)
            return obj
        return obj


def comparable(events: list[dict]) -> list[Any]:
    """What must agree between backends: each step's result, numbers relabelled and
    status files cut to the lines both backends have (see pidlab.differences)."""
    from .differences import status_subset
    lab = Labeller()
    out = []
    for e in events:
        result = e["result"]
        call = e.get("call") or {}
        if call.get("directive") == "check":
            continue                    # the model's own invariants: nothing to compare

        args = call.get("args") or []
        if call.get("method") == "read_text" and args and isinstance(args[0], str) and \
                args[0].rstrip("/").endswith("/status") and isinstance(result.get("value"), str):
            result = {**result, "value": status_subset(result["value"])}
        if "owner" in result and isinstance(result.get("value"), dict):
            # An owner the live sandbox's user namespace cannot map, compared as the
            # model names it (pidlab.differences "userns-owner").
            uid, gid = result["owner"]
            value = {**result["value"], "st_uid": uid, "st_gid": gid}
            result = {k: v for k, v in result.items() if k != "owner"} | {"value": value}
        out.append((e["step"], e["source"], lab(result)))
    return out


# ---------------------------------------------------------------- the reference
#
# `pidlab help language`.  Generated, so that it cannot go stale: the system calls
# from the TaskAPI protocol (its source, for the groups and the defaults as
# written), the /proc files by asking a fresh model about every entry Linux has,
# the constants, errnos, macros and exceptions from the tables above.

# Linux: fs/proc/base.c tgid_base_stuff (every config option on), the names a
# /proc/<pid> directory can hold; the model is asked about each.
LINUX_PID_ENTRIES = (
    "task", "fd", "map_files", "fdinfo", "ns", "net", "environ", "auxv", "status", "personality",
    "limits", "sched", "autogroup", "timens_offsets", "comm", "syscall", "cmdline", "stat",
    "statm", "maps", "numa_maps", "mem", "cwd", "root", "exe", "mounts", "mountinfo",
    "mountstats", "clear_refs", "smaps", "smaps_rollup", "pagemap", "attr", "wchan", "stack",
    "schedstat", "latency", "cpuset", "cgroup", "cpu_resctrl_groups", "oom_score", "oom_adj",
    "oom_score_adj", "loginuid", "sessionid", "make-it-fail", "fail-nth", "coredump_filter",
    "io", "uid_map", "gid_map", "projid_map", "setgroups", "timers", "timerslack_ns",
    "patch_state", "stack_depth", "arch_status", "seccomp_cache", "ksm_merging_pages",
    "ksm_stat")
# Linux: fs/proc/namespaces.c ns_entries.
LINUX_NS_ENTRIES = ("net", "uts", "ipc", "pid", "pid_for_children", "user", "mnt", "cgroup",
                    "time", "time_for_children")
TOPICS = {"language": "the whole reference: steps, expressions, system calls, /proc, constants",
          "syscalls": "the system calls a step can make, with their arguments",
          "proc": "the /proc files the model resolves, and how each can be used",
          "constants": "every constant, errno, macro and exception a scenario can name"}


def syscall_groups() -> list[tuple[str, list[str]]]:
    """The Task API as its protocol writes it: (group, ["name(args) -> result", ...])."""
    source = textwrap.dedent(inspect.getsource(TaskAPI))
    lines = source.splitlines()
    tree = ast.parse(source)
    cls = tree.body[0]
    assert isinstance(cls, ast.ClassDef)
    groups: list[tuple[str, list[str]]] = []
    seen = set()
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        for line in reversed(lines[:node.lineno - 1]):
            m = re.match(r"\s*#\s*(.+)", line)
            if m:
                title = m.group(1).strip()
                break
            if line.strip():
                title = groups[-1][0] if groups else "system calls"
                break
        else:
            title = "system calls"
        if not groups or groups[-1][0] != title:
            groups.append((title, []))
        groups[-1][1].append(_signature(node))
        seen.add(node.name)
    missing = sorted(TASK_METHODS - seen)
    if missing:
        groups.append(("other", missing))
    return groups


def _signature(fn: ast.FunctionDef) -> str:
    a = fn.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    parts = []
    for arg, default in zip(positional, defaults):
        if arg.arg == "self":
            continue
        parts.append(arg.arg if default is None else f"{arg.arg}={_src(default)}")
    if a.kwonlyargs:
        parts.append("*")
        for arg, default in zip(a.kwonlyargs, a.kw_defaults):
            parts.append(arg.arg if default is None else f"{arg.arg}={_src(default)}")
    ret = f" -> {_src(fn.returns)}" if fn.returns is not None else ""
    return f"{fn.name}({', '.join(parts)}){ret}"


def _src(node: ast.expr) -> str:
    text = ast.unparse(node)
    return re.sub(r"\bC\.", "", text).replace("'", "").replace('"', "")


def proc_files() -> tuple[list[tuple[str, list[str]]], list[str], list[str]]:
    """What the model's procfs offers, asked of a fresh model: the paths with the calls
    that work on them, the Linux entries it declines (Unsupported), and those it does
    not know at all (ENOENT)."""
    import pidlab
    from .model import procfs

    k = pidlab.Kernel()
    t = k.init
    fd = t.pidfd_open(1)
    offered: list[tuple[str, list[str]]] = []
    unsupported: list[str] = []
    absent: list[str] = []

    def probe(path: str) -> tuple[list[str], str]:
        """The calls that work on `path`, and what it is: "present", "dir",
        "unsupported" (every call that reached it raised Unsupported) or "absent"."""
        ops: list[str] = []
        seen: set[str] = set()
        for op in ("read_text", "write_text", "readlink", "open"):
            try:
                if op == "read_text":
                    t.read_text(path)
                elif op == "write_text":
                    t.write_text(path, "")          # an empty write changes nothing
                elif op == "readlink":
                    t.readlink(path)
                else:
                    t.close(t.open(path))
            except Unsupported:
                seen.add("unsupported")
            except OSError as e:
                seen.add("dir" if e.errno == errno_mod.EISDIR and op == "read_text" else
                         "absent" if e.errno == errno_mod.ENOENT else "present")
            else:
                ops.append(op)
                seen.add("present")
        if ops:
            return ops, "present"
        # An entry the model declines for some call is not modelled, whatever the others
        # answered (readlink of a file that is no link is EINVAL on every Linux).
        for verdict in ("unsupported", "dir", "present"):
            if verdict in seen:
                return ops, verdict
        return ops, "absent"

    def add(shown: str, path: str) -> str:
        ops, verdict = probe(path)
        if verdict == "unsupported" and not ops:
            unsupported.append(shown)
        elif verdict == "absent":
            absent.append(shown)
        else:
            offered.append((shown + ("/" if verdict == "dir" else ""), ops))
        return verdict

    for name in procfs.SYSCTLS:
        add(f"/proc/sys/{name}", f"/proc/sys/{name}")
    add("/proc/self", "/proc/self")
    add("/proc/thread-self", "/proc/thread-self")
    add("/proc/<pid>", "/proc/1")
    children = {"ns": [(n, n) for n in LINUX_NS_ENTRIES], "fd": [("<fd>", str(fd))],
                "fdinfo": [("<fd>", str(fd))], "task": [("<tid>", "1")]}
    for name in LINUX_PID_ENTRIES:
        verdict = add(f"/proc/<pid>/{name}", f"/proc/1/{name}")
        kids = children.get(name, ())
        if verdict in ("absent", "unsupported") and kids:
            # The directory itself may be unmodelled while its entries are.
            (absent if verdict == "absent" else unsupported).pop()
        for shown, real in kids:
            add(f"/proc/<pid>/{name}/{shown}", f"/proc/1/{name}/{real}")
    t.close(fd)
    k.close()
    return offered, [p.removeprefix("/proc/<pid>/") for p in unsupported], \
        [p.removeprefix("/proc/<pid>/") for p in absent]


def _wrap(words: Iterable[str], indent: str = "    ", width: int = 96) -> list[str]:
    return textwrap.wrap(" ".join(words), width=width, initial_indent=indent,
                         subsequent_indent=indent, break_on_hyphens=False) or [indent.rstrip()]


def _reference_steps() -> list[str]:
    return [
        "pidlab's scenario language",
        "",
        "A scenario is a text file of steps, one per line; `pidlab run FILE` plays it (`pidlab",
        "run -` reads it from stdin), `pidlab compare FILE` plays it on both backends, and",
        "`pidlab shell` takes the same lines one at a time.  Names are checked when the file",
        "is parsed: a name that no earlier line binds is reported, with its line, before",
        "anything runs.",
        "",
        "STEPS",
        "  TASK.METHOD(ARGS)               a system call made by TASK (init, or a name bound to",
        "                                  a Child or a task); prints what it returned",
        "  name = TASK.METHOD(ARGS)        ... and binds the result to name (a, b = ... unpacks)",
        "  STEP -> EXPECTED                an expectation: a value (a Child equals its pid), an",
        "                                  errno (ESRCH) or an exception (WouldBlock, ...)",
        "  repeat N STEP                   the call up to N times (N <= %d), until it fails;" % MAX_REPEAT,
        "                                  prints every result compactly: runs of equal results",
        "                                  (1 ×4000) or counting ones (Child(pid=2..1001)); a",
        "                                  name binds the last; Ctrl-C stops it between two calls",
        "  assert EXPR                     any comparison; a false one shows the values compared",
        "  echo TEXT                       prints TEXT; {EXPR} in it is evaluated ({c.pid},",
        "                                  {status:#x}, {info!r}); {{ and }} print braces",
        "  tree [text|json|dot|svg] [FILE] draws every task and namespace, with the names bound",
        "                                  to each task; to FILE if given (a FILE ending in .svg,",
        "                                  .dot, .json or .txt sets the format); svg always goes",
        f"                                  to a file: {DEFAULT_SVG} unless FILE is given",
        "  ps                              lists the tasks, with the names bound to each",
        "  check                           verifies the model's invariants (k.check())",
        "  # ...                           a comment, anywhere",
        "",
        "EXPRESSIONS (arguments, expectations, assert and echo)",
        "  literals (1, 'text', b'..', (1, 2), [..], {..}), bound names, constants, errnos,",
        "  | & ^ + - * // % << >> ~, comparisons (== != < <= > >= in is), and, or, not, x[i],",
        "  attributes (c.pid, info.exit_code) and the macros (below).  Nothing else runs: a",
        "  system call is always a step of its own.",
        "",
        "ATTRIBUTES",
        "  Child: pid, pidfd, task (a Child stands for its task as a caller); a task: " +
        ", ".join(sorted(TASK_ATTRS)),
    ] + [line for cls in (PidfdInfo, StatResult, FileHandle) for line in _wrap(
        [f"{cls.__name__}:", *(f.name for f in dataclasses.fields(cls))], indent="  ")
         ] + [f"  WaitidResult: {' '.join(WaitidResult._fields)}",
              "",
              "RESULTS",
              "  Wait statuses print as what they mean (exited 7, killed by SIGKILL (core dumped),",
              "  stopped by SIGSTOP, continued), poll's revents as flags (POLLIN|POLLHUP), waitid's",
              "  si_code and signals by name (CLD_EXITED, SIGCHLD).  They stay numbers: `-> (c.pid,",
              "  0x700)` and `assert status == 1792` hold, and JSON traces hold the numbers.",
              ""] + _reference_concurrency()


def _reference_concurrency() -> list[str]:
    return [
        "CONCURRENT SCENARIOS (pidlab explore, pidlab replay; pidlab.stress)",
        "  A litmus test, as herd7 calls one: setup lines, one par block whose threads run at",
        "  the same time, an optional after block, and conditions on what the threads saw.",
        "",
        "    c = init.fork()                 # setup: ordinary steps, run on a fresh kernel",
        "    c.exit_group(0)                 #   before every schedule (expectations and",
        "    other = init.fork()             #   asserts hold, check runs; no tree/ps/echo)",
        "    par {",
        "        r = init.waitpid(c.pid, 0)  # thread P0",
        "    |",
        "        fd = other.pidfd_open(c.pid)   # thread P1",
        "    }",
        "    after {                         # optional: once every thread is done",
        "        info = other.pidfd_get_info(fd, PIDFD_INFO_EXIT)",
        "    }",
        "    exists leak (fd >= 0 and ok(info) and not info.mask & PIDFD_INFO_EXIT)",
        "    forall (r == (c.pid, 0))",
        "",
        "  par { ... | ... | ... }         threads, separated by `|` lines; `par {`, `|` and `}`",
        "                                  stand on lines of their own.  pidlab explore",
        "                                  interleaves the threads' system calls at the points",
        "                                  where Linux takes and drops its locks",
        "  after { ... }                   runs once every thread (and every task a signal",
        "                                  woke) is done; it reads every thread's names",
        "  exists [NAME] (EXPR)            some schedule's outcome satisfies EXPR (herd7's",
        "  ~exists [NAME] (EXPR)           exists), none does, or every one does; NAME names",
        "  forall [NAME] (EXPR)            the verdict line (default: the file's name, with",
        "                                  .N when there are several conditions)",
        "  changes KEY=0|1 ...             before par: the upstream changes switched off or on",
        "                                  for every version explored (pidlab features lists",
        "                                  the keys); `--kernel 6.16+pidfd-open-locked=0` says",
        "                                  the same on the command line",
        "",
        "  Each thread should act as one task: its lines are calls made by one task (named in",
        "  its first line), as a thread of a program is one task of Linux; two threads acting",
        "  as the same task would be two CPUs running one task (explore warns).  A thread reads",
        "  the setup's names and its own, never another thread's; each block binds names of",
        "  its own.  Lines of par and after blocks are calls (`x = TASK.METHOD(...)` or",
        "  `a, b = ...`), without `->`: the conditions say what is expected.",
        "",
        "  What a line binds: the call's result (decoded, as run prints it); 0 for a call that",
        "  returns nothing (kill, close, setns: Linux's return value); the errno when the call",
        "  fails (a condition compares it by name: fd == ESRCH, and fd == 3 is then false);",
        "  WOULD_BLOCK when it would block (the model does not sleep).  A call that fails and",
        "  binds nothing, a task that was killed, or a line that reads a name its block could",
        "  not bind (an errno, WOULD_BLOCK or unbound) stops its block there; the outcome says",
        "  where and why.  A name whose line did not run is unbound: it reads as None.",
        "",
        "  An outcome is what each block bound: P0: r=(2, exited 0)  |  P1: fd=3  |  after: ...",
        "  A condition is an expression on the names of every block (and the setup's, as the",
        "  setup left them: a Child's pid and pidfd), with errno names as errnos, WOULD_BLOCK,",
        "  None, and ok(x): x's line ran and its call succeeded.  An ordering comparison with",
        "  an errno, WOULD_BLOCK or an unbound name is false (fd >= 0 when pidfd_open failed);",
        "  an attribute of one is a mistake, reported with the outcome (test ok(x) first).",
        "",
        "  pidlab explore FILE prints, per condition, herd7's `Observation NAME Never|Sometimes|",
        "  Always P N` (P schedules satisfy EXPR, N do not), the statistics, the outcomes and",
        "  a witness: the schedule with the fewest preemptions that satisfies an exists or",
        "  ~exists condition, or violates a forall, as a token that `pidlab replay FILE TOKEN`",
        "  runs again.  In its steps (and in --format svg) the property breaks at the last",
        "  step of a thread that bound a name the condition reads, or in the after block when",
        "  the condition reads only the after block's names and the setup's.",
        "  pidlab.script.parse_litmus(text, filename).compile() gives the setup, threads, final",
        "  and conditions that pidlab.explore and pidlab.stress take.",
        ""]


def _reference_syscalls() -> list[str]:
    out = ["SYSTEM CALLS (every method of the Task API; pidlab.api.TaskAPI)"]
    for title, sigs in syscall_groups():
        out.append(f"  {title}")
        out += [f"    {s}" for s in sigs]
    return out + [""]


def _reference_proc() -> list[str]:
    offered, unsupported, absent = proc_files()
    out = ["/proc FILES (as the model resolves them; <pid> is a number in the caller's pid",
           "namespace, self or thread-self; /proc/<pid>/task/<tid>/... is one thread's)"]
    width = max(len(p) for p, _ in offered) + 2
    for path, ops in offered:
        out.append(f"  {path.ljust(width)}{', '.join(ops) or '(a directory)'}")
    if unsupported:
        out.append("  Not modelled (a call raises Unsupported):")
        out += _wrap(unsupported)
    if absent:
        out.append("  Not known to the model (ENOENT, as on a kernel built without them):")
        out += _wrap(absent)
    return out + [""]


def _family(name: str) -> str:
    """CLONE_NEWPID -> CLONE, SIGKILL -> SIG, WNOHANG -> W: how the reference groups them."""
    if "_" not in name:
        m = re.match(r"(SIG|POLL|W)(?=[A-Z])", name)
        return m.group(1) if m else name
    return name.split("_", 1)[0]


def _reference_constants() -> list[str]:
    groups: dict[str, list[str]] = {}
    for name in sorted(CONSTANTS):
        if not isinstance(CONSTANTS[name], type):
            groups.setdefault(_family(name), []).append(name)
    out = ["CONSTANTS (pidlab.constants: Linux's names and values)"]
    others = []
    for family in sorted(groups):
        names = groups[family]
        if len(names) < 3:
            others += names
            continue
        joined = all(n.startswith(family + "_") for n in names)
        out.append(f"  {family}{'_' if joined else ''}* ({len(names)})")
        out += _wrap(names)
    out.append(f"  others ({len(others)})")
    out += _wrap(others)
    out += ["", f"ERRNOS ({len(ERRNOS)}, after -> or in expressions): every E* name of Python's "
            "errno module,", "  e.g. ESRCH, EAGAIN, EINVAL, EPERM, ECHILD, ENOMEM",
            f"EXCEPTIONS (after ->): {' '.join(EXCEPTIONS)}",
            f"MACROS: {' '.join(MACROS)}", ""]
    return out


def reference(topic: str = "language") -> str:
    """The language reference, or one part of it (see TOPICS)."""
    if topic not in TOPICS:
        raise ValueError(f"no help topic {topic!r}; topics: {', '.join(TOPICS)}")
    parts: list[str] = []
    if topic == "language":
        parts += _reference_steps()
    if topic in ("language", "syscalls"):
        parts += _reference_syscalls()
    if topic in ("language", "proc"):
        parts += _reference_proc()
    if topic in ("language", "constants"):
        parts += _reference_constants()
    return "\n".join(parts).rstrip() + "\n"
