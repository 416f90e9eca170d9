"""File descriptor tables.  Linux: fs/file.c, fs/fcntl.c.

`Files` is a files_struct: CLONE_FILES shares the object itself (`users`
counts its tasks).  Fork's copy is lazy twice over: a child whose parent's
table is not shared first holds the parent's very object (`copies` counts
such holders beyond the first), and a real copy shares the `FdMap` until
either side changes it -- what dup_fd's copy would have produced.  Every
change goes through `own_files(task)`, which gives the caller its own
object first.  A `File` is a struct file: dup and fork
share it, and `count` tracks the descriptors (in any table) that refer to
it, so that the last close releases it.
"""

from __future__ import annotations

import errno
from typing import Any, Callable

from ..api import oserror
from ..constants import (CAP_FOWNER, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD,
                         F_SETFL, FD_CLOEXEC, O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME, O_NONBLOCK)
from .cred import Cred, capable
from .procfs import task_dump_owner

NR_OPEN_DEFAULT = 1024          # RLIMIT_NOFILE of the model's tasks

# Flags F_SETFL may change (fs/fcntl.c SETFL_MASK; O_NDELAY is O_NONBLOCK here).
# FASYNC is not among them: only a file's ->fasync() sets or clears it.
SETFL_MASK = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME

# The commands an O_PATH descriptor takes (fs/fcntl.c check_fcntl_cmd); others: EBADF.
O_PATH_FCNTL_CMDS = (F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL)


class File:
    """struct file: what it is, its open flags, and its users."""

    __slots__ = ("kind", "f_flags", "obj", "count", "on_release", "owner")

    def __init__(self, kind: str, f_flags: int, obj: Any = None,
                 on_release: Callable[["File"], None] | None = None,
                 owner: tuple[int, int] = (0, 0)) -> None:
        self.kind = kind            # "null", "nsfs", "procdir", "pidfd", "socket", ...
        self.f_flags = f_flags
        self.obj = obj
        self.count = 0
        self.on_release = on_release
        self.owner = owner          # the inode's (uid, gid) when it was looked up or made

    def get(self) -> "File":
        self.count += 1
        return self

    def put(self) -> None:
        self.count -= 1
        if self.count == 0 and self.on_release is not None:
            self.on_release(self)

    def __repr__(self) -> str:
        return f"<File {self.kind} flags={oct(self.f_flags)}>"


def inode_owner(f: File) -> tuple[int, int]:
    """The (uid, gid) that fstat reports for the file's inode.

    A /proc/<pid> directory asks its task again (Linux: pid_getattr); every
    other inode keeps what it got when it was looked up (pid_update_inode) or
    made (sock_alloc: the creator's fsuid and fsgid).
    """
    if f.kind == "procdir" and f.obj is not None:
        task = f.obj[0].task
        if task is not None:
            return task_dump_owner(task, True)
    return f.owner


def setfl(f: File, arg: int, cred: Cred) -> None:
    """fcntl(F_SETFL).  Linux: fs/fcntl.c setfl, its checks in order."""
    # No inode here is append-only (IS_APPEND), so O_APPEND always changes.
    if arg & O_NOATIME and not f.f_flags & O_NOATIME:
        # inode_owner_or_capable
        if inode_owner(f)[0] != cred.fsuid and not capable(cred, CAP_FOWNER):
            raise oserror(errno.EPERM, "O_NOATIME needs the inode's owner or CAP_FOWNER")
    if arg & O_DIRECT:
        # No FIFO and no file that can do direct I/O (FMODE_CAN_ODIRECT) is modelled.
        raise oserror(errno.EINVAL, "the file cannot do direct I/O")
    if (arg ^ f.f_flags) & O_ASYNC and f.kind == "socket":
        f.f_flags ^= O_ASYNC        # sock_fasync; the other files have no ->fasync
    f.f_flags = (arg & SETFL_MASK) | (f.f_flags & ~SETFL_MASK)


class FdMap:
    __slots__ = ("fds", "cloexec", "users")

    def __init__(self, fds: dict[int, File] | None = None, cloexec: set[int] | None = None) -> None:
        self.fds = fds if fds is not None else {}
        self.cloexec = cloexec if cloexec is not None else set()
        self.users = 1


