"""Helpers and fixtures for scenarios written against the public API only.

The conformance scenarios (pidlab/conformance/scenarios) and pidlab's own
tests share them; `kernel` and `model` are the fixtures they use, thin names
for the pytest plugin's `pidlab_kernel` and `pidlab_model`.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import pytest

import pidlab
import pidlab.versions
from pidlab.constants import errno_name
from pidlab.differences import difference


@pytest.fixture
def kernel(pidlab_kernel):
    """The backend under test (parametrised: model, then live)."""
    return pidlab_kernel


@pytest.fixture
def model(pidlab_model):
    """A fresh model, checked with k.check() when the test ends."""
    return pidlab_model


def needs(kernel, *keys: str) -> None:
    """Skip unless the backend's kernel has every change in `keys`, naming the first
    it lacks (pidlab.changes()): for scenarios of a feature an older kernel has not got.
    What such a kernel answers instead is a scenario of its own."""
    for key in keys:
        if not kernel.has(key):
            c = pidlab.versions.introduced(key)
            pytest.skip(f"Linux {kernel.version} predates {c.key!r} ({c.title}, {c.version})")


@contextmanager
def raises_errno(err: int) -> Iterator[None]:
    """The block must fail with OSError carrying exactly `err`."""
    with pytest.raises(OSError) as info:
        yield
    got = info.value.errno
    assert got == err, f"expected {errno_name(err)}, got {errno_name(got)}: {info.value}"


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


def proc_state(task, pid: int | str = "self") -> str:
    """The one-letter State of /proc/<pid>/status as `task` sees it ("R", "S", "Z", "T"...)."""
    for line in task.read_text(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key == "State":
            return value.split()[0]
    raise KeyError("State")


def sigmask(task, name: str, pid: int | str = "self") -> int:
    """A signal-set line of /proc/<pid>/status ("SigCgt", "SigIgn") as an int."""
    for line in task.read_text(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return int(value.strip(), 16)
    raise KeyError(name)


def in_sigset(mask: int, sig: int) -> bool:
    """Whether signal `sig` is in a /proc signal-set mask (bit sig-1)."""
    return bool(mask >> (sig - 1) & 1)


# ---------------------------------------------------------------------------
# Generic helpers added for test_pid_alloc.py and test_namespaces.py.

PID_MAX_PATH = "/proc/sys/kernel/pid_max"
NS_LAST_PID_PATH = "/proc/sys/kernel/ns_last_pid"


def possible_cpus(kernel) -> int:
    """The number of possible CPUs of the machine the backend stands for.

    The model's machine has `ncpus` of them (api.md: 2 by default); the live
    kernel's are listed in /sys/devices/system/cpu/possible ("0-1,4-7"), which
    is where the pid_max selftest counts them too (kernel-selftests.md 3.2).
    """
    if kernel.name == "model":
        return kernel.ncpus
    n = 0
    with open("/sys/devices/system/cpu/possible") as f:
        for part in f.read().strip().split(","):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
    return n


def pid_max_min(kernel) -> int:
    """Lowest value pid_max accepts: max(RESERVED_PIDS + 1, PIDS_PER_CPU_MIN x CPUs) (spec §1)."""
    return max(pidlab.RESERVED_PIDS + 1, pidlab.PIDS_PER_CPU_MIN * possible_cpus(kernel))


def ns_inum(link: str) -> int:
    """N of a 'pid:[N]' namespace link (compare these by equality only)."""
    assert link.startswith("pid:[") and link.endswith("]"), link
    return int(link[5:-1])


def reap(parent, pid: int, options: int = 0) -> tuple[int, int]:
    """parent.waitpid(pid, options) for a child that has just died: (pid, status)."""
    return parent.waitpid(pid, options)


def kill_and_reap(parent, pid: int) -> int:
    """SIGKILL a child (by its number in the parent's namespace) and reap it; returns the status."""
    parent.kill(pid, pidlab.SIGKILL)
    return reap(parent, pid)[1]


def without_cursor(snap: list) -> list:
    """A snapshot with the ns_last_pid field blanked, for failed forks that move the cursor."""
    return [s if isinstance(s, str) else (s[0], None) + s[2:] for s in snap]


# ---------------------------------------------------------------------------
# Helpers added for test_pidfd.py and test_pidfs.py.

def fdinfo(task, fd: int, pid: int | str = "self") -> dict[str, str]:
    """/proc/<pid>/fdinfo/<fd> as `task` reads it, one entry per line.

    Values keep their inner tabs ("NSpid" -> "3\\t1"), so that a test can
    compare them with the exact text Linux prints (pidfd_show_fdinfo).
    """
    out = {}
    for line in task.read_text(f"/proc/{pid}/fdinfo/{fd}").splitlines():
        key, _, value = line.partition(":")
        out[key] = value[1:] if value.startswith("\t") else value.strip()
    return out


def lowest_free_fd(task) -> int:
    """The number the next new descriptor of `task` gets (Linux hands out the lowest free one).

    Compared before and after a failing call, it shows that the call installed no descriptor.
    """
    fd = task.open("/proc/self/status")
    task.close(fd)
    return fd


# ---------------------------------------------------------------------------
# The live sandbox of an ordinary user lives in a user namespace of its own
# (pidlab.differences "userns-ids", "userns-owner", "userns-caps").

def _id_map(kernel):
    """The live sandbox's id map, or None for the model and root's sandbox."""
    m = getattr(kernel, "id_map", None)
    return m if m is not None and m.userns else None


def machine_root(kernel) -> tuple[int, int]:
    """The uid and gid with which the backend's tasks see files of the machine's root
    (pidfs and nsfs inodes): (0, 0), or the overflow ids in a user namespace that
    cannot map the machine's root ("userns-owner")."""
    m = _id_map(kernel)
    if m is None:
        return (0, 0)
    uid, gid = m.uid_in_sandbox(0), m.gid_in_sandbox(0)
    return (m.overflowuid if uid is None else uid, m.overflowgid if gid is None else gid)


def stat_owner(task, fd: int, st) -> tuple[int, int]:
    """The owner of `fd`'s file as the model names it: st's ids on the model and in
    root's sandbox; in a user namespace, an owner it cannot map by the initial
    namespace's name instead of the overflow id ("userns-owner",
    LiveKernel.file_owner)."""
    if _id_map(task.kernel) is None:
        return (st.st_uid, st.st_gid)
    return task.kernel.file_owner(task, fd)


def skip_unless_ids(kernel, uids: Iterable[int] = (), gids: Iterable[int] = ()) -> None:
    """Skip the live run when its user namespace lacks one of these ids ("userns-ids")."""
    m = _id_map(kernel)
    if m is None:
        return
    missing = [f"uid {u}" for u in uids if not m.maps_uid(u)] + \
              [f"gid {g}" for g in gids if not m.maps_gid(g)]
    if missing:
        why = difference("userns-ids").why
        pytest.skip(f"userns-ids: {', '.join(missing)} outside the sandbox's user namespace "
                    f"({m.describe()}): {why}")


def skip_in_user_namespace(kernel, key: str, detail: str) -> None:
    """Skip the live run of a sandbox in a user namespace, naming the difference `key`
    of pidlab.differences that decides the outcome and, in `detail`, how."""
    m = _id_map(kernel)
    if m is None:
        return
    d = difference(key)
    pytest.skip(f"{key}: {detail}; the sandbox lives in a user namespace ({m.how}): {d.why}")
