"""The scenario language of `pidlab run`, `compare` and `shell`: one call per line.

    # a comment
    ns = init.clone(CLONE_NEWPID, pidfd=True)     # bind a result to a name
    c = ns.fork() -> 3                            # a Child compares with its pid
    init.kill(99999, 0) -> ESRCH                  # expect an errno ...
    init.waitpid(c.pid, WNOHANG) -> WouldBlock    # ... or pidlab's exceptions
    a, b = init.socketpair()                      # unpack a tuple
    assert c.numbers == (3, 2)                    # any comparison
    repeat 1000 ns.fork() -> EAGAIN               # up to N times, until the first error
    tree                                          # draw the current state (tree json: JSON)
    ps                                            # list the tasks
    check                                         # the model's invariants (k.check())
    echo some text                                # print a line

A call is `TASK.METHOD(ARGS)`: TASK is `init`, a name bound to a Child (its
task) or to a task, and METHOD any method of the Task API.  Arguments are
Python literals, bound names, pidlab's constants (`CLONE_NEWPID | CLONE_PIDFD`),
attributes (`c.pid`, `info.exit_code`), and W*-macros (`WEXITSTATUS(status)`).
Expressions are evaluated by a small interpreter, never by `eval`.
"""

from __future__ import annotations

import ast
import dataclasses
import errno as errno_mod
import io
import os
import tokenize
from typing import Any, Callable, Iterator

from . import constants as C
from .api import (Child, FileHandle, PidfdInfo, PidlabError, StatResult, TaskExited, TaskView,
                  Unsupported, WaitidResult, WouldBlock)

DIRECTIVES = ("tree", "ps", "check", "echo")
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
# The Task API: the methods a script may call.
TASK_METHODS = frozenset("""
    fork clone spawn_thread execve exit exit_group getpid gettid getppid getpgid getpgrp getsid
    setpgid setsid kill tgkill sigaction waitpid waitid unshare setns prctl getuid geteuid
    getgid getegid getresuid getresgid setuid setgid setreuid setresuid setresgid capget capset
    getrlimit setrlimit pidfd_open pidfd_send_signal pidfd_getfd pidfd_get_info poll fstat
    name_to_handle_at open_by_handle_at fsetxattr fgetxattr flistxattr fremovexattr socketpair
    getsockopt open close dup fcntl read_text write_text readlink""".split())
TASK_ATTRS = frozenset({"numbers"})
RECORDS = (Child, FileHandle, PidfdInfo, StatResult, WaitidResult, TaskView)


class ScriptError(Exception):
    """A mistake in a scenario: names the file, the line and what was expected."""

    def __init__(self, filename: str, line: int, message: str) -> None:
        super().__init__(f"{filename}:{line}: {message}")
        self.filename, self.line, self.message = filename, line, message


# ---------------------------------------------------------------- parsing

@dataclasses.dataclass
class Step:
    line: int
    source: str
    kind: str                           # "call", "assert", "directive"
    targets: tuple[str, ...] = ()       # names bound by `a, b = ...`
    expr: ast.expr | None = None        # the call, or the asserted expression
    expect: ast.expr | None = None      # what follows `->`
    expect_src: str = ""
    directive: str = ""
    arg: str = ""
    repeat: int = 0                     # `repeat N call`: at most N times, until an error

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


def parse_line(text: str, lineno: int = 1, filename: str = "<input>") -> Step | None:
    """One line of a scenario; None for a blank line or a comment."""
    body = _strip_comment(text).strip()
    if not body:
        return None
    word, _, rest = body.partition(" ")
    if word in DIRECTIVES:
        if word == "echo":
            return Step(lineno, body, "directive", directive=word, arg=rest)
        if word == "tree" and rest.strip() not in ("", "text", "json", "dot", "svg"):
            raise ScriptError(filename, lineno, f"tree takes text, json, dot or svg, not {rest!r}")
        if word in ("ps", "check") and rest.strip():
            raise ScriptError(filename, lineno, f"{word} takes no argument")
        return Step(lineno, body, "directive", directive=word, arg=rest.strip())
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
        raise ScriptError(filename, lineno, f"{value.func.attr!r} is not a Task system call")
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


