"""Exit, reparenting, release and wait.  Linux: kernel/exit.c.

The order of operations follows do_exit -> exit_notify ->
forget_original_parent -> release_task closely, because the order decides
what a parent can observe.  Two model-specific pieces:

* the sibling list of a thread is a dict {child's SignalStruct: position},
  so that de_thread keeps a process's place and a child is found in O(1);
* a per-thread heap of (position, child) for children that may have
  something to report lets waitpid(-1) find the first reportable child in
  sibling order without walking every child.

A namespace init that exits waits in zap_pid_ns_processes until the last
other pid of its namespace is freed; the model suspends it there
(`zap_resume`) and free_pid wakes it, as in Linux.
"""

from __future__ import annotations

import errno
import heapq
from typing import TYPE_CHECKING

from ..api import WouldBlock
from ..constants import (CLD_CONTINUED, CLD_STOPPED, PIDNS_ADDING, PIDTYPE_MAX,
                         PIDTYPE_PGID, PIDTYPE_PID, PIDTYPE_TGID, SIGCHLD,
                         SIGCONT, SIGHUP, SIGKILL, SIG_IGN, WALL, WCLONE, WCONTINUED,
                         WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED)
from . import signal as sigmod
from .pid import Pid, free_pid, pid_nr_ns
from .sched import PIDMAP, TASKLIST, reads, siglock, touches, wait_pidfd_lock
from .task import (EXIT_DEAD, EXIT_ZOMBIE, JOBCTL_STOP_PENDING, PF_EXITING,
                   SIGNAL_GROUP_EXIT, SIGNAL_STOP_CONTINUED, SIGNAL_STOP_STOPPED,
                   SignalStruct, TaskStruct, delay_group_leader, own_sighand)
from .task import remove_thread, thread_count, thread_list

if TYPE_CHECKING:
    from .kernel import Kernel
    from .pid_namespace import PidNamespace
    from .sched import Scheduler


# ---------------------------------------------------------------- sibling lists

def wait_class(leader: TaskStruct) -> int:
    """0 for a child that reports with SIGCHLD, 1 for a "clone" child."""
    return 0 if leader.exit_signal == SIGCHLD else 1


def link_child(k: "Kernel", parent: TaskStruct, sig: SignalStruct) -> int:
    """list_add_tail(&p->sibling, &parent->children)."""
    seq = k.sibling_seq = k.sibling_seq + 1
    children = parent.children
    if children is None:
        children = parent.children = {}
        parent.child_count = [0, 0]
    children[sig] = seq
    leader = sig.group_leader
    if leader.exit_state != EXIT_DEAD:
        parent.child_count[0 if leader.exit_signal == SIGCHLD else 1] += 1  # wait_class
    return seq


def mark_dead(p: TaskStruct) -> None:
    """exit_state = EXIT_DEAD: the task is someone's to release.  The parent's counts of
    children a wait can report (child_count) leave it out from here: a second waiter
    that finds it EXIT_DEAD skips it as Linux's wait_consider_task does, and ends with
    ECHILD if it had no other child."""
    p.exit_state = EXIT_DEAD
    parent = p.real_parent
    sig = p.signal
    if parent is not None and sig.group_leader is p:
        children = parent.children
        if children is not None and sig in children:
            parent.child_count[0 if p.exit_signal == SIGCHLD else 1] -= 1  # wait_class


def unlink_child(parent: TaskStruct, sig: SignalStruct) -> None:
    """list_del_init(&p->sibling)."""
    children = parent.children
    del children[sig]
    leader = sig.group_leader
    if leader.exit_state != EXIT_DEAD:
        parent.child_count[0 if leader.exit_signal == SIGCHLD else 1] -= 1  # wait_class
    heap = parent.wait_heap
    if heap and len(heap) > 2 * len(children) + 8:
        trim_wait_heap(parent, heap)


def set_exit_signal(t: TaskStruct, sig: int) -> None:
    """Change a leader's exit_signal, keeping its parent's wait classes right."""
    parent = t.real_parent
    if parent is not None and parent.children is not None and t.signal in parent.children \
            and t.signal.group_leader is t and t.exit_state != EXIT_DEAD:
        parent.child_count[wait_class(t)] -= 1
        t.exit_signal = sig
        parent.child_count[wait_class(t)] += 1
    else:
        t.exit_signal = sig


