"""A successful execve(2).  Linux: fs/exec.c de_thread and begin_new_exec.

Only what exec does to process identity is modelled: the other threads are
killed, a non-leader thread takes over the leader's struct pid
(exchange_tids + transfer_pid), the old leader is released under the
execing thread's old TID, and exec resets handlers, close-on-exec
descriptors, PF_FORKNOEXEC, exit_signal and, following commoncap, the
credentials.  The task is named after the file (__set_task_comm with
kbasename(bprm->filename)).

There is no file system: a filename is the path the caller passed, and exec
of it succeeds.  What the kernel refuses before it looks anything up
(getname: an empty path, one of PATH_MAX bytes or more) fails here too; a
path whose last component cannot name a regular file ("dir/", "x/.",
"x/..") always fails in Linux, with an errno (EACCES, ENOTDIR, ENOENT)
that depends on the files, so it is Unsupported.  Without a filename
the task keeps its name, as if the file were called what the task is.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..api import Unsupported, oserror
from ..constants import PATH_MAX, SIGCHLD, SIG_IGN, SUID_DUMP_USER
from . import cred as credmod
from . import signal as sigmod
from .exit import release_task, set_exit_signal, wait_class
from .fdtable import own_files
from .task import EXIT_DEAD, PF_FORKNOEXEC, Mm, Sighand, TaskStruct
from .task import set_task_comm, thread_count

if TYPE_CHECKING:
    from .kernel import Kernel


def kbasename(path: bytes) -> bytes:
    """Linux: include/linux/string.h kbasename: what follows the last '/'."""
    return path.rpartition(b"/")[2]


def exec_comm(filename: bytes | None) -> bytes | None:
    """The name an exec of `filename` gives, after getname's checks (None: keep the name).

    Linux: fs/namei.c getname_flags (ENOENT for "", ENAMETOOLONG from PATH_MAX
    bytes on), then fs/exec.c begin_new_exec.
    """
    if filename is None:
        return None
    path = filename.split(b"\0", 1)[0]            # the kernel reads a C string
    if not path:
        raise oserror(errno.ENOENT, "execve of an empty path")
    if len(path) >= PATH_MAX:
        raise oserror(errno.ENAMETOOLONG, f"the path has {len(path)} bytes, PATH_MAX is {PATH_MAX}")
    base = kbasename(path)
    if base in (b"", b".", b".."):
        raise Unsupported(f"execve({filename!r}): the last component names a directory, which "
                          "exec never runs; its errno (EACCES, ENOTDIR or ENOENT) depends on "
                          "files pidlab does not model")
    return base


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


def do_execve(k: "Kernel", tsk: TaskStruct, comm: bytes | None = None) -> None:
    """begin_new_exec for a task whose exec succeeds; `comm` comes from exec_comm."""
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
    if comm is not None:
        set_task_comm(tsk, comm)
    tsk.self_exec_id += 1
    # unshare_files, then do_close_on_exec.
    files = tsk.files
    if files.users > 1:
        files.users -= 1
        tsk.files = files.unshared()
    if tsk.files.map.cloexec:
        own_files(tsk).close_on_exec()
