"""The agent: runs inside one task of the live sandbox and makes its system calls.

Each task of a LiveKernel is driven by an agent in that very task: a process
agent (its main thread) or a thread agent (a real pthread).  An agent reads
one request at a time from its private pipe, makes the system call, and
writes the result or the errno back.  Agents create no helper threads or
processes, so every pid number a scenario sees is its own.

File descriptors the agent needs for itself live at the top of the fd
space ("hidden" slots above RLIMIT_NOFILE's soft limit, which is 1024 as
in the model): they never shift the numbers a scenario sees.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import sys
import threading
import time
from typing import Any, Callable

from .. import constants as C
from ..api import Unsupported
from . import channel
from . import syscalls as S

USER_NOFILE = 1024          # RLIMIT_NOFILE soft limit for scenarios, as in the model
HIDDEN = 128                # slots reserved at the top of the fd space
PF_EXITING = 0x4
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18


class Block(Exception):
    """The call would block forever (reported as pidlab.WouldBlock)."""


class Env:
    """What all agents of one process share (they share memory)."""

    def __init__(self, top: int, hostproc: int, procbase: str, tid_off: int,
                 sandbox_ns: int, pid_max_writable: bool) -> None:
        self.top = top                  # highest hidden slot
        # False where kernel.pid_max is the machine's and this is a host (live/sysctl.py):
        # the controller refuses such writes, and the agent refuses them again.
        self.pid_max_writable = pid_max_writable
        self.sandbox_ns = sandbox_ns    # inode of the sandbox's pid namespace (owns /proc)
        self.hostproc = top             # the host's /proc, to learn host pids
        self.procbase = procbase        # where per-namespace procfs mounts live
        self.procmnt = "/proc"          # procfs of this process's active namespace
        self.procneed = 0               # its namespace's inode while the controller must mount it
        self.tid_off = tid_off          # offset of glibc's cached TID in struct pthread
        self.restorer = 0
        self.catch = S.noop_handler_address()
        self.next_slot = top - 3        # thread channels grow downwards from here
        self.keep: dict[int, Any] = {}  # ctypes callbacks of live pthreads
        self.lock = threading.Lock()
        if hostproc != top:
            hide(self, hostproc, top)

    @property
    def req(self) -> int:
        return self.top - 1

    @property
    def rep(self) -> int:
        return self.top - 2

    @property
    def scratch(self) -> int:
        return self.top - HIDDEN + 1


# ---------------------------------------------------------------- fd plumbing

def _nofile(soft: int) -> None:
    _, hard = S.getrlimit_nofile()
    S.setrlimit_nofile(min(soft, hard), hard)


def hide(env: Env, fd: int, slot: int, cloexec: bool = True) -> None:
    """Move `fd` to the hidden `slot` (above the soft limit)."""
    if fd == slot:
        return
    _nofile(env.top + 1)
    try:
        os.dup2(fd, slot, inheritable=not cloexec)
    finally:
        _nofile(user_nofile(env.top))
    os.close(fd)


def user_nofile(top: int) -> int:
    return min(USER_NOFILE, top - HIDDEN + 1)


def pipe_at(env: Env, r_slot: int, w_slot: int) -> None:
    r, w = os.pipe()
    hide(env, r, r_slot)
    hide(env, w, w_slot)


# The package root: a child interpreter finds pidlab here even when it was not
# installed (isolated mode, -I, ignores PYTHONPATH and the current directory).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The packages pidlab and pidlab.live stand in bare (their __init__ files not run): a
# sandbox process imports what the agent needs and no more -- 10 MB instead of the whole
# package's 22, which halves the copy each fork of an agent makes.
_BOOT = ("import sys, types, runpy; root = sys.argv.pop(1)\n"
         "for name in ('pidlab', 'pidlab.live'):\n"
         "    m = types.ModuleType(name); m.__path__ = [root + '/' + name.replace('.', '/')]\n"
         "    sys.modules[name] = m\n"
         "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)")


def python_argv(module: str, *args: str) -> list[str]:
    """argv to run `python -m module args...` in isolated mode, from this package (a
    module of pidlab.live, whose imports stay inside pidlab.live, constants and api)."""
    return [sys.executable, "-I", "-c", _BOOT, PACKAGE_ROOT, module, *args]


def host_ids(env: Env) -> tuple[int, int]:
    link = os.readlink("thread-self", dir_fd=env.hostproc)
    pid, _, tid = link.split("/")
    return int(pid), int(tid)


# ---------------------------------------------------------------- process setup

def reset_signals(env: Env, ignored: int = 0) -> None:
    """Linux's default dispositions (Python installs its own at start-up)."""
    env.restorer = env.restorer or glibc_restorer()
    for sig in range(1, C.NSIG + 1):
        if sig in (C.SIGKILL, C.SIGSTOP):
            continue
        S.rt_sigaction(sig, 1 if ignored >> sig & 1 else 0, S.SA_RESTORER, env.restorer)


