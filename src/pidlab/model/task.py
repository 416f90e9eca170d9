"""task_struct, signal_struct, sighand_struct, mm and files: the model's state.

Linux: include/linux/sched.h, include/linux/sched/signal.h.  Only the fields
the PID subsystem and its neighbours need are kept.  The lifetimes follow
Linux: a TaskStruct is one thread; a SignalStruct is one process (shared by
its threads); a Sighand is shared by CLONE_SIGHAND; an Mm by CLONE_VM; a
Files by CLONE_FILES.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..constants import TASK_COMM_LEN
from .cred import Cred

if TYPE_CHECKING:
    from .fdtable import Files
    from .pid import Pid
    from .pid_namespace import PidNamespace

# task->exit_state
EXIT_ZOMBIE = 16
EXIT_DEAD = 32

# task->flags (include/linux/sched.h)
PF_EXITING = 0x00000004
PF_FORKNOEXEC = 0x00000040
PF_SIGNALED = 0x00000400

# signal->flags (include/linux/sched/signal.h)
SIGNAL_STOP_STOPPED = 0x00000001
SIGNAL_STOP_CONTINUED = 0x00000002
SIGNAL_GROUP_EXIT = 0x00000004
SIGNAL_CLD_STOPPED = 0x00000010
SIGNAL_CLD_CONTINUED = 0x00000020
SIGNAL_CLD_MASK = SIGNAL_CLD_STOPPED | SIGNAL_CLD_CONTINUED
SIGNAL_UNKILLABLE = 0x00000040
SIGNAL_STOP_MASK = SIGNAL_CLD_MASK | SIGNAL_STOP_STOPPED | SIGNAL_STOP_CONTINUED

# task->jobctl (include/linux/sched/jobctl.h)
JOBCTL_STOP_SIGMASK = 0xFFFF
JOBCTL_STOP_DEQUEUED = 1 << 16
JOBCTL_STOP_PENDING = 1 << 17
JOBCTL_STOP_CONSUME = 1 << 18
JOBCTL_STOPPED = 1 << 26
JOBCTL_PENDING_MASK = JOBCTL_STOP_PENDING | (1 << 19) | (1 << 20)   # | TRAP_STOP | TRAP_NOTIFY


# INIT_RLIMITS: RLIMIT_CORE starts at {0, RLIM_INFINITY}.
INIT_RLIMIT_CORE = (0, 2**64 - 1)

# The name the model's first task has (what /sbin/init's exec gives pid 1), shared by every
# task that never renames itself: fork copies the parent's object, so names cost no memory.
INIT_COMM = b"init"

class Sighand:
    """sighand_struct: the dispositions.  `action` maps sig -> Handler; absent = SIG_DFL.

    `users` counts the processes that share it for real (CLONE_SIGHAND without
    CLONE_THREAD).  Fork's copy is lazy twice over: the child first shares the
    parent's object (`copies` counts such private holders beyond the first)
    and the action dict (`owned` is False while the dict is shared); whoever
    writes first gets its own copy (`own_sighand`).  So a process that never
    changes a disposition costs no sighand of its own.
    """

    __slots__ = ("action", "owned", "users", "copies")

    def __init__(self, action: dict[int, int] | None = None, owned: bool = True) -> None:
        self.action = action
        self.owned = owned
        self.users = 1          # processes sharing it (CLONE_SIGHAND without CLONE_THREAD)
        self.copies = 0         # more processes holding it as their private copy

    def get(self, sig: int) -> int:
        a = self.action
        return a.get(sig, 0) if a else 0

    def set(self, sig: int, handler: int) -> None:
        """Change a disposition: only through own_sighand(), never on a shared copy."""
        a = self.action
        if a is None or not self.owned:
            a = dict(a) if a else {}
            self.action = a
            self.owned = True
        if handler:
            a[sig] = handler
        else:
            a.pop(sig, None)

    def copy(self) -> "Sighand":
        """copy_sighand for fork: a private copy (lazily)."""
        if self.users == 1:
            self.copies += 1
            return self
        self.owned = False
        return Sighand(self.action, False)

    def drop(self) -> None:
        """A holder is gone (its process was released or exec'ed)."""
        if self.users > 1:
            self.users -= 1
        elif self.copies:
            self.copies -= 1


def own_sighand(sig: "SignalStruct") -> Sighand:
    """The process's sighand, made its own first if it only holds a lazy copy."""
    sh = sig.sighand
    if sh.copies:
        sh.copies -= 1
        sh.owned = False
        sh = sig.sighand = Sighand(sh.action, False)
    return sh


class Mm:
    """mm_struct: only its dumpable mode matters here.

    `users` counts the processes sharing it for real (CLONE_VM without
    CLONE_THREAD; the threads of one process count once).  Fork's copy is
    lazy: the child holds the parent's object (`copies` counts such holders)
    until one of them changes it through `own_mm`.
    """

    __slots__ = ("dumpable", "users", "copies")

    def __init__(self, dumpable: int = 1) -> None:
        self.dumpable = dumpable
        self.users = 1
        self.copies = 0

    def copy(self) -> "Mm":
        """dup_mm for fork."""
        if self.users == 1:
            self.copies += 1
            return self
        return Mm(self.dumpable)

    def drop(self) -> None:
        """A process lets go of it (its last thread exited, or it exec'ed)."""
        if self.copies:
            self.copies -= 1
        elif self.users > 1:
            self.users -= 1


def own_mm(t: "TaskStruct") -> Mm:
    """The mm of t's process, made the process's own first (for all its threads)."""
    mm = t.mm
    if mm is not None and mm.copies:
        mm.copies -= 1
        new = Mm(mm.dumpable)
        for th in thread_list(t.signal):
            if th.mm is mm:
                th.mm = new
        if t.mm is mm:
            t.mm = new
        return new
    return mm


class SignalStruct:
    """signal_struct: one per process, shared by its threads."""

    __slots__ = ("group_leader", "threads", "live", "flags", "group_exit_code",
                 "group_stop_count", "group_exec_task", "notify_count",
                 "shared_pending", "pgrp", "session", "leader",
                 "is_child_subreaper", "has_child_subreaper", "sighand",
                 "wait_seq", "rlim_core")

    def __init__(self, leader: "TaskStruct", sighand: Sighand,
                 rlim_core: tuple[int, int] = INIT_RLIMIT_CORE) -> None:
        self.group_leader: TaskStruct | None = leader     # None once released
        # thread_head, leader first.  None stands for [group_leader] (most processes
        # have one thread: no list to keep, and one object less for the GC to scan).
        self.threads: list[TaskStruct] | tuple[()] | None = None
        self.live = 1                     # threads that have not started to exit
        self.flags = 0
        self.group_exit_code = 0
        self.group_stop_count = 0
        self.group_exec_task: TaskStruct | None = None
        self.notify_count = 0
        self.shared_pending = 0           # bitmask, bit n = signal n
        self.pgrp: Pid | None = None      # signal->pids[PIDTYPE_PGID]
        self.session: Pid | None = None   # signal->pids[PIDTYPE_SID]
        self.leader = False               # session leader
        self.is_child_subreaper = False
        self.has_child_subreaper = False
        self.sighand = sighand
        self.wait_seq = 0                 # the seq under which a waiter heap holds us
        self.rlim_core = rlim_core        # (soft, hard); the only rlimit modelled

    def __repr__(self) -> str:
        return f"<SignalStruct of {self.group_leader!r}>"



def thread_list(sig: SignalStruct) -> "list[TaskStruct] | tuple[TaskStruct, ...]":
    """The process's threads, leader first (for_each_thread)."""
    threads = sig.threads
    return (sig.group_leader,) if threads is None else threads


def thread_count(sig: SignalStruct) -> int:
    threads = sig.threads
    return 1 if threads is None else len(threads)


def add_thread(sig: SignalStruct, t: "TaskStruct") -> None:
    if sig.threads is None:
        sig.threads = [sig.group_leader, t]
    else:
        sig.threads.append(t)


def remove_thread(sig: SignalStruct, t: "TaskStruct") -> None:
    threads = sig.threads
    if threads is None:
        sig.threads = ()            # the last (only) thread is gone
    else:
        threads.remove(t)

class TaskStruct:
    """task_struct: one thread."""

    __slots__ = ("pid", "signal", "real_parent", "children", "child_count",
                 "wait_heap", "exit_state", "exit_code", "exit_signal", "flags",
                 "pdeath_signal", "cred", "nsproxy_pid", "files", "jobctl",
                 "pending", "self_exec_id", "parent_exec_id", "mm", "queued",
                 "zap_resume", "vfork_parent", "vfork_child", "handle", "last_dumpable",
                 "comm")

    def __init__(self, pid: "Pid | None" = None, cred: Cred | None = None, flags: int = 0,
                 self_exec_id: int = 0, nsproxy_pid: "PidNamespace | None" = None,
                 files: "Files | None" = None) -> None:
        self.pid = pid                    # thread_pid
        self.signal: SignalStruct | None = None
        self.real_parent: TaskStruct | None = None
        # The sibling list of this thread's children (group leaders only),
        # keyed by their SignalStruct so that de_thread keeps the position;
        # the value is the position (a global sequence number).
        self.children: dict[SignalStruct, int] | None = None
        # Children by wait class: [exit_signal == SIGCHLD, exit_signal != SIGCHLD].
        self.child_count: list[int] | None = None
        # (seq, id, SignalStruct) of children that may have something to report.
        self.wait_heap: list[tuple[int, int, SignalStruct]] | None = None
        self.exit_state = 0
        self.exit_code = 0
        self.exit_signal = 0
        self.flags = flags
        self.pdeath_signal = 0
        self.cred = cred
        self.nsproxy_pid = nsproxy_pid    # nsproxy->pid_ns_for_children
        self.files = files
        self.jobctl = 0
        self.pending = 0                  # private pending signals, bitmask
        self.self_exec_id = self_exec_id
        self.parent_exec_id = 0
        self.mm: Mm | None = None         # NULL once the task has exited (exit_mm)
        self.queued = False               # on the kernel's run queue
        self.zap_resume: int | None = None    # group_dead, while sleeping in zap_pid_ns_processes
        self.vfork_parent: TaskStruct | None = None   # a CLONE_VFORK parent waiting for us
        self.vfork_child: TaskStruct | None = None    # the vfork child we wait for
        self.handle: Any = None           # weak reference to the public Task facade
        self.last_dumpable = 0            # the mm's dumpability when exit_mm dropped it
        # task->comm: this thread's name, at most TASK_COMM_LEN - 1 bytes, no NUL.  Each
        # thread has its own (PR_SET_NAME names the caller only); fork copies it.
        self.comm = INIT_COMM

    @property
    def group_leader(self) -> "TaskStruct | None":     # None once the group is released
        return self.signal.group_leader

    def __repr__(self) -> str:
        nr = "/".join(map(str, self.pid.numbers)) if self.pid is not None else "?"
        st = {0: "", EXIT_ZOMBIE: " zombie", EXIT_DEAD: " dead"}.get(self.exit_state, "")
        return f"<TaskStruct {nr}{st}>"


def set_task_comm(t: TaskStruct, buf: bytes) -> None:
    """Name the thread: the C string in `buf`, cut to TASK_COMM_LEN - 1 bytes.

    Linux: fs/exec.c __set_task_comm (strscpy_pad into task->comm).
    """
    t.comm = buf.split(b"\0", 1)[0][:TASK_COMM_LEN - 1]


def delay_group_leader(t: TaskStruct) -> bool:
    """A zombie leader whose other threads still run cannot be reaped yet."""
    return t.signal.group_leader is t and thread_count(t.signal) > 1
