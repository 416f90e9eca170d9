"""The parts of /proc that pidlab models, as the calling task sees them.

Paths resolve as if the caller had mounted procfs for its own active pid
namespace: /proc/<n> is the task whose pid is n there, /proc/self and
/proc/thread-self name the caller.  The two sysctls always act on the
caller's active namespace, whatever procfs instance is used (Linux:
pid_table_root_lookup, pid_ns_ctl_handler).  Linux: fs/proc/base.c,
fs/proc/array.c, fs/proc/namespaces.c.
"""

from __future__ import annotations

import errno
import posixpath
from typing import TYPE_CHECKING

from ..api import Unsupported, oserror
from ..constants import (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
                         SIG_IGN, SUID_DUMP_USER)
from . import cred as credmod
from .pid import pid_nr_ns
from .pid_namespace import parse_dointvec, read_ns_last_pid, write_ns_last_pid, write_pid_max
from .task import EXIT_DEAD, EXIT_ZOMBIE, JOBCTL_STOPPED, TaskStruct
from .task import thread_count

if TYPE_CHECKING:
    from .kernel import Kernel

PTRACE_MODE_READ = 0x01
PTRACE_MODE_ATTACH = 0x02
PTRACE_MODE_FSCREDS = 0x08
PTRACE_MODE_REALCREDS = 0x10


def ptrace_may_access(cur: TaskStruct, task: TaskStruct, mode: int) -> bool:
    """Linux: kernel/ptrace.c __ptrace_may_access (no LSM)."""
    if cur.signal is task.signal:
        return True
    c, tc = cur.cred, task.cred
    uid, gid = (c.fsuid, c.fsgid) if mode & PTRACE_MODE_FSCREDS else (c.uid, c.gid)
    if not (uid == tc.euid == tc.suid == tc.uid and gid == tc.egid == tc.sgid == tc.gid) \
            and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    # Without an mm (an exited task) the dumpability it had last counts (6.18 stable:
    # "ptrace: slightly saner 'get_dumpable()' logic").
    mm = task.mm
    dumpable = mm.dumpable if mm is not None else task.last_dumpable
    if dumpable != SUID_DUMP_USER and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    # security/commoncap.c cap_ptrace_access_check: the target's permitted set must
    # be within the caller's (effective set for FSCREDS, else permitted).
    caller = c.cap_effective if mode & PTRACE_MODE_FSCREDS else c.cap_permitted
    if tc.cap_permitted & ~caller and not credmod.capable(c, CAP_SYS_PTRACE):
        return False
    return True


def task_dump_owner(task: TaskStruct, is_dir: bool) -> tuple[int, int]:
    """The uid and gid a /proc/<pid> inode carries.  Linux: fs/proc/base.c task_dump_owner.

    The 0555 directories always belong to the task's effective ids (what ps
    stats); every other file belongs to root while the task is not dumpable
    or has no mm.
    """
    c = task.cred
    if is_dir:
        return c.euid, c.egid
    mm = task.mm
    if mm is None or mm.dumpable != SUID_DUMP_USER:
        return 0, 0
    return c.euid, c.egid


# Entries of /proc/<pid> (fs/proc/base.c tgid_base_stuff) that pidlab does not model:
# asking for them is Unsupported, not ENOENT, which would claim they do not exist.
UNMODELLED_PID_ENTRIES = frozenset((
    "map_files", "net", "environ", "auxv", "personality", "limits", "sched", "autogroup",
    "timens_offsets", "comm", "syscall", "cmdline", "stat", "statm", "maps", "numa_maps", "mem",
    "cwd", "root", "exe", "mounts", "mountinfo", "mountstats", "clear_refs", "smaps",
    "smaps_rollup", "pagemap", "attr", "wchan", "stack", "schedstat", "cpuset", "cgroup",
    "oom_score", "oom_adj", "oom_score_adj", "loginuid", "sessionid", "coredump_filter", "io",
    "uid_map", "gid_map", "projid_map", "setgroups", "arch_status", "ksm_merging_pages",
    "ksm_stat"))
UNMODELLED_NS_LINKS = frozenset(("net", "uts", "ipc", "mnt", "user", "cgroup", "time",
                                 "time_for_children"))