def reportable(sig: SignalStruct) -> bool:
    leader = sig.group_leader
    return ((leader.exit_state == EXIT_ZOMBIE and thread_count(sig) == 1)
            or bool(sig.flags & SIGNAL_STOP_STOPPED and sig.group_exit_code)
            or bool(sig.flags & SIGNAL_STOP_CONTINUED))


def queue_wait_event(parent: TaskStruct, sig: SignalStruct) -> None:
    """Remember that child `sig` of `parent` may have something to report."""
    seq = parent.children.get(sig) if parent.children is not None else None
    if seq is None or sig.wait_seq == seq:
        return
    sig.wait_seq = seq
    heap = parent.wait_heap
    if heap is None:
        heap = parent.wait_heap = []
    elif len(heap) > 2 * len(parent.children) + 8:
        trim_wait_heap(parent, heap)
    heapq.heappush(heap, (seq, id(sig), sig))


def trim_wait_heap(parent: TaskStruct, heap: list) -> None:
    """Children reaped by pid (waitpid(pid), P_PIDFD) leave their entries behind: the
    callers drop them once they are the majority (more than 2 * children + 8), so
    that the heap stays O(children)."""
    children = parent.children
    heap[:] = [e for e in heap if children.get(e[2]) == e[0] and e[2].wait_seq == e[0]]
    heapq.heapify(heap)


# ---------------------------------------------------------------- process groups

def will_become_orphaned_pgrp(k: "Kernel", pgrp: Pid | None, ignored: TaskStruct | None) -> bool:
    """Linux: will_become_orphaned_pgrp (POSIX 2.2.2.52)."""
    if pgrp is None or not pgrp.pgrp:
        return True
    for member in pgrp.pgrp:
        p = member.group_leader
        if p is ignored or (p.exit_state and thread_count(member) == 1):
            continue
        parent = p.real_parent
        if parent is None or sigmod.is_global_init(k, parent):
            continue
        if parent.signal.pgrp is not pgrp and parent.signal.session is member.session:
            return False
    return True


def is_current_pgrp_orphaned(k: "Kernel", t: TaskStruct) -> bool:
    return will_become_orphaned_pgrp(k, t.signal.pgrp, None)


def has_stopped_jobs(pgrp: Pid) -> bool:
    return any(m.flags & SIGNAL_STOP_STOPPED for m in pgrp.pgrp or ())


def kill_orphaned_pgrp(k: "Kernel", tsk: TaskStruct, parent: TaskStruct | None) -> None:
    """A newly orphaned group with stopped members gets SIGHUP then SIGCONT."""
    pgrp = tsk.signal.pgrp
    ignored: TaskStruct | None = tsk
    if parent is None:
        parent = tsk.real_parent
    else:
        ignored = None
    if parent is None:
        return
    if parent.signal.pgrp is not pgrp and parent.signal.session is tsk.signal.session \
            and will_become_orphaned_pgrp(k, pgrp, ignored) and has_stopped_jobs(pgrp):
        sigmod.kill_pgrp_info(k, SIGHUP, sigmod.INFO_PRIV, pgrp, None)
        sigmod.kill_pgrp_info(k, SIGCONT, sigmod.INFO_PRIV, pgrp, None)


# ---------------------------------------------------------------- exit

def do_group_exit(k: "Kernel", t: TaskStruct, code: int) -> None:
    """Take down every thread of the group.  Linux: do_group_exit."""
    sig = t.signal
    if sig.flags & SIGNAL_GROUP_EXIT:
        code = sig.group_exit_code
    elif sig.group_exec_task is not None:
        code = 0
    else:
        sig.group_exit_code = code
        sig.flags = SIGNAL_GROUP_EXIT
        sigmod.zap_other_threads(k, t)
    do_exit(k, t, code)


