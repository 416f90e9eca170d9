"""The pidfd system calls.  Linux: kernel/pid.c, kernel/fork.c pidfd_prepare,
kernel/signal.c pidfd_send_signal, fs/pidfs.c (6.18), fs/fhandle.c.

Every function checks in the kernel's order and returns the value the
system call returns; errors are raised as OSError before anything changes.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING

from ..api import FileHandle, PidfdInfo, StatfsResult, StatResult, Unsupported, oserror
from ..constants import (AT_EMPTY_PATH, AT_FDCWD, AT_HANDLE_CONNECTABLE, AT_HANDLE_FID,
                         AT_HANDLE_MNT_ID_UNIQUE, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH,
                         CAP_SYS_ADMIN, FD_NSFS_ROOT, FD_PIDFS_ROOT, SO_PEERPIDFD, SOL_SOCKET,
                         FILEID_KERNFS, MAX_HANDLE_SZ, O_CLOEXEC, O_CREAT,
                         O_EXCL, O_NOCTTY, O_TRUNC,
                         O_LARGEFILE, O_NONBLOCK, O_RDWR, PIDFD_COREDUMP_ROOT,
                         PIDFD_COREDUMP_SKIP, PIDFD_COREDUMP_USER, PIDFD_INFO_CGROUPID,
                         PIDFD_INFO_COREDUMP, PIDFD_INFO_CREDS, PIDFD_INFO_EXIT, PIDFD_INFO_PID,
                         PIDFD_INFO_SIZE_VER0, PIDFD_NONBLOCK, PIDFD_SELF_THREAD,
                         PIDFD_SELF_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP,
                         PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD,
                         PIDTYPE_PGID, PIDTYPE_PID, PIDTYPE_TGID, POLLERR, POLLHUP, POLLIN,
                         POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM, XATTR_CREATE,
                         XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX,
                         ANON_INODE_FS_MAGIC, FS_IOC_GETVERSION, NSFS_MAGIC, O_RDONLY,
                         PID_FS_MAGIC, PIDFD_GET_CGROUP_NAMESPACE, PIDFD_GET_INFO,
                         PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE, PIDFD_GET_PID_NAMESPACE,
                         PIDFD_GET_UTS_NAMESPACE, PIDFD_INFO_COREDUMP_SIGNAL,
                         PIDFD_INFO_SIZE_VER1, PIDFD_INFO_SIZE_VER2, PIDFD_INFO_SUPPORTED_MASK,
                         PIDFS_IOCTL_MAGIC, PROC_SUPER_MAGIC, SOCKFS_MAGIC, TMPFS_MAGIC,
                         _IOC_DIR, _IOC_NR, _IOC_SIZE, _IOC_TYPE)
from . import cred as credmod
from . import security
from . import signal as sigmod
from .fdtable import File, inode_owner, own_files
from .pid import Pid, pid_nr_ns
from .sched import reads, wait_pidfd_lock
from .pidfs import ANON_INODE_DEV, ANON_INODE_INO, PIDFS_PID_DEAD, ROOT_CGROUP_ID
from .procfs import (PTRACE_MODE_ATTACH, PTRACE_MODE_FSCREDS, PTRACE_MODE_READ,
                     PTRACE_MODE_REALCREDS, ptrace_may_access)
from .task import PF_EXITING, TaskStruct, delay_group_leader, thread_count


def thread_group_empty(t: TaskStruct) -> bool:
    return thread_count(t.signal) == 1

if TYPE_CHECKING:
    from .kernel import Kernel

PIDFS_DEV = 5                   # the anonymous device pidfs sits on (0:5)
DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM
VALID_FILE_HANDLE_OPEN_FLAGS = 0o3 | O_NONBLOCK | O_CLOEXEC | O_EXCL


def pidfd_pid(f: File | None) -> Pid:
    """Linux: pidfd_pid -- EBADF for anything but a pidfd."""
    if f is None or f.kind != "pidfd":
        raise oserror(errno.EBADF)
    return f.obj.pid


def _pidfd_prepare_checks(k: "Kernel", pid: Pid, thread: bool) -> None:
    """Linux: kernel/fork.c pidfd_prepare (pidfd_open's checks; PIDFD_STALE skips them)."""
    s = k.sched
    if k.has("pidfd-open-errnos"):
        if k.has("pidfd-open-locked"):
            # 6.16: both checks under pid->wait_pidfd.lock, which __unhash_process takes
            # between detaching PIDTYPE_PID and PIDTYPE_TGID: a leader has both or neither.
            if s is not None:
                lock = wait_pidfd_lock(pid)
                s.lock(lock, label="pidfd_prepare: spin_lock_irq(&pid->wait_pidfd.lock)",
                       footprint=reads(pid))
                err = _prepare_errno(pid, thread)
                s.unlock(lock)
            else:
                err = _prepare_errno(pid, thread)
            if err == errno.ESRCH:
                raise oserror(errno.ESRCH, "the task has been reaped")
            if err:
                raise oserror(errno.ENOENT, "not a thread-group leader (use PIDFD_THREAD)")
            return
        # "pidfd: improve uapi when task isn't found" alone: two checks, no lock.
        if s is not None:
            s.point("pidfd_prepare: pid_has_task(pid, PIDTYPE_PID)", reads(pid))
        if pid.task is None:
            raise oserror(errno.ESRCH, "the task has been reaped")
        if s is not None:
            s.point("pidfd_prepare: pid_has_task(pid, PIDTYPE_TGID)", reads(pid))
        if not thread and pid.tgid_task is None:
            raise oserror(errno.ENOENT, "not a thread-group leader (use PIDFD_THREAD)")
        return
    if s is not None:
        s.point("pidfd_prepare: pid_has_task() (RCU)", reads(pid))
    if (pid.task if thread else pid.tgid_task) is None:
        # Before: `!pid_has_task(pid, thread ? PIDTYPE_PID : PIDTYPE_TGID)` is EINVAL,
        # whether the task was reaped or never led a thread group.
        raise oserror(errno.EINVAL, "no task of that type (pidfd_prepare before 6.16)")


def _prepare_errno(pid: Pid, thread: bool) -> int:
    if pid.task is None:
        return errno.ESRCH
    if not thread and pid.tgid_task is None:
        return errno.ENOENT
    return 0


def sys_pidfd_open(k: "Kernel", cur: TaskStruct, nr: int, flags: int) -> int:
    valid = PIDFD_NONBLOCK | (PIDFD_THREAD if k.has("pidfd-thread") else 0)
    if flags & ~valid:
        raise oserror(errno.EINVAL, "unknown pidfd_open flags")
    if nr <= 0:
        raise oserror(errno.EINVAL)
    s = k.sched
    if s is not None:
        s.point("pidfd_open: find_get_pid() (RCU)", reads(cur.pid.ns))
    pid = cur.pid.ns.idr.entries.get(nr)
    if pid is None:
        raise oserror(errno.ESRCH)
    _pidfd_prepare_checks(k, pid, bool(flags & PIDFD_THREAD))
    return install_pidfd(k, cur, pid, flags)


def install_pidfd(k: "Kernel", cur: TaskStruct, pid: Pid, flags: int, cloexec: bool = True,
                  stale: bool = False) -> int:
    """__pidfd_prepare + fd_install: the descriptor first (EMFILE), then the file (ESRCH).
    `stale` is PIDFD_STALE (PIDFD_CLONE in 6.15): the pid's exit information is known to
    be available, so pidfs_pid_valid lets a reaped pid through."""
    files = cur.files
    fd = files.alloc_fd()
    f = k.pidfs.alloc_file(pid, flags, stale)
    own_files(cur).install(fd, f, cloexec)
    return fd


def access_pidfd_pidns(cur: TaskStruct, pid: Pid) -> bool:
    """The pid's namespace is the caller's active one or a descendant of it."""
    active = cur.pid.ns
    return active.level <= pid.level and pid.ns.chain[active.level] is active


# PIDFD_SELF_THREAD_GROUP as the 6.15 and 6.16 uapi <linux/pidfd.h> define it; "fcntl/pidfd:
# redefine PIDFD_SELF_THREAD_GROUP" (6.17) made it -10001 (constants.PIDFD_SELF_THREAD_GROUP).
PIDFD_SELF_THREAD_GROUP_615 = -20000
PIDFD_SEND_SIGNAL_FLAGS = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP


def sys_pidfd_send_signal(k: "Kernel", cur: TaskStruct, pidfd: int, sig: int, flags: int) -> None:
    """Linux: kernel/signal.c pidfd_send_signal, in the order of each version (6.1, 6.9, 6.15)."""
    if not k.has("pidfd-signal-scope"):
        # Linux: 6.1 "Enforce flags be set to 0 until we add an extension."
        if flags:
            raise oserror(errno.EINVAL, "pidfd_send_signal takes no flags before 6.9")
    else:
        # Linux: 6.9 e1fb1dc08e73 -- only the scope flags, and at most one of them.
        if flags & ~PIDFD_SEND_SIGNAL_FLAGS:
            raise oserror(errno.EINVAL, "unknown pidfd_send_signal flags")
        if bin(flags).count("1") > 1:
            raise oserror(errno.EINVAL, "more than one scope flag")
    # Linux: 6.15 `switch (pidfd)` -- the PIDFD_SELF_* sentinels name current before any fd
    # lookup and skip access_pidfd_pidns; before 6.15 they are negative fds (EBADF).
    sentinels = k.has("pidfd-self")
    self_group = PIDFD_SELF_THREAD_GROUP if k.has("pidfd-self-value") else \
        PIDFD_SELF_THREAD_GROUP_615
    if sentinels and pidfd == PIDFD_SELF_THREAD:
        pid, type_ = cur.pid, PIDTYPE_PID
    elif sentinels and pidfd == self_group:
        pid, type_ = cur.signal.group_leader.pid, PIDTYPE_TGID
    else:
        f = cur.files.get(pidfd) if pidfd >= 0 else None
        if f is None:
            raise oserror(errno.EBADF)
        if f.kind == "pidfd":
            pid = f.obj.pid
        elif f.kind == "procdir" and f.obj is not None and f.obj[1]:
            pid = f.obj[0]              # Linux: tgid_pidfd_to_pid, a /proc/<tgid> directory
        else:
            raise oserror(errno.EBADF, "not a pidfd")
        if not access_pidfd_pidns(cur, pid):
            raise oserror(errno.EINVAL, "the process is outside the caller's pid namespace")
        # Linux: 6.9 81b9d8ac0640 "pidfd: change pidfd_send_signal() to respect PIDFD_THREAD";
        # before, kill_pid_info always signals the thread group.
        thread = f.f_flags & PIDFD_THREAD and k.has("pidfd-thread-signal")
        type_ = PIDTYPE_PID if thread else PIDTYPE_TGID
    # Flags are 0 here before 6.9: the scope stays the one the pidfd gave.
    if flags == PIDFD_SIGNAL_THREAD:
        type_ = PIDTYPE_PID
    elif flags == PIDFD_SIGNAL_THREAD_GROUP:
        type_ = PIDTYPE_TGID
    elif flags == PIDFD_SIGNAL_PROCESS_GROUP:
        type_ = PIDTYPE_PGID
    # Linux: prepare_kill_siginfo -- SI_TKILL for a thread-directed signal (6.9), else SI_USER.
    info = sigmod.INFO_TKILL if type_ == PIDTYPE_PID else sigmod.INFO_USER
    if type_ == PIDTYPE_PGID:
        err = sigmod.kill_pgrp_info(k, sig, info, pid, cur)
    else:
        err = sigmod.kill_pid_info_type(k, sig, info, pid, type_, cur)
    if err:
        raise oserror(err)


def sys_pidfd_getfd(k: "Kernel", cur: TaskStruct, pidfd: int, targetfd: int, flags: int) -> int:
    if flags:
        raise oserror(errno.EINVAL, "pidfd_getfd takes no flags")
    pid = pidfd_pid(cur.files.get(pidfd) if pidfd >= 0 else None)
    task = pid.task
    if task is None:
        raise oserror(errno.ESRCH)
    if not ptrace_may_access(cur, task, PTRACE_MODE_ATTACH | PTRACE_MODE_REALCREDS) or \
            security.deny(k, "ptrace_access_check"):
        raise oserror(errno.EPERM, "ptrace access to the target is denied")
    if task.flags & PF_EXITING and k.has("pidfd-getfd-exiting"):
        # Linux: kernel/pid.c __pidfd_fget -- "pidfd: refuse access to tasks that have
        # started exiting harder" (7.1, in 6.1.176): no fd lookup once do_exit began.
        raise oserror(errno.ESRCH, "the task is exiting")
    f = task.files.get(targetfd) if task.files is not None and targetfd >= 0 else None
    if f is None:
        # "pidfd: getfd should always report ESRCH if a task is exiting" (6.9).
        exiting = task.flags & PF_EXITING and k.has("pidfd-getfd-esrch")
        raise oserror(errno.ESRCH if exiting else errno.EBADF)
    return own_files(cur).new_fd(f, True)


def sys_pidfd_get_info(k: "Kernel", cur: TaskStruct, pidfd: int, mask: int, size: int) -> bytes:
    """ioctl(pidfd, PIDFD_GET_INFO(size)): the bytes the kernel copies out."""
    buf = struct.pack("<Q", mask).ljust(max(size, 8), b"\0")[:size] if size else b""
    return sys_ioctl(k, cur, pidfd, PIDFD_GET_INFO(size), buf)


# The ioctls pidfs_ioctl_valid knows (6.13.3): the namespace ones and FS_IOC_GETVERSION.
PIDFD_NS_IOCTLS = frozenset(range(PIDFD_GET_CGROUP_NAMESPACE, PIDFD_GET_UTS_NAMESPACE + 1))
# The VFS handles these itself (fs/ioctl.c do_vfs_ioctl) for any file: not modelled.
VFS_IOCTLS = frozenset({0x5451, 0x5450, 0x5421, 0x5452, 0x5460, 0x2, 0xC020660B, 0x40049409,
                        0x4020940D, 0x4018940B, 0x80111500, 0x80811501, 0x5460})


def sys_ioctl(k: "Kernel", cur: TaskStruct, fd: int, cmd: int, arg: int | bytes) -> int | bytes:
    """ioctl(2) with an integer argument (0 is NULL) or a buffer, copied in and out
    (like fcntl.ioctl: the buffer comes back as the kernel left it)."""
    f = cur.files.get(fd) if fd >= 0 else None
    if f is None or f.kind == "path":           # fdget(): O_PATH files have no ioctls
        raise oserror(errno.EBADF)
    if cmd in VFS_IOCTLS:
        raise Unsupported(f"the VFS's own ioctl {cmd:#x} is not modelled")
    if f.kind == "pidfd":
        return pidfd_ioctl(k, cur, f, cmd, arg)
    if f.kind in ("socket", "nsfs"):
        raise Unsupported(f"ioctls of a {f.kind} file are not modelled")
    raise oserror(errno.ENOTTY)                 # procfs files and /dev/null have none


def _pidfs_ioctl_valid(k: "Kernel", cmd: int) -> bool:
    """Linux: fs/pidfs.c pidfs_ioctl_valid (6.13.3, 6.14)."""
    if cmd == FS_IOC_GETVERSION or cmd in PIDFD_NS_IOCTLS:
        return True
    if _IOC_NR(cmd) == _IOC_NR(PIDFD_GET_INFO(0)) and k.has("pidfd-info"):
        if k.has("pidfd-info-ioctl-size"):
            # extensible_ioctl_valid: direction, type and number, and at least VER0's size.
            return _IOC_DIR(cmd) == 3 and _IOC_TYPE(cmd) == PIDFS_IOCTL_MAGIC and \
                _IOC_SIZE(cmd) >= PIDFD_INFO_SIZE_VER0
        return _IOC_TYPE(cmd) == PIDFS_IOCTL_MAGIC
    return False


def pidfd_ioctl(k: "Kernel", cur: TaskStruct, f: File, cmd: int, arg: int | bytes) -> int | bytes:
    """Linux: fs/pidfs.c pidfd_ioctl, in the order of each version (6.11 ... 6.18)."""
    if not k.has("pidfs-ns-ioctls"):
        raise oserror(errno.ENOTTY, "a pidfd has no ioctls before 6.11")
    pid = f.obj.pid
    is_info = _IOC_NR(cmd) == _IOC_NR(PIDFD_GET_INFO(0)) and k.has("pidfd-info")
    if not k.has("pidfs-ioctl-valid"):
        if k.has("pidfd-info"):
            # 6.13.0-6.13.2: the task first, for every command; any number 11 is GET_INFO.
            if pid.task is None:
                raise oserror(errno.ESRCH)
            if is_info:
                return _pidfd_info(k, cur, f, cmd, arg)
        if arg:
            raise oserror(errno.EINVAL, "pidfd ioctls take no argument")
        if pid.task is None:
            raise oserror(errno.ESRCH)
    else:
        if not _pidfs_ioctl_valid(k, cmd):
            raise oserror(errno.ENOTTY)
        if cmd == FS_IOC_GETVERSION and k.has("pidfs-getversion"):
            if not arg:
                raise oserror(errno.EINVAL, "FS_IOC_GETVERSION needs a buffer")
            return _copy_to_user(arg, struct.pack("<I", k.pidfs.generation(f.obj)))
        if is_info and k.has("pidfd-info-exit"):
            return _pidfd_info(k, cur, f, cmd, arg)     # 6.15: before the task lookup
        if pid.task is None:
            raise oserror(errno.ESRCH)
        if is_info:
            return _pidfd_info(k, cur, f, cmd, arg)
        if arg:
            raise oserror(errno.EINVAL, "pidfd ioctls take no argument")
    task = pid.task
    if task.exit_state:
        raise oserror(errno.ESRCH, "exit_task_namespaces: no nsproxy")    # pretend it's gone
    if not ptrace_may_access(cur, task, PTRACE_MODE_READ | PTRACE_MODE_FSCREDS) or \
            security.deny(k, "ptrace_access_check"):
        raise oserror(errno.EACCES)
    if cmd == PIDFD_GET_PID_NAMESPACE:
        ns = task.pid.ns
    elif cmd == PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE:
        ns = task.nsproxy_pid
    elif cmd in PIDFD_NS_IOCTLS:
        raise Unsupported("only pid namespaces are modelled (PIDFD_GET_PID_NAMESPACE and "
                          "PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE)")
    else:
        raise oserror(errno.ENOTTY)             # -ENOIOCTLCMD
    return own_files(cur).new_fd(File("nsfs", O_RDONLY | O_LARGEFILE, ns), True)


def _copy_to_user(arg: int | bytes, data: bytes) -> bytes:
    if not isinstance(arg, bytes) or len(arg) < len(data):
        raise Unsupported("the ioctl's buffer must be bytes of its size")
    return data + arg[len(data):]


def _pidfd_info(k: "Kernel", cur: TaskStruct, f: File, cmd: int, arg: int | bytes) -> bytes:
    """Linux: fs/pidfs.c pidfd_info, as each version fills struct pidfd_info."""
    usize = _IOC_SIZE(cmd)
    if not arg:
        raise oserror(errno.EINVAL)
    if usize < PIDFD_INFO_SIZE_VER0:
        raise oserror(errno.EINVAL, "first version, no smaller struct possible")
    if not isinstance(arg, bytes) or len(arg) < 8:
        raise Unsupported("PIDFD_GET_INFO's buffer must be bytes holding the mask")
    (mask,) = struct.unpack_from("<Q", arg)
    pid = f.obj.pid
    has = k.has
    if has("pidfd-info-exit") and not access_pidfd_pidns(cur, pid):
        raise oserror(errno.EREMOTE if has("pidfd-info-eremote") else errno.ESRCH,
                      "the process is outside the caller's pid namespace")
    out = dict(mask=0, cgroupid=0, pid=0, tgid=0, ppid=0, ruid=0, rgid=0, euid=0, egid=0,
               suid=0, sgid=0, fsuid=0, fsgid=0, exit_code=0, coredump_mask=0,
               coredump_signal=0, supported_mask=0)
    info = k.pidfs.info_of(f.obj)
    if has("pidfd-info-exit") and mask & PIDFD_INFO_EXIT and info is not None and info.exit_info:
        out["mask"] |= PIDFD_INFO_EXIT | PIDFD_INFO_CGROUPID
        out["cgroupid"] = info.cgroupid
        out["exit_code"] = info.exit_code
    if has("pidfd-info-coredump") and mask & PIDFD_INFO_COREDUMP:
        recorded = info.coredump_mask if info is not None else 0
        out["coredump_mask"] = recorded
        if not has("pidfd-info-coredump-fix"):
            out["mask"] |= PIDFD_INFO_COREDUMP          # 6.16-6.18: whenever asked for
        elif recorded:
            out["mask"] |= PIDFD_INFO_COREDUMP | PIDFD_INFO_COREDUMP_SIGNAL
            out["coredump_signal"] = info.coredump_signal
    task = pid.task
    if task is None:
        if not has("pidfd-info-exit") or not mask & PIDFD_INFO_EXIT:
            raise oserror(errno.ESRCH, "reaped: only exit information is left")
        return _copy_struct_to_user(k, out, arg, usize, mask)
    c = task.cred
    if has("pidfd-info-coredump") and mask & PIDFD_INFO_COREDUMP and not out["coredump_mask"] \
            and task.mm is not None:
        out["coredump_mask"] = {1: PIDFD_COREDUMP_USER, 2: PIDFD_COREDUMP_ROOT}.get(
            task.mm.dumpable, PIDFD_COREDUMP_SKIP)
        out["mask"] |= PIDFD_INFO_COREDUMP
    out.update(ruid=c.uid, rgid=c.gid, euid=c.euid, egid=c.egid, suid=c.suid, sgid=c.sgid,
               fsuid=c.fsuid, fsgid=c.fsgid)
    out["mask"] |= PIDFD_INFO_CREDS
    if not out["cgroupid"]:
        out["cgroupid"] = ROOT_CGROUP_ID
        out["mask"] |= PIDFD_INFO_CGROUPID
    ns = cur.pid.ns
    parent = task.real_parent
    out["ppid"] = pid_nr_ns(parent.signal.group_leader.pid, ns) if parent is not None else 0
    out["tgid"] = pid_nr_ns(task.signal.group_leader.pid, ns)
    out["pid"] = pid_nr_ns(pid, ns)
    out["mask"] |= PIDFD_INFO_PID
    if not out["pid"] or not out["tgid"]:
        raise oserror(errno.ESRCH)
    if out["ppid"] == 0 and out["pid"] != 1 and not has("pidfd-info-ppid"):
        raise oserror(errno.ESRCH, "the parent is outside the caller's pid namespace")
    return _copy_struct_to_user(k, out, arg, usize, mask)


def _copy_struct_to_user(k: "Kernel", fields: dict, arg: bytes, usize: int, mask: int) -> bytes:
    """copy_struct_to_user (6.15): the kernel's struct cut to the caller's size and a larger
    caller's tail zeroed; 6.13-6.14 copy_to_user(min): the tail is left as it was."""
    has = k.has
    if has("pidfd-info-supported-mask") and mask & PIDFD_INFO_SUPPORTED_MASK:
        fields["mask"] |= PIDFD_INFO_SUPPORTED_MASK
        fields["supported_mask"] = (PIDFD_INFO_PID | PIDFD_INFO_CREDS | PIDFD_INFO_CGROUPID |
                                    PIDFD_INFO_EXIT | PIDFD_INFO_COREDUMP |
                                    PIDFD_INFO_SUPPORTED_MASK | PIDFD_INFO_COREDUMP_SIGNAL)
    ksize = (PIDFD_INFO_SIZE_VER2 if has("pidfd-info-supported-mask") else
             PIDFD_INFO_SIZE_VER1 if has("pidfd-info-coredump") else PIDFD_INFO_SIZE_VER0)
    full = PidfdInfo.pack(fields)[:ksize]
    if usize <= ksize:
        return full[:usize]
    tail = b"\0" * (usize - ksize) if has("pidfs-copy-struct") else \
        arg[ksize:usize].ljust(usize - ksize, b"\0")
    return full + tail


def pidfd_poll(k: "Kernel", f: File) -> int:
    """Linux: pidfd_poll, as each version reports a process's (or thread's) exit."""
    pid = f.obj.pid
    task = pid.task
    if task is None:
        # Reaped: POLLHUP from "pidfd_poll: report POLLHUP when pid_task() == NULL" (6.9).
        return POLLIN | POLLRDNORM | (POLLHUP if k.has("pidfd-poll-hup") else 0)
    if not task.exit_state:
        return 0
    if k.has("pidfs-thread-leader"):
        # 6.15: a leader that exited early is not readable until its group is gone.
        return 0 if delay_group_leader(task) else POLLIN | POLLRDNORM
    # Before: a thread pidfd at its thread's exit; a process pidfd once the group is empty.
    if f.f_flags & PIDFD_THREAD or thread_group_empty(task):
        return POLLIN | POLLRDNORM
    return 0


def sys_poll(k: "Kernel", cur: TaskStruct, fds: list[int], events: int) -> dict[int, int]:
    out = {}
    for fd in fds:
        if fd < 0:
            out[fd] = 0
            continue
        f = cur.files.get(fd)
        if f is None:
            out[fd] = POLLNVAL
            continue
        if f.kind == "pidfd":
            mask = pidfd_poll(k, f)
        elif f.kind == "socket":
            mask = POLLOUT | POLLWRNORM
        else:
            mask = DEFAULT_POLLMASK
        out[fd] = mask & (events | POLLERR | POLLHUP)
    return out


def sys_fstat(k: "Kernel", cur: TaskStruct, fd: int) -> StatResult:
    f = cur.files.get(fd) if fd >= 0 else None
    if f is None:
        raise oserror(errno.EBADF)
    if f.kind == "path":                        # fstat takes O_PATH files (fdget_raw)
        if f.obj is None:
            return StatResult(0o120777, 0, 0, 1, 0, 0, 0, 1024)     # the link itself
        f = f.obj
    if f.kind == "pidfd":
        return pidfd_stat(k, f)
    if f.kind == "nsfs":
        return StatResult(0o100444, f.obj.inum, 4, 1, 0, 0, 0)
    uid, gid = inode_owner(f)
    if f.kind == "procdir":
        return StatResult(0o40555, 0, 0, 9, uid, gid, 0, 1024)
    if f.kind == "socket":
        return StatResult(0o140777, f.obj.ino, 8, 1, uid, gid, 0)
    if f.kind == "sysctl":                      # kernel/pid.c pid_table, kernel/sysctl.c
        return StatResult(0o100666 if f.obj == "ns_last_pid" else 0o100644, 0, 0, 1, 0, 0, 0, 1024)
    if f.kind == "procfile":                    # status, fdinfo/<n>: S_IRUGO
        return StatResult(0o100444, 0, 0, 1, uid, gid, 0, 1024)
    return StatResult(0o20666, 0, 0, 1, 0, 0, 0)


def pidfd_stat(k: "Kernel", f: File) -> StatResult:
    """A pidfd's inode as fstat shows it, by version: the shared anonymous inode (mode
    0600) before 6.9, a pidfs regular file (S_IFREG | 0700) in 6.9, mode 0700 without a
    file type from "fs/pidfs: make 'lsof' happy" (6.10)."""
    pidfs = k.pidfs
    if pidfs.scheme == "anon":
        return StatResult(0o600, ANON_INODE_INO, ANON_INODE_DEV, 1, 0, 0, 0)
    mode = 0o700 if k.has("pidfs-lsof") else 0o100700
    return StatResult(mode, pidfs.st_ino(f.obj), PIDFS_DEV, 1, 0, 0, 0)


def pidfd_dname(k: "Kernel", f: File) -> str:
    """readlink of /proc/<pid>/fd/<n> for a pidfd: anon_inode:[pidfd] but in 6.9, whose
    pidfs inodes named themselves pidfd:[INO] (until the lsof fix)."""
    if k.pidfs.scheme != "anon" and not k.has("pidfs-lsof"):
        return f"pidfd:[{k.pidfs.st_ino(f.obj)}]"
    return "anon_inode:[pidfd]"


def sys_fstatfs(k: "Kernel", cur: TaskStruct, fd: int) -> StatfsResult:
    """fstatfs(2) (fdget_raw: O_PATH files too): the filesystem's magic number."""
    f = cur.files.get(fd) if fd >= 0 else None
    if f is None:
        raise oserror(errno.EBADF)
    if f.kind == "path":
        f = f.obj
        if f is None:
            return StatfsResult(PROC_SUPER_MAGIC)   # an O_PATH|O_NOFOLLOW /proc link
    if f.kind == "pidfd":
        return StatfsResult(ANON_INODE_FS_MAGIC if k.pidfs.scheme == "anon" else PID_FS_MAGIC)
    if f.kind == "nsfs":
        return StatfsResult(NSFS_MAGIC)
    if f.kind == "socket":
        return StatfsResult(SOCKFS_MAGIC)
    if f.kind in ("procdir", "procfile", "sysctl"):
        return StatfsResult(PROC_SUPER_MAGIC)
    return StatfsResult(TMPFS_MAGIC)                # /dev/null on devtmpfs


# ---------------------------------------------------------------- file handles

FILEID_USER_FLAGS_MASK = 0xFFFF0000
FILEID_VALID_USER_FLAGS = 0x10000 | 0x20000     # FILEID_IS_CONNECTABLE | FILEID_IS_DIR

def sys_name_to_handle_at(k: "Kernel", cur: TaskStruct, dirfd: int, path: str, flags: int,
                          handle_bytes: int) -> FileHandle:
    # AT_HANDLE_FID (6.5), AT_HANDLE_MNT_ID_UNIQUE (6.12) and AT_HANDLE_CONNECTABLE (6.13)
    # are unknown flags, EINVAL, on the kernels before them.
    has = k.has
    allowed = AT_EMPTY_PATH | 0x400 | (AT_HANDLE_FID if has("at-handle-fid") else 0) | \
        (AT_HANDLE_MNT_ID_UNIQUE if has("at-handle-mnt-id-unique") else 0) | \
        (AT_HANDLE_CONNECTABLE if has("fhandle-connectable") else 0)
    if flags & ~allowed:
        raise oserror(errno.EINVAL)
    # fs/fhandle.c: a connectable handle needs a path with a known parent.
    if flags & AT_HANDLE_CONNECTABLE and flags & (AT_HANDLE_FID | AT_EMPTY_PATH):
        raise oserror(errno.EINVAL)
    if path:
        if dirfd == AT_FDCWD or path.startswith("/"):
            raise Unsupported("file handles of paths: only pidfds are modelled")
        f = cur.files.get(dirfd) if dirfd >= 0 else None
        if f is None:
            raise oserror(errno.EBADF)
        raise oserror(errno.ENOTDIR, "a relative path needs a directory")
    if not flags & AT_EMPTY_PATH:
        raise oserror(errno.ENOENT, "empty path without AT_EMPTY_PATH")
    if dirfd == AT_FDCWD:
        raise Unsupported("the current directory's file handle: only pidfds are modelled")
    f = cur.files.get(dirfd) if dirfd >= 0 else None
    if f is None:
        raise oserror(errno.EBADF)
    if f.kind == "path":
        f = f.obj                               # None: the /proc link itself
    if f is None or f.kind in ("procdir", "procfile", "sysctl", "socket"):
        # procfs and sockfs have no export_operations: only a file id can be made
        # (exportfs_can_encode_fh), and it is built from the host's inode number.
        if not flags & AT_HANDLE_FID:
            raise oserror(errno.EOPNOTSUPP, "procfs and sockfs files have no file handles")
        raise Unsupported("file ids of /proc files and sockets are not modelled")
    if f.kind != "pidfd":
        raise Unsupported("file handles of files other than pidfds are not modelled")
    if not k.has("pidfs-fhandle"):
        # exportfs_can_encode_fh: no export operations before 6.14 (anon_inodefs, pidfs).
        if not flags & AT_HANDLE_FID:
            raise oserror(errno.EOPNOTSUPP, "pidfds have no file handles before 6.14")
        raise Unsupported("file ids of pidfds before 6.14 are not modelled")
    if flags & AT_HANDLE_CONNECTABLE:
        raise oserror(errno.EINVAL, "pidfs handles cannot be connectable")
    if handle_bytes > MAX_HANDLE_SZ:
        raise oserror(errno.EINVAL)
    if handle_bytes < 8:
        raise oserror(errno.EOVERFLOW, "the handle needs 8 bytes")
    return FileHandle(FILEID_KERNFS, struct.pack("<Q", f.obj.pid.ino))


def _check_user_handle(k: "Kernel", handle: FileHandle, handle_bytes: int) -> None:
    """Linux: fs/fhandle.c handle_to_path (get_user_handle in 6.17): the handle's header."""
    if handle_bytes == 0 or handle_bytes > MAX_HANDLE_SZ:
        raise oserror(errno.EINVAL, "handle_bytes must be 1..128")
    # "fhandle-connectable" (6.13): a negative type or unknown user flags (bits 16..31
    # other than FILEID_IS_CONNECTABLE and FILEID_IS_DIR) are EINVAL; before, the
    # filesystem got them and decoded nothing.
    htype = handle.handle_type
    if k.has("fhandle-connectable") and \
            (htype < 0 or htype & FILEID_USER_FLAGS_MASK & ~FILEID_VALID_USER_FLAGS):
        raise oserror(errno.EINVAL, "bad handle type")


def _path_anchor(k: "Kernel", cur: TaskStruct, mount_fd: int) -> str:
    """Linux: fs/fhandle.c get_path_anchor (get_path_from_fd before 6.17): the filesystem
    the handle is decoded on, "pidfs", "nsfs" or "other"; EBADF for no descriptor."""
    if mount_fd == FD_PIDFS_ROOT and k.has("fd-pidfs-root"):
        return "pidfs"
    if mount_fd == FD_NSFS_ROOT and k.has("fd-nsfs-root"):
        return "nsfs"
    if mount_fd == AT_FDCWD:
        return "other"
    f = cur.files.get(mount_fd) if mount_fd >= 0 else None
    if f is None:
        raise oserror(errno.EBADF)
    return "pidfs" if f.kind == "pidfd" else "other"


def _may_decode(k: "Kernel", cur: TaskStruct, anchor: str, flags: int) -> None:
    """The permission to decode on `anchor` (6.11+): pidfs's own (pidfs_export_permission,
    6.14: only the open flags), else may_decode_fh's CAP_DAC_READ_SEARCH."""
    if anchor == "pidfs" and k.has("pidfs-fhandle"):
        if flags & ~(VALID_FILE_HANDLE_OPEN_FLAGS | O_LARGEFILE):
            raise oserror(errno.EINVAL, "flags not allowed for a pidfs handle")
    elif anchor != "nsfs" and not credmod.capable(cur.cred, CAP_DAC_READ_SEARCH):
        raise oserror(errno.EPERM, "decoding a file handle needs CAP_DAC_READ_SEARCH")


def sys_open_by_handle_at(k: "Kernel", cur: TaskStruct, mount_fd: int, handle: FileHandle,
                          flags: int, handle_bytes: int) -> int:
    """Linux: fs/fhandle.c do_handle_open -> handle_to_path, in each version's order (the
    order decides between EPERM, EINVAL and EBADF)."""
    has = k.has
    if not has("fhandle-relax-perms"):
        # 6.1-6.10: CAP_DAC_READ_SEARCH before anything, then the handle, then the fd.
        if not credmod.capable(cur.cred, CAP_DAC_READ_SEARCH):
            raise oserror(errno.EPERM, "open_by_handle_at needs CAP_DAC_READ_SEARCH")
        _check_user_handle(k, handle, handle_bytes)
        anchor = _path_anchor(k, cur, mount_fd)
    elif not has("fhandle-copy-first"):
        # 6.11-6.16: the mount fd, its filesystem's permission, then the handle.
        anchor = _path_anchor(k, cur, mount_fd)
        _may_decode(k, cur, anchor, flags)
        _check_user_handle(k, handle, handle_bytes)
    else:
        _check_user_handle(k, handle, handle_bytes)
        anchor = _path_anchor(k, cur, mount_fd)
        _may_decode(k, cur, anchor, flags)
    if anchor != "pidfs" or not has("pidfs-fhandle"):
        raise oserror(errno.ESTALE, "the handle does not decode on that mount")
    data = handle.handle[:handle_bytes]
    if handle.handle_type != FILEID_KERNFS or len(data) < 8:
        raise oserror(errno.ESTALE)
    (ino,) = struct.unpack_from("<Q", data)
    pid = k.pidfs.by_ino.get(ino)
    if pid is None or pid_nr_ns(pid, cur.pid.ns) == 0:
        raise oserror(errno.ESTALE)
    # pidfs_export_open: O_RDWR always, O_LARGEFILE dropped; do_dentry_open drops
    # O_EXCL (so never PIDFD_THREAD), O_CREAT, O_NOCTTY and O_TRUNC but keeps O_CLOEXEC.
    # 6.15-6.16 pidfs_export_open: pidfs_pid_valid sees the caller's flags, so O_EXCL
    # (PIDFD_THREAD) asks for the thread's task rather than a thread-group leader.
    files = cur.files
    fd = files.alloc_fd()
    f = k.pidfs.alloc_file(pid, flags & PIDFD_THREAD)
    f.f_flags = (flags & ~(O_LARGEFILE | O_EXCL | O_CREAT | O_NOCTTY | O_TRUNC)) | O_RDWR
    own_files(cur).install(fd, f, bool(flags & O_CLOEXEC))
    return fd


# ---------------------------------------------------------------- xattrs

def _xattr_file(cur: TaskStruct, fd: int) -> File:
    f = cur.files.get(fd) if fd >= 0 else None
    if f is None or f.kind == "path":           # fdget() skips O_PATH files
        raise oserror(errno.EBADF)
    return f


def _xattr_pid(k: "Kernel", cur: TaskStruct, fd: int, name: str, write: bool,
               f: File | None = None, value: bytes | None = None) -> Pid:
    """The struct pid whose pidfs inode holds the xattrs of pidfd `fd`.  Any other file
    fails as Linux fails it: procfs and nsfs have no xattr handler, sockfs none but
    system.sockprotoname, and /dev/null (the host's inode) has none set; so do pidfds
    before "pidfs: support xattrs on pidfds" (6.17)."""
    f = f or _xattr_file(cur, fd)
    if f.kind == "pidfd":
        if k.has("pidfs-xattr"):
            return f.obj.pid
        _old_pidfd_xattr(k, cur, name, write, value)
    if write and f.kind != "socket":
        raise Unsupported(f"xattrs of a {f.kind} file are not modelled (only read)")
    regular = f.kind in ("procdir", "nsfs", "sysctl", "procfile")     # S_ISREG or S_ISDIR
    if name.startswith("trusted."):
        # Linux: fs/xattr.c xattr_permission.
        if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM if write else errno.ENODATA)
    elif name.startswith("user."):
        if not regular:
            raise oserror(errno.EPERM if write else errno.ENODATA)
    else:
        raise Unsupported(f"{name}: security.* and system.* xattrs are not modelled")
    # No handler for the prefix (xattr_resolve_name), or none set on the host's /dev/null.
    raise oserror(errno.ENODATA if f.kind == "null" else errno.EOPNOTSUPP)


