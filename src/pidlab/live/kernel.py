"""LiveKernel: the pidlab API carried out by real tasks in a fresh pid namespace.

The controller (this module, in the caller's process) sends each system call
to the agent living in the task that makes it, waits for the result, and
then waits until the sandbox has settled -- every task asleep in its agent
loop with no signal pending, stopped, a zombie, gone, or asleep in
zap_pid_ns_processes -- so that a call returns once its effects are
visible, as in the model.  Every wait is bounded.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from typing import Any, Iterable, Iterator

from .. import args as A
from .. import versions
from ..api import (BackendUnavailable, Child, FileHandle, PidfdInfo, PidlabError,
                   StatfsResult, StatResult, TaskExited, TaskView, Unsupported, WaitidResult,
                   WouldBlock, document_syscalls, oserror)
from ..constants import (CLONE_FILES, CLONE_FS, CLONE_PIDFD, CLONE_SIGHAND, CLONE_THREAD,
                         CLONE_VM, MAX_HANDLE_SZ, O_RDONLY, PATH_MAX, PID_MAX_DEFAULT,
                         PID_MAX_LIMIT, MAX_PID_NS_LEVEL, PIDFD_THREAD, PIDS_PER_CPU_DEFAULT, POLLIN,
                         POLLRDNORM, RLIM_NLIMITS, RLIMIT_CORE, RLIMIT_NOFILE, SIGCHLD,
                         XATTR_CREATE, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX, Handler)
from . import channel
from . import native
from . import syscalls as S
from . import sysctl
from . import agent as agentmod
from . import userns as userns_mod
from .agent import HIDDEN

INVALID_ID = 0xFFFFFFFF               # (uid_t)-1
IDLE_WCHAN = {"anon_pipe_read", "pipe_read", "pipe_wait", "pipe_read_wait"}
ZAP_WCHAN = {"zap_pid_ns_processes"}
ZAP_SETTLED = 0.0035
# The settle loop's first wait: a task on its way back to its read, or to the zombie
# state after exit, gets there within tens of microseconds on the host.
SETTLE_FIRST_DELAY = 0.00005
PF_EXITING = 0x4


class LiveTimeout(PidlabError):
    """The sandbox did not answer or settle in time (a bug, never a result)."""


class Unanswered(Exception):
    """In a race (live/race.py), the task died or stopped during its call, before it
    answered: what the call returned is unknown (pidlab.stress records it as LOST)."""


class Agent:
    """The controller's end of one agent."""

    __slots__ = ("req", "rep", "host_pid", "host_tid", "dead", "handle", "namespaces", "zap_seen",
                 "native", "files", "files_of", "__weakref__")

    # The settle loop reads stat, wchan and status of every task after each call.  The
    # first KEEP_OPEN agents alive keep those files open and re-read them with pread (one
    # system call instead of three, and no path walk); the rest open them each time, so a
    # sandbox of thousands of tasks needs no more descriptors than two per task.
    KEEP_OPEN = 64
    kept = 0                            # agents (of every LiveKernel) with files kept open

    def __init__(self, req: int, rep: int, native: bool = False) -> None:
        self.req = req                  # we write requests here
        self.rep = rep                  # and read replies here
        self.native = native            # the C agent (live/native.py), not agent.py
        self.host_pid = 0
        self.host_tid = 0
        self.dead = False
        self.handle: LiveTask | None = None
        self.namespaces: tuple[int, ...] = ()     # pid namespace inodes, sandbox's first
        self.zap_seen = 0.0             # since when the settle loop finds it in zap_pid_ns_processes
        self.files: dict[str, int] | None = None    # name -> fd, while kept open
        self.files_of = (0, 0)          # the (host pid, host tid) they belong to

    def send(self, seq: int, op: str, args: tuple) -> None:
        """Request op(*args); Unsupported (nothing sent) for a call the native agent cannot make."""
        if self.native:
            channel.send_bytes(self.req, native.encode(seq, op, args))   # framed alike
        else:
            channel.send(self.req, (seq, op, args))

    def recv(self, what: str | None = None, seq: int = 0) -> Any:
        """The agent's next message; `what` is the op (a "call"'s name) of request `seq`."""
        return native.recv(self.rep, what, seq) if self.native else channel.recv(self.rep)

    @property
    def base(self) -> str:
        return f"/proc/{self.host_pid}/task/{self.host_tid}/"

    def _bytes(self, name: str) -> bytes | None:
        """One of the thread's /proc files, None once it is gone (os-level: the settle
        loop reads a few of them per task after every call).  A file kept open names the
        thread itself, not its number, which the host may give to another process once
        the thread is reaped: then the read fails with ESRCH."""
        files = self.files
        if files is None or self.files_of != (self.host_pid, self.host_tid):
            files = self._keep_open()
        if files is not None:
            fd = files.get(name)
            if fd is None:
                try:
                    fd = files[name] = os.open(self.base + name, os.O_RDONLY | os.O_CLOEXEC)
                except (FileNotFoundError, ProcessLookupError):
                    return None
            try:
                return os.pread(fd, 8192, 0)
            except ProcessLookupError:
                return None
        try:
            fd = os.open(self.base + name, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, ProcessLookupError):
            return None
        try:
            return os.read(fd, 8192)
        except ProcessLookupError:
            return None
        finally:
            os.close(fd)

    def _keep_open(self) -> dict[str, int] | None:
        self.close_files()                  # another thread's (an exec changed the tid)
        if self.dead or not self.host_tid or Agent.kept >= Agent.KEEP_OPEN:
            return None
        Agent.kept += 1
        self.files = {}
        self.files_of = (self.host_pid, self.host_tid)
        return self.files

    def close_files(self) -> None:
        if self.files is not None:
            for fd in self.files.values():
                os.close(fd)
            self.files = None
            Agent.kept -= 1

    def stat(self) -> tuple[str, int] | None:
        """(state, flags) of the agent's thread, None once it is gone."""
        data = self._bytes("stat")
        if not data:
            if self.host_tid:
                self.dead = True        # gone for good: never look at its tid again
            return None
        fields = data.rsplit(b")", 1)[1].split()
        return chr(fields[0][0]), int(fields[6])

    def _read(self, name: str) -> str:
        try:
            with open(self.base + name, errors="surrogateescape") as f:
                return f.read()
        except (FileNotFoundError, ProcessLookupError):
            return ""

    def comm(self) -> str:
        """The thread's own name (its comm file, which status's Name line escapes)."""
        try:
            with open(f"/proc/{self.host_pid}/task/{self.host_tid}/comm", "rb") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            return ""
        return os.fsdecode(data[:-1] if data.endswith(b"\n") else data)

    def settled(self) -> bool:
        st = self.stat()
        if st is None:
            return True
        state, flags = st
        if state in "ZXTt":
            return True
        wchan = (self._bytes("wchan") or b"").decode()
        if flags & PF_EXITING:
            # A namespace init sleeps in zap_pid_ns_processes while its killed tasks
            # die and are reaped, which is soon over, and for good only while zombies
            # of parents outside the namespace remain: settled once seen there
            # throughout ZAP_SETTLED seconds.
            if wchan not in ZAP_WCHAN:
                self.zap_seen = 0.0
                return False
            now = time.monotonic()
            if not self.zap_seen:
                self.zap_seen = now
            return now - self.zap_seen >= ZAP_SETTLED
        self.zap_seen = 0.0
        if state != "S" or wchan not in IDLE_WCHAN:
            return False
        status = self._bytes("status") or b""
        return _pending(status, b"\nSigPnd:") == 0 and _pending(status, b"\nShdPnd:") == 0


