"""Every deliberate difference between the model and the live kernel, with its reason.

Tests and the conformance report tolerate these and nothing else; each is
handled by an explicit API (`k.top_level`, comparisons by equality and
order) rather than by loosening a comparison.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Difference:
    key: str
    what: str
    why: str
    handled_by: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        "pidfs-ino", "absolute pidfs inode numbers (st_ino of pidfds, file-handle bytes)",
        "pidfs numbers are global on a live system: every process of the machine takes "
        "one, so only equality and order of the numbers mean something",
        "compare inode numbers by equality and order; the model starts its counter at 2"),
    Difference(
        "ns-inum", "pid namespace inode numbers (pid:[N] of /proc/<pid>/ns/pid)",
        "Linux hands them out from the machine-wide proc inode pool",
        "compare them by equality; the model numbers namespaces from 0xF0000000 upwards"),
    Difference(
        "depth", "how deep namespaces can nest below the top one",
        "the model's top namespace is the initial one (level 0); the live sandbox is a "
        "child of the controller's namespace, so fewer than 32 levels remain below it",
        "k.top_level: MAX_PID_NS_LEVEL - k.top_level nested namespaces fit below k.init"),
    Difference(
        "caps", "the capability sets of k.init",
        "root's live sandbox inherits the machine's bounding set (this one lacks "
        "CAP_SYS_RESOURCE); the model's init has every capability, and so has the init "
        "of an ordinary user's sandbox, but only in its own user namespace ('userns-caps')",
        "tests set the capabilities they need with capset before comparing them"),
    Difference(
        "userns-ids", "uids and gids outside the live sandbox's user namespace (k.id_map)",
        "an ordinary user's sandbox needs a user namespace of its own; it maps the user's "
        "own uid and gid to 0 and, where /etc/subuid and /etc/subgid give the user a range "
        "and newuidmap/newgidmap are installed, that range to 1..N (k.id_map.uids), else "
        "nothing more: Linux fails set*id to any other id with EINVAL (make_kuid), while "
        "the model, which has one user namespace, takes every id",
        "the live set*id methods raise pidlab.Unsupported for such an id (a test meeting "
        "it is skipped with that reason); conformance.helpers.skip_unless_ids checks "
        "first, and the fuzzer draws its ids from k.id_map"),
    Difference(
        "userns-owner", "owners that an ordinary user's sandbox cannot map",
        "pidfs and nsfs inodes, /dev/null and kernel.ns_last_pid belong to the machine's "
        "root (GLOBAL_ROOT_UID: 6.18 gives pidfs inodes no other owner), which no user "
        "namespace of an ordinary user maps; fstat shows such an owner as the overflow ids "
        "(kernel.overflowuid, 65534: from_kuid_munged), the model, whose top namespace is "
        "the initial one, as 0",
        "conformance.helpers.machine_root(kernel) gives the ids a test expects; "
        "LiveKernel.file_owner(task, fd) names an owner as the model does (the sandbox's id "
        "where the map has it, the initial namespace's otherwise); traces record it beside "
        "every fstat, so that pidlab compare and the fuzzer compare owners in those names"),
    Difference(
        "userns-caps", "capabilities of an ordinary user's sandbox",
        "they are capabilities in its own user namespace only: checks against the initial "
        "namespace (capable(): trusted.* xattrs, writing security.*, open_by_handle_at of "
        "a filesystem other than pidfs, which needs CAP_DAC_READ_SEARCH there) fail, and "
        "no capability reaches an inode whose owner the namespace cannot map "
        "(capable_wrt_inode_uidgid: a pidfd's xattrs, O_NOATIME on a pidfd)",
        "the live xattr methods raise pidlab.Unsupported for pidfds, trusted.* and "
        "security.* writes in a user namespace; tests of the other cases skip through "
        "conformance.helpers.skip_in_user_namespace, with this reason"),
    Difference(
        "top-init", "what kind of init k.init is",
        "the model's top namespace has the numbers and pid_max of Linux's initial "
        "namespace, but its init behaves as a namespace init, like the live sandbox's: "
        "Linux's global init would also refuse SIGKILL/SIGSTOP sent by the kernel, be "
        "skipped by the orphaned-process-group test, and panic the machine when it dies; "
        "pidlab's k.init takes forced signals, counts as a parent outside the group, and "
        "its death tears the namespace down",
        "nothing to handle: both backends agree"),
    Difference(
        "fd-ceiling", "file descriptors from 1024 - 128 up on the live backend",
        "agents keep their channels at the top of the descriptor space; RLIMIT_NOFILE is "
        "1024 on both backends, but the agents' channels live above it only when the "
        "machine's hard limit allows, otherwise the live ceiling is lower",
        "scenarios keep below 896 open descriptors per task"),
    Difference(
        "mnt-id", "the mnt_id line of a pidfd's fdinfo",
        "it is the id of the machine's pidfs mount, made at boot (4 on this machine)",
        "compare it by equality; the model says 15"),
    Difference(
        "status-lines", "the lines of /proc/<pid>/status",
        "the model writes only the lines of the pid subsystem (Name, State, Tgid, Ngid, Pid, "
        "PPid, TracerPid, Uid, Gid, NStgid, NSpid, NSpgid, NSsid, Kthread, Threads, SigIgn, "
        "SigCgt and the capability sets); Linux adds memory, scheduling and other lines",
        "comparisons take the lines in COMPARED_STATUS_LINES (the capability sets differ by "
        "'caps')"),
    Difference(
        "host-sysctls", "kernel.core_pattern, fs.suid_dumpable and the hard RLIMIT_CORE",
        "they are global to the machine: the model starts from Linux's defaults ('core', 0, "
        "RLIM_INFINITY) and lets a scenario change them; the live sandbox inherits the "
        "host's and never writes them",
        "tests that depend on them read them first and skip the live half when the host "
        "differs, saying so"),
    Difference(
        "zombie-leader-signal",
        "a thread-directed signal (tgkill, tkill, rt_tgsigqueueinfo, a PIDFD_THREAD pidfd, "
        "PIDFD_SIGNAL_THREAD) aimed at an exited thread: a zombie group leader whose other "
        "threads still run",
        "this machine's 6.18.44 build (6.18.44-fc-v669) drops it whole before prepare_signal: "
        "nothing is queued, a SIGCONT continues nothing, the call succeeds; Debian's 6.1.192 "
        "and 6.12.117 queue it on the zombie's own pending set (SigPnd shows it) after "
        "prepare_signal, so a SIGCONT continues the stopped group and reports CLD_CONTINUED, "
        "as kernel/signal.c reads in 6.18.y (a 6.18.49 tree) and in linux-next of the 7.0 "
        "merge window (do_send_sig_info -> send_signal_locked -> __send_signal_locked -> "
        "prepare_signal, no exit_state test); no upstream change that drops it was found, so "
        "there is no change record and the model follows this machine at every version",
        "test_signals.py probes each live kernel (tgkill SIGUSR1 to such a leader, then its "
        "SigPnd): where the kernel queues, the scenarios of the drop skip with this reason "
        "and those of the queue run; the model and this machine run the first"),
    Difference(
        "unsupported", "calls one backend cannot carry out (pidlab.Unsupported)",
        "the model has no user namespaces, no prctl options beyond those of the API, "
        "no resource limit but RLIMIT_CORE, no /proc entries beyond those of the API "
        "(status, comm, the pid ns links, fdinfo of pidfds, the fd links of pidfds, sockets, "
        "nsfs files and /dev/null, four sysctls; not the paths of /proc files behind "
        "descriptors nor fdinfo of other files, whose mount and inode ids are the host's): "
        "every other entry Linux has is in the tables of model/procfs.py and Unsupported; "
        "neither backend can tell the errno of an execve of a path that names a directory "
        "('dir/', 'x/..'); the live backend writes no global sysctl and no file outside /proc; "
        "the live agents are Python processes, so a CLONE_VM child that is not a thread, "
        "CLONE_VFORK, set_tid for a thread, and an execve by ids that cannot reach the "
        "interpreter (one under /root, say) cannot run there",
        "both backends raise pidlab.Unsupported with the reason; tests skip such cases"),
)


# The /proc/<pid>/status lines that both backends must agree on.
COMPARED_STATUS_LINES = ("Name", "State", "Tgid", "Ngid", "Pid", "PPid", "TracerPid", "Uid",
                         "Gid", "NStgid", "NSpid", "NSpgid", "NSsid", "Kthread", "Threads",
                         "SigIgn", "SigCgt")


def status_subset(text: str) -> str:
    """The lines of a status file that are compared between backends, in order."""
    keep = [ln for ln in text.splitlines() if ln.partition(":")[0] in COMPARED_STATUS_LINES]
    return "\n".join(keep) + ("\n" if keep else "")


def difference(key: str) -> Difference:
    """The entry named `key` (KeyError for a difference pidlab does not know)."""
    for d in DIFFERENCES:
        if d.key == key:
            return d
    raise KeyError(key)


def describe() -> str:
    return "\n".join(f"- {d.what}: {d.why}. Handled by: {d.handled_by}." for d in DIFFERENCES)