def do_exit(k: "Kernel", t: TaskStruct, code: int) -> None:
    """Linux: do_exit (the parts that touch pids, signals, files and parents)."""
    sig = t.signal
    # synchronize_group_exit: the last thread to go fixes the group's code.
    sig.live -= 1
    if sig.live == 0 and not sig.flags & SIGNAL_GROUP_EXIT:
        sig.flags = SIGNAL_GROUP_EXIT
        sig.group_exit_code = code
        sig.group_stop_count = 0
    # exit_signals: from now on the task takes no group-wide signals.
    group_stop = False
    threads = sig.threads                   # thread_count(sig) > 1, inlined
    if threads is not None and len(threads) > 1 and not sig.flags & SIGNAL_GROUP_EXIT:
        t.flags |= PF_EXITING
        if t.jobctl & JOBCTL_STOP_PENDING and sigmod.task_participate_group_stop(k, t):
            group_stop = True
    t.flags |= PF_EXITING
    if group_stop:
        sigmod.do_notify_parent_cldstop(k, t, CLD_STOPPED)
    group_dead = sig.live == 0
    t.exit_code = code
    # exit_mm: a vfork parent waiting for us may run again.
    mm = t.mm
    if mm is not None:
        t.last_dumpable = mm.dumpable       # ptrace_may_access still asks after exit
        if group_dead:
            mm.drop()
    t.mm = None
    if t.vfork_parent is not None:
        t.vfork_parent.vfork_child = None
        t.vfork_parent = None
    if t.files is not None:
        k.exit_files(t)
    t.nsproxy_pid = None            # exit_task_namespaces
    exit_notify(k, t, group_dead)


def find_alive_thread(p: TaskStruct) -> TaskStruct | None:
    for t in thread_list(p.signal):
        if not t.flags & PF_EXITING:
            return t
    return None


def exit_notify(k: "Kernel", t: TaskStruct, group_dead: bool) -> None:
    """Linux: exit_notify, under write_lock_irq(&tasklist_lock); a namespace's last
    init thread drops the lock to zap its namespace (find_child_reaper)."""
    dead: list[TaskStruct] = []
    ns = t.pid.ns
    s = k.sched
    if s is not None:
        s.lock(TASKLIST, label="exit_notify: write_lock_irq(&tasklist_lock)")
    if ns.child_reaper is t:
        alive = find_alive_thread(t)
        if alive is not None:
            ns.child_reaper = alive
        else:
            if s is not None:
                s.unlock(TASKLIST)
            if not zap_pid_ns_processes(k, ns, t):
                t.zap_resume = int(group_dead)     # asleep until free_pid wakes us
                return
            if s is not None:
                s.lock(TASKLIST, label="find_child_reaper: write_lock_irq(&tasklist_lock)")
    _exit_notify_finish(k, t, group_dead, dead)


def resume_exit(k: "Kernel", t: TaskStruct) -> None:
    """The reaper was woken in zap_pid_ns_processes: finish its exit."""
    ns = t.pid.ns
    init_pids = 1 if t.signal.group_leader is t else 2
    s = k.sched
    if s is not None:
        s.point("zap_pid_ns_processes: pid_allocated == init_pids (lock-free)", reads(ns))
    if (ns.pid_allocated & ~PIDNS_ADDING) != init_pids:
        return
    group_dead = bool(t.zap_resume)
    t.zap_resume = None
    ns.zapper = None
    if s is not None:
        s.lock(TASKLIST, label="find_child_reaper: write_lock_irq(&tasklist_lock)")
    _exit_notify_finish(k, t, group_dead, [])


def _exit_notify_finish(k: "Kernel", t: TaskStruct, group_dead: bool,
                        dead: list[TaskStruct]) -> None:
    """The rest of exit_notify, tasklist_lock held; the tasks it made EXIT_DEAD are
    released after the unlock."""
    if t.children:
        forget_original_parent(k, t, dead)
    sig = t.signal
    if group_dead:
        kill_orphaned_pgrp(k, sig.group_leader, None)
    t.exit_state = EXIT_ZOMBIE
    if sig.group_leader is t:
        autoreap = thread_count(sig) == 1 and t.real_parent is not None and \
            sigmod.do_notify_parent(k, t, t.exit_signal)
    else:
        autoreap = True             # an untraced thread reaps itself
    if autoreap:
        mark_dead(t)
        dead.append(t)
    s = k.sched
    if s is not None:
        s.unlock(TASKLIST)
    for p in reversed(dead):
        release_task(k, p)


def find_new_reaper(k: "Kernel", father: TaskStruct, child_reaper: TaskStruct) -> TaskStruct:
    """Another thread, else the nearest subreaper at the same level, else init."""
    thread = find_alive_thread(father)
    if thread is not None:
        return thread
    if father.signal.has_child_subreaper:
        level = father.pid.level
        reaper = father.real_parent
        while reaper is not None and reaper.pid is not None and reaper.pid.level == level:
            if reaper.signal.is_child_subreaper:
                thread = find_alive_thread(reaper)
                if thread is not None:
                    return thread
            reaper = reaper.real_parent
    return child_reaper