def _pending(status: bytes, key: bytes) -> int:
    """The signal mask on the line `key` of a /proc status file (0 if it has none)."""
    at = status.find(key)
    if at < 0:
        return 0
    start = at + len(key)
    end = status.find(b"\n", start)
    return int(status[start:end if end >= 0 else None], 16)


def _agent_kind(agent: object) -> str:
    """LiveKernel's agent= argument: "python" (agent.py, every call) or "native"."""
    if not isinstance(agent, str):
        raise TypeError("agent must be 'python' or 'native'")
    if agent not in ("python", "native"):
        raise ValueError(f"agent must be 'python' or 'native', not {agent!r}")
    return agent


# How a sandbox's holder starts: a fresh interpreter ("spawn": the controller may
# have threads), or a fork of the controller ("fork": only for a single-threaded
# controller such as the guest server, where an interpreter start costs seconds).
HOLDER_START = "spawn"


class LiveKernel:
    """The running Linux kernel, inside a fresh pid namespace sandbox.

    LiveKernel(kernel="6.1" | "6.12") is a sandbox inside a virtual machine that
    runs Debian's kernel of that series (live/machine.py); kernel=None (or the
    running kernel's own series) is this machine's kernel.

    Sysctls (live/sysctl.py has the audit): kernel.pid_max is written only where
    it is the sandbox's own (6.14+) or, before 6.14, inside pidlab's own virtual
    machine, where the machine's value comes back when the last sandbox closes;
    host_rules=True keeps a guest's sandbox to a host's rules (it never writes a
    machine-wide pid_max), which is how the tests show what a host would do.

    agent="native" drives every task with the small C agent (live/native.py,
    built with the C compiler at first use) instead of a Python one: fork,
    clone without CLONE_VM, exit, wait, unshare, setns, integer prctls and
    system calls, several times faster; any other call raises Unsupported
    before anything is sent.  agent="python" (the default) makes every call.
    """

    name = "live"

    def __new__(cls, timeout: float = 10.0, log: str | None = None, *,
                kernel: str | None = None, host_rules: bool = False,
                agent: str = "python") -> Any:
        _agent_kind(agent)
        if kernel is None or cls is not LiveKernel:
            return super().__new__(cls)
        if not isinstance(kernel, str):
            raise TypeError("kernel must be a str such as '6.12'")
        from . import images
        if kernel in ("host", running_series()):
            return super().__new__(cls)
        if kernel not in images.SERIES:
            raise BackendUnavailable(
                f"no live kernel {kernel!r}: this machine runs {running_series()}, and pidlab "
                f"boots {', '.join(images.SERIES)} in a virtual machine")
        from .remote import GuestKernel
        return GuestKernel.start(kernel, timeout=timeout, log=log, host_rules=host_rules,
                                 agent=agent)

    def __init__(self, timeout: float = 10.0, log: str | None = None, *,
                 kernel: str | None = None, host_rules: bool = False,
                 agent: str = "python") -> None:
        if sys.platform != "linux":
            raise BackendUnavailable("the live backend needs Linux")
        # The native agent is built (or found in the cache) before anything starts.
        self.agent = _agent_kind(agent)
        native_binary = native.binary() if agent == "native" else None
        self.release = os.uname().release
        self.version = kernel_version()
        try:
            # The changes the model gives this kernel's version (the stable sublevel decides):
            # what the scenarios expect of it.  Where it differs, the kernel is right.
            self.changes: frozenset[str] | None = versions.changeset(self.version)
        except ValueError:
            self.changes = None
        self.timeout = timeout
        self.ncpus = possible_cpus()
        # Before any write: is kernel.pid_max this sandbox's own (6.14+) or the machine's?
        self.pid_max_scope = sysctl.pid_max_scope()
        self.in_own_guest = sysctl.in_own_guest() and not host_rules
        # Whether the sandbox may write pid_max: its own, or the machine's inside pidlab's
        # own virtual machine (restored when the last sandbox closes); never a host's.
        self.pid_max_writable = self.pid_max_scope.per_namespace or self.in_own_guest
        self._restore_pid_max = not self.pid_max_scope.per_namespace and self.in_own_guest
        # A machine-wide value is set to the model's default by the first sandbox only:
        # sandboxes open at the same time share it, as such a kernel's namespaces do.
        first = sysctl.MachinePidMax.acquire() if self._restore_pid_max else False
        write_default = self.pid_max_scope.per_namespace or first
        if write_default:
            self.pid_max_default = min(PID_MAX_LIMIT, max(PID_MAX_DEFAULT,
                                                          PIDS_PER_CPU_DEFAULT * self.ncpus))
        else:
            self.pid_max_default = sysctl.read_pid_max()    # the machine's, left as it is
        self._seq = itertools.count(1)
        self._agents: list[Agent] = []
        self._closed = False
        self._last: Agent | None = None     # the agent that answered last
        # While pidlab.stress runs a scenario's threads (live/race.py): the race their calls
        # go through, so that calls of different tasks are in flight at the same time.
        self._race: Any = None
        self._holder: subprocess.Popen | None = None
        self._procbase = tempfile.mkdtemp(prefix="pidlab-proc-")
        userns = os.geteuid() != 0
        self._userns_wanted = userns
        # An ordinary user's sandbox needs a user namespace: a range of ids where the
        # machine grants one (newuidmap), else one id (live/userns.py).
        plan = userns_mod.plan() if userns else None
        sync_parent = sync_child = None
        if plan is not None and plan.subids:
            sync_parent, sync_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        _, hard = S.getrlimit_nofile()
        top = min(hard, 65536) - 1
        if top < 1024 + HIDDEN:
            top = max(top, HIDDEN + 64)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        tid_addr = S.glibc_tid_address()
        S._libc.pthread_self.restype = __import__("ctypes").c_void_p
        tid_off = tid_addr - S._libc.pthread_self() if tid_addr else -1
        params = dict(controller=os.getpid(), ctl=ctl_r, req=req_r, rep=rep_w, userns=userns,
                      procbase=self._procbase,
                      pid_max=self.pid_max_default if write_default else None,
                      pid_max_writable=self.pid_max_writable, top=top,
                      tid_off=tid_off, log=log or os.environ.get("PIDLAB_AGENT_LOG"),
                      native=native_binary,
                      sync=None if sync_child is None else sync_child.fileno())
        import json
        err = tempfile.TemporaryFile()
        passed = (ctl_r, req_r, rep_w) + (() if sync_child is None else (sync_child.fileno(),))
        try:
            if HOLDER_START == "fork" and not userns:
                self._holder = _ForkedHolder(params, passed, err.fileno())
            else:
                self._holder = subprocess.Popen(
                    agentmod.python_argv("pidlab.live.sandbox", json.dumps(params)),
                    pass_fds=passed, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                    env=_child_env())
        except OSError as e:
            for fd in (ctl_w, req_w, rep_r):
                os.close(fd)
            if sync_parent is not None:
                sync_parent.close()
            err.close()
            shutil.rmtree(self._procbase, ignore_errors=True)
            if self._restore_pid_max:
                sysctl.MachinePidMax.release()
            raise BackendUnavailable(f"cannot start the sandbox: {sys.executable}: "
                                     f"{e.strerror}") from None
        finally:
            os.close(ctl_r)
            os.close(req_r)
            os.close(rep_w)
            if sync_child is not None:
                sync_child.close()
        self._ctl = ctl_w
        init = Agent(req_w, rep_r, native_binary is not None)
        self._agents.append(init)
        self._finalizer = weakref.finalize(self, _teardown, self._holder, ctl_w, self._agents,
                                           self._procbase, self._restore_pid_max)
        why_one_id = plan.why_not if plan is not None else ""
        try:
            deadline = time.monotonic() + max(timeout, 20.0)
            if sync_parent is not None:
                why_one_id = self._map_user_namespace(plan, sync_parent, deadline)
            self._hello(init, deadline=deadline)
        except (LiveTimeout, EOFError, OSError) as e:
            self.close()
            err.seek(0)
            why = err.read().decode(errors="replace").strip() or str(e)
            if userns:
                why += " (not root: an unprivileged user namespace is needed; " \
                       "check /proc/sys/user/max_user_namespaces and " \
                       "kernel.apparmor_restrict_unprivileged_userns)"
            raise BackendUnavailable(f"cannot start the sandbox: {why}") from None
        finally:
            err.close()
            if sync_parent is not None:
                sync_parent.close()
        self.id_map = self._read_id_map(init, why_one_id)
        self._init = LiveTask(self, init)
        init.handle = self._init
        self.top_level = _level_of(init.host_pid)
        # How many NSpid entries the controller's /proc shows above the sandbox.
        self._host_depth = _nspid_len(init.host_pid) - 1

    # ------------------------------------------------------------------ public

    @property
    def init(self) -> "LiveTask":
        return self._init

    def tasks(self) -> Iterator["LiveTask"]:
        """Every task of the sandbox that has not been reaped, by top-level number."""
        self._settle()
        views = {}
        for a in self._agents:
            if a.dead or a.handle is None:
                continue
            nums = a.handle.numbers
            if nums:
                views[nums[0]] = a.handle
        for nr in sorted(views):
            yield views[nr]

    def snapshot(self) -> list[TaskView]:
        """Every task with its numbers and namespaces at every level (from the host's /proc)."""
        tasks = list(self.tasks())
        by_host = {t._a.host_tid: t for t in tasks}
        out = []
        for t in tasks:
            a = t._a
            status = a._read("status")
            if not status:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            nums = tuple(int(x) for x in fields["NSpid"].split())[self._host_depth:]
            tgid_host = int(fields["Tgid"])
            leader = by_host.get(tgid_host)
            parent = by_host.get(int(fields["PPid"]))
            out.append(TaskView(nums, a.namespaces[-len(nums):] if a.namespaces else (),
                                leader.numbers[0] if leader is not None and leader.numbers else nums[0],
                                parent.numbers[0] if parent is not None and parent.numbers else 0,
                                fields["State"].split()[0], a.comm()))
        return out

    def close(self) -> None:
        """Kill the sandbox's init (and so every task in it) and wait for it."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    def has(self, key: str) -> bool:
        """Whether the model gives this kernel's version the change `key` (pidlab.changes())."""
        if self.changes is None:
            raise Unsupported(f"the model knows no Linux {self.version}: it cannot say what "
                              "this kernel should do")
        versions.introduced(key)            # ValueError for an unknown key
        return key in self.changes

    def __enter__(self) -> "LiveKernel":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<pidlab.LiveKernel {'closed' if self._closed else 'running'}>"

    @property
    def userns(self) -> bool:
        """Whether the sandbox lives in a user namespace of its own (not root's sandbox)."""
        return self.id_map.userns

    def file_owner(self, task: "LiveTask", fd: int) -> tuple[int, int]:
        """Introspection, not a system call: the uid and gid owning the file behind `fd`
        of `task`, named as the model names owners -- the sandbox's ids where its user
        namespace maps them, otherwise the initial user namespace's (the model's top
        namespace is the initial one).  fstat shows the latter as the overflow ids
        (pidlab.differences 'userns-owner'); in root's sandbox the two agree."""
        a = task._a
        st = os.stat(f"/proc/{a.host_pid}/task/{a.host_tid}/fd/{A.fd_arg(fd)}")
        m = self.id_map
        uid, gid = m.uid_in_sandbox(st.st_uid), m.gid_in_sandbox(st.st_gid)
        return (st.st_uid if uid is None else uid, st.st_gid if gid is None else gid)

    # ------------------------------------------------------------------ plumbing

    def _map_user_namespace(self, plan: "userns_mod.Plan", sync: socket.socket,
                            deadline: float) -> str:
        """Write the holder's subordinate-range map with newuidmap/newgidmap once it has
        unshared its user namespace; returns why a kind fell back to one id ("" if none)."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LiveTimeout("the holder did not unshare its user namespace in time")
            if select.select([sync], [], [], min(left, 0.05))[0]:
                break
            if self._holder is not None and self._holder.poll() is not None:
                raise EOFError("the holder exited")
        if sync.recv(1) != b"u":
            raise EOFError("the holder exited")
        done, why = userns_mod.write_with_helpers(plan, self._holder.pid, os.getuid(),
                                                  os.getgid(), max(deadline - time.monotonic(), 1))
        sync.sendall((b"u" if "uid" in done else b"") + (b"g" if "gid" in done else b"") + b".")
        return why

    def _read_id_map(self, init: Agent, why_one_id: str) -> "userns_mod.IdMap":
        if not self._userns_wanted:
            return userns_mod.INITIAL
        base = f"/proc/{init.host_pid}"
        uid, gid = userns_mod.read_map(f"{base}/uid_map"), userns_mod.read_map(f"{base}/gid_map")
        ranged = len(uid) > 1 or len(gid) > 1
        user = userns_mod.user_name()
        if ranged and not why_one_id:
            how = (f"{user}'s ranges in /etc/subuid and /etc/subgid, written by "
                   f"newuidmap/newgidmap")
        elif ranged:
            how = f"{user}'s subordinate ranges where newuidmap/newgidmap worked; one id " \
                  f"elsewhere: {why_one_id}"
        else:
            how = f"one id, the user's own: {why_one_id}"
        ou, og = userns_mod.overflow_ids()
        return userns_mod.IdMap(uid, gid, True, how, ou, og)

    def _hello(self, agent: Agent, deadline: float) -> None:
        while True:
            msg = self._recv(agent, deadline)
            if msg[0] == "hello":
                agent.host_pid, agent.host_tid = msg[1], msg[2]
                agent.namespaces = self._ns_chain(agent)
                if len(msg) > 3 and msg[3]:
                    self._mount_procfs(agent, msg[3])
                return

    def _mount_procfs(self, agent: Agent, inum: int) -> None:
        """Mount a procfs for the agent's pid namespace, which it could not mount
        itself (no CAP_SYS_ADMIN): a short-lived helper outside the sandbox's pid
        namespaces joins the agent's mount namespace and mounts one with the
        pidns option (fsconfig, Linux 6.18), so no pid number of the sandbox moves."""
        target = os.path.join(self._procbase, str(inum))
        r = subprocess.run([sys.executable, "-I", "-c", _MOUNT_PROCFS, str(agent.host_pid),
                            str(agent.host_tid), target],
                           capture_output=True, text=True, timeout=max(self.timeout, 30.0))
        if r.returncode != 0:
            why = r.stderr.strip()[-300:]
            if why.endswith("fsconfig pidns: Invalid argument"):
                # A procfs takes the pid namespace of whoever mounts it; only 6.18's pidns
                # option lets one be mounted for another without a task of its own there.
                raise Unsupported(f"Linux {self.version}'s procfs has no pidns mount option "
                                  "(6.18): the live backend cannot mount a /proc for a pid "
                                  "namespace whose init may not mount one itself")
            raise PidlabError(f"could not mount a procfs for pid namespace {inum}: {why}")

    def _ns_chain(self, agent: Agent) -> tuple[int, ...]:
        """The agent's pid namespace and its ancestors up to the sandbox's (NS_GET_PARENT)."""
        top = self._agents[0].namespaces[0] if self._agents[0].namespaces else None
        chain: list[int] = []
        try:
            fd = os.open(f"/proc/{agent.host_pid}/task/{agent.host_tid}/ns/pid", os.O_RDONLY)
        except OSError:
            return ()
        try:
            while True:
                ino = os.fstat(fd).st_ino
                chain.append(ino)
                if top is None or ino == top or len(chain) > MAX_PID_NS_LEVEL:
                    break
                parent = fcntl.ioctl(fd, agentmod.NS_GET_PARENT)
                os.close(fd)
                fd = parent
        except OSError:
            pass
        finally:
            os.close(fd)
        return tuple(reversed(chain))

    def _recv(self, agent: Agent, deadline: float, what: str | None = None) -> Any:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LiveTimeout("no answer from the agent")
            r = _readable(agent.rep, min(left, 0.05))
            if r:
                return agent.recv(what)

    def _check(self, agent: Agent) -> None:
        if self._closed:
            raise TaskExited("the LiveKernel is closed: every task of its sandbox is gone")
        st = None if agent.dead else agent.stat()
        if st is None:
            agent.dead = True           # gone for good: never look at its tid again
        if st is None or st[0] in "ZX" or st[1] & PF_EXITING:
            raise TaskExited("the task has exited and can make no system call")
        if st[0] in "Tt":
            raise WouldBlock("the task is stopped: it cannot run until it gets SIGCONT")

    def _quiet(self, agent: Agent) -> None:
        """Wait until `agent` is back in its read loop (it may still be on its way)."""
        deadline = time.monotonic() + self.timeout
        delay = SETTLE_FIRST_DELAY
        while not agent.dead and not agent.settled():
            if time.monotonic() > deadline:
                raise LiveTimeout("an agent did not return to its loop")
            time.sleep(delay)
            delay = min(delay * 2, 0.002)

    def _call(self, agent: Agent, op: str, *args: Any, settle: bool = True) -> Any:
        if self._race is not None:
            return self._race.call(agent, op, args)
        last = self._last
        if last is not None and last is not agent:
            self._quiet(last)
        self._last = agent
        self._check(agent)
        seq = next(self._seq)
        try:
            agent.send(seq, op, args)
        except BrokenPipeError:
            agent.dead = True
            raise TaskExited("the task has exited and can make no system call") from None
        deadline = time.monotonic() + self.timeout
        result: Any = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LiveTimeout(f"{op}{args}: no answer")
            r = _readable(agent.rep, min(left, 0.002))
            if r:
                try:
                    msg = agent.recv(args[0] if op == "call" else op, seq)
                except EOFError:
                    break                   # it died while making the call
                if msg[0] == "hello" or msg[0] != seq:
                    continue                # a stale answer of a task that was stopped
                if msg[1] != "ok" and settle:
                    self._settle()
                result = answer(msg)
                break
            st = agent.stat()
            if st is None or st[0] in "ZXTt" or st[1] & PF_EXITING:
                # Killed or stopped by its own call (kill(getpid(), ...), exit):
                # the call returned, its answer will never come or comes late.
                break
        if settle:
            self._settle()
        return result

    def _settle(self) -> None:
        """Wait until every task sleeps in its agent loop, is stopped, a zombie,
        gone, or asleep in zap_pid_ns_processes -- an exiting task is not settled."""
        deadline = time.monotonic() + self.timeout
        delay = SETTLE_FIRST_DELAY
        while True:
            pending = [a for a in self._agents if not a.dead and not a.settled()]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise LiveTimeout(f"the sandbox did not settle: {len(pending)} tasks still running")
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        if self._race is None:
            self._bury()

    def _bury(self) -> None:
        """Close the channels of agents that are gone (reaped: nothing more can come from
        them) and drop them from the list, once they outnumber the living, so that a long
        run keeps neither their descriptors nor a settle loop over them.  Not in a race,
        where an answer may still wait in a dead agent's pipe."""
        agents = self._agents
        dead = 0
        for a in agents:
            if a.dead:
                dead += 1
                a.close_files()
                if a.req >= 0:
                    for fd in (a.req, a.rep):
                        try:
                            os.close(fd)
                        except OSError:
                            pass
                    a.req = a.rep = -1      # never closed twice: the numbers get reused
        if dead > 16 and dead * 2 > len(agents):
            agents[1:] = [a for a in agents[1:] if not a.dead]   # in place: _teardown's list

    def _new_agent(self, parent: Agent, info: dict) -> Agent:
        """Take the child's channel from the parent with pidfd_getfd and meet it.

        Not through /proc/<pid>/fd: that directory belongs to the agent's euid, which
        an ordinary user's controller can search only while it is the user's own;
        pidfd_getfd asks for ptrace access, which the controller has over every agent
        as the owner of the sandbox's user namespace (and root has anyway)."""
        req_slot, rep_slot = info["chan"]
        try:
            req, rep = self._take_channel(parent, req_slot, rep_slot)
        except OSError:
            if self._race is None:
                raise
            # In a race (pidlab.stress) the parent can be killed as soon as clone returned:
            # its end of the child's channel is gone with its files, and the child with it
            # or out of reach.
            child = Agent(-1, -1)
            child.dead = True
            self._agents.append(child)
            return child
        child = Agent(req, rep, parent.native)     # a native agent's fork is native
        self._agents.append(child)
        # The parent lets go of its ends first, so that a child killed before its hello
        # (by another thread of a race) shows as the end of its pipe.
        if self._race is None:
            # Not waited for: the parent closes its ends while the controller meets the
            # child.  Its answer is skipped as stale by its next call, and a call of
            # another task first waits for it to be back in its loop (_quiet).
            parent.send(next(self._seq), "close_channel", (tuple(info["close"]),))
            self._last = parent
        else:
            try:
                self._call(parent, "close_channel", tuple(info["close"]), settle=False)
            except (TaskExited, Unanswered):
                pass                    # in a race the parent may be dead: its fds went with it
        try:
            self._hello(child, time.monotonic() + self.timeout)
        except EOFError:
            if self._race is None:
                raise
            child.dead = True           # killed before it could say hello
        self._quiet(child)              # as in the model, a new child sleeps when clone returns
        return child

    @staticmethod
    def _take_channel(parent: Agent, req_slot: int, rep_slot: int) -> tuple[int, int]:
        # Through the calling thread: a zombie leader has no files any more.
        try:
            pidfd = os.pidfd_open(parent.host_tid, PIDFD_THREAD)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            # Before 6.9 there are no thread pidfds: the process's, while its leader
            # still has the files, else the thread's /proc directory (root only).
            if parent.host_tid == parent.host_pid:
                pidfd = os.pidfd_open(parent.host_pid, 0)
            else:
                base = f"/proc/{parent.host_pid}/task/{parent.host_tid}/fd"
                req = os.open(f"{base}/{req_slot}", os.O_WRONLY | os.O_CLOEXEC)
                rep = os.open(f"{base}/{rep_slot}", os.O_RDONLY | os.O_CLOEXEC)
                return req, rep
        try:
            req = S.pidfd_getfd(pidfd, req_slot, 0)
            try:
                rep = S.pidfd_getfd(pidfd, rep_slot, 0)
            except OSError:
                os.close(req)
                raise
        finally:
            os.close(pidfd)
        return req, rep


