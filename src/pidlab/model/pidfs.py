"""pidfs: the inode number of every struct pid, and what outlives the task.

Linux: fs/pidfs.c (6.18).  Each struct pid gets a 64-bit number from a
global counter when alloc_pid commits it; the number is never reused and
is the inode number of every pidfd for that pid.  While the pid is
allocated it can be found by that number (file handles decode through this
table); `free_pid` removes it.  Exit information lives in `pid.attr`, which
is created the first time a pidfd is made for the pid and then lives as
long as the struct pid: `pidfs_exit` fills it when the task is released,
or marks the pid DEAD if nobody ever asked for a pidfd, so that no pidfd can
be created for it afterwards (the 6.17 fix for the exit-information race).
"""

from __future__ import annotations

import array
import bisect
import errno
from typing import TYPE_CHECKING, Any

from ..api import oserror
from ..constants import O_CLOEXEC, O_RDWR
from .fdtable import File
from .pid import Pid

if TYPE_CHECKING:
    from .task import TaskStruct


class _Dead:
    """PIDFS_PID_DEAD: pidfs_exit found no attr; the pid can get no pidfd any more."""

    def __repr__(self) -> str:
        return "PIDFS_PID_DEAD"


PIDFS_PID_DEAD = _Dead()

ROOT_CGROUP_ID = 1      # the cgroup2 root's inode, where every modelled task lives


class PidfsAttr:
    """struct pidfs_attr: xattrs and the exit information."""

    __slots__ = ("xattrs", "cgroupid", "exit_code", "coredump_mask", "exit_info")

    def __init__(self) -> None:
        self.xattrs: dict[str, bytes] | None = None
        self.cgroupid = 0
        self.exit_code = 0
        self.coredump_mask = 0
        self.exit_info = False      # published by pidfs_exit


class PidfsInode:
    """The one pidfs inode of a struct pid, while some pidfd is open on it."""

    __slots__ = ("pid", "files")

    def __init__(self, pid: Pid) -> None:
        self.pid = pid
        self.files = 0


class InoTable:
    """ino -> struct pid (Linux: the pidfs rbtree).

    Numbers are handed out in increasing order, so the table is two parallel
    arrays in that order, searched by bisection; removing the newest pid
    trims the tail, any other leaves a hole that is squeezed out once holes
    are the majority (O(1) amortised).  It costs about 16 bytes per pid
    where a dict would cost 70.
    """

    __slots__ = ("inos", "pids", "holes")

    def __init__(self) -> None:
        self.inos = array.array("Q")
        self.pids: list[Pid | None] = []
        self.holes = 0

    def _index(self, ino: int) -> int:
        i = bisect.bisect_left(self.inos, ino)
        return i if i < len(self.inos) and self.inos[i] == ino else -1

    def get(self, ino: int, default: Any = None) -> Any:
        if not 0 <= ino < 1 << 64:
            return default
        i = self._index(ino)
        v = self.pids[i] if i >= 0 else None
        return v if v is not None else default

    def pop(self, ino: int, default: Any = None) -> Any:
        pids = self.pids
        if pids and self.inos[-1] == ino:
            # The newest pid goes first (fork/exit churn): trim the tail and its holes.
            v = pids.pop()
            self.inos.pop()
            if v is None:
                self.holes -= 1
            while pids and pids[-1] is None:
                pids.pop()
                self.inos.pop()
                self.holes -= 1
            return v if v is not None else default
        i = self._index(ino)
        if i < 0 or pids[i] is None:
            return default
        v = pids[i]
        pids[i] = None
        self.holes += 1
        if self.holes > 32 and self.holes * 2 > len(pids):
            keep = [j for j, p in enumerate(self.pids) if p is not None]
            self.inos = array.array("Q", (self.inos[j] for j in keep))
            self.pids = [self.pids[j] for j in keep]
            self.holes = 0
        return v

    def __len__(self) -> int:
        return len(self.pids) - self.holes

    def items(self) -> list[tuple[int, Pid]]:
        return [(ino, p) for ino, p in zip(self.inos, self.pids) if p is not None]


class Pidfs:
    """The pidfs superblock: the ino counter and the ino -> pid table."""

    __slots__ = ("next_ino", "bits", "by_ino")

    def __init__(self, bits: int) -> None:
        self.next_ino = 2
        self.bits = bits
        self.by_ino = InoTable()

    def ino_of(self, ino64: int) -> int:
        """i_ino as userspace sees it: the low 32 bits on a 32-bit kernel."""
        return ino64 & 0xFFFFFFFF if self.bits == 32 else ino64

    def gen_of(self, ino64: int) -> int:
        return ino64 >> 32 if self.bits == 32 else 0

    def add_pid(self, pid: Pid) -> None:
        """Linux: pidfs_add_pid -- on 32-bit, skip a low half of 0 (and 1)."""
        nr = self.next_ino
        if nr & 0xFFFFFFFF == 0 and self.bits == 32:
            nr += 2
        pid.ino = nr
        self.next_ino = nr + 1
        table = self.by_ino            # numbers only grow: append in order
        table.inos.append(nr)
        table.pids.append(pid)

    def remove_pid(self, pid: Pid) -> None:
        self.by_ino.pop(pid.ino, None)

    @staticmethod
    def register_pid(pid: Pid) -> None:
        """Linux: pidfs_register_pid -- create attr, or fail for a DEAD pid."""
        attr = pid.attr
        if attr is PIDFS_PID_DEAD:
            raise oserror(errno.ESRCH, "the pid was released before any pidfd existed")
        if attr is None:
            pid.attr = PidfsAttr()

    @staticmethod
    def exit(task: "TaskStruct") -> None:
        """Linux: pidfs_exit, called from release_task."""
        pid = task.pid
        attr = pid.attr
        if attr is None:
            pid.attr = PIDFS_PID_DEAD
            return
        if attr is PIDFS_PID_DEAD:
            return
        attr.cgroupid = ROOT_CGROUP_ID
        attr.exit_code = task.exit_code
        attr.exit_info = True

    def alloc_file(self, pid: Pid, flags: int) -> File:
        """pidfs_alloc_file: a new struct file on the pid's (stashed) inode."""
        inode = pid.stashed
        if inode is None:
            self.register_pid(pid)
            inode = PidfsInode(pid)
            pid.stashed = inode
        inode.files += 1
        # O_CLOEXEC is a descriptor flag, never part of f_flags.
        return File("pidfd", O_RDWR | (flags & ~O_CLOEXEC), inode, _release_pidfd)


def _release_pidfd(f: File) -> None:
    inode: PidfsInode = f.obj
    inode.files -= 1
    if inode.files == 0 and inode.pid.stashed is inode:
        inode.pid.stashed = None        # the dentry is pruned; a reopen gets a new inode
