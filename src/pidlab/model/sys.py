"""Sessions, process groups, prctl and credentials.  Linux: kernel/sys.c.

setpgid and setsid check in the kernel's order (the order decides which
errno wins) and free the struct pids they stopped using afterwards, as
Linux does with its local `pids[]` array.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from ..api import Unsupported, oserror
from ..constants import (PR_GET_CHILD_SUBREAPER, PR_GET_DUMPABLE, PR_GET_KEEPCAPS, PR_GET_NAME,
                         PR_GET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE,
                         PR_SET_KEEPCAPS, PR_SET_NAME, PR_SET_PDEATHSIG, RLIM_NLIMITS, RLIMIT_CORE,
                         RLIMIT_NOFILE, SUID_DUMP_DISABLE, SUID_DUMP_USER, CAP_SYS_RESOURCE)
from . import cred as credmod
from . import signal as sigmod
from .pid import Pid, free_pid, pid_nr_ns
from .sched import TASKLIST
from .task import PF_FORKNOEXEC, SignalStruct, TaskStruct, own_mm
from .task import set_task_comm, thread_list

if TYPE_CHECKING:
    from .kernel import Kernel

SYSCTL_NR_OPEN = 1024 * 1024    # fs.nr_open


def _find_task_by_vpid(cur: TaskStruct, nr: int) -> TaskStruct | None:
    pid = cur.pid.ns.idr.entries.get(nr)
    return pid.task if pid is not None else None


def change_pgrp(sig: SignalStruct, new: Pid, post: list[Pid]) -> None:
    """change_pid(PIDTYPE_PGID): leave the old group, join `new`."""
    old = sig.pgrp
    del old.pgrp[sig]
    if not old.has_task():
        post.append(old)
    sig.pgrp = new
    if new.pgrp is None:
        new.pgrp = {}
    new.pgrp[sig] = None


def change_session(sig: SignalStruct, new: Pid, post: list[Pid]) -> None:
    old = sig.session
    old.sid_users -= 1
    if not old.has_task():
        post.append(old)
    sig.session = new
    new.sid_users += 1


def sys_setpgid(k: "Kernel", cur: TaskStruct, pid: int, pgid: int) -> None:
    group_leader = cur.signal.group_leader
    ns = cur.pid.ns
    if not pid:
        pid = pid_nr_ns(group_leader.pid, ns)
    if not pgid:
        pgid = pid
    if pgid < 0:
        raise oserror(errno.EINVAL, "negative process group")
    s = k.sched
    if s is not None:
        s.lock(TASKLIST, label="setpgid: write_lock_irq(&tasklist_lock)")
    try:
        post = _setpgid_locked(k, cur, group_leader, ns, pid, pgid)
    finally:
        if s is not None:
            s.unlock(TASKLIST)
    for old in post:
        free_pid(k, old)


def _setpgid_locked(k: "Kernel", cur: TaskStruct, group_leader: TaskStruct, ns, pid: int,
                    pgid: int) -> list[Pid]:
    """setpgid's checks and change, under tasklist_lock; the pids to free after the
    unlock (from 6.15; before, __change_pid frees them inside)."""
    p = _find_task_by_vpid(cur, pid)
    if p is None:
        raise oserror(errno.ESRCH)
    if p.signal.group_leader is not p:
        raise oserror(errno.EINVAL, "not a thread-group leader")
    if p.real_parent is not None and p.real_parent.signal is group_leader.signal:
        if p.signal.session is not group_leader.signal.session:
            raise oserror(errno.EPERM, "child in another session")
        if not p.flags & PF_FORKNOEXEC:
            raise oserror(errno.EACCES, "child has exec'd")
    elif p is not group_leader:
        raise oserror(errno.ESRCH, "neither the caller nor its child")
    if p.signal.leader:
        raise oserror(errno.EPERM, "session leader")
    pgrp = p.pid
    if pgid != pid:
        pgrp = ns.idr.entries.get(pgid)
        members = pgrp.pgrp if pgrp is not None else None
        if not members or next(iter(members)).session is not group_leader.signal.session:
            raise oserror(errno.EPERM, "no such process group in this session")
    post: list[Pid] = []
    if p.signal.pgrp is not pgrp:
        change_pgrp(p.signal, pgrp, post)
    return _free_now_or_later(k, post)


def _free_now_or_later(k: "Kernel", post: list[Pid]) -> list[Pid]:
    """Before "pid: perform free_pid() calls outside of tasklist_lock" (6.15) the pids
    go inside the section; from then on after it."""
    if k.free_pids_unlocked:
        return post
    for old in post:
        free_pid(k, old)
    return []


def sys_setsid(k: "Kernel", cur: TaskStruct) -> int:
    s = k.sched
    if s is not None:
        s.lock(TASKLIST, label="setsid: write_lock_irq(&tasklist_lock)")
    try:
        session, post = _setsid_locked(k, cur)
    finally:
        if s is not None:
            s.unlock(TASKLIST)
    for old in post:               # free_pids: SID before PGID
        free_pid(k, old)
    return session


def _setsid_locked(k: "Kernel", cur: TaskStruct) -> tuple[int, list[Pid]]:
    group_leader = cur.signal.group_leader
    sid = group_leader.pid
    session = pid_nr_ns(sid, cur.pid.ns)
    sig = group_leader.signal
    if sig.leader:
        raise oserror(errno.EPERM, "already a session leader")
    if sid.pgrp:
        raise oserror(errno.EPERM, "a process group with this id exists")
    sig.leader = True
    post: list[Pid] = []
    if sig.session is not sid:
        change_session(sig, sid, post)
    if sig.pgrp is not sid:
        change_pgrp(sig, sid, post)
    return session, _free_now_or_later(k, post)


def sys_getpgid(cur: TaskStruct, pid: int) -> int:
    if not pid:
        grp = cur.signal.pgrp
    else:
        p = _find_task_by_vpid(cur, pid)
        if p is None or p.signal.pgrp is None:
            raise oserror(errno.ESRCH)
        grp = p.signal.pgrp
    return pid_nr_ns(grp, cur.pid.ns)


def sys_getsid(cur: TaskStruct, pid: int) -> int:
    if not pid:
        sid = cur.signal.session
    else:
        p = _find_task_by_vpid(cur, pid)
        if p is None or p.signal.session is None:
            raise oserror(errno.ESRCH)
        sid = p.signal.session
    return pid_nr_ns(sid, cur.pid.ns)


def _propagate_has_child_subreaper(k: "Kernel", me: TaskStruct) -> None:
    """walk_process_tree(me, propagate_has_child_subreaper): mark descendants."""
    stack = [me.signal]
    while stack:
        sig = stack.pop()
        for t in thread_list(sig):
            for csig in (t.children or ()):
                if csig.has_child_subreaper:
                    continue
                leader = csig.group_leader
                if leader.pid is not None and leader.pid.numbers[-1] == 1 and \
                        leader.pid.ns.child_reaper is leader:
                    continue        # a child reaper: its subtree never leaves its ns
                csig.has_child_subreaper = True
                stack.append(csig)


# The options 6.18's sys_prctl (and the LSMs' task_prctl hooks) know; any other is EINVAL.
# [live] probed on this kernel: 0, 17, 18, 48, 49 and everything above 78 are EINVAL.
PRCTL_OPTIONS = frozenset(range(1, 79)) - {17, 18, 48, 49} | {
    0x59616D61,     # PR_SET_PTRACER
    0x53564D41,     # PR_SET_VMA
    0x41555856,     # PR_GET_AUXV
}


def sys_prctl(k: "Kernel", cur: TaskStruct, option: int, arg: int | bytes) -> int | str:
    """Linux: kernel/sys.c sys_prctl.  `arg` is converted by args.prctl_arg: the name
    (bytes, or 0 for NULL) for PR_SET_NAME, an unsigned long otherwise."""
    if option == PR_SET_NAME:
        # strncpy_from_user(comm, arg2, TASK_COMM_LEN - 1): the calling thread only.
        if not isinstance(arg, bytes):
            raise oserror(errno.EFAULT, "PR_SET_NAME with a NULL name")
        set_task_comm(cur, arg)
        return 0
    if option == PR_GET_NAME:
        # get_task_comm + copy_to_user of TASK_COMM_LEN bytes: the name and NUL padding.
        return os.fsdecode(cur.comm)
    if option == PR_GET_KEEPCAPS:
        return int(bool(cur.cred.securebits & credmod.SECURE_KEEP_CAPS))
    if option == PR_SET_KEEPCAPS:
        cur.cred = credmod.set_keepcaps(cur.cred, arg)
        return 0
    if option == PR_SET_PDEATHSIG:
        if not sigmod.valid_signal(arg):
            raise oserror(errno.EINVAL, "not a signal")
        cur.pdeath_signal = arg
        return 0
    if option == PR_GET_PDEATHSIG:
        return cur.pdeath_signal
    if option == PR_GET_DUMPABLE:
        return cur.mm.dumpable if cur.mm is not None else 0
    if option == PR_SET_DUMPABLE:
        if arg not in (SUID_DUMP_DISABLE, SUID_DUMP_USER):
            raise oserror(errno.EINVAL, "dumpable must be 0 or 1")
        own_mm(cur).dumpable = arg
        return 0
    if option == PR_SET_CHILD_SUBREAPER:
        # A plain store, then a walk under read_lock(&tasklist_lock): a child that
        # exits in between reparents by the flags it has.
        s = k.sched
        if s is not None:
            s.point("prctl(PR_SET_CHILD_SUBREAPER): is_child_subreaper = arg (no lock)")
        cur.signal.is_child_subreaper = bool(arg)
        if arg:
            if s is not None:
                s.lock(TASKLIST, write=False, label="walk_process_tree: "
                       "read_lock(&tasklist_lock); propagate_has_child_subreaper")
            _propagate_has_child_subreaper(k, cur)
            if s is not None:
                s.unlock(TASKLIST)
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        return int(cur.signal.is_child_subreaper)
    if option not in PRCTL_OPTIONS:
        raise oserror(errno.EINVAL, f"prctl option {option} does not exist")
    raise Unsupported(f"prctl option {option} is not modelled")


def do_prlimit(k: "Kernel", tsk: TaskStruct, resource: int,
               new: tuple[int, int] | None) -> tuple[int, int]:
    """Linux: kernel/sys.c do_prlimit (on the caller's own process)."""
    if not 0 <= resource < RLIM_NLIMITS:
        raise oserror(errno.EINVAL, "no such resource")
    if new is not None:
        if new[0] > new[1]:
            raise oserror(errno.EINVAL, "the soft limit is above the hard limit")
        if resource == RLIMIT_NOFILE and new[1] > SYSCTL_NR_OPEN:
            raise oserror(errno.EPERM, "RLIMIT_NOFILE above fs.nr_open")
    if resource != RLIMIT_CORE:
        raise Unsupported(f"resource {resource}: only RLIMIT_CORE is modelled")
    sig = tsk.signal
    old = sig.rlim_core
    if new is not None:
        if new[1] > old[1] and not credmod.capable(tsk.cred, CAP_SYS_RESOURCE):
            raise oserror(errno.EPERM, "raising a hard limit needs CAP_SYS_RESOURCE")
        sig.rlim_core = new
    return old