def answer(msg: tuple) -> Any:
    """What an agent's answer (seq, kind, ...) stands for: the call's value, or its exception."""
    kind = msg[1]
    if kind == "ok":
        return msg[2]
    if kind == "err":
        raise oserror(msg[2], msg[3])
    if kind == "block":
        raise WouldBlock(msg[2])
    if msg[2] == "Unsupported":
        raise Unsupported(msg[3])
    if msg[2] == "TypeError":
        raise TypeError(msg[3])
    raise PidlabError(f"agent error {msg[2]}: {msg[3]}")


# Run as `python -I -c _MOUNT_PROCFS <host pid> <host tid> <target>` (x86_64 numbers).
_MOUNT_PROCFS = r"""
import ctypes, os, sys
pid, tid, target = sys.argv[1:]
libc = ctypes.CDLL(None, use_errno=True)
def check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        sys.exit(f"{what}: {os.strerror(e)}")
    return r
pidns = os.open(f"/proc/{pid}/task/{tid}/ns/pid", os.O_RDONLY)
mntns = os.open(f"/proc/{pid}/task/{tid}/ns/mnt", os.O_RDONLY)
userns = os.open(f"/proc/{pid}/task/{tid}/ns/user", os.O_RDONLY)
if os.fstat(userns).st_ino != os.stat("/proc/self/ns/user").st_ino:
    check(libc.setns(userns, 0x10000000), "setns(CLONE_NEWUSER)")  # a sandbox of a non-root user
check(libc.setns(mntns, 0x20000), "setns(CLONE_NEWNS)")
os.makedirs(target, mode=0o755, exist_ok=True)
if os.stat(target).st_dev != os.stat(os.path.dirname(target)).st_dev:
    sys.exit(0)                                     # mounted already
fs = check(libc.syscall(430, b"proc", 1), "fsopen")                       # FSOPEN_CLOEXEC
check(libc.syscall(431, fs, 5, b"pidns", None, pidns), "fsconfig pidns")  # FSCONFIG_SET_FD
check(libc.syscall(431, fs, 6, None, None, 0), "fsconfig create")         # FSCONFIG_CMD_CREATE
mnt = check(libc.syscall(432, fs, 1, 0x2 | 0x4 | 0x8), "fsmount")         # nosuid nodev noexec
check(libc.syscall(429, mnt, b"", -100, target.encode(), 4), "move_mount")  # F_EMPTY_PATH
"""

