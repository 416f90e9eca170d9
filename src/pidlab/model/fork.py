"""fork, clone3 and threads.  Linux: kernel/fork.c.

`clone3` checks its arguments the way copy_clone_args_from_user and
clone3_args_valid do, then `copy_process` runs the kernel's checks in the
kernel's order before anything is changed; the only state a failed clone
leaves behind is what Linux leaves: pid cursors moved by alloc_pid.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..api import Unsupported, oserror
from ..constants import (CLONE_CLEAR_SIGHAND, CLONE_DETACHED, CLONE_FILES, CLONE_FS,
                         CLONE_INTO_CGROUP, CLONE_LEGACY_FLAGS, CLONE_NEWCGROUP,
                         CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                         CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS, CLONE_PARENT,
                         CLONE_PIDFD, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM,
                         CSIGNAL, MAX_PID_NS_LEVEL, PIDNS_ADDING, SIG_IGN, SIGKILL)
from . import cred as credmod
from . import signal as sigmod
from .exit import link_child
from .fdtable import own_files
from .pid import Pid, alloc_pid
from .sched import TASKLIST
from .pid_namespace import create_pid_namespace
from .task import (PF_FORKNOEXEC, SIGNAL_UNKILLABLE, Mm, Sighand, SignalStruct, TaskStruct,
                   own_mm, own_sighand)
from .task import add_thread

if TYPE_CHECKING:
    from .kernel import Kernel

CLONE_NS_FLAGS = (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
                  | CLONE_NEWCGROUP | CLONE_NEWTIME)


def clone3_check_args(flags: int, exit_signal: int, set_tid: tuple[int, ...]) -> None:
    """copy_clone_args_from_user + clone3_args_valid, in their order."""
    if len(set_tid) > MAX_PID_NS_LEVEL:
        raise oserror(errno.EINVAL, "set_tid has more than 32 entries")
    if exit_signal & ~CSIGNAL or not sigmod.valid_signal(exit_signal):
        raise oserror(errno.EINVAL, f"exit_signal {exit_signal} is not a signal")
    if flags & CLONE_INTO_CGROUP:
        raise oserror(errno.EINVAL, "CLONE_INTO_CGROUP needs a cgroup fd")
    if flags & ~(CLONE_LEGACY_FLAGS | CLONE_CLEAR_SIGHAND | CLONE_INTO_CGROUP):
        raise oserror(errno.EINVAL, "unknown clone flags")
    if flags & (CLONE_DETACHED | (CSIGNAL & ~CLONE_NEWTIME)):
        raise oserror(errno.EINVAL, "CLONE_DETACHED and the CSIGNAL bits are not clone3 flags")
    if flags & (CLONE_SIGHAND | CLONE_CLEAR_SIGHAND) == CLONE_SIGHAND | CLONE_CLEAR_SIGHAND:
        raise oserror(errno.EINVAL, "CLONE_SIGHAND with CLONE_CLEAR_SIGHAND")
    if flags & (CLONE_THREAD | CLONE_PARENT) and exit_signal:
        raise oserror(errno.EINVAL, "CLONE_THREAD/CLONE_PARENT need exit_signal 0")


def copy_process(k: "Kernel", cur: TaskStruct, flags: int, exit_signal: int,
                 set_tid: tuple[int, ...], want_pidfd: bool) -> tuple[TaskStruct, int | None]:
    """Create the child.  Returns (child, pidfd number or None)."""
    # -- the checks of copy_process, in order ---------------------------------------
    if flags:                           # (each check below needs a flag)
        if flags & (CLONE_NEWNS | CLONE_FS) == CLONE_NEWNS | CLONE_FS:
            raise oserror(errno.EINVAL, "CLONE_NEWNS with CLONE_FS")
        if flags & (CLONE_NEWUSER | CLONE_FS) == CLONE_NEWUSER | CLONE_FS:
            raise oserror(errno.EINVAL, "CLONE_NEWUSER with CLONE_FS")
        if flags & CLONE_THREAD and not flags & CLONE_SIGHAND:
            raise oserror(errno.EINVAL, "CLONE_THREAD without CLONE_SIGHAND")
        if flags & CLONE_SIGHAND and not flags & CLONE_VM:
            raise oserror(errno.EINVAL, "CLONE_SIGHAND without CLONE_VM")
        if flags & CLONE_PARENT and cur.signal.flags & SIGNAL_UNKILLABLE:
            raise oserror(errno.EINVAL, "an init cannot create siblings (CLONE_PARENT)")
        if flags & CLONE_THREAD and (flags & (CLONE_NEWUSER | CLONE_NEWPID) or
                                     cur.pid.ns is not cur.nsproxy_pid):
            raise oserror(errno.EINVAL, "a thread must stay in its process's pid namespace")
        if flags & CLONE_PIDFD and flags & CLONE_DETACHED:
            raise oserror(errno.EINVAL, "CLONE_PIDFD with CLONE_DETACHED")
        if flags & CLONE_PIDFD and flags & CLONE_THREAD and not k.has("clone-pidfd-thread"):
            raise oserror(errno.EINVAL, "CLONE_PIDFD with CLONE_THREAD (allowed from 6.9)")
        if flags & CLONE_NEWUSER:
            raise Unsupported("user namespaces (CLONE_NEWUSER) are not modelled")

    # copy_files: only to find out early whether the pidfd will fit (EMFILE).
    # copy_namespaces
    pid_ns = cur.nsproxy_pid
    new_ns = None
    if flags & CLONE_NS_FLAGS:
        if not credmod.capable(cur.cred, 21):            # CAP_SYS_ADMIN
            raise oserror(errno.EPERM, "creating namespaces needs CAP_SYS_ADMIN")
        if flags & CLONE_NEWPID:
            if cur.pid.ns is not pid_ns:
                raise oserror(errno.EINVAL, "pid_for_children is not the active namespace")
            new_ns = create_pid_namespace(pid_ns, k.new_ns_inum(), k.pid_max_limit,
                                          not k.has("pidns-pid-max-limit"))
            pid_ns = new_ns

    # alloc_pid; from here on a failure only leaves moved cursors behind.
    cred = cur.cred
    pid = alloc_pid(k, pid_ns, set_tid,
                    (lambda user_ns: credmod.checkpoint_restore_ns_capable(cred)) if set_tid else None)

    if flags & CLONE_FILES:
        files = own_files(cur)
        files.users += 1
        child_files = files
    else:
        child_files = cur.files.dup_for_fork()

    pidfd = None
    if want_pidfd:
        # pidfd_prepare(pid, PIDFD_STALE [| PIDFD_THREAD]): the fd goes into
        # the parent's (possibly just unshared-from-child) table.
        try:
            pidfd = k.pidfd_create(cur, pid, thread=bool(flags & CLONE_THREAD), stale=True)
        except OSError:
            child_files.drop()
            from .pid import free_pid
            free_pid(k, pid)
            raise

    # -- build the task ------------------------------------------------------------
    p = TaskStruct(pid, cred, PF_FORKNOEXEC, cur.self_exec_id, pid_ns, child_files)
    p.comm = cur.comm                   # dup_task_struct: the calling thread's name, thread or not
    if flags & CLONE_THREAD:
        p.mm = cur.mm
    elif flags & CLONE_VM:
        p.mm = own_mm(cur)
        if p.mm is not None:
            p.mm.users += 1
    else:
        p.mm = cur.mm.copy() if cur.mm is not None else Mm()

    if flags & CLONE_THREAD:
        sig = cur.signal
        p.signal = sig
    else:
        if flags & CLONE_SIGHAND:
            sighand = own_sighand(cur.signal)
            sighand.users += 1
        else:
            sighand = cur.signal.sighand.copy()
            if flags & CLONE_CLEAR_SIGHAND:
                # flush_signal_handlers(p, 0): handlers reset, SIG_IGN stays.
                kept = {s: h for s, h in (sighand.action or {}).items() if h == SIG_IGN}
                sighand.drop()
                sighand = Sighand(kept or None, True)
        # copy_signal: every rlimit is copied.
        sig = p.signal = SignalStruct(p, sighand, cur.signal.rlim_core)

    # -- write_lock_irq(&tasklist_lock); spin_lock(&current->sighand->siglock) -----------
    s = k.sched
    if s is not None:
        s.lock(TASKLIST, label="copy_process: write_lock_irq(&tasklist_lock); "
                               "spin_lock(&current->sighand->siglock)")
    # "Don't start children in a dying pid namespace", then "Let kill terminate
    # clone/fork in the middle": in the model's sequential runs neither can happen
    # here (alloc_pid has just checked, and a killed task makes no more calls).
    err = 0
    if not pid.ns.pid_allocated & PIDNS_ADDING:
        err = errno.ENOMEM
    elif cur.pending >> SIGKILL & 1:
        err = errno.EINTR
    if err:
        if s is not None:
            s.unlock(TASKLIST)
        _fork_failed(k, cur, flags, pid, child_files, pidfd, p)
        raise oserror(err, "the namespace's init has died" if err == errno.ENOMEM
                      else "a fatal signal is pending")
    if flags & (CLONE_PARENT | CLONE_THREAD):
        p.real_parent = cur.real_parent
        p.parent_exec_id = cur.parent_exec_id
        p.exit_signal = -1 if flags & CLONE_THREAD else cur.signal.group_leader.exit_signal
    else:
        p.real_parent = cur
        p.parent_exec_id = cur.self_exec_id
        p.exit_signal = exit_signal

    pid.task = p
    if flags & CLONE_THREAD:
        add_thread(sig, p)
        sig.live += 1
        sigmod.task_join_group_stop(p, cur)
    else:
        csig = cur.signal
        pid.tgid_task = p
        pgrp = csig.pgrp
        session = csig.session
        sig.pgrp = pgrp
        sig.session = session
        if pgrp.pgrp is None:
            pgrp.pgrp = {}
        pgrp.pgrp[sig] = None
        session.sid_users += 1
        if pid.numbers[-1] == 1:       # is_child_reaper: the init of a new namespace
            pid.ns.child_reaper = p
            sig.flags |= SIGNAL_UNKILLABLE
        parent_sig = p.real_parent.signal
        sig.has_child_subreaper = parent_sig.has_child_subreaper or parent_sig.is_child_subreaper
        link_child(k, p.real_parent, sig)

    if s is not None:
        s.unlock(TASKLIST)
    if flags & CLONE_VFORK:
        p.vfork_parent = cur
        cur.vfork_child = p
    return p, pidfd


def _fork_failed(k: "Kernel", cur: TaskStruct, flags: int, pid: "Pid", files: Any,
                 pidfd: int | None, p: TaskStruct) -> None:
    """bad_fork_*: undo what the child got, then free_pid (after the unlock)."""
    if pidfd is not None:
        cur.files.close(pidfd)          # fput(pidfile); put_unused_fd(pidfd)
    files.drop()
    if not flags & CLONE_THREAD:
        if p.mm is not None:
            p.mm.drop()
        p.signal.sighand.drop()
    from .pid import free_pid
    free_pid(k, pid)
