"""The model's Kernel and its Task handles: one method per system call.

`Kernel` owns the global state (the initial pid namespace, pidfs, the run
queue) and offers the small services the kernel files call back into.
`Task` is the syscall surface: each method converts its arguments (once,
in pidlab.args), refuses to run for a task that cannot make calls, calls
the function that implements the syscall, lets every task that has
something to do run (so that the call returns with all its effects done),
and turns an errno into OSError.
"""

from __future__ import annotations

import collections
import errno
import functools
import os
import weakref
from typing import Any, Iterable, Iterator, Mapping

from .. import args as A
from .. import versions
from ..api import (SYSCALL_DOCS, Child, FileHandle, PidfdInfo, StatfsResult, StatResult,
                   TaskExited, TaskView, Unsupported, WaitidResult, WouldBlock,
                   document_syscalls, oserror)
from ..constants import (CLONE_FILES, CLONE_FS, CLONE_PIDFD, CLONE_SIGHAND, CLONE_THREAD,
                         CLONE_VM, INT_MIN, MAX_HANDLE_SZ, O_ACCMODE, O_CLOEXEC, O_CREAT,
                         O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOCTTY, O_NOFOLLOW, O_PATH, O_RDONLY,
                         O_RDWR, O_TRUNC,
                         P_ALL, P_PGID, P_PID, P_PIDFD, PID_MAX_DEFAULT, PID_MAX_LIMIT,
                         PID_MAX_LIMIT_32, PIDFD_THREAD, PIDS_PER_CPU_DEFAULT,
                         PIDS_PER_CPU_MIN, PIDTYPE_MAX, PIDTYPE_PGID, PIDTYPE_PID, POLLIN,
                         POLLRDNORM,
                         RESERVED_PIDS, SIGCHLD, SUID_DUMP_DISABLE, SUID_DUMP_ROOT, WALL, WCLONE, WCONTINUED,
                         WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WSTOPPED, WUNTRACED, Handler)
from . import coredump
from . import security
from . import cred as credmod
from . import exec as execmod
from . import exit as exitmod
from . import fork as forkmod
from . import nsproxy, procfs
from . import signal as sigmod
from . import sys as sysmod
from .fdtable import File, Files, own_files
from .pid import Pid, alloc_pid, pid_nr_ns
from .pid_namespace import PROC_DYNAMIC_FIRST, PidNamespace, init_pid_namespace
from . import pidfd as pidfdmod
from .pidfs import Pidfs
from .task import (EXIT_ZOMBIE, JOBCTL_STOPPED, PF_EXITING, SIGNAL_UNKILLABLE, Mm, Sighand,
                   SignalStruct, TaskStruct, own_mm)

# include/linux/fcntl.h: the flags an O_PATH open keeps.
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
PIDFS_MNT_ID = 15       # the pidfs mount's id: a machine-specific number, compare by equality


