"""Which kernel does what: behaviours probed on the model at every version and on live kernels.

A `Probe` is one question a program asks of the PID subsystem ("what does
pidfd_open of a non-leader thread return?"), written against the public API
only, so that the same probe runs on `pidlab.Kernel(version=V)` and on a
`pidlab.LiveKernel`.  Its answer is a short string: an errno name, "ok", a
value.

* `features()` asks every probe of the model at every version and names, for
  each change of answer, the upstream change responsible: the one that, switched
  on in the older version, gives the newer answer (pidlab/_changes.py is the
  table the model itself runs on).
* `detect()` asks every probe of a live kernel and says, probe by probe, which
  versions of the model answer the same; a kernel that answers like a newer
  version than its release (a backport) or like none (a distribution patch) is
  flagged, because `uname -r` lies.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

from . import constants as C
from . import versions
from .api import PidlabError, Unsupported

Answer = str


@dataclasses.dataclass(frozen=True)
class Probe:
    key: str
    question: str
    fn: Callable[[Any], Answer]
    # The answer depends on machine-wide state (inode numbers): not asked of live kernels.
    model_only: bool = False


def _err(e: OSError) -> str:
    return C.errno_name(e.errno)


def ask(probe: Probe, k: Any) -> Answer:
    """The probe's answer on backend `k` (errors become their names)."""
    try:
        return probe.fn(k)
    except OSError as e:
        return _err(e)
    except Unsupported as e:
        return f"unsupported: {e}"
    except PidlabError as e:
        return f"{type(e).__name__}: {e}"


def _try(fn: Callable[[], Any]) -> str:
    try:
        r = fn()
    except OSError as e:
        return _err(e)
    return "ok" if r is None or isinstance(r, int) else str(r)


# ---------------------------------------------------------------- the probes

def _pidfd_of_child(k: Any) -> tuple[Any, int]:
    c = k.init.fork()
    return c, k.init.pidfd_open(c.pid)


