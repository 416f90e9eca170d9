"""Linux's names and values (x86_64, Linux 6.18), and nothing else.

Every constant the public API uses is defined here once, with the kernel's
name and value.  Internal flags of the model (PF_*, JOBCTL_*, SIGNAL_*) live
with the code that owns them, not here.
"""

import enum
import errno as _errno

# --- include/linux/threads.h, include/linux/pid.h, pid_namespace.h -----------
PID_MAX_DEFAULT = 0x8000
PID_MAX_LIMIT = 4 * 1024 * 1024          # 64-bit; 32-bit kernels use PID_MAX_DEFAULT
PID_MAX_LIMIT_32 = PID_MAX_DEFAULT
PIDS_PER_CPU_DEFAULT = 1024
PIDS_PER_CPU_MIN = 8
RESERVED_PIDS = 300
MAX_PID_NS_LEVEL = 32
PIDNS_ADDING = 1 << 31

PIDTYPE_PID = 0
PIDTYPE_TGID = 1
PIDTYPE_PGID = 2
PIDTYPE_SID = 3
PIDTYPE_MAX = 4

PROC_PID_INIT_INO = 0xEFFFFFFC          # inode of the initial pid namespace
PID_FS_MAGIC = 0x50494446

# --- include/uapi/linux/sched.h ---------------------------------------------
CSIGNAL = 0x000000FF
CLONE_VM = 0x00000100
CLONE_FS = 0x00000200
CLONE_FILES = 0x00000400
CLONE_SIGHAND = 0x00000800
CLONE_PIDFD = 0x00001000
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_NEWNS = 0x00020000
CLONE_SYSVSEM = 0x00040000
CLONE_SETTLS = 0x00080000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_DETACHED = 0x00400000
CLONE_UNTRACED = 0x00800000
CLONE_CHILD_SETTID = 0x01000000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
CLONE_CLEAR_SIGHAND = 0x100000000
CLONE_INTO_CGROUP = 0x200000000
CLONE_NEWTIME = 0x00000080
CLONE_LEGACY_FLAGS = 0xFFFFFFFF
CLONE_ARGS_SIZE_VER0 = 64
CLONE_ARGS_SIZE_VER1 = 80
CLONE_ARGS_SIZE_VER2 = 88

# --- signals (include/uapi/asm-generic/signal.h, x86 numbering) --------------
SIGHUP = 1
SIGINT = 2
SIGQUIT = 3
SIGILL = 4
SIGTRAP = 5
SIGABRT = 6
SIGIOT = 6
SIGBUS = 7
SIGFPE = 8
SIGKILL = 9
SIGUSR1 = 10
SIGSEGV = 11
SIGUSR2 = 12
SIGPIPE = 13
SIGALRM = 14
SIGTERM = 15
SIGSTKFLT = 16
SIGCHLD = 17
SIGCONT = 18
SIGSTOP = 19
SIGTSTP = 20
SIGTTIN = 21
SIGTTOU = 22
SIGURG = 23
SIGXCPU = 24
SIGXFSZ = 25
SIGVTALRM = 26
SIGPROF = 27
SIGWINCH = 28
SIGIO = 29
SIGPOLL = 29
SIGPWR = 30
SIGSYS = 31
SIGRTMIN = 32      # the kernel's; glibc reserves 32 and 33 and reports 34
SIGRTMAX = 64
NSIG = 64          # the kernel's _NSIG: valid signals are 1..64


class Handler(enum.IntEnum):
    """A signal disposition as sigaction(2) sees it."""

    SIG_DFL = 0
    SIG_IGN = 1
    SIG_CATCH = 2   # a user handler (its address does not matter to the model)


SIG_DFL = Handler.SIG_DFL
SIG_IGN = Handler.SIG_IGN
SIG_CATCH = Handler.SIG_CATCH

SI_USER = 0
SI_KERNEL = 0x80
SI_QUEUE = -1
SI_TKILL = -6

CLD_EXITED = 1
CLD_KILLED = 2
CLD_DUMPED = 3
CLD_TRAPPED = 4
CLD_STOPPED = 5
CLD_CONTINUED = 6