# The only sysctls whose writes stay inside the sandbox's pid namespaces.
_NAMESPACED_SYSCTLS = ("/proc/sys/kernel/pid_max", "/proc/sys/kernel/ns_last_pid")


class _ForkedHolder:
    """A holder forked from the controller (HOLDER_START == "fork"), waited for as a Popen is."""

    def __init__(self, params: dict, keep: tuple[int, ...], errfd: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                os.dup2(errfd, 2)
                start = 3                   # nothing of the controller's but the channel
                for fd in sorted(keep):
                    os.closerange(start, fd)
                    start = fd + 1
                os.closerange(start, S.getrlimit_nofile()[1])
                from . import sandbox
                sandbox.holder_main(params)
            finally:
                os._exit(3)
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("holder", timeout or 0)
            time.sleep(0.002)
        return self.returncode          # type: ignore[return-value]

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, 9)        # our own unreaped child: the pid cannot be reused


def running_series(release: str | None = None) -> str:
    """"6.18" for a release such as "6.18.44-fc-v669"."""
    parts = _numeric_release(release or os.uname().release).split(".")
    return ".".join(parts[:2])


def kernel_version(uname: os.uname_result | None = None) -> str:
    """The running kernel's version with its real stable sublevel: Debian names its 6.1
    kernels "6.1.0-57-amd64" and says the sublevel only in `uname -v` ("Debian 6.1.192-3")."""
    import re
    u = uname or os.uname()
    m = re.search(r"Debian (\d+\.\d+\.\d+)", u.version)
    if m is not None and running_series(m.group(1)) == running_series(u.release):
        return m.group(1)
    return _numeric_release(u.release)


