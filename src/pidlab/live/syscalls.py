"""Raw Linux system calls through ctypes (x86_64), for what Python 3.11 lacks.

Every wrapper returns the kernel's result or raises OSError with the real
errno.  Nothing here adds glibc behaviour on top: credentials change for
the calling thread only (no setxid broadcast), file descriptors are created
with exactly the flags asked for (Python's os module would add O_CLOEXEC),
signal dispositions are set with rt_sigaction itself.
"""

from __future__ import annotations

import ctypes
import os
import struct

_libc = ctypes.CDLL(None, use_errno=True)      # drops the GIL around calls
_plibc = ctypes.PyDLL(None, use_errno=True)    # keeps it (for clone3 without CLONE_VM)
for _lib in (_libc, _plibc):
    _lib.syscall.restype = ctypes.c_long

# x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl)
NR = dict(
    read=0, write=1, close=3, fstat=5, poll=7, rt_sigaction=13, ioctl=16, dup=32, getpid=39,
    socketpair=53, getsockopt=55, execve=59, exit=60, wait4=61, kill=62, fcntl=72, getuid=102,
    getgid=104, setuid=105, setgid=106, geteuid=107, getegid=108, setpgid=109,
    getppid=110, setsid=112, setreuid=113, setresuid=117, getresuid=118, setresgid=119,
    getresgid=120, getpgid=121, getsid=124, capget=125, capset=126, prctl=157,
    mount=165, fsetxattr=190, fgetxattr=193, flistxattr=196, fremovexattr=199,
    gettid=186, exit_group=231, tgkill=234, waitid=247, openat=257, readlinkat=267,
    unshare=272, prlimit64=302, name_to_handle_at=303, open_by_handle_at=304, setns=308,
    fstatfs=138, pidfd_send_signal=424, pidfd_open=434, clone3=435, openat2=437, pidfd_getfd=438,
)

AT_FDCWD = -100


def _arg(a: object) -> object:
    if a is None:
        return ctypes.c_void_p(0)
    if isinstance(a, int):
        return ctypes.c_long(a)
    return a


def syscall(name: str, *args: object, gil: bool = False) -> int:
    """The raw system call; OSError(errno) on failure."""
    fn = _plibc.syscall if gil else _libc.syscall
    ctypes.set_errno(0)
    r = fn(ctypes.c_long(NR[name]), *(_arg(a) for a in args))
    if r == -1:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


# ---------------------------------------------------------------- clone3

class CloneArgs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack", "stack_size",
        "tls", "set_tid", "set_tid_size", "cgroup")]


CLONE_CHILD_SETTID = 0x01000000
CLONE_PIDFD = 0x1000


def clone3(flags: int, exit_signal: int, set_tid: tuple[int, ...], tid_addr: int = 0
           ) -> tuple[int, int | None]:
    """clone3 without CLONE_VM: returns (pid, pidfd) in the parent, (0, None) in the child.

    The call keeps the GIL, like os.fork, and the caller must run Python's
    fork hooks around it.  `tid_addr`, if known, is glibc's cached TID of the
    calling thread, which CLONE_CHILD_SETTID corrects in the child.
    """
    args = CloneArgs()
    pidfd = ctypes.c_int(-1)
    args.flags = flags | (CLONE_CHILD_SETTID if tid_addr else 0)
    args.exit_signal = exit_signal
    if tid_addr:
        args.child_tid = tid_addr
    if flags & CLONE_PIDFD:
        args.pidfd = ctypes.addressof(pidfd)
    arr = (ctypes.c_int * max(1, len(set_tid)))(*set_tid)
    if set_tid:
        args.set_tid = ctypes.addressof(arr)
        args.set_tid_size = len(set_tid)
    pid = syscall("clone3", ctypes.byref(args), ctypes.sizeof(args), gil=True)
    if pid == 0:
        return 0, None
    return pid, (pidfd.value if flags & CLONE_PIDFD else None)


def glibc_tid_address() -> int:
    """Address of glibc's cached TID in this thread's descriptor, or 0 if unsure.

    glibc keeps the TID in struct pthread (pthread_self()); a raw clone3 does
    not update it, so the child would believe it still has its parent's TID.
    The offset is found by looking for our own TID, which must occur once.
    """
    _libc.pthread_self.restype = ctypes.c_void_p
    base = _libc.pthread_self()
    tid = syscall("gettid")
    if not base or tid < 1000:
        return 0
    words = (ctypes.c_int32 * 512).from_address(base)
    hits = [i for i, v in enumerate(words) if v == tid]
    return base + 4 * hits[0] if len(hits) == 1 else 0


# ---------------------------------------------------------------- signals

SA_RESTORER = 0x04000000
SA_RESTART = 0x10000000


class KSigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_void_p), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_void_p), ("mask", ctypes.c_uint64)]


def rt_sigaction(sig: int, handler: int | None, flags: int = 0, restorer: int = 0) -> KSigaction:
    """Set (unless handler is None) and return the previous kernel sigaction."""
    old = KSigaction()
    if handler is None:
        syscall("rt_sigaction", sig, None, ctypes.byref(old), 8)
    else:
        new = KSigaction(handler, flags, restorer, 0)
        syscall("rt_sigaction", sig, ctypes.byref(new), ctypes.byref(old), 8)
    return old