def _old_pidfd_xattr(k: "Kernel", cur: TaskStruct, name: str, write: bool,
                     value: bytes | None) -> None:
    """A pidfd's inode without xattr handlers (6.1-6.16): xattr_permission, then
    xattr_resolve_name's EOPNOTSUPP.  6.9-6.16 pidfs inodes are S_IMMUTABLE regular files
    (prepare_anon_dentry): every write is EPERM; the anonymous inode of 6.1-6.8 has
    no file type, so user.* is refused as for a special file.  From 6.2
    (xattr-posix-acl-api) a POSIX ACL is parsed by do_set_acl before anything else;
    6.1 passes it to the (missing) handlers as it is."""
    pidfs_inode = k.pidfs.scheme != "anon"
    if write and name in POSIX_ACL_XATTRS and value and k.has("xattr-posix-acl-api"):
        _posix_acl_from_xattr(value)                # do_set_acl parses before vfs_set_acl
    if write and pidfs_inode:
        raise oserror(errno.EPERM, "pidfs inodes are immutable before 6.17")
    if name.startswith(("security.", "system.")):
        if name in POSIX_ACL_XATTRS or name.startswith("system."):
            raise oserror(errno.EOPNOTSUPP)
        raise Unsupported(f"{name}: security.* xattrs are an LSM's, not modelled")
    if name.startswith("trusted."):
        if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM if write else errno.ENODATA)
    elif name.startswith("user."):
        if not pidfs_inode:
            raise oserror(errno.EPERM if write else errno.ENODATA)
        # inode_permission(MAY_READ) on a 0700 inode of root's.
        c = cur.cred
        if c.fsuid != 0 and not credmod.capable(c, CAP_DAC_OVERRIDE) and \
                not credmod.capable(c, CAP_DAC_READ_SEARCH):
            raise oserror(errno.EACCES)
    raise oserror(errno.EOPNOTSUPP, "no xattr handler on this pidfd's inode")


