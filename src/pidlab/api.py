"""The contract both backends satisfy: records, errors and the Task protocol.

Nothing here knows about the model or the live kernel.  The records are
the values system calls return (`Child`, `WaitidResult`, `PidfdInfo`,
`FileHandle`, `StatResult`); the exceptions are the ways a call can fail
other than with an errno.
"""

from __future__ import annotations

import dataclasses
import re
import os
import struct
from typing import Any, ClassVar, Iterable, Iterator, NamedTuple, Protocol, runtime_checkable

from . import constants as C

__all__ = [
    "Child", "WaitidResult", "PidfdInfo", "FileHandle", "StatResult",
    "PidlabError", "WouldBlock", "TaskExited", "InvariantError", "BackendUnavailable",
    "Unsupported",
    "TaskAPI", "KernelAPI", "oserror",
]


# ---------------------------------------------------------------- exceptions

class PidlabError(Exception):
    """A condition that is not a system call failure (those raise OSError)."""


class WouldBlock(PidlabError):
    """The call would block in Linux and nothing can ever wake it.

    The model raises it where a real task would sleep (waitpid without WNOHANG
    on children that have not changed state, any call made by a stopped
    task); the live backend raises it after checking that the real call
    would not return.  It is a usage error, deliberately not an OSError.
    """


class TaskExited(PidlabError):
    """The task has exited (or is exiting) and can make no more system calls."""


class InvariantError(PidlabError):
    """`Kernel.check()` found an internal invariant of the model broken."""


class Unsupported(PidlabError):
    """The backend cannot carry out this call (the message says what and why)."""


class BackendUnavailable(PidlabError):
    """A backend cannot start on this machine; the message says why."""


def oserror(err: int, detail: str | None = None) -> OSError:
    """An OSError with Linux's errno; the standard library picks the subclass."""
    msg = os.strerror(err)
    if detail:
        msg = f"{msg} ({detail})"
    return OSError(err, msg)


# ---------------------------------------------------------------- records

@dataclasses.dataclass(frozen=True, slots=True)
class TaskView:
    """One task as `k.snapshot()` shows it (introspection, not a system call).

    `numbers` and `namespaces` run from the backend's top pid namespace down to
    the task's own: its pid and the namespace's inode number at every level.
    `tgid` and `ppid` are top-level numbers (0: no parent in the sandbox).
    `name` is the task's own comm (a thread's may differ from its leader's), as
    /proc/<pid>/task/<tid>/comm shows it without the newline.
    """

    numbers: tuple[int, ...]
    namespaces: tuple[int, ...]
    tgid: int
    ppid: int
    state: str
    name: str

    @property
    def pid(self) -> int:
        return self.numbers[0]

    @property
    def is_thread(self) -> bool:
        return self.tgid != self.numbers[0]


class Child:
    """What fork/clone returned: the pid as the caller sees it, the new task, the pidfd.

    A small frozen record: equality, hashing, repr and pattern matching over
    (pid, task, pidfd), as a frozen dataclass has them.  A backend may pass the
    task as `(make, arg)` instead: the handle is then made by `make(arg)` when
    `task` is first read, so that a fork whose Child is dropped unread costs
    no handle (the model forks millions of tasks that way).
    """

    __slots__ = ("pid", "_task", "pidfd")
    __match_args__ = ("pid", "task", "pidfd")

    pid: int
    pidfd: int | None

    def __init__(self, pid: int, task: Any, pidfd: int | None = None) -> None:
        _child_set_pid(self, pid)
        _child_set_task(self, task)
        _child_set_pidfd(self, pidfd)

    @property
    def task(self) -> Any:
        t = self._task
        if type(t) is tuple:
            make, arg = t
            t = make(arg)
            _child_set_task(self, t)
        return t

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __reduce__(self) -> tuple:
        return Child, (self.pid, self.task, self.pidfd)

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[int, Any, int | None]:
        return self.pid, self.task, self.pidfd

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Child:
            return NotImplemented
        return self._key() == other._key()       # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Child(pid={self.pid!r}, task={self.task!r}, pidfd={self.pidfd!r})"


_child_set_pid = Child.pid.__set__             # type: ignore[attr-defined]
_child_set_task = Child._task.__set__          # type: ignore[attr-defined]
_child_set_pidfd = Child.pidfd.__set__         # type: ignore[attr-defined]


class WaitidResult(NamedTuple):
    """The siginfo waitid(2) fills, in os.waitid_result's field order."""

    si_pid: int
    si_uid: int
    si_signo: int
    si_status: int
    si_code: int