def noop_handler_address() -> int:
    """A harmless, async-signal-safe function to stand for a user handler (getpid)."""
    return ctypes.cast(_libc.getpid, ctypes.c_void_p).value or 0


# ---------------------------------------------------------------- wait

class Siginfo(ctypes.Structure):
    _fields_ = [("si_signo", ctypes.c_int), ("si_errno", ctypes.c_int), ("si_code", ctypes.c_int),
                ("_pad0", ctypes.c_int), ("si_pid", ctypes.c_int), ("si_uid", ctypes.c_uint),
                ("si_status", ctypes.c_int), ("_rest", ctypes.c_byte * 100)]


def wait4(pid: int, options: int) -> tuple[int, int]:
    status = ctypes.c_int(0)
    r = syscall("wait4", pid, ctypes.byref(status), ctypes.c_int(options & 0xFFFFFFFF).value, None)
    return r, status.value if r > 0 else 0


def waitid(idtype: int, id_: int, options: int) -> tuple[int, int, int, int, int]:
    """(si_pid, si_uid, si_signo, si_status, si_code); si_pid 0 when nothing was ready."""
    info = Siginfo()
    syscall("waitid", idtype, id_, ctypes.byref(info), ctypes.c_int(options & 0xFFFFFFFF).value, None)
    return info.si_pid, info.si_uid, info.si_signo, info.si_status, info.si_code


# ---------------------------------------------------------------- capabilities

_CAP_V3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def capget() -> tuple[int, int, int]:
    hdr = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    syscall("capget", ctypes.byref(hdr), data)
    join = lambda f: getattr(data[0], f) | getattr(data[1], f) << 32  # noqa: E731
    return join("effective"), join("permitted"), join("inheritable")


def capset(effective: int, permitted: int, inheritable: int) -> None:
    hdr = _CapHeader(_CAP_V3, 0)
    data = (_CapData * 2)()
    for i, shift in ((0, 0), (1, 32)):
        data[i].effective = effective >> shift & 0xFFFFFFFF
        data[i].permitted = permitted >> shift & 0xFFFFFFFF
        data[i].inheritable = inheritable >> shift & 0xFFFFFFFF
    syscall("capset", ctypes.byref(hdr), data)


# ---------------------------------------------------------------- files and namespaces

def openat(path: str, flags: int, dirfd: int = AT_FDCWD, mode: int = 0) -> int:
    return syscall("openat", dirfd, ctypes.c_char_p(os.fsencode(path)), flags, mode)


class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_BENEATH = 0x08


def openat2(dirfd: int, path: str, flags: int, resolve: int) -> int:
    how = OpenHow(flags, 0, resolve)
    return syscall("openat2", dirfd, ctypes.c_char_p(os.fsencode(path)), ctypes.byref(how),
                   ctypes.sizeof(how))


def unshare(flags: int) -> None:
    syscall("unshare", flags)


def setns(fd: int, nstype: int) -> None:
    syscall("setns", fd, nstype)


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0) -> None:
    enc = lambda s: ctypes.c_char_p(os.fsencode(s)) if s is not None else None  # noqa: E731
    syscall("mount", enc(source), enc(target), enc(fstype), flags, None)


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return syscall("prctl", option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3),
                   ctypes.c_ulong(arg4), ctypes.c_ulong(arg5))


def prctl_get_int(option: int) -> int:
    """prctl options that store an int through their pointer argument."""
    out = ctypes.c_int(0)
    syscall("prctl", option, ctypes.byref(out), 0, 0, 0)
    return out.value


def set_name(name: bytes) -> None:
    """PR_SET_NAME: the kernel reads `name` as a C string and keeps 15 bytes of it."""
    syscall("prctl", 15, ctypes.c_char_p(name), 0, 0, 0)      # PR_SET_NAME


def get_name() -> bytes:
    """PR_GET_NAME: the calling thread's comm (the kernel writes 16 bytes, NUL-padded)."""
    buf = ctypes.create_string_buffer(16)
    syscall("prctl", 16, buf, 0, 0, 0)                       # PR_GET_NAME
    return buf.raw.split(b"\0", 1)[0]


def execve_fails(filename: bytes) -> None:
    """execve(2) of a path getname refuses: it raises the kernel's errno and runs nothing."""
    argv = (ctypes.c_char_p * 2)(b"pidlab", None)
    envp = (ctypes.c_char_p * 1)(None)
    syscall("execve", ctypes.c_char_p(filename), argv, envp)


def getrlimit_nofile() -> tuple[int, int]:
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def setrlimit_nofile(soft: int, hard: int) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# ---------------------------------------------------------------- pidfd and pidfs

def pidfd_open(pid: int, flags: int) -> int:
    return syscall("pidfd_open", pid, flags)


def pidfd_send_signal(pidfd: int, sig: int, flags: int) -> None:
    syscall("pidfd_send_signal", pidfd, sig, None, flags)


def pidfd_getfd(pidfd: int, fd: int, flags: int) -> int:
    return syscall("pidfd_getfd", pidfd, fd, flags)