# --- wait (include/uapi/linux/wait.h) ----------------------------------------
WNOHANG = 0x00000001
WUNTRACED = 0x00000002
WSTOPPED = WUNTRACED
WEXITED = 0x00000004
WCONTINUED = 0x00000008
WNOWAIT = 0x01000000
WNOTHREAD = 0x20000000      # __WNOTHREAD
WALL = 0x40000000           # __WALL
WCLONE = 0x80000000         # __WCLONE

P_ALL = 0
P_PID = 1
P_PGID = 2
P_PIDFD = 3

# --- prctl (include/uapi/linux/prctl.h) ---------------------------------------
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_GET_KEEPCAPS = 7
PR_SET_KEEPCAPS = 8
PR_SET_NAME = 15
PR_GET_NAME = 16
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

TASK_COMM_LEN = 16          # include/linux/sched.h: task->comm, its NUL included

SUID_DUMP_DISABLE = 0
SUID_DUMP_USER = 1
SUID_DUMP_ROOT = 2

# --- resource limits (include/uapi/asm-generic/resource.h) -----------------------
RLIMIT_CORE = 4
RLIMIT_NOFILE = 7
RLIM_NLIMITS = 16
RLIM_INFINITY = 2**64 - 1

# --- capabilities (include/uapi/linux/capability.h) ---------------------------
CAP_CHOWN = 0
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
CAP_FOWNER = 3
CAP_FSETID = 4
CAP_KILL = 5
CAP_SETGID = 6
CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_LINUX_IMMUTABLE = 9
CAP_NET_BIND_SERVICE = 10
CAP_NET_BROADCAST = 11
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
CAP_IPC_LOCK = 14
CAP_IPC_OWNER = 15
CAP_SYS_MODULE = 16
CAP_SYS_RAWIO = 17
CAP_SYS_CHROOT = 18
CAP_SYS_PTRACE = 19
CAP_SYS_PACCT = 20
CAP_SYS_ADMIN = 21
CAP_SYS_BOOT = 22
CAP_SYS_NICE = 23
CAP_SYS_RESOURCE = 24
CAP_SYS_TIME = 25
CAP_SYS_TTY_CONFIG = 26
CAP_MKNOD = 27
CAP_LEASE = 28
CAP_AUDIT_WRITE = 29
CAP_AUDIT_CONTROL = 30
CAP_SETFCAP = 31
CAP_MAC_OVERRIDE = 32
CAP_MAC_ADMIN = 33
CAP_SYSLOG = 34
CAP_WAKE_ALARM = 35
CAP_BLOCK_SUSPEND = 36
CAP_AUDIT_READ = 37
CAP_PERFMON = 38
CAP_BPF = 39
CAP_CHECKPOINT_RESTORE = 40
CAP_LAST_CAP = 40
CAP_FULL_SET = (1 << (CAP_LAST_CAP + 1)) - 1

_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# --- fcntl / open (include/uapi/asm-generic/fcntl.h, x86) ---------------------
O_RDONLY = 0o0
O_WRONLY = 0o1
O_RDWR = 0o2
O_ACCMODE = 0o3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_ASYNC = 0o20000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_SYNC = 0o4010000
O_PATH = 0o10000000
O_TMPFILE = 0o20200000

F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1

AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_HANDLE_FID = 0x200
AT_HANDLE_MNT_ID_UNIQUE = 0x001
AT_HANDLE_CONNECTABLE = 0x002
MAX_HANDLE_SZ = 128
PATH_MAX = 4096             # include/uapi/linux/limits.h: a path's bytes, its NUL included
FILEID_KERNFS = 0xFE

XATTR_CREATE = 1
XATTR_REPLACE = 2
XATTR_SIZE_MAX = 65536
XATTR_NAME_MAX = 255

# --- poll (include/uapi/asm-generic/poll.h) -----------------------------------
POLLIN = 0x0001
POLLPRI = 0x0002
POLLOUT = 0x0004
POLLERR = 0x0008
POLLHUP = 0x0010
POLLNVAL = 0x0020
POLLRDNORM = 0x0040
POLLRDBAND = 0x0080
POLLWRNORM = 0x0100
POLLWRBAND = 0x0200
POLLRDHUP = 0x2000