@dataclasses.dataclass(frozen=True, slots=True)
class FileHandle:
    """A struct file_handle: its type and its opaque bytes."""

    handle_type: int
    handle: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class StatfsResult:
    """What fstatfs(2) says of a file's filesystem: its magic number (f_type) and more."""

    f_type: int
    f_bsize: int = 4096
    f_namelen: int = 255


@dataclasses.dataclass(frozen=True, slots=True)
class StatResult:
    """The fields of struct stat that pidlab models."""

    st_mode: int
    st_ino: int
    st_dev: int
    st_nlink: int
    st_uid: int
    st_gid: int
    st_size: int
    st_blksize: int = 4096

    # Indexable like os.stat_result, whose first seven items these are (the
    # timestamps, which pidlab does not model, would follow).
    def _items(self) -> tuple[int, ...]:
        return (self.st_mode, self.st_ino, self.st_dev, self.st_nlink, self.st_uid,
                self.st_gid, self.st_size)

    def __getitem__(self, i: int | slice) -> Any:
        return self._items()[i]

    def __len__(self) -> int:
        return 7

    def __iter__(self) -> Iterator[int]:
        return iter(self._items())


_PIDFD_INFO = struct.Struct("<QQ11IiIIQ")
assert _PIDFD_INFO.size == C.PIDFD_INFO_SIZE_VER2


@dataclasses.dataclass(frozen=True, slots=True)
class PidfdInfo:
    """struct pidfd_info as Linux fills it (little-endian): 64 bytes from 6.13, 72 from 6.16
    (coredump_mask), 80 from 6.19 (coredump_signal, which was 6.16-6.18's __spare1, and
    supported_mask)."""

    mask: int = 0
    cgroupid: int = 0
    pid: int = 0
    tgid: int = 0
    ppid: int = 0
    ruid: int = 0
    rgid: int = 0
    euid: int = 0
    egid: int = 0
    suid: int = 0
    sgid: int = 0
    fsuid: int = 0
    fsgid: int = 0
    exit_code: int = 0
    coredump_mask: int = 0
    coredump_signal: int = 0
    supported_mask: int = 0

    SIZE = C.PIDFD_INFO_SIZE_VER1       # what pidfd_get_info asks for unless told
    MAX_SIZE = C.PIDFD_INFO_SIZE_VER2   # the largest struct pidlab knows (6.19)

    FIELDS: ClassVar[tuple[str, ...]] = ()        # the fields in layout order (set below)

    @property
    def spare1(self) -> int:
        """6.16-6.18's name for the slot 6.19 calls coredump_signal."""
        return self.coredump_signal

    def to_bytes(self, size: int = SIZE) -> bytes:
        """The first `size` bytes of the kernel layout (72 unless told)."""
        return _PIDFD_INFO.pack(*[getattr(self, name) for name in self.FIELDS])[:size]

    @classmethod
    def pack(cls, fields: dict[str, int]) -> bytes:
        """The 80 bytes of a record given as {field: value} (missing fields are 0)."""
        return _PIDFD_INFO.pack(*[fields.get(name, 0) for name in cls.FIELDS])

    @classmethod
    def from_bytes(cls, data: bytes) -> "PidfdInfo":
        """Decode a buffer the kernel filled: shorter ones are zero-extended,
        longer ones are cut at 80 bytes (copy_struct_to_user's rules)."""
        data = bytes(data[: cls.MAX_SIZE]).ljust(cls.MAX_SIZE, b"\0")
        return cls(*_PIDFD_INFO.unpack(data))


PidfdInfo.FIELDS = tuple(f.name for f in dataclasses.fields(PidfdInfo))


# ---------------------------------------------------------------- protocols

