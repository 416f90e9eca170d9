"""The machine's sysctls as the live sandbox may touch them.

Linux: kernel/pid.c register_pidns_sysctls.  From 6.14 ("pid: allow pid_max to
be set per pid namespace") every pid namespace has its own
/proc/sys/kernel/pid_max; before, there is one value for the whole machine,
and a write from inside any pid namespace is the machine's.  `uname -r`
cannot tell which (backports, distribution patches), so the kernel is asked,
without writing anything:

* the value: a new namespace's pid_max starts at PID_MAX_LIMIT whatever its
  parent has (create_pid_namespace); where the machine's value differs, a
  different value read in a fresh child namespace proves a per-namespace one;
* the owner: the per-namespace table has pid_table_root_set_ownership, so in a
  namespace owned by a new user namespace the file belongs to that user
  namespace's root (uid 0 inside); the machine-wide table belongs to the
  initial namespace's root, which is not mapped there (the overflow uid).

Both run in a throw-away process of their own, outside every sandbox.  When
neither can run (no user namespaces, not root), the sysctl counts as
machine-wide: the sandbox then never writes it.

The audit of every sysctl the live backend writes:

* kernel.pid_max: per namespace from 6.14, written freely inside the sandbox.
  Machine-wide before: on a host never written (the sandbox keeps the
  machine's value and scenarios that need another skip, saying so); inside a
  virtual machine of pidlab's own (the whole machine is the sandbox) written,
  and the machine's value restored when the last sandbox closes.
* kernel.ns_last_pid: per pid namespace on every version the model knows
  (kernel/pid_namespace.c pid_ns_ctl_handler writes the cursor of the
  writer's active namespace), so a write from the sandbox moves only the
  sandbox's cursors.
* No other: kernel.core_pattern, fs.suid_dumpable and the rest are
  machine-wide and never written (LiveTask.write_text refuses them).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading

from .. import constants as C

PID_MAX = "/proc/sys/kernel/pid_max"
OVERFLOW_UID = 65534            # /proc/sys/kernel/overflowuid's default
_PROBE_UID = 65534              # the uid root maps its probe's namespace root to


@dataclasses.dataclass(frozen=True)
class PidMaxScope:
    """Whether this kernel's kernel.pid_max is one per pid namespace, and how that was found."""

    per_namespace: bool
    how: str


def _probe_child(report: int, go: int) -> None:
    """In a new user + pid namespace: fork its pid 1 and report what it sees."""
    os.read(go, 1)                              # the parent has written our uid_map
    pid = os.fork()
    if pid == 0:
        st = os.stat(PID_MAX)
        with open(PID_MAX) as f:
            value = int(f.read())
        os.write(report, json.dumps({"uid": st.st_uid, "value": value,
                                     "pid": os.getpid()}).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    os._exit(0)


def observe() -> dict:
    """What a fresh pid namespace, owned by a fresh user namespace, sees of pid_max.

    {"machine": the value here, "value": the value there, "uid": the file's
    owner there, "pid": the observer's pid there (1)}, or {"error": why not}.
    """
    from . import syscalls as S
    with open(PID_MAX) as f:
        machine = int(f.read())
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()
    euid = os.geteuid()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(report_r)
            os.close(go_w)
            os.close(ready_r)
            try:
                S.unshare(C.CLONE_NEWUSER | C.CLONE_NEWPID)
            except OSError as e:
                os.write(ready_w, json.dumps({"error": f"unshare: {e.strerror}"}).encode())
                os._exit(1)
            os.write(ready_w, b"{}")
            _probe_child(report_w, go_r)
        finally:
            os._exit(2)
    os.close(report_w)
    os.close(go_r)
    os.close(ready_w)
    try:
        msg = json.loads(_read_bounded(ready_r) or b'{"error": "no answer"}')
        if "error" in msg:
            return msg
        # The probe's namespace root is a uid other than the initial namespace's root, so
        # that a machine-wide table (owned by that root) shows as the overflow uid.
        outer = _PROBE_UID if euid == 0 else euid
        try:
            with open(f"/proc/{pid}/uid_map", "w") as f:
                f.write(f"0 {outer} 1")
        except OSError as e:
            return {"error": f"uid_map: {e.strerror}"}
        os.write(go_w, b"x")
        data = _read_bounded(report_r)
    finally:
        for fd in (report_r, go_w, ready_r):
            os.close(fd)
        _reap(pid)
    if not data:
        return {"error": "the probe did not answer"}
    return dict(json.loads(data), machine=machine)


def decide(seen: dict) -> PidMaxScope:
    """The scope an observation shows; anything unclear counts as machine-wide."""
    if "error" in seen:
        return PidMaxScope(False, f"unknown ({seen['error']}); treated as one value for the "
                                  "whole machine")
    if seen["pid"] != 1:
        return PidMaxScope(False, "unknown (the probe was not in a new pid namespace); "
                                  "treated as one value for the whole machine")
    if seen["value"] != seen["machine"]:
        return PidMaxScope(True, f"a new pid namespace reads {seen['value']}, "
                                 f"the machine {seen['machine']}")
    if seen["uid"] == 0:
        return PidMaxScope(True, "in a new pid namespace the file belongs to its user "
                                 "namespace's root (pid_table_root_set_ownership)")
    return PidMaxScope(False, f"in a new pid namespace the file belongs to uid {seen['uid']} "
                              "(the initial namespace's root, unmapped): one machine-wide table")


def probe() -> PidMaxScope:
    """Ask the running kernel (in a process of our own, without writing any sysctl)."""
    return decide(observe())


def _read_bounded(fd: int, timeout: float = 10.0) -> bytes:
    import select
    r, _, _ = select.select([fd], [], [], timeout)
    return os.read(fd, 4096) if r else b""


def _reap(pid: int, timeout: float = 10.0) -> None:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.001)
    os.kill(pid, 9)                 # our own unreaped child: the pid cannot be reused
    os.waitpid(pid, 0)