def glibc_restorer() -> int:
    """glibc's __restore_rt, which every handler installed through its sigaction gets as
    sa_restorer (x86_64 needs one to return from a handler).  Python's own handlers have
    it, unless it started with SIGINT ignored (nohup, `cmd &`) and installed none: then a
    handler installed through glibc for a moment lends it."""
    for sig in range(1, C.NSIG + 1):
        if sig in (C.SIGKILL, C.SIGSTOP):
            continue
        old = S.rt_sigaction(sig, None)
        if old.flags & S.SA_RESTORER and old.restorer:
            return old.restorer
    import signal as pysignal
    prev = pysignal.signal(pysignal.SIGUSR2, lambda *_: None)
    try:
        old = S.rt_sigaction(C.SIGUSR2, None)
        return old.restorer or 0
    finally:
        pysignal.signal(pysignal.SIGUSR2, prev)


def ignored_mask() -> int:
    mask = 0
    for sig in range(1, C.NSIG + 1):
        if sig in (C.SIGKILL, C.SIGSTOP):
            continue
        if S.rt_sigaction(sig, None).handler == 1:
            mask |= 1 << sig
    return mask


NS_GET_PARENT = 0xB702         # _IO(NSIO, 0x2), linux/nsfs.h


def _levels_below(env: Env, link: str) -> int:
    """How many levels thread-self/ns/<link> is below this task's active namespace
    (NS_GET_PARENT walks no higher than the caller's active namespace)."""
    active = os.stat("thread-self/ns/pid", dir_fd=env.hostproc).st_ino
    fd = os.open(f"thread-self/ns/{link}", os.O_RDONLY | os.O_CLOEXEC, dir_fd=env.hostproc)
    try:
        for steps in range(C.MAX_PID_NS_LEVEL + 1):
            if os.fstat(fd).st_ino == active:
                return steps
            parent = fcntl.ioctl(fd, NS_GET_PARENT)
            os.close(fd)
            fd = parent
    finally:
        os.close(fd)
    raise OSError(errno.EINVAL, f"{link} is not below the active namespace")