@runtime_checkable
class TaskAPI(Protocol):
    """A task of either backend.  Every method is one system call made by it."""

    # processes and threads
    def fork(self) -> Child: ...
    def clone(self, flags: int = 0, *, exit_signal: int = C.SIGCHLD,
              set_tid: Iterable[int] = (), pidfd: bool = False) -> Child: ...
    def spawn_thread(self) -> Child: ...
    def execve(self, filename: str | bytes | None = None) -> None: ...
    def exit(self, status: int) -> None: ...
    def exit_group(self, status: int) -> None: ...
    # identities, sessions and process groups
    def getpid(self) -> int: ...
    def gettid(self) -> int: ...
    def getppid(self) -> int: ...
    def getpgid(self, pid: int = 0) -> int: ...
    def getpgrp(self) -> int: ...
    def getsid(self, pid: int = 0) -> int: ...
    def setpgid(self, pid: int, pgid: int) -> None: ...
    def setsid(self) -> int: ...
    # signals and wait
    def kill(self, pid: int, sig: int) -> None: ...
    def tgkill(self, tgid: int, tid: int, sig: int) -> None: ...
    def sigaction(self, sig: int, handler: int | None = None) -> C.Handler: ...
    def waitpid(self, pid: int, options: int = 0) -> tuple[int, int]: ...
    def waitid(self, idtype: int, id: int, options: int) -> WaitidResult | None: ...
    # namespaces, prctl, resource limits
    def unshare(self, flags: int) -> None: ...
    def setns(self, fd: int, nstype: int = 0) -> None: ...
    def prctl(self, option: int, arg: int | str | bytes = 0) -> int | str: ...
    def getrlimit(self, resource: int) -> tuple[int, int]: ...
    def setrlimit(self, resource: int, soft: int, hard: int) -> None: ...
    # credentials
    def getuid(self) -> int: ...
    def geteuid(self) -> int: ...
    def getgid(self) -> int: ...
    def getegid(self) -> int: ...
    def getresuid(self) -> tuple[int, int, int]: ...
    def getresgid(self) -> tuple[int, int, int]: ...
    def setuid(self, uid: int) -> None: ...
    def setgid(self, gid: int) -> None: ...
    def setreuid(self, ruid: int, euid: int) -> None: ...
    def setresuid(self, ruid: int, euid: int, suid: int) -> None: ...
    def setresgid(self, rgid: int, egid: int, sgid: int) -> None: ...
    def capget(self) -> frozenset[int]: ...
    def capset(self, caps: Iterable[int], *, permitted: Iterable[int] | None = None,
               inheritable: Iterable[int] | None = None) -> None: ...
    # pidfds and pidfs
    def pidfd_open(self, pid: int, flags: int = 0) -> int: ...
    def pidfd_send_signal(self, pidfd: int, sig: int, flags: int = 0) -> None: ...
    def pidfd_getfd(self, pidfd: int, targetfd: int, flags: int = 0) -> int: ...
    def pidfd_get_info(self, pidfd: int, mask: int = 0,
                       size: int = C.PIDFD_INFO_SIZE_VER1) -> "PidfdInfo": ...
    def poll(self, fds: Iterable[int], events: int = C.POLLIN | C.POLLRDNORM) -> dict[int, int]: ...
    def fstat(self, fd: int) -> StatResult: ...
    def fstatfs(self, fd: int) -> StatfsResult: ...
    def ioctl(self, fd: int, request: int, arg: int | bytes = 0) -> int | bytes: ...
    def name_to_handle_at(self, dirfd: int, path: str, flags: int,
                          handle_bytes: int = C.MAX_HANDLE_SZ) -> FileHandle: ...
    def open_by_handle_at(self, mount_fd: int, handle: FileHandle, flags: int = C.O_RDONLY,
                          handle_bytes: int | None = None) -> int: ...
    def fsetxattr(self, fd: int, name: str, value: bytes, flags: int = 0) -> None: ...
    def fgetxattr(self, fd: int, name: str) -> bytes: ...
    def flistxattr(self, fd: int) -> list[str]: ...
    def fremovexattr(self, fd: int, name: str) -> None: ...
    def socketpair(self) -> tuple[int, int]: ...
    def getsockopt(self, fd: int, level: int, optname: int) -> int: ...
    # files and procfs
    def open(self, path: str, flags: int = C.O_RDONLY) -> int: ...
    def close(self, fd: int) -> None: ...
    def dup(self, fd: int) -> int: ...
    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int: ...
    def read_text(self, path: str) -> str: ...
    def write_text(self, path: str, text: str) -> None: ...
    def readlink(self, path: str) -> str: ...