class Node:
    """A resolved /proc path."""

    __slots__ = ("kind", "task", "name")

    def __init__(self, kind: str, task: TaskStruct | None = None, name: str = "") -> None:
        self.kind = kind     # "sysctl", "dir", "status", "ns", "fdinfo", "fddir", "fd", "root"
        self.task = task
        self.name = name


def _lookup_pid(cur: TaskStruct, comp: str) -> TaskStruct:
    ns = cur.pid.ns
    if comp == "self":
        return cur.signal.group_leader if cur.signal.group_leader.pid is not None else cur
    if comp == "thread-self":
        return cur
    if not comp.isdigit() or (len(comp) > 1 and comp[0] == "0"):
        raise oserror(errno.ENOENT, comp)
    pid = ns.idr.entries.get(int(comp))
    task = pid.task if pid is not None else None
    if task is None:
        raise oserror(errno.ENOENT, comp)
    return task


def resolve(k: "Kernel", cur: TaskStruct, path: str) -> Node:
    norm = posixpath.normpath(path)
    if not norm.startswith("/proc"):
        raise oserror(errno.ENOENT, f"{path} is outside /proc (only procfs is modelled)")
    parts = [p for p in norm.split("/") if p][1:]
    if not parts:
        return Node("root")
    if parts[0] == "sys":
        if len(parts) == 3 and "/".join(parts[1:]) in SYSCTLS:
            return Node("sysctl", name=parts[2])
        raise oserror(errno.ENOENT, path)
    task = _lookup_pid(cur, parts[0])
    rest = parts[1:]
    # /proc/thread-self is a link to <tgid>/task/<tid>: a thread's directory.
    thread_dir = parts[0] == "thread-self"
    if not thread_dir and rest[:1] == ["task"] and len(rest) >= 2:
        thread = _lookup_pid(cur, rest[1])
        if thread.signal is not task.signal:
            raise oserror(errno.ENOENT, path)
        task = thread
        rest = rest[2:]
        thread_dir = True
    if not rest:
        # /proc/<n> is a "tgid" directory even for a thread; /proc/<p>/task/<t> is not.
        return Node("dir", task, "tid" if thread_dir else "tgid")
    if rest == ["task"] and not thread_dir:
        return Node("dir", task, "task")            # the list of the process's threads
    if rest == ["status"]:
        return Node("status", task)
    if len(rest) == 2 and rest[0] == "ns" and rest[1] in ("pid", "pid_for_children"):
        return Node("ns", task, rest[1])
    if len(rest) == 2 and rest[0] == "fdinfo" and rest[1].isdigit():
        return Node("fdinfo", task, rest[1])
    if rest[0] == "fd" and len(rest) <= 2:
        _fd_dir_permission(cur, task)
        if len(rest) == 1:
            return Node("fddir", task)
        # proc_lookupfd: name_to_int takes no sign and no leading zero.
        n = rest[1]
        files = task.files
        if not n.isdigit() or (len(n) > 1 and n[0] == "0") or files is None \
                or files.get(int(n)) is None:
            raise oserror(errno.ENOENT, path)
        return Node("fd", task, n)
    if (len(rest) == 1 and rest[0] in UNMODELLED_PID_ENTRIES) or \
            (len(rest) == 2 and rest[0] == "ns" and rest[1] in UNMODELLED_NS_LINKS):
        raise Unsupported(f"/proc/<pid>/{'/'.join(rest)} is not modelled")
    raise oserror(errno.ENOENT, path)


def _fd_dir_permission(cur: TaskStruct, task: TaskStruct) -> None:
    """Search permission on /proc/<pid>/fd (mode 0500).  Linux: fs/proc/fd.c proc_fd_permission."""
    if cur.signal is task.signal:
        return
    c = cur.cred
    if c.fsuid == task_dump_owner(task, False)[0]:
        return
    if credmod.capable(c, CAP_DAC_READ_SEARCH) or credmod.capable(c, CAP_DAC_OVERRIDE):
        return
    raise oserror(errno.EACCES, "/proc/<pid>/fd belongs to the task's owner")