def ioctl_buf(fd: int, request: int, buf: bytearray | None) -> int:
    """ioctl with a user buffer (or NULL); the buffer is filled in place."""
    if buf is None:
        return syscall("ioctl", fd, request, None)
    cbuf = (ctypes.c_char * len(buf)).from_buffer(buf)
    return syscall("ioctl", fd, request, cbuf)


def ioctl(fd: int, request: int, arg: int | bytes) -> int | bytes:
    """ioctl as fcntl.ioctl has it: an int argument returns the result, a buffer comes
    back as the kernel left it (the kernel's ioctl number is an unsigned int)."""
    if isinstance(arg, bytes):
        buf = bytearray(arg)
        cbuf = (ctypes.c_char * len(buf)).from_buffer(buf) if buf else None
        syscall("ioctl", fd, ctypes.c_uint(request), cbuf)
        return bytes(buf)
    return syscall("ioctl", fd, ctypes.c_uint(request), ctypes.c_ulong(arg))


def fstatfs(fd: int) -> tuple[int, int, int]:
    """(f_type, f_bsize, f_namelen) of struct statfs (x86_64: 120 bytes)."""
    buf = ctypes.create_string_buffer(120)
    syscall("fstatfs", fd, buf)
    f_type, f_bsize = struct.unpack_from("<qq", buf, 0)
    (f_namelen,) = struct.unpack_from("<q", buf, 64)
    return f_type & 0xFFFFFFFF, f_bsize, f_namelen


def name_to_handle_at(dirfd: int, path: str, flags: int, size: int = 128) -> tuple[int, bytes]:
    buf = ctypes.create_string_buffer(8 + max(size, 128))
    struct.pack_into("<Ii", buf, 0, size, 0)
    mnt = ctypes.c_int(0)
    syscall("name_to_handle_at", dirfd, ctypes.c_char_p(os.fsencode(path)), buf,
            ctypes.byref(mnt), flags)
    nbytes, htype = struct.unpack_from("<Ii", buf, 0)
    return htype & 0xFFFFFFFF, buf.raw[8:8 + nbytes]


def open_by_handle_at(mount_fd: int, handle_type: int, handle: bytes, flags: int,
                      handle_bytes: int | None = None) -> int:
    n = len(handle) if handle_bytes is None else handle_bytes
    buf = ctypes.create_string_buffer(8 + max(len(handle), 1))
    struct.pack_into("<Ii", buf, 0, n, ctypes.c_int32(handle_type & 0xFFFFFFFF).value)
    buf[8:8 + len(handle)] = handle
    return syscall("open_by_handle_at", mount_fd, buf, flags)


def fsetxattr(fd: int, name: str, value: bytes, flags: int) -> None:
    syscall("fsetxattr", fd, ctypes.c_char_p(name.encode()), ctypes.c_char_p(value),
            len(value), flags)


def fgetxattr(fd: int, name: str) -> bytes:
    size = syscall("fgetxattr", fd, ctypes.c_char_p(name.encode()), None, 0)
    buf = ctypes.create_string_buffer(max(size, 1))
    n = syscall("fgetxattr", fd, ctypes.c_char_p(name.encode()), buf, size)
    return buf.raw[:n]


def flistxattr(fd: int) -> list[str]:
    size = syscall("flistxattr", fd, None, 0)
    buf = ctypes.create_string_buffer(max(size, 1))
    n = syscall("flistxattr", fd, buf, size)
    return [s.decode() for s in buf.raw[:n].split(b"\0") if s]


def fremovexattr(fd: int, name: str) -> None:
    syscall("fremovexattr", fd, ctypes.c_char_p(name.encode()))


def socketpair_unix() -> tuple[int, int]:
    fds = (ctypes.c_int * 2)()
    syscall("socketpair", 1, 1, 0, fds)          # AF_UNIX, SOCK_STREAM, no CLOEXEC
    return fds[0], fds[1]


def getsockopt_int(fd: int, level: int, optname: int) -> int:
    val = ctypes.c_int(0)
    ln = ctypes.c_uint32(4)
    syscall("getsockopt", fd, level, optname, ctypes.byref(val), ctypes.byref(ln))
    return val.value


def poll(fds: list[int], events: int) -> dict[int, int]:
    class PollFd(ctypes.Structure):
        _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]
    arr = (PollFd * max(1, len(fds)))(*[PollFd(fd, events, 0) for fd in fds])
    syscall("poll", arr, len(fds), 0)
    return {arr[i].fd: arr[i].revents & 0xFFFF for i in range(len(fds))}


class _Rlimit(ctypes.Structure):
    _fields_ = [("cur", ctypes.c_uint64), ("max", ctypes.c_uint64)]


def prlimit(resource: int, new: tuple[int, int] | None) -> tuple[int, int]:
    """prlimit64(0, resource, new, old) on the calling process."""
    old = _Rlimit()
    lim = None if new is None else ctypes.byref(_Rlimit(*new))
    syscall("prlimit64", 0, ctypes.c_uint(resource), lim, ctypes.byref(old))
    return old.cur, old.max