def _check_name(name: str) -> None:
    """setxattr_copy/getxattr's strncpy_from_user: an empty or too long name is ERANGE."""
    if not name or len(name.encode()) > XATTR_NAME_MAX:
        raise oserror(errno.ERANGE, "xattr names are 1..255 bytes")


def _xattr_permission(cur: TaskStruct, name: str, write: bool) -> None:
    """Linux: fs/xattr.c xattr_permission on a pidfs inode (0700, owned by root)."""
    if name.startswith(("security.", "system.")):
        return
    if name.startswith("trusted."):
        if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM if write else errno.ENODATA)
        return
    # inode_permission: only the owner (root) or CAP_DAC_OVERRIDE gets in.
    c = cur.cred
    if c.fsuid != 0 and not credmod.capable(c, CAP_DAC_OVERRIDE) and \
            not (not write and credmod.capable(c, CAP_DAC_READ_SEARCH)):
        raise oserror(errno.EACCES)


def _resolve(name: str) -> None:
    """xattr_resolve_name: pidfs has one handler, for trusted.*."""
    if not name.startswith("trusted."):
        raise oserror(errno.EOPNOTSUPP, "pidfs supports trusted.* xattrs only")
    if name == "trusted.":
        raise oserror(errno.EINVAL, "empty xattr name after the prefix")


