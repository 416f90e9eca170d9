"""unshare(2) and setns(2) as far as pid namespaces go.

Linux: kernel/fork.c ksys_unshare, kernel/nsproxy.c, pidns_install in
kernel/pid_namespace.c.  Only the pid namespace is modelled; the other
CLONE_NEW* flags are accepted with their permission check and do nothing,
as if every task shared one namespace of each other kind.
"""

from __future__ import annotations

import errno
from typing import Any, TYPE_CHECKING

from ..api import Unsupported, oserror
from ..constants import (CLONE_FILES, CLONE_FS, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET,
                         CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER,
                         CLONE_NEWUTS, CLONE_SIGHAND, CLONE_SYSVSEM, CLONE_THREAD, CLONE_VM,
                         CAP_SYS_ADMIN)
from . import cred as credmod
from .fork import CLONE_NS_FLAGS
from .pid_namespace import PidNamespace, create_pid_namespace, pidns_is_ancestor
from .task import TaskStruct
from .task import thread_count

if TYPE_CHECKING:
    from .kernel import Kernel

UNSHARE_FLAGS = (CLONE_THREAD | CLONE_FS | CLONE_NEWNS | CLONE_SIGHAND | CLONE_VM | CLONE_FILES
                 | CLONE_SYSVSEM | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER
                 | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)
SETNS_FLAGS = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER
               | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME)


def ksys_unshare(k: "Kernel", cur: TaskStruct, flags: int) -> None:
    if flags & CLONE_NEWUSER:
        flags |= CLONE_THREAD | CLONE_FS
    if flags & CLONE_VM:
        flags |= CLONE_SIGHAND
    if flags & CLONE_SIGHAND:
        flags |= CLONE_THREAD
    if flags & CLONE_NEWNS:
        flags |= CLONE_FS
    # check_unshare_flags
    if flags & ~UNSHARE_FLAGS:
        raise oserror(errno.EINVAL, "unknown unshare flags")
    sig = cur.signal
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) and thread_count(sig) > 1:
        raise oserror(errno.EINVAL, "cannot unshare thread state of a multi-threaded process")
    if flags & (CLONE_SIGHAND | CLONE_VM) and sig.sighand.users > 1:
        raise oserror(errno.EINVAL, "signal handlers are shared with another process")
    if flags & CLONE_VM and k.mm_shared(cur):
        raise oserror(errno.EINVAL, "the address space is shared with another process")
    if flags & CLONE_NEWUSER:
        raise Unsupported("user namespaces (CLONE_NEWUSER) are not modelled")
    # unshare_nsproxy_namespaces
    new_ns: PidNamespace | None = None
    if flags & CLONE_NS_FLAGS:
        if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
            raise oserror(errno.EPERM, "unsharing namespaces needs CAP_SYS_ADMIN")
        if flags & CLONE_NEWPID:
            if cur.pid.ns is not cur.nsproxy_pid:
                raise oserror(errno.EINVAL, "pid_for_children already differs from the active namespace")
            new_ns = create_pid_namespace(cur.nsproxy_pid, k.new_ns_inum(), k.pid_max_limit,
                                          not k.has("pidns-pid-max-limit"))
    # Commit: nothing can fail from here on.
    if flags & CLONE_FILES and cur.files.users > 1:
        cur.files.users -= 1
        cur.files = cur.files.unshared()
    if new_ns is not None:
        cur.nsproxy_pid = new_ns


def pidns_install(cur: TaskStruct, new: PidNamespace) -> None:
    """Linux: pidns_install -- only the active namespace or a descendant."""
    if not credmod.capable(cur.cred, CAP_SYS_ADMIN):
        raise oserror(errno.EPERM, "setns needs CAP_SYS_ADMIN")
    if not pidns_is_ancestor(new, cur.pid.ns):
        raise oserror(errno.EINVAL, "not the active pid namespace or one of its descendants")
    cur.nsproxy_pid = new


def sys_setns_nsfd(cur: TaskStruct, ns: PidNamespace, nstype: int) -> None:
    """setns(fd of /proc/<pid>/ns/pid or pid_for_children, nstype)."""
    if nstype and nstype != CLONE_NEWPID:
        raise oserror(errno.EINVAL, "the fd is a pid namespace")
    pidns_install(cur, ns)


def check_setns_flags(flags: int) -> None:
    if not flags or flags & ~SETNS_FLAGS:
        raise oserror(errno.EINVAL, "setns through a pidfd needs CLONE_NEW* flags")


def sys_setns_pidfd(cur: TaskStruct, pid, nstype: int, sched: Any = None) -> None:
    """setns(pidfd, flags): join the namespaces of the process the pidfd names.

    Linux: kernel/nsproxy.c validate_nsset.  Only the pid namespace is modelled.
    """
    check_setns_flags(nstype)
    if nstype & ~CLONE_NEWPID:
        raise Unsupported("setns through a pidfd: only CLONE_NEWPID is modelled")
    from .procfs import PTRACE_MODE_READ, PTRACE_MODE_REALCREDS, ptrace_may_access
    if sched is not None:
        sched.point("validate_nsset: pid_task(pid, PIDTYPE_PID) (RCU)")
    tsk = pid.task
    if tsk is None:
        raise oserror(errno.ESRCH)
    if not ptrace_may_access(cur, tsk, PTRACE_MODE_READ | PTRACE_MODE_REALCREDS):
        raise oserror(errno.EPERM)
    if tsk.nsproxy_pid is None:
        raise oserror(errno.ESRCH, "the process has exited")
    pidns_install(cur, tsk.pid.ns)
