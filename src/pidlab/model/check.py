"""Every invariant of the model, checked from scratch.  `Kernel.check()` runs this.

The checks walk the whole state (O(tasks)); they are for tests, never for
the system-call paths.  Each failure names the broken invariant.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ..api import InvariantError
from ..constants import PIDNS_ADDING, SIGCHLD, TASK_COMM_LEN
from .pidfs import PIDFS_PID_DEAD
from .task import EXIT_DEAD, EXIT_ZOMBIE, JOBCTL_STOPPED, PF_EXITING
from .task import thread_count, thread_list

if TYPE_CHECKING:
    from .kernel import Kernel


def _fail(msg: str) -> None:
    raise InvariantError(msg)


def check(k: "Kernel") -> None:
    if k.runq:
        _fail(f"run queue not empty between system calls: {list(k.runq)}")

    pids = list(k.init_ns.idr.entries.values())
    namespaces = {id(k.init_ns): k.init_ns}
    for pid in pids:
        for ns in pid.ns.chain:
            namespaces[id(ns)] = ns
        for t in (pid.task, pid.tgid_task):
            if t is not None and t.nsproxy_pid is not None:
                for ns in t.nsproxy_pid.chain:
                    namespaces[id(ns)] = ns

    # -- namespaces and their allocators ----------------------------------------------
    for ns in namespaces.values():
        idr = ns.idr
        for nr, pid in idr.entries.items():
            if pid.freed:
                _fail(f"{ns}: number {nr} maps to a freed {pid}")
            if ns.level > pid.level or pid.ns.chain[ns.level] is not ns or \
                    pid.numbers[ns.level] != nr:
                _fail(f"{ns}: number {nr} maps to {pid}, which has another number there")
            if not idr.is_used(nr):
                _fail(f"{ns}: number {nr} is looked up but not marked allocated")
            if not pid.has_task():
                _fail(f"{pid} is allocated but no task uses it in any of the four roles")
        if idr.allocated() != len(idr.entries):
            _fail(f"{ns}: allocator holds {idr.allocated()} numbers, lookup table {len(idr.entries)}")
        for blk, known_full in enumerate(idr.full):
            if known_full and 0 in idr.used[blk << 12:(blk + 1) << 12]:
                _fail(f"{ns}: block {blk} is marked full but has a free number")
        if not 0 <= idr.next <= k.pid_max_limit + 1:
            _fail(f"{ns}: cursor {idr.next} out of range")
        if not k.pid_max_min <= ns.pid_max <= k.pid_max_limit:
            _fail(f"{ns}: pid_max {ns.pid_max} out of range")
        if (ns.pid_allocated & ~PIDNS_ADDING) != len(idr.entries):
            _fail(f"{ns}: pid_allocated {ns.pid_allocated & ~PIDNS_ADDING} != {len(idr.entries)} pids")
        r = ns.child_reaper
        if r is not None and r.pid is not None and r.exit_state == 0 and r.pid.ns is not ns:
            _fail(f"{ns}: child_reaper {r} lives in another namespace")

    # -- every pid's numbers and roles ------------------------------------------------------
    sessions: Counter = Counter()
    rbtree = k.pidfs.scheme == "rbtree"     # the ino -> pid table exists from 6.14
    for pid in pids:
        for lvl, nr in enumerate(pid.numbers):
            if pid.ns.chain[lvl].idr.entries.get(nr) is not pid:
                _fail(f"{pid}: number {nr} at level {lvl} does not map back to it")
        if rbtree and k.pidfs.by_ino.get(pid.ino) is not pid:
            _fail(f"{pid}: pidfs inode {pid.ino} does not map back to it")
        t = pid.task
        if t is not None and t.pid is not pid:
            _fail(f"{pid}: PIDTYPE_PID task {t} has another pid")
        g = pid.tgid_task
        if g is not None and (g.pid is not pid or g.signal.group_leader is not g):
            _fail(f"{pid}: PIDTYPE_TGID task {g} is not the leader with this pid")
        for sig in (pid.pgrp or ()):
            if sig.pgrp is not pid:
                _fail(f"{pid}: process group member {sig} points to {sig.pgrp}")
    for ino, pid in k.pidfs.by_ino.items():
        if pid.freed or pid.ino != ino:
            _fail(f"pidfs inode {ino} maps to {pid}")
    if len(k.pidfs.by_ino) != (len(pids) if rbtree else 0):
        _fail(f"pidfs knows {len(k.pidfs.by_ino)} pids, the initial namespace {len(pids)}")

    # -- tasks, processes, parents ---------------------------------------------------------------
    tasks = [p.task for p in pids if p.task is not None]
    signals = {}
    for t in tasks:
        sig = t.signal
        signals[id(sig)] = sig
        if t not in thread_list(sig):
            _fail(f"{t} is not on its thread list")
        if type(t.comm) is not bytes or len(t.comm) >= TASK_COMM_LEN or b"\0" in t.comm:
            _fail(f"{t}: comm {t.comm!r} is not a name of at most TASK_COMM_LEN - 1 bytes")
        if t.exit_state == EXIT_DEAD:
            _fail(f"{t} is EXIT_DEAD but still attached to its pid")
        if t.exit_state and not t.flags & PF_EXITING:
            _fail(f"{t} is a zombie without PF_EXITING")
        if not t.exit_state and not t.flags & PF_EXITING and not t.jobctl & JOBCTL_STOPPED:
            if t.pending or sig.shared_pending:
                _fail(f"{t} runs but still has signals pending")
        if t.pid.ns is not t.pid.ns.chain[t.pid.level]:
            _fail(f"{t}: namespace chain broken")
    for sig in signals.values():
        leader = sig.group_leader
        if leader not in thread_list(sig):
            _fail(f"{sig}: leader {leader} not on its thread list")
        if leader.pid is None or leader.pid.tgid_task is not leader:
            _fail(f"{sig}: leader {leader} not attached as PIDTYPE_TGID")
        live = sum(1 for t in thread_list(sig) if not t.flags & PF_EXITING)
        if live != sig.live:
            _fail(f"{sig}: {sig.live} live threads counted, {live} found")
        if sig.pgrp is None or sig not in (sig.pgrp.pgrp or ()):
            _fail(f"{sig}: not a member of its process group {sig.pgrp}")
        if sig.session is None:
            _fail(f"{sig}: no session")
        sessions[id(sig.session)] += 1
        if sig.pgrp.pgrp and next(iter(sig.pgrp.pgrp)).session is not sig.session:
            _fail(f"{sig}: process group {sig.pgrp} spans two sessions")
        parent = leader.real_parent
        if sig is k.init_signal:
            continue
        if parent is None or parent.pid is None:
            _fail(f"{leader} has no live parent")
        if parent.children is None or sig not in parent.children:
            _fail(f"{leader} is not on its parent's list of children")
        for t in thread_list(sig):
            if t.real_parent is not parent:
                _fail(f"thread {t} has another parent than its leader")
        if leader.exit_state == EXIT_ZOMBIE and thread_count(sig) == 1 and parent.flags & PF_EXITING \
                and parent.zap_resume is None:
            _fail(f"zombie {leader} has an exiting parent {parent} that will never reap it")
    for pid in pids:
        if pid.sid_users != sessions.get(id(pid), 0):
            _fail(f"{pid}: {pid.sid_users} session users counted, {sessions.get(id(pid), 0)} found")

    for t in tasks:
        if t.children is None:
            continue
        counts = [0, 0]
        for csig, seq in t.children.items():
            if id(csig) not in signals:
                _fail(f"{t} lists a child process {csig} that no longer exists")
            if csig.group_leader.real_parent is not t:
                _fail(f"{t} lists {csig.group_leader}, whose parent is {csig.group_leader.real_parent}")
            if csig.group_leader.exit_state != EXIT_DEAD:   # being released: not waitable
                counts[0 if csig.group_leader.exit_signal == SIGCHLD else 1] += 1
        if counts != t.child_count:
            _fail(f"{t}: child counts {t.child_count} != {counts}")
        # Entries of reaped children are dropped once they are the majority (queue_wait_event).
        if t.wait_heap is not None and len(t.wait_heap) > 2 * len(t.children) + 9:
            _fail(f"{t}: {len(t.wait_heap)} wait-heap entries for {len(t.children)} children")

    # -- pidfs attributes ---------------------------------------------------------------------
    for pid in pids:
        if pid.stashed is not None and pid.stashed.files <= 0:
            _fail(f"{pid}: stashed pidfs inode has no open file")
        if pid.attr is PIDFS_PID_DEAD and pid.task is not None:
            _fail(f"{pid}: marked DEAD while a task still uses it")

    # -- files --------------------------------------------------------------------------------------
    maps = {}
    for t in tasks:
        if t.files is not None:
            maps[id(t.files.map)] = t.files.map
    refs: Counter = Counter()
    files = {}
    for m in maps.values():
        for f in m.fds.values():
            refs[id(f)] += 1
            files[id(f)] = f
        if not m.cloexec <= set(m.fds):
            _fail("close-on-exec set names descriptors that are not open")
    for fid, f in files.items():
        if f.count != refs[fid]:
            _fail(f"{f}: {f.count} references counted, {refs[fid]} descriptors found")