POSIX_ACL_XATTRS = ("system.posix_acl_access", "system.posix_acl_default")
ACL_TAGS = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20)    # USER_OBJ USER GROUP_OBJ GROUP MASK OTHER


def _posix_acl_from_xattr(value: bytes) -> None:
    """Parse an ACL the way posix_acl_from_xattr does, for its errnos only."""
    if len(value) < 4:
        raise oserror(errno.EINVAL, "shorter than an ACL header")
    if int.from_bytes(value[:4], "little") != 2:            # POSIX_ACL_XATTR_VERSION
        raise oserror(errno.EOPNOTSUPP, "unknown ACL version")
    if (len(value) - 4) % 8:
        raise oserror(errno.EINVAL, "not a whole number of ACL entries")
    for off in range(4, len(value), 8):
        tag = int.from_bytes(value[off:off + 2], "little")
        if tag not in ACL_TAGS:
            raise oserror(errno.EINVAL, f"ACL tag {tag:#x}")
        if tag in (0x02, 0x08) and int.from_bytes(value[off + 4:off + 8], "little") == credmod.INVALID_UID:
            raise oserror(errno.EINVAL, "ACL entry with an invalid id")


def _xattrs_for_change(pid: Pid) -> dict[str, bytes]:
    """pidfs_xattr_set allocates the set before simple_xattr_set can fail."""
    attr = pid.attr
    if attr.xattrs is None:
        attr.xattrs = {}
    return attr.xattrs