class Files:
    """files_struct."""

    __slots__ = ("map", "users", "copies", "nofile")

    def __init__(self, fdmap: FdMap | None = None, nofile: int = NR_OPEN_DEFAULT) -> None:
        self.map = fdmap if fdmap is not None else FdMap()
        self.users = 1              # tasks sharing this table (CLONE_FILES)
        self.copies = 0             # more tasks holding it as their private copy
        self.nofile = nofile        # RLIMIT_NOFILE's soft limit (the same in every task)

    # -- copy-on-write ----------------------------------------------------------

    def _own(self) -> FdMap:
        m = self.map
        if m.users > 1:
            m.users -= 1
            m = FdMap(dict(m.fds), set(m.cloexec))
            for f in m.fds.values():
                f.count += 1
            self.map = m
        return m

    def dup_for_fork(self) -> "Files":
        """dup_fd: the child's own table with the same open files."""
        if self.users == 1:
            self.copies += 1
            return self
        return self.unshared()

    def unshared(self) -> "Files":
        """A new table object with the same contents (copied on first change)."""
        self.map.users += 1
        return Files(self.map, self.nofile)

    def drop(self) -> None:
        """A task lets go of its table (exit, or a fork that failed)."""
        if self.copies:
            self.copies -= 1
            return
        self.users -= 1
        if self.users == 0:
            self.release()

    def release(self) -> None:
        """The last task using this table exited: close everything (put_files_struct)."""
        m = self.map
        if m.users > 1:
            m.users -= 1
        else:
            fds = m.fds
            m.fds = {}
            m.cloexec = set()
            for f in fds.values():
                f.put()

    # -- lookups ------------------------------------------------------------------

    def get(self, fd: int) -> File | None:
        return self.map.fds.get(fd)

    def is_cloexec(self, fd: int) -> bool:
        return fd in self.map.cloexec

    # -- changes (only on a task's own table: see own_files) -------------------------

    def alloc_fd(self, start: int = 0) -> int:
        """The lowest free descriptor >= start, or EMFILE."""
        fds = self.map.fds
        fd = start
        while fd in fds:
            fd += 1
        if fd >= self.nofile:
            raise oserror(errno.EMFILE)
        return fd

    def install(self, fd: int, file: File, cloexec: bool) -> None:
        m = self._own()
        old = m.fds.get(fd)
        m.fds[fd] = file.get()
        if cloexec:
            m.cloexec.add(fd)
        else:
            m.cloexec.discard(fd)
        if old is not None:
            old.put()

    def new_fd(self, file: File, cloexec: bool, start: int = 0) -> int:
        fd = self.alloc_fd(start)
        self.install(fd, file, cloexec)
        return fd

    def close(self, fd: int) -> None:
        if fd not in self.map.fds:
            raise oserror(errno.EBADF)
        m = self._own()
        f = m.fds.pop(fd)
        m.cloexec.discard(fd)
        f.put()

    def close_on_exec(self) -> None:
        m = self.map
        if not m.cloexec:
            return
        m = self._own()
        for fd in sorted(m.cloexec):
            f = m.fds.pop(fd)
            f.put()
        m.cloexec.clear()

    def fcntl(self, fd: int, cmd: int, arg: int, cred: Cred) -> int:
        f = self.get(fd)
        if f is None:
            raise oserror(errno.EBADF)
        if f.kind == "path" and cmd not in O_PATH_FCNTL_CMDS:
            raise oserror(errno.EBADF, "an O_PATH descriptor takes only F_DUPFD, F_GETFD/SETFD, F_GETFL")
        if cmd == F_DUPFD or cmd == F_DUPFD_CLOEXEC:
            if arg < 0 or arg >= NR_OPEN_DEFAULT:
                raise oserror(errno.EINVAL)
            return self.new_fd(f, cmd == F_DUPFD_CLOEXEC, arg)
        if cmd == F_GETFD:
            return FD_CLOEXEC if self.is_cloexec(fd) else 0
        if cmd == F_SETFD:
            m = self._own()
            if arg & FD_CLOEXEC:
                m.cloexec.add(fd)
            else:
                m.cloexec.discard(fd)
            return 0
        if cmd == F_GETFL:
            return f.f_flags
        if cmd == F_SETFL:
            setfl(f, arg, cred)
            return 0
        raise oserror(errno.EINVAL, f"fcntl command {cmd}")


def own_files(task: Any) -> Files:
    """The task's table, made its own first if it only holds a lazy copy."""
    f = task.files
    if f.copies:
        f.copies -= 1
        f = task.files = f.unshared()
    return f