# --- sockets -------------------------------------------------------------------
SOL_SOCKET = 1
SO_PEERCRED = 17
SO_PASSPIDFD = 76
SO_PEERPIDFD = 77
AF_UNIX = 1
SOCK_STREAM = 1

# --- pidfd (include/uapi/linux/pidfd.h, fcntl.h) --------------------------------
PIDFD_NONBLOCK = O_NONBLOCK
PIDFD_THREAD = O_EXCL
PIDFD_SIGNAL_THREAD = 1 << 0
PIDFD_SIGNAL_THREAD_GROUP = 1 << 1
PIDFD_SIGNAL_PROCESS_GROUP = 1 << 2
PIDFD_SELF_THREAD = -10000
PIDFD_SELF_THREAD_GROUP = -10001
FD_PIDFS_ROOT = -10002
FD_NSFS_ROOT = -10003
FD_INVALID = -10009

PIDFD_INFO_PID = 1 << 0
PIDFD_INFO_CREDS = 1 << 1
PIDFD_INFO_CGROUPID = 1 << 2
PIDFD_INFO_EXIT = 1 << 3
PIDFD_INFO_COREDUMP = 1 << 4
PIDFD_INFO_SUPPORTED_MASK = 1 << 5        # 6.19
PIDFD_INFO_COREDUMP_SIGNAL = 1 << 6       # 6.19
PIDFD_INFO_SIZE_VER0 = 64
PIDFD_INFO_SIZE_VER1 = 72
PIDFD_INFO_SIZE_VER2 = 80                 # 6.19

PIDFD_COREDUMPED = 1 << 0
PIDFD_COREDUMP_SKIP = 1 << 1
PIDFD_COREDUMP_USER = 1 << 2
PIDFD_COREDUMP_ROOT = 1 << 3

PIDFS_IOCTL_MAGIC = 0xFF


def _ioc(direction: int, typ: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (typ << 8) | nr


PIDFD_GET_CGROUP_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 1, 0)
PIDFD_GET_IPC_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 2, 0)
PIDFD_GET_MNT_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 3, 0)
PIDFD_GET_NET_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 4, 0)
PIDFD_GET_PID_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 5, 0)
PIDFD_GET_PID_FOR_CHILDREN_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 6, 0)
PIDFD_GET_TIME_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 7, 0)
PIDFD_GET_TIME_FOR_CHILDREN_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 8, 0)
PIDFD_GET_USER_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 9, 0)
PIDFD_GET_UTS_NAMESPACE = _ioc(0, PIDFS_IOCTL_MAGIC, 10, 0)


def PIDFD_GET_INFO(size: int = PIDFD_INFO_SIZE_VER1) -> int:
    """_IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info) for a struct of `size` bytes."""
    return _ioc(3, PIDFS_IOCTL_MAGIC, 11, size)


def _IOC_NR(cmd: int) -> int:
    return cmd & 0xFF


def _IOC_TYPE(cmd: int) -> int:
    return (cmd >> 8) & 0xFF


def _IOC_SIZE(cmd: int) -> int:
    return (cmd >> 16) & 0x3FFF


def _IOC_DIR(cmd: int) -> int:
    return (cmd >> 30) & 0x3


FS_IOC_GETVERSION = _ioc(2, ord("v"), 1, 8)          # _IOR('v', 1, long): 0x80087601
TCGETS = 0x5401                                       # what isatty() asks

# Filesystem magics (include/uapi/linux/magic.h): fstatfs(fd).f_type.
ANON_INODE_FS_MAGIC = 0x09041934
PROC_SUPER_MAGIC = 0x9FA0
NSFS_MAGIC = 0x6E736673
SOCKFS_MAGIC = 0x534F434B
TMPFS_MAGIC = 0x01021994


# --- misc -----------------------------------------------------------------------
PAGE_SIZE = 4096
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
OVERFLOWUID = 65534
OVERFLOWGID = 65534


def errno_name(n: int) -> str:
    """The kernel's name of an errno: EOPNOTSUPP for 95, which the kernel returns and
    Python's errno.errorcode calls ENOTSUP (the same number on Linux); str(n) if unnamed."""
    if n == _errno.EOPNOTSUPP:
        return "EOPNOTSUPP"
    return _errno.errorcode.get(n, str(n))