def parse(text: str, filename: str = "<script>") -> list[Step]:
    steps = []
    for i, line in enumerate(text.splitlines(), 1):
        step = parse_line(line, i, filename)
        if step is not None:
            steps.append(step)
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
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            try:
                return self.env.lookup(node.id)
            except _Unbound:
                raise self.fail(f"{node.id!r} is not bound (no earlier step named it, or "
                                "that step failed)") from None
        if isinstance(node, ast.Attribute):
            return self.attribute(self.value(node.value), node.attr)
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.value(e) for e in node.elts)
        if isinstance(node, ast.Set):
            return {self.value(e) for e in node.elts}
        if isinstance(node, ast.Dict) and None not in node.keys:
            return {self.value(k): self.value(v) for k, v in zip(node.keys, node.values)}
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
            vals = [self.value(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
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
        raise self.fail(f"{ast.unparse(node)!r} is not something a scenario can compute")

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


# ---------------------------------------------------------------- running

@dataclasses.dataclass
class Outcome:
    """What one step did."""

    step: Step
    kind: str                   # "ok", "errno", "exception", "assert", "directive"
    value: Any = None
    errno: int | None = None
    exception: str = ""
    message: str = ""
    expected: str = ""          # the expectation as written
    passed: bool | None = None  # None: nothing was expected
    count: int = 1              # calls that succeeded (repeat)
    call: dict | None = None    # task, method, args, kwargs as evaluated
    output: Any = None          # what a directive produced (text or JSON)
    owner: tuple[int, int] | None = None    # a stat's owner in the model's names

    @property
    def failed(self) -> bool:
        """A failed expectation, or an error that nothing expected."""
        if self.passed is False:
            return True
        return self.passed is None and self.kind in ("errno", "exception")

    def describe(self) -> str:
        if self.kind == "errno":
            return f"{errno_mod.errorcode.get(self.errno or 0, self.errno)} ({self.message})"
        if self.kind == "exception":
            return f"{self.exception}: {self.message}" if self.message else self.exception
        if self.kind == "ok":
            return show(self.value)
        if self.kind == "assert":
            return "true" if self.passed else "false"
        return ""


def show(value: Any) -> str:
    """A short, readable rendering of a syscall's result."""
    if isinstance(value, Child):
        return f"Child(pid={value.pid}" + (f", pidfd={value.pidfd})" if value.pidfd is not None
                                           else ")")
    if isinstance(value, PidfdInfo):
        parts = [f"mask={value.mask:#x}"] + [
            f"{f.name}={getattr(value, f.name):#x}" if f.name == "exit_code" and
            getattr(value, f.name) else f"{f.name}={getattr(value, f.name)}"
            for f in dataclasses.fields(value) if f.name != "mask" and getattr(value, f.name)]
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
    return repr(value)


class Runner:
    """Runs steps against one backend, keeping the names they bind."""

    def __init__(self, kernel: Any, filename: str = "<script>") -> None:
        self.kernel = kernel
        self.env = Env(kernel)
        self.filename = filename

    def run(self, steps: list[Step]) -> Iterator[Outcome]:
        for step in steps:
            yield self.step(step)

    def step(self, step: Step) -> Outcome:
        ev = Evaluator(self.env, self.filename, step.line)
        if step.kind == "directive":
            return self._directive(step)
        if step.kind == "assert":
            ok = bool(ev.value(step.expr))
            return Outcome(step, "assert", value=ok, passed=ok, expected=step.source)
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
        out = self._call(step, task, args, kwargs, info)
        if step.repeat:
            done, last = 0, out
            while out.kind == "ok":
                done, last = done + 1, out
                if done == step.repeat:
                    break
                out = self._call(step, task, args, kwargs, info)
            if out.kind == "ok":
                out = last
            elif done and step.targets:
                self._bind(ev, step, last.value)
            out.count = done
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
        except (WouldBlock, TaskExited, Unsupported, TypeError) as e:
            return Outcome(step, "exception", exception=type(e).__name__, message=str(e), call=info)
        except PidlabError as e:
            return Outcome(step, "exception", exception=type(e).__name__, message=str(e), call=info)
        out = Outcome(step, "ok", value=value, call=info)
        if isinstance(value, StatResult) and args:
            out.owner = _owner_in_model_names(self.kernel, task, args[0], value)
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
        out.passed = _same(out.value, ev.value(exp))

    def _directive(self, step: Step) -> Outcome:
        d = step.directive
        if d == "echo":
            return Outcome(step, "directive", output=step.arg)
        if d == "check":
            check = getattr(self.kernel, "check", None)
            if check is None:
                return Outcome(step, "directive", output="(the live kernel has no model invariants)")
            try:
                check()
            except PidlabError as e:
                return Outcome(step, "exception", exception=type(e).__name__, message=str(e))
            return Outcome(step, "directive", output="all invariants hold")
        views = self.kernel.snapshot()
        if d == "ps":
            return Outcome(step, "directive", value=views, output=views)
        return Outcome(step, "directive", value=views, output=views)


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


# ---------------------------------------------------------------- traces

def to_json(value: Any) -> Any:
    """A JSON shape for any result, the same on both backends."""
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
    if isinstance(value, bool) or value is None or isinstance(value, (int, str, float)):
        return value
    if _is_task(value):
        return {"type": "Task", "numbers": list(value.numbers)}
    return repr(value)


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
        result["errno"] = errno_mod.errorcode.get(out.errno or 0, str(out.errno))
    elif out.kind == "exception":
        result["exception"] = out.exception
    elif out.kind == "assert":
        result["value"] = bool(out.value)
    elif out.kind == "directive":
        if step.directive in ("tree", "ps"):
            from .render import to_json as tree_json
            result["value"] = tree_json(out.output)
        else:
            result["value"] = out.output
    if step.repeat:
        result["count"] = out.count
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
        import re
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