_cached: PidMaxScope | None = None
_cache_lock = threading.Lock()


def pid_max_scope() -> PidMaxScope:
    """probe(), run in a fresh interpreter (the caller may have threads); an answer
    is kept for the life of the process, a failure to ask is not."""
    global _cached
    with _cache_lock:
        if _cached is not None:
            return _cached
        from .agent import python_argv
        try:
            r = subprocess.run(python_argv("pidlab.live.sysctl"), capture_output=True,
                               text=True, timeout=60, stdin=subprocess.DEVNULL)
            ans = json.loads(r.stdout) if r.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            ans = None
        if ans is None:
            return PidMaxScope(False, "unknown (the probe failed); treated as one value "
                                      "for the whole machine")
        _cached = PidMaxScope(**ans)
        return _cached


GUEST_MARK = "pidlab.guest=1"


def in_own_guest(cmdline: str = "/proc/cmdline") -> bool:
    """Whether this is a virtual machine pidlab booted (its kernel command line says so).

    PIDLAB_GUEST=0 makes a guest behave as a host (the stricter rules), for the
    tests that show what a host would do; nothing makes a host behave as a guest.
    """
    if os.environ.get("PIDLAB_GUEST") == "0":
        return False
    try:
        with open(cmdline) as f:
            return GUEST_MARK in f.read().split()
    except OSError:
        return False


def read_pid_max() -> int:
    with open(PID_MAX) as f:
        return int(f.read())


class MachinePidMax:
    """A machine-wide pid_max inside pidlab's own guest: saved when the first
    sandbox opens, restored when the last one closes.  It refuses to run
    anywhere else: on a host the machine's value is never written."""

    _lock = threading.Lock()
    _users = 0
    _saved = 0

    @staticmethod
    def _guard() -> None:
        if not in_own_guest():
            raise RuntimeError("the machine's pid_max is written only inside pidlab's own guest")

    @classmethod
    def acquire(cls) -> bool:
        """Count one more sandbox; True for the first (which then sets the value)."""
        cls._guard()
        with cls._lock:
            first = cls._users == 0
            if first:
                cls._saved = read_pid_max()
            cls._users += 1
            return first

    @classmethod
    def release(cls) -> None:
        cls._guard()
        with cls._lock:
            cls._users -= 1
            if cls._users == 0:
                with open(PID_MAX, "w") as f:
                    f.write(str(cls._saved))


if __name__ == "__main__":
    print(json.dumps(dataclasses.asdict(probe())))
    sys.exit(0)
