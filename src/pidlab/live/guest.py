"""The guest server: carries out LiveKernel calls inside a virtual machine of pidlab's own.

Started by the guest's pid 1 (live/machine.py) with the virtio console port
to the host as its only argument.  Requests come one at a time, as
length-prefixed pickles (live/channel.py):

    ("new", kwargs)                  a fresh LiveKernel sandbox; answers its reference
    ("get", ref, name)               an attribute of a kernel or task ("method" for methods)
    ("call", ref, name, args, kw)    a method call; iterators come back as lists
    ("drop", ref)                    the host let go of a reference
    ("run", blob)                    fn(*args) of a cloudpickled (fn, args): pidlab.stress's loop
    ("sysctl", "kernel/pid_max")     the guest machine's value, read outside every sandbox
    ("shutdown",)                    close every sandbox and end (pid 1 powers off)

Each answer is ("ok", value) or ("exc", exception).  Kernels and tasks travel
as references (pickle persistent ids), so the host's proxies name the same
objects the guest holds.  The server is single-threaded, so sandboxes start
by forking it (no Python start-up per sandbox, which under software
emulation costs seconds).
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import types
from typing import Any

from . import channel
from . import kernel as livekernel


class Registry:
    """The objects the host holds references to, both ways."""

    def __init__(self) -> None:
        self.objs: dict[int, Any] = {}
        self.refs: dict[int, int] = {}      # id(obj) -> ref
        self.next = 1

    def ref(self, obj: Any) -> int:
        r = self.refs.get(id(obj))
        if r is None:
            r = self.next
            self.next += 1
            self.objs[r] = obj
            self.refs[id(obj)] = r
        return r

    def drop(self, r: int) -> None:
        obj = self.objs.pop(r, None)
        if obj is not None:
            self.refs.pop(id(obj), None)


REMOTE_TYPES = (livekernel.LiveKernel, livekernel.LiveTask)


def dumps(value: Any, reg: Registry) -> bytes:
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)

    def persistent_id(obj: Any) -> Any:
        if isinstance(obj, REMOTE_TYPES):
            return ("obj", type(obj).__name__, reg.ref(obj))
        return None
    p.persistent_id = persistent_id         # type: ignore[method-assign]
    p.dump(value)
    return buf.getvalue()


def loads(data: bytes, reg: Registry) -> Any:
    u = pickle.Unpickler(io.BytesIO(data))
    u.persistent_load = lambda pid: reg.objs[pid[2]]    # type: ignore[method-assign]
    return u.load()


def _plain(value: Any) -> Any:
    if isinstance(value, (types.GeneratorType, map, filter)) or \
            (hasattr(value, "__next__") and hasattr(value, "__iter__")):
        return list(value)
    return value


def handle(msg: tuple, reg: Registry) -> tuple:
    op = msg[0]
    if op == "new":
        k = livekernel.LiveKernel(**msg[1])
        return ("ok", k)
    if op == "get":
        obj = reg.objs[msg[1]]
        attr = getattr(type(obj), msg[2], None)
        if callable(attr) and not isinstance(attr, property):
            return ("ok", ("method",))
        return ("ok", ("value", _plain(getattr(obj, msg[2]))))
    if op == "call":
        _, r, name, args, kw = msg
        if name.startswith("_"):
            raise AttributeError(f"{name} is not part of the API")
        return ("ok", _plain(getattr(reg.objs[r], name)(*args, **kw)))
    if op == "sysctl":                  # the guest machine's own value (a test's witness)
        name = msg[1]
        if ".." in name.split("/"):
            raise ValueError(name)
        with open(f"/proc/sys/{name}") as f:
            return ("ok", f.read().strip())
    if op == "repr":
        return ("ok", repr(reg.objs[msg[1]]))
    if op == "drop":
        reg.drop(msg[1])
        return ("ok", None)
    if op == "run":                     # from the host, which owns this machine and all in it
        fn, args = pickle.loads(msg[1])
        return ("ok", fn(*args))
    raise ValueError(f"unknown request {op!r}")


def serve(port: str) -> None:
    fd = os.open(port, os.O_RDWR | os.O_CLOEXEC)
    reg = Registry()
    livekernel.HOLDER_START = "fork"
    channel.send_bytes(fd, dumps(("hello", os.uname().release), reg))
    try:
        while True:
            try:
                raw = channel.recv_bytes(fd)
            except EOFError:
                break                       # the host's end is gone
            msg = loads(raw, reg)
            if msg[0] == "shutdown":
                break
            try:
                reply = handle(msg, reg)
            except BaseException as e:      # noqa: BLE001 -- every failure goes back as it is
                if isinstance(e, (SystemExit, KeyboardInterrupt)):
                    raise
                e.__traceback__ = None
                e.__context__ = None
                e.__cause__ = None
                reply = ("exc", e)
            try:
                data = dumps(reply, reg)
            except Exception as e:          # noqa: BLE001 -- an answer that cannot travel
                data = dumps(("exc", RuntimeError(f"cannot send {type(reply[1]).__name__}: {e}")),
                             reg)
            channel.send_bytes(fd, data)
    finally:
        for obj in list(reg.objs.values()):
            if isinstance(obj, livekernel.LiveKernel):
                try:
                    obj.close()
                except Exception:           # noqa: BLE001 -- close them all
                    pass


if __name__ == "__main__":
    serve(sys.argv[1])
