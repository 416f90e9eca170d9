"""pidfs: the inode number of every struct pid, and what outlives the task.

Linux: fs/pidfs.c.  Three schemes, by version (pidlab/_changes.py):

* before "pidfd: add pidfs" (6.9) a pidfd is an anonymous-inode file: every
  pidfd shares one inode, so st_ino tells nothing apart;
* from 6.9 each struct pid has an inode of its own, numbered from a counter
  that starts at RESERVED_PIDS (the first pid's inode is 301); a 32-bit
  kernel numbers inodes from an ida instead, and frees the number with them;
* from "pidfs: lookup pid through rbtree" (6.14) each struct pid gets a
  64-bit number from a counter starting at 2 when alloc_pid commits it; the
  number is never reused, and while the pid is allocated it can be found by
  that number (file handles decode through this table); `free_pid` removes
  it.  A 32-bit kernel shows the low half as st_ino, the high half as the
  generation.

Exit information: from "pidfs: persist information" (6.17, 6.16.4) it lives
in `pid.attr`, created the first time a pidfd is made for the pid and then
as long as the struct pid: `pidfs_exit` fills it when the task is released,
or marks the pid DEAD if nobody ever asked for a pidfd, so that no pidfd can
be created for it afterwards.  Before (6.15, "pidfs: allow to retrieve exit
information") it lives in the inode: pidfs_exit records it only if a pidfd
is open at that moment, and it goes with the inode when the last one closes.
"""

from __future__ import annotations

import array
import bisect
import errno
import heapq
import weakref
from typing import TYPE_CHECKING, Any

from ..api import oserror
from ..constants import O_CLOEXEC, O_RDWR, PIDFD_THREAD
from .fdtable import File
from .pid import Pid
from .sched import reads, touches, wait_pidfd_lock

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

    __slots__ = ("xattrs", "cgroupid", "exit_code", "coredump_mask", "coredump_signal",
                 "exit_info")

    def __init__(self) -> None:
        self.xattrs: dict[str, bytes] | None = None
        self.cgroupid = 0
        self.exit_code = 0
        self.coredump_mask = 0
        self.coredump_signal = 0    # 6.19 pidfd-info-coredump-signal: the dumping signal
        self.exit_info = False      # published by pidfs_exit


class PidfsInode:
    """The one pidfs inode of a struct pid, while some pidfd is open on it."""

    __slots__ = ("pid", "fs", "files", "ino", "ida", "info")

    def __init__(self, pid: Pid, fs: "Pidfs") -> None:
        self.pid = pid
        self.fs = fs
        self.files = 0              # the dentry's references: 0 is a dead dentry
        self.ino = 0                # 32-bit kernels before 6.14: the ida's number,
        self.ida: list[int] | None = None   # and the ida it goes back to
        # Before "pidfs: persist information": the exit and coredump information
        # recorded in this inode (a PidfsAttr), lost with it.
        self.info: PidfsAttr | None = None


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


ANON_INODE_INO = 1          # the one anonymous inode all pidfds share before 6.9 (compare by equality)
ANON_INODE_DEV = 14         # anon_inodefs's anonymous device (0:14 on the 6.1 oracle)
FIRST_IDA_INO = 301         # RESERVED_PIDS + 1: where the 32-bit ida and the 6.9 counter start


