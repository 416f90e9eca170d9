"""The native agent (native_agent.c): its build and the controller's end of its protocol.

LiveKernel(agent="native") drives every task of its sandbox with the small C
agent instead of a Python one.  It makes the calls of a process's life --
fork and clone without CLONE_VM, exit, exit_group, wait4, waitid -- and
system calls whose arguments are plain integers; those are what churn, pid
reuse and exhaustion scenarios make, about four times faster (BENCHMARKS.md,
"The live backend").  Any other call is refused here, before anything is
sent: it raises pidlab.Unsupported, and the default LiveKernel() makes it.

The binary is built with the C compiler at first use, into the user's cache
(XDG_CACHE_HOME, else ~/.cache, else the temporary directory) under a name
that carries the source's hash, so a changed source is built again.  Inside
pidlab's virtual machines the host's cache is visible read-only: the guest
uses the host's binary when it is there, and builds its own otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import subprocess
import tempfile
from importlib import resources
from typing import Any

from .. import constants as C
from ..api import BackendUnavailable, Unsupported
from . import channel
from . import syscalls as S

(OP_CLONE, OP_CLOSE_CHANNEL, OP_EXIT, OP_EXIT_GROUP, OP_SYS, OP_WAIT4, OP_WAITID,
 OP_PRCTL_GET) = range(1, 9)
OK, ERR, BLOCK, HELLO = range(4)

_NOT_THREADS = C.CLONE_VM | C.CLONE_THREAD | C.CLONE_VFORK | C.CLONE_SIGHAND
# The calls the LiveTask makes through "call" (live/syscalls.py) that are plain system calls.
_CALLS = {"pidfd_open", "pidfd_getfd", "pidfd_send_signal"}
# prctl options whose argument is a plain integer, and those that store an int through it.
_PRCTL_INT = {C.PR_SET_PDEATHSIG, C.PR_GET_DUMPABLE, C.PR_SET_DUMPABLE, C.PR_SET_CHILD_SUBREAPER}
_PRCTL_GET = {C.PR_GET_PDEATHSIG, C.PR_GET_CHILD_SUBREAPER}

_binary: str | None = None


def refuse(what: str) -> Unsupported:
    return Unsupported(f"{what}: the native agent makes only fork, clone without CLONE_VM, "
                       "exit, wait, unshare, setns, integer prctls and system calls (agent='python' makes "
                       "every call)")


def encode(seq: int, op: str, args: tuple) -> bytes:
    """The request for `op(*args)`, or Unsupported if the native agent cannot make it."""
    if op == "clone":
        flags, exit_signal, set_tid, pidfd = args
        if flags & _NOT_THREADS:
            raise refuse("clone with CLONE_VM, CLONE_THREAD, CLONE_SIGHAND or CLONE_VFORK")
        if set_tid:
            raise refuse("clone with set_tid")
        words = (OP_CLONE, flags, exit_signal, int(bool(pidfd)))
    elif op == "close_channel":
        words = (OP_CLOSE_CHANNEL, *args[0])
    elif op in ("exit", "exit_group"):
        words = (OP_EXIT if op == "exit" else OP_EXIT_GROUP, args[0])
    elif op == "prctl" and args[0] in _PRCTL_GET:
        words = (OP_PRCTL_GET, args[0])
    elif op == "wait4":
        words = (OP_WAIT4, args[0], args[1])
    elif op == "waitid":
        words = (OP_WAITID, args[0], args[1], args[2])
    else:
        plain = _plain_syscall(op, args)
        if plain is None:
            raise refuse(args[0] if op == "call" and args else op)
        name, rest = plain
        nr = S.NR.get(name)
        if nr is None or len(rest) > 6 or not all(type(a) is int for a in rest):
            raise refuse(name)
        words = (OP_SYS, nr, *rest, *(0,) * (6 - len(rest)))
    return struct.pack(f"<{len(words) + 2}q", seq, words[0], len(words) - 1, *words[1:])


def _plain_syscall(op: str, args: tuple) -> tuple[str, tuple] | None:
    """The system call (name, arguments) that the request `op(*args)` is, None if it is
    no plain system call."""
    if op == "sys":
        return args[0], args[1:]
    if op == "call" and args and args[0] in _CALLS:
        name, rest = args[0], args[1:]
        if name == "pidfd_send_signal":
            rest = (rest[0], rest[1], 0, rest[2])       # siginfo NULL, as syscalls.py passes
        return name, rest
    if op in ("unshare", "setns") or \
            (op == "prctl" and args[0] in _PRCTL_INT and type(args[1]) is int):
        return op, args
    return None


def recv(fd: int, what: str | None, expected: int = 0) -> tuple:
    """The agent's next message in the Python agent's shape: ("hello", pid, tid, 0),
    (seq, "ok", value), (seq, "err", errno, "") or (seq, "block", why).  `what` is
    the op of request `expected` (the name of a "call"); another request's answer,
    stale, comes back undecoded."""
    data = channel.recv_bytes(fd)
    vals = struct.unpack(f"<{len(data) // 8}q", data)
    seq, kind = vals[0], vals[1]
    if kind == HELLO:
        return ("hello", vals[2], vals[3], 0)
    if kind == ERR:
        return (seq, "err", vals[2], "")
    if kind == BLOCK:
        return (seq, "block", "no child has changed state")
    return (seq, "ok", _value(what, vals[2:]) if seq == expected else vals[2:])


def _value(what: str | None, vals: tuple) -> Any:
    if what == "clone":
        s = vals[2]
        return {"pid": vals[0], "pidfd": vals[1] if vals[1] >= 0 else None,
                "chan": (s + 1, s + 2), "close": (s, s + 1, s + 2, s + 3)}
    if what == "wait4":
        return (vals[0], vals[1])
    if what == "waitid":
        return None if vals[0] == 0 else tuple(vals)
    if what in ("pidfd_send_signal", "close_channel", "unshare", "setns"):
        return None
    return vals[0] if vals else None


# ---------------------------------------------------------------- the build

def _cache_dirs() -> list[str]:
    dirs = []
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        dirs.append(os.path.join(xdg, "pidlab"))
    home = os.path.expanduser("~")
    if home != "~":
        dirs.append(os.path.join(home, ".cache", "pidlab"))
    dirs.append(os.path.join(tempfile.gettempdir(), f"pidlab-{os.geteuid()}"))
    return dirs


def _trusted(path: str) -> bool:
    """A binary this user may exec: its own (or root's), a regular file nobody else can write."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and st.st_uid in (os.geteuid(), 0)
            and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and os.access(path, os.X_OK))