def forget_original_parent(k: "Kernel", father: TaskStruct, dead: list[TaskStruct]) -> None:
    """Give the children of an exiting thread a new parent.  Linux: exit.c."""
    if not father.children:
        return
    reaper = find_new_reaper(k, father, father.pid.ns.child_reaper)
    threaded = reaper.signal is father.signal
    children = father.children
    father.children = None
    father.child_count = None
    father.wait_heap = None
    for csig in children:
        p = csig.group_leader
        for t in thread_list(csig):
            t.real_parent = reaper
            if t.pdeath_signal:
                sigmod.group_send_sig_info(k, t.pdeath_signal, sigmod.INFO_NOINFO, t,
                                           PIDTYPE_TGID, father)
        link_child(k, reaper, csig)
        if not threaded:
            reparent_leader(k, father, p, dead)
        if reportable(csig):
            queue_wait_event(reaper, csig)


def reparent_leader(k: "Kernel", father: TaskStruct, p: TaskStruct, dead: list[TaskStruct]) -> None:
    if p.exit_state == EXIT_DEAD:
        return
    set_exit_signal(p, SIGCHLD)     # "We don't want people slaying init."
    if p.exit_state == EXIT_ZOMBIE and thread_count(p.signal) == 1:
        if sigmod.do_notify_parent(k, p, p.exit_signal):
            mark_dead(p)
            dead.append(p)
    kill_orphaned_pgrp(k, p, father)


def zap_pid_ns_processes(k: "Kernel", ns: "PidNamespace", me: TaskStruct) -> bool:
    """The namespace's init is dying: kill everything in it.

    Returns False if other pids of the namespace are still allocated (held
    by zombies whose parents live outside, or by a process group); the
    reaper then sleeps until free_pid wakes it.
    """
    s = k.sched
    if s is not None:
        s.lock(PIDMAP, label="zap_pid_ns_processes: disable_pid_allocation",
               footprint=touches(ns))
    ns.pid_allocated &= ~PIDNS_ADDING         # disable_pid_allocation
    if s is not None:
        s.unlock(PIDMAP)
        lock = siglock(me.signal)
        s.lock(lock, label="zap_pid_ns_processes: SIGCHLD = SIG_IGN under siglock")
    own_sighand(me.signal).set(SIGCHLD, SIG_IGN)   # terminated children now autoreap
    if s is not None:
        s.unlock(lock)
        s.lock(TASKLIST, write=False, label="zap_pid_ns_processes: read_lock(&tasklist_lock); "
                                           "SIGKILL to every task")
    for nr, pid in list(ns.idr.entries.items()):
        if nr < 2:
            continue
        task = pid.task
        if task is not None and not task.pending >> SIGKILL & 1:
            sigmod.group_send_sig_info(k, SIGKILL, sigmod.INFO_PRIV, task, PIDTYPE_MAX, None)
    if s is not None:
        s.unlock(TASKLIST)
    k.run_pending()
    # kernel_wait4(-1, __WALL) until ECHILD: reap the zombies we had.
    while True:
        res = do_wait(k, me, PIDTYPE_MAX, None, WEXITED | WALL | WNOHANG)
        if res is None or isinstance(res, int):
            break
    init_pids = 1 if me.signal.group_leader is me else 2
    if s is not None:
        s.point("zap_pid_ns_processes: pid_allocated == init_pids (lock-free)", reads(ns))
    if (ns.pid_allocated & ~PIDNS_ADDING) == init_pids:
        return True
    ns.zapper = me
    return False


# ---------------------------------------------------------------- release

