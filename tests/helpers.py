"""Helpers for scenarios written against the public API only."""

from __future__ import annotations

import errno
from contextlib import contextmanager
from typing import Iterable, Iterator

import pytest

import pidlab


@contextmanager
def raises_errno(err: int) -> Iterator[None]:
    """The block must fail with OSError carrying exactly `err`."""
    with pytest.raises(OSError) as info:
        yield
    got = info.value.errno
    assert got == err, f"expected {errno.errorcode[err]}, got {errno.errorcode.get(got, got)}: {info.value}"


def field(status: str, name: str) -> list[int]:
    """The numbers of one line of /proc/<pid>/status ("NSpid" -> [3, 1])."""
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return [int(x) for x in value.split()]
    raise KeyError(name)


def nspid(task, pid: int | str = "self") -> list[int]:
    return field(task.read_text(f"/proc/{pid}/status"), "NSpid")


def ns_last_pid(task) -> int:
    return int(task.read_text("/proc/sys/kernel/ns_last_pid"))


def pid_max(task) -> int:
    return int(task.read_text("/proc/sys/kernel/pid_max"))


STATUS_LINES = ("Name", "State", "Tgid", "Pid", "PPid", "Uid", "Gid", "NStgid", "NSpid",
                "NSpgid", "NSsid", "Threads", "SigIgn", "SigCgt")


def status_lines(text: str, keys: Iterable[str] = STATUS_LINES) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            out[key] = value.strip()
    return out


def snapshot(observers: Iterable) -> list:
    """Everything the observers can see of themselves and of their namespaces.

    Used around a failing call: Linux changes nothing observable on failure
    (except pid cursors in the cases it documents), so the snapshots before
    and after must be equal.
    """
    snap = []
    for t in observers:
        try:
            snap.append((
                status_lines(t.read_text("/proc/self/status")),
                t.read_text("/proc/sys/kernel/ns_last_pid"),
                t.read_text("/proc/sys/kernel/pid_max"),
                t.getpgid(0), t.getsid(0), t.getppid(),
                t.getuid(), t.geteuid(), t.getgid(), t.getegid(),
                sorted(t.capget()),
            ))
        except pidlab.TaskExited:
            snap.append("exited")
    return snap