def sys_fsetxattr(k: "Kernel", cur: TaskStruct, fd: int, name: str, value: bytes,
                  flags: int) -> None:
    # fs/xattr.c path_setxattrat: setxattr_copy checks flags, name and size before
    # the descriptor is looked up.
    # Before 6.13 ("fs/xattr: add *at family syscalls") fdget comes first.
    f = None if k.has("xattr-at") else _xattr_file(cur, fd)
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise oserror(errno.EINVAL)
    _check_name(name)
    if len(value) > XATTR_SIZE_MAX:
        raise oserror(errno.E2BIG, "xattr values are at most 65536 bytes")
    pid = _xattr_pid(k, cur, fd, name, True, f, value)
    if name in POSIX_ACL_XATTRS:
        # fs/xattr.c do_setxattr -> do_set_acl: the value is parsed before
        # set_posix_acl finds that pidfs has no ACLs (no SB_POSIXACL).
        if value:
            _posix_acl_from_xattr(value)
        raise oserror(errno.EOPNOTSUPP, "pidfs has no POSIX ACLs")
    _xattr_permission(cur, name, True)
    _resolve(name)
    xattrs = _xattrs_for_change(pid)
    if flags & XATTR_CREATE and name in xattrs:
        raise oserror(errno.EEXIST)
    if flags & XATTR_REPLACE and name not in xattrs:
        raise oserror(errno.ENODATA)
    xattrs[name] = bytes(value)