def release_task(k: "Kernel", p: TaskStruct) -> None:
    """Linux: release_task -- unhash, maybe release the zombie leader too, free pids.

    Linux collects the pids that lost their last user in release_task_post,
    one slot per pid type (the type under which the pid was found unused),
    and frees them from PIDTYPE_SID down to PIDTYPE_PID.  A pid is found
    unused under the last type that referred to it, so the order is: the
    session's pid, the process group's, then the task's own, each once.
    Before "pid: perform free_pid() calls outside of tasklist_lock" (6.15)
    __change_pid freed each pid inside the tasklist_lock section, as its last
    user was detached: the task's own first.

    In an exploration other CPUs can come in before pidfs_exit, when the task
    has left PIDTYPE_PID but not yet PIDTYPE_TGID (pid_task() under RCU sees
    no thread while the group is still found), and before each free_pid.
    """
    s = k.sched
    while True:
        k.pidfs.exit(p, s)                  # before tasklist_lock
        sig = p.signal
        leader = sig.group_leader
        group_dead = leader is p
        # __exit_signal -> __unhash_process
        pid = p.pid
        if s is not None:
            s.lock(TASKLIST, label="release_task: write_lock_irq(&tasklist_lock); "
                                   "__unhash_process: detach_pid(PIDTYPE_PID)")
        pid.task = None
        p.pid = None  # type: ignore[assignment]
        if s is not None:
            unhash_wake(k, s, pid)
        pg = ss = None
        if group_dead:
            pid.tgid_task = None
            pg = sig.pgrp
            if pg is not None:
                del pg.pgrp[sig]
                sig.pgrp = None
            ss = sig.session
            if ss is not None:
                ss.sid_users -= 1
                sig.session = None
            parent = p.real_parent
            if parent is not None and parent.children is not None and sig in parent.children:
                unlink_child(parent, sig)
        remove_thread(sig, p)
        threads = sig.threads
        if threads is not None and not threads:
            sig.sighand.drop()              # __cleanup_sighand of the last thread
            # put_signal_struct: nothing reaches the group any more.  Breaking the
            # leader <-> signal cycle lets reference counting free both at once.
            sig.group_leader = None  # type: ignore[assignment]
        p.queued = False
        if not k.free_pids_unlocked:
            free_unused_pids(k, pid, pg, ss, own_first=True)
        zap_leader = False
        if not group_dead and thread_count(sig) == 1 and leader.exit_state == EXIT_ZOMBIE:
            if sig.flags & SIGNAL_GROUP_EXIT:
                leader.exit_code = sig.group_exit_code
            zap_leader = sigmod.do_notify_parent(k, leader, leader.exit_signal)
            if zap_leader:
                mark_dead(leader)
        if s is not None:
            s.unlock(TASKLIST)
        if k.free_pids_unlocked:
            free_unused_pids(k, pid, pg, ss, own_first=False)   # release_task_post
        if not zap_leader:
            return
        p = leader


def unhash_wake(k: "Kernel", s: "Scheduler", pid: Pid) -> None:
    """Between detaching PIDTYPE_PID and PIDTYPE_TGID: pollers of the pid's pidfds are
    woken (wake_up_all takes pid->wait_pidfd.lock), else only RCU readers may come in."""
    if k.unhash_wakes_pidfd:
        s.lock(wait_pidfd_lock(pid), label="__unhash_process: wake_up_all(&pid->wait_pidfd)")
        s.unlock(wait_pidfd_lock(pid))
    else:
        s.point("__unhash_process: detach_pid(PIDTYPE_TGID)")


def free_unused_pids(k: "Kernel", pid: Pid, pg: Pid | None, ss: Pid | None,
                     own_first: bool) -> None:
    """free_pid of each pid nobody uses any more: the session's, the process group's,
    then the task's own (release_task_post, from 6.15), or in detach order, the task's
    own first (__change_pid, before)."""
    own = pid is not pg and pid is not ss and pid.tgid_task is None and not pid.pgrp \
        and not pid.sid_users
    group = pg is not None and pg is not ss and not pg.pgrp and not pg.sid_users \
        and pg.task is None and pg.tgid_task is None
    session = ss is not None and not ss.sid_users and not ss.pgrp and ss.task is None \
        and ss.tgid_task is None
    if own_first:
        if own:
            free_pid(k, pid)
        if group:
            free_pid(k, pg)
        if session:
            free_pid(k, ss)
    else:
        if session:
            free_pid(k, ss)
        if group:
            free_pid(k, pg)
        if own:
            free_pid(k, pid)


# ---------------------------------------------------------------- wait

class WaitOpts:
    __slots__ = ("type", "pid", "flags", "notask", "locked")

    def __init__(self, type_: int, pid: Pid | None, flags: int) -> None:
        self.type = type_
        self.pid = pid
        self.flags = flags
        self.notask = errno.ECHILD
        self.locked = False         # read_lock(&tasklist_lock) held (in an exploration)