class KernelState:
    """The model's global state and the services its kernel files call back into.

    Internal: the model's functions take it as `k`; users hold a `Kernel` (its
    public face) and `Task` handles.  `Kernel.state` reaches it, for the
    model's own tests.
    """

    name = "model"
    top_level = 0           # the top namespace is the initial one

    def __init__(self, ncpus: int = 2, bits: int = 64, *, version: str = versions.DEFAULT_VERSION,
                 changes: Mapping[str, bool] | None = None, core_pattern: str = "core",
                 suid_dumpable: int = SUID_DUMP_DISABLE, seccomp: Mapping[str, int] | None = None,
                 lsm: Mapping[str, int] | None = None,
                 nofile: int = security.NOFILE_DEFAULT) -> None:
        if not isinstance(ncpus, int) or isinstance(ncpus, bool):
            raise TypeError("ncpus must be an int")
        if not isinstance(bits, int) or isinstance(bits, bool):
            raise TypeError("bits must be an int")
        if not isinstance(core_pattern, str):
            raise TypeError("core_pattern must be a str")
        if not isinstance(suid_dumpable, int) or isinstance(suid_dumpable, bool):
            raise TypeError("suid_dumpable must be an int")
        if ncpus < 1:
            raise ValueError("ncpus must be at least 1")
        if bits not in (32, 64):
            raise ValueError("bits must be 32 or 64")
        # The upstream changes this kernel has (pidlab/_changes.py); code asks for one
        # by its key, never for a version number: `if k.has("pidfs-persist"):`.
        self.changes = versions.changeset(version, changes)
        self.has = self.changes.__contains__
        self.version = version.strip()
        # The sandbox the model poses as (model/security.py).
        self._task_class = security.task_class(
            Task, security.seccomp_methods(seccomp, set(vars(Task))))
        self.lsm = security.lsm_rules(lsm)
        self.nofile = security.nofile_limit(nofile)
        self.pid_max_per_ns = self.has("pidns-pid-max")     # read on every alloc_pid
        self.free_pids_unlocked = self.has("free-pid-unlocked")  # ... on every release_task
        self.unhash_wakes_pidfd = self.has("pidfd-poll-hup")
        # An exploration's Scheduler (model/sched.py) while one runs, else None: the
        # kernel paths' interleaving points do nothing then.
        self.sched: Any = None
        self.ncpus = ncpus
        self.bits = bits
        # The two global sysctls of core dumps (kernel.core_pattern, fs.suid_dumpable).
        self.core_pattern = "core"
        self.suid_dumpable = SUID_DUMP_DISABLE
        try:
            self.set_core_pattern(core_pattern)
            self.set_suid_dumpable(suid_dumpable)
        except OSError as e:
            raise ValueError(e.strerror) from None
        self.pid_max_limit = PID_MAX_LIMIT if bits == 64 else PID_MAX_LIMIT_32
        # Linux: kernel/pid.c pid_idr_init.
        self.pid_max_default = min(self.pid_max_limit,
                                   max(PID_MAX_DEFAULT, PIDS_PER_CPU_DEFAULT * ncpus))
        self.pid_max_min = max(RESERVED_PIDS + 1, PIDS_PER_CPU_MIN * ncpus)
        self.pidfs = Pidfs(bits, self.has, self)
        self.runq: collections.deque[TaskStruct] = collections.deque()
        self.sibling_seq = 0
        self._next_inum = PROC_DYNAMIC_FIRST
        self.init_ns: PidNamespace = init_pid_namespace(self.pid_max_default)
        first = self._make_init()
        self.init_signal = first.signal     # the top init process, whoever leads it
        self._init_handle = self.handle(first)
        # One bound method for every Child's lazy `(make, task)`: a fresh one per fork
        # would be one more object per kept Child (64 bytes, and one more for the GC).
        self.make_handle = self.handle
        self.closed = False
        self.facade: Kernel | None = None   # the public Kernel that owns this state

    # ------------------------------------------------------------------ setup

    def _make_init(self) -> TaskStruct:
        ns = self.init_ns
        t = TaskStruct()
        pid = alloc_pid(self, ns, (), lambda _ns: True)
        t.pid = pid
        t.cred = credmod.ROOT_CRED
        t.mm = Mm()
        t.nsproxy_pid = ns
        t.exit_signal = SIGCHLD
        sig = SignalStruct(t, Sighand())
        t.signal = sig
        files = Files(nofile=self.nofile)
        stdio = File("null", O_RDWR | O_LARGEFILE)
        for fd in (0, 1, 2):
            files.install(fd, stdio, False)
        t.files = files
        pid.task = t
        pid.tgid_task = t
        ns.child_reaper = t
        sig.flags |= SIGNAL_UNKILLABLE
        # init is a session and process-group leader, as after setsid().
        sig.leader = True
        sig.session = pid
        sig.pgrp = pid
        pid.sid_users = 1
        pid.pgrp = {sig: None}
        return t

    # ------------------------------------------------------------------ public

    @property
    def init(self) -> "Task":
        """The task that was pid 1 of the top pid namespace (it may be gone later)."""
        return self._init_handle

    @property
    def init_task(self) -> TaskStruct:
        """The current leader of the top init process."""
        return self.init_signal.group_leader

    def handle(self, t: TaskStruct) -> "Task":
        # The task keeps a weak reference: the handle lives as long as its user holds it
        # (a Child makes it only when its `task` is first read).
        ref = t.handle
        h = ref() if ref is not None else None
        if h is None:
            h = self._task_class(self, t)
            t.handle = weakref.ref(h)
        return h

    def tasks(self) -> Iterator["Task"]:
        """Every task that still has a pid, threads included, by global number."""
        for nr in sorted(self.init_ns.idr.entries):
            t = self.init_ns.idr.entries[nr].task
            if t is not None:
                yield self.handle(t)

    def snapshot(self) -> list[TaskView]:
        """Every task with its numbers and namespaces at every level, by global number."""
        out = []
        for nr in sorted(self.init_ns.idr.entries):
            t = self.init_ns.idr.entries[nr].task
            if t is None:
                continue
            pid = t.pid
            leader = t.signal.group_leader
            parent = t.real_parent
            # PPid is the parent's thread-group id, whichever of its threads forked.
            lead = parent.signal.group_leader if parent is not None else None
            ppid = lead.pid.numbers[0] if lead is not None and lead.pid is not None else 0
            state = procfs.task_state(None, t).split(" ")[0]
            out.append(TaskView(pid.numbers, tuple(ns.inum for ns in pid.ns.chain),
                                leader.pid.numbers[0] if leader.pid is not None else nr,
                                ppid, state, os.fsdecode(t.comm)))
        return out

    def check(self) -> None:
        """Verify every internal invariant; raise InvariantError on the first broken one."""
        from .check import check
        check(self)

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        n = sum(1 for p in self.init_ns.idr.entries.values() if p.task is not None)
        return f"<pidlab.Kernel {self.version} ncpus={self.ncpus} bits={self.bits} tasks={n}>"

    # ------------------------------------------------------------------ services

    def wake(self, t: TaskStruct) -> None:
        if not t.queued:
            t.queued = True
            self.runq.append(t)

    def run_pending(self) -> None:
        """Let every woken task run until it returns to user space or sleeps."""
        if self.sched is not None:
            self._run_pending_concurrently(self.sched)
            return
        q = self.runq
        while q:
            t = q.popleft()
            t.queued = False
            if t.zap_resume is not None:
                exitmod.resume_exit(self, t)
            elif t.pid is not None and not t.exit_state:
                sigmod.get_signal(self, t)

    def run_task(self, t: TaskStruct) -> None:
        """What a woken task does on its CPU: finish an exit that slept in
        zap_pid_ns_processes, or take its signals (get_signal)."""
        if t.zap_resume is not None:
            exitmod.resume_exit(self, t)
        elif t.pid is not None and not t.exit_state:
            sigmod.get_signal(self, t)

    # -- in an exploration (model/sched.py) ------------------------------------------

    def _run_pending_concurrently(self, s: Any) -> None:
        """A woken task runs on its own CPU: the current task's own work is done now
        (it is on its way back to user space), a task whose CPU is busy gets it done by
        what runs there, and any other task gets a thread of its own."""
        cur = s.current
        mine = cur.task if cur is not None else None
        q = self.runq
        while q:
            t = q.popleft()
            if t is mine:
                t.queued = False
                self.run_task(t)
            elif not s.busy(t):
                # t.queued stays set: further wake-ups find the work already queued.
                s.spawn(f"task {'/'.join(map(str, t.pid.numbers)) if t.pid else '?'}",
                        lambda t=t: s.on_cpu(t, _nothing, self.deliver), kind="task", task=t)

    def deliver(self, t: TaskStruct) -> bool:
        """The end of a system call or of a woken task's work, on the task's CPU: take
        what woke the task meanwhile, then let the other woken tasks go.  True if
        there was anything to do."""
        q = self.runq
        busy = t.queued or bool(q)
        while t.queued:
            t.queued = False
            try:
                q.remove(t)
            except ValueError:
                pass
            self.run_task(t)
        if q:
            self.run_pending()
        return busy

    def begin_schedule(self, sched: Any) -> None:
        """Run under an exploration's scheduler: every task handle's system calls run on
        the task's CPU (Scheduler.on_cpu)."""
        cls = _concurrent_class(self._task_class)
        self._task_class = cls
        self._init_handle.__class__ = cls
        for pid in self.init_ns.idr.entries.values():
            t = pid.task
            h = t.handle() if t is not None and t.handle is not None else None
            if h is not None:
                h.__class__ = cls
        self.sched = sched

    def end_schedule(self) -> None:
        self.sched = None

    def wait_event(self, sig: SignalStruct) -> None:
        parent = sig.group_leader.real_parent
        if parent is not None:
            exitmod.queue_wait_event(parent, sig)

    def new_ns_inum(self) -> int:
        inum = self._next_inum
        self._next_inum += 1
        return inum

    def exit_files(self, t: TaskStruct) -> None:
        files = t.files
        t.files = None
        files.drop()

    def commit_creds(self, t: TaskStruct, new: credmod.Cred) -> None:
        old = t.cred
        if credmod.creds_lose_privilege(old, new):
            if t.mm is not None:
                own_mm(t).dumpable = self.suid_dumpable
            t.pdeath_signal = 0
        t.cred = new

    def set_core_pattern(self, text: str) -> None:
        """Write kernel.core_pattern.  Linux: fs/coredump.c proc_dostring_coredump."""
        # proc_dostring keeps what precedes the first newline or NUL, at most 127 bytes.
        value = text.encode()
        for stop in (b"\n", b"\0"):
            value = value.split(stop, 1)[0]
        value = value[:coredump.CORENAME_MAX_SIZE - 1]
        pattern = value.decode(errors="surrogateescape")
        if not coredump.check_coredump_socket(pattern, self.has):
            raise oserror(errno.EINVAL, "a socket core_pattern needs an absolute path without '..'")
        self.core_pattern = pattern

    def set_suid_dumpable(self, value: int) -> None:
        """Write fs.suid_dumpable (proc_dointvec_minmax_coredump, 0..2)."""
        if not SUID_DUMP_DISABLE <= value <= SUID_DUMP_ROOT:
            raise oserror(errno.EINVAL, "suid_dumpable must be 0, 1 or 2")
        self.suid_dumpable = value

    def mm_shared(self, t: TaskStruct) -> bool:
        """current_is_single_threaded() is false: another process uses our mm."""
        return t.mm is not None and t.mm.users > 1

    def pidfd_create(self, cur: TaskStruct, pid: Pid, thread: bool, stale: bool,
                     flags: int = 0) -> int:
        """CLONE_PIDFD: pidfd_prepare(PIDFD_STALE) + fd_install, always close-on-exec."""
        return pidfdmod.install_pidfd(self, cur, pid, flags | (PIDFD_THREAD if thread else 0),
                                      stale=stale)

    def fdinfo(self, reader: TaskStruct, task: TaskStruct, fd: int) -> str:
        """/proc/<pid>/fdinfo/<fd>, with Pid/NSpid for pidfds (pidfd_show_fdinfo)."""
        if not procfs.ptrace_may_access(reader, task, procfs.PTRACE_MODE_READ |
                                        procfs.PTRACE_MODE_FSCREDS) or \
                security.deny(self, "ptrace_access_check"):
            raise oserror(errno.EACCES)
        files = task.files
        f = files.get(fd) if files is not None else None
        if f is None:
            raise oserror(errno.ENOENT)
        if f.kind != "pidfd":
            # Their mnt_id and ino are numbers of the host's mounts and inodes, and
            # sockets add lines of their own.
            raise Unsupported("fdinfo of files other than pidfds is not modelled")
        flags = f.f_flags | (O_CLOEXEC if files.is_cloexec(fd) else 0)
        ino = pidfdmod.pidfd_stat(self, f).st_ino
        text = f"pos:\t0\nflags:\t0{flags:o}\nmnt_id:\t{PIDFS_MNT_ID}\nino:\t{ino}\n"
        pid = f.obj.pid
        ns = reader.pid.ns
        nr = pid_nr_ns(pid, ns) if pid.task is not None else -1
        text += f"Pid:\t{nr}\nNSpid:\t{nr}"
        if nr > 0:
            text += "".join(f"\t{pid.numbers[i]}" for i in range(ns.level + 1, pid.level + 1))
        return text + "\n"