def sys_fgetxattr(k: "Kernel", cur: TaskStruct, fd: int, name: str) -> bytes:
    f = None if k.has("xattr-at") else _xattr_file(cur, fd)    # fdget first before 6.13
    _check_name(name)                   # path_getxattrat: the name first
    pid = _xattr_pid(k, cur, fd, name, False, f)
    _xattr_permission(cur, name, False)
    _resolve(name)
    xattrs = pid.attr.xattrs
    if xattrs is None:
        return b""                  # 6.18 quirk: nothing was ever set, so "empty" succeeds
    if name not in xattrs:
        raise oserror(errno.ENODATA)
    return xattrs[name]


def sys_flistxattr(k: "Kernel", cur: TaskStruct, fd: int) -> list[str]:
    f = _xattr_file(cur, fd)
    if f.kind != "pidfd":
        return ["system.sockprotoname"] if f.kind == "socket" else []
    if not k.has("pidfs-xattr"):
        return []                   # no listxattr: security_inode_listsecurity, nothing
    if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
        return []                   # simple_xattr_list hides trusted.* from the unprivileged
    return sorted(f.obj.pid.attr.xattrs or {}, reverse=True)


def sys_fremovexattr(k: "Kernel", cur: TaskStruct, fd: int, name: str) -> None:
    f = None if k.has("xattr-at") else _xattr_file(cur, fd)    # fdget first before 6.13
    _check_name(name)                   # path_removexattrat: the name first
    pid = _xattr_pid(k, cur, fd, name, True, f)
    _xattr_permission(cur, name, True)
    _resolve(name)
    xattrs = _xattrs_for_change(pid)    # removal goes through pidfs_xattr_set too
    if name not in xattrs:
        raise oserror(errno.ENODATA)
    del xattrs[name]


