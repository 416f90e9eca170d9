"""Pid namespaces: creation, the ancestry test, and the two sysctls.

Linux: kernel/pid_namespace.c and the pid_max table of kernel/pid.c.  A
namespace owns an IDR (its numbers and cursor), a pid_max of its own, the
count of struct pids that have a number in it (`pid_allocated`, with the
PIDNS_ADDING bit while it accepts new processes), and its init
(`child_reaper`).  zap_pid_ns_processes lives in exit.py, next to the exit
path that runs it.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..api import oserror
from ..constants import MAX_PID_NS_LEVEL, PIDNS_ADDING, PROC_PID_INIT_INO
from .idr import IDR

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import TaskStruct

PROC_DYNAMIC_FIRST = 0xF0000000     # first inode number proc_alloc_inum hands out


class UserNamespace:
    """The initial user namespace: the model has no other (no CLONE_NEWUSER)."""

    __slots__ = ("level",)

    def __init__(self) -> None:
        self.level = 0


INIT_USER_NS = UserNamespace()


class PidNamespace:
    """struct pid_namespace."""

    __slots__ = ("level", "parent", "chain", "pid_max", "idr", "pid_allocated",
                 "child_reaper", "user_ns", "inum", "zapper")

    def __init__(self, parent: "PidNamespace | None", pid_max: int, inum: int,
                 user_ns: UserNamespace = INIT_USER_NS) -> None:
        self.level = 0 if parent is None else parent.level + 1
        self.parent = parent
        # chain[i] is the ancestor at level i (chain[level] is self): makes
        # pid_nr_ns and pidns_is_ancestor O(1).
        self.chain: tuple[PidNamespace, ...] = (parent.chain if parent else ()) + (self,)
        self.pid_max = pid_max
        self.idr = IDR()
        self.pid_allocated = PIDNS_ADDING
        self.child_reaper: TaskStruct | None = None
        self.user_ns = user_ns
        self.inum = inum
        self.zapper: TaskStruct | None = None    # the init sleeping in zap_pid_ns_processes

    def __repr__(self) -> str:
        return f"<PidNamespace level={self.level} inum={self.inum}>"


def init_pid_namespace(pid_max: int) -> PidNamespace:
    return PidNamespace(None, pid_max, PROC_PID_INIT_INO)


def create_pid_namespace(parent: PidNamespace, inum: int, pid_max_limit: int,
                         inherit: bool = False) -> PidNamespace:
    """A child of `parent`.  Linux: create_pid_namespace.

    A new namespace starts with pid_max = PID_MAX_LIMIT (4194304, or 32768 on a
    32-bit kernel) whatever its parent's value (register_pidns_sysctls only raises
    it to the per-CPU default); before "pid: Do not set pid_max in new pid
    namespaces" (`inherit`) it copied its parent's.  Before 6.14 the value is
    not used at all: one pid_max bounds every namespace (pidns_pid_max).
    """
    if parent.level + 1 > MAX_PID_NS_LEVEL:
        raise oserror(errno.ENOSPC, "pid namespaces nest at most 32 levels deep")
    return PidNamespace(parent, parent.pid_max if inherit else pid_max_limit, inum,
                        parent.user_ns)


def pidns_pid_max(k: "Kernel", ns: PidNamespace) -> PidNamespace:
    """The namespace whose pid_max `ns` reads, writes and allocates under: its own from 6.14
    ("pid: allow pid_max to be set per pid namespace"), the machine's one before."""
    return ns if k.pid_max_per_ns else k.init_ns


def pidns_is_ancestor(child: PidNamespace, ancestor: PidNamespace) -> bool:
    """`ancestor` is `child` or one of its ancestors.  Linux: pidns_is_ancestor."""
    lvl = ancestor.level
    return lvl <= child.level and child.chain[lvl] is ancestor


def parse_dointvec(text: str) -> int:
    """Parse one integer the way proc_dointvec_minmax does on write.

    Linux: kernel/sysctl.c __do_proc_dointvec / proc_get_long: leading
    whitespace is skipped, the number is read with base 0 (0x.. hex, 0..
    octal), it must be followed by a space, tab or newline (or the end), and
    whatever follows the first number is ignored.  Raises EINVAL.
    """
    data = text.encode()[:4095]
    i = 0
    n = len(data)
    while i < n and data[i] in b" \t\n\v\f\r":
        i += 1
    if i == n:
        raise oserror(errno.EINVAL, "no number")
    chunk = data[i:i + 21]
    neg = chunk[:1] == b"-" and n - i > 1
    p = 1 if neg else 0
    if p >= len(chunk) or not chr(chunk[p]).isdigit():
        raise oserror(errno.EINVAL, "not a number")
    base = 10
    if chunk[p:p + 1] == b"0":
        if chunk[p + 1:p + 2] in (b"x", b"X") and chunk[p + 2:p + 3] and \
                chr(chunk[p + 2]) in "0123456789abcdefABCDEF":
            base = 16
            p += 2
        else:
            base = 8
    digits = "0123456789abcdef"[:base]
    start = p
    while p < len(chunk) and chr(chunk[p]).lower() in digits:
        p += 1
    value = int(chunk[start:p].decode(), base) if p > start else 0
    if value >= 2**64 or p == 21:
        raise oserror(errno.EINVAL, "number too long")
    if p < n - i and chunk[p:p + 1] not in (b" ", b"\t", b"\n"):
        raise oserror(errno.EINVAL, "junk after the number")
    if neg:
        if value > 2**31:
            raise oserror(errno.EINVAL, "out of int range")
        return -value
    if value > 2**31 - 1:
        raise oserror(errno.EINVAL, "out of int range")
    return value


def write_pid_max(ns: PidNamespace, text: str, pid_max_min: int, pid_max_limit: int) -> None:
    """Write /proc/sys/kernel/pid_max of `ns` (proc_dointvec_minmax)."""
    value = parse_dointvec(text)
    if not pid_max_min <= value <= pid_max_limit:
        raise oserror(errno.EINVAL, f"pid_max must be in [{pid_max_min}, {pid_max_limit}]")
    ns.pid_max = value


def read_ns_last_pid(ns: PidNamespace) -> int:
    """The cursor minus one.  Linux: pid_ns_ctl_handler."""
    return ns.idr.next - 1


def write_ns_last_pid(ns: PidNamespace, text: str, pid_max: int) -> None:
    """Move the cursor: writing N makes N+1 the next number tried (N up to the pid_max
    that bounds `ns`)."""
    value = parse_dointvec(text)
    if not 0 <= value <= pid_max:
        raise oserror(errno.EINVAL, f"ns_last_pid must be in [0, {pid_max}]")
    ns.idr.next = value + 1