class Kernel:
    """A model of Linux's PID subsystem, at one kernel version (6.18 unless told).

    >>> k = Kernel()
    >>> child = k.init.fork()
    >>> child.pid, child.task.getppid()
    (2, 1)

    Kernel(version="6.12") is Linux 6.12 everywhere it differs; changes={"key":
    True} switches one upstream change on or off (pidlab.changes() lists them);
    ncpus and bits stand for the machine (pid_max follows the per-CPU formula;
    a 32-bit kernel splits pidfs inode numbers into ino and generation);
    core_pattern and suid_dumpable are the machine's core-dump sysctls.  The
    model can pose as the sandbox code meets: seccomp={"pidfd_open": ENOSYS}
    refuses system calls, lsm={"task_kill": EACCES} denies at an LSM hook,
    nofile=N is every task's RLIMIT_NOFILE (model/security.py).
    """

    __slots__ = ("_state", "_on_has", "__weakref__")
    name = "model"
    top_level = 0           # the top namespace is the initial one

    def __init__(self, ncpus: int = 2, bits: int = 64, *, version: str = versions.DEFAULT_VERSION,
                 changes: Mapping[str, bool] | None = None, core_pattern: str = "core",
                 suid_dumpable: int = SUID_DUMP_DISABLE, seccomp: Mapping[str, int] | None = None,
                 lsm: Mapping[str, int] | None = None,
                 nofile: int = security.NOFILE_DEFAULT) -> None:
        self._state = KernelState(ncpus, bits, version=version, changes=changes,
                                  core_pattern=core_pattern, suid_dumpable=suid_dumpable,
                                  seccomp=seccomp, lsm=lsm, nofile=nofile)
        self._state.facade = self
        self._on_has = None         # a test tool's hook: (key, answer) of every has()

    @property
    def init(self) -> "Task":
        """The task that was pid 1 of the top pid namespace (it may be gone later)."""
        return self._state.init

    @property
    def version(self) -> str:
        """The kernel version this model stands for ("6.18", "6.12", "6.18.13")."""
        return self._state.version

    @property
    def changes(self) -> frozenset[str]:
        """The keys of the upstream changes this kernel has (pidlab.changes())."""
        return self._state.changes

    def has(self, key: str) -> bool:
        """Whether this kernel has the upstream change `key` (ValueError for an unknown key)."""
        versions.introduced(key)
        v = key in self._state.changes
        if self._on_has is not None:
            self._on_has(key, v)
        return v

    @property
    def ncpus(self) -> int:
        return self._state.ncpus

    @property
    def bits(self) -> int:
        return self._state.bits

    @property
    def pid_max_default(self) -> int:
        """The initial namespace's pid_max at boot: max(32768, 1024 x CPUs), capped."""
        return self._state.pid_max_default

    @property
    def core_pattern(self) -> str:
        """kernel.core_pattern (a scenario changes it through /proc/sys)."""
        return self._state.core_pattern

    @property
    def suid_dumpable(self) -> int:
        """fs.suid_dumpable."""
        return self._state.suid_dumpable

    @property
    def closed(self) -> bool:
        return self._state.closed

    @property
    def state(self) -> KernelState:
        """The model's internal state (for the model's own tests and tools)."""
        return self._state

    def tasks(self) -> Iterator["Task"]:
        """Every task that still has a pid, threads included, by global number."""
        return self._state.tasks()

    def snapshot(self) -> list[TaskView]:
        """Every task with its numbers and namespaces at every level, by global number."""
        return self._state.snapshot()

    def check(self) -> None:
        """Verify every internal invariant; raise InvariantError on the first broken one."""
        self._state.check()

    def close(self) -> None:
        """Every task of the kernel is gone: their handles refuse further calls."""
        self._state.close()

    def __enter__(self) -> "Kernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return repr(self._state)