# What each system call of the Task API is, in Linux's terms: the docstring of the
# protocol's method and of each backend's, where the backend does not say more.
SYSCALL_DOCS: dict[str, str] = {
    "fork": "fork(2): a new process, a copy of this task's (returns the Child).",
    "clone": "clone3(2): a new task; set_tid lists its pids innermost namespace first, "
             "pidfd=True is CLONE_PIDFD.",
    "spawn_thread": "clone3(CLONE_THREAD|CLONE_VM|CLONE_SIGHAND|CLONE_FS|CLONE_FILES): a "
                    "new thread of this process.",
    "execve": "A successful execve(2) (de_thread; the name becomes the file's base name).",
    "exit": "exit(2): this thread exits with `status`.",
    "exit_group": "exit_group(2): every thread of the process exits with `status`.",
    "getpid": "getpid(2): the thread-group id in the caller's pid namespace.",
    "gettid": "gettid(2): this thread's id in the caller's pid namespace.",
    "getppid": "getppid(2): the parent's pid, 0 when it is outside the namespace.",
    "getpgid": "getpgid(2): the process group of `pid` (0: the caller).",
    "getpgrp": "getpgrp(2): the caller's process group.",
    "getsid": "getsid(2): the session of `pid` (0: the caller).",
    "setpgid": "setpgid(2): move `pid` (0: the caller) into process group `pgid`.",
    "setsid": "setsid(2): a new session and process group led by the caller.",
    "kill": "kill(2): signal a process, a process group (pid < 0) or everyone (-1).",
    "tgkill": "tgkill(2): signal thread `tid` of thread group `tgid`.",
    "sigaction": "rt_sigaction(2): set the disposition of `sig` (None only reads it); "
                 "returns the previous one.",
    "waitpid": "wait4(2) without rusage: (pid, status), (0, 0) for WNOHANG with nothing ready.",
    "waitid": "waitid(2): P_PID, P_PGID, P_ALL or P_PIDFD; None for WNOHANG with nothing "
              "ready.",
    "unshare": "unshare(2) (CLONE_NEWPID: the caller's children get a new namespace).",
    "setns": "setns(2) through a namespace file or a pidfd.",
    "prctl": "prctl(2): PR_SET/GET_CHILD_SUBREAPER, PDEATHSIG, DUMPABLE, KEEPCAPS, NAME.",
    "getrlimit": "getrlimit(2): (soft, hard).",
    "setrlimit": "setrlimit(2); -1 stands for RLIM_INFINITY.",
    "getuid": "getuid(2).", "geteuid": "geteuid(2).", "getgid": "getgid(2).",
    "getegid": "getegid(2).", "getresuid": "getresuid(2): (ruid, euid, suid).",
    "getresgid": "getresgid(2): (rgid, egid, sgid).", "setuid": "setuid(2).",
    "setgid": "setgid(2).", "setreuid": "setreuid(2).", "setresuid": "setresuid(2).",
    "setresgid": "setresgid(2).",
    "capget": "capget(2): the effective capability set.",
    "capset": "capset(2): the effective set (the permitted one too unless given).",
    "pidfd_open": "pidfd_open(2): a pidfd of `pid` (PIDFD_NONBLOCK, PIDFD_THREAD).",
    "pidfd_send_signal": "pidfd_send_signal(2) (PIDFD_SIGNAL_* scopes, PIDFD_SELF_*).",
    "pidfd_getfd": "pidfd_getfd(2): a copy of another process's descriptor.",
    "pidfd_get_info": "ioctl(pidfd, PIDFD_GET_INFO): the record as the kernel filled `size` "
                      "bytes of it.",
    "poll": "poll(2) with timeout 0: revents per fd, as Linux masks them.",
    "fstat": "fstat(2).",
    "fstatfs": "fstatfs(2): the filesystem of a descriptor (f_type is its magic number).",
    "ioctl": "ioctl(2) as fcntl.ioctl takes it: an int argument (0 is NULL), or a bytes "
             "buffer that comes back as the kernel left it.",
    "name_to_handle_at": "name_to_handle_at(2): a file handle (pidfds: AT_EMPTY_PATH).",
    "open_by_handle_at": "open_by_handle_at(2) (FD_PIDFS_ROOT accepted from 6.17).",
    "fsetxattr": "fsetxattr(2).", "fgetxattr": "fgetxattr(2): the value.",
    "flistxattr": "flistxattr(2): the names.", "fremovexattr": "fremovexattr(2).",
    "socketpair": "socketpair(AF_UNIX, SOCK_STREAM, 0).",
    "getsockopt": "getsockopt(2) of an int option (SO_PEERPIDFD returns a new pidfd).",
    "open": "open(2) of a /proc file.", "close": "close(2).", "dup": "dup(2).",
    "fcntl": "fcntl(2) with an int argument.",
    "read_text": "open(2) + read(2) of a /proc file, as text.",
    "write_text": "open(2) + write(2) of a /proc file.",
    "readlink": "readlink(2) of a /proc link.",
}


def document_syscalls(cls: type) -> type:
    """Give every system call of `cls` the docstring SYSCALL_DOCS has, in front of its own
    where that does not name the Linux call already."""
    for name, doc in SYSCALL_DOCS.items():
        fn = cls.__dict__.get(name)
        if fn is None or not callable(fn):
            continue
        own = getattr(fn, "__doc__", None)
        if not own:
            fn.__doc__ = doc
        elif own != doc and not re.search(r"[a-z_0-9]\(", own.split("\n", 1)[0]):
            fn.__doc__ = f"{doc}\n\n{own}"
    return cls


document_syscalls(TaskAPI)


@runtime_checkable
class KernelAPI(Protocol):
    """A backend: the model (`pidlab.Kernel`) or the running kernel (`pidlab.LiveKernel`)."""

    name: str

    @property
    def init(self) -> TaskAPI: ...
    def close(self) -> None: ...
    def __enter__(self) -> "KernelAPI": ...
    def __exit__(self, *exc: object) -> None: ...