def p_fs(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    t = k.init.fstatfs(fd).f_type
    return {C.PID_FS_MAGIC: "pidfs", C.ANON_INODE_FS_MAGIC: "anon_inodefs"}.get(t, hex(t))


def p_inode_per_pid(k: Any) -> Answer:
    _, a = _pidfd_of_child(k)
    _, b = _pidfd_of_child(k)
    same = k.init.fstat(a).st_ino == k.init.fstat(b).st_ino
    return "one inode for every pidfd" if same else "an inode per process"


def p_mode(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return oct(k.init.fstat(fd).st_mode)


def p_link(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    link = k.init.readlink(f"/proc/self/fd/{fd}")
    return "pidfd:[INO]" if link.startswith("pidfd:[") else link


def p_first_ino(k: Any) -> Answer:
    """Model only: the inode number of pid 1's pidfd on a fresh machine."""
    fd = k.init.pidfd_open(1)
    return str(k.init.fstat(fd).st_ino)


def p_open_thread_flag(k: Any) -> Answer:
    return _try(lambda: k.init.pidfd_open(k.init.getpid(), C.PIDFD_THREAD))


def p_open_non_leader(k: Any) -> Answer:
    t = k.init.spawn_thread()
    return _try(lambda: k.init.pidfd_open(t.pid))


def p_open_taskless(k: Any) -> Answer:
    """A number still in use as a process group's, whose leader was reaped."""
    leader = k.init.fork()
    leader.task.setpgid(0, 0)
    member = leader.task.fork()
    del member
    leader.task.exit_group(0)
    k.init.waitpid(leader.pid, 0)
    return _try(lambda: k.init.pidfd_open(leader.pid))


def p_clone_pidfd_thread(k: Any) -> Answer:
    flags = C.CLONE_THREAD | C.CLONE_VM | C.CLONE_SIGHAND | C.CLONE_FS | C.CLONE_FILES
    return _try(lambda: k.init.clone(flags, exit_signal=0, pidfd=True) and None)


def p_poll_after_reap(k: Any) -> Answer:
    c, fd = _pidfd_of_child(k)
    c.task.exit_group(0)
    k.init.waitpid(c.pid, 0)
    return _poll_names(k.init.poll([fd], C.POLLIN | C.POLLRDNORM)[fd])


def _poll_names(mask: int) -> str:
    names = [n for n in ("POLLIN", "POLLRDNORM", "POLLHUP", "POLLERR", "POLLNVAL")
             if mask & getattr(C, n)]
    return "|".join(names) or "0"


def p_poll_thread_pidfd_of_early_leader(k: Any) -> Answer:
    """A PIDFD_THREAD pidfd of a leader that exited while its other thread runs."""
    c = k.init.fork()
    c.task.spawn_thread()
    fd = k.init.pidfd_open(c.pid, C.PIDFD_THREAD)
    c.task.exit(0)
    return _poll_names(k.init.poll([fd], C.POLLIN | C.POLLRDNORM)[fd])


def p_signal_scope(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.pidfd_send_signal(fd, 0, C.PIDFD_SIGNAL_THREAD))


def p_self_thread(k: Any) -> Answer:
    return _try(lambda: k.init.pidfd_send_signal(C.PIDFD_SELF_THREAD, 0))


def p_self_group_10001(k: Any) -> Answer:
    return _try(lambda: k.init.pidfd_send_signal(-10001, 0))


def p_self_group_20000(k: Any) -> Answer:
    return _try(lambda: k.init.pidfd_send_signal(-20000, 0))


def p_ns_ioctl(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.ioctl(fd, C.PIDFD_GET_PID_NAMESPACE) and None)


def p_foreign_ioctl(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.ioctl(fd, C.TCGETS, bytes(60)) and None)


def p_get_info(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: f"mask {k.init.pidfd_get_info(fd, 0).mask:#x}")


def p_get_info_exit(k: Any) -> Answer:
    c, fd = _pidfd_of_child(k)
    c.task.exit_group(3)
    k.init.waitpid(c.pid, 0)

    def go() -> str:
        info = k.init.pidfd_get_info(fd, C.PIDFD_INFO_EXIT)
        return f"mask {info.mask:#x}, exit_code {info.exit_code:#x}"
    return _try(go)


def p_get_info_short(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.pidfd_get_info(fd, 0, size=56) and None)


def p_get_info_outside(k: Any) -> Answer:
    """GET_INFO from a child pid namespace of a pidfd of its parent namespace's init."""
    fd = k.init.pidfd_open(k.init.getpid())
    ns = k.init.clone(C.CLONE_NEWPID)          # inherits the descriptor
    return _try(lambda: ns.task.pidfd_get_info(fd, C.PIDFD_INFO_EXIT) and None)


def p_get_info_ppid_outside(k: Any) -> Answer:
    """PIDFD_GET_INFO, from inside a pid namespace, of a process (not its init) whose parent
    is outside it: one forked there after setns."""
    ns = k.init.clone(C.CLONE_NEWPID)
    nsfd = k.init.open(f"/proc/{ns.pid}/ns/pid")
    k.init.setns(nsfd, C.CLONE_NEWPID)
    c = k.init.fork()
    inner = c.task.numbers[-1]
    fd = ns.task.pidfd_open(inner)
    return _try(lambda: f"ppid {ns.task.pidfd_get_info(fd, 0).ppid}")


def p_get_info_coredump_reaped(k: Any) -> Answer:
    c, fd = _pidfd_of_child(k)
    c.task.exit_group(0)
    k.init.waitpid(c.pid, 0)

    def go() -> str:
        info = k.init.pidfd_get_info(fd, C.PIDFD_INFO_EXIT | C.PIDFD_INFO_COREDUMP)
        return "COREDUMP set" if info.mask & C.PIDFD_INFO_COREDUMP else "COREDUMP not set"
    return _try(go)


def p_get_info_supported(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)

    def go() -> str:
        info = k.init.pidfd_get_info(fd, C.PIDFD_INFO_SUPPORTED_MASK, size=C.PIDFD_INFO_SIZE_VER2)
        return f"supported_mask {info.supported_mask:#x}"
    return _try(go)


def p_get_info_tail(k: Any) -> Answer:
    """A struct larger than the kernel's: is its tail zeroed or left as it was?"""
    _, fd = _pidfd_of_child(k)

    def go() -> str:
        size = 96
        buf = bytes(8) + b"\xff" * (size - 8)
        out = k.init.ioctl(fd, C.PIDFD_GET_INFO(size), buf)
        return "tail zeroed" if out[-1] == 0 else "tail left as it was"
    return _try(go)


def p_fhandle(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.name_to_handle_at(fd, "", C.AT_EMPTY_PATH) and None)


def p_fd_pidfs_root(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    try:
        h = k.init.name_to_handle_at(fd, "", C.AT_EMPTY_PATH)
    except OSError as e:
        return f"no handle ({_err(e)})"
    return _try(lambda: k.init.open_by_handle_at(C.FD_PIDFS_ROOT, h) and None)


def p_getversion(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    def go() -> str:
        raw = k.init.ioctl(fd, C.FS_IOC_GETVERSION, bytes(4))
        return f"generation {int.from_bytes(raw, 'little')}"
    return _try(go)


def p_xattr(k: Any) -> Answer:
    _, fd = _pidfd_of_child(k)
    return _try(lambda: k.init.fsetxattr(fd, "trusted.pidlab", b"1"))


def p_xattr_order(k: Any) -> Answer:
    """A bad descriptor and a bad name at once: which is checked first?"""
    return _try(lambda: k.init.fsetxattr(999, "", b""))


def p_peerpidfd(k: Any) -> Answer:
    a, _b = k.init.socketpair()
    return _try(lambda: k.init.getsockopt(a, C.SOL_SOCKET, C.SO_PEERPIDFD) and None)


def p_peerpidfd_reaped(k: Any) -> Answer:
    c = k.init.fork()
    a, _b = c.task.socketpair()
    pidfd = k.init.pidfd_open(c.pid)
    mine = k.init.pidfd_getfd(pidfd, a)
    c.task.exit_group(0)
    k.init.waitpid(c.pid, 0)
    return _try(lambda: k.init.getsockopt(mine, C.SOL_SOCKET, C.SO_PEERPIDFD) and None)


def p_pid_max_scope(k: Any) -> Answer:
    """Write pid_max in a child namespace: does the parent's change?"""
    ns = k.init.clone(C.CLONE_NEWPID)
    before = k.init.read_text("/proc/sys/kernel/pid_max")
    try:
        ns.task.write_text("/proc/sys/kernel/pid_max", "5000")
    except Unsupported:
        return "one value for the whole machine (the live backend does not write it here)"
    after = k.init.read_text("/proc/sys/kernel/pid_max")
    return "one value for the whole machine" if after != before else "each namespace's own"


def p_new_ns_pid_max(k: Any) -> Answer:
    ns = k.init.clone(C.CLONE_NEWPID)
    inner = int(ns.task.read_text("/proc/sys/kernel/pid_max"))
    outer = int(k.init.read_text("/proc/sys/kernel/pid_max"))
    return "PID_MAX_LIMIT" if inner == C.PID_MAX_LIMIT and outer != inner else \
        "the parent's" if inner == outer else str(inner)


PROBES: tuple[Probe, ...] = (
    Probe("pidfd-fs", "fstatfs(pidfd).f_type: the pidfd's filesystem", p_fs),
    Probe("pidfd-inode", "fstat(pidfd).st_ino of two processes' pidfds", p_inode_per_pid),
    Probe("pidfd-mode", "fstat(pidfd).st_mode", p_mode),
    Probe("pidfd-link", "readlink /proc/self/fd/<pidfd>", p_link),
    Probe("pidfd-first-ino", "st_ino of pid 1's pidfd on a fresh machine", p_first_ino,
          model_only=True),
    Probe("open-thread-flag", "pidfd_open(pid, PIDFD_THREAD)", p_open_thread_flag),
    Probe("open-non-leader", "pidfd_open(tid, 0) of a thread that is not a group leader",
          p_open_non_leader),
    Probe("open-taskless", "pidfd_open of a pid with no task (a process group's number "
                           "after its leader was reaped)", p_open_taskless),
    Probe("clone-pidfd-thread", "clone3(CLONE_THREAD | CLONE_PIDFD)", p_clone_pidfd_thread),
    Probe("poll-reaped", "poll(pidfd) once the process was reaped", p_poll_after_reap),
    Probe("poll-early-leader", "poll(PIDFD_THREAD pidfd) of a leader that exited before its "
                               "thread", p_poll_thread_pidfd_of_early_leader),
    Probe("signal-scope", "pidfd_send_signal(pidfd, 0, PIDFD_SIGNAL_THREAD)", p_signal_scope),
    Probe("self-thread", "pidfd_send_signal(PIDFD_SELF_THREAD = -10000, 0)", p_self_thread),
    Probe("self-group-10001", "pidfd_send_signal(-10001, 0) (PIDFD_SELF_THREAD_GROUP from "
                              "6.17)", p_self_group_10001),
    Probe("self-group-20000", "pidfd_send_signal(-20000, 0) (PIDFD_SELF_THREAD_GROUP in "
                              "6.15-6.16)", p_self_group_20000),
    Probe("ns-ioctl", "ioctl(pidfd, PIDFD_GET_PID_NAMESPACE)", p_ns_ioctl),
    Probe("foreign-ioctl", "ioctl(pidfd, TCGETS) (what isatty() asks)", p_foreign_ioctl),
    Probe("get-info", "ioctl(pidfd, PIDFD_GET_INFO) of a running process", p_get_info),
    Probe("get-info-exit", "PIDFD_GET_INFO(PIDFD_INFO_EXIT) after the reap (exit status 3)",
          p_get_info_exit),
    Probe("get-info-short", "PIDFD_GET_INFO with a 56-byte struct", p_get_info_short),
    Probe("get-info-outside", "PIDFD_GET_INFO of a process outside the caller's pid namespace",
          p_get_info_outside),
    Probe("get-info-ppid-outside", "PIDFD_GET_INFO of a namespace init, from inside (its parent "
                                   "is outside)", p_get_info_ppid_outside),
    Probe("get-info-coredump", "PIDFD_GET_INFO(EXIT | COREDUMP) of a reaped process that "
                               "dumped no core", p_get_info_coredump_reaped),
    Probe("get-info-supported", "PIDFD_GET_INFO(PIDFD_INFO_SUPPORTED_MASK)", p_get_info_supported),
    Probe("get-info-tail", "PIDFD_GET_INFO with a 96-byte struct whose tail is not zero",
          p_get_info_tail),
    Probe("fhandle", "name_to_handle_at(pidfd, \"\", AT_EMPTY_PATH)", p_fhandle),
    Probe("fd-pidfs-root", "open_by_handle_at(FD_PIDFS_ROOT, handle)", p_fd_pidfs_root),
    Probe("getversion", "ioctl(pidfd, FS_IOC_GETVERSION)", p_getversion),
    Probe("xattr", "fsetxattr(pidfd, \"trusted.pidlab\", ...) as root", p_xattr),
    Probe("xattr-order", "fsetxattr(bad fd, empty name): which error wins", p_xattr_order),
    Probe("peerpidfd", "getsockopt(SO_PEERPIDFD)", p_peerpidfd),
    Probe("peerpidfd-reaped", "getsockopt(SO_PEERPIDFD) of a peer that was reaped",
          p_peerpidfd_reaped),
    Probe("pid-max-scope", "/proc/sys/kernel/pid_max written in a child pid namespace",
          p_pid_max_scope),
    Probe("new-ns-pid-max", "a new pid namespace's pid_max", p_new_ns_pid_max),
)


def by_key(key: str) -> Probe:
    for p in PROBES:
        if p.key == key:
            return p
    raise ValueError(f"unknown probe {key!r}")


# ---------------------------------------------------------------- the model at every version

def model_answer(probe: Probe, version: str, changes: dict[str, bool] | None = None) -> Answer:
    from .model import Kernel
    with Kernel(version=version, changes=changes) as k:
        return ask(probe, k)


@dataclasses.dataclass
class Span:
    """Consecutive versions with one answer, and the change(s) that brought it."""

    first: str
    last: str
    answer: Answer
    changes: list[versions.Change]


def _responsible(probe: Probe, older: str, newer: str, answer: Answer) -> list[versions.Change]:
    return versions.responsible(older, newer,
                                lambda changes: model_answer(probe, older, changes) == answer)


def features(probes: Iterable[Probe] = PROBES,
             kernels: Iterable[str] = versions.KERNEL_VERSIONS) -> list[tuple[Probe, list[Span]]]:
    """Every probe against every version: spans of equal answers and what changed them."""
    kernels = list(kernels)
    for v in kernels:
        versions.parse(v)
    out = []
    for probe in probes:
        spans: list[Span] = []
        prev: str | None = None
        for v in kernels:
            a = model_answer(probe, v)
            if spans and spans[-1].answer == a:
                spans[-1].last = v
            else:
                why = _responsible(probe, prev, v, a) if prev is not None else []
                spans.append(Span(v, v, a, why))
            prev = v
        out.append((probe, spans))
    return out


# ---------------------------------------------------------------- a live kernel

@dataclasses.dataclass
class Verdict:
    probe: Probe
    live: Answer
    expected: Answer | None         # the model at the kernel's own version
    matching: list[str]             # the versions whose model answers the same


def _candidates() -> list[str]:
    """Every series and, where a backport lands mid-series, the sublevel before it."""
    out: list[str] = []
    for v in versions.KERNEL_VERSIONS:
        for c in versions.changes():
            for series, sub in c.backports:
                if series == v and f"{v}.{sub - 1}" not in out:
                    out.append(f"{v}.{sub - 1}")
        out.append(v)
    return out


def detect(open_kernel: Callable[[], Any], probes: Iterable[Probe] = PROBES
           ) -> tuple[str, list[Verdict]]:
    """Ask every probe of a live kernel (`open_kernel()` gives a fresh sandbox for each)
    and of the model; return the kernel's version and the verdicts."""
    cands = _candidates()
    out = []
    version = ""
    for probe in probes:
        if probe.model_only:
            continue
        with open_kernel() as k:
            answer = ask(probe, k)
            version = k.version
        if isinstance(answer, str) and answer.startswith("unsupported: "):
            # The sandbox cannot ask this here (an ordinary user's one-id namespace has
            # no root to set trusted.* xattrs as): the answer says nothing of the kernel.
            out.append(Verdict(probe, answer, None, list(cands)))
            continue
        try:
            expected: Answer | None = model_answer(probe, version)
        except ValueError:
            expected = None             # a version the model does not know
        matching = [v for v in cands if model_answer(probe, v) == answer]
        out.append(Verdict(probe, answer, expected, matching))
    return version, out


def summarize(version: str, verdicts: list[Verdict]) -> dict[str, Any]:
    """Which versions every answer fits, and the probes where the kernel does not answer as
    its own version does (a backport, a distribution patch, or a model bug)."""
    cands = _candidates()
    fits = [v for v in cands if all(v in d.matching for d in verdicts)]
    odd = [d for d in verdicts if d.expected is not None and d.live != d.expected]
    return {"version": version, "fits": fits, "mismatches": odd}