# A wait result: (pid as the waiter sees it, wait status, si_code, si_status, si_uid).
WaitResult = tuple[int, int, int, int, int]


def _eligible(wo: WaitOpts, p: TaskStruct) -> bool:
    t = wo.type
    if t == PIDTYPE_PGID:
        if p.signal.pgrp is not wo.pid:
            return False
    elif t == PIDTYPE_PID:
        if p.pid is not wo.pid:
            return False
    if wo.flags & WALL:
        return True
    return (p.exit_signal != SIGCHLD) == bool(wo.flags & WCLONE)


def wait_task_zombie(k: "Kernel", wo: WaitOpts, cur: TaskStruct, p: TaskStruct) -> WaitResult | None:
    if not wo.flags & WEXITED:
        return None
    ns = cur.pid.ns
    nr = pid_nr_ns(p.pid, ns)
    uid = p.cred.uid
    sig = p.signal
    status = sig.group_exit_code if sig.flags & SIGNAL_GROUP_EXIT else p.exit_code
    if not wo.flags & WNOWAIT:
        # cmpxchg(&p->exit_state, EXIT_ZOMBIE, EXIT_DEAD) under the read lock: one
        # waiter wins, the others see EXIT_DEAD and skip the child.
        mark_dead(p)
        if wo.locked:
            wo.locked = False
            k.sched.unlock(TASKLIST)
        release_task(k, p)
    elif wo.locked:
        wo.locked = False
        k.sched.unlock(TASKLIST)
    code, st = sigmod.chld_info(status)
    return nr, status, code, st, uid


def wait_task_stopped(wo: WaitOpts, cur: TaskStruct, p: TaskStruct) -> WaitResult | None:
    if not wo.flags & WUNTRACED:
        return None
    sig = p.signal
    if not sig.flags & SIGNAL_STOP_STOPPED:
        return None
    exit_code = sig.group_exit_code
    if not exit_code:
        return None
    if not wo.flags & WNOWAIT:
        sig.group_exit_code = 0
    status = (exit_code << 8) | 0x7F
    return pid_nr_ns(p.pid, cur.pid.ns), status, CLD_STOPPED, exit_code, p.cred.uid


def wait_task_continued(wo: WaitOpts, cur: TaskStruct, p: TaskStruct) -> WaitResult | None:
    if not wo.flags & WCONTINUED:
        return None
    sig = p.signal
    if not sig.flags & SIGNAL_STOP_CONTINUED:
        return None
    if not wo.flags & WNOWAIT:
        sig.flags &= ~SIGNAL_STOP_CONTINUED
    return pid_nr_ns(p.pid, cur.pid.ns), 0xFFFF, CLD_CONTINUED, SIGCONT, p.cred.uid


def wait_consider_task(k: "Kernel", wo: WaitOpts, cur: TaskStruct, p: TaskStruct) -> WaitResult | None:
    """Linux: kernel/exit.c wait_consider_task (a natural parent: never ptrace)."""
    exit_state = p.exit_state
    if exit_state == EXIT_DEAD:
        return None
    if not _eligible(wo, p):
        return None
    if exit_state == EXIT_ZOMBIE:
        if not delay_group_leader(p):
            # A zombie that can be reaped is only ever reported as exited: without
            # WEXITED it is skipped and leaves notask_error alone, so a wait whose
            # only eligible children are such zombies fails with ECHILD.
            return wait_task_zombie(k, wo, cur, p)
        # A zombie leader whose threads still run: its group can still stop,
        # continue and exit, so there is something to wait for.
    wo.notask = 0
    return wait_task_stopped(wo, cur, p) or wait_task_continued(wo, cur, p)


def _matches(wo: WaitOpts, sig: SignalStruct) -> bool:
    leader = sig.group_leader
    f = wo.flags
    if leader.exit_state == EXIT_ZOMBIE and thread_count(sig) == 1:
        return bool(f & WEXITED)
    return bool((f & WUNTRACED and sig.flags & SIGNAL_STOP_STOPPED and sig.group_exit_code)
                or (f & WCONTINUED and sig.flags & SIGNAL_STOP_CONTINUED))