def binary() -> str:
    """The path of the native agent, built with the C compiler if no cache has it."""
    global _binary
    if _binary is not None and _trusted(_binary):
        return _binary
    src = (resources.files("pidlab.live") / "native_agent.c").read_bytes()
    name = "native-agent-" + hashlib.sha256(src).hexdigest()[:16]
    dirs = _cache_dirs()
    for d in dirs:
        path = os.path.join(d, name)
        if _trusted(path):
            _binary = path
            return path
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BackendUnavailable("LiveKernel(agent='native') needs a C compiler (gcc) to build "
                                 "its agent: apt-get install gcc")
    why = "no cache directory is writable"
    for d in dirs:
        try:
            os.makedirs(d, mode=0o700, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=".build-", dir=d)
        except OSError as e:
            why = f"{d}: {e.strerror}"
            continue
        try:
            c_file = os.path.join(tmp, "native_agent.c")
            with open(c_file, "wb") as f:
                f.write(src)
            out = os.path.join(tmp, name)
            r = subprocess.run([cc, "-O2", "-Wall", "-o", out, c_file], capture_output=True,
                               text=True, timeout=300)
            if r.returncode != 0:
                raise BackendUnavailable(f"cannot build the native agent: {cc}: "
                                         f"{r.stderr.strip()[-400:]}")
            os.chmod(out, 0o755)
            path = os.path.join(d, name)
            os.replace(out, path)       # atomic: a concurrent build's result is as good
            _binary = path
            return path
        except OSError as e:
            why = f"{d}: {e.strerror}"
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    raise BackendUnavailable(f"cannot build the native agent: {why}")