# ---------------------------------------------------------------- AF_UNIX

class UnixSocket:
    """One end of a connected AF_UNIX stream socket: what SO_PEERPIDFD needs."""

    __slots__ = ("peer_pid",)

    def __init__(self, peer_pid: Pid) -> None:
        self.peer_pid = peer_pid

    @property
    def ino(self) -> int:
        """The sockfs inode number (any number unique among live sockets)."""
        return id(self) & 0xFFFFFFF


def sys_socketpair(k: "Kernel", cur: TaskStruct) -> tuple[int, int]:
    """socketpair(AF_UNIX, SOCK_STREAM): both ends name the creator as the peer.

    Linux registers the creator's pid with pidfs at once (prepare_peercred), so
    a peer pidfd can be handed out even after the creator was reaped.
    """
    peer = cur.signal.group_leader.pid
    k.pidfs.register_pid(peer)
    files = own_files(cur)
    owner = (cur.cred.fsuid, cur.cred.fsgid)           # sock_alloc
    a = File("socket", O_RDWR, UnixSocket(peer), None, owner)
    b = File("socket", O_RDWR, UnixSocket(peer), None, owner)
    fa = files.new_fd(a, False)
    fb = files.new_fd(b, False)
    return fa, fb


# The SOL_SOCKET options sk_getsockopt knows ([live] probed on this kernel with an AF_UNIX
# stream socket: every other optname is ENOPROTOOPT).
SOL_SOCKET_OPTIONS = frozenset(range(1, 84)) - {22, 23, 24, 27, 31, 32, 33, 50, 51, 52, 53, 54,
                                                58, 68, 70, 78, 79, 80, 81}