def _waitable(wo: WaitOpts, p: TaskStruct) -> bool:
    """An eligible child that clears notask_error in wait_consider_task: anything
    but a reapable zombie, which counts only for a wait with WEXITED (it is then
    reported, never skipped)."""
    if p.exit_state == EXIT_DEAD or not _eligible(wo, p):
        return False
    return bool(wo.flags & WEXITED) or p.exit_state != EXIT_ZOMBIE or delay_group_leader(p)


def _has_eligible_child(wo: WaitOpts, tsk: TaskStruct) -> bool:
    """Whether do_wait_thread's walk of tsk's children would clear notask_error."""
    counts = tsk.child_count
    if not counts:
        return False
    children = tsk.children
    if wo.type == PIDTYPE_MAX:
        if wo.flags & WEXITED:
            if wo.flags & WALL:
                return counts[0] + counts[1] > 0
            return counts[1 if wo.flags & WCLONE else 0] > 0
        # WSTOPPED/WCONTINUED only (waitid): reapable zombies do not count, so
        # look for one child that does -- a walk, as Linux's own, but only for
        # this rare kind of wait.
        return any(_waitable(wo, s.group_leader) for s in children)
    # PIDTYPE_PGID: walk the smaller of our children and the group's members.
    members = wo.pid.pgrp or {}
    if len(members) < len(children):
        return any(m in children and _waitable(wo, m.group_leader) for m in members)
    return any(_waitable(wo, s.group_leader) for s in children)


def do_wait_thread(k: "Kernel", wo: WaitOpts, cur: TaskStruct, tsk: TaskStruct) -> WaitResult | None:
    """The first child of `tsk`, in sibling order, with something to report."""
    if not tsk.children:
        return None
    if _has_eligible_child(wo, tsk):
        wo.notask = 0
    heap = tsk.wait_heap
    if not heap:
        return None
    children = tsk.children
    skipped = []
    found = None
    while heap:
        seq, _, s = heap[0]
        if children.get(s) != seq or s.wait_seq != seq or not reportable(s):
            heapq.heappop(heap)
            if s.wait_seq == seq:
                s.wait_seq = 0
            continue
        if _eligible(wo, s.group_leader) and _matches(wo, s):
            found = s
            break
        skipped.append(heapq.heappop(heap))
    for e in skipped:
        heapq.heappush(heap, e)
    if found is None:
        return None
    return wait_consider_task(k, wo, cur, found.group_leader)


def do_wait(k: "Kernel", cur: TaskStruct, type_: int, pid: Pid | None,
            flags: int) -> WaitResult | int | None:
    """Linux: __do_wait.  A result, an errno (ECHILD), or None (WNOHANG, nothing)."""
    wo = WaitOpts(type_, pid, flags)
    s = k.sched
    if type_ < PIDTYPE_MAX:
        if s is not None and pid is not None:
            s.point("do_wait: pid_has_task(wo_pid) (lock-free)", reads(pid))
        has = pid is not None and (
            (type_ == PIDTYPE_PID and pid.task is not None) or
            (type_ == PIDTYPE_PGID and bool(pid.pgrp)))
        if not has:
            return errno.ECHILD
    if s is not None:
        s.lock(TASKLIST, write=False, label="do_wait: read_lock(&tasklist_lock); "
                                           "wait_consider_task")
        wo.locked = True
        try:
            return _do_wait_locked(k, wo, cur, type_, pid, flags)
        finally:
            if wo.locked:
                s.unlock(TASKLIST)
    return _do_wait_locked(k, wo, cur, type_, pid, flags)


def _do_wait_locked(k: "Kernel", wo: WaitOpts, cur: TaskStruct, type_: int, pid: Pid | None,
                    flags: int) -> WaitResult | int | None:
    if type_ == PIDTYPE_PID:
        target = pid.tgid_task
        if target is not None and target.real_parent is not None and (
                target.real_parent is cur or
                (not flags & WNOTHREAD and target.real_parent.signal is cur.signal)):
            res = wait_consider_task(k, wo, cur, target)
            if res is not None:
                return res
    else:
        threads = list(thread_list(cur.signal))
        i = threads.index(cur)
        for tsk in threads[i:] + threads[:i]:
            res = do_wait_thread(k, wo, cur, tsk)
            if res is not None:
                return res
            if flags & WNOTHREAD:
                break
    if wo.notask:
        return wo.notask
    if not flags & WNOHANG:
        raise WouldBlock("no child has changed state and none ever will before this call returns")
    return None