def _numeric_release(release: str) -> str:
    """"6.18.44" for "6.18.44-fc-v669", "6.12.117" for "6.12.117+deb12-amd64"."""
    import re
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", release)
    if m is None:
        return release
    return ".".join(g for g in m.groups() if g is not None)


def _readable(fd: int, timeout: float) -> bool:
    """poll(2) for one descriptor (select() cannot watch descriptors above 1023, which a
    controller with a thousand agents has)."""
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLHUP)
    return bool(p.poll(max(0, int(timeout * 1000))))


def possible_cpus(path: str = "/sys/devices/system/cpu/possible") -> int:
    """num_possible_cpus(), which kernel/pid.c's pid_max formula uses (not the online count)."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return os.cpu_count() or 1
    n = 0
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def _level_of(host_pid: int) -> int:
    """The sandbox's pid namespace level, from the NSpid lines the host's /proc shows.

    NSpid lists a task's numbers from the /proc mount's namespace down to its
    own; the controller's /proc is taken to be the initial namespace's unless
    the controller itself is known to be nested.
    """
    def nspid(pid: int | str) -> int:
        with open(f"/proc/{pid}/status", errors="surrogateescape") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return len(line.split()) - 1
        return 1
    own = nspid("self")
    return nspid(host_pid) - own + (own - 1)


def _nspid_len(host_pid: int) -> int:
    with open(f"/proc/{host_pid}/status", errors="surrogateescape") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return len(line.split()) - 1
    return 1


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return env


def _teardown(holder: subprocess.Popen | None, ctl: int, agents: list[Agent], procbase: str,
              restore_pid_max: bool) -> None:
    try:
        os.close(ctl)                   # the holder kills the init, which ends the namespace
    except OSError:
        pass
    if holder is not None:
        try:
            holder.wait(timeout=10)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait(timeout=10)
    for a in agents:
        for fd in (a.req, a.rep):
            try:
                os.close(fd)
            except OSError:
                pass
        a.req = a.rep = -1
        a.close_files()
        a.dead = True
    shutil.rmtree(procbase, ignore_errors=True)
    if restore_pid_max:
        sysctl.MachinePidMax.release()      # the sandbox is gone: the machine's value again


class LiveTask:
    """A task of the live sandbox.  Each method is one system call made by it."""

    __slots__ = ("_k", "_a")

    def __init__(self, kernel: LiveKernel, agent: Agent) -> None:
        self._k = kernel
        self._a = agent

    def __repr__(self) -> str:
        """<Task 3/1>, as a model task prints: its numbers from the sandbox's namespace down
        (the host's pid and tid are .host_ids)."""
        a = self._a
        nums = self.numbers
        if not nums:
            return "<Task (released)>"
        st = None if a.dead else a.stat()
        state = "" if st is None else " zombie" if st[0] == "Z" else \
            " exiting" if st[1] & PF_EXITING else ""
        return f"<Task {'/'.join(map(str, nums))}{state}>"

    @property
    def host_ids(self) -> tuple[int, int]:
        """Introspection: the agent's pid and tid as the controller's /proc shows them."""
        return self._a.host_pid, self._a.host_tid

    @property
    def kernel(self) -> LiveKernel:
        return self._k

    @property
    def numbers(self) -> tuple[int, ...]:
        """Introspection, not a system call: the task's pid in every namespace from
        the sandbox's down to its own (empty once the task has been reaped)."""
        a = self._a
        if a.dead:
            return ()
        try:
            with open(f"/proc/{a.host_pid}/task/{a.host_tid}/status", errors="surrogateescape") as f:
                for line in f:
                    if line.startswith("NSpid:"):
                        nums = tuple(int(x) for x in line.split()[1:])
                        return nums[self._k._host_depth:]
        except (FileNotFoundError, ProcessLookupError):
            pass
        return ()

    def _call(self, op: str, *args: Any, settle: bool = True) -> Any:
        return self._k._call(self._a, op, *args, settle=settle)

    def _sys(self, name: str, *args: int) -> int:
        return self._k._call(self._a, "sys", name, *args, settle=False)

    # -- processes and threads ----------------------------------------------------------

    def fork(self) -> Child:
        return self.clone(0, exit_signal=SIGCHLD)

    def clone(self, flags: int = 0, *, exit_signal: int = SIGCHLD,
              set_tid: Iterable[int] = (), pidfd: bool = False) -> Child:
        flags = A.c_ulong(flags, "flags")
        exit_signal = A.c_ulong(exit_signal, "exit_signal")
        tids = A.set_tid_arg(set_tid)
        want = A.bool_arg(pidfd, "pidfd") or bool(flags & CLONE_PIDFD)
        flags &= ~CLONE_PIDFD
        k = self._k
        info = k._call(self._a, "clone", flags, exit_signal, tids, want, settle=False)
        child = k._new_agent(self._a, info)
        task = LiveTask(k, child)
        child.handle = task
        return Child(info["pid"], task, info["pidfd"])

    def spawn_thread(self) -> Child:
        return self.clone(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND | CLONE_FS | CLONE_FILES,
                          exit_signal=0)

    def execve(self, filename: str | bytes | None = None) -> None:
        """execve(2): the agent execs the Python interpreter again (it cannot run the
        file), then names itself after `filename` the way exec does: PR_SET_NAME of
        its last component in the new image.  Without a filename it keeps its name."""
        path = None if filename is None else A.filename_arg(filename)
        if path is not None:
            path = path.split(b"\0", 1)[0]         # the kernel reads a C string
            if path and len(path) < PATH_MAX and path.rpartition(b"/")[2] in (b"", b".", b".."):
                raise Unsupported(f"execve({filename!r}): the last component names a directory, "
                                  "which exec never runs; its errno (EACCES, ENOTDIR or ENOENT) "
                                  "depends on the files of the host")
        k = self._k
        a = self._a
        if a.native:
            raise native.refuse("execve")
        k._check(a)
        seq = next(k._seq)
        # de_thread kills every other thread of the process, once the exec succeeds.
        others = [o for o in k._agents if o is not a and o.host_pid == a.host_pid]
        channel.send(a.req, (seq, "execve", (seq, path)))
        deadline = time.monotonic() + max(k.timeout, 30.0)
        while True:
            msg = k._recv(a, deadline)
            if msg[0] == "hello":
                a.host_pid, a.host_tid = msg[1], msg[2]
                if len(msg) > 3 and msg[3]:
                    k._mount_procfs(a, msg[3])
                continue
            if msg[0] != seq:
                continue
            if msg[1] == "err":
                raise oserror(msg[2], msg[3])
            if msg[1] == "exc":
                raise (Unsupported if msg[2] == "Unsupported" else PidlabError)(msg[3])
            break
        for other in others:
            other.dead = True
        k._settle()

    def exit(self, status: int) -> None:
        status = A.c_int(status, "status")
        self._call("exit", status)

    def exit_group(self, status: int) -> None:
        status = A.c_int(status, "status")
        self._call("exit_group", status)

    # -- identities ------------------------------------------------------------------------

    def getpid(self) -> int:
        return self._sys("getpid")

    def gettid(self) -> int:
        return self._sys("gettid")

    def getppid(self) -> int:
        return self._sys("getppid")

    def getpgid(self, pid: int = 0) -> int:
        return self._sys("getpgid", A.pid_arg(pid))

    def getpgrp(self) -> int:
        return self._sys("getpgid", 0)

    def getsid(self, pid: int = 0) -> int:
        return self._sys("getsid", A.pid_arg(pid))

    def setpgid(self, pid: int, pgid: int) -> None:
        pid, pgid = A.pid_arg(pid), A.pid_arg(pgid, "pgid")
        self._call("sys", "setpgid", pid, pgid)

    def setsid(self) -> int:
        return self._call("sys", "setsid")

    # -- signals -------------------------------------------------------------------------------

    def kill(self, pid: int, sig: int) -> None:
        pid, sig = A.pid_arg(pid), A.sig_arg(sig)
        self._call("sys", "kill", pid, sig)

    def tgkill(self, tgid: int, tid: int, sig: int) -> None:
        tgid, tid, sig = A.pid_arg(tgid, "tgid"), A.pid_arg(tid, "tid"), A.sig_arg(sig)
        self._call("sys", "tgkill", tgid, tid, sig)

    def sigaction(self, sig: int, handler: int | None = None) -> Handler:
        sig = A.sig_arg(sig)
        handler = A.handler_arg(handler)
        return Handler(self._call("sigaction", sig, handler))

    # -- wait -----------------------------------------------------------------------------------

    def waitpid(self, pid: int, options: int = 0) -> tuple[int, int]:
        pid = A.pid_arg(pid)
        options = A.c_uint(options, "options")
        r = self._call("wait4", pid, options)
        return (0, 0) if r is None else tuple(r)

    def waitid(self, idtype: int, id: int, options: int) -> WaitidResult | None:
        idtype = A.c_int(idtype, "idtype")
        id = A.c_int(id, "id")
        options = A.c_uint(options, "options")
        r = self._call("waitid", idtype, id, options)
        return None if r is None else WaitidResult(*r)

    # -- namespaces, prctl, credentials ------------------------------------------------------

    def unshare(self, flags: int) -> None:
        self._call("unshare", A.c_ulong(flags, "flags"))

    def setns(self, fd: int, nstype: int = 0) -> None:
        self._call("setns", A.fd_arg(fd), A.c_int(nstype, "nstype"))

    def prctl(self, option: int, arg: int | str | bytes = 0) -> int | str:
        option = A.c_int(option, "option")
        return self._call("prctl", option, A.prctl_arg(option, arg))

    def getrlimit(self, resource: int) -> tuple[int, int]:
        resource = A.c_uint(resource, "resource")
        self._modelled_rlimit(resource, None)
        return tuple(self._sc("prlimit", resource, None))

    def setrlimit(self, resource: int, soft: int, hard: int) -> None:
        resource = A.c_uint(resource, "resource")
        new = (A.c_ulong(soft, "soft"), A.c_ulong(hard, "hard"))
        self._modelled_rlimit(resource, new)
        self._sc("prlimit", resource, new)

    @staticmethod
    def _modelled_rlimit(resource: int, new: tuple[int, int] | None) -> None:
        """Only RLIMIT_CORE is in the API (the agents need their RLIMIT_NOFILE); other
        resources reach the kernel only where it fails them before looking at them."""
        if resource == RLIMIT_CORE or resource >= RLIM_NLIMITS or \
                (new is not None and new[0] > new[1]) or \
                (new is not None and resource == RLIMIT_NOFILE and new[1] > 1 << 20):
            return
        raise Unsupported(f"resource {resource}: only RLIMIT_CORE is modelled")

    def getuid(self) -> int:
        return self._sys("getuid")

    def geteuid(self) -> int:
        return self._sys("geteuid")

    def getgid(self) -> int:
        return self._sys("getgid")

    def getegid(self) -> int:
        return self._sys("getegid")

    def getresuid(self) -> tuple[int, int, int]:
        return tuple(self._call("getresid", "getresuid", settle=False))

    def getresgid(self) -> tuple[int, int, int]:
        return tuple(self._call("getresid", "getresgid", settle=False))

    def _ids(self, name: str, *ids: Any) -> None:
        vals = tuple(A.c_uint(v, "id") for v in ids)
        id_map = self._k.id_map
        maps = id_map.maps_gid if name.endswith("gid") else id_map.maps_uid
        for v in vals:
            # (uid_t)-1 is "keep" for setre*/setres*id and EINVAL for setuid/setgid on
            # both backends; any other id the sandbox cannot map is EINVAL here only.
            if v != INVALID_ID and not maps(v):
                kind = "gid" if name.endswith("gid") else "uid"
                raise Unsupported(f"{name}: {kind} {v} is outside the sandbox's user namespace "
                                  f"({id_map.describe()}); Linux fails it with EINVAL "
                                  f"(make_kuid), the model has every id (pidlab.differences "
                                  f"'userns-ids')")
        self._call("sys", name, *vals)

    def setuid(self, uid: int) -> None:
        self._ids("setuid", uid)

    def setgid(self, gid: int) -> None:
        self._ids("setgid", gid)

    def setreuid(self, ruid: int, euid: int) -> None:
        self._ids("setreuid", ruid, euid)

    def setresuid(self, ruid: int, euid: int, suid: int) -> None:
        self._ids("setresuid", ruid, euid, suid)

    def setresgid(self, rgid: int, egid: int, sgid: int) -> None:
        self._ids("setresgid", rgid, egid, sgid)

    def capget(self) -> frozenset[int]:
        return A.caps_from_mask(self._call("capget", settle=False))

    def capset(self, caps: Iterable[int], *, permitted: Iterable[int] | None = None,
               inheritable: Iterable[int] | None = None) -> None:
        eff = A.caps_arg(caps)
        prm = None if permitted is None else A.caps_arg(permitted, "permitted")
        inh = None if inheritable is None else A.caps_arg(inheritable, "inheritable")
        self._call("capset", eff, prm, inh)

    # -- pidfds and pidfs -------------------------------------------------------------------

    def _sc(self, name: str, *args: Any, settle: bool = False) -> Any:
        return self._call("call", name, *args, settle=settle)

    def pidfd_open(self, pid: int, flags: int = 0) -> int:
        return self._sc("pidfd_open", A.pid_arg(pid), A.c_uint(flags, "flags"))

    def pidfd_send_signal(self, pidfd: int, sig: int, flags: int = 0) -> None:
        self._sc("pidfd_send_signal", A.fd_arg(pidfd, "pidfd"), A.sig_arg(sig),
                 A.c_uint(flags, "flags"), settle=True)

    def pidfd_getfd(self, pidfd: int, targetfd: int, flags: int = 0) -> int:
        return self._sc("pidfd_getfd", A.fd_arg(pidfd, "pidfd"), A.fd_arg(targetfd, "targetfd"),
                        A.c_uint(flags, "flags"))

    def pidfd_get_info(self, pidfd: int, mask: int = 0, size: int = PidfdInfo.SIZE) -> PidfdInfo:
        pidfd = A.fd_arg(pidfd, "pidfd")
        mask = A.c_ulong(mask, "mask")
        size = A._int(size, "size")
        if not 0 <= size < 1 << 14:
            raise oserror(errno.ENOTTY, "an ioctl size has 14 bits")
        return PidfdInfo.from_bytes(self._call("pidfd_get_info", pidfd, mask, size, settle=False))

    def poll(self, fds: Iterable[int], events: int = POLLIN | POLLRDNORM) -> dict[int, int]:
        fds = [A.c_int(fd, "fd") for fd in A.int_list(fds, "fds")]
        return self._sc("poll", fds, A.c_uint(events, "events") & 0xFFFF)

    def fstat(self, fd: int) -> StatResult:
        return StatResult(*self._call("fstat", A.fd_arg(fd), settle=False))

    def fstatfs(self, fd: int) -> StatfsResult:
        """fstatfs(2): the filesystem of a descriptor (f_type is its magic number)."""
        return StatfsResult(*self._call("fstatfs", A.fd_arg(fd), settle=False))

    def ioctl(self, fd: int, request: int, arg: int | bytes = 0) -> int | bytes:
        """ioctl(2) as fcntl.ioctl takes it: an int argument (0 is NULL) returns the call's
        result, a bytes buffer comes back as the kernel left it."""
        return self._call("ioctl", A.fd_arg(fd), A.c_uint(request, "request"),
                          A.ioctl_arg(arg), settle=False)

    def name_to_handle_at(self, dirfd: int, path: str, flags: int,
                          handle_bytes: int = MAX_HANDLE_SZ) -> FileHandle:
        htype, data = self._sc("name_to_handle_at", A.c_int(dirfd, "dirfd", errno.EBADF),
                               A.path_arg(path), A.c_int(flags, "flags"),
                               A.c_uint(handle_bytes, "handle_bytes"))
        return FileHandle(htype, data)

    def open_by_handle_at(self, mount_fd: int, handle: FileHandle, flags: int = O_RDONLY,
                          handle_bytes: int | None = None) -> int:
        mount_fd = A.c_int(mount_fd, "mount_fd", errno.EBADF)
        if not isinstance(handle, FileHandle):
            raise TypeError("handle must be a pidlab.FileHandle")
        n = len(handle.handle) if handle_bytes is None else A.c_uint(handle_bytes, "handle_bytes")
        return self._sc("open_by_handle_at", mount_fd, handle.handle_type, handle.handle,
                        A.c_int(flags, "flags"), n)

    def fsetxattr(self, fd: int, name: str, value: bytes, flags: int = 0) -> None:
        fd, name, value = A.fd_arg(fd), A.text_arg(name, "name"), A.bytes_arg(value)
        flags = A.c_int(flags, "flags")
        if not flags & ~(XATTR_CREATE | XATTR_REPLACE) and len(value) <= XATTR_SIZE_MAX:
            self._xattr_in_user_namespace("fsetxattr", fd, name, write=True)
        self._sc("fsetxattr", fd, name, value, flags)

    def fgetxattr(self, fd: int, name: str) -> bytes:
        fd, name = A.fd_arg(fd), A.text_arg(name, "name")
        self._xattr_in_user_namespace("fgetxattr", fd, name, write=False)
        return self._sc("fgetxattr", fd, name)

    def flistxattr(self, fd: int) -> list[str]:
        fd = A.fd_arg(fd)
        self._xattr_in_user_namespace("flistxattr", fd, None, write=False)
        return self._sc("flistxattr", fd)

    def fremovexattr(self, fd: int, name: str) -> None:
        fd, name = A.fd_arg(fd), A.text_arg(name, "name")
        self._xattr_in_user_namespace("fremovexattr", fd, name, write=True)
        self._sc("fremovexattr", fd, name)

    def _xattr_in_user_namespace(self, call: str, fd: int, name: str | None, write: bool) -> None:
        """Unsupported where a sandbox in a user namespace meets what the model has not:
        a pidfs inode belongs to the machine's root, which the namespace cannot map, so
        no capability of the sandbox reaches it (capable_wrt_inode_uidgid: user.* and
        unknown names are EACCES), trusted.* asks for CAP_SYS_ADMIN in the initial
        namespace (fs/xattr.c xattr_permission, and flistxattr leaves such names out),
        and so does writing security.* (cap_inode_setxattr).  The kernel's argument
        checks that come first (flags, value size, name length: ERANGE) and a closed
        fd (EBADF) still reach the kernel."""
        k = self._k
        if not k.userns or (name is not None and not 1 <= len(name.encode()) <= XATTR_NAME_MAX):
            return
        target = self._host_fd_link(fd)
        if target is None:
            return
        if target == "anon_inode:[pidfd]":
            why = "a pidfs inode belongs to the machine's root, which the sandbox cannot map"
        elif name is not None and (name.startswith("trusted.") or
                                   (write and name.startswith("security."))):
            why = f"{name.partition('.')[0]}.* needs CAP_SYS_ADMIN in the initial user namespace"
        else:
            return
        raise Unsupported(f"{call}: {why}; the sandbox lives in a user namespace "
                          f"({k.id_map.how}) and the model has one (pidlab.differences "
                          f"'userns-caps')")

    def _host_fd_link(self, fd: int) -> str | None:
        """What fd of this task is, read from outside the sandbox (None: not open)."""
        a = self._a
        if fd < 0:
            return None
        try:
            return os.readlink(f"/proc/{a.host_pid}/task/{a.host_tid}/fd/{fd}")
        except OSError:
            return None

    def socketpair(self) -> tuple[int, int]:
        return tuple(self._sc("socketpair_unix"))

    def getsockopt(self, fd: int, level: int, optname: int) -> int:
        return self._sc("getsockopt_int", A.fd_arg(fd), A.c_int(level, "level"),
                        A.c_int(optname, "optname"))

    # -- files ---------------------------------------------------------------------------------

    def open(self, path: str, flags: int = O_RDONLY) -> int:
        return self._call("open", A.path_arg(path), A.c_int(flags, "flags"), settle=False)

    def close(self, fd: int) -> None:
        self._call("sys", "close", A.fd_arg(fd))

    def dup(self, fd: int) -> int:
        return self._call("sys", "dup", A.fd_arg(fd), settle=False)

    def fcntl(self, fd: int, cmd: int, arg: int = 0) -> int:
        return self._call("sys", "fcntl", A.fd_arg(fd), A.c_int(cmd, "cmd"),
                          A.c_int(arg, "arg"), settle=False)

    def read_text(self, path: str) -> str:
        return self._call("read_text", A.path_arg(path), settle=False)

    def write_text(self, path: str, text: str) -> None:
        path, text = A.path_arg(path), A.text_arg(text)
        norm = os.path.normpath(path)
        if not norm.startswith("/proc/") or (norm.startswith("/proc/sys/") and
                                             norm not in _NAMESPACED_SYSCTLS):
            raise Unsupported(f"writing {path} would change the host, not the sandbox")
        if norm == sysctl.PID_MAX and not self._k.pid_max_writable:
            raise Unsupported(f"kernel.pid_max is one value for the whole machine on this kernel "
                              f"({self._k.pid_max_scope.how}): the live backend never writes it "
                              f"on a host")
        self._call("write_text", path, text, settle=False)

    def readlink(self, path: str) -> str:
        return self._call("readlink", A.path_arg(path), settle=False)



document_syscalls(LiveTask)