class Pidfs:
    """The pidfs superblock: the inode numbering of this version and the ino -> pid table."""

    __slots__ = ("next_ino", "bits", "by_ino", "scheme", "persist", "exit_info", "ida",
                 "add_pid", "remove_pid", "kernel")

    def __init__(self, bits: int, has: Any, kernel: Any = None) -> None:
        # The KernelState, for its `sched` in an exploration (weakly: no cycle to collect).
        self.kernel = weakref.ref(kernel) if kernel is not None else _no_kernel
        self.bits = bits
        self.by_ino = InoTable()
        self.persist = has("pidfs-persist")
        self.exit_info = has("pidfd-info-exit")
        self.ida: list[int] = []        # free numbers below next_ino (32-bit, 6.9-6.13)
        if has("pidfs-rbtree"):
            self.scheme = "rbtree"
            self.next_ino = 2
            self.add_pid = self._add_pid_rbtree
            self.remove_pid = self._remove_pid_rbtree
        elif has("pidfs"):
            self.scheme = "counter"
            self.next_ino = FIRST_IDA_INO
            self.add_pid = self._add_pid_counter if bits == 64 else _nothing
            self.remove_pid = _nothing
        else:
            self.scheme = "anon"
            self.next_ino = 0
            self.add_pid = self.remove_pid = _nothing

    def ino_of(self, ino64: int) -> int:
        """i_ino as userspace sees it: the low 32 bits on a 32-bit kernel."""
        return ino64 & 0xFFFFFFFF if self.bits == 32 else ino64

    def gen_of(self, ino64: int) -> int:
        return ino64 >> 32 if self.bits == 32 else 0

    def st_ino(self, inode: PidfsInode) -> int:
        """The st_ino fstat shows for a pidfd on `inode`."""
        scheme = self.scheme
        if scheme == "rbtree":
            return self.ino_of(inode.pid.ino)
        if scheme == "counter":
            return inode.pid.ino if self.bits == 64 else inode.ino
        return ANON_INODE_INO

    def generation(self, inode: PidfsInode) -> int:
        """i_generation: the high half of the 64-bit number on a 32-bit 6.14+ kernel."""
        return self.gen_of(inode.pid.ino) if self.scheme == "rbtree" else 0

    def _add_pid_rbtree(self, pid: Pid) -> None:
        """Linux: pidfs_add_pid -- on 32-bit, skip a low half of 0 (and 1)."""
        nr = self.next_ino
        if nr & 0xFFFFFFFF == 0 and self.bits == 32:
            nr += 2
        pid.ino = nr
        self.next_ino = nr + 1
        table = self.by_ino            # numbers only grow: append in order
        table.inos.append(nr)
        table.pids.append(pid)

    def _remove_pid_rbtree(self, pid: Pid) -> None:
        self.by_ino.pop(pid.ino, None)

    def _add_pid_counter(self, pid: Pid) -> None:
        """6.9-6.13 alloc_pid: `pid->ino = ++pidfs_ino` (from RESERVED_PIDS)."""
        pid.ino = self.next_ino
        self.next_ino += 1

    def register_pid(self, pid: Pid, s: Any = None) -> None:
        """Linux: pidfs_register_pid (6.17) -- create attr, or fail for a DEAD pid.  The
        first look is lock-free; the attr is published under pid->wait_pidfd.lock, which
        orders it against pidfs_exit."""
        if not self.persist:
            return
        if s is not None:
            s.point("pidfs_register_pid: READ_ONCE(pid->attr)", reads(pid))
        attr = pid.attr
        if attr is PIDFS_PID_DEAD:
            raise oserror(errno.ESRCH, "the pid was released before any pidfd existed")
        if attr is not None:
            return
        if s is not None:
            lock = wait_pidfd_lock(pid)
            s.lock(lock, label="pidfs_register_pid: spin_lock_irq(&pid->wait_pidfd.lock)",
                   footprint=touches(pid))
            attr = pid.attr
            if attr is None:
                pid.attr = PidfsAttr()
            s.unlock(lock)
            if attr is PIDFS_PID_DEAD:
                raise oserror(errno.ESRCH, "the pid was released before any pidfd existed")
            return
        pid.attr = PidfsAttr()

    def info_of(self, inode: PidfsInode) -> PidfsAttr | None:
        """Where PIDFD_GET_INFO finds exit and coredump information for a pidfd."""
        if self.persist:
            return inode.pid.attr
        return inode.info

    def record(self, pid: Pid) -> PidfsAttr | None:
        """Where pidfs_exit and pidfs_coredump write: the pid's attr (6.17), else the
        inode stashed at that moment (nowhere when no pidfd is open)."""
        if self.persist:
            self.register_pid(pid)
            return pid.attr
        inode = stashed_dentry_get(pid)
        if inode is None:
            return None
        if inode.info is None:
            inode.info = PidfsAttr()
        return inode.info

    def exit(self, task: "TaskStruct", s: Any = None) -> None:
        """Linux: pidfs_exit, called from release_task before tasklist_lock."""
        if not self.exit_info:
            return                      # before 6.15 nothing is recorded
        pid = task.pid
        if self.persist:
            # 6.17: under pid->wait_pidfd.lock, against every first pidfs_register_pid.
            if s is not None:
                lock = wait_pidfd_lock(pid)
                s.lock(lock, label="pidfs_exit: spin_lock_irq(&pid->wait_pidfd.lock)",
                       footprint=touches(pid))
            attr = pid.attr
            if attr is None:
                pid.attr = PIDFS_PID_DEAD
            elif attr is not PIDFS_PID_DEAD:
                attr.cgroupid = ROOT_CGROUP_ID
                attr.exit_code = task.exit_code
                attr.exit_info = True
            if s is not None:
                s.unlock(lock)
            return
        # 6.15-6.16: stashed_dentry_get() without a lock -- only a live dentry gets the
        # record.
        if s is not None:
            s.point("pidfs_exit: stashed_dentry_get(&pid->stashed) (RCU)", touches(pid))
        attr = self.record(pid)
        if attr is None:
            return
        attr.cgroupid = ROOT_CGROUP_ID
        attr.exit_code = task.exit_code
        attr.exit_info = True

    def alloc_file(self, pid: Pid, flags: int, stale: bool = False) -> File:
        """pidfs_alloc_file: a new struct file on the pid's (stashed) inode.

        Linux: fs/libfs.c path_from_stashed -- reuse the live dentry stashed in the pid,
        or make one and stash it with a cmpxchg (from 6.17 after pidfs_register_pid); a
        racing opener that stashed first wins, and this one's dentry is dropped.
        """
        k = self.kernel()
        s = k.sched if k is not None else None
        if s is not None:
            s.point("path_from_stashed: stashed_dentry_get(&pid->stashed) (RCU)",
                    touches(pid))
        inode = stashed_dentry_get(pid)
        made = False
        if inode is None:
            self.register_pid(pid, s)
            new = PidfsInode(pid, self)
            if self.scheme == "counter" and self.bits == 32:
                new.ino = self._ida_alloc()
                new.ida = self.ida
            if s is not None:
                s.point("stash_dentry: cmpxchg(&pid->stashed, NULL, dentry)", touches(pid))
            inode = stashed_dentry_get(pid)
            if inode is None:
                inode = pid.stashed = new
                made = True
            elif new.ida is not None:
                heapq.heappush(new.ida, new.ino)    # the loser's inode is evicted
        if self.exit_info and not self.persist and not stale:
            # 6.15-6.16 pidfs_pid_valid: a task-less pid is handed out only with its exit
            # information recorded.
            if s is not None:
                s.point("pidfs_pid_valid: pid_has_task()", touches(pid))
            if (pid.task if flags & PIDFD_THREAD else pid.tgid_task) is None and \
                    (inode.info is None or not inode.info.exit_info):
                if made and inode.files == 0:
                    # path_put: the new dentry dies at once and is pruned.
                    if pid.stashed is inode:
                        pid.stashed = None
                    if inode.ida is not None:
                        heapq.heappush(inode.ida, inode.ino)
                raise oserror(errno.ESRCH, "reaped without exit information")
        inode.files += 1
        # O_CLOEXEC is a descriptor flag, never part of f_flags.
        return File("pidfd", O_RDWR | (flags & ~O_CLOEXEC), inode, _release_pidfd)

    def _ida_alloc(self) -> int:
        ida = self.ida
        if ida:
            return heapq.heappop(ida)
        nr = self.next_ino
        self.next_ino = nr + 1
        return nr

def _no_kernel() -> None:
    return None


def _nothing(pid: Pid) -> None:
    """A scheme without per-pid numbers."""


def stashed_dentry_get(pid: Pid) -> "PidfsInode | None":
    """Linux: fs/libfs.c stashed_dentry_get -- the stashed dentry if it is alive
    (lockref_get_not_dead): one whose last reference went is dead until pruned."""
    inode = pid.stashed
    return inode if inode is not None and inode.files else None


def _release_pidfd(f: File) -> None:
    """The last close of a pidfd file: the inode goes when its last file does."""
    inode: PidfsInode = f.obj
    inode.files -= 1
    if inode.files:
        return
    k = inode.fs.kernel()
    s = k.sched if k is not None else None
    if s is not None:
        # dput: the dentry is dead from here; d_prune clears the stash after.
        s.point("stashed_dentry_prune: cmpxchg(&pid->stashed, dentry, NULL)",
                touches(inode.pid))
    if inode.pid.stashed is inode:
        inode.pid.stashed = None        # the dentry is pruned; a reopen gets a new inode
    if inode.ida is not None:
        heapq.heappush(inode.ida, inode.ino)        # 32-bit 6.9-6.13: ida_free on evict
