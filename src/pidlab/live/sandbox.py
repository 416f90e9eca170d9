"""The sandbox: a fresh pid + mount namespace whose pid 1 is an agent.

The controller (the LiveKernel) starts a *holder*, a small process that
stays in the controller's pid namespace.  The holder unshares CLONE_NEWPID |
CLONE_NEWNS and forks pid 1 of the new namespace, the init agent.  When not
root it first unshares CLONE_NEWUSER and has its map written (live/userns.py:
by the controller with newuidmap/newgidmap, over the `sync` socket, or by
itself for one id), then executes itself again: an execve inside the user
namespace makes it the owner of every agent's mm (mm->user_ns), so that the
controller, which owns that namespace, may still read the /proc files of an
agent made non-dumpable (ptrace_may_access checks CAP_SYS_PTRACE there).
Safety:

* the holder and the init die with SIGKILL when their parent dies
  (PR_SET_PDEATHSIG), so a crashed controller leaves nothing behind;
* when the controller closes the holder's control pipe, the holder kills
  its child, the init, by pid (its own unreaped child: the pid cannot be
  reused), and the kernel kills everything else in the namespace;
* the init makes every mount private before mounting its own /proc, and it
  writes pid_max only when the controller says it may (the sandbox's own
  value, or the machine's inside pidlab's own virtual machine: live/sysctl.py)
  and only after checking that it is not in the initial pid namespace.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

from .. import constants as C
from . import agent as A
from . import syscalls as S

ROOT_PIDNS_INO = C.PROC_PID_INIT_INO
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
MAP_TIMEOUT = 30.0                  # seconds the holder waits for newuidmap/newgidmap


def _fail(msg: str) -> None:
    os.write(2, f"pidlab sandbox: {msg}\n".encode())
    os._exit(3)


def holder_main(params: dict) -> None:
    S.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != params["controller"]:
        os._exit(0)                     # the controller died before we could watch it
    if params["userns"] and not params.get("mapped"):
        enter_user_namespace(params)    # executes this holder again, mapped
    ctl, req, rep = params["ctl"], params["req"], params["rep"]
    hostproc = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if params["userns"]:
            _drop_supplementary_groups()
        S.unshare(C.CLONE_NEWPID | C.CLONE_NEWNS)
    except OSError as e:
        _fail(f"cannot create the namespaces: {e}")
    pid = os.fork()
    if pid == 0:
        os.close(ctl)
        init_main(params, hostproc, req, rep)
        os._exit(0)
    os.close(req)
    os.close(rep)
    # Wait for the init to die or for the controller to let go.
    while True:
        r, _, _ = select.select([ctl], [], [], 0.5)
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            os._exit(0)
        if r and not os.read(ctl, 4096):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)


def enter_user_namespace(params: dict) -> None:
    """Unshare CLONE_NEWUSER, have the map written, and execute the holder again.

    With a `sync` socket the controller runs newuidmap/newgidmap on this process
    (they must run outside the new namespace) and answers which maps it wrote
    ("u", "g", then "."); the holder writes the one-id map of any it did not.
    """
    uid, gid = os.getuid(), os.getgid()
    written = ""
    try:
        S.unshare(C.CLONE_NEWUSER)
        sync = params.get("sync")
        if sync is not None:
            os.write(sync, b"u")
            reply = b""
            deadline = time.monotonic() + MAP_TIMEOUT
            while not reply.endswith(b"."):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([sync], [], [], left)[0]:
                    _fail("the controller did not write the user namespace's map in time")
                more = os.read(sync, 16)
                if not more:
                    os._exit(0)         # the controller is gone
                reply += more
            written = reply.decode()
            os.close(sync)
        if "g" not in written:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")         # required before an unprivileged gid_map
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
        if "u" not in written:
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
    except OSError as e:
        _fail(f"cannot create the user namespace: {e}")
    for fd in (params["ctl"], params["req"], params["rep"]):
        os.set_inheritable(fd, True)
    argv = A.python_argv("pidlab.live.sandbox", json.dumps(dict(params, mapped=True, sync=None)))
    try:
        os.execv(argv[0], argv)
    except OSError as e:
        _fail(f"cannot execute {argv[0]} in the user namespace: {e}")


def _drop_supplementary_groups() -> None:
    """The user's groups outside are no group of the sandbox (unmapped, they would
    show as the overflow gid): drop them where the map lets setgroups(2) run."""
    with open("/proc/self/setgroups") as f:
        allowed = f.read().strip() == "allow"
    if allowed:
        os.setgroups([])


def init_main(params: dict, hostproc: int, req: int, rep: int) -> None:
    """pid 1 of the sandbox: private mounts, its own /proc, then the agent loop."""
    S.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        S.mount(None, "/", None, MS_REC | MS_PRIVATE)
        S.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        S.mount("tmpfs", params["procbase"], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as e:
        _fail(f"cannot mount a private /proc: {e}")
    if os.stat("/proc/self/ns/pid").st_ino == ROOT_PIDNS_INO or os.getpid() != 1:
        _fail("refusing to run: not pid 1 of a new pid namespace")
    os.setsid()                         # no process group shared with the host
    os.chdir(params["procbase"])        # a core file lands on the sandbox's tmpfs
    _, hard = S.prlimit(C.RLIMIT_CORE, None)
    S.prlimit(C.RLIMIT_CORE, (0, hard))   # Linux's initial soft RLIMIT_CORE
    if params["pid_max"] is not None:   # the controller found it writable (live/sysctl.py)
        with open("/proc/sys/kernel/pid_max", "w") as f:
            f.write(str(params["pid_max"]))
    top = params["top"]
    env = A.Env(top, hostproc, params["procbase"], params["tid_off"],
                os.stat("/proc/self/ns/pid").st_ino, params["pid_max_writable"])
    A.hide(env, req, env.req)
    A.hide(env, rep, env.rep)
    # Nothing but stdio and the hidden channel: close what Python kept open.
    for fd in range(3, A.user_nofile(top)):
        try:
            os.close(fd)
        except OSError:
            pass
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    if params.get("log"):
        logfd = os.open(params["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(logfd, 2)
        os.close(logfd)
    else:
        os.dup2(devnull, 2)
    os.close(devnull)
    A._nofile(A.user_nofile(top))
    A.reset_signals(env)
    S.set_name(b"init")
    if params.get("native"):
        exec_native(params["native"], env)
    A.serve(env, env.req, env.rep)


def exec_native(binary: str, env: A.Env) -> None:
    """Become the native agent (live/native.py) before the first request: the channel
    and the host's /proc pass over the exec, and the agent makes them close-on-exec
    again.  The exec keeps what the init has set up (its mounts, its session, its
    limits, its name); its signal dispositions are already Linux's defaults."""
    fds = (env.req, env.rep, env.hostproc)
    for fd in fds:
        os.set_inheritable(fd, True)
    try:
        os.execv(binary, [binary, *(str(fd) for fd in fds), str(env.top), "init"])
    except OSError as e:
        _fail(f"cannot execute the native agent {binary}: {e}")


if __name__ == "__main__":
    holder_main(json.loads(sys.argv[1]))