def sys_getsockopt(k: "Kernel", cur: TaskStruct, fd: int, level: int, optname: int) -> int:
    f = cur.files.get(fd) if fd >= 0 else None
    if f is None:
        raise oserror(errno.EBADF)
    if f.kind != "socket":
        raise oserror(errno.ENOTSOCK)
    if level != SOL_SOCKET:
        raise oserror(errno.EOPNOTSUPP, "an AF_UNIX socket has SOL_SOCKET options only")
    if optname not in SOL_SOCKET_OPTIONS or (optname == SO_PEERPIDFD and
                                             not k.has("so-peerpidfd")):
        raise oserror(errno.ENOPROTOOPT)
    if optname != SO_PEERPIDFD:
        raise Unsupported("only getsockopt(SOL_SOCKET, SO_PEERPIDFD) is modelled")
    peer = f.obj.peer_pid
    if not k.has("peerpidfd-reaped"):
        # 6.5-6.15: pidfd_prepare(peer, 0): a reaped peer has no leader task: EINVAL.
        if peer.tgid_task is None:
            raise oserror(errno.EINVAL, "the peer has been reaped")
        return install_pidfd(k, cur, peer, 0)
    if peer.attr is PIDFS_PID_DEAD:
        raise oserror(errno.ESRCH)
    return install_pidfd(k, cur, peer, 0, stale=True)       # PIDFD_STALE
