"""The sandbox: a fresh pid + mount namespace whose pid 1 is an agent.

The controller (the LiveKernel) starts a *holder*, a small process that
stays in the controller's namespaces.  The holder unshares CLONE_NEWPID |
CLONE_NEWNS (after CLONE_NEWUSER when not root) and forks pid 1 of the new
namespace, the init agent.  Safety:

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

from .. import constants as C
from . import agent as A
from . import syscalls as S

ROOT_PIDNS_INO = C.PROC_PID_INIT_INO
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
PR_SET_PDEATHSIG = 1


def _fail(msg: str) -> None:
    os.write(2, f"pidlab sandbox: {msg}\n".encode())
    os._exit(3)


def holder_main(params: dict) -> None:
    S.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != params["controller"]:
        os._exit(0)                     # the controller died before we could watch it
    ctl, req, rep = params["ctl"], params["req"], params["rep"]
    hostproc = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if params["userns"]:
            uid, gid = os.getuid(), os.getgid()
            S.unshare(C.CLONE_NEWUSER)
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
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
    A.serve(env, env.req, env.rep)


if __name__ == "__main__":
    holder_main(json.loads(sys.argv[1]))
