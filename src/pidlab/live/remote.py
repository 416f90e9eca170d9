"""LiveKernel(kernel="6.12"): a sandbox inside a virtual machine, driven from here.

`GuestKernel` and `GuestTask` stand for a LiveKernel and its LiveTasks that
live in the guest server (live/guest.py): every method is one request to the
guest, carried out there by the real LiveKernel, and its result or exception
comes back as it is.  Tasks are references, so the same guest task is always
the same proxy here (Child records compare as on the host).
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
import types
import weakref
from typing import Any, Iterable

from . import kernel as livekernel
from .machine import Machine, machine_for


class _Link:
    """A machine's references, proxied: ref -> the one proxy object for it."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine
        self.proxies: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self.lock = threading.Lock()

    def proxy(self, kind: str, ref: int) -> Any:
        with self.lock:
            p = self.proxies.get(ref)
            if p is None:
                p = (GuestKernel if kind == "LiveKernel" else GuestTask)._wrap(self, ref)
                self.proxies[ref] = p
                weakref.finalize(p, self._dropped, ref)
            return p

    def _dropped(self, ref: int) -> None:
        if not self.machine.closed:
            try:
                self.request(("drop", ref))
            except Exception:       # noqa: BLE001 -- a proxy's end must not raise
                pass

    def dumps(self, msg: tuple) -> bytes:
        buf = io.BytesIO()
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(msg)
        return buf.getvalue()

    def loads(self, data: bytes) -> Any:
        u = pickle.Unpickler(io.BytesIO(data))
        u.persistent_load = lambda pid: self.proxy(pid[1], pid[2])    # type: ignore[method-assign]
        return u.load()

    def request(self, msg: tuple, timeout: float | None = None) -> Any:
        data = self.dumps(msg)
        raw = self.machine.request(data) if timeout is None else self.machine.request(data, timeout)
        kind, value = self.loads(raw)
        if kind == "exc":
            raise value
        return value


class _Pickler(pickle.Pickler):
    """A request for the guest: its kernel and tasks go as references."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, (GuestKernel, GuestTask)):
            return ("obj", "", object.__getattribute__(obj, "_ref"))
        return None

    def reducer_override(self, obj: Any) -> Any:
        # A generator given where the API takes an Iterable (set_tid, poll's fds) cannot be
        # pickled: its items go instead, as the guest's LiveKernel would have taken them.
        if isinstance(obj, types.GeneratorType):
            return tuple, (tuple(obj),)
        return NotImplemented


_links: dict[int, _Link] = {}
_links_lock = threading.Lock()


def _link(machine: Machine) -> _Link:
    with _links_lock:
        link = _links.get(id(machine))
        if link is None or link.machine is not machine:
            link = _Link(machine)
            _links[id(machine)] = link
        return link


def run_in_guest(series: str, fn: Any, args: tuple, *, timeout: float,
                 by_value: Any = ()) -> Any:
    """fn(*args) inside the guest server of `series`, in one round trip (pidlab.stress runs
    its whole loop there).  fn and args travel pickled by value with cloudpickle, so that
    functions of modules the guest cannot import (a test's, a script's) run there as they
    are; the modules of `by_value`'s functions go by value (by_value_modules)."""
    import cloudpickle

    mods = [m for m in by_value_modules(by_value)
            if m.__name__ not in cloudpickle.list_registry_pickle_by_value()]
    for m in mods:
        cloudpickle.register_pickle_by_value(m)
    try:
        blob = cloudpickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for m in mods:
            cloudpickle.unregister_pickle_by_value(m)
    return _link(machine_for(series)).request(("run", blob), timeout=timeout)


def by_value_modules(fns: Iterable[Any]) -> list[Any]:
    """The modules whose functions must travel to a guest by value: those the guest
    cannot import (a test module, a script's), that is any but pidlab's own, the
    standard library's and the installed packages' (the guest runs this Python)."""
    out = []
    for fn in fns:
        name = getattr(fn, "__module__", None) or ""
        top = name.split(".")[0]
        if not name or name == "__main__" or top == "pidlab" or top in sys.stdlib_module_names:
            continue
        mod = sys.modules.get(name)
        path = getattr(mod, "__file__", None) or ""
        if mod is None or mod in out or "site-packages" in path or "dist-packages" in path:
            continue
        out.append(mod)
    return out


class _Proxy:
    __slots__ = ("_link", "_ref", "__weakref__")

    @classmethod
    def _wrap(cls, link: _Link, ref: int) -> Any:
        p = object.__new__(cls)
        object.__setattr__(p, "_link", link)
        object.__setattr__(p, "_ref", ref)
        return p

    def _call(self, name: str, *args: Any, **kw: Any) -> Any:
        return self._link.request(("call", self._ref, name, args, kw))

    def _get(self, name: str) -> Any:
        kind = self._link.request(("get", self._ref, name))
        if kind[0] == "method":
            def method(*args: Any, **kw: Any) -> Any:
                return self._call(name, *args, **kw)
            method.__name__ = name
            return method
        return kind[1]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} attributes are read-only")


def _forward(name: str, doc: str | None) -> Any:
    def method(self: _Proxy, *args: Any, **kw: Any) -> Any:
        return self._call(name, *args, **kw)
    method.__name__ = name
    method.__doc__ = doc
    return method


class GuestTask(_Proxy):
    """A task of a sandbox inside a virtual machine: each method is one system call there."""

    __slots__ = ()

    def __repr__(self) -> str:
        return self._link.request(("repr", self._ref))


# Every system call of LiveTask, forwarded (so help() and dir() show the same API).
for _name, _attr in vars(livekernel.LiveTask).items():
    if _name.startswith("_") or not callable(_attr):
        continue
    setattr(GuestTask, _name, _forward(_name, _attr.__doc__))


class GuestKernel(_Proxy):
    """A LiveKernel sandbox inside a virtual machine of pidlab's own (LiveKernel(kernel=...))."""

    __slots__ = ()
    name = "live"

    @classmethod
    def start(cls, series: str, **kw: Any) -> "GuestKernel":
        machine = machine_for(series)
        link = _link(machine)
        return link.request(("new", kw))

    @property
    def machine(self) -> Machine:
        return self._link.machine

    def machine_sysctl(self, name: str) -> str:
        """The guest machine's own value of a sysctl ("kernel/pid_max"), read outside
        every sandbox: what a scenario's writes did to the machine."""
        return self._link.request(("sysctl", name))

    @property
    def init(self) -> GuestTask:
        return self._get("init")

    def tasks(self) -> list:
        return self._call("tasks")

    def snapshot(self) -> list:
        return self._call("snapshot")

    def close(self) -> None:
        if not self._link.machine.closed:
            self._call("close")

    def __enter__(self) -> "GuestKernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        m = self._link.machine
        return f"<pidlab.LiveKernel {m.series} guest ({m.release}, {m.accel})>"
