"""struct pid: numbers per level, the four task lists, allocation and freeing.

Linux: kernel/pid.c.  A struct pid carries one number per namespace level
(`numbers[0]` is the initial namespace, `numbers[level]` the owning one) and
four task lists.  pidlab stores the lists the way they are used:

* PIDTYPE_PID  -> `task`      (at most one thread)
* PIDTYPE_TGID -> `tgid_task` (at most one thread-group leader)
* PIDTYPE_PGID -> `pgrp`      (dict of member leaders; kill_pgrp walks it)
* PIDTYPE_SID  -> `sid_users` (a count: nothing walks a session)

A number stays allocated while any of the four is in use; `free_pid` runs
when the last one empties (Linux: __change_pid fills release_task_post).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..api import oserror
from ..constants import PIDNS_ADDING, RESERVED_PIDS
from .idr import IDR_MASK, IDR_SHIFT
from .sched import PIDMAP, touches

if TYPE_CHECKING:
    from .kernel import Kernel
    from .pid_namespace import PidNamespace
    from .task import TaskStruct


class Pid:
    """struct pid."""

    __slots__ = ("level", "numbers", "ns", "task", "tgid_task", "pgrp", "sid_users",
                 "ino", "attr", "stashed", "freed")

    def __init__(self, ns: "PidNamespace", numbers: tuple[int, ...]) -> None:
        self.level = ns.level
        self.numbers = numbers            # numbers[i] is the nr in ns.chain[i]
        self.ns = ns                      # the owning (deepest) namespace
        self.task: TaskStruct | None = None
        self.tgid_task: TaskStruct | None = None
        self.pgrp: dict[Any, None] | None = None   # PIDTYPE_PGID members (leaders)
        self.sid_users = 0                # PIDTYPE_SID members
        self.ino = 0                      # pidfs inode number, never reused
        self.attr: Any = None             # pidfs attr: None, a PidfsAttr, or PIDFS_PID_DEAD
        self.stashed: Any = None          # the one pidfs inode while a pidfd is open
        self.freed = False                # free_pid() has run: numbers are reusable

    def has_task(self) -> bool:
        """Any of the four lists non-empty (the number must stay allocated)."""
        return (self.task is not None or self.tgid_task is not None
                or bool(self.pgrp) or self.sid_users > 0)

    def __repr__(self) -> str:
        return f"<Pid {'/'.join(map(str, self.numbers))}{' freed' if self.freed else ''}>"


def pid_nr_ns(pid: Pid | None, ns: "PidNamespace | None") -> int:
    """The number of `pid` in `ns`, 0 if it has none there.  Linux: pid_nr_ns."""
    if pid is not None and ns is not None:
        lvl = ns.level
        if lvl <= pid.level and pid.ns.chain[lvl] is ns:
            return pid.numbers[lvl]
    return 0


def alloc_pid(k: "Kernel", ns: "PidNamespace", set_tid: tuple[int, ...],
              may_set_tid: Any = None) -> Pid:
    """Allocate a struct pid in `ns` and all its ancestors.  Linux: alloc_pid.

    `may_set_tid(user_ns)` is checkpoint_restore_ns_capable() of the caller
    (needed only with set_tid).  Levels are visited from the deepest to the
    shallowest; each is bounded by its own namespace's pid_max.  On failure
    the numbers already taken at deeper levels are released, but their
    cursors stay moved; a namespace that never committed a pid gets its
    cursor reset to 0.
    """
    n_tid = len(set_tid)
    if n_tid > ns.level + 1:
        raise oserror(errno.EINVAL, "set_tid has more entries than there are levels")

    level = ns.level
    numbers = [0] * (level + 1)
    chain = ns.chain
    # Before 6.14 ("pid: allow pid_max to be set per pid namespace") one pid_max, the
    # initial namespace's, bounds every level.
    gmax = 0 if k.pid_max_per_ns else k.init_ns.pid_max
    pid = Pid(ns, ())           # its numbers are set once every level has one
    err = 0
    i = level
    used_tid = 0
    s = k.sched
    while i >= 0:
        tmp = chain[i]
        idr = tmp.idr
        if s is not None:
            s.lock(PIDMAP, label=f"alloc_pid: spin_lock(&pidmap_lock); idr_alloc at level {i}",
                   footprint=touches(tmp))
        if used_tid < n_tid:
            pid_max = gmax or tmp.pid_max
            tid = set_tid[used_tid]
            if tid < 1 or tid >= pid_max:
                err = errno.EINVAL
                break
            # A pid other than 1 needs an init to exist at that level.
            if tid != 1 and tmp.child_reaper is None:
                err = errno.EINVAL
                break
            if not may_set_tid(tmp.user_ns):
                err = errno.EPERM
                break
            used_tid += 1
            if not idr.alloc(tid):
                err = errno.EEXIST   # idr_alloc's ENOSPC means "taken" here
                break
            nr = tid
        else:
            # Linux wraps to RESERVED_PIDS (300), not 301: pid_min is 300.
            nr = idr.next
            used = idr.used
            pid_max = gmax or tmp.pid_max
            if 0 < nr < len(used) and nr < pid_max and not used[nr]:
                # IDR.alloc_cyclic's common case, inlined: the cursor's number is free
                # (pid_min is at most the cursor whenever the cursor is not 0).
                used[nr] = 1
                idr.next = nr + 1
            else:
                nr = idr.alloc_cyclic(RESERVED_PIDS if nr > RESERVED_PIDS else 1, pid_max)
                if nr < 0:
                    err = errno.EAGAIN   # ENOSPC from the idr becomes EAGAIN
                    break
        numbers[i] = nr
        if s is not None:
            # The number is reserved; its slot stays empty (idr_find sees nothing)
            # until the pid is complete (idr_replace below).
            s.unlock(PIDMAP)
        else:
            # Sequentially nothing can look the number up in between: its slot names
            # the pid now (a failure below removes it again, with the number).
            blk = idr.entries.blocks[nr >> IDR_SHIFT]
            if blk is None:
                blk = idr.entries.new_block(nr >> IDR_SHIFT)
            blk[nr & IDR_MASK] = pid
        i -= 1

    if s is not None:
        if err:
            s.unlock(PIDMAP)
        s.lock(PIDMAP, label="alloc_pid: spin_lock(&pidmap_lock); " +
               ("idr_remove (out_free)" if err else "idr_replace"),
               footprint=touches("pidfs", *chain))
    if not err and not ns.pid_allocated & PIDNS_ADDING:
        # The namespace's init has died: historical ENOMEM.
        err = errno.ENOMEM
        i = -1

    if err:
        for j in range(i + 1, level + 1):
            chain[j].idr.remove(numbers[j])
        if ns.pid_allocated == PIDNS_ADDING:
            ns.idr.next = 0
        if s is not None:
            s.unlock(PIDMAP)
        raise oserror(err, "alloc_pid")

    pid.numbers = nums = tuple(numbers)
    k.pidfs.add_pid(pid)
    if s is None:
        for tmp in chain:
            tmp.pid_allocated += 1
        return pid
    # idr_replace: each reserved slot now names the pid, and each level counts it.
    for tmp, nr in zip(chain, nums):
        blk = tmp.idr.entries.blocks[nr >> IDR_SHIFT]
        if blk is None:
            blk = tmp.idr.entries.new_block(nr >> IDR_SHIFT)
        blk[nr & IDR_MASK] = pid
        tmp.pid_allocated += 1
    s.unlock(PIDMAP)
    return pid


def free_pid(k: "Kernel", pid: Pid) -> None:
    """Release every number of `pid`.  Linux: free_pid."""
    s = k.sched
    if s is not None:
        s.lock(PIDMAP, label=f"free_pid({'/'.join(map(str, pid.numbers))}): "
                             "spin_lock(&pidmap_lock); idr_remove",
               footprint=touches(pid, "pidfs", *pid.ns.chain))
    for ns, nr in zip(pid.ns.chain, pid.numbers):
        left = ns.pid_allocated = ns.pid_allocated - 1
        if left == 1 or left == 2:
            # Only the reaper is left: wake it if it sleeps in zap_pid_ns_processes.
            if ns.zapper is not None:
                k.wake(ns.zapper)
        elif left == PIDNS_ADDING:
            # The first process failed to fork: the namespace stays unusable.
            ns.pid_allocated = 0
        # idr_remove (IDR.remove, inlined: the number is allocated and maps to us).
        idr = ns.idr
        b = nr >> IDR_SHIFT
        idr.entries.blocks[b][nr & IDR_MASK] = None
        idr.used[nr] = 0
        idr.full[b] = 0
    pid.freed = True
    k.pidfs.remove_pid(pid)
    if s is not None:
        s.unlock(PIDMAP)