def _nothing() -> None:
    """A woken task's work has no system call of its own."""


_CONCURRENT: dict[type, type] = {}


def _concurrent_class(base: type) -> type:
    """`base` with every system call run on the task's CPU while a scheduler runs."""
    if base in _CONCURRENT.values():
        return base
    cls = _CONCURRENT.get(base)
    if cls is None:
        ns: dict[str, Any] = {"__slots__": ()}
        for name in SYSCALL_DOCS:
            fn = getattr(base, name, None)
            if callable(fn):
                ns[name] = _on_cpu(fn)
        cls = _CONCURRENT[base] = type(base.__name__, (base,), ns)
        cls.__qualname__ = base.__qualname__
        cls.__module__ = base.__module__
    return cls


def _on_cpu(fn: Any) -> Any:
    @functools.wraps(fn)
    def call(self: Task, *args: Any, **kwargs: Any) -> Any:
        k = self._k
        s = k.sched
        if s is None or s.current is None:
            return fn(self, *args, **kwargs)
        return s.on_cpu(self._t, lambda: fn(self, *args, **kwargs), k.deliver)
    return call


def _waitid_result(res: tuple[int, int, int, int, int]) -> WaitidResult:
    pid, _status, code, st, uid = res
    return WaitidResult(pid, uid, SIGCHLD, st, code)


