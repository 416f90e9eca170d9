"""A successful execve(2).  Linux: fs/exec.c de_thread and begin_new_exec.

Only what exec does to process identity is modelled: the other threads are
killed, a non-leader thread takes over the leader's struct pid
(exchange_tids + transfer_pid), the old leader is released under the
execing thread's old TID, and exec resets handlers, close-on-exec
descriptors, PF_FORKNOEXEC, exit_signal and, following commoncap, the
credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..constants import SIGCHLD, SIG_IGN, SUID_DUMP_USER
from . import cred as credmod
from . import signal as sigmod
from .exit import release_task, set_exit_signal, wait_class
from .fdtable import own_files
from .task import EXIT_DEAD, PF_FORKNOEXEC, Mm, Sighand, TaskStruct
from .task import thread_count

if TYPE_CHECKING:
    from .kernel import Kernel


def de_thread(k: "Kernel", tsk: TaskStruct) -> None:
    """Become the only thread of the process, with the leader's pid."""
    sig = tsk.signal
    if thread_count(sig) > 1:
        sig.group_exec_task = tsk
        sigmod.zap_other_threads(k, tsk)
        k.run_pending()                 # the other threads die now
        leader = sig.group_leader
        if leader is not tsk:
            parent = leader.real_parent
            old_class = wait_class(leader)
            # exchange_tids: the two threads swap struct pids ...
            old_pid, leader_pid = tsk.pid, leader.pid
            old_pid.task, leader_pid.task = leader, tsk
            tsk.pid, leader.pid = leader_pid, old_pid
            # ... and transfer_pid moves TGID (PGID and SID are keyed by the
            # process here, so they follow without work).
            leader_pid.tgid_task = tsk
            sig.group_leader = tsk
            # We take the old leader's place on the parent's list of children.
            tsk.exit_signal = SIGCHLD
            if parent is not None and parent.children is not None and sig in parent.children:
                parent.child_count[old_class] -= 1
                parent.child_count[wait_class(tsk)] += 1
            leader.exit_signal = -1
            leader.exit_state = EXIT_DEAD
            release_task(k, leader)
        sig.group_exec_task = None
        sig.notify_count = 0
    set_exit_signal(tsk, SIGCHLD)


def do_execve(k: "Kernel", tsk: TaskStruct) -> None:
    de_thread(k, tsk)
    sig = tsk.signal
    # exec_mmap: a fresh mm; a vfork parent is released.
    if tsk.vfork_parent is not None:
        tsk.vfork_parent.vfork_child = None
        tsk.vfork_parent = None
    # unshare_sighand, then flush_signal_handlers(me, 0): SIG_IGN survives exec.
    old = sig.sighand
    kept = {s: h for s, h in (old.action or {}).items() if h == SIG_IGN}
    old.drop()
    sig.sighand = Sighand(kept or None, True)
    # Credentials: cap_bprm_creds_from_file, then commit_creds.
    old_cred = tsk.cred
    new_cred, secureexec = credmod.exec_creds(old_cred)
    k.commit_creds(tsk, new_cred)
    if secureexec:
        tsk.pdeath_signal = 0
    dumpable = SUID_DUMP_USER if (new_cred.euid == new_cred.uid and
                                  new_cred.egid == new_cred.gid) else k.suid_dumpable
    if tsk.mm is not None:
        tsk.mm.drop()
    tsk.mm = Mm(dumpable)
    tsk.flags &= ~PF_FORKNOEXEC
    tsk.self_exec_id += 1
    # unshare_files, then do_close_on_exec.
    files = tsk.files
    if files.users > 1:
        files.users -= 1
        tsk.files = files.unshared()
    if tsk.files.map.cloexec:
        own_files(tsk).close_on_exec()