def _nspid_level(status_path: str, dir_fd: int | None = None) -> int:
    """The task's level as a procfs sees it: the number of NSpid entries less one."""
    fd = os.open(status_path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(fd, errors="surrogateescape") as st:    # Name: any bytes
        return next(len(line.split()) - 2 for line in st if line.startswith("NSpid:"))


def ensure_procfs(env: Env) -> None:
    """Use a procfs mounted for this task's active pid namespace (mount it if needed)."""
    inum = os.stat("/proc/self/ns/pid").st_ino      # one's own links need no ptrace access
    if inum == env.sandbox_ns:
        env.procmnt = "/proc"
        return
    mnt = os.path.join(env.procbase, str(inum))
    env.procneed = 0
    if not os.path.ismount(mnt):
        try:
            os.makedirs(mnt, exist_ok=True)
            S.mount("proc", mnt, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError:
            # Not allowed to mount (no CAP_SYS_ADMIN): the hello asks the controller,
            # which mounts it before it sends this agent any request.
            env.procneed = inum
    env.procmnt = mnt


def translate(env: Env, path: str) -> str:
    """/proc paths as the caller's own procfs would resolve them."""
    norm = os.path.normpath(path)
    if path.endswith("/") and norm != "/":
        norm += "/"                     # a trailing slash asks for a directory: keep it
    if norm.startswith("/proc/") and not norm.startswith("/proc/sys/") and env.procmnt != "/proc":
        return env.procmnt + norm[len("/proc"):]
    return norm


# Flags with which op_open goes through open_for_write.
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_NS_LINK = re.compile(r"^/proc/[^/]+(/task/[^/]+)?/ns/[^/]+$")
# /proc/<pid> entries that are magic links to files anywhere (the host's, here).
_MAGIC_LINKS = frozenset({"root", "cwd", "exe", "fd", "map_files"})
# include/linux/fcntl.h VALID_OPEN_FLAGS and O_PATH_FLAGS (x86_64).
_VALID_OPEN_FLAGS = 0o37777703
_O_PATH_FLAGS = os.O_DIRECTORY | os.O_NOFOLLOW | os.O_PATH | os.O_CLOEXEC


def open_for_write(env: Env, path: str, flags: int) -> int:
    """open(2) with write access or O_CREAT/O_TRUNC, only for files of the sandbox's procfs.

    Paths through /proc/<pid>/{root,cwd,exe,fd,map_files} are refused up front; the
    kernel then enforces the rest (openat2 beneath the /proc mount, no magic link, no
    other mount), so nothing a scenario writes can reach a file of the host.  The one
    magic link let through is /proc/<pid>/ns/<type>, which names an nsfs inode.
    Flags are first reduced the way open(2)'s build_open_how does, since openat2 would
    refuse what open(2) ignores.
    """
    flags &= _VALID_OPEN_FLAGS
    if flags & os.O_PATH:
        return S.openat(translate(env, path), flags & _O_PATH_FLAGS)   # nothing is written
    norm = os.path.normpath(path)
    parts = norm.split("/")[1:]
    if parts[:1] != ["proc"]:
        raise Unsupported(f"{path}: the live backend writes no file outside /proc")
    rest = parts[2:]
    if rest[:1] == ["task"]:
        rest = rest[2:]
    if parts[1:2] != ["sys"] and rest[:1] and rest[0] in _MAGIC_LINKS:
        raise Unsupported(f"{path}: /proc/<pid>/{rest[0]} leads to the host's files")
    if _NS_LINK.match(norm):
        return S.openat(translate(env, path), flags)
    norm = translate(env, path)
    guard = not env.pid_max_writable and flags & os.O_ACCMODE != os.O_RDONLY
    if guard and norm == "/proc/sys/kernel/pid_max":
        raise Unsupported(f"{path}: kernel.pid_max is the machine's on this kernel; "
                          "the live backend never writes it on a host")
    base = env.procmnt if not norm.startswith("/proc/sys/") else "/proc"
    dirfd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = S.openat2(dirfd, norm[len(base) + 1:] or ".", flags,
                       S.RESOLVE_BENEATH | S.RESOLVE_NO_MAGICLINKS | S.RESOLVE_NO_XDEV)
    finally:
        os.close(dirfd)
    if guard and os.path.samestat(os.fstat(fd), os.stat("/proc/sys/kernel/pid_max")):
        os.close(fd)
        raise Unsupported(f"{path}: kernel.pid_max is the machine's on this kernel; "
                          "the live backend never writes it on a host")
    return fd


# ---------------------------------------------------------------- the request loop

class Reborn(Exception):
    """Raised in a freshly forked child to leave the parent's call stack."""

    def __init__(self, req: int, rep: int) -> None:
        self.req, self.rep = req, rep


def serve(env: Env, req: int, rep: int, greet: bool = True) -> None:
    """Answer requests until the task dies.  A forked child continues here
    with its own channel (the Reborn exception unwinds the parent's call)."""
    ops = Ops(env, req, rep)
    if greet:
        channel.send(rep, ("hello", *host_ids(env), env.procneed))
    while True:
        try:
            msg = channel.recv(req)
        except EOFError:
            S.syscall("exit_group", 0)      # the controller is gone
        seq, op, args = msg[:3]
        at = msg[3] if len(msg) > 3 else 0
        if at:
            got = time.monotonic_ns()
            release_at(at)
            stamps = (got, time.monotonic_ns())
        try:
            reply = (seq, "ok", getattr(ops, "op_" + op)(*args))
        except Reborn as r:
            req, rep = r.req, r.rep
            ops = Ops(env, req, rep)
            channel.send(rep, ("hello", *host_ids(env), env.procneed))
            continue
        except Block as e:
            reply = (seq, "block", str(e))
        except OSError as e:
            # The detail only when it adds something to strerror (a file name, say).
            detail = str(e) if e.filename is not None else ""
            reply = (seq, "err", e.errno, detail)
        except Exception as e:          # Unsupported, TypeError...: reported, not fatal
            reply = (seq, "exc", type(e).__name__, str(e))
        if at:
            reply += (stamps,)          # a timed call's answer ends with when it got it and left
        channel.send(rep, reply)


# A timed request (pidlab.stress, live/race.py) names the CLOCK_MONOTONIC instant at which
# the agents of one run all make their calls: litmus7's "timebase" barrier, which needs no
# shared object and no waker.  The agent sleeps to within SPIN_NS of it, then spins, so
# that agents on different CPUs leave within a few microseconds of each other; on a single
# CPU spinning would only hold the others back.  (Measured on the loaded 2-CPU host: a
# longer spin loses more to preemption while spinning, and pinning each agent to a CPU of
# its own makes it wait for whatever else runs there, by milliseconds.)
SPIN_NS = 200_000
MAX_RELEASE_NS = 10_000_000_000     # a release further off than this is a bug: never wait longer
_SPIN = len(os.sched_getaffinity(0)) > 1


def release_at(at: int) -> None:
    """Wait until CLOCK_MONOTONIC reaches `at` (ns), bounded by MAX_RELEASE_NS."""
    now = time.monotonic_ns()
    at = min(at, now + MAX_RELEASE_NS)
    spin = SPIN_NS if _SPIN else 0
    if at - spin > now:
        time.sleep((at - spin - now) / 1e9)
    while time.monotonic_ns() < at:
        pass


class Ops:
    """One method per request; `self` is the agent of one task."""

    def __init__(self, env: Env, req: int, rep: int) -> None:
        self.env = env
        self.req = req
        self.rep = rep

    # -- process life ----------------------------------------------------------------

    def op_clone(self, flags: int, exit_signal: int, set_tid: tuple[int, ...], pidfd: bool) -> dict:
        env = self.env
        if flags & C.CLONE_VM or flags & C.CLONE_THREAD:
            return self._clone_thread(flags, exit_signal, set_tid, pidfd)
        if flags & C.CLONE_VFORK:
            raise _unsupported("CLONE_VFORK: the parent would block inside clone3")
        s = env.scratch
        pipe_at(env, s, s + 1)          # the child's requests
        pipe_at(env, s + 2, s + 3)      # the child's replies
        simple = flags == 0 and exit_signal == C.SIGCHLD and not set_tid and not pidfd
        if set_tid:
            set_tid = self._set_tid_within_sandbox(flags, set_tid)
        fd = None
        if simple:
            pid = os.fork()
        else:
            if pidfd:
                flags |= C.CLONE_PIDFD
            tid_addr = self._tid_addr()
            ctypes.pythonapi.PyOS_BeforeFork()
            try:
                pid, fd = S.clone3(flags, exit_signal, set_tid, tid_addr)
            except OSError:
                ctypes.pythonapi.PyOS_AfterFork_Parent()
                for slot in range(s, s + 4):
                    os.close(slot)
                raise
            if pid == 0:
                ctypes.pythonapi.PyOS_AfterFork_Child()
            else:
                ctypes.pythonapi.PyOS_AfterFork_Parent()
        if pid == 0:
            self._become_child(s, s + 3)
        return {"pid": pid, "pidfd": fd, "chan": (s + 1, s + 2), "close": (s, s + 1, s + 2, s + 3)}

    def _set_tid_within_sandbox(self, flags: int, set_tid: tuple[int, ...]) -> tuple[int, ...]:
        """Keep set_tid from naming pids of the host's namespaces above the sandbox.

        alloc_pid refuses more entries than the new pid's namespace has levels
        (EINVAL) -- counted from the sandbox, as the model counts from its top.  The
        host's namespace is deeper by the sandbox's own level, so a list that is
        too long for the sandbox is lengthened to one that is too long for the
        host: the kernel then fails it with EINVAL at the same point of its checks,
        and no entry ever reaches a namespace outside the sandbox.
        """
        env = self.env
        active = _nspid_level("/proc/thread-self/status")          # the sandbox's procfs
        try:
            target = active + _levels_below(env, "pid_for_children")
        except FileNotFoundError:
            target = active + 1         # unshared, no init yet: a child of the active one
        if flags & C.CLONE_NEWPID:
            target += 1
        if len(set_tid) <= target + 1:
            return set_tid
        host_active = _nspid_level("thread-self/status", env.hostproc)
        too_long = host_active - active + target + 2
        if too_long > C.MAX_PID_NS_LEVEL:
            raise OSError(errno.EINVAL, "set_tid has more entries than there are levels")
        return tuple(set_tid) + (0,) * (too_long - len(set_tid))

    def _tid_addr(self) -> int:
        if self.env.tid_off < 0:
            return 0
        S._libc.pthread_self.restype = ctypes.c_void_p
        return S._libc.pthread_self() + self.env.tid_off

    def _become_child(self, req_slot: int, rep_slot: int) -> None:
        env = self.env
        _nofile(env.top + 1)
        try:
            os.dup2(req_slot, env.req, inheritable=False)
            os.dup2(rep_slot, env.rep, inheritable=False)
            os.closerange(env.top - HIDDEN + 1, env.rep)
        finally:
            _nofile(user_nofile(env.top))
        env.next_slot = env.top - 3
        env.keep.clear()
        ensure_procfs(env)
        self.req, self.rep = env.req, env.rep
        raise Reborn(env.req, env.rep)

    def _clone_thread(self, flags: int, exit_signal: int, set_tid: tuple[int, ...],
                      want_pidfd: bool) -> dict:
        """Threads are real pthreads; other CLONE_VM children cannot run Python."""
        if _early_clone_error(flags, exit_signal, set_tid):
            # The kernel rejects these before creating anything: ask it for the errno.
            S.clone3(flags, exit_signal, set_tid)
            raise _unsupported("clone3 unexpectedly accepted an invalid CLONE_VM request")
        if not flags & C.CLONE_THREAD:
            raise _unsupported("a CLONE_VM child that is not a thread cannot run the agent")
        if set_tid:
            raise _unsupported("set_tid with CLONE_THREAD: threads are made by pthread_create")
        if flags & (C.CLONE_FS | C.CLONE_FILES) != C.CLONE_FS | C.CLONE_FILES:
            raise _unsupported("threads without CLONE_FS|CLONE_FILES: pthread_create shares both")
        if want_pidfd:
            # Before 6.9 copy_process refuses CLONE_PIDFD with CLONE_THREAD (EINVAL) before
            # it creates anything.  Such a kernel lacks PIDFD_THREAD too (the same 6.9 pull),
            # and pidfd_open of a number no pid can have says so without side effects:
            # EINVAL for the unknown flag there, ESRCH for the number where the flag exists.
            try:
                os.close(S.pidfd_open(2**31 - 1, C.PIDFD_THREAD))
            except OSError as e:
                if e.errno != errno.ESRCH:
                    raise
        env = self.env
        with env.lock:
            slot = env.next_slot
            env.next_slot -= 4
        pipe_at(env, slot, slot - 1)            # thread's requests: read slot, write slot-1
        pipe_at(env, slot - 2, slot - 3)        # thread's replies: read slot-2, write slot-3
        started = threading.Event()
        box: dict[str, int] = {}

        def body(_arg: int) -> int:
            box["tid"] = S.syscall("gettid")
            started.set()
            serve(env, slot, slot - 3)
            return 0

        cb = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(body)
        env.keep[slot] = cb
        th = ctypes.c_ulong(0)
        # glibc installs handlers for its internal signals 32 and 33 at the
        # first pthread_create; the task's dispositions must not change.
        saved = [(sig, S.rt_sigaction(sig, None)) for sig in (32, 33)]
        rc = S._libc.pthread_create(ctypes.byref(th), None, cb, None)
        for sig, old in saved:
            S.rt_sigaction(sig, old.handler or 0, old.flags, old.restorer or 0)
        if rc:
            env.keep.pop(slot, None)
            for s in range(slot - 3, slot + 1):
                os.close(s)
            raise OSError(rc, os.strerror(rc))
        S._libc.pthread_detach(th)
        if not started.wait(10):
            raise _unsupported("the new thread did not start")
        tid = box["tid"]
        fd = S.pidfd_open(tid, C.PIDFD_THREAD) if want_pidfd else None
        return {"pid": tid, "pidfd": fd, "chan": (slot - 1, slot - 2), "close": (slot - 1, slot - 2)}

    def op_execve(self, seq: int, filename: bytes | None = None) -> None:
        """execve(2) as this backend carries it out: the agent execs its interpreter again
        (it cannot run the scenario's file), and the new image names itself after the
        file with PR_SET_NAME of kbasename(filename), as begin_new_exec does; without a
        filename it keeps the name it had.  A filename that getname refuses (empty, or
        PATH_MAX bytes or more) goes to the real execve, which fails before it looks
        anything up, so that the errno is the kernel's."""
        env = self.env
        if filename is not None and (not filename or len(filename) >= C.PATH_MAX):
            S.execve_fails(filename)
            raise _unsupported(f"execve({filename!r}) unexpectedly got past getname")
        comm = S.get_name() if filename is None else filename.rpartition(b"/")[2]
        params = dict(top=env.top, procbase=env.procbase, tid_off=env.tid_off,
                      sandbox_ns=env.sandbox_ns, pid_max_writable=env.pid_max_writable,
                      req=self.req, rep=self.rep, seq=seq, ignored=ignored_mask(),
                      comm=comm.hex())
        for fd in (self.req, self.rep, env.hostproc):
            os.set_inheritable(fd, True)
        try:
            os.execv(sys.executable, python_argv("pidlab.live.agent", "exec",
                                                 json.dumps(params)))
        except PermissionError as e:
            # The exec failed and left the agent as it was.  pidlab's execve is a
            # successful one: an interpreter this task's ids cannot reach (under a
            # directory such as /root) is this backend's limit, not the call's errno.
            raise _unsupported(f"execve: uid {os.geteuid()} cannot run this backend's Python "
                               f"interpreter {sys.executable} ({e.strerror})") from None
        finally:
            for fd in (self.req, self.rep, env.hostproc):
                os.set_inheritable(fd, False)

    def op_close_channel(self, fds: tuple[int, ...]) -> None:
        """The controller has its ends of a new agent's channel: drop ours."""
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def op_exit(self, status: int) -> None:
        S.syscall("exit", status)

    def op_exit_group(self, status: int) -> None:
        S.syscall("exit_group", status)

    # -- identity, groups, signals ------------------------------------------------------------

    def op_sys(self, name: str, *args: int) -> int:
        return S.syscall(name, *args)

    def op_getresid(self, name: str) -> tuple[int, int, int]:
        vals = (ctypes.c_uint * 3)()
        S.syscall(name, ctypes.byref(vals, 0), ctypes.byref(vals, 4), ctypes.byref(vals, 8))
        return vals[0], vals[1], vals[2]

    def op_sigaction(self, sig: int, handler: int | None) -> int:
        env = self.env
        if handler is None:
            old = S.rt_sigaction(sig, None)
        else:
            addr = {0: 0, 1: 1, 2: env.catch}[handler]
            flags = S.SA_RESTORER | (S.SA_RESTART if handler == 2 else 0)
            old = S.rt_sigaction(sig, addr, flags, env.restorer)
        h = old.handler or 0
        return h if h in (0, 1) else 2

    def op_wait4(self, pid: int, options: int) -> tuple[int, int]:
        if options & C.WNOHANG:
            return S.wait4(pid, options)
        r = S.wait4(pid, options | C.WNOHANG)
        if r[0] == 0:
            raise Block("no child has changed state")
        return r

    def op_waitid(self, idtype: int, id_: int, options: int) -> tuple | None:
        implied = False
        if idtype == C.P_PIDFD and not options & C.WNOHANG:
            try:
                implied = bool(S.syscall("fcntl", id_, C.F_GETFL) & C.O_NONBLOCK)
            except OSError:
                implied = True          # not an open fd: the call fails without blocking
        if options & C.WNOHANG or implied:
            res = S.waitid(idtype, id_, options)
        else:
            res = S.waitid(idtype, id_, options | C.WNOHANG)
            if res[0] == 0:
                raise Block("no child has changed state")
        return None if res[0] == 0 else res

    def op_prctl(self, option: int, arg: int | bytes) -> int | str:
        if option in (C.PR_GET_PDEATHSIG, C.PR_GET_CHILD_SUBREAPER):
            return S.prctl_get_int(option)
        if option == C.PR_GET_NAME:
            return os.fsdecode(S.get_name())
        if option == C.PR_SET_NAME and isinstance(arg, bytes):
            S.set_name(arg)
            return 0
        return S.prctl(option, arg)             # PR_SET_NAME with 0: NULL, the kernel's EFAULT

    def op_capget(self) -> int:
        return S.capget()[0]

    def op_capset(self, eff: int, prm: int | None, inh: int | None) -> None:
        _, cur_prm, cur_inh = S.capget()
        S.capset(eff, eff if prm is None else prm, cur_inh if inh is None else inh)

    # -- namespaces --------------------------------------------------------------------------------

    def op_unshare(self, flags: int) -> None:
        S.unshare(flags)

    def op_setns(self, fd: int, nstype: int) -> None:
        S.setns(fd, nstype)

    # -- files and procfs --------------------------------------------------------------------------

    def op_open(self, path: str, flags: int) -> int:
        if flags & _WRITE_FLAGS:
            return open_for_write(self.env, path, flags)
        return S.openat(translate(self.env, path), flags)

    def op_read_text(self, path: str) -> str:
        p = translate(self.env, path)
        parts = p.split("/")
        if len(parts) >= 2 and parts[-2] == "ns" and parts[-1] in ("pid", "pid_for_children"):
            return os.readlink(p)
        fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(fd)
        return os.fsdecode(b"".join(chunks))   # a name cut at 15 bytes may end mid-character

    def op_write_text(self, path: str, text: str) -> None:
        fd = open_for_write(self.env, path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            if text:
                os.write(fd, text.encode())
        finally:
            os.close(fd)

    def op_readlink(self, path: str) -> str:
        p = os.path.normpath(path)
        if p in ("/proc/self", "/proc/thread-self") and self.env.procmnt != "/proc":
            return os.readlink(self.env.procmnt + p[len("/proc"):])
        return os.readlink(translate(self.env, path))

    # -- pidfds and pidfs --------------------------------------------------------------------------

    def op_pidfd_get_info(self, fd: int, mask: int, size: int) -> bytes:
        buf = bytearray(max(size, 8))
        buf[0:8] = mask.to_bytes(8, "little")
        S.ioctl_buf(fd, C.PIDFD_GET_INFO(size), buf)
        return bytes(buf[:size])

    def op_fstat(self, fd: int) -> tuple:
        st = os.fstat(fd)
        return (st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                st.st_size, st.st_blksize)

    def op_call(self, name: str, *args: Any) -> Any:
        fn: Callable[..., Any] = getattr(S, name)
        if name in ("fsetxattr", "fremovexattr"):
            self._refuse_host_file(args[0])
        return fn(*args)

    def _fd_target(self, fd: int) -> str | None:
        try:
            return os.readlink(translate(self.env, f"/proc/self/fd/{fd}"))
        except OSError:
            return None                         # not an open fd: the call fails with EBADF

    def _refuse_host_file(self, fd: int) -> None:
        """xattrs are written on pidfds and sockets only: the sandbox's other files
        (stdio, anything opened outside /proc) are inodes of the host."""
        target = self._fd_target(fd)
        if target is not None and not _is_pidfd_link(target) and \
                not target.startswith("socket:["):
            raise Unsupported(f"fd {fd} is {target}, a file of the host: the live backend "
                              "changes xattrs of pidfds and sockets only")

    def op_ioctl(self, fd: int, request: int, arg: int | bytes) -> int | bytes:
        """Only a pidfd's ioctls (queries) reach the kernel, and TCGETS anywhere: a socket's
        or a device's could change the host (its network, its terminal)."""
        target = self._fd_target(fd)
        if target is not None and not _is_pidfd_link(target) and request != C.TCGETS:
            raise Unsupported(f"fd {fd} is {target}: the live backend passes ioctls of "
                              "pidfds (and TCGETS) only")
        return S.ioctl(fd, request, arg)

    def op_fstatfs(self, fd: int) -> tuple[int, int, int]:
        return S.fstatfs(fd)


def _is_pidfd_link(target: str) -> bool:
    """The fd link of a pidfd: anon_inode:[pidfd], or 6.9's pidfd:[INO]."""
    return target == "anon_inode:[pidfd]" or target.startswith("pidfd:[")


def _unsupported(msg: str) -> Exception:
    return Unsupported(msg)


def _early_clone_error(flags: int, exit_signal: int, set_tid: tuple[int, ...]) -> bool:
    """Would clone3 fail its argument and flag checks (before creating anything)?

    The kernel's own checks, in its order (copy_clone_args_from_user,
    clone3_args_valid, copy_process): used only to decide whether a CLONE_VM
    request may be handed to the real clone3 to obtain the real errno.
    """
    if len(set_tid) > C.MAX_PID_NS_LEVEL or exit_signal & ~C.CSIGNAL or exit_signal > C.NSIG:
        return True
    if flags & ~(C.CLONE_LEGACY_FLAGS | C.CLONE_CLEAR_SIGHAND | C.CLONE_INTO_CGROUP):
        return True
    if flags & (C.CLONE_DETACHED | (C.CSIGNAL & ~C.CLONE_NEWTIME)):
        return True
    if flags & (C.CLONE_SIGHAND | C.CLONE_CLEAR_SIGHAND) == C.CLONE_SIGHAND | C.CLONE_CLEAR_SIGHAND:
        return True
    if flags & (C.CLONE_THREAD | C.CLONE_PARENT) and exit_signal:
        return True
    if flags & C.CLONE_INTO_CGROUP:
        return True
    if flags & (C.CLONE_NEWNS | C.CLONE_FS) == C.CLONE_NEWNS | C.CLONE_FS:
        return True
    if flags & (C.CLONE_NEWUSER | C.CLONE_FS) == C.CLONE_NEWUSER | C.CLONE_FS:
        return True
    if flags & C.CLONE_THREAD and not flags & C.CLONE_SIGHAND:
        return True
    if flags & C.CLONE_SIGHAND and not flags & C.CLONE_VM:
        return True
    if flags & C.CLONE_THREAD and flags & (C.CLONE_NEWUSER | C.CLONE_NEWPID):
        return True
    return False


# ---------------------------------------------------------------- entry points

def exec_main(params: dict) -> None:
    """The agent again, after execve: same channel, then the execve reply."""
    top = params["top"]
    env = Env(top, top, params["procbase"], params["tid_off"], params["sandbox_ns"],
              params["pid_max_writable"])
    _nofile(user_nofile(top))
    reset_signals(env, params["ignored"])
    S.set_name(bytes.fromhex(params["comm"]))     # the exec'ed file's name (op_execve)
    req, rep = params["req"], params["rep"]
    for fd in (req, rep, env.hostproc):
        os.set_inheritable(fd, False)
    if (req, rep) != (env.req, env.rep):
        _nofile(top + 1)
        try:
            os.dup2(req, env.req, inheritable=False)
            os.dup2(rep, env.rep, inheritable=False)
            os.close(req)
            os.close(rep)
        finally:
            _nofile(user_nofile(top))
        req, rep = env.req, env.rep
    ensure_procfs(env)
    channel.send(rep, ("hello", *host_ids(env), env.procneed))
    channel.send(rep, (params["seq"], "ok", None))
    serve(env, req, rep, greet=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["exec"]:
        exec_main(json.loads(sys.argv[2]))