def fd_link(cur: TaskStruct, node: Node) -> str:
    """readlink of /proc/<pid>/fd/<n>.  Linux: fs/proc/base.c proc_pid_readlink, proc_fd_link."""
    task = node.task
    if not ptrace_may_access(cur, task, PTRACE_MODE_READ | PTRACE_MODE_FSCREDS):
        raise oserror(errno.EACCES, "ptrace access to the task is denied")
    f = task.files.get(int(node.name))
    if f.kind == "pidfd":
        return "anon_inode:[pidfd]"
    if f.kind == "socket":
        return f"socket:[{f.obj.ino}]"
    if f.kind == "nsfs":
        return f"pid:[{f.obj.inum}]"
    if f.kind == "null":
        return "/dev/null"
    raise Unsupported("the path of a /proc file behind a descriptor is not modelled")


def is_symlink(path: str, node: Node) -> bool:
    """The last component is a link: /proc/self, /proc/thread-self, or a (magic) ns link."""
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    return parts in (["proc", "self"], ["proc", "thread-self"]) or node.kind == "ns"


def ns_of_node(cur: TaskStruct, node: Node):
    """The pid namespace an ns link names (the caller must be allowed to see it)."""
    task = node.task
    if not ptrace_may_access(cur, task, PTRACE_MODE_READ | PTRACE_MODE_FSCREDS):
        raise oserror(errno.EACCES, "ptrace access to the task is denied")
    if node.name == "pid":
        if task.pid is None:
            raise oserror(errno.ENOENT)
        return task.pid.ns
    ns = task.nsproxy_pid
    # Linux 6.18: pid_for_children without an init yet cannot be opened.
    if ns is None or ns.child_reaper is None:
        raise oserror(errno.ENOENT, "pid_for_children has no init yet")
    return ns


def readlink(k: "Kernel", cur: TaskStruct, path: str) -> str:
    norm = posixpath.normpath(path)
    parts = [p for p in norm.split("/") if p]
    if parts == ["proc", "self"]:
        n = pid_nr_ns(cur.signal.group_leader.pid or cur.pid, cur.pid.ns)
        return str(n)
    if parts == ["proc", "thread-self"]:
        ns = cur.pid.ns
        return f"{pid_nr_ns(cur.signal.group_leader.pid or cur.pid, ns)}/task/{pid_nr_ns(cur.pid, ns)}"
    node = resolve(k, cur, path)
    if node.kind == "fd":
        return fd_link(cur, node)
    if node.kind != "ns":
        raise oserror(errno.EINVAL, f"{path} is not a symbolic link")
    return f"pid:[{ns_of_node(cur, node).inum}]"


def _hex(mask: int) -> str:
    return f"{mask:016x}"


def _sigset(mask_by_sig: int) -> str:
    """render_sigset_t: bit n-1 stands for signal n."""
    return _hex(mask_by_sig >> 1)


def task_state(reader: TaskStruct, p: TaskStruct) -> str:
    if p.exit_state == EXIT_ZOMBIE:
        return "Z (zombie)"
    if p.exit_state == EXIT_DEAD:
        return "X (dead)"
    if p.jobctl & JOBCTL_STOPPED:
        return "T (stopped)"
    if p is reader:
        return "R (running)"
    return "S (sleeping)"


def status(k: "Kernel", reader: TaskStruct, p: TaskStruct) -> str:
    """/proc/<pid>/status (fs/proc/array.c proc_pid_status), the modelled lines."""
    ns = reader.pid.ns
    pid = p.pid
    sig = p.signal
    leader = sig.group_leader
    tgid_pid = leader.pid if leader.pid is not None else pid
    parent = p.real_parent
    ppid = pid_nr_ns(parent.signal.group_leader.pid, ns) if parent is not None else 0
    c = p.cred
    levels = range(ns.level, pid.level + 1)
    chain = pid.ns.chain
    nstgid = "".join(f"\t{pid_nr_ns(tgid_pid, chain[g])}" for g in levels)
    nspid = "".join(f"\t{pid_nr_ns(pid, chain[g])}" for g in levels)
    nspgid = "".join(f"\t{pid_nr_ns(sig.pgrp, chain[g])}" for g in levels)
    nssid = "".join(f"\t{pid_nr_ns(sig.session, chain[g])}" for g in levels)
    ign = catch = 0
    for s, h in (sig.sighand.action or {}).items():
        if h == SIG_IGN:
            ign |= 1 << s
        else:
            catch |= 1 << s
    lines = [
        f"Name:\t{sig.comm}",
        f"State:\t{task_state(reader, p)}",
        f"Tgid:\t{pid_nr_ns(tgid_pid, ns)}",
        "Ngid:\t0",
        f"Pid:\t{pid_nr_ns(pid, ns)}",
        f"PPid:\t{ppid}",
        "TracerPid:\t0",
        f"Uid:\t{c.uid}\t{c.euid}\t{c.suid}\t{c.fsuid}",
        f"Gid:\t{c.gid}\t{c.egid}\t{c.sgid}\t{c.fsgid}",
        f"NStgid:{nstgid}",
        f"NSpid:{nspid}",
        f"NSpgid:{nspgid}",
        f"NSsid:{nssid}",
        "Kthread:\t0",
        f"Threads:\t{thread_count(sig)}",
        f"SigIgn:\t{_sigset(ign)}",
        f"SigCgt:\t{_sigset(catch)}",
        f"CapInh:\t{_hex(c.cap_inheritable)}",
        f"CapPrm:\t{_hex(c.cap_permitted)}",
        f"CapEff:\t{_hex(c.cap_effective)}",
        f"CapBnd:\t{_hex(c.cap_bset)}",
        f"CapAmb:\t{_hex(c.cap_ambient)}",
    ]
    return "\n".join(lines) + "\n"