class Task:
    """A task of the model.  Each method is one system call made by this task."""

    __slots__ = ("_k", "_t", "__weakref__")

    def __init__(self, kernel: KernelState, task: TaskStruct) -> None:
        self._k = kernel
        self._t = task

    def __repr__(self) -> str:
        t = self._t
        pid = t.pid
        if pid is None:
            return "<Task (released)>"
        state = " zombie" if t.exit_state == EXIT_ZOMBIE else (" exiting" if t.flags & PF_EXITING else "")
        return f"<Task {'/'.join(map(str, pid.numbers))}{state}>"

    # -- helpers --------------------------------------------------------------------

    def _enter(self) -> TaskStruct:
        t = self._t
        if t.flags & PF_EXITING or t.pid is None:
            raise TaskExited(f"{self!r} has exited and can make no system call")
        if self._k.closed:
            raise TaskExited("the Kernel is closed: every task of it is gone")
        if t.jobctl & JOBCTL_STOPPED:
            raise WouldBlock(f"{self!r} is stopped: it cannot run until it gets SIGCONT")
        if t.vfork_child is not None:
            raise WouldBlock(f"{self!r} waits for its vfork child to exec or exit")
        return t

    def _done(self) -> None:
        if self._k.runq:
            self._k.run_pending()

    @property
    def kernel(self) -> "Kernel":
        """The Kernel this task belongs to."""
        return self._k.facade

    @property
    def numbers(self) -> tuple[int, ...]:
        """Introspection, not a system call: the task's pid in every namespace from
        the top one down to its own (empty once the task has been released)."""
        pid = self._t.pid
        return pid.numbers if pid is not None else ()

    # -- processes and threads ---------------------------------------------------------

    def fork(self) -> Child:
        # clone(0, exit_signal=SIGCHLD) without the argument checks these constants pass.
        t = self._enter()
        k = self._k
        p, _ = forkmod.copy_process(k, t, 0, SIGCHLD, (), False)
        if k.runq:
            k.run_pending()
        # The child lives in the caller's active namespace (a fork's child always
        # does: pid_for_children is that namespace or below it), so its number
        # there is the one at the caller's level.
        return Child(p.pid.numbers[t.pid.level], (k.make_handle, p), None)

    def clone(self, flags: int = 0, *, exit_signal: int = SIGCHLD,
              set_tid: Iterable[int] = (), pidfd: bool = False) -> Child:
        """clone3(2).  `set_tid` lists pids innermost namespace first."""
        flags = A.c_ulong(flags, "flags")
        exit_signal = A.c_ulong(exit_signal, "exit_signal")
        tids = A.set_tid_arg(set_tid)
        want_pidfd = A.bool_arg(pidfd, "pidfd") or bool(flags & CLONE_PIDFD)
        if want_pidfd:
            flags |= CLONE_PIDFD
        t = self._enter()
        forkmod.clone3_check_args(flags, exit_signal, tids)
        k = self._k
        p, fd = forkmod.copy_process(k, t, flags, exit_signal, tids, want_pidfd)
        nr = pid_nr_ns(p.pid, t.pid.ns)
        self._done()
        return Child(nr, (k.make_handle, p), fd)

    def spawn_thread(self) -> Child:
        """clone3(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND|CLONE_FS|CLONE_FILES)."""
        return self.clone(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FS | CLONE_FILES,
                          exit_signal=0)

    def execve(self, filename: str | bytes | None = None) -> None:
        """A successful execve(2) of `filename`, which names the task after its last
        component; without one the task keeps its name (see model/exec.py)."""
        path = None if filename is None else A.filename_arg(filename)
        t = self._enter()
        comm = execmod.exec_comm(path)
        execmod.do_execve(self._k, t, comm)
        self._done()

    def exit(self, status: int) -> None:
        status = A.c_int(status, "status")
        t = self._enter()
        exitmod.do_exit(self._k, t, (status & 0xFF) << 8)
        self._done()

    def exit_group(self, status: int) -> None:
        status = A.c_int(status, "status")
        t = self._enter()
        exitmod.do_group_exit(self._k, t, (status & 0xFF) << 8)
        self._done()

    # -- identities ------------------------------------------------------------------------

    def getpid(self) -> int:
        t = self._enter()
        return pid_nr_ns(t.signal.group_leader.pid, t.pid.ns)

    def gettid(self) -> int:
        t = self._enter()
        return pid_nr_ns(t.pid, t.pid.ns)

    def getppid(self) -> int:
        t = self._enter()
        parent = t.real_parent
        return pid_nr_ns(parent.signal.group_leader.pid, t.pid.ns) if parent is not None else 0

    def getpgid(self, pid: int = 0) -> int:
        pid = A.pid_arg(pid)
        return sysmod.sys_getpgid(self._enter(), pid)

    def getpgrp(self) -> int:
        return sysmod.sys_getpgid(self._enter(), 0)

    def getsid(self, pid: int = 0) -> int:
        pid = A.pid_arg(pid)
        return sysmod.sys_getsid(self._enter(), pid)

    def setpgid(self, pid: int, pgid: int) -> None:
        pid = A.pid_arg(pid)
        pgid = A.pid_arg(pgid, "pgid")
        sysmod.sys_setpgid(self._k, self._enter(), pid, pgid)
        self._done()

    def setsid(self) -> int:
        sid = sysmod.sys_setsid(self._k, self._enter())
        self._done()
        return sid

    # -- signals -------------------------------------------------------------------------------

    def kill(self, pid: int, sig: int) -> None:
        pid = A.pid_arg(pid)
        sig = A.sig_arg(sig)
        t = self._enter()
        err = sigmod.kill_something_info(self._k, t, sig, pid)
        self._done()
        if err:
            raise oserror(err)

    def tgkill(self, tgid: int, tid: int, sig: int) -> None:
        tgid = A.pid_arg(tgid, "tgid")
        tid = A.pid_arg(tid, "tid")
        sig = A.sig_arg(sig)
        t = self._enter()
        if tid <= 0 or tgid <= 0:
            raise oserror(errno.EINVAL)
        err = sigmod.do_tkill(self._k, t, tgid, tid, sig)
        self._done()
        if err:
            raise oserror(err)

    def sigaction(self, sig: int, handler: int | None = None) -> Handler:
        """Set the disposition of `sig` (None only reads it); returns the previous one."""
        sig = A.sig_arg(sig)
        handler = A.handler_arg(handler)
        t = self._enter()
        if not sigmod.valid_signal(sig) or sig < 1 or (handler is not None and
                                                       sigmod.sig_kernel_only(sig)):
            raise oserror(errno.EINVAL)
        old = sigmod.do_sigaction(self._k, t, sig, handler)
        self._done()
        return Handler(old)

    # -- wait -----------------------------------------------------------------------------------

    def waitpid(self, pid: int, options: int = 0) -> tuple[int, int]:
        """wait4(2) without rusage; (0, 0) for WNOHANG with nothing to report."""
        upid = A.pid_arg(pid)
        options = A.c_uint(options, "options")
        t = self._enter()
        if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL):
            raise oserror(errno.EINVAL)
        if upid == INT_MIN:
            raise oserror(errno.ESRCH)
        if upid == -1:
            type_, p = PIDTYPE_MAX, None
        elif upid < 0:
            type_, p = PIDTYPE_PGID, t.pid.ns.idr.entries.get(-upid)
        elif upid == 0:
            type_, p = PIDTYPE_PGID, t.signal.pgrp
        else:
            type_, p = PIDTYPE_PID, t.pid.ns.idr.entries.get(upid)
        res = exitmod.do_wait(self._k, t, type_, p, options | WEXITED)
        self._done()
        if res is None:
            return 0, 0
        if isinstance(res, int):
            raise oserror(res)
        return res[0], res[1]

    def waitid(self, idtype: int, id: int, options: int) -> WaitidResult | None:
        idtype = A.c_int(idtype, "idtype")
        upid = A.c_int(id, "id", errno.EINVAL)
        options = A.c_uint(options, "options")
        t = self._enter()
        if options & ~(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD |
                       WCLONE | WALL):
            raise oserror(errno.EINVAL)
        if not options & (WEXITED | WSTOPPED | WCONTINUED):
            raise oserror(errno.EINVAL)
        flags = options
        ns = t.pid.ns
        if idtype == P_ALL:
            type_, p = PIDTYPE_MAX, None
        elif idtype == P_PID:
            if upid <= 0:
                raise oserror(errno.EINVAL)
            type_, p = PIDTYPE_PID, ns.idr.entries.get(upid)
        elif idtype == P_PGID:
            if upid < 0:
                raise oserror(errno.EINVAL)
            type_, p = PIDTYPE_PGID, (ns.idr.entries.get(upid) if upid else t.signal.pgrp)
        elif idtype == P_PIDFD:
            if upid < 0:
                raise oserror(errno.EINVAL)
            f = t.files.get(upid)
            if f is None or f.kind != "pidfd":
                raise oserror(errno.EBADF)
            type_, p = PIDTYPE_PID, f.obj.pid
            if f.f_flags & 0o4000:
                flags |= WNOHANG
        else:
            raise oserror(errno.EINVAL)
        res = exitmod.do_wait(self._k, t, type_, p, flags)
        self._done()
        if isinstance(res, int):
            raise oserror(res)
        if res is None:
            if not options & WNOHANG and flags & WNOHANG:
                raise oserror(errno.EAGAIN)
            return None
        return _waitid_result(res)

    # -- namespaces --------------------------------------------------------------------------------

    def unshare(self, flags: int) -> None:
        flags = A.c_ulong(flags, "flags")
        nsproxy.ksys_unshare(self._k, self._enter(), flags)

    def setns(self, fd: int, nstype: int = 0) -> None:
        fd = A.fd_arg(fd)
        nstype = A.c_int(nstype, "nstype")
        t = self._enter()
        f = t.files.get(fd)
        if f is None or f.kind == "path":           # fdget() skips O_PATH files
            raise oserror(errno.EBADF)
        if f.kind == "nsfs":
            nsproxy.sys_setns_nsfd(t, f.obj, nstype)
        elif f.kind == "pidfd":
            nsproxy.sys_setns_pidfd(t, f.obj.pid, nstype, self._k.sched)
        else:
            raise oserror(errno.EINVAL, "not a namespace file or pidfd")

    # -- prctl ------------------------------------------------------------------------------------------

    def prctl(self, option: int, arg: int | str | bytes = 0) -> int | str:
        """prctl(2); PR_SET_NAME takes the name (str or bytes), PR_GET_NAME returns it."""
        option = A.c_int(option, "option")
        arg = A.prctl_arg(option, arg)
        r = sysmod.sys_prctl(self._k, self._enter(), option, arg)
        self._done()
        return r

    def getrlimit(self, resource: int) -> tuple[int, int]:
        """getrlimit(2): (soft, hard); RLIM_INFINITY is 2**64 - 1."""
        resource = A.c_uint(resource, "resource")
        return sysmod.do_prlimit(self._k, self._enter(), resource, None)

    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        """setrlimit(2); -1 stands for RLIM_INFINITY as in C."""
        resource = A.c_uint(resource, "resource")
        new = (A.c_ulong(soft, "soft"), A.c_ulong(hard, "hard"))
        sysmod.do_prlimit(self._k, self._enter(), resource, new)
        self._done()

    # -- credentials ----------------------------------------------------------------------------------

    def getuid(self) -> int:
        return self._enter().cred.uid

    def geteuid(self) -> int:
        return self._enter().cred.euid

    def getgid(self) -> int:
        return self._enter().cred.gid

    def getegid(self) -> int:
        return self._enter().cred.egid

    def getresuid(self) -> tuple[int, int, int]:
        c = self._enter().cred
        return c.uid, c.euid, c.suid

    def getresgid(self) -> tuple[int, int, int]:
        c = self._enter().cred
        return c.gid, c.egid, c.sgid

    def _set_cred(self, fn: Any, *ids: Any) -> None:
        vals = [A.c_uint(v, "id") for v in ids]
        t = self._enter()
        self._k.commit_creds(t, fn(t.cred, *vals))

    def setuid(self, uid: int) -> None:
        self._set_cred(credmod.setuid, uid)

    def setgid(self, gid: int) -> None:
        self._set_cred(credmod.setgid, gid)

    def setreuid(self, ruid: int, euid: int) -> None:
        self._set_cred(credmod.setreuid, ruid, euid)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        self._set_cred(credmod.setresuid, ruid, euid, suid)

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        self._set_cred(credmod.setresgid, rgid, egid, sgid)

    def capget(self) -> frozenset[int]:
        """The effective capability set."""
        return A.caps_from_mask(self._enter().cred.cap_effective)

    def capset(self, caps: Iterable[int], *, permitted: Iterable[int] | None = None,
               inheritable: Iterable[int] | None = None) -> None:
        """Set the effective set to `caps` and the permitted set to `permitted`
        (default: `caps`); the inheritable set is kept unless given."""
        eff = A.caps_arg(caps)
        prm = eff if permitted is None else A.caps_arg(permitted, "permitted")
        t = self._enter()
        inh = t.cred.cap_inheritable if inheritable is None else A.caps_arg(inheritable, "inheritable")
        self._k.commit_creds(t, credmod.capset(t.cred, eff, prm, inh))

    # -- pidfds and pidfs ----------------------------------------------------------------------------------

    def pidfd_open(self, pid: int, flags: int = 0) -> int:
        pid = A.pid_arg(pid)
        flags = A.c_uint(flags, "flags")
        return pidfdmod.sys_pidfd_open(self._k, self._enter(), pid, flags)

    def pidfd_send_signal(self, pidfd: int, sig: int, flags: int = 0) -> None:
        pidfd = A.fd_arg(pidfd, "pidfd")
        sig = A.sig_arg(sig)
        flags = A.c_uint(flags, "flags")
        t = self._enter()
        try:
            pidfdmod.sys_pidfd_send_signal(self._k, t, pidfd, sig, flags)
        finally:
            self._done()

    def pidfd_getfd(self, pidfd: int, targetfd: int, flags: int = 0) -> int:
        pidfd = A.fd_arg(pidfd, "pidfd")
        targetfd = A.fd_arg(targetfd, "targetfd")
        flags = A.c_uint(flags, "flags")
        return pidfdmod.sys_pidfd_getfd(self._k, self._enter(), pidfd, targetfd, flags)

    def pidfd_get_info(self, pidfd: int, mask: int = 0, size: int = PidfdInfo.SIZE) -> PidfdInfo:
        """ioctl(pidfd, PIDFD_GET_INFO): the record as the kernel filled `size` bytes of it."""
        pidfd = A.fd_arg(pidfd, "pidfd")
        mask = A.c_ulong(mask, "mask")
        size = A._int(size, "size")
        if not 0 <= size < 1 << 14:
            raise oserror(errno.ENOTTY, "an ioctl size has 14 bits")
        data = pidfdmod.sys_pidfd_get_info(self._k, self._enter(), pidfd, mask, size)
        return PidfdInfo.from_bytes(data)

    def poll(self, fds: Iterable[int], events: int = POLLIN | POLLRDNORM) -> dict[int, int]:
        """poll(2) with timeout 0."""
        fds = [A.c_int(fd, "fd") for fd in A.int_list(fds, "fds")]
        events = A.c_uint(events, "events") & 0xFFFF
        return pidfdmod.sys_poll(self._k, self._enter(), fds, events)

    def fstat(self, fd: int) -> StatResult:
        fd = A.fd_arg(fd)
        return pidfdmod.sys_fstat(self._k, self._enter(), fd)

    def fstatfs(self, fd: int) -> StatfsResult:
        """fstatfs(2): the filesystem of a descriptor (f_type is its magic number)."""
        fd = A.fd_arg(fd)
        return pidfdmod.sys_fstatfs(self._k, self._enter(), fd)

    def ioctl(self, fd: int, request: int, arg: int | bytes = 0) -> int | bytes:
        """ioctl(2) as fcntl.ioctl takes it: an int argument (0 is NULL) returns the call's
        result, a bytes buffer comes back as the kernel left it."""
        fd = A.fd_arg(fd)
        request = A.c_uint(request, "request")
        arg = A.ioctl_arg(arg)
        return pidfdmod.sys_ioctl(self._k, self._enter(), fd, request, arg)

    def name_to_handle_at(self, dirfd: int, path: str, flags: int,
                          handle_bytes: int = MAX_HANDLE_SZ) -> FileHandle:
        dirfd = A.c_int(dirfd, "dirfd", errno.EBADF)
        path = A.path_arg(path)
        flags = A.c_int(flags, "flags")
        handle_bytes = A.c_uint(handle_bytes, "handle_bytes")
        return pidfdmod.sys_name_to_handle_at(self._k, self._enter(), dirfd, path, flags,
                                              handle_bytes)

    def open_by_handle_at(self, mount_fd: int, handle: FileHandle, flags: int = O_RDONLY,
                          handle_bytes: int | None = None) -> int:
        mount_fd = A.c_int(mount_fd, "mount_fd", errno.EBADF)
        if not isinstance(handle, FileHandle):
            raise TypeError("handle must be a pidlab.FileHandle")
        flags = A.c_int(flags, "flags")
        n = len(handle.handle) if handle_bytes is None else A.c_uint(handle_bytes, "handle_bytes")
        return pidfdmod.sys_open_by_handle_at(self._k, self._enter(), mount_fd, handle, flags, n)

    def fsetxattr(self, fd: int, name: str, value: bytes, flags: int = 0) -> None:
        fd = A.fd_arg(fd)
        name = A.text_arg(name, "name")
        value = A.bytes_arg(value, "value")
        flags = A.c_int(flags, "flags")
        pidfdmod.sys_fsetxattr(self._k, self._enter(), fd, name, value, flags)

    def fgetxattr(self, fd: int, name: str) -> bytes:
        fd = A.fd_arg(fd)
        name = A.text_arg(name, "name")
        return pidfdmod.sys_fgetxattr(self._k, self._enter(), fd, name)

    def flistxattr(self, fd: int) -> list[str]:
        fd = A.fd_arg(fd)
        return pidfdmod.sys_flistxattr(self._k, self._enter(), fd)

    def fremovexattr(self, fd: int, name: str) -> None:
        fd = A.fd_arg(fd)
        name = A.text_arg(name, "name")
        pidfdmod.sys_fremovexattr(self._k, self._enter(), fd, name)

    def socketpair(self) -> tuple[int, int]:
        """socketpair(AF_UNIX, SOCK_STREAM, 0)."""
        return pidfdmod.sys_socketpair(self._k, self._enter())

    def getsockopt(self, fd: int, level: int, optname: int) -> int:
        fd = A.fd_arg(fd)
        level = A.c_int(level, "level")
        optname = A.c_int(optname, "optname")
        return pidfdmod.sys_getsockopt(self._k, self._enter(), fd, level, optname)

    # -- files ---------------------------------------------------------------------------------------------

    def open(self, path: str, flags: int = O_RDONLY) -> int:
        path = A.path_arg(path)
        flags = A.c_int(flags, "flags")
        t = self._enter()
        k = self._k
        # fs/open.c build_open_how / build_open_flags.
        if flags & O_PATH:
            flags &= O_PATH_FLAGS           # O_PATH ignores every other flag
        elif flags & (O_CREAT | O_DIRECTORY) == O_CREAT | O_DIRECTORY:
            raise oserror(errno.EINVAL, "O_CREAT with O_DIRECTORY")
        node = procfs.resolve(k, t, path)
        if node.kind in ("fd", "fddir"):
            raise Unsupported("opening files through /proc/<pid>/fd is not modelled")
        is_dir = node.kind in ("dir", "root")
        # fs/namei.c open_last_lookups/do_open: everything here exists, so O_CREAT|O_EXCL
        # (which never follows a last link) is EEXIST; a link not followed is no directory.
        if flags & O_CREAT and flags & O_EXCL:
            raise oserror(errno.EEXIST, path)
        if flags & O_NOFOLLOW and procfs.is_symlink(path, node):
            if flags & O_DIRECTORY:
                raise oserror(errno.ENOTDIR, path)
            if not flags & O_PATH:
                raise oserror(errno.ELOOP, path)
            # O_PATH | O_NOFOLLOW: a descriptor of the link itself.
            return own_files(t).new_fd(File("path", flags & ~O_CLOEXEC, None),
                                       bool(flags & O_CLOEXEC))
        if flags & O_CREAT and is_dir:
            raise oserror(errno.EISDIR, path)
        if flags & O_DIRECTORY and not is_dir:
            raise oserror(errno.ENOTDIR, path)
        if flags & O_PATH:
            inner = self._file_of(t, node, O_RDONLY)
            return own_files(t).new_fd(File("path", flags & ~O_CLOEXEC, inner),
                                       bool(flags & O_CLOEXEC))
        # may_open: O_TRUNC asks for write access too.
        write = flags & O_ACCMODE != O_RDONLY or bool(flags & O_TRUNC)
        if write and is_dir:
            raise oserror(errno.EISDIR, path)
        if write and node.kind == "ns":
            raise oserror(errno.EPERM, "nsfs inodes are immutable")
        if write and node.kind == "sysctl" and node.name == "pid_max" and \
                not procfs.may_write_pid_max(k, t):
            raise oserror(errno.EACCES, path)
        f_flags = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)) | O_LARGEFILE
        err = security.deny(k, "file_open")             # do_dentry_open: security_file_open
        if err:
            raise oserror(err, "the sandbox's LSM denies it (security_file_open)")
        return own_files(t).new_fd(self._file_of(t, node, f_flags), bool(flags & O_CLOEXEC))

    @staticmethod
    def _file_of(t: TaskStruct, node: procfs.Node, f_flags: int) -> File:
        task = node.task
        if node.kind in ("dir", "root"):
            if task is None:
                return File("procdir", f_flags, None)
            return File("procdir", f_flags, (task.pid, node.name == "tgid"), None,
                        procfs.task_dump_owner(task, True))
        if node.kind == "ns":
            return File("nsfs", f_flags, procfs.ns_of_node(t, node))
        if node.kind == "sysctl":
            return File("sysctl", f_flags, node.name)
        return File("procfile", f_flags, (node.kind, task), None,
                    procfs.task_dump_owner(task, False))

    def close(self, fd: int) -> None:
        fd = A.fd_arg(fd)
        t = self._enter()
        if t.files.get(fd) is None:
            raise oserror(errno.EBADF)
        own_files(t).close(fd)

    def dup(self, fd: int) -> int:
        fd = A.fd_arg(fd)
        t = self._enter()
        f = t.files.get(fd)
        if f is None:
            raise oserror(errno.EBADF)
        return own_files(t).new_fd(f, False)

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        fd = A.fd_arg(fd)
        cmd = A.c_int(cmd, "cmd")
        arg = A.c_int(arg, "arg")
        t = self._enter()
        if t.files.get(fd) is None:
            raise oserror(errno.EBADF)
        return own_files(t).fcntl(fd, cmd, arg, t.cred)

    def read_text(self, path: str) -> str:
        path = A.path_arg(path)
        return procfs.read_text(self._k, self._enter(), path)

    def write_text(self, path: str, text: str) -> None:
        path = A.path_arg(path)
        text = A.text_arg(text)
        procfs.write_text(self._k, self._enter(), path, text)

    def readlink(self, path: str) -> str:
        path = A.path_arg(path)
        return procfs.readlink(self._k, self._enter(), path)


document_syscalls(Task)
