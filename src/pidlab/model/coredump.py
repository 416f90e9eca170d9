"""Core dumps, as far as they show in pids, wait statuses and pidfs.

Linux: fs/coredump.c (6.18) vfs_coredump.  A task that dequeues a
core-dumping signal with the default action first tries to dump core and
then exits with do_group_exit(signr).  What that leaves behind:

* the exit code gets 0x80 (WCOREDUMP, CLD_DUMPED) only when a dump was
  really written (`coredump_finish`);
* pidfs records a coredump mask (mode bits | PIDFD_COREDUMPED) only for the
  pipe pattern with %F and for the socket patterns, because only
  those paths call `pidfs_coredump`.  A plain file pattern, the default
  ("core"), never records one, even when it writes a core file.

Before 6.16 ("coredump: add coredump socket") there is no socket pattern: '@'
is an ordinary first character of a relative file name, and writing
core_pattern never fails.  %F in a pipe pattern hands the helper a pidfd from
6.15.1 on (coredump-helper-pidfd, not modelled: pidlab runs no helper) but
records nothing before pidfs_coredump exists (pidfd-info-coredump, 6.16); in
a file pattern, or on a kernel that does not know it, %F expands to nothing.

The model has no memory and no file system: a file dump always finds its
file writable (elf_core_dump counts a dump truncated by RLIMIT_CORE as
written), a pipe helper always exists and reads the whole dump, and no
process listens on a socket pattern's path (the connect fails after
pidfs_coredump).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..constants import (PIDFD_COREDUMP_ROOT, PIDFD_COREDUMP_SKIP, PIDFD_COREDUMP_USER,
                         PIDFD_COREDUMPED, SIGKILL, SUID_DUMP_DISABLE,
                         SUID_DUMP_ROOT, SUID_DUMP_USER)
from .task import SIGNAL_GROUP_EXIT
from .task import thread_list

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import TaskStruct

CORENAME_MAX_SIZE = 128         # include/linux/coredump.h: the length limit of core_pattern
MIN_COREDUMP = 4096             # binfmt_elf's min_coredump, ELF_EXEC_PAGESIZE
UNIX_PATH_MAX = 108

COREDUMP_FILE, COREDUMP_PIPE, COREDUMP_SOCK = "file", "pipe", "socket"


def core_type(pattern: str, has: Callable[[str], bool]) -> str:
    """Linux: coredump_parse -- '|' pipes to a helper, '@' a socket (from 6.16), else a file.

    Before 6.16 format_corename knows only the pipe (`ispipe = *pat_ptr == '|'`)."""
    if pattern.startswith("|"):
        return COREDUMP_PIPE
    if pattern.startswith("@") and has("coredump-socket"):
        return COREDUMP_SOCK
    return COREDUMP_FILE


def check_coredump_socket(pattern: str, has: Callable[[str], bool]) -> bool:
    """Linux: fs/coredump.c check_coredump_socket (the model has one mount namespace).

    6.16 asks only for an absolute path; 6.17 adds '@@' (the request protocol),
    the UNIX_PATH_MAX limit and the '..' refusal.  Before 6.16 every pattern is
    accepted (proc_dostring_coredump only warns about unsafe ones)."""
    if not pattern.startswith("@") or not has("coredump-socket"):
        return True
    path = pattern[1:]
    if not has("coredump-socket-req"):
        return path.startswith("/")
    if not path.startswith("/"):
        if not path.startswith("@/"):
            return False
        path = path[1:]
    return len(path.encode()) < UNIX_PATH_MAX and ".." not in pattern


def pidfs_coredump_mask(dumpable: int) -> int:
    """Linux: fs/pidfs.c pidfs_coredump_mask."""
    return {SUID_DUMP_USER: PIDFD_COREDUMP_USER,
            SUID_DUMP_ROOT: PIDFD_COREDUMP_ROOT}.get(dumpable, PIDFD_COREDUMP_SKIP)


def _wants_pidfd(pattern: str) -> bool:
    """%F in a pipe pattern hands the helper a pidfd (and sets cprm->pid)."""
    i = 0
    while i < len(pattern) - 1:
        if pattern[i] == "%":
            if pattern[i + 1] == "F":
                return True
            i += 2
            continue
        i += 1
    return False


def _record(k: "Kernel", t: "TaskStruct", dumpable: int, signr: int) -> None:
    """pidfs_register_pid + pidfs_coredump on the thread-group leader's pid.

    There is no pidfs_coredump before 6.16 (pidfd-info-coredump); in 6.16 it
    writes to the pidfs inode stashed at that moment, from 6.17 (pidfs-persist)
    to the pid's attr (Pidfs.record)."""
    if not k.has("pidfd-info-coredump"):
        return
    info = k.pidfs.record(t.signal.group_leader.pid)
    if info is not None:
        info.coredump_mask = pidfs_coredump_mask(dumpable) | PIDFD_COREDUMPED
        if k.has("pidfd-info-coredump-signal"):
            info.coredump_signal = signr    # cprm->siginfo->si_signo


def vfs_coredump(k: "Kernel", t: "TaskStruct", signr: int) -> None:
    """Try to dump core for `signr`; on success the group exit code gets 0x80."""
    mm = t.mm
    # coredump_skip: no binfmt handler (no mm) or not dumpable.
    if mm is None or mm.dumpable == SUID_DUMP_DISABLE:
        return
    sig = t.signal
    # coredump_wait -> zap_threads: lose the race with another group exit and
    # nothing is dumped.
    if sig.flags & SIGNAL_GROUP_EXIT or sig.group_exec_task is not None:
        return
    from .signal import get_signal, zap_other_threads
    zap_other_threads(k, t)
    sig.group_exit_code = signr
    sig.flags = SIGNAL_GROUP_EXIT
    # coredump_wait waits until every other thread is inside do_exit (asleep in
    # coredump_task_exit): they take the bare signal as their exit code, before
    # coredump_finish may add 0x80 to the group's.
    for other in list(thread_list(sig)):
        if other is not t:
            get_signal(k, other)
    dumpable = mm.dumpable
    soft = sig.rlim_core[0]
    pattern = k.core_pattern
    kind = core_type(pattern, k.has)
    dumped = False
    if kind == COREDUMP_FILE:
        # coredump_file: RLIMIT_CORE below one page, or a relative path for a
        # set-uid dump (suid_dumpable 2), writes nothing.
        # elf_core_dump reports a dump once its notes are collected, even when
        # RLIMIT_CORE then truncates the file.
        dumped = soft >= MIN_COREDUMP and not (dumpable == SUID_DUMP_ROOT and
                                               not pattern.startswith("/"))
    elif kind == COREDUMP_PIPE:
        # coredump_pipe: RLIMIT_CORE 1 marks a recursive crash of a helper.
        if soft != 1:
            if _wants_pidfd(pattern):
                _record(k, t, dumpable, signr)     # umh_coredump_setup
            dumped = True
    else:
        _record(k, t, dumpable, signr)             # coredump_sock_connect, before connect
    # coredump_finish
    if dumped and not t.pending >> SIGKILL & 1:
        sig.group_exit_code |= 0x80