# The sysctls the model has: two per pid namespace, two global ones for core dumps.
SYSCTLS = ("kernel/pid_max", "kernel/ns_last_pid", "kernel/core_pattern", "fs/suid_dumpable")


def pid_table_root_permissions_allow_write(cur: TaskStruct) -> bool:
    """Linux: kernel/pid.c pid_table_root_permissions (owner bits for the ns root)."""
    return credmod.capable(cur.cred, CAP_SYS_ADMIN) or cur.cred.euid == 0


def read_text(k: "Kernel", cur: TaskStruct, path: str) -> str:
    node = resolve(k, cur, path)
    kind = node.kind
    if kind in ("fd", "fddir"):
        raise Unsupported("opening files through /proc/<pid>/fd is not modelled")
    if kind == "sysctl":
        ns = cur.pid.ns
        if node.name == "pid_max":
            return f"{ns.pid_max}\n"
        if node.name == "core_pattern":
            return f"{k.core_pattern}\n"
        if node.name == "suid_dumpable":
            return f"{k.suid_dumpable}\n"
        return f"{read_ns_last_pid(ns)}\n"
    if kind == "status":
        return status(k, cur, node.task)
    if kind == "ns":
        return f"pid:[{ns_of_node(cur, node).inum}]"
    if kind == "fdinfo":
        return k.fdinfo(cur, node.task, int(node.name))
    raise oserror(errno.EISDIR, path)


def write_text(k: "Kernel", cur: TaskStruct, path: str, text: str) -> None:
    node = resolve(k, cur, path)
    if node.kind in ("fd", "fddir"):
        raise Unsupported("opening files through /proc/<pid>/fd is not modelled")
    if node.kind == "sysctl":
        ns = cur.pid.ns
        if node.name == "pid_max":
            # Opening for write: the owner bits apply only to the namespace's root.
            if not pid_table_root_permissions_allow_write(cur):
                raise oserror(errno.EACCES, "pid_max is writable by the namespace's root")
            if not text:
                return
            write_pid_max(ns, text, k.pid_max_min, k.pid_max_limit)
        elif node.name in ("core_pattern", "suid_dumpable"):
            # Mode 0644: proc_sys_permission's test_perm gives the owner bits to euid 0 only.
            if cur.cred.euid != 0:
                raise oserror(errno.EACCES, f"{path} is writable by root only")
            if not text:
                return
            if node.name == "core_pattern":
                k.set_core_pattern(text)
            else:
                k.set_suid_dumpable(parse_dointvec(text))
        else:
            # Mode 0666: the handler checks the capability.
            if not credmod.checkpoint_restore_ns_capable(cur.cred):
                raise oserror(errno.EPERM, "ns_last_pid needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE")
            if not text:
                return
            write_ns_last_pid(ns, text)
        return
    if node.kind in ("dir", "root"):
        raise oserror(errno.EISDIR, path)
    if not credmod.capable(cur.cred, CAP_DAC_OVERRIDE) and node.kind != "ns":
        raise oserror(errno.EACCES, path)
    raise oserror(errno.EINVAL, f"{path} cannot be written")

